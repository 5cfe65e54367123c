"""A run's steps read the touchpoints back by column (``api.pipeline.stored_rows``, issue #14).

Two promises: what is read back is what was written (dtypes, values, the types of the
values), and each step's declared columns are all it reads, so that a run reading only
them publishes the tables of a run handed every column.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.pipeline import run_link
from api.pipeline.stored_rows import RowsWriter, StoredRows
from api.settings import load_config
from api.workspace import Workspace
from api.worlds.harder import harder_config_toml, write_harder_world

_TEXT = st.one_of(st.none(), st.text(alphabet="abzéשלוםпривет@._ -", max_size=12))
_TIME = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**15).map(
        lambda us: datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    ),
)
_ROWS = st.lists(
    st.tuples(
        _TEXT,
        _TEXT,
        _TIME,
        st.one_of(st.none(), st.lists(st.text(alphabet="abc~", max_size=4), max_size=3)),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.booleans(),
    ),
    max_size=30,
)


def _frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """Rows as ingest holds them: text as Python objects and as Arrow strings, UTC times in
    nanoseconds (microsecond values), lists of names, integers and flags."""
    text, arrow, ts, forms, number, flag = ([row[i] for row in rows] for i in range(6))
    return pd.DataFrame(
        {
            "record_key": pd.Series(text, dtype=object),
            "arrow_text": pd.Series(arrow, dtype="string[pyarrow]"),
            "ts": pd.to_datetime(pd.Series(ts, dtype=object), utc=True).astype(
                "datetime64[ns, UTC]"
            ),
            "first_forms": pd.Series(forms, dtype=object),
            "record_id": pd.Series(number, dtype="int64"),
            "gpc": pd.Series(flag, dtype=bool),
        }
    )


@settings(max_examples=40, deadline=None)
@given(rows=_ROWS)
def test_rows_read_back_are_the_rows_written(tmp_path_factory, rows) -> None:
    frame = _frame(rows)
    stored = StoredRows.write(
        frame,
        path=tmp_path_factory.mktemp("rows") / "t.parquet",
        coerce_timestamps="us",
        allow_truncated_timestamps=True,
    )
    assert stored.rows == len(frame)
    back = stored.read()
    pd.testing.assert_frame_equal(back, frame)
    for column in ("record_key", "first_forms"):  # the values' own types, not only equal
        assert [type(v) for v in back[column]] == [type(v) for v in frame[column]]
    # a subset, in the file's order whatever the order asked; an unknown column left out
    some = stored.read(columns=["gpc", "record_key", "no_such_column"])
    pd.testing.assert_frame_equal(some, frame[["record_key", "gpc"]])
    assert len(stored.read(columns=[])) == len(frame)
    # a slice at a time (the consent step's consents): each slice as ``read`` gives its rows
    sliced = list(stored.read_slices(rows=7))
    assert [len(part) for part in sliced] == [
        min(7, len(frame) - at) for at in range(0, len(frame), 7)
    ]
    for at, part in zip(range(0, len(frame), 7), sliced, strict=True):
        expected = frame.iloc[at : at + 7].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected)
        for column in ("record_key", "first_forms"):
            assert [type(v) for v in part[column]] == [type(v) for v in expected[column]]


@settings(max_examples=40, deadline=None)
@given(rows=_ROWS)
def test_rows_read_as_codes_are_the_rows_written(tmp_path_factory, rows) -> None:
    """``read_coded`` gives each text column (Python or Arrow strings) as a ``Categorical``
    of its distinct values, the rows' values those ``read`` gives, and the other columns as
    ``read`` gives them."""
    frame = _frame(rows)
    stored = StoredRows.write(
        frame,
        path=tmp_path_factory.mktemp("coded") / "t.parquet",
        coerce_timestamps="us",
        allow_truncated_timestamps=True,
    )
    plain, coded = stored.read(), stored.read_coded()
    assert list(coded.columns) == list(plain.columns) and len(coded) == len(frame)
    for column in coded.columns:
        # Arrow text is text in the file; Python strings are when one is there (else nulls)
        if column == "arrow_text" or (column == "record_key" and frame[column].notna().any()):
            values = coded[column]
            assert isinstance(values.dtype, pd.CategoricalDtype)
            assert values.cat.categories.is_unique
            assert [None if pd.isna(v) else v for v in values.astype(object)] == [
                None if pd.isna(v) else v for v in plain[column]
            ]
        else:
            pd.testing.assert_series_equal(coded[column], plain[column])
    some = stored.read_coded(columns=["gpc", "arrow_text", "no_such_column"])
    assert list(some.columns) == ["arrow_text", "gpc"]


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(_ROWS, min_size=1, max_size=4), blank=st.integers(0, 3))
def test_rows_written_a_chunk_at_a_time_are_the_chunks_concatenated(
    tmp_path_factory, chunks, blank
) -> None:
    """``RowsWriter`` writes what ``pd.concat`` of its chunks would be: with empty chunks
    first, and a chunk whose column is all missing (no Arrow type) before one with text,
    which makes it hold the rest and write the file again at close."""
    frames = [_frame(rows) for rows in chunks]
    if blank < len(frames):  # a column of Python objects all missing in one chunk
        frames[blank] = frames[blank].assign(record_key=pd.Series(None, dtype=object))
    path = tmp_path_factory.mktemp("chunks") / "t.parquet"
    writer = RowsWriter(path, coerce_timestamps="us", allow_truncated_timestamps=True)
    for frame in frames:
        writer.append(frame)
    stored = writer.close()
    assert stored is not None
    expected = pd.concat(frames, ignore_index=True)
    assert stored.rows == len(expected)
    # pandas' concat fills a column all missing in one chunk with NaN, or None: either missing
    pd.testing.assert_frame_equal(_missing_as_none(stored.read()), _missing_as_none(expected))


_SCHEMA = pa.schema(
    [
        ("record_key", pa.string()),
        ("arrow_text", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("first_forms", pa.list_(pa.string())),
        ("record_id", pa.int64()),
        ("gpc", pa.bool_()),
    ]
)


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(_ROWS, min_size=1, max_size=4),
    blank=st.integers(0, 3),
    micro=st.integers(0, 3),
)
def test_rows_written_in_a_schema_are_written_as_each_chunk_comes(
    tmp_path_factory, chunks, blank, micro
) -> None:
    """Given a ``schema``, a chunk whose column is all missing is written in the schema's
    type as it comes, and so is a chunk whose times are microseconds among chunks in
    nanoseconds (a typed Parquet source among CSV ones): nothing held (ingest's
    touchpoints, issue #14). The file reads back as the chunks concatenated, the times in
    the file's unit when the chunks' units differ."""
    frames = [_frame(rows) for rows in chunks]
    if blank < len(frames):
        frames[blank] = frames[blank].assign(
            record_key=pd.Series(None, dtype=object), first_forms=pd.Series(None, dtype=object)
        )
    if micro < len(frames):
        frames[micro] = frames[micro].assign(ts=frames[micro]["ts"].astype("datetime64[us, UTC]"))
    path = tmp_path_factory.mktemp("schema") / "t.parquet"
    writer = RowsWriter(
        path, schema=_SCHEMA, coerce_timestamps="us", allow_truncated_timestamps=True
    )
    for frame in frames:
        writer.append(frame)
        assert writer._held is None  # written, not held
    stored = writer.close()
    assert stored is not None
    written = pq.read_schema(path)
    assert [(f.name, f.type) for f in written] == [
        (f.name, pa.timestamp("us", tz="UTC") if f.name == "ts" else f.type) for f in _SCHEMA
    ]
    expected = pd.concat(frames, ignore_index=True)
    if not len(expected):  # no rows: the columns (their times in one chunk's unit or another)
        assert stored.rows == 0 and list(stored.read().columns) == list(expected.columns)
        return
    if len({str(f["ts"].dtype) for f in frames}) > 1:
        expected["ts"] = expected["ts"].astype("datetime64[us, UTC]")
    pd.testing.assert_frame_equal(_missing_as_none(stored.read()), _missing_as_none(expected))


def test_times_past_what_nanoseconds_hold_are_written_in_a_schema(tmp_path: Path) -> None:
    """A typed Parquet source's 9999-12-31 (a warehouse's "no end") is a valid microsecond
    time; written in a schema of microseconds after a chunk in nanoseconds, it reads back."""
    path = tmp_path / "t.parquet"
    writer = RowsWriter(path, schema=_SCHEMA)
    first = _frame([("a", "b", datetime(2026, 1, 1, tzinfo=UTC), None, 1, True)])
    late = first.assign(
        ts=pd.Series([datetime(9999, 12, 31, tzinfo=UTC)], dtype="datetime64[us, UTC]")
    )
    writer.append(first)
    writer.append(late)
    assert writer._held is None
    stored = writer.close()
    assert stored is not None
    assert stored.read()["ts"].tolist() == [
        pd.Timestamp("2026-01-01", tz="UTC"),
        pd.Timestamp("9999-12-31", tz="UTC"),
    ]


def _missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    objects = [c for c in frame.columns if frame[c].dtype == object]
    return frame.assign(**{c: frame[c].where(frame[c].notna(), None) for c in objects})


def _tables(run: Path) -> dict[str, pd.DataFrame]:
    """The run's tables that later steps, segments and exports read (``run_id`` left out)."""
    names = (
        "identity_graph", "persons", "person_consent", "person_features", "person_activity",
        "person_identifiers", "person_contacts", "blocked_identifiers",
    )  # fmt: skip
    tables = {n: pd.read_parquet(run / f"{n}.parquet") for n in names}
    links = pd.read_parquet(run / "links.parquet")
    tables["links"] = links.drop(columns=["probability"])  # decisions, not float noise
    return {name: _in_order(t) for name, t in tables.items()}


