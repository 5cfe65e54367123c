"""The server never leaks what it holds (issue #12): no bound values in store errors, no NUL
bytes to the database, no client-chosen keys echoed, no server paths, no caching of PII."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.http.app import _no_paths
from api.settings import TetherConfig
from api.storage import open_store
from tests.api.conftest import Headers, assert_error, make_app_client

SECRET = "anna.secret@example.com"
EVENT = {
    "subject_type": "customer",
    "subject_id": "C0000000042",
    "purpose": "ad_targeting",
    "status": "withdrawn",
    "recorded_at": "2026-11-30T09:00:00Z",
}


def test_a_failed_statement_never_carries_its_values(store_url: str) -> None:
    """SQLite and PostgreSQL: the error a log or traceback would show hides the parameters."""
    engine = open_store(store_url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, engine.begin() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (:v)"), {"v": SECRET})
        assert SECRET not in str(raised.value)
    finally:
        engine.dispose()


def test_nul_bytes_are_refused_before_the_store(client: TestClient, headers: Headers) -> None:
    auth = headers("consent:write", "read")
    body = {"events": [{**EVENT, "subject_id": f"C42\x00{SECRET}"}]}
    error = assert_error(
        client.post("/v1/consents", json=body, headers=auth), 422, "request_invalid"
    )
    assert SECRET not in str(error)
    keyed = {"events": [{**EVENT, "evidence": {"form\x00": "x"}}]}
    assert_error(client.post("/v1/consents", json=keyed, headers=auth), 422, "request_invalid")
    path = client.get("/v1/consents/customer/C42%00x", headers=auth)
    assert_error(path, 422, "request_invalid")


def test_validation_errors_never_echo_a_key_the_client_chose(
    client: TestClient, headers: Headers
) -> None:
    body = {"events": [{**EVENT, SECRET: "x"}]}
    response = client.post("/v1/consents", json=body, headers=headers("consent:write"))
    error = assert_error(response, 422, "request_invalid")
    assert SECRET not in response.text
    assert ["body", "events", "0", "(field)"] in [p["loc"] for p in error["details"]["problems"]]


def test_responses_are_neither_cached_nor_sniffed(client: TestClient, headers: Headers) -> None:
    for response in (
        client.get("/v1/health"),
        client.get("/v1/consents/customer/C0000000042", headers=headers("read")),
        client.get("/v1/consents/customer/C0000000042"),  # 401
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_docs_can_be_switched_off(api_home: Path, api_config: TetherConfig) -> None:
    from dataclasses import replace

    from api.settings import ApiOptions

    with make_app_client(api_home, api_config) as on:
        assert on.get("/docs").status_code == 200
    off = replace(api_config, api=ApiOptions(docs=False))
    with make_app_client(api_home, off) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_an_unexpected_error_is_logged_by_type_and_id_only(
    api_home: Path,
    api_config: TetherConfig,
    headers: Headers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from consent.ledger import Ledger

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"duplicate value {SECRET}")

    monkeypatch.setattr(Ledger, "append", broken)
    auth = headers("consent:write")
    app = make_app_client(api_home, api_config).app
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.INFO):
        response = client.post("/v1/consents", json={"events": [EVENT]}, headers=auth)
    error = assert_error(response, 500, "internal_error")
    error_id = error["details"]["error_id"]
    assert error_id in str(error["message"])
    assert SECRET not in response.text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("api"))
    assert f"RuntimeError on /v1/consents (error id {error_id})" in logged
    assert SECRET not in logged


def test_http_errors_name_no_server_path() -> None:
    message = "segment `x` is defined both in /srv/tether/segments/x.yaml and in the store"
    assert _no_paths(message) == "segment `x` is defined both in x.yaml and in the store"
    assert _no_paths("another run is in progress in /var/lib/tether-data; wait") == (
        "another run is in progress in tether-data; wait"
    )
    assert _no_paths("ratio 1/2 and path-free text") == "ratio 1/2 and path-free text"


def test_an_unknown_evidence_key_is_refused_without_echoing_it(
    client: TestClient, headers: Headers
) -> None:
    body = {"events": [{**EVENT, "evidence": {SECRET: "x", "campaign": "y"}}]}
    response = client.post("/v1/consents", json=body, headers=headers("consent:write"))
    assert response.status_code == 422, response.text
    assert SECRET not in response.text
    assert "campaign and 1 more" in response.text
