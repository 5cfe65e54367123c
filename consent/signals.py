"""Consent events from browser signals: TC strings, GPP strings and GPC.

A signal becomes ordinary ledger events (one per Tether purpose it decides),
so effective consent needs no special cases: a GPC session is a ``denied``
``ad_targeting`` event on the session's cookie, recorded when the session
started, and spreads to the whole person like any denial does.

Event ids are derived from the session and the purpose, so re-reading the
same sessions stores nothing new. Sessions repeat the same signal many
times; per subject only the first and the last session of each unbroken run
of one signal become events, which keeps every change (and the latest
observation) at a fraction of the volume.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from consent.gpp import GPPString, decode_gpp_string
from consent.ledger import ConsentEvent
from consent.purposes import DEFAULT_POLICY, TCF_CONSENT_ONLY, ConsentPolicy
from consent.tcf import TCString, TCStringInvalid, decode_tc_string, tcf22_violations

__all__ = [
    "SESSION_COLUMNS",
    "SIGNAL_COLUMNS",
    "SignalEvents",
    "events_from_gpc",
    "events_from_gpp_string",
    "events_from_tc_string",
    "gpp_decisions",
    "session_signal_events",
    "tcf_decisions",
]


def tcf_decisions(tc: TCString, *, policy: ConsentPolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Tether purpose -> ``granted`` or ``denied`` as a decoded TC string decides it.

    A string that breaks the TCF 2.2 rules (``tcf22_violations``) grants
    nothing: its refusals still count, its grants do not. Purpose 1 counts
    as consented under ``purposeOneTreatment`` (the publisher's country needs
    no consent for device storage). With ``policy.vendor_id`` set, a grant
    also needs that vendor's consent (or legitimate interest where allowed)
    and no publisher restriction of type 0 ("not allowed") for it.
    """
    fields = tc.fields
    valid = not tcf22_violations(tc)
    consents = set(fields["purposeConsents"])
    if fields["purposeOneTreatment"]:
        consents.add(1)
    interests = set(fields["purposeLegitimateInterests"]) - TCF_CONSENT_ONLY
    features = set(fields["specialFeatureOptins"])
    vendor = policy.vendor_id
    barred: set[int] = set()
    if vendor is not None:
        barred = {
            r["purpose"]
            for r in fields["publisherRestrictions"]
            if r["type"] == 0 and vendor in r["vendors"]
        }
    decisions = {}
    for purpose, rule in policy.tcf.items():
        ok = all(
            (p in consents or (rule.legitimate_interest_counts and p in interests))
            and p not in barred
            for p in rule.purposes
        ) and all(s in features for s in rule.special_features)
        if ok and vendor is not None:
            by_consent = vendor in fields["vendorConsents"]
            by_interest = rule.legitimate_interest_counts and vendor in set(
                fields["vendorLegitimateInterests"]
            )
            ok = by_consent or by_interest
        if ok and (rule.deny_only or not valid):
            continue  # this string cannot grant the purpose: no event
        decisions[purpose] = "granted" if ok else "denied"
    return decisions


