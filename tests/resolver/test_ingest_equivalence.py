"""Ingest's vectorised paths equal the per-value paths they replaced (issue #11).

Ingest reads Parquet text as Arrow strings, casts clean ISO timestamp columns
with Arrow and derives each person field's columns from one encoding of the
raw field. Each test draws values, including Hebrew, Cyrillic, odd phone
numbers, bad dates and timestamps pandas reads only in context, and compares
the fast path with the reference: pandas on Python objects, the per-column
``_map_unique`` chain, the CSV reader.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolver import normalize as N
from resolver import sources as S
from resolver.frames import join_parts
from resolver.places import canonical_city
from resolver.shared_text import is_arrow_text, text_codes
from resolver.sources import SourceConfig, ingest_sources
from tests.strategies import emails, phones

# --- drawn values -----------------------------------------------------------------------

_NAMES = [
    "  Dr. Jane ", "O'Brien", "ЕЛЕНА", "Дмитрий-Иван", "דוד", "יוסי", "  יוסף כהן ", "Bill",
    "mary-jane", "Zoë", "ﬁona", "ｊｏｈｎ", "Ǆemal", "Sasha", "Саша", "Mr. J. SMITH Jr", "12",
    "", "  ", "x" * 40, "Muhammad", "מוחמד", "Yossi", "Avi", "אבי", "Dima", "Дима", "ĳsbrand",
    "ـ", "々", "ʼ", "Ⅻ", "①", "ﾞ", "·",  # no Latin form, or no name at all
]  # fmt: skip
names = st.one_of(
    st.sampled_from(_NAMES),
    st.text(alphabet="abcXYZ éЖжשׁדו'-. \t\u00a0ـ々²", max_size=12),
)
raw_text = st.one_of(
    st.none(),
    names,
    st.text(alphabet=" \t\u00a0\u2003\u3000ab\n", max_size=4),
)

_DATES = [
    "1984-03-12", "12/03/1984", "03/12/1984", "12 Mar 1984", "Mar 12, 1980", "19800312",
    "31/02/1990", "1899-12-31", "2999-01-01", "02/03/04", "13/13/1980", "1980-03-12T10:00:00Z",
    "1980.03.12", "garbage", "", " 1984-03-12 ", "12.03.84", "1 May 1990",
]  # fmt: skip

_ODD_PHONES = [
    "0501234567", "050-123-4567", "+972 (0)50-123-4567", "00972501234567", "972501234567",
    "0501234567x12", "12", "+1 415 555 0100", "050–1234567", "٠٥٠١٢٣٤٥٦٧", "07911 123456",
    "tel 050 123 45 67", "+44 7911 123456", "1-800-FLOWERS",
]  # fmt: skip


@st.composite
def iso_timestamps(draw: st.DrawFn) -> str:
    """ISO 8601 text around what Arrow casts: offsets, fractions, and the edges of the shape."""
    year = draw(st.sampled_from([1677, 1699, 1700, 1999, 2026, 2199, 2200, 2262, 2300]))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    hour = draw(st.integers(0, 24))
    minute = draw(st.integers(0, 60))
    second = draw(st.integers(0, 60))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    fraction = draw(st.sampled_from(["", ".1", ".97", ".123456", ".123456789", ".1234567891"]))
    zone = draw(
        st.sampled_from(["Z", "+03:00", "-04:00", "+14:00", "+14:59", "-15:00", "+0300", "", "z"])
    )
    return (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"
    )


timestamp_text = st.one_of(
    iso_timestamps(),
    st.sampled_from(
        ["2026-05-05 10:00", "05/05/2026 10:00", "1 May 2026", "garbage-ts", "2026-05-05", " "]
    ),
    st.none(),
)


@st.composite
def clean_iso_timestamps(draw: st.DrawFn) -> str:
    """What ingest meets in practice: valid instants with an offset (the Arrow path)."""
    stamp = pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(
        seconds=draw(st.integers(0, 40 * 365 * 86_400)),
        microseconds=draw(st.integers(0, 999_999)),
    )
    zone = draw(st.sampled_from(["Z", "+03:00", "-04:00", "+05:30"]))
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if draw(st.booleans()):
        text += draw(st.sampled_from([".5", ".123", ".123456"]))
    return text + zone


# --- timestamps ---------------------------------------------------------------------------


@given(st.lists(timestamp_text, max_size=12))
def test_timestamps_of_arrow_text_equal_pandas_on_objects(values: list[str | None]) -> None:
    """Any column: the same instants as the pandas reading the code had, NaT included."""
    objects = pd.Series(values, dtype=object)
    arrow = pd.Series(values, dtype="string[pyarrow]")
    pd.testing.assert_series_equal(S._timestamps(arrow), S._pandas_timestamps(objects))


@given(st.lists(st.one_of(clean_iso_timestamps(), st.none()), min_size=1, max_size=12))
def test_clean_timestamp_columns_take_the_arrow_path(values: list[str | None]) -> None:
    expected = S._pandas_timestamps(pd.Series(values, dtype=object))
    with mock.patch.object(S, "_pandas_timestamps", _must_not_be_called):
        got = S._timestamps(pd.Series(values, dtype="string[pyarrow]"))
    pd.testing.assert_series_equal(got, expected)


def _must_not_be_called(values: pd.Series) -> pd.Series:
    raise AssertionError("a clean ISO column went through pandas")


def test_a_value_without_offset_keeps_the_offset_pandas_gives_it() -> None:
    """pandas reads an offset-less value in the previous value's offset; ingest keeps that."""
    values = ["2026-05-05T10:00:00+03:00", "2026-05-05 10:00:00", "2026-05-05T10:00:00Z"]
    got = S._timestamps(pd.Series(values, dtype="string[pyarrow]"))
    assert got[1] == pd.Timestamp("2026-05-05 07:00:00", tz="UTC")


