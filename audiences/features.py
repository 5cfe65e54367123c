"""Person features, activity and identifiers: what segments select on and exports send.

Built once per run from the identity graph, the touchpoints, the activity
sources and the persons' effective consent (SPEC §6):

- ``person_features`` (one row per person, no contact data): ``is_customer``,
  CRM attributes (``gender``, ``country``, ``city``, ``customer_since``,
  ``age``), record counts, first and last seen, per event category its
  ``views_<category>_30d`` and ``last_view_<category>`` (recency and
  frequency), per channel ``events_<channel>_30d``, per CRM interaction kind
  ``last_<kind>_at`` and ``last_<kind>_outcome``, per messaging channel
  ``msg_delivered_<channel>``, ``msg_read_<channel>``, ``msg_replies_<channel>``,
  ``msg_clicks_<channel>``, ``msg_read_rate_<channel>`` (read / delivered, missing
  where reads cannot be seen), ``msg_reads_<channel>`` (``visible``, ``hidden``,
  ``unobservable``), ``msg_engagement_<channel>`` (``engaged``, ``unknown``,
  ``unengaged`` over 30 days; ``audiences.engagement``) and
  ``last_inbound_<channel>``, identifier coverage
  (``has_email``, ``has_phone``, ``has_ad_id``) and ``consent_<purpose>``.
- ``person_activity`` (one row per event or interaction of a person):
  ``person_id, ts, source_kind ('event'|'interaction'), type, category,
  channel, outcome``; segment time windows are evaluated on it, so any window
  works, not only the precomputed 30 days.
- ``person_identifiers`` (one row per person): the email, phone, names,
  postcode, city, country, gender, date of birth and ad id that exports send,
  taken from the customer record first, else the most recent record.

Everything is array work over integer codes (persons numbered by their
place in the sorted table, records by position) plus one DuckDB aggregate:
a million persons take seconds, and the cost grows linearly with the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audiences import engagement as e
from audiences.contacts import build_person_contacts
from resolver.frames import RecordRows, columns_of, no_rows
from resolver.shared_text import arrow_array, is_arrow_text, repeated, shared_objects

__all__ = [
    "ACTIVITY_COLUMNS",
    "ActivityRows",
    "PersonTables",
    "build_person_tables",
    "IDENTIFIER_FIELDS",
    "TOUCHPOINT_COLUMNS",
]

IDENTIFIER_FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "postcode",
    "city",
    "country",
    "gender",
    "date_of_birth",
    "ad_id",
)
RECENT_DAYS = 30

TOUCHPOINT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            "kind", "ts", "subject_type", "subject_id", "customer_id",  # activity, features
            "channel", "phone", "email",  # messaging contacts (``audiences.contacts``)
            *("dob" if f == "date_of_birth" else f for f in IDENTIFIER_FIELDS),
            "gender", "country", "city", "dob",  # CRM attributes
        )
    )
)  # fmt: skip
"""The touchpoint columns ``build_person_tables`` reads."""

_CONTACTS_READ = ("kind", "channel", "subject_id", "phone", "email")
"""The touchpoint columns ``audiences.contacts.build_person_contacts`` reads."""

ACTIVITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("subject_type", "subject_id", "ts", "event_type", "category", "channel"),
    "interactions": ("customer_id", "ts", "kind", "outcome"),
}
"""The columns of the ``events`` and ``interactions`` rows that ``build_person_tables`` reads
(the contacts' state included): a caller may hand it only those. An event's ``url`` and
``value`` are most of its text, and at 10 M touchpoints a run has 22 M events."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonTables:
    features: pd.DataFrame
    activity: pd.DataFrame
    identifiers: pd.DataFrame
    contacts: pd.DataFrame
    """``person_contacts`` (``audiences.contacts``): messaging contacts, for outreach."""


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_") or "other"


ActivityRows = pd.DataFrame | Callable[[], pd.DataFrame | None] | None
"""An activity source's validated rows, ``None`` (no such source), or a function that reads
them: rows read so are let go as soon as the activity and the contacts have them."""


def build_person_tables(
    *,
    graph: pd.DataFrame,
    touchpoints: RecordRows,
    events: ActivityRows,
    interactions: ActivityRows,
    consent: pd.DataFrame,
    as_of: datetime,
    hand_over: Callable[[str, pd.DataFrame], bool] | None = None,
) -> PersonTables:
    """Features, activity and identifiers of every person of a run.

    Args:
        graph: the identity graph (``person_id`` per record, aligned with ``touchpoints``).
        touchpoints: the run's normalised records (``TOUCHPOINT_COLUMNS``), or a function
            reading their columns (``resolver.frames.RecordRows``): each part then reads its
            own, and at most a few are held at once (the 16 together were 1.5 GiB at 10 M
            touchpoints under the activity's and the identifiers' peaks, issue #14).
        events: validated ``events`` rows (``subject_type, subject_id, ts, event_type,
            category, channel``), or ``None``; or a function reading them, so that they
            are released once read (``ActivityRows``: at 10 M touchpoints 23 M events,
            about 2 GiB, that the features' per-person aggregates do not read). Text
            columns may be ``Categorical`` (a run reads them as codes, a tenth of the
            text's memory): the tables are those of the same rows as text (a validated
            row has its key and type; a missing key matches no record, as in Arrow text).
        interactions: validated ``interactions`` rows (``customer_id, ts, kind, outcome``),
            the same way.
        consent: ``person_consent`` (``person_id, purpose, allowed``).
        as_of: the run's time: "in the last 30 days" counts back from it.
        hand_over: called with ``"contacts"``, ``"identifiers"`` and ``"activity"`` and
            each table as soon as nothing more is built from it; when it returns ``True``
            (it took the table: a run writes it to disk) no reference is kept, and the
            table returned in its place has its columns and no rows. At 10 M touchpoints
            the three held together under the features' peak were about 3 GiB (issue #14).

    Returns:
        ``features`` one row per person (sorted by id), ``activity`` one row
        per event or interaction (by person, then time), ``identifiers`` one
        row per person (sorted by id), ``contacts`` one row per messaging contact.
    """
    person = graph["person_id"]
    rank, ranked = _ranks(person)
    events_rows = events() if callable(events) else events
    activity, owner = _activity(
        columns_of(touchpoints, ["subject_type", "subject_id", "customer_id"]),
        person,
        rank,
        events_rows,
        interactions() if callable(interactions) else interactions,
    )
    contacts = build_person_contacts(
        person=person,
        touchpoints=columns_of(touchpoints, _CONTACTS_READ),
        events=events_rows,
        as_of=as_of,
    )
    del events_rows  # read here (``ActivityRows``): released now, before the aggregates
    # and their pages given back: Arrow's allocator keeps what it freed for its next
    # allocation, and the aggregates allocate as numpy does (at 10 M touchpoints the
    # events' 1.8 GiB of Arrow text stayed in the process to the end of the step)
    pa.default_memory_pool().release_unused()
    contacts = _handed("contacts", contacts, hand_over)
    records = columns_of(touchpoints, ["kind", "ts"])
    times = _as_instants(records["ts"])
    base, persons = _per_person(records, times, rank, ranked, person)
    identifiers = _identifiers(touchpoints, records, rank, ranked, times)
    coverage = _coverage(identifiers, persons)
    identifiers = _handed("identifiers", identifiers, hand_over)
    crm = _crm_attributes(touchpoints, records, person, as_of=as_of)
    # what the aggregates below read is built: the records go (at 10 M touchpoints 1.4 GiB
    # beside the activity features' peak, issue #14)
    del records, touchpoints, times
    # each activity row's person: DuckDB ordered the persons as ``_ranks`` did (ids compared
    # as bytes), so a record's rank is its person's row; comparing the two orders once costs
    # a fraction of looking up every record's id (10 M of them, 7 s)
    if persons.equals(ranked):
        code = rank[owner]
    else:
        code = persons.get_indexer(pd.Index(person.to_numpy()))[owner]
    del owner
    names: list[str] = []
    values: list[object] = []
    for name in base.columns[1:]:
        names.append(name)
        values.append(base[name].array)
    for name, column in _activity_features(activity, code, len(persons), as_of=as_of):
        names.append(name)
        values.append(column)
    del code
    activity = _handed("activity", activity, hand_over)
    for flag, present in coverage.items():
        names.append(flag)
        values.append(present)
    del coverage
    extra = [crm, _consent_flags(consent, persons)]
    for table in extra:  # as a left join on the persons
        aligned = table.reindex(persons)
        for name in aligned.columns:
            names.append(str(name))
            values.append(aligned[name].array)
    features = _frame({"person_id": base["person_id"], **{str(i): v for i, v in enumerate(values)}})
    features.columns = pd.Index(["person_id", *names])
    return PersonTables(
        features=features, activity=activity, identifiers=identifiers, contacts=contacts
    )


def _handed(
    name: str, table: pd.DataFrame, hand_over: Callable[[str, pd.DataFrame], bool] | None
) -> pd.DataFrame:
    """``table``, or its columns without rows when ``hand_over`` took it."""
    if hand_over is not None and hand_over(name, table):
        return no_rows(table)
    return table


def _coverage(identifiers: pd.DataFrame, persons: pd.Index) -> dict[str, np.ndarray]:
    """Per person (in ``persons``' order), whether they have an email, a phone, an ad id."""
    ids = identifiers.set_index("person_id")
    same = ids.index.equals(persons)
    out: dict[str, np.ndarray] = {}
    for flag, field in (("has_email", "email"), ("has_phone", "phone"), ("has_ad_id", "ad_id")):
        present = ids[field].notna()
        out[flag] = (
            present.to_numpy() if same else present.reindex(persons, fill_value=False).to_numpy()
        )
    return out


def _per_person(
    records: pd.DataFrame,
    times: pd.Series | None,
    rank: np.ndarray,
    ranked: pd.Index,
    person: pd.Series,
) -> tuple[pd.DataFrame, pd.Index]:
    """Per person (sorted by id): whether a customer, record counts, first and last seen,
    customer since; and the persons, in that order.

    DuckDB groups the records by their person's rank (``_ranks``), a number, not by the
    id's text, when every record has a person; ranks follow the ids' order, so the rows are
    those grouping by the ids gives, and the ids are the ranked ones.
    """
    numbered = rank < len(ranked)
    key: np.ndarray = rank if bool(numbered.all()) else person.to_numpy()
    frame = records.assign(person_id=key)
    if times is not None:  # the instants DuckDB would read from Timestamp objects, faster
        frame["ts"] = times.array
    con = duckdb.connect()
    try:
        con.register("records", frame)
        base = con.execute(
            """
            SELECT person_id,
                   count(*) FILTER (WHERE kind = 'customers') > 0 AS is_customer,
                   count(*) AS records,
                   count(*) FILTER (WHERE kind = 'sessions') AS sessions,
                   count(*) FILTER (WHERE kind = 'devices') AS devices,
                   count(*) FILTER (WHERE kind = 'contacts') AS contacts,
                   min(ts) AS first_seen, max(ts) AS last_seen,
                   min(ts) FILTER (WHERE kind = 'customers') AS customer_since
            FROM records GROUP BY person_id ORDER BY person_id
            """
        ).df()
    finally:
        con.close()
    if key is rank:
        base["person_id"] = ranked.take(base["person_id"].to_numpy())
    return base, pd.Index(base["person_id"], name="person_id")


def _activity_features(
    activity: pd.DataFrame, code: np.ndarray, n: int, *, as_of: datetime
) -> list[tuple[str, object]]:
    """Recency, frequency and messaging columns, one value per person (``code``: its number).

    ``activity`` is sorted by person, then time (missing last): a person's
    latest time among some rows is the time of the last of them that has one.
    Text columns are compared as integer codes (``_codes``).
    """
    since = pd.Timestamp(as_of) - timedelta(days=RECENT_DAYS)
    ts = activity["ts"]
    recent = (ts >= since).to_numpy()
    timed = ts.notna().to_numpy()
    source_kind, is_ = _codes(activity["source_kind"])
    kind, kind_is = _codes(activity["type"])
    is_event = is_("event")

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[mask], minlength=n).astype(np.int64)

    def latest(mask: np.ndarray) -> object:
        rows = np.flatnonzero(mask & timed)
        last = rows[np.r_[code[rows][1:] != code[rows][:-1], True][: len(rows)]]
        pick = np.full(n, -1, dtype=np.int64)
        pick[code[last]] = last
        return ts.array.take(pick, allow_fill=True)  # NaT for none, the column's own dtype

    out: list[tuple[str, object]] = []
    views = is_event & kind_is("page_view")
    _, category_is = _codes(activity["category"])
    for value in sorted(activity["category"][views].dropna().unique()):
        rows = views & category_is(value)
        slug = _slug(value)
        out.append((f"views_{slug}_30d", count(rows & recent)))
        out.append((f"last_view_{slug}", latest(rows)))
    _, channel_is = _codes(activity["channel"])
    for value in sorted(activity["channel"][is_event].dropna().unique()):
        out.append((f"events_{_slug(value)}_30d", count(is_event & channel_is(value) & recent)))
    interaction = is_("interaction")
    inter = activity[interaction].assign(_code=code[interaction])
    inter = inter.sort_values("ts")  # (a quicksort, as ever: ties keep the order it gives)
    for value in sorted(inter["type"].dropna().unique()):
        last = inter[inter["type"] == value].groupby("_code").last().reindex(np.arange(n))
        slug = _slug(value)
        out.append((f"last_{slug}_at", last["ts"].array))
        out.append((f"last_{slug}_outcome", last["outcome"].array))
    out += _messaging_features(activity, code, n, as_of=as_of, is_event=is_event, kind_is=kind_is)
    return out