def _in_order(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its run ids, rows sorted (some are written in no set order)."""
    table = table.drop(columns=[c for c in table.columns if c.endswith("run") or c == "run_id"])
    keys = [c for c in table.columns if c != "event_ids"]  # lists do not sort
    order = table[keys].astype(str).sort_values(keys, kind="stable").index
    return table.loc[order].reset_index(drop=True)


@pytest.mark.slow
def test_a_run_reading_each_steps_columns_publishes_what_every_column_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step reads only the touchpoint columns it declares (``GATE_COLUMNS``,
    ``TOUCHPOINT_COLUMNS``..., and each phase of linking its own). A column read
    but not declared is missing from the step's frame, and optional columns are tested with
    ``in``: the run would go on with other answers. So the same world is run again in the
    same workspace (its person ids kept) with every step handed every column."""
    write_harder_world(tmp_path / "data", persons=400, seed=13)
    config = tmp_path / "tether.toml"
    config.write_text(harder_config_toml(data_dir="data"))
    workspace = Workspace.open(tmp_path / "ws")
    loaded = load_config(config)
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    run_link(config=loaded, workspace=workspace, as_of=as_of, retrain=True)
    declared = workspace.current_dir()
    read, read_coded = StoredRows.read, StoredRows.read_coded
    asked: list[int] = []
    coded: list[int] = []

    def every_column(self: StoredRows, *, columns: object = None) -> pd.DataFrame:
        asked.append(0 if columns is None else 1)
        return read(self)

    def every_column_coded(self: StoredRows, *, columns: object = None) -> pd.DataFrame:
        coded.append(0 if columns is None else 1)
        return read_coded(self)

    monkeypatch.setattr(StoredRows, "read", every_column)
    monkeypatch.setattr(StoredRows, "read_coded", every_column_coded)
    run_link(config=loaded, workspace=workspace, as_of=as_of, retrain=True)
    # consent (signals, gate), link, person ids, person consent, features
    assert sum(asked) >= 5
    assert sum(coded) == 2  # the features' events and interactions, as codes
    everything = workspace.current_dir()
    assert everything != declared
    ours, theirs = _tables(declared), _tables(everything)
    for name, table in ours.items():
        pd.testing.assert_frame_equal(table, theirs[name], obj=name)
    assert (ours["links"]["decision"] == "accepted").sum() > 100  # a world that links


def test_touchpoints_of_typed_parquet_and_csv_sources_are_written_as_they_come(
    tmp_path: Path,
) -> None:
    """Ingest's touchpoints from a CSV source (times in nanoseconds) and a Parquet source
    with typed times (microseconds, one of them 9999-12-31, past what nanoseconds hold)
    are written a chunk at a time in ``TOUCHPOINT_SCHEMA``, nothing held, and read back as
    ingest gives them, the times in the file's microseconds (issue #14)."""
    from resolver.sources import TOUCHPOINT_SCHEMA, SourceConfig, ingest_sources

    (tmp_path / "crm.csv").write_text("customer_id,email\nk1,a@example.com\n")
    pq.write_table(
        pa.table(
            {
                "session_id": ["s1", "s2"],
                "started_at": pa.array(
                    [datetime(2026, 10, 1, 10, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)],
                    type=pa.timestamp("us", tz="UTC"),
                ),
                "cookie_id": ["c1", "c2"],
            }
        ),
        tmp_path / "web.parquet",
    )
    sources = [
        SourceConfig(name="crm", kind="customers", path=tmp_path / "crm.csv"),
        SourceConfig(name="web", kind="sessions", path=tmp_path / "web.parquet"),
    ]
    writer = RowsWriter(tmp_path / "touchpoints.parquet", schema=TOUCHPOINT_SCHEMA)
    units: list[str] = []

    def write(frame: pd.DataFrame) -> bool:
        units.append(str(frame["ts"].dtype))
        writer.append(frame)
        assert writer._held is None  # written as it came
        return True

    ingest_sources(sources=sources, on_touchpoints=write)
    assert units == ["datetime64[ns, UTC]", "datetime64[us, UTC]"]  # the case in point
    stored = writer.close()
    assert stored is not None
    back = stored.read()
    assert back["record_key"].tolist() == ["k1", "s1", "s2"]
    assert back["ts"].tolist()[1:] == [
        pd.Timestamp("2026-10-01 10:00", tz="UTC"),
        pd.Timestamp("9999-12-31", tz="UTC"),
    ]
