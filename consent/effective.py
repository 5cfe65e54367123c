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
import pyarrow as pa
import pyarrow.compute as pc

from consent.purposes import DEFAULT_POLICY, ConsentPolicy
from resolver.shared_text import repeated

__all__ = [
    "GATE_COLUMNS",
    "Decision",
    "linking_allowed",
    "person_consent",
    "email_subject_id",
    "person_subjects",
    "subject_consent",
    "subject_states",
]

_SEVERITY = {"granted": 0, "denied": 1, "withdrawn": 2}
GATE_COLUMNS = ("kind", "subject_type", "subject_id")
"""The touchpoint columns ``linking_allowed`` reads."""
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
        ``STATE_COLUMNS``, ordered by subject and purpose; ``live`` is false
        for a lapsed grant (its ``status`` is then ``expired``).

    The nightly batch judges the whole ledger (millions of events): rows are
    ordered on integer codes (``_order_codes``) and picked by position, never
    sorted or joined on their strings.
    """
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STATE_COLUMNS})
    moment = _utc(as_of)
    recorded = pd.to_datetime(events["recorded_at"], utc=True)
    in_time = (recorded <= moment).to_numpy()
    kept = [c for c in (*STATE_COLUMNS, "source") if c in events and c != "live"]
    if in_time.all():  # the columns as they are: a filtered copy held every event twice
        seen = pd.DataFrame({c: events[c] for c in kept}, copy=False)
        seen["recorded_at"] = recorded
    else:
        seen = events.loc[in_time, kept]  # only the columns returned: a ledger has more
        seen["recorded_at"] = recorded[in_time]
    seen["expires_at"] = pd.to_datetime(seen["expires_at"], utc=True)
    severity = seen["status"].map(_SEVERITY).fillna(3).astype(np.int64).to_numpy()
    # one code per (subject_type, subject_id, purpose), in the order of the strings
    group = np.zeros(len(seen), dtype=np.int64)
    for column in ("subject_type", "subject_id", "purpose"):
        codes, size = _order_codes(seen[column])
        group = group * size + codes
    stamp = _instants(seen["recorded_at"])
    order = np.lexsort((severity, stamp, group))
    # the event id breaks what is left of a tie; ties are rare, so only they are ranked
    g, t, v = group[order], stamp[order], severity[order]
    same = (g[1:] == g[:-1]) & (t[1:] == t[:-1]) & (v[1:] == v[:-1])
    tied = np.r_[same, False][: len(g)] | np.r_[False, same][: len(g)]
    del g, t, v, same  # each of these arrays is 8 bytes per event: 92 MB at 11.5 M events
    if tied.any():
        rank = np.zeros(len(seen), dtype=np.int64)
        rows = order[tied]
        rank[rows] = _order_codes(seen["event_id"].iloc[rows])[0]
        order = np.lexsort((rank, severity, stamp, group))
        del rank, rows
    del tied, stamp
    latest = order[_last_of_runs(group[order])]
    pick = latest
    if "source" in seen:
        signal = (seen["source"].isin(STICKY_SOURCES).to_numpy() & (severity > 0))[order]
        sticky = order[signal]
        del signal
        sticky = sticky[_last_of_runs(group[sticky])]
        granted = latest[(seen["status"].to_numpy()[latest] == "granted")]
        lifted = group[granted][np.isin(group[granted], group[sticky])]
        if len(lifted):
            pick = np.r_[
                latest[~np.isin(group[latest], lifted)], sticky[np.isin(group[sticky], lifted)]
            ]
    # the picked rows are copied out next: the working arrays go first (at 11.5 M events
    # they were 0.6 GiB of the consent step's peak, issue #14)
    del order, group, severity, latest
    out = seen.take(pick)
    lapsed = ((out["status"] == "granted") & (out["expires_at"] <= moment).fillna(False)).to_numpy(
        dtype=bool, na_value=False
    )  # plain booleans whether the text is Python objects or Arrow (the nightly's read)
    out.loc[lapsed, "status"] = "expired"
    out["live"] = ~lapsed
    return out[STATE_COLUMNS].reset_index(drop=True)


def _last_of_runs(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal adjacent ``keys`` ends (a sorted column's last row per key)."""
    ends: np.ndarray = np.r_[keys[1:] != keys[:-1], True][: len(keys)]
    return ends


