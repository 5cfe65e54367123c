"""API keys: created once, shown once, stored hashed, checked in constant time.

A key reads ``tth_<key_id>_<secret>``. The store keeps the key id, its name,
its scopes and the SHA-256 of the secret, never the secret: a leaked
database gives no usable key. The secret carries 256 random bits, so a fast
hash is enough (there is nothing to brute-force, unlike a password). A key
is looked up by its id and the secret's hash compared with
``hmac.compare_digest``. ``admin`` implies every other scope.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, Column, DateTime, Engine, String, Table, func, select, update

from consent.ledger import metadata, stored_utc
from resolver.errors import InputError

__all__ = ["SCOPES", "ApiKey", "KeyCache", "KeyStore", "NewKey", "Scope", "api_keys"]

Scope = Literal["read", "export", "consent:write", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
_TOKEN = re.compile(r"^tth_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


class KeyInvalid(InputError):
    """A key name or scope is not acceptable."""

    code = "api_key_invalid"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiKey:
    """A stored key (without its secret)."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """``admin`` holds every scope."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class NewKey:
    """A key just created: ``token`` is shown this once and never stored."""

    key: ApiKey
    token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """API keys on the operational store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, *, name: str, scopes: list[str]) -> NewKey:
        """A new key with ``scopes``; the returned token is the only copy of its secret."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise KeyInvalid(
                f"scope(s) {', '.join(unknown) or '(none)'} unknown; choose from {', '.join(SCOPES)}",
                scopes=unknown,
            )
        if not name or len(name) > 128:
            raise KeyInvalid("a key needs a name of 1 to 128 characters")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        ordered = tuple(s for s in SCOPES if s in set(scopes))
        key = ApiKey(key_id=key_id, name=name, scopes=ordered, created_at=datetime.now(UTC))
        with self._engine.begin() as connection:
            connection.execute(
                api_keys.insert(),
                [
                    {
                        "key_id": key_id,
                        "name": name,
                        "scopes": list(ordered),
                        "secret_sha256": _digest(secret),
                        "created_at": key.created_at,
                    }
                ],
            )
        return NewKey(key=key, token=f"tth_{key_id}_{secret}")

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self._engine.connect() as connection:
            return [_key(row._asdict()) for row in connection.execute(query).all()]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(api_keys)).scalar_one())

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (kept for audit); ``None`` if there is no such key."""
        with self._engine.begin() as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row._asdict())

    def digest(self, key_id: str) -> tuple[str, ApiKey] | None:
        """One key's (secret's SHA-256, key), or ``None``."""
        with self._engine.connect() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else (row.secret_sha256, _key(row._asdict()))

    def digests(self) -> dict[str, tuple[str, ApiKey]]:
        """Key id -> (the secret's SHA-256, the key), for ``KeyCache``."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(api_keys)).all()
        return {r.key_id: (r.secret_sha256, _key(r._asdict())) for r in rows}

    def verify(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or ``None`` (unknown, wrong secret, revoked)."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        return _check(self.digest(key_id), secret)


class KeyCache:
    """The keys table held in memory and re-read every ``ttl`` seconds, for the HTTP API.

    A database round trip per request would cost more than the request
    itself (``bench/RESULTS.md``); the table is small. A key revoked
    elsewhere (``tether keys revoke``) stops working within ``ttl``; a key id
    not in memory is looked up by its primary key, so a fresh key works on
    its first request.
    """

    def __init__(self, store: KeyStore, *, ttl: float = 1.0) -> None:
        self._store = store
        self._ttl = ttl
        self._keys: dict[str, tuple[str, ApiKey]] = {}
        self._loaded = -float("inf")
        self._lock = threading.Lock()

    def _refresh(self, *, min_age: float) -> None:
        now = time.monotonic()
        if now - self._loaded < min_age:
            return
        with self._lock:
            if time.monotonic() - self._loaded < min_age:
                return
            self._keys = self._store.digests()
            self._loaded = time.monotonic()

    def from_memory(self, token: str) -> tuple[bool, ApiKey | None]:
        """``(True, verify(token))`` when memory answers without the store, else ``(False, None)``.

        The HTTP API's key check runs on the event loop: it answers from here
        and sends only a store read (a stale table, an id not in memory) to a
        worker thread, so a slow store never stalls other requests.
        """
        match = _TOKEN.match(token)
        if match is None:
            return True, None
        if time.monotonic() - self._loaded >= self._ttl:
            return False, None
        key_id, secret = match.groups()
        found = self._keys.get(key_id)
        if found is None:
            return False, None
        return True, _check(found, secret)

    def verify(self, token: str) -> ApiKey | None:
        """As ``KeyStore.verify``, from memory: constant-time comparison of the secret's hash.

        Reads the store when the table is older than ``ttl`` or the id is new
        (blocking: call it from a worker thread, or ``from_memory`` first).
        """
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        self._refresh(min_age=self._ttl)
        found = self._keys.get(key_id)
        if found is None:  # a key made since the last read: look it up by its id alone
            found = self._store.digest(key_id)
            if found is not None:
                self._keys = {**self._keys, key_id: found}
        return _check(found, secret)


def _check(found: tuple[str, ApiKey] | None, secret: str) -> ApiKey | None:
    """The key if ``secret`` hashes to its stored digest and it is not revoked."""
    # Compare even when the id is unknown, so timing does not tell ids apart.
    stored, key = found if found is not None else ("0" * 64, None)
    if not hmac.compare_digest(stored, _digest(secret)) or key is None:
        return None
    return key if key.revoked_at is None else None


def _key(row: dict[str, Any]) -> ApiKey:
    revoked = row["revoked_at"]
    return ApiKey(
        key_id=row["key_id"],
        name=row["name"],
        scopes=tuple(row["scopes"]),
        created_at=stored_utc(row["created_at"]),
        revoked_at=stored_utc(revoked) if revoked is not None else None,
    )
