"""Effective consent: of a subject, and of a person across its linked subjects (SPEC §5).

**Subject** (a cookie, device, contact, customer or hashed email), purpose,
time ``as_of``:

1. Only events recorded at or before ``as_of`` count (time travel is exact:
   the ledger is append-only).
2. The latest event wins. Events at the same instant: the most restrictive
   wins (``withdrawn`` over ``denied`` over ``granted``), then the larger id.
3. A grant whose ``expires_at`` is at or before ``as_of`` has lapsed: the
   subject counts as not having answered. Denials and withdrawals never lapse.
4. No live answer: the purpose's default (``ConsentPolicy.defaults``).
5. Opt-out preference signals are sticky: a GPC or GPP opt-out (``source``
   ``gpc`` or ``gpp``) is not undone by a later banner grant on the same
   browser. California makes the signal win over a "business-specific privacy
   setting" (11 CCR §7025(c)); only the known customer's later explicit grant
   lifts it, and that is person rule 3.

**Person** (every subject of every record linked into it), purpose, ``as_of``:

1. Subjects without a live answer do not count (an unanswered cookie does
   not veto its customer's grant). No subject with a live answer: the default.
2. Most restrictive: any subject whose answer is ``denied`` or ``withdrawn``
   blocks the purpose...
3. ...except that the known customer's explicit grant (a ``customer``
   subject) overrides a denial or withdrawal recorded *before* it. A denial
   or withdrawal anywhere after the customer's latest grant still blocks.
4. Otherwise a live grant allows it.

GPC and GPP opt-outs are denials (``consent.signals``), so rule 2 applies them
to every profile linked to the browser, as California requires.

Every answer carries the ids of the events that justify it: the blocking
events when refused, the live grants when allowed, none for a default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from consent.purposes import DEFAULT_POLICY, ConsentPolicy

__all__ = [
    "Decision",
    "linking_allowed",
    "person_consent",
    "email_subject_id",
    "person_subjects",
    "subject_consent",
    "subject_states",
]

_SEVERITY = {"granted": 0, "denied": 1, "withdrawn": 2}
STICKY_SOURCES = ("gpc", "gpp")
"""Sources of opt-out preference signals (``consent.signals``): subject rule 5."""
STATE_COLUMNS = [
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "live",
    "recorded_at",
    "expires_at",
    "event_id",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """Whether one purpose is allowed, why, and on which events."""

    purpose: str
    allowed: bool
    status: str
    """``granted``, ``denied``, ``withdrawn``, ``expired`` (a lapsed grant) or ``default``."""
    reason: str
    event_ids: tuple[str, ...]
    as_of: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "purpose": self.purpose,
            "allowed": self.allowed,
            "status": self.status,
            "reason": self.reason,
            "event_ids": list(self.event_ids),
            "as_of": self.as_of.astimezone(UTC).isoformat(),
        }


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def subject_states(events: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    """The latest event per (subject, purpose) as of ``as_of``.

    Args:
        events: ledger events (``Ledger.events``): ``event_id, subject_type,
            subject_id, purpose, status, recorded_at, expires_at``.
        as_of: the moment to judge at (time zone aware).

    Returns:
        ``STATE_COLUMNS``; ``live`` is false for a lapsed grant (its ``status``
        is then ``expired``).
    """
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


def subject_consent(
    events: pd.DataFrame,
    *,
    subject_type: str,
    subject_id: str,
    as_of: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> dict[str, Decision]:
    """Purpose -> decision for one subject (SPEC §5, subject rules 1-4)."""
    mine = events[(events["subject_type"] == subject_type) & (events["subject_id"] == subject_id)]
    states = subject_states(mine, as_of=as_of).set_index("purpose")
    answers = {}
    for purpose in policy.purposes:
        if purpose not in states.index:
            answers[purpose] = _default(purpose, policy=policy, as_of=as_of, why="no event")
            continue
        row = states.loc[purpose]
        if not row["live"]:
            answers[purpose] = _default(
                purpose,
                policy=policy,
                as_of=as_of,
                why=f"grant {row['event_id']} expired {row['expires_at'].isoformat()}",
                status="expired",
                event_ids=(str(row["event_id"]),),
            )
            continue
        allowed = row["status"] == "granted"
        answers[purpose] = Decision(
            purpose=purpose,
            allowed=bool(allowed),
            status=str(row["status"]),
            reason=f"latest event {row['event_id']} ({row['status']}, "
            f"{row['recorded_at'].isoformat()})",
            event_ids=(str(row["event_id"]),),
            as_of=as_of,
        )
    return answers


def _default(
    purpose: str,
    *,
    policy: ConsentPolicy,
    as_of: datetime,
    why: str,
    status: str = "default",
    event_ids: tuple[str, ...] = (),
) -> Decision:
    allowed = policy.default(purpose)
    return Decision(
        purpose=purpose,
        allowed=allowed,
        status=status,
        reason=f"{why}: default {'allow' if allowed else 'deny'}",
        event_ids=event_ids,
        as_of=as_of,
    )


def linking_allowed(
    *,
    records: pd.DataFrame,
    states: pd.DataFrame,
    policy: ConsentPolicy = DEFAULT_POLICY,
    purpose: str = "identity_linking",
) -> np.ndarray:
    """Per record, whether it may be linked beyond its own subject (the gate at linking).

    Args:
        records: ``kind, subject_type, subject_id`` per record (touchpoints).
        states: ``subject_states`` of the ledger at the run's time.
        policy: gives the default when a subject never answered.
        purpose: the purpose that governs linking.

    Customers are known, not anonymous: the gate never applies to them.
    """
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


def email_subject_id(email: str) -> str:
    """The ``email`` subject id: SHA-256 (hex) of the normalised email (SPEC §3).

    >>> email_subject_id("jane@example.com")[:16]
    '8c87b489ce35cf2e'
    """
    return hashlib.sha256(email.encode()).hexdigest()


def person_subjects(*, records: pd.DataFrame) -> pd.DataFrame:
    """``person_id, subject_type, subject_id``: every consent subject of every person.

    Args:
        records: per record ``person_id, subject_type, subject_id`` and, when
            known, ``customer_id`` (a logged-in session names its customer)
            and ``email`` (normalised; its hash is an ``email`` subject).
    """
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


def person_consent(
    *,
    subjects: pd.DataFrame,
    states: pd.DataFrame,
    as_of: datetime,
    policy: ConsentPolicy = DEFAULT_POLICY,
) -> pd.DataFrame:
    """Per person and purpose: ``allowed, status, reason, event_ids`` (person rules 1-4).

    Args:
        subjects: ``person_subjects`` (``person_id, subject_type, subject_id``).
        states: ``subject_states`` at ``as_of``.
        as_of: the moment judged at; stored in every row.
        policy: purposes and defaults.

    Returns:
        One row per person and purpose of the policy: ``person_id, purpose,
        allowed, status, reason, event_ids`` (a list), ``as_of``.
    """
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
