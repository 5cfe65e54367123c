"""Every endpoint but health refuses a missing key, a wrong key and a key without its scope."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.http.deps import _RequireScope
from api.keys import SCOPES
from tests.api.conftest import Headers, assert_error

#: A value for each path parameter that its pattern accepts.
PATH_VALUES = {
    "person_id": "p0000000",
    "subject_type": "cookie",
    "subject_id": "c-1",
    "name": "mortgage_readers_for_ads",
    "export_id": "ex_" + "0" * 24,
    "run_id": "20260101T000000-abcdef",
}
BODIES: dict[str, Any] = {
    "/v1/identify": {"cookie_id": "x"},
    "/v1/consents": {"events": []},
    "/v1/consents/decode": {"string": "x"},
    "/v1/segments": {"name": "x", "rule": {}},
    "/v1/segments/{name}": {"name": "x", "rule": {}},
    "/v1/exports": {"segment": "x", "destination": "x"},
}


def _scope(route: APIRoute) -> str | None:
    def walk(dependant: Any) -> str | None:
        for dep in dependant.dependencies:
            if isinstance(dep.call, _RequireScope):
                return dep.call.scope
            found = walk(dep)
            if found:
                return found
        return None

    return walk(route.dependant)


def _routes(client: TestClient) -> list[tuple[str, str, str | None]]:
    """Every endpoint of every router the app mounts under /v1, with the scope it needs."""
    from api.http.routes import consents, exports, health, identify, persons, runs, segments

    out = []
    for module in (health, identify, persons, consents, segments, exports, runs):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                out.append((method, route.path, _scope(route)))
    paths = client.get("/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert {(m, p) for m, p, _ in out} == documented  # the routers are what the app serves
    return out


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    body = BODIES.get(path) if method in ("POST", "PUT") else None
    return client.request(method, url, json=body, headers=headers)


def test_every_route_but_health_needs_a_scope(client: TestClient) -> None:
    routes = _routes(client)
    assert len(routes) >= 18
    unscoped = [(m, p) for m, p, scope in routes if scope is None]
    assert unscoped == [("GET", "/v1/health")]
    assert {scope for _, _, scope in routes} - {None} <= set(SCOPES)


def test_missing_wrong_and_unscoped_keys_are_refused(client: TestClient, headers: Headers) -> None:
    good = headers("read")["Authorization"]
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    checked = 0
    for method, path, scope in _routes(client):
        if scope is None:
            continue
        assert_error(_call(client, method, path, {}), 401, "unauthorized")
        assert_error(
            _call(client, method, path, {"Authorization": wrong_secret}), 401, "unauthorized"
        )
        assert_error(_call(client, method, path, {"X-API-Key": "tth_nothing"}), 401, "unauthorized")
        lacking = [s for s in SCOPES if s not in (scope, "admin")][0]
        error = assert_error(_call(client, method, path, headers(lacking)), 403, "forbidden")
        assert error["details"]["scope"] == scope
        # the right scope (or admin) gets past authentication: any answer but 401/403
        for allowed in (scope, "admin"):
            assert _call(client, method, path, headers(allowed)).status_code not in (401, 403)
        checked += 1
    assert checked >= 17


def test_a_new_key_works_at_once_and_a_revoked_one_stops_within_a_second(
    client: TestClient, api_home: Any
) -> None:
    import time

    from api.keys import KeyStore
    from api.storage import open_store

    engine = open_store(f"sqlite:///{api_home / 'tether.db'}")
    client.get("/v1/health")
    new = KeyStore(engine).create(name="crm", scopes=["read"])  # after the server loaded keys
    auth = {"X-API-Key": new.token}
    assert client.get("/v1/runs", headers=auth).status_code == 200
    KeyStore(engine).revoke(new.key.key_id)
    revoked = time.monotonic()
    while client.get("/v1/runs", headers=auth).status_code == 200:
        assert time.monotonic() - revoked < 2.0, "a revoked key still works after 2 s"
        time.sleep(0.05)
    assert_error(client.get("/v1/runs", headers=auth), 401, "unauthorized")
    engine.dispose()


def test_keys_are_stored_hashed(api_home: Any) -> None:
    from sqlalchemy import select

    from api.keys import KeyStore, api_keys
    from api.storage import open_store

    engine = open_store(f"sqlite:///{api_home / 'tether.db'}")
    new = KeyStore(engine).create(name="crm", scopes=["read", "export"])
    secret = new.token.split("_", 2)[2]
    with engine.connect() as connection:
        stored = [tuple(map(str, row)) for row in connection.execute(select(api_keys)).all()]
    assert stored and not any(secret in value for row in stored for value in row)
    assert KeyStore(engine).verify(new.token) is not None
    assert KeyStore(engine).verify(new.token[:-1] + "x") is None
    with pytest.raises(ValueError, match="unknown"):
        KeyStore(engine).create(name="x", scopes=["write"])
    engine.dispose()
