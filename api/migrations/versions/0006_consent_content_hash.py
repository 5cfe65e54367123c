"""The consent ledger fingerprints what each event decides (``content_hash``), so an id
reused with different content is refused as a conflict with one primary-key lookup
instead of being dropped as a duplicate; email subjects stored in clear are hashed.

Existing rows get their fingerprint here, computed by the same function the ledger
uses (``consent.ledger.content_hash_of``). An ``email`` subject that is not yet a
SHA-256 is replaced by the hash of its normalised address first (the ledger must not
hold clear addresses, and a clear one never matched anybody); one that is not an
address at all is hashed as written, lower-cased.

Revision ID: 0006
Revises: 0005
"""

import hashlib
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

from consent.ledger import content_hash_of, stored_utc
from resolver.normalize import normalize_email

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BATCH = 50_000


def _email_subject(value: str) -> str:
    if _HEX64.fullmatch(value):
        return value.lower()
    email = normalize_email(value) or value.strip().lower()
    # the same digest as consent.effective.email_subject_id
    return hashlib.sha256(email.encode()).hexdigest()


def upgrade() -> None:
    op.add_column("consent_events", sa.Column("content_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    events = sa.table(
        "consent_events",
        sa.column("event_id", sa.String),
        sa.column("subject_type", sa.String),
        sa.column("subject_id", sa.String),
        sa.column("purpose", sa.String),
        sa.column("status", sa.String),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("source", sa.String),
        sa.column("content_hash", sa.String),
    )
    update = (
        sa.update(events)
        .where(events.c.event_id == sa.bindparam("key"))
        .values(subject_id=sa.bindparam("new_subject"), content_hash=sa.bindparam("hash"))
    )
    query = (
        sa.select(
            events.c.event_id,
            events.c.subject_type,
            events.c.subject_id,
            events.c.purpose,
            events.c.status,
            events.c.recorded_at,
            events.c.expires_at,
            events.c.source,
        )
        .where(events.c.content_hash.is_(None))
        .limit(_BATCH)
    )
    while True:
        rows = bind.execute(query).all()
        if not rows:
            break
        changes: list[dict[str, Any]] = []
        for row in rows:
            subject = row.subject_id
            if row.subject_type == "email":
                subject = _email_subject(subject)
            changes.append(
                {
                    "key": row.event_id,
                    "new_subject": subject,
                    "hash": content_hash_of(
                        subject_type=row.subject_type,
                        subject_id=subject,
                        purpose=row.purpose,
                        status=row.status,
                        recorded_at=stored_utc(row.recorded_at),
                        expires_at=stored_utc(row.expires_at) if row.expires_at else None,
                        source=row.source or None,
                    ),
                }
            )
        bind.execute(update, changes)
    with op.batch_alter_table("consent_events") as batch:
        batch.alter_column("content_hash", existing_type=sa.String(64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("content_hash")
