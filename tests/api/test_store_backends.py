"""API keys, stored segments and consent writes over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.keys import KeyStore
from audiences.definitions import SegmentStore
from audiences.errors import SegmentConflict, SegmentInvalid, SegmentNotFound
from tests.api.conftest import assert_error, make_app_client


def test_keys_create_verify_revoke(store: Engine) -> None:
    keys = KeyStore(store)
    made = keys.create(name="crm", scopes=["read", "consent:write"])
    found = keys.verify(made.token)
    assert found is not None and found.scopes == ("read", "consent:write")
    assert found.allows("read") and not found.allows("export")
    assert keys.verify(made.token.replace("tth_", "tth_x")) is None
    assert keys.revoke(made.key.key_id) is not None
    assert keys.verify(made.token) is None
    assert [k.key_id for k in keys.list()] == [made.key.key_id]
    assert keys.list(include_revoked=False) == []
    assert keys.revoke("nosuchkey") is None


def test_segment_store_crud(store: Engine) -> None:
    segments = SegmentStore(store)
    rule = {"feature": "is_customer", "equals": True}
    segments.create({"name": "customers", "rule": rule})
    with pytest.raises(SegmentConflict):
        segments.create({"name": "customers", "rule": rule})
    with pytest.raises(SegmentInvalid):
        segments.create({"name": "Bad Name", "rule": rule})
    segment, version = segments.replace("customers", {"name": "customers", "rule": rule,
                                                       "holdout": 0.2})  # fmt: skip
    assert (segment.holdout, version) == (0.2, 2)
    with pytest.raises(SegmentNotFound):
        segments.replace("nobody", {"name": "nobody", "rule": rule})
    assert [s.name for s, _, _ in segments.list()] == ["customers"]
    assert segments.delete("customers") and not segments.delete("customers")


def test_consent_writes_over_http_on_each_store(
    api_home: Path, store_url: str, store: Engine
) -> None:
    token = KeyStore(store).create(name="cmp", scopes=["consent:write", "read"]).token
    auth = {"X-API-Key": token}
    events = [
        {
            "subject_type": "cookie",
            "subject_id": f"ck-{i}",
            "purpose": "ad_targeting",
            "status": "granted" if i % 2 else "denied",
            "recorded_at": "2026-11-30T10:00:00Z",
            "event_id": f"ev-{i}",
        }
        for i in range(50)
    ]
    with make_app_client(api_home, None, url=store_url) as client:
        first = client.post("/v1/consents", json={"events": events}, headers=auth).json()
        again = client.post("/v1/consents", json={"events": events[:10]}, headers=auth).json()
        state = client.get("/v1/consents/cookie/ck-3", headers=auth).json()
        assert_error(client.get("/v1/runs", headers={"X-API-Key": "tth_x"}), 401, "unauthorized")
    assert (first["inserted"], again["inserted"], again["duplicates"]) == (50, 0, 10)
    assert state["subject"]["ad_targeting"]["allowed"] is True
    assert state["subject"]["ad_targeting"]["event_ids"] == ["ev-3"]
