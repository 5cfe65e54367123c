"""What a demo world is: its sources and their columns, its clock, and the result type.

Every other module of the generator fills these tables; ``api.worlds.harder``
returns the same ``DemoWorld`` shape and runs on the same clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "LINKED_SOURCES", "SOURCE_FILES", "WORLD_NOW", "DemoWorld", "Format"]

#: Source name -> (kind, file stem). The demo config maps each to its file.
SOURCE_FILES: dict[str, tuple[str, str]] = {
    "crm": ("customers", "crm"),
    "web": ("sessions", "web_sessions"),
    "app": ("devices", "app_devices"),
    "messaging": ("contacts", "messaging"),
    "events": ("events", "events"),
    "interactions": ("interactions", "interactions"),
    "consents": ("consents", "consents"),
}
#: The sources whose records take part in linking (and are labelled).
LINKED_SOURCES = ("crm", "web", "app", "messaging")

#: The world's clock: generated timestamps fall in the 180 days before this.
WORLD_NOW = datetime(2026, 11, 1, tzinfo=UTC)

Format = Literal["csv", "parquet"]

#: Source name -> its columns, in the order they are written.
COLUMNS: dict[str, list[str]] = {
    "crm": [
        "customer_id", "email", "phone", "first_name", "last_name", "date_of_birth", "gender",
        "address", "city", "postcode", "country", "created_at",
    ],
    "web": [
        "session_id", "started_at", "cookie_id", "device_id", "ip", "user_agent", "customer_id",
        "email", "phone", "first_name", "last_name", "postcode", "city", "country", "gpc",
    ],
    "app": [
        "device_id", "first_seen", "last_seen", "ad_id", "platform", "ip", "customer_id", "email",
        "phone",
    ],
    "messaging": ["contact_id", "channel", "phone", "handle", "display_name", "email", "customer_id"],
    "events": ["subject_type", "subject_id", "ts", "event_type", "category", "url", "value", "channel"],
    "interactions": ["customer_id", "ts", "kind", "outcome", "value"],
    "consents": [
        "subject_type", "subject_id", "purpose", "status", "recorded_at", "source", "evidence",
        "expires_at", "event_id",
    ],
}  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoWorld:
    """One generated world: canonical source tables plus ground truth."""

    tables: dict[str, pd.DataFrame]
    """Source name (``crm``, ``web``, ...) -> canonical table."""
    labels: pd.DataFrame
    """``source, record_key, true_id`` for every linked record."""
    hard_cases: dict[str, list[str]] = field(default_factory=dict)
    """Hard case name -> the true ids that must stay distinct persons."""

    @property
    def touchpoint_count(self) -> int:
        """Records that take part in linking (customers, sessions, devices, contacts)."""
        return sum(len(self.tables[s]) for s in LINKED_SOURCES)
