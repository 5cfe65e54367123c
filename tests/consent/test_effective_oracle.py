"""``consent.effective`` gives exactly what its pandas-groupby implementation gave.

The references below are the implementations before they were vectorised
(string sorts and joins, one Python call per group, a list comprehension per
grid cell). Hypothesis draws ledgers full of ties (same instant, same
severity), lapsed grants, withdrawals, GPC and GPP opt-outs lifted or not
by later grants, customers' later grants that override refusals, subjects
shared by several persons and persons no subject of whom ever answered; both
sides must give the same frames, dtypes and row order included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.effective import (
    _SEVERITY,
    STATE_COLUMNS,
    STICKY_SOURCES,
    _utc,
    email_subject_id,
    linking_allowed,
    person_consent,
    person_subjects,
    subject_states,
)
from consent.purposes import DEFAULT_POLICY, ConsentPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# --- the references: the implementations as they were ---------------------------------------


def reference_subject_states(events: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STATE_COLUMNS})
    moment = _utc(as_of)
    recorded = pd.to_datetime(events["recorded_at"], utc=True)
    seen = events.loc[recorded <= moment].copy()
    seen["recorded_at"] = recorded[recorded <= moment]
    seen["expires_at"] = pd.to_datetime(seen["expires_at"], utc=True)
    seen["_severity"] = seen["status"].map(_SEVERITY).fillna(3).astype(int)
    seen = seen.sort_values(
        ["subject_type", "subject_id", "purpose", "recorded_at", "_severity", "event_id"],
        kind="stable",
    )
    key = ["subject_type", "subject_id", "purpose"]
    latest = seen.drop_duplicates(key, keep="last")
    if "source" in seen:
        sticky = seen[seen["source"].isin(STICKY_SOURCES) & (seen["_severity"] > 0)]
        sticky = sticky.drop_duplicates(key, keep="last")
        granted = latest[latest["status"] == "granted"]
        lifted = granted.merge(sticky[key], on=key, how="inner")
        if len(lifted):
            keep = ~latest.set_index(key).index.isin(lifted.set_index(key).index)
            latest = pd.concat([latest[keep], sticky.merge(lifted[key], on=key)])
    latest = latest.copy()
    lapsed = (latest["status"] == "granted") & (latest["expires_at"] <= moment).fillna(False)
    latest.loc[lapsed, "status"] = "expired"
    latest["live"] = ~lapsed
    return latest[STATE_COLUMNS].reset_index(drop=True)


def reference_linking_allowed(
    *,
    records: pd.DataFrame,
    states: pd.DataFrame,
    policy: ConsentPolicy = DEFAULT_POLICY,
    purpose: str = "identity_linking",
) -> np.ndarray:
    live = states[(states["purpose"] == purpose) & states["live"].astype(bool)]
    granted = live.assign(ok=live["status"] == "granted")[["subject_type", "subject_id", "ok"]]
    keyed = (
        records[["subject_type", "subject_id"]]
        .astype(str)
        .merge(
            granted.astype({"subject_type": str, "subject_id": str}),
            on=["subject_type", "subject_id"],
            how="left",
        )
    )
    allowed = keyed["ok"].astype(object).where(keyed["ok"].notna(), policy.default(purpose))
    flags = allowed.astype(bool).to_numpy()
    flags[(records["kind"] == "customers").to_numpy()] = True
    return flags


def reference_person_subjects(*, records: pd.DataFrame) -> pd.DataFrame:
    parts = [records[["person_id", "subject_type", "subject_id"]]]
    if "customer_id" in records:
        known = records.dropna(subset=["customer_id"])
        parts.append(
            pd.DataFrame(
                {
                    "person_id": known["person_id"],
                    "subject_type": "customer",
                    "subject_id": known["customer_id"],
                }
            )
        )
    if "email" in records:
        mailed = records.dropna(subset=["email"])
        hashes = {e: email_subject_id(e) for e in mailed["email"].unique()}
        parts.append(
            pd.DataFrame(
                {
                    "person_id": mailed["person_id"],
                    "subject_type": "email",
                    "subject_id": mailed["email"].map(hashes),
                }
            )
        )
    subjects = pd.concat(parts, ignore_index=True).astype(str)
    return subjects.drop_duplicates().reset_index(drop=True)


def reference_person_consent(
    *,
    subjects: pd.DataFrame,
    states: pd.DataFrame,
    as_of: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> pd.DataFrame:
    persons = pd.Index(subjects["person_id"].unique(), name="person_id")
    rows = subjects.merge(
        states.astype({"subject_type": str, "subject_id": str}),
        on=["subject_type", "subject_id"],
        how="inner",
    )
    rows = rows[rows["purpose"].isin(policy.purposes)]
    live = rows[rows["live"].astype(bool)]
    customer_grant = (
        live[(live["subject_type"] == "customer") & (live["status"] == "granted")]
        .groupby(["person_id", "purpose"])["recorded_at"]
        .max()
        .rename("customer_grant_at")
    )
    live = live.join(customer_grant, on=["person_id", "purpose"])
    negative = live["status"].isin(["denied", "withdrawn"])
    overridden = negative & (live["recorded_at"] < live["customer_grant_at"]).fillna(False)
    blocking = live[negative & ~overridden]
    grants = live[live["status"] == "granted"]
    lapsed = rows[~rows["live"].astype(bool)]

    def ids(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby(["person_id", "purpose"])["event_id"].agg(lambda s: sorted(set(s)))

    blocked_ids = ids(blocking)
    withdrawn = blocking.groupby(["person_id", "purpose"])["status"].agg(
        lambda s: "withdrawn" if (s == "withdrawn").any() else "denied"
    )
    granted_ids = ids(grants)
    override_count = overridden.groupby([live["person_id"], live["purpose"]]).sum()
    lapsed_ids = ids(lapsed)

    grid = pd.MultiIndex.from_product(
        [persons, list(policy.purposes)], names=["person_id", "purpose"]
    )
    out = pd.DataFrame(index=grid)
    out["blocked"] = blocked_ids.reindex(grid)
    out["granted"] = granted_ids.reindex(grid)
    out["lapsed"] = lapsed_ids.reindex(grid)
    out["block_status"] = withdrawn.reindex(grid)
    out["overrides"] = override_count.reindex(grid).fillna(0).astype(int)
    default = np.array([policy.default(p) for p in grid.get_level_values("purpose")])

    is_blocked = out["blocked"].notna().to_numpy()
    is_granted = ~is_blocked & out["granted"].notna().to_numpy()
    is_lapsed = ~is_blocked & ~is_granted & out["lapsed"].notna().to_numpy()
    out["allowed"] = np.where(is_blocked, False, np.where(is_granted, True, default))
    out["status"] = np.select(
        [is_blocked, is_granted, is_lapsed],
        [out["block_status"].astype(object), "granted", "expired"],
        default="default",
    )
    empty: list[str] = []
    out["event_ids"] = [
        b
        if isinstance(b, list)
        else g
        if isinstance(g, list)
        else lp
        if isinstance(lp, list)
        else empty
        for b, g, lp in zip(out["blocked"], out["granted"], out["lapsed"], strict=True)
    ]
    reasons = np.select(
        [is_blocked, is_granted & (out["overrides"].to_numpy() > 0), is_granted, is_lapsed],
        [
            "refused by a linked subject's latest answer",
            "the customer's later grant overrides earlier refusals",
            "granted, no linked subject refuses",
            "every grant has expired",
        ],
        default="no linked subject answered",
    )
    suffix = np.where(
        is_blocked | is_granted, "", np.where(default, ": default allow", ": default deny")
    )
    out["reason"] = np.char.add(reasons.astype(str), suffix.astype(str))
    out["as_of"] = _utc(as_of)
    result = out.reset_index()
    return result[["person_id", "purpose", "allowed", "status", "reason", "event_ids", "as_of"]]


# --- drawing ledgers, records and subjects --------------------------------------------------

PURPOSES = [*DEFAULT_POLICY.purposes, "not_a_purpose"]
SUBJECT_TYPES = ["cookie", "customer", "email", "device"]
SUBJECT_IDS = ["a", "b", "B", "é", "a b", ""]
POLICIES = [
    DEFAULT_POLICY,
    ConsentPolicy(
        defaults={"analytics": False, "ad_targeting": True, "identity_linking": True}, tcf={}
    ),
]


@st.composite
def ledgers(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    hours = st.integers(0, 4).map(lambda h: T0 + timedelta(hours=h))
    rows = [
        {
            "event_id": draw(st.sampled_from(["E1", "E2", "E10", "e3", "E4", "E5", "Z"]))
            + draw(st.sampled_from(["", str(i)])),
            "subject_type": draw(st.sampled_from(SUBJECT_TYPES)),
            "subject_id": draw(st.sampled_from(SUBJECT_IDS)),
            "purpose": draw(st.sampled_from(PURPOSES)),
            "status": draw(st.sampled_from(["granted", "granted", "denied", "withdrawn", "odd"])),
            "recorded_at": pd.Timestamp(draw(hours)),
            "expires_at": draw(st.none() | hours.map(pd.Timestamp)),
            "source": draw(st.sampled_from(["cmp", "gpc", "gpp", "consents", None])),
        }
        for i in range(n)
    ]
    events = pd.DataFrame(
        rows,
        columns=[
            "event_id",
            "subject_type",
            "subject_id",
            "purpose",
            "status",
            "recorded_at",
            "expires_at",
            "source",
        ],
    )
    events["recorded_at"] = pd.to_datetime(events["recorded_at"], utc=True)
    events["expires_at"] = pd.to_datetime(events["expires_at"], utc=True)
    if draw(st.booleans()):
        events = events.drop(columns=["source"])
    if draw(st.booleans()):  # ingest hands some columns over as pandas strings
        events = events.astype({"subject_type": "string", "subject_id": "string"})
    if draw(st.booleans()):  # the ledger returns its events oldest first
        events = events.sort_values(["recorded_at", "event_id"], kind="stable")
    return events.reset_index(drop=True)


AS_OF = st.integers(-1, 5).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def records(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 20))
    rows = [
        {
            "person_id": draw(st.sampled_from(["P1", "P2", "P3", "p1", "P10"])),
            "kind": draw(st.sampled_from(["customers", "sessions", "devices", "contacts"])),
            "subject_type": draw(st.sampled_from(SUBJECT_TYPES)),
            "subject_id": draw(st.sampled_from(SUBJECT_IDS)),
            "customer_id": draw(st.none() | st.sampled_from(SUBJECT_IDS)),
            "email": draw(st.none() | st.sampled_from(["x@example.com", "é@example.com", "a"])),
        }
        for _ in range(n)
    ]
    frame = pd.DataFrame(
        rows, columns=["person_id", "kind", "subject_type", "subject_id", "customer_id", "email"]
    )
    drop = draw(st.sampled_from([[], ["customer_id"], ["email"], ["customer_id", "email"]]))
    return frame.drop(columns=drop)


def _same_frames(got: pd.DataFrame, want: pd.DataFrame) -> None:
    if "event_ids" in want:
        assert [list(v) for v in got["event_ids"]] == [list(v) for v in want["event_ids"]]
        assert all(type(v) is list for v in got["event_ids"])
        got, want = got.drop(columns="event_ids"), want.drop(columns="event_ids")
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(ledgers(), AS_OF)
def test_subject_states_match_the_reference(events, as_of) -> None:
    _same_frames(subject_states(events, as_of=as_of), reference_subject_states(events, as_of=as_of))


@settings(max_examples=200, deadline=None)
@given(
    ledgers(),
    AS_OF,
    records(),
    st.sampled_from(POLICIES).flatmap(lambda p: st.tuples(st.just(p), st.sampled_from(p.purposes))),
)
def test_linking_gate_matches_the_reference(events, as_of, recs, policy_purpose) -> None:
    policy, purpose = policy_purpose
    states = reference_subject_states(events, as_of=as_of)
    got = linking_allowed(records=recs, states=states, policy=policy, purpose=purpose)
    want = reference_linking_allowed(records=recs, states=states, policy=policy, purpose=purpose)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


@settings(max_examples=200, deadline=None)
@given(records())
def test_person_subjects_match_the_reference(recs) -> None:
    _same_frames(person_subjects(records=recs), reference_person_subjects(records=recs))


@settings(max_examples=200, deadline=None)
@given(ledgers(), AS_OF, records(), st.sampled_from(POLICIES), st.booleans())
def test_person_consent_matches_the_reference(events, as_of, recs, policy, derived) -> None:
    states = reference_subject_states(events, as_of=as_of)
    if derived:
        subjects = reference_person_subjects(records=recs)
    else:  # any table of subjects: a subject held by several persons, repeated rows
        subjects = recs[["person_id", "subject_type", "subject_id"]]
    got = person_consent(subjects=subjects, states=states, as_of=as_of, policy=policy)
    want = reference_person_consent(subjects=subjects, states=states, as_of=as_of, policy=policy)
    _same_frames(got, want)


def test_edge_cases_match_the_reference() -> None:
    empty_events = pd.DataFrame(
        columns=["event_id", "subject_type", "subject_id", "purpose", "status", "recorded_at"]
        + ["expires_at", "source"]
    )
    no_states = reference_subject_states(empty_events, as_of=T0)
    _same_frames(subject_states(empty_events, as_of=T0), no_states)
    no_subjects = pd.DataFrame(columns=["person_id", "subject_type", "subject_id"], dtype=object)
    _same_frames(
        person_consent(subjects=no_subjects, states=no_states, as_of=T0),
        reference_person_consent(subjects=no_subjects, states=no_states, as_of=T0),
    )
    subjects = pd.DataFrame(
        [("P", "cookie", "k"), ("Q", "customer", "C")],
        columns=["person_id", "subject_type", "subject_id"],
    )
    _same_frames(
        person_consent(subjects=subjects, states=no_states, as_of=T0),
        reference_person_consent(subjects=subjects, states=no_states, as_of=T0),
    )
    recs = pd.DataFrame(
        [("P", "sessions", "cookie", "k"), ("Q", "customers", "customer", "C")],
        columns=["person_id", "kind", "subject_type", "subject_id"],
    )
    assert (
        linking_allowed(records=recs, states=no_states).tolist()
        == reference_linking_allowed(records=recs, states=no_states).tolist()
    )


def test_a_customer_grant_overrides_only_earlier_refusals_like_the_reference() -> None:
    day = timedelta(days=1)
    events = pd.DataFrame(
        [
            ("e1", "cookie", "k", "ad_targeting", "denied", T0, None, "gpc"),
            ("e2", "customer", "C", "ad_targeting", "granted", T0 + day, None, "crm"),
            ("e3", "cookie", "k2", "ad_targeting", "withdrawn", T0 + 2 * day, None, "cmp"),
            ("e4", "customer", "C", "analytics", "granted", T0 + day, T0 + 2 * day, "crm"),
            ("e5", "cookie", "k", "analytics", "granted", T0 + 3 * day, None, "cmp"),
            ("e6", "cookie", "k", "analytics", "denied", T0 + 3 * day, None, "gpp"),
        ],
        columns=["event_id", "subject_type", "subject_id", "purpose", "status"]
        + ["recorded_at", "expires_at", "source"],
    )
    events["recorded_at"] = pd.to_datetime(events["recorded_at"], utc=True)
    events["expires_at"] = pd.to_datetime(events["expires_at"], utc=True)
    subjects = pd.DataFrame(
        [("P", "cookie", "k"), ("P", "customer", "C"), ("Q", "cookie", "k2"), ("Q", "cookie", "k")],
        columns=["person_id", "subject_type", "subject_id"],
    )
    for day_count in range(5):
        as_of = T0 + day_count * day
        _same_frames(
            subject_states(events, as_of=as_of), reference_subject_states(events, as_of=as_of)
        )
        states = reference_subject_states(events, as_of=as_of)
        _same_frames(
            person_consent(subjects=subjects, states=states, as_of=as_of),
            reference_person_consent(subjects=subjects, states=states, as_of=as_of),
        )
