"""Person features, activity and identifiers: what segments select on and exports send.

Built once per run from the identity graph, the touchpoints, the activity
sources and the persons' effective consent (SPEC §6):

- ``person_features`` (one row per person, no contact data): ``is_customer``,
  CRM attributes (``gender``, ``country``, ``city``, ``customer_since``,
  ``age``), record counts, first and last seen, per event category its
  ``views_<category>_30d`` and ``last_view_<category>`` (recency and
  frequency), per channel ``events_<channel>_30d``, per CRM interaction kind
  ``last_<kind>_at`` and ``last_<kind>_outcome``, per messaging channel
  ``msg_delivered_<channel>``, ``msg_read_<channel>`` and
  ``msg_read_rate_<channel>`` (read / delivered), identifier coverage
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
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PersonTables", "build_person_tables", "IDENTIFIER_FIELDS"]

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


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonTables:
    features: pd.DataFrame
    activity: pd.DataFrame
    identifiers: pd.DataFrame


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_") or "other"


def build_person_tables(
    *,
    graph: pd.DataFrame,
    touchpoints: pd.DataFrame,
    events: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    consent: pd.DataFrame,
    as_of: datetime,
) -> PersonTables:
    """Features, activity and identifiers of every person of a run.

    Args:
        graph: the identity graph (``person_id`` per record, aligned with ``touchpoints``).
        touchpoints: the run's normalised records.
        events: validated ``events`` rows (``subject_type, subject_id, ts, event_type,
            category, channel``), or ``None``.
        interactions: validated ``interactions`` rows (``customer_id, ts, kind, outcome``).
        consent: ``person_consent`` (``person_id, purpose, allowed``).
        as_of: the run's time: "in the last 30 days" counts back from it.

    Returns:
        ``features`` one row per person (sorted by id), ``activity`` one row
        per event or interaction (by person, then time), ``identifiers`` one
        row per person (sorted by id).
    """
    person = graph["person_id"]
    rank, ranked = _ranks(person)
    times = _as_instants(touchpoints["ts"])
    activity, owner = _activity(touchpoints, person, rank, events, interactions)
    identifiers = _identifiers(touchpoints, rank, ranked, times)
    con = duckdb.connect()
    try:
        records = touchpoints[["kind", "customer_id", "ts"]].assign(person_id=person.to_numpy())
        if times is not None:  # the instants DuckDB would read from Timestamp objects, faster
            records["ts"] = times.array
        con.register("records", records)
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
    persons = pd.Index(base["person_id"], name="person_id")
    code = persons.get_indexer(person.to_numpy())[owner]  # each activity row's person
    names: list[str] = []
    values: list[object] = []
    for name in base.columns[1:]:
        names.append(name)
        values.append(base[name].array)
    for name, column in _activity_features(activity, code, len(persons), as_of=as_of):
        names.append(name)
        values.append(column)
    ids = identifiers.set_index("person_id")
    same = ids.index.equals(persons)
    for flag, field in (("has_email", "email"), ("has_phone", "phone"), ("has_ad_id", "ad_id")):
        present = ids[field].notna()
        names.append(flag)
        values.append(
            present.to_numpy() if same else present.reindex(persons, fill_value=False).to_numpy()
        )
    extra = [_crm_attributes(touchpoints, person, as_of=as_of), _consent_flags(consent, persons)]
    for table in extra:  # as a left join on the persons
        aligned = table.reindex(persons)
        for name in aligned.columns:
            names.append(str(name))
            values.append(aligned[name].array)
    features = pd.DataFrame(
        {"person_id": base["person_id"], **{str(i): v for i, v in enumerate(values)}}
    )
    features.columns = pd.Index(["person_id", *names])
    return PersonTables(features=features, activity=activity, identifiers=identifiers)


def _activity_features(
    activity: pd.DataFrame, code: np.ndarray, n: int, *, as_of: datetime
) -> list[tuple[str, object]]:
    """Recency, frequency and messaging columns, one value per person (``code``: its number)."""
    since = pd.Timestamp(as_of) - timedelta(days=RECENT_DAYS)
    recent = (activity["ts"] >= since).to_numpy()
    source_kind = activity["source_kind"].to_numpy(object)
    kind = activity["type"].to_numpy(object)
    is_event = source_kind == "event"

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[mask], minlength=n).astype(np.int64)

    def latest(mask: np.ndarray) -> object:
        # a grouped maximum on person numbers, then one lookup per person (NaT: none)
        return activity["ts"][mask].groupby(code[mask]).max().reindex(np.arange(n)).array

    out: list[tuple[str, object]] = []
    views = is_event & (kind == "page_view")
    category = activity["category"].to_numpy(object)
    for value in sorted(activity["category"][views].dropna().unique()):
        rows = views & (category == value)
        slug = _slug(value)
        out.append((f"views_{slug}_30d", count(rows & recent)))
        out.append((f"last_view_{slug}", latest(rows)))
    channel = activity["channel"].to_numpy(object)
    for value in sorted(activity["channel"][is_event].dropna().unique()):
        out.append((f"events_{_slug(value)}_30d", count(is_event & (channel == value) & recent)))
    interaction = source_kind == "interaction"
    inter = activity[interaction].assign(_code=code[interaction])
    inter = inter.sort_values("ts")  # (a quicksort, as ever: ties keep the order it gives)
    for value in sorted(inter["type"].dropna().unique()):
        last = inter[inter["type"] == value].groupby("_code").last().reindex(np.arange(n))
        slug = _slug(value)
        out.append((f"last_{slug}_at", last["ts"].array))
        out.append((f"last_{slug}_outcome", last["outcome"].array))
    messages = is_event & ((kind == "message_delivered") | (kind == "message_read"))
    for value in sorted(activity["channel"][messages].dropna().unique()):
        rows = messages & (channel == value)
        slug = _slug(value)
        delivered = count(rows & (kind == "message_delivered"))
        read = count(rows & (kind == "message_read"))
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(delivered > 0, np.minimum(read / delivered, 1.0), np.nan)
        out += [(f"msg_delivered_{slug}", delivered), (f"msg_read_{slug}", read)]
        out.append((f"msg_read_rate_{slug}", rate))
    return out


def _consent_flags(consent: pd.DataFrame, persons: pd.Index) -> pd.DataFrame:
    """``consent_<purpose>`` per person: ``allowed`` as a person-by-purpose table.

    A complete table (every person of the run once per purpose, as
    ``person_consent`` writes it) is laid out by array indexing; anything
    else goes through the pivot table it always went through.
    """
    person, person_values = pd.factorize(consent["person_id"], sort=True)
    purpose, purposes = pd.factorize(consent["purpose"], sort=True)
    allowed = consent["allowed"]
    n, k = len(person_values), len(purposes)
    cell = person.astype(np.int64) * k + purpose
    complete = (
        allowed.dtype == bool
        and len(consent) == n * k
        and bool((person >= 0).all() and (purpose >= 0).all())
        and not pd.Index(cell).has_duplicates
        and pd.Index(person_values).equals(persons)
    )
    if not complete:
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
    parts = []
    owners = []
    people = person.to_numpy()
    if events is not None and len(events):
        subjects = touchpoints[["subject_type", "subject_id"]].astype(str)
        asked = events[["subject_type", "subject_id"]].astype(str)
        owner = _first_owner(asked, subjects, ["subject_type", "subject_id"])
        joined = events[owner >= 0]
        owners.append(owner[owner >= 0])
        parts.append(
            pd.DataFrame(
                {
                    "person_id": people[owners[-1]],
                    "ts": pd.to_datetime(joined["ts"], utc=True).array,
                    "source_kind": "event",
                    "type": joined["event_type"].astype(str).to_numpy(),
                    "category": _column(joined, "category"),
                    "channel": _column(joined, "channel"),
                    "outcome": None,
                }
            )
        )
    if interactions is not None and len(interactions):
        known = np.flatnonzero(touchpoints["customer_id"].notna().to_numpy())
        customers = pd.DataFrame({"customer_id": touchpoints["customer_id"].iloc[known]})
        owner = _first_owner(
            pd.DataFrame({"customer_id": interactions["customer_id"]}).astype(str),
            customers.astype(str),
            ["customer_id"],
        )
        joined = interactions[owner >= 0]
        owners.append(known[owner[owner >= 0]])
        parts.append(
            pd.DataFrame(
                {
                    "person_id": people[owners[-1]],
                    "ts": pd.to_datetime(joined["ts"], utc=True).array,
                    "source_kind": "interaction",
                    "type": joined["kind"].astype(str).to_numpy(),
                    "category": None,
                    "channel": None,
                    "outcome": _column(joined, "outcome"),
                }
            )
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
    out = pd.concat(parts, ignore_index=True)[columns]
    for column in ("category", "channel", "outcome"):
        out[column] = _none_for_missing(out[column])
    owner = np.concatenate(owners)
    order = np.lexsort((_time_key(out["ts"]), rank[owner]))
    return out.take(order).reset_index(drop=True), owner[order]


def _none_for_missing(column: pd.Series) -> np.ndarray | list[str | None]:
    """The column's values with ``None`` for every missing one.

    As a list pandas would infer the column's type from them; text (or
    nothing) stays text, so that case keeps the object array as it is.
    """
    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    if len(values) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    listed: list[str | None] = values.tolist()
    return listed


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    return frame[name].to_numpy() if name in frame else None


def _first_owner(asked: pd.DataFrame, owners: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Per row of ``asked``, the position in ``owners`` of the first row with the same ``key``
    (-1: none): an inner join on the first owner of each key, in ``asked``'s order."""
    n = len(owners)
    joint = np.zeros(n + len(asked), dtype=np.int64)
    for column in key:
        both = np.concatenate([owners[column].to_numpy(object), asked[column].to_numpy(object)])
        codes, uniques = pd.factorize(both)
        joint = joint * max(len(uniques), 1) + codes
    first = ~pd.Index(joint[:n]).duplicated(keep="first")
    where = pd.Index(joint[:n][first]).get_indexer(pd.Index(joint[n:]))
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
    touchpoints: pd.DataFrame, rank: np.ndarray, persons: pd.Index, times: pd.Series | None
) -> pd.DataFrame:
    """One value per field per person: the customer record's first, else the newest.

    Records are ordered by person, customer first, newest first (missing
    times last), and each field takes its first value present in that order.
    """
    customer = (touchpoints["kind"] == "customers").to_numpy()
    newest = _time_key(touchpoints["ts"] if times is None else times, descending=True)
    order = np.lexsort((newest, ~customer, rank))
    code = rank[order]
    n = len(persons)
    picked: dict[str, object] = {"person_id": persons}
    for field in IDENTIFIER_FIELDS:
        values = touchpoints["dob" if field == "date_of_birth" else field].to_numpy(object)[order]
        rows = np.flatnonzero(pd.notna(values) & (code < n))
        first = rows[np.r_[True, code[rows][1:] != code[rows][:-1]][: len(rows)]]
        column = np.full(n, None, dtype=object)
        column[code[first]] = values[first]
        picked[field] = column
    return pd.DataFrame(picked)


def _crm_attributes(
    touchpoints: pd.DataFrame, person: pd.Series, *, as_of: datetime
) -> pd.DataFrame:
    is_customer = (touchpoints["kind"] == "customers").to_numpy()
    customers = touchpoints.loc[is_customer, ["ts", "gender", "country", "city", "dob"]]
    customers = customers.assign(person_id=person.to_numpy()[is_customer]).sort_values("ts")
    attrs = customers.groupby("person_id")[["gender", "country", "city", "dob"]].first()
    born = pd.to_datetime(attrs["dob"], errors="coerce")
    now = (
        pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    )
    age = ((now - born).dt.days // 365.25).astype("Int64")
    return attrs.drop(columns=["dob"]).assign(age=age)
