"""Store fixtures: every ledger test runs on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from api.storage import open_store
from consent.ledger import Ledger

#: The server CI and every developer machine run (trust auth); a missing
#: server is a failure, never a silent skip.
ADMIN_URL = os.environ.get(
    "TETHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tether_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is needed for the store tests: {exc}")
    yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty store of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tether.db'}"
        open_store(url).dispose()
        yield url
        return
    base = request.getfixturevalue("postgres_url")
    engine = open_store(base)
    with engine.begin() as connection:
        connection.execute(
            text("TRUNCATE consent_events, erasures, suppressions, exports, export_members, runs")
        )
    engine.dispose()
    yield base


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    engine = open_store(store_url, migrate=False)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(store: Engine) -> Ledger:
    return Ledger(store)