# --- text and person fields ---------------------------------------------------------------


@given(st.lists(raw_text, max_size=20))
def test_text_of_arrow_and_objects_equal_the_old_strip(values: list[str | None]) -> None:
    objects = pd.Series(values, dtype=object, name="c")
    old = objects.astype("string[pyarrow]").str.strip()
    old = old.mask(old == "")
    pd.testing.assert_series_equal(S._text(objects), old)
    pd.testing.assert_series_equal(
        S._text(pd.Series(values, dtype="string[pyarrow]", name="c")), old
    )


@given(st.lists(raw_text, max_size=25))
def test_name_fields_equal_the_per_column_chain(values: list[str | None]) -> None:
    raw = S._text(pd.Series(values, dtype=object))
    got = S._map_fields(raw, S._name_fields, 6)
    name = S._map_unique(raw, N.normalize_name)
    latin = S._map_unique(name, lambda v: N.transliterate_name(v) or None)
    expected = [
        name,
        latin,
        S._map_unique(latin, N.name_skeleton),
        S._map_unique(name, N.is_transliterated),
        S._map_unique(name, lambda v: list(N.name_forms(v)) or None),
        S._map_unique(name, lambda v: N.canonical_form(N.name_forms(v))),
    ]
    for g, e in zip(got, expected, strict=True):
        pd.testing.assert_series_equal(g, e)
        assert list(map(type, g)) == list(map(type, e))
    place = S._map_unique(
        S._map_unique(raw, N.normalize_name), lambda v: N.transliterate_name(v) or None
    )
    city = S._map_unique(place, lambda v: canonical_city(v, "IL"))
    region = pd.Series(["IL"] * len(raw), index=raw.index, dtype=object)
    pd.testing.assert_series_equal(S._map_pairs(raw, region, S._city), city)


@given(
    st.lists(
        st.one_of(st.none(), emails(), st.sampled_from(["x@y", "mailto:Foo@Bar.com", " "])),
        max_size=12,
    )
)
def test_email_fields_equal_the_per_column_chain(values: list[str | None]) -> None:
    raw = S._text(pd.Series(values, dtype=object))
    email, folded = S._map_fields(raw, S._email_fields, 2)
    expected = S._map_unique(raw, N.normalize_email)
    pd.testing.assert_series_equal(email, expected)
    pd.testing.assert_series_equal(folded, S._map_unique(expected, N.fold_email))


@given(st.lists(st.one_of(st.none(), raw_text), max_size=15))
def test_codes_of_arrow_text_equal_codes_of_objects(values: list[str | None]) -> None:
    objects = S._text(pd.Series(values, dtype=object)).astype(object)
    arrow = S._text(pd.Series(values, dtype="string[pyarrow]"))
    for series in (objects, arrow):
        codes, uniques = text_codes(series)
        decoded = [None if c < 0 else uniques[c] for c in codes]
        assert decoded == [None if pd.isna(v) else v for v in objects]


# --- dates --------------------------------------------------------------------------------


@given(
    st.one_of(st.sampled_from(_DATES), st.text(alphabet="0123456789/-. :TZMaray,", max_size=16)),
    st.sampled_from([None, "US", "GB", "IL", "ca", "PH"]),
)
def test_normalize_date_equals_trying_every_format(raw: str, country: str | None) -> None:
    assert N.normalize_date(raw, country=country) == _reference_normalize_date(raw, country)