def _messaging_features(
    activity: pd.DataFrame,
    code: np.ndarray,
    n: int,
    *,
    as_of: datetime,
    is_event: np.ndarray,
    kind_is: Callable[[object], np.ndarray],
) -> list[tuple[str, object]]:
    """Per messaging channel a person was messaged on: counts, reads' visibility, engagement.

    ``msg_delivered_<ch>``, ``msg_read_<ch>``, ``msg_replies_<ch>`` and
    ``msg_clicks_<ch>`` count events; ``msg_reads_<ch>`` says whether reads
    are ``visible``, ``hidden`` or ``unobservable``; ``msg_read_rate_<ch>``
    is read / delivered where they are visible, else missing (unknown, not
    0); ``msg_engagement_<ch>`` is the level over the last 30 days; and
    ``last_inbound_<ch>`` the person's last message to the business (the
    service window runs from it). The rule is ``audiences.engagement``'s.
    """
    types = (e.SENT, e.DELIVERED, e.READ, e.INBOUND, e.CLICK)
    messages = is_event & np.logical_or.reduce([kind_is(t) for t in types])
    if not messages.any():
        return []
    rows = np.flatnonzero(messages)
    frame = pd.DataFrame(
        {
            "code": code[rows],
            "channel": activity["channel"].to_numpy()[rows],
            "type": activity["type"].to_numpy()[rows],
            "ts": activity["ts"].array.take(rows),
        }
    )
    caps = e.capabilities()
    until = pd.Timestamp(as_of).to_pydatetime()
    recent = e.per_channel_sql(since=until - timedelta(days=RECENT_DAYS), until=until)
    ever = e.per_channel_sql(since=datetime(1970, 1, 1, tzinfo=UTC), until=until)
    con = duckdb.connect()
    try:
        con.register("m_rows", frame)
        con.register("caps", caps)
        per = con.execute(
            f"""
            SELECT m.code, m.channel,
                   count(*) FILTER (WHERE m.type = '{e.DELIVERED}') AS delivered,
                   count(*) FILTER (WHERE m.type = '{e.READ}') AS read,
                   count(*) FILTER (WHERE m.type = '{e.INBOUND}') AS replies,
                   count(*) FILTER (WHERE m.type = '{e.CLICK}') AS clicks,
                   {ever.reads} AS reads, {ever.read_rate} AS read_rate,
                   {recent.level} AS level,
                   max(m.ts) FILTER (WHERE m.type = '{e.INBOUND}') AS last_inbound
            FROM m_rows m LEFT JOIN caps c ON c.channel = m.channel
            WHERE m.channel IS NOT NULL
            GROUP BY m.code, m.channel
            """
        ).df()
    finally:
        con.close()
    out: list[tuple[str, object]] = []
    for channel in sorted(per["channel"].unique()):
        part = per[per["channel"] == channel]
        at = part["code"].to_numpy()
        slug = _slug(channel)

        for name in ("delivered", "read", "replies", "clicks"):
            out.append((f"msg_{name}_{slug}", _spread(part[name], at, n, 0, np.int64)))
        out.append((f"msg_read_rate_{slug}", _spread(part["read_rate"], at, n, np.nan, float)))
        out.append((f"msg_reads_{slug}", _spread(part["reads"], at, n, None, object)))
        out.append((f"msg_engagement_{slug}", _spread(part["level"], at, n, None, object)))
        last = pd.Series(pd.to_datetime(part["last_inbound"], utc=True).array, index=at)
        inbound = last.reindex(range(n)).astype("datetime64[ns, UTC]")
        out.append((f"last_inbound_{slug}", inbound.array))
    return out


