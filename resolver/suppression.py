"""The suppression list: what ingest drops because a person asked to be erased.

An erasure (``consent.erasure``) records the erased person's consent
subjects (``cookie:K1``, ``customer:C9``...) and keyed hashes of their
normalised identifiers (email, phone, ad id, customer, cookie and device
ids, national id). From the next run on, ingest drops every row, of every
source kind, that names a suppressed subject or carries a suppressed
identifier, *before* validation: an erased person's rows reach neither the
touchpoints nor the quarantine. Dropped rows are counted per source
(``rows_suppressed``), never written anywhere.

Identifiers are hashed with HMAC-SHA-256 under the workspace's secret salt,
so the list itself cannot be reversed with a dictionary of emails.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from resolver.normalize import normalize_email, normalize_phone
from resolver.vocabulary import IDENTIFIER_KINDS

__all__ = [
    "IDENTIFIER_COLUMNS",
    "Suppression",
    "hash_identifier",
    "record_identifiers",
    "suppressed_rows",
]

IDENTIFIER_COLUMNS: tuple[str, ...] = (*IDENTIFIER_KINDS, "national_id")
"""Normalised identifier columns of touchpoints whose hashes an erasure suppresses."""

_SUBJECT_COLUMNS = {
    "customer_id": "customer",
    "cookie_id": "cookie",
    "device_id": "device",
    "contact_id": "contact",
}


def hash_identifier(*, kind: str, value: str, key: str) -> str:
    """HMAC-SHA-256 of ``kind:value`` under ``key``, hex.

    >>> hash_identifier(kind="email", value="a@b.co", key="salt")[:12]
    '84d228cc64d0'
    """
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Suppression:
    """Suppressed subjects (``type:id``) and identifier hashes, with the hashing key."""

    key: str
    subjects: frozenset[str] = field(default_factory=frozenset)
    identifiers: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.subjects or self.identifiers)


def _normalised(column: str, values: pd.Series, region: pd.Series) -> pd.Series:
    """The value as touchpoints store it (so hashes agree with ``record_identifiers``)."""
    text = values.astype("string").str.strip()
    if column == "email":
        uniques = {v: normalize_email(v) for v in text.dropna().unique()}
        return text.map(uniques)
    if column == "phone":
        pairs = pd.Series(list(zip(text, region, strict=True)), index=text.index)
        present = text.notna()
        out = pd.Series([None] * len(text), index=text.index, dtype=object)
        out[present] = [normalize_phone(p, region=r) for p, r in pairs[present]]
        return out
    if column == "ad_id":
        return text.str.lower()
    if column == "national_id":
        return text.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return text


def suppressed_rows(
    frame: pd.DataFrame, *, suppression: Suppression, default_region: str
) -> np.ndarray:
    """Per row of a source (canonical column names), whether an erasure suppresses it."""
    hit = np.zeros(len(frame), dtype=bool)
    if not suppression or frame.empty:
        return hit
    for column, subject_type in _SUBJECT_COLUMNS.items():
        if column in frame:
            ids = subject_type + ":" + frame[column].astype("string").str.strip()
            hit |= ids.isin(suppression.subjects).fillna(False).to_numpy(dtype=bool)
    if "subject_type" in frame and "subject_id" in frame:
        ids = (
            frame["subject_type"].astype("string").str.strip().str.lower()
            + ":"
            + frame["subject_id"].astype("string").str.strip()
        )
        hit |= ids.isin(suppression.subjects).fillna(False).to_numpy(dtype=bool)
    country = (
        frame["country"].astype("string").str.strip().str.upper()
        if "country" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    region = country.where(country.str.len() == 2, default_region).fillna(default_region)
    for column in IDENTIFIER_COLUMNS:
        if column not in frame:
            continue
        readings = [_normalised(column, frame[column], region)]
        if column == "phone":
            # Messaging ids are often international numbers written as bare digits:
            # read them both ways (suppressing too much is the safe side).
            readings.append(_normalised(column, "+" + frame[column].astype("string"), region))
        for values in readings:
            hashes = {
                v: hash_identifier(kind=column, value=v, key=suppression.key)
                for v in values.dropna().unique()
                if v
            }
            hit |= values.map(hashes).isin(suppression.identifiers).to_numpy(dtype=bool)
    return hit


def record_identifiers(records: pd.DataFrame, *, key: str) -> set[str]:
    """Hashes of every normalised identifier in ``records`` (touchpoint columns)."""
    out: set[str] = set()
    for column in IDENTIFIER_COLUMNS:
        if column in records:
            out |= _hashes(column, records[column].dropna().astype(str), key=key)
    return out


def _hashes(column: str, values: Iterable[str], *, key: str) -> set[str]:
    return {hash_identifier(kind=column, value=v, key=key) for v in set(values) if v}