def _reference_normalize_date(raw: str, country: str | None) -> str | None:
    """``normalize_date`` on text as it was: every format tried in order, by ``strptime``."""
    import re
    from datetime import date, datetime

    text = raw.strip().replace(",", ", ").replace("  ", " ")
    text = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "", text).strip()
    month_first = (country or "").upper() in {"US", "PH", "CA"}
    day_first = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")
    month_first_formats = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
    ambiguous = month_first_formats + day_first if month_first else day_first + month_first_formats
    formats = (
        ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")
        + ambiguous
        + ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y")
    )
    parsed = None
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    if parsed is None or not (1900 <= parsed.year <= date.today().year) or parsed > date.today():
        return None
    return parsed.isoformat()


# --- whole sources: Parquet (Arrow text) against CSV (Python objects) ---------------------


@st.composite
def customer_rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    rows = []
    for i in range(draw(st.integers(1, 8))):
        phone = draw(
            st.one_of(st.none(), phones().map(lambda p: p[0]), st.sampled_from(_ODD_PHONES))
        )
        rows.append(
            {
                "customer_id": draw(st.sampled_from([f"c{i}", f"c{i}", "c0", " ", None])),
                "email": draw(st.one_of(st.none(), emails(), st.just("not-an-email"))),
                "phone": phone,
                "first_name": draw(st.one_of(st.none(), names)),
                "last_name": draw(st.one_of(st.none(), names)),
                "date_of_birth": draw(st.one_of(st.none(), st.sampled_from(_DATES))),
                "gender": draw(st.sampled_from([None, "m", "F", "x", "other", " f "])),
                "country": draw(st.sampled_from([None, "IL", "us", "GB", "United Kingdom", " "])),
                "postcode": draw(st.sampled_from([None, "sw1a1aa", "94103-1234", "6759406", "!"])),
                "city": draw(st.one_of(st.none(), st.sampled_from(["תל-אביב", "Москва", "Haifa"]))),
                "created_at": draw(timestamp_text),
                "tier": draw(st.sampled_from([None, "gold", "3"])),
            }
        )
    return rows


@st.composite
def session_rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    clean = draw(st.booleans())
    stamp = clean_iso_timestamps() if clean else timestamp_text
    return [
        {
            "session_id": draw(st.sampled_from([f"s{i}", "s0", None])),
            "started_at": draw(stamp),
            "cookie_id": draw(st.sampled_from(["k1", "k2", " ", None])),
            "device_id": draw(st.sampled_from(["d1", None])),
            "email": draw(st.one_of(st.none(), emails())),
            "phone": draw(st.one_of(st.none(), st.sampled_from(_ODD_PHONES))),
            "first_name": draw(st.one_of(st.none(), names)),
            "country": draw(st.sampled_from([None, "IL", "US"])),
            "gpc": draw(st.sampled_from([None, "1", "TRUE", "no", "maybe"])),
        }
        for i in range(draw(st.integers(1, 8)))
    ]


@st.composite
def contact_rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    return [
        {
            "contact_id": f"ct{i}",
            "channel": draw(st.sampled_from(["whatsapp", "Viber", "telegram", "pigeon", None])),
            "phone": draw(st.one_of(st.none(), st.sampled_from(_ODD_PHONES))),
            "handle": draw(st.sampled_from([None, "@Dima_K", "sasha"])),
            "display_name": draw(st.one_of(st.none(), names)),
        }
        for i in range(draw(st.integers(1, 6)))
    ]


@st.composite
def consent_rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    clean = draw(st.booleans())
    stamp = clean_iso_timestamps() if clean else timestamp_text
    return [
        {
            "subject_type": draw(st.sampled_from(["cookie", "Customer", "robot", None])),
            "subject_id": draw(st.sampled_from(["k1", "c1", " "])),
            "purpose": draw(st.sampled_from(["analytics", None])),
            "status": draw(st.sampled_from(["granted", "WITHDRAWN", "pending"])),
            "recorded_at": draw(stamp),
            "expires_at": draw(st.one_of(st.none(), stamp)),
            "evidence": draw(st.sampled_from([None, "cmp", " "])),
        }
        for _ in range(draw(st.integers(1, 6)))
    ]