def _spread(values: pd.Series, at: np.ndarray, n: int, fill: Any, dtype: Any) -> np.ndarray:
    """``values`` at positions ``at`` of an ``n``-long array, ``fill`` elsewhere."""
    out: np.ndarray = np.full(n, fill, dtype=dtype)
    out[at] = values.astype(object).where(values.notna(), fill).to_numpy(dtype=dtype)
    return out


def _codes(column: pd.Series) -> tuple[np.ndarray, Callable[[object], np.ndarray]]:
    """The column as integer codes, and ``is_(value)``: where it equals ``value``.

    One hash pass instead of a Python ``==`` per value and row; missing values
    equal nothing, as with ``==``. The codes take the smallest integer type that holds
    them (a few kinds, types and channels: a byte a row, where 23 M activity rows took
    0.19 GiB a column at 10 M touchpoints, issue #14).
    """
    wide, uniques = pd.factorize(column)
    codes = wide.astype(np.min_scalar_type(-len(uniques) - 1))  # signed: -1 is missing
    del wide
    where = {value: i for i, value in enumerate(uniques)}

    def is_(value: object) -> np.ndarray:
        found = where.get(value)
        return codes == found if found is not None else np.zeros(len(codes), dtype=bool)

    return codes, is_


def _consent_flags(consent: pd.DataFrame, persons: pd.Index) -> pd.DataFrame:
    """``consent_<purpose>`` per person: ``allowed`` as a person-by-purpose table.

    A complete table (every person of the run once per purpose, as
    ``person_consent`` writes it) is laid out by array indexing; anything
    else goes through the pivot table it always went through. ``person_consent``
    writes each person's purposes in one block of rows: then only each block's
    person is looked up (a fifth of the rows; at 10 M touchpoints looking up all
    18 M took 12 s).
    """
    purpose, purposes = pd.factorize(consent["purpose"], sort=True)
    allowed = consent["allowed"]
    n, k = len(persons), len(purposes)
    cell = None
    if allowed.dtype == bool and len(consent) == n * k and bool((purpose >= 0).all()):
        cell = _blocked_cells(consent["person_id"], purpose, k, persons)
        if cell is None:
            cell = _ranked_cells(consent["person_id"], purpose, k, persons)
    if cell is None:
        flags = consent.pivot_table(
            index="person_id", columns="purpose", values="allowed", aggfunc="first"
        )
        flags.columns = [f"consent_{c}" for c in flags.columns]
        return flags.astype(bool)
    flat = np.zeros(n * k, dtype=bool)
    flat[cell] = allowed.to_numpy()
    table = flat.reshape(n, k)
    return pd.DataFrame(
        {f"consent_{c}": table[:, i] for i, c in enumerate(purposes)}, index=persons
    )


