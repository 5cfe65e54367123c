"""TC strings, GPP strings and GPC become ledger events through the purpose mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consent.errors import ConsentPolicyInvalid
from consent.gpp import decode_gpp_string
from consent.ledger import EVIDENCE_KEYS
from consent.purposes import DEFAULT_POLICY, ConsentPolicy, TcfRule, policy_from_dict
from consent.signals import (
    SIGNAL_COLUMNS,
    events_from_gpc,
    events_from_gpp_string,
    events_from_tc_string,
    gpp_decisions,
    session_signal_events,
    tcf_decisions,
)
from consent.tcf import TCStringInvalid, decode_tc_string

DATA = Path(__file__).resolve().parents[1] / "data"
TCF: list[dict[str, Any]] = json.loads((DATA / "tcf-vectors.json").read_text())
GPP: list[dict[str, Any]] = json.loads((DATA / "gpp-vectors.json").read_text())
WHEN = datetime(2026, 3, 1, tzinfo=UTC)


def _tc(prefix: str) -> str:
    return next(v["tc_string"] for v in TCF if v["tc_string"].startswith(prefix))


# TCF 2.2 (policy 4), every purpose 1-11 consented, LI only on 2 and 7-11, vendor 755 consented.
FULL_22 = _tc("CQa4GoAQa4GoAEXtiAFRCFEg")
# Policy 4, purposes 1-10 consented but legitimate interest on 3-6: breaks TCF 2.2.
BROKEN_22 = _tc("CP00b0AP00b0AAHABBENAbEs")
# Policy 2 (TCF 2.0), no purpose consented.
NOTHING = _tc("COwBOpCOwBOpCLqAAAENAPCAAAAAAA")


def test_full_tcf22_consent_grants_every_mapped_purpose_but_linking() -> None:
    decisions = tcf_decisions(decode_tc_string(FULL_22))
    assert decisions == {
        "analytics": "granted",
        "personalisation": "granted",
        "ad_targeting": "granted",
    }, "identity_linking is deny-only: TCF has no bit for linking (Features 1-2)"


def test_a_string_that_breaks_tcf22_grants_nothing() -> None:
    tc = decode_tc_string(BROKEN_22)
    assert set(tc.fields["purposeConsents"]) >= {1, 3, 4}
    assert tcf_decisions(tc) == {}


def test_no_purpose_consented_denies_every_mapped_purpose() -> None:
    assert tcf_decisions(decode_tc_string(NOTHING)) == {
        "identity_linking": "denied",
        "analytics": "denied",
        "personalisation": "denied",
        "ad_targeting": "denied",
    }


def test_vendor_consent_is_required_when_a_vendor_is_configured() -> None:
    tc = decode_tc_string(FULL_22)
    assert 755 in tc.fields["vendorConsents"]
    google = ConsentPolicy(vendor_id=755)
    assert tcf_decisions(tc, policy=google)["ad_targeting"] == "granted"
    missing = next(v for v in range(1, 2000) if v not in tc.fields["vendorConsents"])
    assert tcf_decisions(tc, policy=ConsentPolicy(vendor_id=missing))["ad_targeting"] == "denied"


def test_mapping_is_configurable_from_toml_shaped_data() -> None:
    policy = policy_from_dict(
        {"tcf": {"ad_targeting": {"purposes": [1, 3, 4], "special_features": [1]}}}
    )
    assert policy.tcf["ad_targeting"] == TcfRule(purposes=(1, 3, 4), special_features=(1,))
    # FULL_22 has no special feature opted in
    assert not decode_tc_string(FULL_22).fields["specialFeatureOptins"]
    assert tcf_decisions(decode_tc_string(FULL_22), policy=policy)["ad_targeting"] == "denied"
    with pytest.raises(ConsentPolicyInvalid, match="TCF purposes 1-11"):
        policy_from_dict({"tcf": {"ad_targeting": [12]}})
    with pytest.raises(ConsentPolicyInvalid, match="unknown purpose"):
        policy_from_dict({"tcf": {"ad_targetting": [1]}})
    with pytest.raises(ConsentPolicyInvalid, match="unknown key"):
        policy_from_dict({"tcf_purposes": {}})


def test_events_carry_evidence_and_stable_ids() -> None:
    first = events_from_tc_string(
        FULL_22, subject_type="cookie", subject_id="k1", recorded_at=WHEN, key="S1"
    )
    again = events_from_tc_string(
        FULL_22, subject_type="cookie", subject_id="k1", recorded_at=WHEN, key="S1"
    )
    assert [e.id for e in first] == [e.id for e in again]
    assert len({e.id for e in first}) == len(first) == 3
    assert first[0].evidence["cmp_id"] == 279 and first[0].evidence["source"] == "S1"
    assert first[0].evidence["tc_string"] == FULL_22
    assert set(first[0].evidence) <= EVIDENCE_KEYS
    with pytest.raises(TCStringInvalid):
        events_from_tc_string(
            FULL_22[:40], subject_type="cookie", subject_id="k1", recorded_at=WHEN
        )


@pytest.mark.parametrize("vector", [v for v in GPP if not v["expected"].get("error")], ids=str)
def test_gpp_opt_outs_deny_ad_targeting_and_never_grant(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    usnat = expected.get("usnat") or {}
    usp = expected.get("uspv1") or {}
    opted_out = (
        any(usnat.get(k) == 1 for k in ("SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut"))
        or any(
            usnat.get(k) == 2
            for k in ("SaleOptOutNotice", "SharingOptOutNotice", "TargetedAdvertisingOptOutNotice")
        )
        or bool(usnat.get("Gpc"))
        or usp.get("OptOutSale") == "Y"
    )
    decisions = gpp_decisions(decode_gpp_string(vector["gpp_string"]))
    assert decisions == ({"ad_targeting": "denied"} if opted_out else {})


def test_sessions_give_one_event_per_change_and_the_latest_observation() -> None:
    def session(key: str, day: int, *, tc: str | None = None, gpc: object = None) -> dict[str, Any]:
        return {
            "kind": "sessions",
            "record_key": key,
            "ts": pd.Timestamp(WHEN + timedelta(days=day)),
            "subject_type": "cookie",
            "subject_id": "k1",
            "tc_string": tc,
            "gpc": gpc,
        }

    touchpoints = pd.DataFrame(
        [
            session("S1", 1, tc=FULL_22),
            session("S2", 2, tc=FULL_22),
            session("S3", 3, tc=FULL_22, gpc=True),
            session("S4", 4, tc=NOTHING),
            session("S5", 5, tc=FULL_22[:50]),  # truncated: never a grant, never an event
            session("S6", 6, tc=FULL_22, gpc=False),
            {**session("C1", 0), "kind": "customers"},
        ]
    )
    read = session_signal_events(touchpoints)
    assert read.invalid_tc_strings == 1
    assert read.sessions_with_gpc == 1 and read.sessions_with_tc_string == 6
    seen = sorted({(e.evidence["source"], e.source) for e in read.events})
    # FULL_22 run S1..S3 (first and last), NOTHING at S4, FULL_22 again at S6, GPC at S3.
    assert seen == [
        ("S1", "tcf"),
        ("S3", "gpc"),
        ("S3", "tcf"),
        ("S4", "tcf"),
        ("S6", "tcf"),
    ]
    gpc = [e for e in read.events if e.source == "gpc"]
    assert [(e.purpose, e.status) for e in gpc] == [("ad_targeting", "denied")]
    assert session_signal_events(touchpoints).events == read.events, "deterministic"
    assert DEFAULT_POLICY.gpc_purposes == ("ad_targeting",)


def _sessions(n: int) -> pd.DataFrame:
    """``n`` sessions of a few cookies: TC strings that change, GPC now and then."""
    strings = [FULL_22, FULL_22, NOTHING, FULL_22[:50], None]
    return pd.DataFrame(
        {
            "kind": "sessions",
            "record_key": [f"S{i:05d}" for i in range(n)],
            "ts": [pd.Timestamp(WHEN + timedelta(hours=i)) for i in range(n)],
            "subject_type": "cookie",
            "subject_id": [f"k{i % 7}" for i in range(n)],
            "tc_string": [strings[(i // 7) % len(strings)] for i in range(n)],
            "gpc": [("1", None, "true", False)[i % 4] if i % 5 == 0 else None for i in range(n)],
        }
    )


def test_the_event_table_holds_the_same_events_as_the_objects(ledger) -> None:
    read = session_signal_events(_sessions(300))
    frame = read.frame
    assert list(frame.columns) == list(SIGNAL_COLUMNS)
    assert frame["event_id"].is_unique and len(frame) == len(read.events)
    by_id = {e.id: e for e in read.events}
    for row in frame.to_dict(orient="records"):
        event = by_id[row["event_id"]]
        assert (event.subject_id, event.purpose, event.status, event.source) == (
            row["subject_id"],
            row["purpose"],
            row["status"],
            row["source"],
        )
        assert event.recorded_at == row["recorded_at"].to_pydatetime()
        assert set(event.evidence) <= EVIDENCE_KEYS
    # each kept TCF session gives what events_from_tc_string gives for it
    tcf = [e for e in read.events if e.source == "tcf"]
    first = tcf[0]
    text = first.evidence["tc_string"]
    alone = events_from_tc_string(
        text,
        subject_type=first.subject_type,
        subject_id=first.subject_id,
        recorded_at=first.recorded_at,
        key=first.evidence["source"],
    )
    assert {e.id: e for e in alone}[first.id] == first
    # and the table goes into the ledger as it is, twice without a second copy
    appended = ledger.append_frame(frame)
    assert (appended.inserted, appended.conflicts, appended.invalid) == (len(frame), 0, 0)
    again = ledger.append_frame(session_signal_events(_sessions(300)).frame)
    assert (again.inserted, again.duplicates) == (0, len(frame))


def test_gpp_and_gpc_evidence_is_declared() -> None:
    usnat = next(
        v["gpp_string"]
        for v in GPP
        if not v["expected"].get("error") and (v["expected"].get("usnat") or {}).get("Gpc")
    )
    events = events_from_gpp_string(
        usnat, subject_type="cookie", subject_id="k1", recorded_at=WHEN, key="S9"
    )
    assert events and all(e.evidence == {"gpp_string": usnat, "source": "S9"} for e in events)
    gpc = events_from_gpc(subject_type="cookie", subject_id="k1", recorded_at=WHEN, key="S9")
    assert [e.evidence for e in gpc] == [{"source": "S9"}]


def test_no_sessions_give_an_empty_table() -> None:
    read = session_signal_events(pd.DataFrame({"kind": ["customers"], "ts": [WHEN]}))
    assert read.frame.empty and list(read.frame.columns) == list(SIGNAL_COLUMNS)
    assert read.events == []