def _write(folder: Path, rows: list[dict[str, str | None]]) -> tuple[Path, Path]:
    """The rows as a directory of two CSV files and as one of two Parquet files of text.

    Split alike: ingest reads a source a file at a time, and a timestamp without an offset
    that is not ISO 8601 is read in the offset of the one before it in its file (pandas).
    """
    frame = pd.DataFrame(rows, dtype=object)
    folder.mkdir(parents=True)
    csv, parts = folder / "csv", folder / "parquet"
    csv.mkdir()
    parts.mkdir()
    half = len(frame) // 2
    for i, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
        part.to_csv(csv / f"part-{i}.csv", index=False)
        part.reset_index(drop=True).to_parquet(parts / f"part-{i}.parquet", index=False)
    return csv, parts


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    customers=customer_rows(),
    sessions=session_rows(),
    contacts=contact_rows(),
    consents=consent_rows(),
)
def test_parquet_sources_ingest_as_their_csv(
    tmp_path_factory: pytest.TempPathFactory,
    customers: list[dict[str, str | None]],
    sessions: list[dict[str, str | None]],
    contacts: list[dict[str, str | None]],
    consents: list[dict[str, str | None]],
) -> None:
    """CSV columns arrive as Python objects (the per-value path), Parquet as Arrow text.

    Values are written so that both files hold the same text: CSV cannot tell
    an empty string from a missing one, so blanks are written missing.
    """
    root = tmp_path_factory.mktemp("sources")
    csv_sources, parquet_sources = [], []
    for kind, rows in (
        ("customers", customers), ("sessions", sessions), ("contacts", contacts),
        ("consents", consents),
    ):  # fmt: skip
        rows = [{k: (None if v == "" else v) for k, v in row.items()} for row in rows]
        csv, parts = _write(root / kind, rows)
        csv_sources.append(SourceConfig(name=kind, kind=kind, path=csv))
        parquet_sources.append(SourceConfig(name=kind, kind=kind, path=parts))
    from_csv = ingest_sources(sources=csv_sources, default_region="IL")
    from_parquet = ingest_sources(sources=parquet_sources, default_region="IL")
    pd.testing.assert_frame_equal(from_parquet.touchpoints, from_csv.touchpoints)
    for column in from_csv.touchpoints.columns:
        assert list(map(type, from_parquet.touchpoints[column])) == list(
            map(type, from_csv.touchpoints[column])
        ), column
    assert from_parquet.counts == from_csv.counts
    assert from_parquet.quarantine.keys() == from_csv.quarantine.keys()
    for name, rejected in from_csv.quarantine.items():
        pd.testing.assert_frame_equal(from_parquet.quarantine[name], rejected)
    for kind, frame in from_csv.activity.items():
        got = from_parquet.activity[kind]
        assert list(got.columns) == list(frame.columns)
        schema = S.KIND_SCHEMAS[kind]
        for column in (*schema.required, *schema.timestamps):
            pd.testing.assert_series_equal(got[column], frame[column])
        # Parquet keeps a column that is missing in every row as missing, CSV as text.
        for column in frame.columns:
            pd.testing.assert_series_equal(
                got[column].astype(object).where(got[column].notna(), None),
                frame[column].astype(object).where(frame[column].notna(), None),
            )


def test_parquet_text_columns_read_as_arrow_only_where_every_file_has_text(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["c1"], "email": ["a@b.co"]}).to_parquet(folder / "a.parquet")
    pd.DataFrame({"customer_id": ["c2"], "email": [None]}).to_parquet(folder / "b.parquet")
    config = SourceConfig(name="crm", kind="customers", path=folder)
    frame = S._read_source(config, text=S._text_columns("customers"))
    assert is_arrow_text(frame["customer_id"])
    assert frame["email"].dtype == object  # one file has no text type for it
    expected = S.read_source(config)
    for column in expected.columns:
        pd.testing.assert_series_equal(
            frame[column].astype(object).where(frame[column].notna(), None),
            expected[column].astype(object).where(expected[column].notna(), None),
        )
    assert np.array_equal(frame.index, expected.index)


@settings(max_examples=60, deadline=None)
@given(customers=customer_rows(), sessions=session_rows(), contacts=contact_rows())
def test_touchpoint_parts_join_as_pandas_concat_of_frames(
    customers: list[dict[str, str | None]],
    sessions: list[dict[str, str | None]],
    contacts: list[dict[str, str | None]],
) -> None:
    """``join_parts`` equals the frame concat it replaced, dtypes (``ts``) included, and
    takes each column out of the parts as it joins it."""
    parts = []
    for kind, rows in (("customers", customers), ("sessions", sessions), ("contacts", contacts)):
        config = SourceConfig(name=kind, kind=kind, path=Path("."))
        raw = pd.DataFrame(rows, dtype=object)
        for column in (
            *S.KIND_SCHEMAS[config.kind].required,
            *S.KIND_SCHEMAS[config.kind].optional,
        ):
            if column not in raw:
                raw[column] = None
        valid, _, _ = S._validate(config, raw)
        if len(valid):  # with an empty part, join_parts is the frame concat itself
            parts.append(S._touchpoints(config, valid, default_region="IL", dropped={}))
    if not parts:
        return
    expected = pd.concat([part.copy() for part in parts], ignore_index=True)
    got = join_parts(parts)
    pd.testing.assert_frame_equal(got, expected)
    # consumed as joined: no column is held twice over (issue #14)
    assert all(part.columns.empty for part in parts)
    for column in expected.columns:
        assert list(map(type, got[column])) == list(map(type, expected[column])), column