def _ranked_cells(
    person_id: pd.Series, purpose: np.ndarray, k: int, persons: pd.Index
) -> np.ndarray | None:
    """Each row's cell (``person * k + purpose``, persons numbered as ``persons``) when every
    person of ``persons`` has each purpose once, the rows in any order; else ``None``."""
    person, person_values = _ranks(person_id)
    if not (person < len(person_values)).all() or not pd.Index(person_values).equals(persons):
        return None  # a missing person, or persons other than ``persons``
    cell: np.ndarray = person.astype(np.int64) * k + purpose
    return None if pd.Index(cell).has_duplicates else cell


def _blocked_cells(
    person_id: pd.Series, purpose: np.ndarray, k: int, persons: pd.Index
) -> np.ndarray | None:
    """``_ranked_cells`` when the rows come in blocks of ``k``, one block per person of
    ``persons`` with each purpose once (``person_consent``'s layout), looking up only each
    block's person; else ``None``. The rows are ``len(persons) * k``."""
    n = len(persons)
    if not k or person_id.isna().any():  # a missing person: the general path
        return None
    ids = person_id.to_numpy(dtype=object)
    first = ids[::k]
    if not (ids.reshape(n, k) == first[:, None]).all():
        return None
    if not (np.sort(purpose.reshape(n, k), axis=1) == np.arange(k)).all():
        return None
    where = persons.get_indexer(pd.Index(first))
    if (where < 0).any() or (np.bincount(where, minlength=n) != 1).any():
        return None
    cells: np.ndarray = (np.repeat(where.astype(np.int64), k) * k + purpose).astype(np.int64)
    return cells