def gpp_decisions(gpp: GPPString, *, policy: ConsentPolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Tether purpose -> ``denied`` for every opt-out the GPP string carries.

    ``usnat``: ``SaleOptOut``, ``SharingOptOut`` or ``TargetedAdvertisingOptOut``
    = 1 (opted out), ``Gpc`` set, or one of their notices = 2 (not provided).
    ``uspv1``: ``OptOutSale`` = ``Y``. "Did not opt out" is not consent: no grants.
    """
    reasons = []
    usnat = gpp.sections.get("usnat")
    if usnat:
        for name in ("SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut"):
            if usnat.get(name) == 1:
                reasons.append(name)
            if usnat.get(f"{name}Notice") == 2:
                reasons.append(f"{name}Notice")
        if usnat.get("Gpc"):
            reasons.append("Gpc")
    usp = gpp.sections.get("uspv1")
    if usp and usp.get("OptOutSale") == "Y":
        reasons.append("OptOutSale")
    return dict.fromkeys(policy.gpp_opt_out_purposes, "denied") if reasons else {}


def _event_id(kind: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, (kind, *parts))).encode()).hexdigest()
    return f"{kind}_{digest[:32]}"


def _events(
    decisions: dict[str, str],
    *,
    kind: str,
    key: str,
    subject_type: str,
    subject_id: str,
    recorded_at: datetime,
    evidence: dict[str, Any],
) -> list[ConsentEvent]:
    return [
        ConsentEvent(
            subject_type=subject_type,
            subject_id=subject_id,
            purpose=purpose,
            status=status,
            recorded_at=recorded_at,
            source=kind,
            evidence=evidence,
            event_id=_event_id(kind, subject_type, subject_id, key, purpose),
        )
        for purpose, status in sorted(decisions.items())
    ]


def events_from_tc_string(
    text: str,
    *,
    subject_type: str,
    subject_id: str,
    recorded_at: datetime,
    key: str = "",
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> list[ConsentEvent]:
    """The events a TC string implies for a subject; ``TCStringInvalid`` if it is malformed.

    ``key`` names where the string was seen (a session id), so that the same
    observation always gets the same event ids.
    """
    decisions, evidence = _read_tc_string(text, policy=policy)
    return _events(
        decisions,
        kind="tcf",
        key=key or text.strip(),
        subject_type=subject_type,
        subject_id=subject_id,
        recorded_at=recorded_at,
        evidence={**evidence, "source": key or None},
    )


def _read_tc_string(text: str, *, policy: ConsentPolicy) -> tuple[dict[str, str], dict[str, Any]]:
    tc = decode_tc_string(text)
    fields = tc.fields
    evidence = {
        "tc_string": text.strip(),
        "cmp_id": fields["cmpId"],
        "cmp_version": fields["cmpVersion"],
        "collected_at": fields["lastUpdated"],
    }
    return tcf_decisions(tc, policy=policy), evidence


def events_from_gpp_string(
    text: str,
    *,
    subject_type: str,
    subject_id: str,
    recorded_at: datetime,
    key: str = "",
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> list[ConsentEvent]:
    """The denials a GPP string implies for a subject; ``GPPStringInvalid`` if malformed."""
    gpp = decode_gpp_string(text)
    evidence = {"gpp_string": text.strip(), "source": key or None}
    return _events(
        gpp_decisions(gpp, policy=policy),
        kind="gpp",
        key=key or text.strip(),
        subject_type=subject_type,
        subject_id=subject_id,
        recorded_at=recorded_at,
        evidence=evidence,
    )


def events_from_gpc(
    *,
    subject_type: str,
    subject_id: str,
    recorded_at: datetime,
    key: str = "",
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> list[ConsentEvent]:
    """``Sec-GPC: 1`` seen for a subject: a denial of every purpose in ``policy.gpc_purposes``."""
    return _events(
        dict.fromkeys(policy.gpc_purposes, "denied"),
        kind="gpc",
        key=key or recorded_at.isoformat(),
        subject_type=subject_type,
        subject_id=subject_id,
        recorded_at=recorded_at,
        evidence={"source": key or None},
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalEvents:
    """The events read from session signals, and what could not be read."""

    frame: pd.DataFrame
    """One row per event, in the ``consents`` columns (``Ledger.append_frame`` takes it)."""
    sessions_with_tc_string: int
    sessions_with_gpc: int
    invalid_tc_strings: int
    """Sessions whose string was malformed: never a grant, so they add no event."""

    @property
    def events(self) -> list[ConsentEvent]:
        """The same events as objects (``frame`` is the fast form)."""
        return [
            ConsentEvent(
                subject_type=r["subject_type"],
                subject_id=r["subject_id"],
                purpose=r["purpose"],
                status=r["status"],
                recorded_at=r["recorded_at"].to_pydatetime(),
                source=r["source"],
                evidence=json.loads(r["evidence"]),
                event_id=r["event_id"],
            )
            for r in self.frame.to_dict(orient="records")
        ]


SESSION_COLUMNS = ("kind", "record_key", "ts", "subject_type", "subject_id", "tc_string", "gpc")
"""The touchpoint columns ``session_signal_events`` reads."""

SIGNAL_COLUMNS = (
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "recorded_at",
    "expires_at",
    "source",
    "evidence",
    "event_id",
)


def _no_events() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in SIGNAL_COLUMNS})
    for column in ("recorded_at", "expires_at"):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def _is_true(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "t"}


def _with_source(evidence: dict[str, Any], keys: pd.Series) -> np.ndarray:
    """Evidence JSON text per row: ``evidence`` plus each row's session as its ``source``
    (the JSON of the common part is written once, the key spliced in)."""
    marker = "\x00session\x00"
    head, tail = json.dumps({**evidence, "source": marker}, sort_keys=True).split(
        json.dumps(marker)
    )
    return np.array([head + json.dumps(k) + tail for k in keys.tolist()], dtype=object)


def _signal_rows(
    keep: pd.DataFrame,
    table: pd.DataFrame,
    *,
    kind: str,
    on: str | None,
) -> pd.DataFrame:
    """Kept sessions x their decisions (``table``: ``purpose, status, evidence`` per ``on``
    value, or for every session when ``on`` is None) as event rows."""
    if on is None:
        rows = keep.merge(table, how="cross")
    else:
        rows = keep.merge(table, left_on=on, right_index=True, how="inner")
    rows = rows.sort_values(["_order", "purpose"], kind="stable")
    keys = rows["record_key"].astype(str)
    subject_type = rows["subject_type"].astype(str)
    subject_id = rows["subject_id"].astype(str)
    evidence = np.empty(len(rows), dtype=object)
    for base, where in rows.groupby("_evidence", sort=False).indices.items():
        evidence[where] = _with_source(json.loads(str(base)), keys.iloc[np.asarray(where)])
    return pd.DataFrame(
        {
            "subject_type": subject_type.to_numpy(),
            "subject_id": subject_id.to_numpy(),
            "purpose": rows["purpose"].to_numpy(),
            "status": rows["status"].to_numpy(),
            "recorded_at": pd.to_datetime(rows["ts"], utc=True)
            .astype("datetime64[ns, UTC]")
            .to_numpy(),
            "expires_at": pd.Series(
                pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]"
            ).to_numpy(),
            "source": kind,
            "evidence": evidence,
            "event_id": [
                _event_id(kind, t, i, k, p)
                for t, i, k, p in zip(
                    subject_type.tolist(),
                    subject_id.tolist(),
                    keys.tolist(),
                    rows["purpose"].tolist(),
                    strict=True,
                )
            ],
        }
    )


def session_signal_events(
    touchpoints: pd.DataFrame, *, policy: ConsentPolicy = DEFAULT_POLICY
) -> SignalEvents:
    """Events from the ``tc_string`` and ``gpc`` of session touchpoints.

    Per subject (cookie, or device without cookie), only the first and the
    last session of each unbroken run of the same signal are read. Only the
    sessions of subjects that sent a signal are sorted, and the events are
    built column-wise (``SignalEvents.frame``); each event's evidence names
    the session it was seen in (``source``: its record key).
    """
    columns = list(SESSION_COLUMNS[1:])  # what a session's events are built from
    is_session = (touchpoints["kind"] == "sessions").to_numpy()
    if not is_session.any() or not {"tc_string", "gpc"} <= set(touchpoints.columns):
        return SignalEvents(
            frame=_no_events(), sessions_with_tc_string=0, sessions_with_gpc=0, invalid_tc_strings=0
        )
    # the six columns of the sessions only, not every column of them (at 10 M touchpoints a
    # copy of 8 M sessions' 39 columns, 2.4 GB, to read six)
    frame = touchpoints.loc[is_session, columns].dropna(subset=["ts"])
    gpc = frame["gpc"]
    truth = {v: _is_true(v) for v in gpc.dropna().unique()}  # a few distinct spellings
    gpc_flag = pd.Series([truth.get(v, False) for v in gpc.tolist()], index=frame.index, dtype=bool)
    tc_present = frame["tc_string"].notna()
    signalled = gpc_flag | tc_present
    sessions_with_tc_string = int(tc_present.sum())
    sessions_with_gpc = int(gpc_flag.sum())
    if not signalled.any():
        return SignalEvents(
            frame=_no_events(),
            sessions_with_tc_string=sessions_with_tc_string,
            sessions_with_gpc=sessions_with_gpc,
            invalid_tc_strings=0,
        )
    # the sessions of subjects with any signal: those without a string still break runs
    subject = frame["subject_type"].astype(str) + "\x1f" + frame["subject_id"].astype(str)
    involved = subject.isin(subject[signalled].unique())
    frame = frame.loc[involved].assign(gpc=gpc_flag[involved])
    frame["tc_string"] = frame["tc_string"].astype(object)
    frame.loc[frame["tc_string"].isna(), "tc_string"] = None
    frame = frame.sort_values(["subject_type", "subject_id", "ts", "record_key"], kind="stable")
    frame["_order"] = np.arange(len(frame))
    readings: dict[str, tuple[dict[str, str], dict[str, Any]] | None] = {}
    for text in frame["tc_string"].dropna().unique():
        try:
            readings[text] = _read_tc_string(text, policy=policy)
        except TCStringInvalid:
            readings[text] = None  # malformed: never a grant, and no event
    bad = {text for text, reading in readings.items() if reading is None}
    invalid = int(frame["tc_string"].isin(bad).sum())
    parts = []
    for signal in ("tc_string", "gpc"):
        present = frame[frame["gpc"]] if signal == "gpc" else frame[~frame["tc_string"].isin(bad)]
        if present.empty:
            continue
        value = present[signal].fillna("").astype(str)
        subject = present["subject_type"].astype(str) + "\x1f" + present["subject_id"].astype(str)
        changed = (value != value.shift()) | (subject != subject.shift())
        ends = (value != value.shift(-1)) | (subject != subject.shift(-1))
        keep = present[(changed | ends) & (value != "")]
        if keep.empty:
            continue
        if signal == "gpc":
            table = pd.DataFrame(
                {
                    "purpose": sorted(policy.gpc_purposes),
                    "status": "denied",
                    "_evidence": json.dumps({}),
                }
            )
            parts.append(_signal_rows(keep, table, kind="gpc", on=None))
            continue
        decided = [
            (text, purpose, status, json.dumps(reading[1], sort_keys=True))
            for text, reading in readings.items()
            if reading is not None
            for purpose, status in sorted(reading[0].items())
        ]
        table = pd.DataFrame(
            decided, columns=["tc_string", "purpose", "status", "_evidence"]
        ).set_index("tc_string")
        parts.append(_signal_rows(keep, table, kind="tcf", on="tc_string"))
    events = pd.concat(parts, ignore_index=True) if parts else _no_events()
    return SignalEvents(
        frame=events,
        sessions_with_tc_string=sessions_with_tc_string,
        sessions_with_gpc=sessions_with_gpc,
        invalid_tc_strings=invalid,
    )
