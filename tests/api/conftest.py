"""HTTP API fixtures: one published demo workspace per session, copied per test; key headers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.keys import KeyStore
from api.settings import ApiSettings, TetherConfig, load_config
from api.storage import open_store


@pytest.fixture
def api_home(api_world: Path, tmp_path: Path) -> Path:
    """A private copy of the published workspace (store included): tests may write to it."""
    home = tmp_path / "home"
    shutil.copytree(api_world, home, symlinks=True)
    return home


@pytest.fixture
def api_config(api_home: Path) -> TetherConfig:
    return load_config(api_home / "demo" / "tether.toml")


def make_app_client(home: Path, config: TetherConfig | None, url: str | None = None) -> TestClient:
    settings = ApiSettings(
        home=home, database_url=url or f"sqlite:///{home / 'tether.db'}", config=config
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(api_home: Path, api_config: TetherConfig) -> Iterator[TestClient]:
    with make_app_client(api_home, api_config) as test_client:
        yield test_client


Headers = Callable[..., dict[str, str]]


@pytest.fixture
def headers(api_home: Path) -> Iterator[Headers]:
    """``headers("read", "export")``: a fresh key with those scopes, as request headers."""
    engine = open_store(f"sqlite:///{api_home / 'tether.db'}")

    def make(*scopes: str) -> dict[str, str]:
        token = KeyStore(engine).create(name="test", scopes=list(scopes)).token
        return {"Authorization": f"Bearer {token}"}

    yield make
    engine.dispose()


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    """The response is the error shape with this status and code; returns the error body."""
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return dict(body["error"])
