"""A stored segment can never break previews, listings or nightlies (issue #12).

A number beyond what a feature column holds, NaN, infinity or conditions
nested hundreds deep used to be stored (201) and then fail every preview
(500) or every ``GET /v1/segments``. They are refused at validation (422,
naming the rule's path), a new definition is dry-run on the current run
before it is stored, and nothing is stored when either says no; on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.keys import KeyStore
from api.settings import TetherConfig
from audiences.definitions import SegmentStore
from audiences.segments import MAX_RULE_DEPTH
from tests.api.conftest import Headers, assert_error, make_app_client


def nested_not(depth: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"feature": "is_customer", "equals": True}
    for _ in range(depth):
        rule = {"not": rule}
    return rule


#: Raw JSON bodies (NaN and Infinity are not JSON, but Python's parser reads them).
BAD_BODIES = {
    "forty_digits": (
        '{"name": "huge", "rule": {"feature": "age", "gt": 1' + "0" * 39 + "}}",
        "rule.gt",
        "a number must lie between",
    ),
    "nan": ('{"name": "nan_age", "rule": {"feature": "age", "gt": NaN}}', "rule.gt", "finite"),
    "infinity_in_a_list": (
        '{"name": "inf_age", "rule": {"all": [{"feature": "age", "in": [30, -Infinity]}]}}',
        "rule.all[0].in[1]",
        "finite",
    ),
    "a_window_count_beyond_range": (
        '{"name": "many", "rule": {"event": {"type": "page_view", "within_days": 7,'
        ' "min_count": 1' + "0" * 39 + "}}}",
        "rule.event.min_count",
        "a number must lie between",
    ),
    "nested_500_deep": (
        json.dumps({"name": "deep", "rule": nested_not(500)}),
        "rule" + ".not" * (MAX_RULE_DEPTH + 1),
        f"nest at most {MAX_RULE_DEPTH} deep",
    ),
}


def post_raw(client: TestClient, body: str, headers: dict[str, str]) -> Any:
    return client.post(
        "/v1/segments",
        content=body.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_unusable_numbers_and_deep_nesting_are_refused_and_nothing_is_stored(
    case: str, client: TestClient, headers: Headers
) -> None:
    body, path, rule = BAD_BODIES[case]
    read, write = headers("read"), headers("export")
    error = assert_error(post_raw(client, body, write), 422, "segment_invalid")
    assert f"{path}:" in str(error["message"]) and rule in str(error["message"])
    assert error["details"]["rule"] == path
    listed = client.get("/v1/segments", headers=read)
    assert listed.status_code == 200 and listed.json()["count"] == 3  # the example files only
    name = json.loads(body.replace("NaN", "0").replace("-Infinity", "0"))["name"]
    assert_error(client.get(f"/v1/segments/{name}", headers=read), 404, "segment_not_found")
    preview = client.get("/v1/segments/mortgage_readers_for_ads/preview", headers=read)
    assert preview.status_code == 200


def test_replacing_with_an_unusable_definition_keeps_the_stored_one(
    client: TestClient, headers: Headers
) -> None:
    read, write = headers("read"), headers("export")
    good = {"name": "adults", "rule": {"feature": "age", "gte": 18}}
    assert client.post("/v1/segments", json=good, headers=write).status_code == 201
    deep = {"name": "adults", "rule": nested_not(MAX_RULE_DEPTH + 1)}
    assert_error(client.put("/v1/segments/adults", json=deep, headers=write), 422,
                 "segment_invalid")  # fmt: skip
    kept = client.get("/v1/segments/adults", headers=read).json()
    assert (kept["rule"], kept["version"]) == (good["rule"], 1)
    preview = client.get("/v1/segments/adults/preview", headers=read)
    assert preview.status_code == 200 and preview.json()["size"] > 0


def test_the_depth_limit_itself_is_allowed(client: TestClient, headers: Headers) -> None:
    definition = {"name": "deep_enough", "rule": nested_not(MAX_RULE_DEPTH)}
    created = client.post("/v1/segments", json=definition, headers=headers("export"))
    assert created.status_code == 201, created.text
    listed = client.get("/v1/segments", headers=headers("read"))
    assert listed.status_code == 200 and listed.json()["count"] == 4


def test_a_definition_that_fails_to_evaluate_on_the_current_run_is_not_stored(
    client: TestClient, headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run: whatever the evaluation raises, the answer is 422 and nothing stored."""
    import api.tether.segments as tether_segments

    def fails(*args: object, **kwargs: object) -> object:
        raise duckdb.ConversionException("Conversion Error: out of range")

    monkeypatch.setattr(tether_segments, "evaluate_segment", fails)
    write, read = headers("export"), headers("read")
    definition = {"name": "adults", "rule": {"feature": "age", "gte": 18}}
    error = assert_error(client.post("/v1/segments", json=definition, headers=write), 422,
                         "segment_invalid")  # fmt: skip
    assert "cannot be evaluated on the current run (ConversionException)" in str(error["message"])
    assert "out of range" not in str(error["message"])
    assert_error(client.get("/v1/segments/adults", headers=read), 404, "segment_not_found")