def _order_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Dense ranks of ``values`` (missing values last), and how many ranks there are.

    Equal values share a code and codes follow the values' order, as a sort
    on them would: only the distinct values are sorted, as UTF-8 bytes by
    Arrow when they are all text (the same order as Python's), else by Python.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    try:
        order = pc.sort_indices(pa.array(distinct, type=pa.string())).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    missing = codes < 0
    codes = np.where(missing, len(distinct), rank[np.maximum(codes, 0)] if len(rank) else 0)
    return codes.astype(np.int64), len(distinct) + int(missing.any())


def _instants(stamps: pd.Series) -> np.ndarray:
    """Time zone aware timestamps as int64 nanoseconds (NaT: the largest, sorted last)."""
    values = stamps.dt.tz_convert(UTC).dt.tz_localize(None).to_numpy("datetime64[ns]")
    out: np.ndarray = values.view(np.int64).copy()
    out[np.isnat(values)] = np.iinfo(np.int64).max
    return out


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
    subjects = records[["subject_type", "subject_id"]]
    # subjects as integer codes shared by both sides, then one hash lookup per record
    rec_key, state_key = _joint_codes(subjects, granted, ["subject_type", "subject_id"])
    answered = pd.Index(state_key)
    if answered.has_duplicates:  # not a ``subject_states`` table: join as a merge would
        keys = {"subject_type": str, "subject_id": str}
        keyed = subjects.astype(keys).merge(
            granted.astype(keys), on=["subject_type", "subject_id"], how="left"
        )
        allowed = keyed["ok"].astype(object).where(keyed["ok"].notna(), policy.default(purpose))
        flags = allowed.astype(bool).to_numpy()
    else:
        where = answered.get_indexer(pd.Index(rec_key))
        ok = granted["ok"].to_numpy(dtype=bool)
        flags = np.where(where >= 0, ok[np.maximum(where, 0)] if len(ok) else False, False)
        flags[where < 0] = bool(policy.default(purpose))
    flags[(records["kind"] == "customers").to_numpy()] = True
    return flags


def _joint_codes(
    left: pd.DataFrame, right: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per row of each frame over ``columns``: equal rows, equal codes.

    Values are compared as text. Arrow hashes them (``dictionary_encode``), taking Arrow
    strings as they are: at 10 M records pandas' hashing of Python strings, and turning the
    judged states' Arrow text into Python strings first, took half a minute.
    """
    joint = np.zeros(len(left) + len(right), dtype=np.int64)
    for column in columns:
        both = pa.chunked_array(
            [_as_text(left[column]), _as_text(right[column])], type=pa.large_string()
        )
        encoded = pc.dictionary_encode(both, null_encoding="encode").combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        joint = joint * max(len(encoded.dictionary), 1) + codes
    return joint[: len(left)], joint[len(left) :]


def _as_text(values: pd.Series) -> pa.Array:
    """``values`` as Arrow (large) text, every value as ``str()`` writes it (``astype(str)``),
    a missing one missing."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # Arrow already: no copy into Python objects (a column of several chunks, one array)
        arrow = pa.array(values.array)
        if isinstance(arrow, pa.ChunkedArray):
            arrow = arrow.combine_chunks()
        return arrow.cast(pa.large_string())
    try:
        return pa.array(values.to_numpy(object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str).to_numpy(object), type=pa.large_string())


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

    Returns:
        Each (person, subject) once, as text, in the order first met: the
        records' own subjects, then their customers, then their email hashes.
    """
    persons = [records["person_id"].to_numpy(object)]
    types = [records["subject_type"].to_numpy(object)]
    ids = [records["subject_id"].to_numpy(object)]
    if "customer_id" in records:
        known = records["customer_id"].notna().to_numpy()
        persons.append(records["person_id"].to_numpy(object)[known])
        types.append(repeated("customer", int(known.sum())))
        ids.append(records["customer_id"].to_numpy(object)[known])
    if "email" in records:
        mailed = records["email"].notna().to_numpy()
        codes, emails = pd.factorize(records["email"].to_numpy(object)[mailed])
        hashes = np.array([email_subject_id(e) for e in emails], dtype=object)
        persons.append(records["person_id"].to_numpy(object)[mailed])
        types.append(repeated("email", int(mailed.sum())))
        ids.append(hashes[codes] if len(hashes) else np.empty(0, dtype=object))
    subjects = pd.DataFrame(
        {
            "person_id": np.concatenate(persons),
            "subject_type": np.concatenate(types),
            "subject_id": np.concatenate(ids),
        }
    ).astype(str)
    # each (person, subject) once: first occurrences, found on integer codes
    key = np.zeros(len(subjects), dtype=np.int64)
    for column in ("person_id", "subject_type", "subject_id"):
        codes, uniques = pd.factorize(subjects[column])
        key = key * max(len(uniques), 1) + codes
    first = ~pd.Index(key).duplicated(keep="first")
    return subjects[first].reset_index(drop=True)


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
        allowed, status, reason, event_ids`` (a list, sorted), ``as_of``;
        persons in the order of ``subjects``, purposes in the policy's.

    Each (person, purpose) is a cell of that grid, numbered; every rule is an
    array operation over the (person, subject state) pairs keyed by cell, so a
    run with a million persons takes seconds.
    """
    purposes = list(policy.purposes)
    persons = pd.Index(subjects["person_id"].unique(), name="person_id")
    person_codes = persons.get_indexer(pd.Index(subjects["person_id"]))
    n_cells = len(persons) * len(purposes)

    # (person, state) pairs: a subject's states joined to every person holding it
    subject_key, state_key = _joint_codes(subjects, states, ["subject_type", "subject_id"])
    purpose_of_state = pd.Index(purposes).get_indexer(pd.Index(states["purpose"]))
    has_person = subjects["person_id"].notna().to_numpy()  # a missing person has no rows
    pairs = pd.DataFrame({"k": subject_key[has_person], "person": person_codes[has_person]}).merge(
        pd.DataFrame({"k": state_key, "state": np.arange(len(states))})[purpose_of_state >= 0],
        on="k",
    )
    state = pairs["state"].to_numpy(np.int64)
    cell = pairs["person"].to_numpy(np.int64) * len(purposes) + purpose_of_state[state]
    # each pair is its state and cell now: the join's frame and keys go (at 10 M touchpoints
    # 18 M pairs, under the step's peak with the grid's columns, issue #14)
    del pairs, subject_key, state_key, person_codes, has_person, purpose_of_state
    live = states["live"].astype(bool).to_numpy()[state]
    # the states' text is compared once per state, in Arrow, and the answers taken per pair:
    # at 10 M touchpoints a Python string per pair for status and event id cost 20 s
    status = _as_text(states["status"])
    was_withdrawn = _equals(status, "withdrawn")[state]
    granted = live & _equals(status, "granted")[state]
    negative = live & (_equals(status, "denied")[state] | was_withdrawn)
    overridden = np.zeros(len(state), dtype=bool)
    if len(state):
        # rule 3: the customer's latest live grant overrides refusals recorded before it
        stamp = _instants(states["recorded_at"])[state]
        dated = stamp != np.iinfo(np.int64).max  # no time: never overrides, never overridden
        customer = granted & dated & _equals(_as_text(states["subject_type"]), "customer")[state]
        last_grant = np.full(n_cells, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last_grant, cell[customer], stamp[customer])
        overridden = negative & dated & (stamp < last_grant[cell])
        del stamp, dated, customer, last_grant
    blocking = negative & ~overridden
    del negative, status
    is_blocked = np.bincount(cell[blocking], minlength=n_cells) > 0
    is_granted = ~is_blocked & (np.bincount(cell[granted], minlength=n_cells) > 0)
    is_lapsed = ~is_blocked & ~is_granted & (np.bincount(cell[~live], minlength=n_cells) > 0)
    withdrawn = np.bincount(cell[blocking & was_withdrawn], minlength=n_cells) > 0
    overrides = np.bincount(cell[overridden], minlength=n_cells) > 0

    # the grid's cells person-major, as ``MultiIndex.from_product`` lays them out, built
    # straight as columns (one reference per cell to each person's id, not a copy)
    out = pd.DataFrame(
        {
            "person_id": persons.repeat(len(purposes)),
            "purpose": np.tile(np.asarray(purposes, dtype=object), len(persons)),
        }
    )
    default = (
        np.tile(np.array([policy.default(p) for p in purposes]), len(persons))
        if n_cells
        else np.array([])
    )
    out["allowed"] = np.where(is_blocked, False, np.where(is_granted, True, default))
    status_of_cell = repeated("default", n_cells)  # one "default" object, not one per cell
    status_of_cell[is_lapsed] = "expired"
    status_of_cell[is_granted] = "granted"
    status_of_cell[is_blocked] = "denied"
    status_of_cell[is_blocked & withdrawn] = "withdrawn"
    out["status"] = status_of_cell
    # the events behind each answer: the blocking ones, else the live grants, else the lapsed
    shown = blocking | (granted & is_granted[cell]) | (~live & is_lapsed[cell])
    out["event_ids"] = _id_lists(n_cells, cell[shown], state[shown], _as_text(states["event_id"]))
    reason = np.select(
        [is_blocked, is_granted & overrides, is_granted, is_lapsed],
        [1, 2, 3, 4],
        default=0,
    )
    allowed_by_default = np.zeros(n_cells, dtype=bool) if not n_cells else default.astype(bool)
    reason = np.where(
        is_blocked | is_granted, reason, reason + 5 * np.where(allowed_by_default, 1, 2)
    )
    out["reason"] = np.asarray(_REASONS, dtype=object)[reason]
    out["as_of"] = _utc(as_of)
    return out[["person_id", "purpose", "allowed", "status", "reason", "event_ids", "as_of"]]


_REASON_TEXTS = (
    "no linked subject answered",
    "refused by a linked subject's latest answer",
    "the customer's later grant overrides earlier refusals",
    "granted, no linked subject refuses",
    "every grant has expired",
)
_REASONS = (
    *_REASON_TEXTS,
    *(f"{text}: default allow" for text in _REASON_TEXTS),
    *(f"{text}: default deny" for text in _REASON_TEXTS),
)
"""Reason texts by code: ``code`` as is, ``5 + code`` defaulted to allow, ``10 + code`` to deny."""


def _equals(values: pa.Array, text: str) -> np.ndarray:
    """Per row, whether ``values`` (``_as_text``) is ``text``; a missing one is not."""
    same = pc.equal(values, pa.scalar(text, pa.large_string()))
    return np.asarray(same.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _id_lists(
    n_cells: int, cell: np.ndarray, row: np.ndarray, ids: pa.Array
) -> pd.arrays.ArrowExtensionArray:
    """Per cell, the sorted distinct event ids of its rows (``cell`` numbers ``0..n_cells-1``;
    a row's id is ``ids[row]``), as an Arrow ``list<string>`` column: each cell's value is a
    Python list when read.

    Ids are numbered by Arrow (``dictionary_encode``: no Python string per row), deduplicated
    and grouped on those numbers; only the cells holding two ids or more need their ids
    ranked as text, and only those are. The lists are Arrow's (offsets into one buffer of
    text), not a Python list and strings per cell: at 10 M touchpoints those held gigabytes
    from the person consent step to the run's end (``bench/RESULTS.md``, issue #14).
    """
    encoded = pc.dictionary_encode(ids, null_encoding="encode")
    uniques = encoded.dictionary.cast(pa.string())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)[row]
    pair = np.sort(cell.astype(np.int64) * max(len(uniques), 1) + codes)
    pair = pair[np.r_[True, pair[1:] != pair[:-1]][: len(pair)]]  # (np.unique hashes: slower)
    cell, code = pair // max(len(uniques), 1), pair % max(len(uniques), 1)
    shared = np.r_[cell[1:] == cell[:-1], False][: len(cell)]
    shared |= np.r_[False, shared][: len(cell)]
    if shared.any():
        rank = np.zeros(len(cell), dtype=np.int64)
        texts = uniques.take(pa.array(code[shared])).to_numpy(zero_copy_only=False)
        rank[shared] = _order_codes(pd.Series(texts, dtype=object))[0]
        order = np.lexsort((rank, cell))
        cell, code = cell[order], code[order]
    bounds = np.searchsorted(cell, np.arange(n_cells + 1))
    values = uniques.take(pa.array(code))
    lists = pa.ListArray.from_arrays(pa.array(bounds, type=pa.int32()), values)
    return pd.arrays.ArrowExtensionArray(lists)
