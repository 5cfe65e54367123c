"""The operational store: an SQLAlchemy engine, migrated to the newest schema.

``TETHER_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``) in
production; by default an SQLite file in the workspace, in WAL mode so that
readers never block the writer, with a busy timeout so concurrent writers
wait instead of failing. ``open_store`` runs the Alembic migrations
(``api/migrations``) before it returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from resolver.errors import ConfigError

__all__ = ["database_url", "open_store"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(*, home: Path) -> str:
    """``TETHER_DATABASE_URL``, else ``sqlite:///<home>/tether.db``."""
    url = os.environ.get("TETHER_DATABASE_URL")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver Tether ships with
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{home / 'tether.db'}"


def open_store(url: str, *, migrate: bool = True) -> Engine:
    """An engine on ``url``; with ``migrate`` the schema is brought to the newest migration."""
    if url.startswith("sqlite"):
        # hide_parameters: a failed statement's error (and so any log or traceback of it)
        # never carries the bound values, which may be emails or names.
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    elif url.startswith("postgresql+psycopg"):
        # Connections are opened lazily; up to 40 stay open, one per thread of the API's
        # worker pool: with the default 5 (+10 overflow) the overflow connections were
        # opened and closed per request under load, which cost more than the queries.
        # No pre-ping (a round trip per checkout: p50 17 -> 9 ms at 200 writes/s); a
        # connection the server dropped fails one request and the pool is invalidated.
        engine = create_engine(
            url, pool_size=40, max_overflow=10, pool_recycle=3600, hide_parameters=True
        )
    else:
        raise ConfigError(
            "TETHER_DATABASE_URL must be postgresql+psycopg://... or sqlite:///...",
            scheme=url.split(":", 1)[0],
        )
    if not migrate:
        return engine
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    _owner_only(engine)
    return engine


def _owner_only(engine: Engine) -> None:
    """An SQLite store holds consent subjects and key hashes: its files are the owner's only."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(database + suffix)
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


SQLITE_PAGE_SIZE = 16384
"""Page size of an SQLite store created by Tether (bytes)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # 16 KiB pages for a store created now (a no-op on an existing file, whose page size is
    # fixed once it is in WAL mode): a first import of 1 M consent events writes about a fifth
    # faster than on 4 KiB pages, with fewer B-tree levels and WAL frames (bench/RESULTS.md,
    # "Ledger throughput"); the store's other tables are small
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # temporary tables (the consent ledger's bulk appends) in memory, not in temp files
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