def test_the_dry_run_checks_the_features_of_the_current_run(
    client: TestClient, headers: Headers
) -> None:
    write = headers("export")
    text_as_number = {"name": "odd", "rule": {"feature": "country", "gt": 3}}
    error = assert_error(client.post("/v1/segments", json=text_as_number, headers=write), 422,
                         "segment_invalid")  # fmt: skip
    assert "rule:" in str(error["message"]) and "the feature is text" in str(error["message"])


def test_without_a_current_run_validation_alone_decides(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    home.mkdir()
    with make_app_client(home, None) as client:
        from api.storage import open_store

        engine = open_store(f"sqlite:///{home / 'tether.db'}")
        token = KeyStore(engine).create(name="t", scopes=["export", "read"]).token
        engine.dispose()
        auth = {"X-API-Key": token}
        # any feature name passes: there is no run to know the features from
        fine = {"name": "later", "rule": {"feature": "anything", "gt": 3}}
        created = client.post("/v1/segments", json=fine, headers=auth)
        assert created.status_code == 201, created.text
        body, path, _ = BAD_BODIES["forty_digits"]
        error = assert_error(post_raw(client, body, auth), 422, "segment_invalid")
        assert error["details"]["rule"] == path
        lists: Any = {"feature": "anything", "equals": 1}
        for _ in range(500):
            lists = [lists]
        nested_lists = {"name": "lists", "rule": {"all": lists}}
        error = assert_error(client.post("/v1/segments", json=nested_lists, headers=auth), 422,
                             "segment_invalid")  # fmt: skip
        assert error["details"]["rule"] == "rule.all[0]"
        listed = client.get("/v1/segments", headers=auth).json()
        assert [s["name"] for s in listed["data"]] == ["later"]


def test_refusals_on_each_store(
    api_home: Path, api_config: TetherConfig, store_url: str, store: Engine
) -> None:
    token = KeyStore(store).create(name="marketing", scopes=["export", "read"]).token
    auth = {"X-API-Key": token}
    with make_app_client(api_home, api_config, url=store_url) as client:
        for case in ("forty_digits", "nan", "nested_500_deep"):
            body, path, _ = BAD_BODIES[case]
            error = assert_error(post_raw(client, body, auth), 422, "segment_invalid")
            assert error["details"]["rule"] == path
        good = {"name": "adults", "rule": {"feature": "age", "gte": 18}}
        assert client.post("/v1/segments", json=good, headers=auth).status_code == 201
        listed = client.get("/v1/segments", headers=auth)
        assert listed.status_code == 200 and listed.json()["count"] == 4
    assert [s.name for s, _, _ in SegmentStore(store).list()] == ["adults"]


def test_a_definition_stored_before_the_limits_is_skipped_and_can_be_deleted(
    api_home: Path, api_config: TetherConfig, store_url: str, store: Engine
) -> None:
    """A store written by an older version may hold a 500-deep rule: the listing leaves it
    out (never a 500 for every client), and DELETE still removes it."""
    from datetime import UTC, datetime

    from audiences.definitions import segment_definitions

    now = datetime.now(UTC)
    with store.begin() as connection:
        connection.execute(
            segment_definitions.insert(),
            [{"name": "legacy", "definition": {"name": "legacy", "rule": nested_not(500)},
              "version": 1, "created_at": now, "updated_at": now}],
        )  # fmt: skip
    assert SegmentStore(store).unusable() == {"legacy": "segment_invalid"}
    token = KeyStore(store).create(name="ops", scopes=["export", "read"]).token
    auth = {"X-API-Key": token}
    with make_app_client(api_home, api_config, url=store_url) as client:
        listed = client.get("/v1/segments", headers=auth)
        assert listed.status_code == 200 and listed.json()["count"] == 3
        assert client.delete("/v1/segments/legacy", headers=auth).status_code == 204
        assert_error(client.delete("/v1/segments/legacy", headers=auth), 404, "segment_not_found")
        clash = assert_error(
            client.delete("/v1/segments/mortgage_readers_for_ads", headers=auth),
            409,
            "segment_conflict",
        )
        assert "/" not in str(clash["message"])  # no server path
    assert SegmentStore(store).unusable() == {} and SegmentStore(store).list() == []
