"""Ledger fixture on the store fixtures of ``tests/conftest.py`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from consent.ledger import Ledger


@pytest.fixture
def ledger(store: Engine) -> Ledger:
    return Ledger(store)