def _activity(
    touchpoints: pd.DataFrame,
    person: pd.Series,
    rank: np.ndarray,
    events: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Events and interactions of the run's persons, by person then time, and the record
    each row was attributed to.

    An event belongs to the person of the first record with its subject, an
    interaction to the person of the first record naming its customer (ids
    compared as text). Rows keep the order they came in within a person and
    instant; the join and the sort run on integer codes.
    """
    columns = ["person_id", "ts", "source_kind", "type", "category", "channel", "outcome"]
    parts: list[dict[str, pd.Series]] = []
    owners = []
    people = person.to_numpy()
    if events is not None and len(events):
        owner = _first_owner(
            [events["subject_type"], events["subject_id"]],
            [_text(touchpoints["subject_type"]), _text(touchpoints["subject_id"])],
        )
        found = np.flatnonzero(owner >= 0)
        owners.append(owner[found])
        m = len(found)
        parts.append(
            {
                "person_id": _series(people[owners[-1]]),
                "ts": pd.Series(_instants_ns(events["ts"]).array.take(found)),
                "source_kind": _series(repeated("event", m)),
                "type": _series(_shared_text(events["event_type"])[found]),
                "category": _taken_shared(events, "category", found),
                "channel": _taken_shared(events, "channel", found),
                "outcome": _series(np.full(m, None, dtype=object)),
            }
        )
    if interactions is not None and len(interactions):
        known = np.flatnonzero(touchpoints["customer_id"].notna().to_numpy())
        owner = _first_owner(
            [interactions["customer_id"]],
            [_text(touchpoints["customer_id"].iloc[known])],
        )
        found = np.flatnonzero(owner >= 0)
        owners.append(known[owner[found]])
        m = len(found)
        parts.append(
            {
                "person_id": _series(people[owners[-1]]),
                "ts": pd.Series(_instants_ns(interactions["ts"]).array.take(found)),
                "source_kind": _series(repeated("interaction", m)),
                "type": _series(_shared_text(interactions["kind"])[found]),
                "category": _series(np.full(m, None, dtype=object)),
                "channel": _series(np.full(m, None, dtype=object)),
                "outcome": _taken_shared(interactions, "outcome", found),
            }
        )
    if not parts:
        empty = pd.DataFrame(
            {
                "person_id": pd.Series(dtype=str),
                "ts": pd.Series(dtype="datetime64[ns, UTC]"),
                **{c: pd.Series(dtype=object) for c in columns[2:]},
            }
        )
        return empty, np.empty(0, dtype=np.int64)
    # each column once: joined, ordered (by person, then time), then framed
    # (an empty part does not decide a column's type: pandas excludes it, and warns that it will
    # stop doing so; it is left out here so that the type stays what it was, without the warning)
    filled = [part for part in parts if len(part["person_id"])] or parts
    joined = {c: pd.concat([part[c] for part in filled], ignore_index=True) for c in columns}
    del filled
    parts.clear()  # joined copied them: each part's columns go now, each joined one once taken
    owner = np.concatenate(owners)
    order = np.lexsort((_time_key(joined["ts"]), rank[owner]))
    out = {}
    for c in columns:
        values = joined.pop(c).array.take(order)
        out[c] = _none_for_missing(values) if c in ("category", "channel", "outcome") else values
    return _frame(out), owner[order]


def _series(values: object) -> pd.Series:
    """Values as a Series as they are: an object array is not scanned for dates (these
    columns came from frames before, never re-inferred), nothing is copied."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Series(values, dtype=object, copy=False)
    return pd.Series(values, copy=False)  # a list: pandas infers its type, as on assignment


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame of these columns as they are (``_series``), neither copied nor consolidated."""
    return pd.DataFrame({name: _series(v) for name, v in columns.items()}, copy=False)


def _text(values: pd.Series) -> np.ndarray:
    """``values.astype(str)`` as an object array (ids are compared as text), without the
    copy when they already are all text. A ``Categorical`` (text read as codes) is its
    values as objects first, ``None`` where missing, as text read as objects has."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(shared_objects(values), dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values.to_numpy(dtype=object)
    return values.astype(str).to_numpy(dtype=object)


def _shared_text(values: pd.Series) -> np.ndarray:
    """``_text(values)`` with one ``str`` per distinct value shared by its rows (an event
    type over millions of events is one object, not one per row)."""
    if _coded_text(values) and values.notna().all():
        return shared_objects(values)
    return _text(values)  # other types become their text, and missing values too


def _taken_shared(frame: pd.DataFrame, name: str, rows: np.ndarray) -> pd.Series:
    """``frame[name]`` at ``rows`` (a column of ``None`` if the frame has none); Arrow text and
    ``Categorical`` text as objects shared by the rows holding one value: the activity gives
    its text columns to segments as objects, and taking Arrow text made a ``str`` per row
    there (two columns of 23 M events, about 2.5 GiB at 10 M touchpoints, issue #14)."""
    if name not in frame:
        return _series(np.full(len(rows), None, dtype=object))
    if _coded_text(frame[name]):
        return _series(shared_objects(frame[name])[rows])
    return _series(frame[name].array.take(rows))


def _none_for_missing(values: object) -> np.ndarray | list[str | None]:
    """The values with ``None`` for every missing one.

    As a list pandas would infer the column's type from them; text (or
    nothing) stays text, so that case keeps the object array as it is.
    """
    array = np.asarray(values, dtype=object).copy()
    if not len(array):
        return np.array([])  # (an empty list set as a column is float64)
    array[pd.isna(array)] = None
    if pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"):
        return array
    listed: list[str | None] = array.tolist()
    return listed


def _coded_text(values: pd.Series) -> bool:
    """Whether ``values`` is Arrow text or a ``Categorical`` of text (``shared_objects``
    reads either without a Python ``str`` per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(values.cat.categories, skipna=True) in ("string", "empty")
    return is_arrow_text(values)


def _positions(values: pd.Series, uniques: pa.Array) -> np.ndarray:
    """Per value (ids compared as text, ``_text``), its position in ``uniques`` (-1: not
    there, or missing). A ``Categorical``'s categories are looked up once each and its rows
    take their category's answer (23 M events' keys at 10 M touchpoints, read as codes,
    issue #14); Arrow text is looked up as it is, anything else through ``_text``."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pa.array(_text(pd.Series(values.cat.categories)), type=pa.string())
        found = _positions_arrow(categories, uniques)
        positions: np.ndarray = np.r_[found, -1][values.cat.codes.to_numpy(dtype=np.int64)]
        return positions
    if is_arrow_text(values):
        return _positions_arrow(arrow_array(values).combine_chunks(), uniques)
    return _positions_arrow(pa.array(_text(values), type=pa.string()), uniques)


def _positions_arrow(values: pa.Array, uniques: pa.Array) -> np.ndarray:
    looked = pc.index_in(values, value_set=uniques)
    positions: np.ndarray = looked.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return positions


def _first_owner(asked: list[pd.Series], owners: list[np.ndarray]) -> np.ndarray:
    """Per row of ``asked`` (key columns), the position of the first row of ``owners`` (key
    columns, text objects) with the same key (-1: none, or a missing value): an inner join
    on each key's first owner, in ``asked``'s order.

    The owners' distinct keys are numbered; each asked value is looked up among them in
    Arrow (``_positions``), so the asked rows never become Python objects.
    """
    n, m = len(owners[0]), len(asked[0])
    mine_joint = np.zeros(n, dtype=np.int64)
    asked_joint = np.zeros(m, dtype=np.int64)
    unknown = np.zeros(m, dtype=bool)
    for mine, theirs in zip(owners, asked, strict=True):
        codes, uniques = pd.factorize(mine)
        size = max(len(uniques), 1)
        mine_joint = mine_joint * size + codes
        index = _positions(theirs, pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
        unknown |= index < 0
        asked_joint = asked_joint * size + index
    first = ~pd.Index(mine_joint).duplicated(keep="first")
    where = pd.Index(mine_joint[first]).get_indexer(pd.Index(asked_joint))
    where[unknown] = -1
    owner: np.ndarray = np.r_[np.flatnonzero(first), -1][where]  # -1 (no owner): the last
    return owner


def _ranks(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Per value its rank among the distinct values in sorted order (missing: last), and
    the distinct values sorted (their dtype kept).

    Only the distinct values are sorted: as UTF-8 bytes by Arrow when they are
    all text (Python's order too), else by pandas.
    """
    codes, uniques = pd.factorize(values)
    distinct = np.asarray(uniques, dtype=object)
    try:
        order = pc.sort_indices(pa.array(distinct, type=pa.string())).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    rows = np.where(codes < 0, len(distinct), rank[np.maximum(codes, 0)] if len(rank) else 0)
    return rows.astype(np.int64), uniques.take(order)


def _as_instants(ts: pd.Series) -> pd.Series | None:
    """``ts`` as a UTC datetime column when it holds times as Python objects (``None``
    otherwise): ingest's ``ts`` is Timestamps and NaT (contacts have no time)."""
    if ts.dtype != object or pd.api.types.infer_dtype(ts, skipna=True) != "datetime":
        return None
    present = ts.dropna()
    if not len(present) or getattr(present.iloc[0], "tzinfo", None) is None:
        return None
    try:
        return pd.to_datetime(ts, utc=True)
    except (TypeError, ValueError):  # naive and aware mixed: not instants
        return None


def _time_key(ts: pd.Series, *, descending: bool = False) -> np.ndarray:
    """An int64 key that sorts as pandas sorts ``ts`` (missing last either way)."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if ts.dtype.kind == "M":
        key = ts.to_numpy("datetime64[ns]").view(np.int64).copy()
        missing = ts.isna().to_numpy()
    else:  # not times: the rank of the distinct values
        key, _ = pd.factorize(ts, sort=True)
        key = key.astype(np.int64)
        missing = key < 0
    if descending:
        key = -key
    key[missing] = np.iinfo(np.int64).max
    return key


def _identifiers(
    touchpoints: RecordRows,
    records: pd.DataFrame,
    rank: np.ndarray,
    persons: pd.Index,
    times: pd.Series | None,
) -> pd.DataFrame:
    """One value per field per person: the customer record's first, else the newest.

    Records are ordered by person, customer first, newest first (missing
    times last), and each field takes its first value present in that order.
    ``records``: each record's ``kind`` and ``ts``; the fields are read one at a time.
    """
    customer = (records["kind"] == "customers").to_numpy()
    newest = _time_key(records["ts"] if times is None else times, descending=True)
    order = np.lexsort((newest, ~customer, rank))
    del customer, newest
    code = rank[order]
    n = len(persons)
    picked: dict[str, object] = {"person_id": persons}
    for field in IDENTIFIER_FIELDS:
        name = "dob" if field == "date_of_birth" else field
        values = columns_of(touchpoints, [name])[name].to_numpy(object)[order]
        rows = np.flatnonzero(pd.notna(values) & (code < n))
        first = rows[np.r_[True, code[rows][1:] != code[rows][:-1]][: len(rows)]]
        column = np.full(n, None, dtype=object)
        column[code[first]] = values[first]
        picked[field] = column
        del values, rows
    return _frame(picked)


def _crm_attributes(
    touchpoints: RecordRows, records: pd.DataFrame, person: pd.Series, *, as_of: datetime
) -> pd.DataFrame:
    """Per customer person, the CRM's gender, country, city and age (its earliest customer
    record's); ``records``: each record's ``kind`` and ``ts``, the attributes read here."""
    is_customer = (records["kind"] == "customers").to_numpy()
    attributes = columns_of(touchpoints, ["gender", "country", "city", "dob"])
    customers = attributes.loc[is_customer].assign(ts=records.loc[is_customer, "ts"])
    customers = customers[["ts", "gender", "country", "city", "dob"]]
    del attributes
    customers = customers.assign(person_id=person.to_numpy()[is_customer]).sort_values("ts")
    attrs = customers.groupby("person_id")[["gender", "country", "city", "dob"]].first()
    born = pd.to_datetime(attrs["dob"], errors="coerce")
    now = (
        pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    )
    age = ((now - born).dt.days // 365.25).astype("Int64")
    return attrs.drop(columns=["dob"]).assign(age=age)


def _instants_ns(values: pd.Series) -> pd.Series:
    """UTC instants at nanosecond resolution: times read back from Parquet are microseconds,
    and the activity table has one resolution whatever its sources were read from."""
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
