"""``build_person_tables`` gives exactly the tables its pandas implementation gave.

The reference below is the implementation before it was vectorised (a
groupby and an index alignment per feature column, a Python ``pd.isna`` per
activity value, string sorts). Hypothesis draws runs the way ingest hands
them over: ``ts`` as Python Timestamps with NaT (contacts have no time),
activity columns as pandas strings, subjects shared by several records,
customers with several CRM rows, events of subjects no record has, values
that are missing; all three tables must be equal, dtypes and order included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audiences.features import (
    ACTIVITY_COLUMNS,
    IDENTIFIER_FIELDS,
    RECENT_DAYS,
    build_person_tables,
)
from audiences.features import TOUCHPOINT_COLUMNS as DECLARED_COLUMNS
from resolver.channels import CHANNELS

T0 = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReferenceTables:
    features: pd.DataFrame
    activity: pd.DataFrame
    identifiers: pd.DataFrame


# --- the reference: the implementation as it was --------------------------------------------


def reference_slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_") or "other"


def reference_build_person_tables(
    *,
    graph: pd.DataFrame,
    touchpoints: pd.DataFrame,
    events: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    consent: pd.DataFrame,
    as_of: datetime,
) -> ReferenceTables:
    records = touchpoints.assign(person_id=graph["person_id"].to_numpy())
    activity = reference_activity(records, events, interactions)
    identifiers = reference_identifiers(records)
    con = duckdb.connect()
    try:
        con.register("records", records[["person_id", "kind", "customer_id", "ts"]])
        con.register("activity", activity)
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
        since = pd.Timestamp(as_of) - timedelta(days=RECENT_DAYS)
        wide: list[pd.DataFrame | pd.Series] = [base.set_index("person_id")]
        views = activity[(activity["source_kind"] == "event") & (activity["type"] == "page_view")]
        for category in sorted(views["category"].dropna().unique()):
            rows = views[views["category"] == category]
            slug = reference_slug(category)
            wide.append(
                rows[rows["ts"] >= since].groupby("person_id").size().rename(f"views_{slug}_30d")
            )
            wide.append(rows.groupby("person_id")["ts"].max().rename(f"last_view_{slug}"))
        evts = activity[activity["source_kind"] == "event"]
        for channel in sorted(evts["channel"].dropna().unique()):
            rows = evts[(evts["channel"] == channel) & (evts["ts"] >= since)]
            wide.append(
                rows.groupby("person_id").size().rename(f"events_{reference_slug(channel)}_30d")
            )
        inter = activity[activity["source_kind"] == "interaction"].sort_values("ts")
        for kind in sorted(inter["type"].dropna().unique()):
            last = inter[inter["type"] == kind].groupby("person_id").last()
            slug = reference_slug(kind)
            wide.append(last["ts"].rename(f"last_{slug}_at"))
            wide.append(last["outcome"].rename(f"last_{slug}_outcome"))
        kinds = ["message_sent", "message_delivered", "message_read", "message_received",
                 "message_clicked"]  # fmt: skip
        messages = evts[evts["type"].isin(kinds) & evts["channel"].notna()]
        stamps = pd.to_datetime(messages["ts"], utc=True)
        end = pd.Timestamp(as_of).tz_convert("UTC")
        upto, recent = (
            stamps <= end,
            (stamps >= end - timedelta(days=RECENT_DAYS)) & (stamps <= end),
        )
        for channel in sorted(messages["channel"].unique()):
            rows = messages[messages["channel"] == channel]
            slug = reference_slug(channel)
            capability = CHANNELS.get(channel)

            def per(
                kind: str, mask: pd.Series | None = None, rows: pd.DataFrame = rows
            ) -> pd.Series:
                keep = rows["type"] == kind
                chosen = rows[keep if mask is None else keep & mask.loc[rows.index]]
                return (
                    chosen.groupby("person_id")
                    .size()
                    .reindex(rows["person_id"].unique(), fill_value=0)
                )

            delivered, read = per("message_delivered"), per("message_read")
            replies, clicks = per("message_received"), per("message_clicked")
            wide += [delivered.rename(f"msg_delivered_{slug}"), read.rename(f"msg_read_{slug}"),
                     replies.rename(f"msg_replies_{slug}"), clicks.rename(f"msg_clicks_{slug}")]  # fmt: skip
            responded = per("message_received", upto) + per("message_clicked", upto)
            reads = pd.Series("visible", index=delivered.index, dtype=object)
            if capability is None or not capability.reads_observable:
                reads[:] = "unobservable"
            elif capability.reads_hideable:
                reads[(per("message_read", upto) == 0) & (responded > 0)] = "hidden"
            shown_d, shown_r = per("message_delivered", upto), per("message_read", upto)
            rate = (shown_r / shown_d.where(shown_d > 0)).clip(upper=1.0).where(reads == "visible")
            d30, r30 = per("message_delivered", recent), per("message_read", recent)
            a30 = per("message_received", recent) + per("message_clicked", recent)
            level = pd.Series(None, index=delivered.index, dtype=object)
            level[(reads == "visible") & (d30 > 0)] = "unengaged"
            level[(reads == "visible") & (d30 > 0) & (r30 / d30.where(d30 > 0) >= 0.5)] = "engaged"
            level[(reads != "visible") & (d30 > 0)] = "unknown"
            level[a30 > 0] = "engaged"
            inbound = rows.assign(ts=pd.to_datetime(rows["ts"], utc=True))
            inbound = (
                inbound[inbound["type"] == "message_received"].groupby("person_id")["ts"].max()
            )
            wide += [rate.astype(float).rename(f"msg_read_rate_{slug}"), reads.rename(f"msg_reads_{slug}"),
                     level.rename(f"msg_engagement_{slug}"),
                     inbound.reindex(delivered.index).rename(f"last_inbound_{slug}")]  # fmt: skip
        features = pd.concat(wide, axis=1)
        for column in features.columns:
            if column.startswith(
                ("views_", "events_", "msg_delivered_", "msg_read_", "msg_replies_", "msg_clicks_")
            ) and not column.startswith(("msg_read_rate_", "msg_reads_")):
                features[column] = features[column].fillna(0).astype(np.int64)
    finally:
        con.close()
    ids = identifiers.set_index("person_id")
    features["has_email"] = ids["email"].notna().reindex(features.index, fill_value=False)
    features["has_phone"] = ids["phone"].notna().reindex(features.index, fill_value=False)
    features["has_ad_id"] = ids["ad_id"].notna().reindex(features.index, fill_value=False)
    crm = reference_crm_attributes(records, as_of=as_of)
    features = features.join(crm)
    flags = consent.pivot_table(
        index="person_id", columns="purpose", values="allowed", aggfunc="first"
    )
    flags.columns = [f"consent_{c}" for c in flags.columns]
    features = features.join(flags.astype(bool))
    features = features.reset_index().rename(columns={"index": "person_id"})
    return ReferenceTables(features=features, activity=activity, identifiers=identifiers)


def reference_activity(
    records: pd.DataFrame, events: pd.DataFrame | None, interactions: pd.DataFrame | None
) -> pd.DataFrame:
    columns = ["person_id", "ts", "source_kind", "type", "category", "channel", "outcome"]
    parts = []
    if events is not None and len(events):
        subjects = records[["subject_type", "subject_id", "person_id"]].drop_duplicates(
            ["subject_type", "subject_id"]
        )
        joined = events.astype({"subject_type": str, "subject_id": str}).merge(
            subjects.astype({"subject_type": str, "subject_id": str}),
            on=["subject_type", "subject_id"],
            how="inner",
        )
        parts.append(
            pd.DataFrame(
                {
                    "person_id": joined["person_id"],
                    # one resolution whatever the source was read from (Parquet: us)
                    "ts": pd.to_datetime(joined["ts"], utc=True).astype("datetime64[ns, UTC]"),
                    "source_kind": "event",
                    "type": joined["event_type"].astype(str),
                    "category": joined.get("category"),
                    "channel": joined.get("channel"),
                    "outcome": None,
                }
            )
        )
    if interactions is not None and len(interactions):
        customers = (
            records.dropna(subset=["customer_id"])[["customer_id", "person_id"]]
            .drop_duplicates("customer_id")
            .astype({"customer_id": str})
        )
        joined = interactions.astype({"customer_id": str}).merge(customers, on="customer_id")
        parts.append(
            pd.DataFrame(
                {
                    "person_id": joined["person_id"],
                    "ts": pd.to_datetime(joined["ts"], utc=True).astype("datetime64[ns, UTC]"),
                    "source_kind": "interaction",
                    "type": joined["kind"].astype(str),
                    "category": None,
                    "channel": None,
                    "outcome": joined.get("outcome"),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "person_id": pd.Series(dtype=str),
                "ts": pd.Series(dtype="datetime64[ns, UTC]"),
                **{c: pd.Series(dtype=object) for c in columns[2:]},
            }
        )
    out = pd.concat(parts, ignore_index=True)[columns]
    for column in ("category", "channel", "outcome"):
        values = out[column].astype(object)
        out[column] = [None if pd.isna(v) else v for v in values]
    return out.sort_values(["person_id", "ts"], kind="stable").reset_index(drop=True)


def reference_identifiers(records: pd.DataFrame) -> pd.DataFrame:
    frame = records.assign(
        _customer=(records["kind"] == "customers").astype(int),
        date_of_birth=records["dob"],
        first_name=records["first_name"],
        last_name=records["last_name"],
    )
    frame = frame.sort_values(
        ["person_id", "_customer", "ts"], ascending=[True, False, False], na_position="last"
    )
    fields = list(IDENTIFIER_FIELDS)
    picked = frame.groupby("person_id", sort=True)[fields].first()
    return picked.reset_index()


def reference_crm_attributes(records: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    customers = records[records["kind"] == "customers"].sort_values("ts")
    attrs = customers.groupby("person_id")[["gender", "country", "city", "dob"]].first()
    born = pd.to_datetime(attrs["dob"], errors="coerce")
    now = (
        pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    )
    age = ((now - born).dt.days // 365.25).astype("Int64")
    return attrs.drop(columns=["dob"]).assign(age=age)


# --- drawing runs ---------------------------------------------------------------------------

TOUCHPOINT_COLUMNS = [
    "record_id", "source", "kind", "record_key", "ts", "subject_type", "subject_id",
    "customer_id", "cookie_id", "device_id", "ad_id", "channel", "handle", "ip", "user_agent",
    "email", "email_folded", "phone", "first_name", "last_name", "dob", "gender", "address",
    "postcode", "city", "country", "national_id", "gpc",
]  # fmt: skip
PURPOSES = ["identity_linking", "analytics", "personalisation", "ad_targeting"]


def _maybe(values: list[object]) -> st.SearchStrategy[object]:
    return st.none() | st.sampled_from(values)


@st.composite
def runs(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(0, 25))
    hours = st.integers(-24 * 60, 24 * 3).map(lambda h: T0 + timedelta(hours=h))
    rows = []
    for i in range(n):
        kind = draw(st.sampled_from(["customers", "sessions", "devices", "contacts"]))
        rows.append(
            {
                "record_id": i,
                "source": kind[:3],
                "kind": kind,
                "record_key": f"r{i}",
                "ts": draw(st.none() | hours) if kind == "contacts" else draw(hours),
                "subject_type": draw(st.sampled_from(["customer", "cookie", "device", "contact"])),
                "subject_id": draw(st.sampled_from(["a", "b", "c", "d", "é"])),
                "customer_id": draw(_maybe(["C1", "C2", "C10", "c1"])),
                "ad_id": draw(_maybe(["ad1", "ad2"])),
                "email": draw(_maybe(["x@example.com", "y@example.com"])),
                "phone": draw(_maybe(["+441", "+442"])),
                "first_name": draw(_maybe(["ann", "bob", "zoë"])),
                "last_name": draw(_maybe(["lee", "li"])),
                "dob": draw(_maybe(["1980-02-29", "2001-12-31", "1960-01-01"])),
                "gender": draw(_maybe(["F", "M"])),
                "postcode": draw(_maybe(["TR1 9XJ", "N1"])),
                "city": draw(_maybe(["leeds", "york"])),
                "country": draw(_maybe(["GB", "DE"])),
            }
        )
    touchpoints = pd.DataFrame(rows, columns=TOUCHPOINT_COLUMNS)
    # as ingest hands it over: Timestamps and NaT as Python objects (contacts have no time)
    touchpoints["ts"] = pd.Series(
        [pd.NaT if v is None else pd.Timestamp(v) for v in touchpoints["ts"]], dtype=object
    )
    if draw(st.booleans()):
        touchpoints["ts"] = pd.to_datetime(touchpoints["ts"], utc=True)
    people = draw(st.lists(st.sampled_from(["p2", "p10", "p1", "P", "ü"]), min_size=n, max_size=n))
    graph = pd.DataFrame({"record_key": touchpoints["record_key"], "person_id": people})

    events = None
    if draw(st.booleans()):
        n_events = draw(st.integers(0, 30))
        kinds = ["page_view", "page_view", "message_delivered", "message_read", "message_sent",
                 "message_received", "message_clicked"]  # fmt: skip
        events = pd.DataFrame(
            {
                "subject_type": [draw(st.sampled_from(["cookie", "device", "contact"])) for _ in range(n_events)],
                "subject_id": [draw(st.sampled_from(["a", "b", "c", "z"])) for _ in range(n_events)],
                "ts": [draw(hours) for _ in range(n_events)],
                "event_type": [draw(st.sampled_from(kinds)) for _ in range(n_events)],
                "category": [draw(_maybe(["loans", "Cards & More", "savings"])) for _ in range(n_events)],
                "url": None,
                "value": None,
                "channel": [draw(_maybe(["web", "whatsapp", "Viber!", "telegram"])) for _ in range(n_events)],
                "source": "events",
            }
        )  # fmt: skip
        events["ts"] = pd.to_datetime(events["ts"], utc=True)
        events = events.astype(
            {"subject_type": "string", "subject_id": "string", "event_type": "string"}
        )
        variant = draw(st.sampled_from(["ingest", "ingest", "us", "bare"]))
        if variant == "us":  # times read back from Parquet
            events["ts"] = events["ts"].astype("datetime64[us, UTC]")
        elif variant == "bare":  # no category or channel column at all
            events = events.drop(columns=["category", "channel"])
    interactions = None
    if draw(st.booleans()):
        n_inter = draw(st.integers(0, 12))
        interactions = pd.DataFrame(
            {
                "customer_id": [draw(st.sampled_from(["C1", "C2", "C3"])) for _ in range(n_inter)],
                "ts": [draw(hours) for _ in range(n_inter)],
                "kind": [draw(st.sampled_from(["call", "purchase", "Advisor meeting"])) for _ in range(n_inter)],
                "outcome": [draw(_maybe(["completed", "no_show"])) for _ in range(n_inter)],
                "value": None,
                "source": "interactions",
            }
        )  # fmt: skip
        interactions["ts"] = pd.to_datetime(interactions["ts"], utc=True)
        interactions = interactions.astype({"customer_id": "string", "kind": "string"})
    persons = sorted(set(people))
    consent = pd.DataFrame(
        [
            (p, purpose, draw(st.booleans()))
            for p in persons
            if draw(st.integers(0, 9)) > 0  # now and then a person without consent rows
            for purpose in PURPOSES
        ],
        columns=["person_id", "purpose", "allowed"],
    )
    return {
        "graph": graph,
        "touchpoints": touchpoints,
        "events": events,
        "interactions": interactions,
        "consent": consent,
        "as_of": T0 + timedelta(hours=draw(st.integers(0, 48))),
    }


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(runs())
def test_person_tables_match_the_reference(run) -> None:
    got = build_person_tables(**run)
    want = reference_build_person_tables(**run)
    _same(got.activity, want.activity)
    _same(got.identifiers, want.identifiers)
    _same(got.features, want.features)


@settings(max_examples=50, deadline=None)
@given(runs())
def test_person_tables_read_only_the_activity_columns_they_declare(run) -> None:
    """A run hands the features only ``ACTIVITY_COLUMNS`` of its events and interactions (an
    event's URL and value stay on disk): the tables are the same as from every column."""
    narrow = dict(run)
    for kind in ("events", "interactions"):
        if run[kind] is not None:
            narrow[kind] = run[kind][[c for c in run[kind] if c in ACTIVITY_COLUMNS[kind]]]
    got, want = build_person_tables(**narrow), build_person_tables(**run)
    for table in ("activity", "identifiers", "features", "contacts"):
        _same(getattr(got, table), getattr(want, table))


@settings(max_examples=50, deadline=None)
@given(runs(), st.randoms(use_true_random=False))
def test_consent_flags_do_not_depend_on_the_order_of_the_consent_rows(run, rnd) -> None:
    """``person_consent`` writes each person's purposes in one block (the fast layout): the
    blocks in another order, or the rows in any order, give the same features."""
    consent = run["consent"]
    k = consent["purpose"].nunique()
    blocks = list(range(len(consent) // k)) if k else []
    rnd.shuffle(blocks)
    in_blocks = (
        consent.iloc[[b * k + i for b in blocks for i in range(k)]].reset_index(drop=True)
        if k
        else consent
    )
    rows = list(range(len(consent)))
    rnd.shuffle(rows)
    shuffled = consent.iloc[rows].reset_index(drop=True)
    want = reference_build_person_tables(**run).features
    for table in (in_blocks, shuffled):
        _same(build_person_tables(**{**run, "consent": table}).features, want)


@settings(max_examples=10, deadline=None)  # the equivalence tests above cover the tables
@given(runs())
def test_activity_read_through_a_function_gives_the_same_tables_and_is_let_go(run) -> None:
    """A run hands the events and interactions as functions that read them
    (``ActivityRows``): each is called once, the tables are those of the frames, and the
    rows read are gone by the time the per-person aggregates begin (at 10 M touchpoints
    23 M events, about 2 GiB, were held through them)."""
    import gc
    import weakref

    calls: list[str] = []
    read: list[weakref.ref[pd.DataFrame]] = []

    def reader(kind: str):
        def read_rows() -> pd.DataFrame | None:
            calls.append(kind)
            if run[kind] is None:
                return None
            rows = run[kind].copy()  # a frame only the features hold
            read.append(weakref.ref(rows))
            return rows

        return read_rows

    from unittest import mock

    import audiences.features as features

    alive_at_aggregates: list[bool] = []
    identifiers = features._identifiers

    def aggregates_begin(*args: object, **kwargs: object) -> pd.DataFrame:
        gc.collect()
        alive_at_aggregates.extend(ref() is not None for ref in read)
        return identifiers(*args, **kwargs)

    lazy = {**run, "events": reader("events"), "interactions": reader("interactions")}
    with mock.patch.object(features, "_identifiers", aggregates_begin):
        got = build_person_tables(**lazy)
    want = build_person_tables(**run)
    assert sorted(calls) == ["events", "interactions"]
    for table in ("activity", "identifiers", "features", "contacts"):
        _same(getattr(got, table), getattr(want, table))
    assert not any(alive_at_aggregates)


@settings(max_examples=10, deadline=None)  # the equivalence tests above cover the tables
@given(runs())
def test_touchpoints_read_through_a_function_give_the_same_tables_a_few_columns_at_a_time(
    run,
) -> None:
    """A run hands the touchpoints as a function that reads their columns (``RecordRows``):
    each part of the features reads its own, never the 16 at once (at 10 M touchpoints they
    were 1.5 GiB held through the activity, contacts and identifiers), and the tables are
    those of the frame."""
    asked: list[list[str]] = []
    touchpoints = run["touchpoints"]

    def read(columns: list[str]) -> pd.DataFrame:
        asked.append(list(columns))
        return touchpoints[[c for c in columns if c in touchpoints]].copy()

    got = build_person_tables(**{**run, "touchpoints": read})
    want = build_person_tables(**run)
    for table in ("activity", "identifiers", "features", "contacts"):
        _same(getattr(got, table), getattr(want, table))
    assert asked and max(len(columns) for columns in asked) <= 6
    assert {c for columns in asked for c in columns} <= set(DECLARED_COLUMNS)


@settings(max_examples=10, deadline=None)  # the equivalence tests above cover the tables
@given(runs())
def test_tables_handed_over_as_built_are_the_tables_and_are_not_kept(run) -> None:
    """A run takes the contacts, identifiers and activity as each is built (``hand_over``)
    and writes them: read back, they are the tables built otherwise, the function keeps no
    reference to them, and returns them without rows (issue #14)."""
    import gc
    import tempfile
    import weakref
    from pathlib import Path

    from api.pipeline.stored_rows import StoredRows

    taken: dict[str, pd.DataFrame] = {}
    handed: list[weakref.ref[pd.DataFrame]] = []
    with tempfile.TemporaryDirectory() as directory:

        def hand_over(name: str, table: pd.DataFrame) -> bool:
            # written and read back, as a run writes it and its segments and exports read it
            stored = StoredRows.write(table, path=Path(directory) / f"{name}.parquet")
            taken[name] = stored.read()
            handed.append(weakref.ref(table))
            return True

        got = build_person_tables(**run, hand_over=hand_over)
    gc.collect()
    want = build_person_tables(**run)
    assert sorted(taken) == ["activity", "contacts", "identifiers"]
    assert not any(ref() is not None for ref in handed)
    for name, table in taken.items():
        _same(table, getattr(want, name))
        empty = getattr(got, name)
        assert list(empty.columns) == list(table.columns) and not len(empty)
        assert list(empty.dtypes) == list(table.dtypes)
    _same(got.features, want.features)
    declined = build_person_tables(**run, hand_over=lambda name, table: False)
    for kept in ("activity", "identifiers", "features", "contacts"):
        _same(getattr(declined, kept), getattr(want, kept))


@settings(max_examples=30, deadline=None)  # the equivalence tests above cover the tables
@given(runs())
def test_activity_read_as_codes_gives_the_same_tables(run) -> None:
    """A run reads the events' and interactions' text as codes (``StoredRows.read_coded``:
    a ``Categorical`` per text column, 23 M events' keys at 10 M touchpoints, issue #14):
    written and read back so, they give the tables the frames give."""
    import tempfile
    from pathlib import Path

    from api.pipeline.stored_rows import StoredRows

    coded = dict(run)
    with tempfile.TemporaryDirectory() as directory:
        for kind in ("events", "interactions"):
            if run[kind] is not None:
                stored = StoredRows.write(
                    run[kind],
                    path=Path(directory) / f"{kind}.parquet",
                    coerce_timestamps="us",
                    allow_truncated_timestamps=True,
                )
                coded[kind] = stored.read_coded(columns=ACTIVITY_COLUMNS[kind])
                keys = {"events": ["subject_type", "subject_id", "event_type"]}
                for column in keys.get(kind, ["customer_id", "kind"]):  # text in every run
                    assert isinstance(coded[kind][column].dtype, pd.CategoricalDtype)
    got, want = build_person_tables(**coded), build_person_tables(**run)
    for table in ("activity", "identifiers", "features", "contacts"):
        _same(getattr(got, table), getattr(want, table))
