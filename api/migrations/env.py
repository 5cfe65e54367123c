"""Alembic environment: runs on the connection ``api.storage.open_store`` passes in."""

from __future__ import annotations

from alembic import context

import api.keys  # noqa: F401
import api.runs  # noqa: F401
import audiences.definitions  # noqa: F401
import audiences.history  # noqa: F401  (registers its tables on the shared metadata)
import consent.erasure  # noqa: F401
from consent.ledger import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
