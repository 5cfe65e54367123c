"""Ingest: read the configured sources, validate, quarantine, normalise.

Every source is a CSV or Parquet file, or a directory of them, of one *kind*
(SPEC §3). A source may map its own column names onto the canonical ones.
Rows that cannot be used are never dropped silently: each goes to the
quarantine with a reason (a CSV row that is not text in the source's
``encoding`` too: ``undecodable``, the rest of the file is used), and the
reconciliation
``rows_in = rows_used + rows_quarantined + rows_suppressed`` holds for every
source (suppressed: rows of erased persons, ``resolver.suppression``).

Linked kinds (customers, sessions, devices, contacts) become one
*touchpoints* table with normalised identifiers and person fields; the
activity kinds (events, interactions, consents) are validated and returned as
they are, for the later steps.

Numeric dates that are not ISO 8601 (``03/04/1980``) are read in the
source's ``date_order`` (DMY, MDY or YMD) in every date and timestamp
column alike; without one, in the order of the row's country (dates of
birth) or of ``default_region`` (timestamps), and a value that reads as two
different real dates is counted in ``SourceCounts.ambiguous_dates``.
"""

from __future__ import annotations

import codecs
import gc
import json
import logging
import re
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.arrays import ArrowStringArray

from resolver.channels import CHANNELS as CAPABILITIES
from resolver.errors import InputError, SourceSchemaError
from resolver.frames import join_parts, no_rows
from resolver.normalize import (
    DATE_ORDERS,
    DateOrder,
    canonical_form,
    fold_email,
    is_transliterated,
    name_forms,
    name_generation,
    name_skeleton,
    normalize_address,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    region_date_order,
    transliterate_name,
)
from resolver.places import canonical_city, fold_city
from resolver.progress import NULL_PROGRESS, Progress
from resolver.shared_text import (
    arrow_array,
    is_arrow_text,
    repeated,
    shared_objects,
    take_values,
    text_codes,
)
from resolver.suppression import Suppression, suppressed_rows
from resolver.vocabulary import CONSENT_STATUSES, SUBJECT_TYPES

__all__ = [
    "KIND_SCHEMAS",
    "LINKED_KINDS",
    "IngestResult",
    "SourceConfig",
    "SourceCounts",
    "SourceKind",
    "TOUCHPOINT_COLUMNS",
    "TOUCHPOINT_SCHEMA",
    "ingest_sources",
    "normalize_record",
    "read_source",
]

logger = logging.getLogger(__name__)

SourceKind = Literal[
    "customers", "sessions", "devices", "contacts", "events", "interactions", "consents"
]
LINKED_KINDS: tuple[SourceKind, ...] = ("customers", "sessions", "devices", "contacts")


@dataclass(frozen=True, slots=True)
class KindSchema:
    """Canonical columns of a source kind (SPEC §3)."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: str | None = None
    timestamps: tuple[str, ...] = ()


KIND_SCHEMAS: dict[SourceKind, KindSchema] = {
    "customers": KindSchema(
        required=("customer_id",),
        optional=(
            "email", "phone", "first_name", "last_name", "date_of_birth", "gender", "address",
            "city", "postcode", "country", "created_at", "national_id",
        ),
        key="customer_id",
        timestamps=("created_at",),
    ),
    "sessions": KindSchema(
        required=("session_id", "started_at"),
        optional=(
            "cookie_id", "device_id", "ip", "user_agent", "customer_id", "email", "phone",
            "first_name", "last_name", "postcode", "city", "country", "tc_string", "gpc",
        ),
        key="session_id",
        timestamps=("started_at",),
    ),
    "devices": KindSchema(
        required=("device_id",),
        optional=(
            "first_seen", "last_seen", "ad_id", "platform", "ip", "customer_id", "email", "phone",
        ),
        key="device_id",
        timestamps=("first_seen", "last_seen"),
    ),
    "contacts": KindSchema(
        required=("contact_id", "channel"),
        optional=("phone", "handle", "display_name", "email", "customer_id"),
        key="contact_id",
    ),
    "events": KindSchema(
        required=("subject_type", "subject_id", "ts", "event_type"),
        optional=("category", "url", "value", "channel"),
        timestamps=("ts",),
    ),
    "interactions": KindSchema(
        required=("customer_id", "ts", "kind"),
        optional=("outcome", "value"),
        timestamps=("ts",),
    ),
    "consents": KindSchema(
        required=("subject_type", "subject_id", "purpose", "status", "recorded_at"),
        optional=("source", "evidence", "expires_at", "event_id"),
        timestamps=("recorded_at", "expires_at"),
    ),
}  # fmt: skip

#: Contact channels a ``contacts`` row may name: those of the capability table (``resolver.channels``).
CHANNELS = frozenset(CAPABILITIES)
#: Channels whose contact phone numbers are international even without "+".
INTERNATIONAL_CHANNELS = frozenset({"whatsapp", "viber"})

#: Columns of the touchpoints table, in order.
TOUCHPOINT_COLUMNS: tuple[str, ...] = (
    "record_id", "source", "kind", "record_key", "ts",
    "subject_type", "subject_id",
    "customer_id", "cookie_id", "device_id", "ad_id", "channel", "handle", "ip", "user_agent",
    "email", "email_folded", "phone",
    "first_name", "last_name", "first_latin", "last_latin", "first_skeleton", "last_skeleton",
    "first_translit", "last_translit",
    "first_forms", "first_canon", "generation", "dob", "gender", "address", "postcode", "city", "country", "national_id",
    "tc_string", "gpc", "attributes",
)  # fmt: skip

_TOUCHPOINT_TYPES: Mapping[str, pa.DataType] = {
    "record_id": pa.int64(),
    "ts": pa.timestamp("us", tz="UTC"),
    "first_translit": pa.bool_(),
    "last_translit": pa.bool_(),
    "first_forms": pa.list_(pa.string()),
    "gpc": pa.bool_(),
}
TOUCHPOINT_SCHEMA = pa.schema(
    [(name, _TOUCHPOINT_TYPES.get(name, pa.string())) for name in TOUCHPOINT_COLUMNS]
)
"""The touchpoints' Arrow types, every column text but these: the same for every source and
chunk, so that the run writes each chunk as it comes (a column a source lacks is missing
values of its type, not a column of nulls). Times in microseconds, as the run stores them
(Spark reads no finer), whether a source's times came in nanoseconds (text) or in
microseconds (a typed Parquet column, whose 9999-12-31 nanoseconds cannot hold)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceConfig:
    """One configured input source: ``[sources.NAME]`` in ``tether.toml``.

    Declared once: the keys a ``[sources.NAME]`` table takes, their TOML
    types, the table of them in ``docs/configuration.md`` and their
    validation all follow these fields (``help`` in each field's metadata;
    ``name`` is the table's name, not a key).
    """

    name: str
    """The source's name; it is the ``source`` of every record downstream."""
    kind: SourceKind = field(
        metadata={"help": "what the rows are: " + ", ".join(get_args(SourceKind))}
    )
    path: Path = field(
        metadata={
            "help": "a CSV or Parquet file, or a directory of them; relative to the config file"
        }
    )
    columns: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"help": "canonical column name = the column's name in the file"},
    )
    """Canonical column name -> the column's name in the file."""
    encoding: str = field(
        default="utf-8",
        metadata={
            "help": "text encoding of CSV files (`latin-1`, `cp1252`, ...); a row that is not "
            "text in it is quarantined as `undecodable`"
        },
    )
    date_order: DateOrder | None = field(
        default=None,
        metadata={
            "help": "how numeric dates that are not ISO 8601 are written: "
            + ", ".join(f"`{o}`" for o in DATE_ORDERS)
            + "; unset: the region's order, ambiguous values counted"
        },
    )

    def __post_init__(self) -> None:
        if self.kind not in get_args(SourceKind):
            raise SourceSchemaError(
                f"source `{self.name}`: unknown kind `{self.kind}`; "
                f"known kinds: {', '.join(get_args(SourceKind))}",
                source=self.name,
            )
        schema = KIND_SCHEMAS[self.kind]
        known = set(schema.required) | set(schema.optional)
        unknown = sorted(set(self.columns) - known)
        if unknown:
            raise SourceSchemaError(
                f"source `{self.name}`: column mapping names unknown canonical column(s) "
                f"{', '.join(unknown)}; a `{self.kind}` source has {', '.join(sorted(known))}",
                source=self.name,
                columns=unknown,
            )
        try:
            codecs.lookup(self.encoding)
        except (LookupError, TypeError):
            raise SourceSchemaError(
                f"source `{self.name}`: unknown encoding `{self.encoding}` "
                "(Python codec names: utf-8, latin-1, cp1252, ...)",
                source=self.name,
            ) from None
        if self.date_order is not None and self.date_order not in DATE_ORDERS:
            raise SourceSchemaError(
                f"source `{self.name}`: date_order must be one of {', '.join(DATE_ORDERS)}",
                source=self.name,
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceCounts:
    """Reconciliation: ``rows_in = rows_used + rows_quarantined + rows_suppressed``."""

    source: str
    kind: str
    rows_in: int
    rows_used: int
    rows_quarantined: int
    reasons: dict[str, int]
    """Quarantine reason -> rows."""
    dropped_values: dict[str, int]
    """Field -> values present but unusable (an invalid email, say); the row is kept."""
    rows_suppressed: int = 0
    """Rows of erased persons (``resolver.suppression``): dropped, counted, never written."""
    ambiguous_dates: dict[str, int] = field(default_factory=dict)
    """Date column -> used values that read as two real dates (``03/04/1980``) and were
    read in the region's order because the source declares no ``date_order``."""

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_used + self.rows_quarantined + self.rows_suppressed


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestResult:
    """What ingest produced: touchpoints, validated activity, quarantine, counts."""

    touchpoints: pd.DataFrame
    """One row per usable linked record; columns ``TOUCHPOINT_COLUMNS``."""
    activity: dict[str, pd.DataFrame]
    """Kind (events, interactions, consents) -> validated rows of all such sources."""
    quarantine: dict[str, pd.DataFrame]
    """Source -> quarantined rows (original columns, all as text) plus ``_row`` and ``_reason``."""
    counts: list[SourceCounts]


def read_source(config: SourceConfig) -> pd.DataFrame:
    """Read a source's rows with canonical column names.

    CSV is read as text in the source's ``encoding`` (a phone number keeps its
    leading zero; a row that does not decode is kept with its bytes escaped,
    ``Ren\\xe9e``, and ingest quarantines it); Parquet keeps its types.
    Unknown columns are kept. Raises ``SourceSchemaError`` when the path is
    missing or a required or mapped column is absent.
    """
    return _read_source(config, text=())


def _read_source(config: SourceConfig, *, text: Collection[str]) -> pd.DataFrame:
    """The whole source at once, as ingest reads it a chunk at a time (``_read_chunks``):
    the canonical columns ``text`` of Parquet string type stay Arrow text, and those of
    Parquet integers are read as their digits."""
    chunks = [chunk.rows for chunk in _read_chunks(config, text=text)]
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def _canonical(
    frame: pd.DataFrame, config: SourceConfig, *, columns: Sequence[str]
) -> pd.DataFrame:
    """``frame`` (rows of the source's files, whose columns are ``columns`` or some of them)
    with canonical names, every canonical column present. Raises ``SourceSchemaError`` when
    a mapped or required column is absent from ``columns``."""
    schema = KIND_SCHEMAS[config.kind]
    missing_mapped = sorted(c for c in config.columns.values() if c not in columns)
    if missing_mapped:
        raise SourceSchemaError(
            f"source `{config.name}`: mapped column(s) {', '.join(missing_mapped)} "
            f"not found in {config.path}; the file has {', '.join(map(str, columns))}",
            source=config.name,
            columns=missing_mapped,
        )
    rename = {file_col: canonical for canonical, file_col in config.columns.items()}
    canonical = [rename.get(c, c) for c in columns]
    missing = [c for c in schema.required if c not in canonical]
    if missing:
        raise SourceSchemaError(
            f"source `{config.name}` ({config.kind}): required column(s) "
            f"{', '.join(missing)} missing in {config.path}; map them under "
            f"[sources.{config.name}.columns] if the file names them differently",
            source=config.name,
            columns=missing,
        )
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame.index = pd.RangeIndex(len(frame))  # a Parquet file's stored index: row numbers
    if list(frame.columns) != list(columns):  # a file without some of the source's columns
        frame = frame.reindex(columns=list(columns), copy=False)
    if rename:
        frame = frame.rename(columns=rename, copy=False)
    for column in (*schema.required, *schema.optional):
        if column not in frame.columns:
            frame[column] = None
    return frame


#: Rows ingest reads, checks and normalises at a time: a file, or a Parquet file's row
#: groups up to this many rows. The rows of 8 M web sessions read, checked and normalised
#: at once were about 9 GiB of ingest's peak at 10 M touchpoints (issue #14).
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Rows of a source read together: canonical columns, a ``RangeIndex``."""

    rows: pd.DataFrame
    undecodable: np.ndarray
    """Per row, whether it was not text in the source's encoding (CSV)."""
    first_row: int
    """How many of the source's rows came before (its files in order)."""


def _read_chunks(
    config: SourceConfig, *, text: Collection[str], rows: int | None = None
) -> Iterator[_Chunk]:
    """The source's rows a file (or a Parquet file's row groups up to ``rows`` rows, default
    ``CHUNK_ROWS``) at a time, with canonical column names; ``text``: the canonical columns
    ingest reads only as text (``_text_columns``).

    Every chunk has the source's columns (those of all its files, in order of appearance, as
    ``pd.concat`` of the files lines them up), missing values where its file has none. A
    Parquet column of text that holds integers is read as their text (``123``, where pandas
    would give ``123.0`` in a chunk with a missing value and ``123`` in one without).
    Parquet columns that are text in every file stay Arrow text. Raises
    ``SourceSchemaError`` before any row is read when a mapped or required column is absent
    from every file.

    A chunk is handed over, not kept: the generator holds none of its rows while the caller
    works on them.
    """
    files = _source_files(config)
    named = {config.columns.get(c, c) for c in text}
    integers = named - {config.columns.get(c, c) for c in KIND_SCHEMAS[config.kind].timestamps}
    wanted = set(named)
    parquet = all(path.suffix.lower() == ".parquet" for path in files)
    columns: dict[str, None] = {}
    for path in files:
        if path.suffix.lower() == ".parquet":
            schema = pq.read_schema(path)
            index = _parquet_index_columns(schema)
            columns.update((f.name, None) for f in schema if f.name not in index)
            # Only columns that are text in every file: their parts line up as they did.
            wanted &= {
                f.name
                for f in schema
                if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            }
        else:
            columns.update((c, None) for c in _csv_header(path, encoding=config.encoding))
    if not parquet:
        wanted = set()
    names = list(columns)
    _canonical(pd.DataFrame(columns=names), config, columns=names)  # the schema errors first
    first_row = 0
    chunk: list[_Chunk] = []  # the one being handed over: given, then not held here
    for path in files:
        if path.suffix.lower() == ".parquet":
            with pq.ParquetFile(path) as file:
                for groups in _row_group_runs(file.metadata, rows=rows or CHUNK_ROWS):
                    table = file.read_row_groups(groups, use_pandas_metadata=True)
                    chunk.append(
                        _Chunk(
                            rows=_canonical(
                                _parquet_frame(_integers_as_text(table, integers), text=wanted),
                                config,
                                columns=names,
                            ),
                            undecodable=np.zeros(table.num_rows, dtype=bool),
                            first_row=first_row,
                        )
                    )
                    first_row += table.num_rows
                    del table
                    yield chunk.pop()
        else:
            frame, bad = _read_csv(path, encoding=config.encoding)
            n = len(frame)
            chunk.append(
                _Chunk(
                    rows=_canonical(frame, config, columns=names),
                    undecodable=bad if bad is not None else np.zeros(n, dtype=bool),
                    first_row=first_row,
                )
            )
            del frame, bad
            first_row += n
            yield chunk.pop()


def _integers_as_text(table: pa.Table, names: Collection[str]) -> pa.Table:
    """``table`` with its integer columns among ``names`` as their decimal text (and pandas'
    metadata saying so, where it named an integer dtype)."""
    cast: set[str] = set()
    for position, column in enumerate(table.schema):
        if column.name in names and pa.types.is_integer(column.type):
            values = table.column(position).cast(pa.string())
            table = table.set_column(position, column.name, values)
            cast.add(column.name)
    meta = table.schema.pandas_metadata
    if not cast or meta is None:
        return table
    for entry in meta.get("columns", []):
        if entry.get("name") in cast:
            entry.update(pandas_type="unicode", numpy_type="object", metadata=None)
    return table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"pandas": json.dumps(meta).encode()}
    )


def _csv_header(path: Path, *, encoding: str) -> list[str]:
    """A CSV file's column names; ``InputError`` when it is not CSV or its header is not text
    in ``encoding`` (as ``_read_csv``)."""
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding, encoding_errors="surrogateescape")
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV file ({type(exc).__name__})") from exc
    names = [str(c) for c in header.columns]
    if any(re.search(_UNDECODED, name) for name in names):
        raise InputError(
            f"{path}: the header line is not {encoding} text; set the source's `encoding`"
        )
    return names


def _parquet_index_columns(schema: pa.Schema) -> set[str]:
    """The columns a Parquet file written by pandas stores its index in (not rows' values)."""
    meta = schema.pandas_metadata or {}
    return {c for c in meta.get("index_columns", []) if isinstance(c, str)}


def _row_group_runs(metadata: pq.FileMetaData, *, rows: int) -> Iterator[list[int]]:
    """A Parquet file's row groups in runs of up to ``rows`` rows (at least one group each)."""
    run: list[int] = []
    size = 0
    for group in range(metadata.num_row_groups):
        count = metadata.row_group(group).num_rows
        if run and size + count > rows:
            yield run
            run, size = [], 0
        run.append(group)
        size += count
    if run or metadata.num_row_groups == 0:
        yield run


def _source_files(config: SourceConfig) -> list[Path]:
    path = config.path
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".parquet") and p.is_file()
        )
        if not files:
            raise InputError(
                f"source `{config.name}`: directory {path} has no .csv or .parquet files",
                source=config.name,
            )
        return files
    if not path.exists():
        raise InputError(f"source `{config.name}`: {path} does not exist", source=config.name)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(
            f"source `{config.name}`: {path} is neither .csv nor .parquet", source=config.name
        )
    return [path]


#: A byte that did not decode, as ``surrogateescape`` keeps it (U+DC80-U+DCFF).
_UNDECODED = "[\udc80-\udcff]"


def _read_csv(path: Path, *, encoding: str) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A CSV as text, every row that decodes in ``encoding`` as it is.

    The whole file is read at once when it decodes (the common case, no
    cost added). Otherwise it is read again keeping each undecodable byte
    (``surrogateescape``): the rows holding one are marked, and their values
    show the byte escaped (``Ren\\xe9e``) for the quarantine, so one bad
    byte costs one row, named by its number, not the file.
    """
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    try:
        try:
            return pd.read_csv(path, encoding=encoding, **options), None
        except UnicodeDecodeError:
            frame = pd.read_csv(
                path, encoding=encoding, encoding_errors="surrogateescape", **options
            )
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV file ({type(exc).__name__})") from exc
    if any(re.search(_UNDECODED, str(column)) for column in frame.columns):
        raise InputError(
            f"{path}: the header line is not {encoding} text; set the source's `encoding`"
        )
    bad = np.zeros(len(frame), dtype=bool)
    for column in frame.columns:
        values = frame[column]
        hit = values.str.contains(_UNDECODED, regex=True, na=False).to_numpy(dtype=bool)
        if hit.any():
            bad |= hit
            frame[column] = values.where(
                ~hit,
                values[hit].map(
                    lambda v: v.encode(encoding, "surrogateescape").decode(
                        encoding, "backslashreplace"
                    )
                ),
            )
    return frame, bad


def _parquet_frame(table: pa.Table, *, text: Collection[str]) -> pd.DataFrame:
    """``table.to_pandas()``, except that string columns named in ``text`` stay Arrow text."""
    frame: pd.DataFrame
    arrow_text = [
        name
        for name, typ in zip(table.column_names, table.schema.types, strict=True)
        if name in text and (pa.types.is_string(typ) or pa.types.is_large_string(typ))
    ]
    if not arrow_text or len(set(table.column_names)) != len(table.column_names):
        frame = table.to_pandas()
    else:
        # The other columns convert exactly as pandas converts them, index included.
        frame = table.drop_columns(arrow_text).to_pandas()
        for position, name in enumerate(table.column_names):
            if name in arrow_text:
                text_values = ArrowStringArray(table.column(name))
                frame.insert(position, name, pd.Series(text_values, index=frame.index, copy=False))
    metadata = table.schema.metadata or {}
    if b"PANDAS_ATTRS" in metadata:
        frame.attrs = json.loads(metadata[b"PANDAS_ATTRS"])
    return frame


def ingest_sources(
    *,
    sources: Sequence[SourceConfig],
    default_region: str = "GB",
    suppression: Suppression | None = None,
    progress: Progress = NULL_PROGRESS,
    on_activity: Callable[[str, pd.DataFrame], bool] | None = None,
    on_touchpoints: Callable[[pd.DataFrame], bool] | None = None,
) -> IngestResult:
    """Read, validate and normalise every source.

    Args:
        sources: the configured sources; names must be unique.
        default_region: ISO country for phone numbers written without a
            country code when the row has no ``country``.
        suppression: erased persons' subjects and identifiers; their rows
            are dropped before validation and only counted.
        progress: receives one step per source.
        on_activity: given the validated rows of an activity kind (events, interactions,
            consents) a chunk at a time, in order, as soon as each is read; it returns
            whether it took them (the result then leaves them out). The run writes every
            kind to its directory there, so that none is held while the other sources
            are read (at 10 M touchpoints, 23 M events: about 7 GiB read and checked at
            once; 11 M consents, 2.3 GiB held to the consent step, issue #14).
        on_touchpoints: given the touchpoints a chunk at a time, numbered and in order, as
            soon as each is normalised; it returns whether it took them (the result then
            leaves them out). The run writes them to its directory there, so that no
            source's touchpoints are held while the next is read (held to the last linked
            source, 10 M touchpoints were ingest's peak, issue #14).

    Sources are read a chunk at a time (``_read_chunks``: a file, or up to ``CHUNK_ROWS``
    rows of a Parquet file); every rule reads a row alone, except the duplicate key, which
    is checked across the chunks of the source. A timestamp without an offset that is not
    ISO 8601 is read in the offset of the value before it in its chunk (pandas' reading).

    Returns:
        The touchpoints of all linked sources that ``on_touchpoints`` did not take
        (``record_id`` numbers every linked source's touchpoints 0..n-1 in the order
        read, taken or not), validated activity tables, the quarantine
        and per-source counts.
    """
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceSchemaError(
            f"source name(s) {', '.join(duplicates)} configured twice", sources=duplicates
        )
    touch_parts: list[pd.DataFrame] = []
    next_record_id = 0  # the touchpoints are numbered in the order they are read
    activity_parts: dict[str, list[pd.DataFrame]] = {}
    activity: dict[str, pd.DataFrame] = {}
    taken: pd.DataFrame | None = None  # no rows: the columns of the touchpoints handed over
    # Sources are read in ``_READ_ORDER`` of their kinds, each kind's in the order configured;
    # the results keep the configured order.
    order = sorted(range(len(sources)), key=lambda i: _READ_ORDER.index(sources[i].kind))
    quarantined: dict[int, pd.DataFrame] = {}
    counted: dict[int, SourceCounts] = {}
    for position in order:
        config = sources[position]
        progress.start(f"ingest:{config.name}")
        tally = _Tally()
        seen = _SeenKeys() if KIND_SCHEMAS[config.kind].key is not None else None
        rejected_parts: list[pd.DataFrame] = []
        # a chunk at a time: its raw, checked and normalised rows are let go before the next
        for chunk in _read_chunks(config, text=_text_columns(config.kind)):
            raw, undecodable = chunk.rows, chunk.undecodable
            tally.rows_in += len(raw)
            if suppression:
                hit = suppressed_rows(raw, suppression=suppression, default_region=default_region)
                tally.rows_suppressed += int(hit.sum())
                if hit.any():
                    raw = raw.loc[~hit]  # keep the index: quarantine rows keep their row numbers
                    undecodable = undecodable[~np.asarray(hit, dtype=bool)]
            ambiguous: dict[str, int] = {}
            valid, rejected, reasons = _validate(
                config,
                raw,
                undecodable=undecodable,
                default_region=default_region,
                ambiguous=ambiguous,
                seen=seen,
                first_row=chunk.first_row,
            )
            del raw, chunk  # what the checks kept is in ``valid``
            tally.rows_used += len(valid)
            tally.add(reasons=reasons)
            if len(rejected):
                rejected_parts.append(rejected)
            del rejected
            if config.kind in LINKED_KINDS:
                dropped: dict[str, int] = {}
                touch = _touchpoints(
                    config,
                    valid,
                    default_region=default_region,
                    dropped=dropped,
                    ambiguous=ambiguous,
                )
                del valid  # normalised into ``touch``: not held while the next chunk is read
                touch = _numbered(touch, start=next_record_id)
                next_record_id += len(touch)
                if on_touchpoints is None or not on_touchpoints(touch):
                    touch_parts.append(touch)
                elif taken is None:
                    taken = no_rows(touch)
                del touch
                tally.add(dropped=dropped)
            else:
                valid["source"] = config.name  # valid is this step's own frame, with a RangeIndex
                if on_activity is None or not on_activity(config.kind, valid):
                    activity_parts.setdefault(config.kind, []).append(valid)
                del valid
            tally.add(ambiguous=ambiguous)
            # Arrow's allocator keeps what the chunk's text freed for its next allocation
            pa.default_memory_pool().release_unused()
        gc.collect()  # the source's frames in reference cycles (pandas' own), not left to wait
        if rejected_parts:
            quarantined[position] = pd.concat(rejected_parts, ignore_index=True)
        del rejected_parts
        counted[position] = tally.counts(config)
        logger.info(
            "ingested source=%s kind=%s rows_in=%d used=%d quarantined=%d suppressed=%d",
            config.name,
            config.kind,
            tally.rows_in,
            tally.rows_used,
            counted[position].rows_quarantined,
            tally.rows_suppressed,
        )
        progress.finish(f"ingest:{config.name}", rows=tally.rows_in)
    for kind, parts in activity_parts.items():
        activity[kind] = join_parts(parts)
    del activity_parts
    quarantine = {sources[i].name: quarantined[i] for i in sorted(quarantined)}
    counts = [counted[i] for i in sorted(counted)]
    if touch_parts:
        touchpoints = join_parts(touch_parts)
    elif taken is not None:  # every chunk was taken
        touchpoints = taken
    else:  # no linked source (one without a usable row still gives a chunk of none)
        touchpoints = _numbered(
            pd.DataFrame({c: pd.Series(dtype=object) for c in TOUCHPOINT_COLUMNS}), start=0
        )
    return IngestResult(
        touchpoints=touchpoints,
        activity=activity,
        quarantine=quarantine,
        counts=counts,
    )


def _numbered(touchpoints: pd.DataFrame, *, start: int) -> pd.DataFrame:
    """The touchpoints with ``record_id`` (``start``, ``start`` + 1, ...) and the columns in
    their order."""
    touchpoints["record_id"] = np.arange(start, start + len(touchpoints), dtype=np.int64)
    if list(touchpoints.columns) != list(TOUCHPOINT_COLUMNS):
        touchpoints = touchpoints[list(TOUCHPOINT_COLUMNS)]
    return touchpoints


@dataclass(slots=True)
class _Tally:
    """A source's counts, summed over its chunks."""

    rows_in: int = 0
    rows_used: int = 0
    rows_suppressed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    ambiguous: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        *,
        reasons: Mapping[str, int] = {},  # noqa: B006 (read, never written)
        dropped: Mapping[str, int] = {},  # noqa: B006
        ambiguous: Mapping[str, int] = {},  # noqa: B006
    ) -> None:
        for into, counts in (
            (self.reasons, reasons),
            (self.dropped, dropped),
            (self.ambiguous, ambiguous),
        ):
            for key, count in counts.items():
                into[key] = into.get(key, 0) + count

    def counts(self, config: SourceConfig) -> SourceCounts:
        return SourceCounts(
            source=config.name,
            kind=config.kind,
            rows_in=self.rows_in,
            rows_used=self.rows_used,
            rows_quarantined=sum(self.reasons.values()),
            reasons=dict(sorted(self.reasons.items())),
            dropped_values=dict(sorted(self.dropped.items())),
            rows_suppressed=self.rows_suppressed,
            ambiguous_dates=dict(sorted(self.ambiguous.items())),
        )


class _SeenKeys:
    """The keys of a source's usable rows in the chunks read so far, for the duplicate-key
    rule across chunks.

    Each chunk's keys are kept as Arrow text, and as their sorted 64-bit hashes for a
    first test: only a key whose hash was seen is compared with the keys themselves. At
    8 M web sessions that is about 0.3 GiB, where a Python set of the keys took 0.8.
    """

    def __init__(self) -> None:
        self._keys: list[pa.Array] = []
        self._hashes: list[np.ndarray] = []

    def seen(self, keys: pd.Series) -> np.ndarray:
        """Per key (present, as text), whether an earlier chunk kept it."""
        values = _as_arrow_text(keys)
        maybe = np.zeros(len(values), dtype=bool)
        if not self._keys or not len(values):
            return maybe
        hashes = _hashes(values)
        for earlier in self._hashes:
            at = np.searchsorted(earlier, hashes).clip(max=len(earlier) - 1)
            maybe |= earlier[at] == hashes
        if not maybe.any():
            return maybe
        # the keys whose hash was seen, compared with the earlier keys themselves
        candidates = values.filter(pa.array(maybe))
        known = [k.filter(pc.is_in(k, value_set=candidates)) for k in self._keys]
        found = pc.is_in(values, value_set=pa.concat_arrays(known))
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)

    def add(self, keys: pd.Series) -> None:
        """Remember ``keys`` (present, as text): the usable rows' of one chunk."""
        values = _as_arrow_text(keys)
        if len(values):
            self._keys.append(values)
            self._hashes.append(np.sort(_hashes(values)))


def _as_arrow_text(keys: pd.Series) -> pa.Array:
    text = keys if is_arrow_text(keys) else keys.astype("string[pyarrow]")
    return arrow_array(text).combine_chunks().cast(pa.large_string())


def _hashes(values: pa.Array) -> np.ndarray:
    return pd.util.hash_array(np.asarray(values.to_numpy(zero_copy_only=False), dtype=object))


#: The order in which ingest reads the kinds of source. The events and interactions first:
#: the run writes them away as soon as they are read, so they are read while nothing else is
#: held (at 10 M touchpoints 23 M events were read and checked beside 4 GiB of touchpoints,
#: ingest's peak, issue #14). The consents last: a caller that holds them (``tether consent
#: import``) holds them only while nothing else is read.
_READ_ORDER: tuple[SourceKind, ...] = ("events", "interactions", *LINKED_KINDS, "consents")


def _text_columns(kind: SourceKind) -> frozenset[str]:
    """Canonical columns that ingest reads only as text (``_text``, ``_timestamps``).

    Those may be read as Arrow text (``_read_chunks``). An activity source's
    optional and unknown columns are handed on as read, so they are not among them;
    its timestamps are parsed whatever their type.
    """
    schema = KIND_SCHEMAS[kind]
    if kind in LINKED_KINDS:
        columns = {*schema.required, *schema.optional}
    else:
        columns = {*schema.required, *schema.timestamps}
    return frozenset(columns)


def normalize_record(fields: Mapping[str, object], *, default_region: str) -> dict[str, object]:
    """One person's fields normalised exactly as ingest normalises a CRM row.

    For the real-time identify call, where the frame path of ingest costs
    about 100 ms for a single row: the same scalar normalisers in the same
    order, without pandas (a property test pins both paths equal). The
    request's email, phone, names, date of birth, postcode and city become
    the touchpoint columns the model and the exact index use (``email``,
    ``email_folded``, ``phone``, ``first_latin``, ``dob``...). Unknown keys
    are ignored; values that do not normalise become ``None``.
    """

    def text(key: str) -> str | None:
        value = fields.get(key)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        stripped = str(value).strip()
        return stripped or None

    country = text("country")
    country = country.upper() if country else None
    region = country if country and len(country) == 2 else default_region
    email = normalize_email(text("email")) if text("email") else None
    phone_raw = text("phone")
    out: dict[str, object] = {
        "country": country,
        "email": email,
        "email_folded": fold_email(email) if email is not None else None,
        "phone": normalize_phone(phone_raw, region=region) if phone_raw else None,
    }
    for part in ("first", "last"):
        raw = text(f"{part}_name")
        name = normalize_name(raw) if raw else None
        latin = (transliterate_name(name) or None) if name is not None else None
        out[f"{part}_name"] = name
        out[f"{part}_latin"] = latin
        out[f"{part}_skeleton"] = name_skeleton(latin) if latin is not None else None
        out[f"{part}_translit"] = is_transliterated(name) if name is not None else None
    first_name = out["first_name"]
    forms = name_forms(first_name) if isinstance(first_name, str) else None
    out["first_forms"] = list(forms) if forms else None
    out["first_canon"] = canonical_form(forms) if forms else None
    out["generation"] = name_generation(text("last_name")) or name_generation(text("first_name"))
    gender = text("gender")
    gender = gender.upper()[:1] if gender else None
    out["gender"] = gender if gender in ("M", "F", "X") else None
    dob = text("date_of_birth")
    out["dob"] = normalize_date(dob, country=region) if dob else None
    postcode = text("postcode")
    out["postcode"] = normalize_postcode(postcode, country=region) if postcode else None
    city = text("city")
    out["city"] = _city(city, region) if city else None
    out["address"] = normalize_address(text("address"))
    national = text("national_id")
    national = re.sub(r"[^0-9A-Z]", "", national.upper()) if national else None
    out["national_id"] = national or None
    ad_id = text("ad_id")
    out["ad_id"] = ad_id.lower() if ad_id else None
    return out


# --- validation ---------------------------------------------------------------------------


def _text(series: pd.Series) -> pd.Series:
    """Strip text; empty strings become missing. Non-text values become their text.

    Arrow-backed strings: trimming a million values is one Arrow kernel, not a
    million Python calls; a column that is Arrow text already is not converted.
    """
    if not is_arrow_text(series):
        series = series.astype("string[pyarrow]")
    stripped = pc.utf8_trim_whitespace(arrow_array(series))
    blank = pc.equal(stripped, "")
    out = pc.if_else(blank, pa.scalar(None, stripped.type), stripped)
    return pd.Series(ArrowStringArray(out), index=series.index, name=series.name, copy=False)


def _timestamps(
    values: pd.Series, *, order: DateOrder | None = None, month_first: bool = False
) -> pd.Series:
    """Parse timestamps to UTC: ISO 8601 in one vectorised pass, other formats one by one.

    A column of Arrow text whose every value has the shape ``_ISO_SHAPE``
    (``YYYY-MM-DD[T ]hh:mm:ss[.f](Z|+hh:mm)``) is cast by Arrow, without a
    Python object per value; Arrow refuses the whole column if one value is not
    a real instant. Any other column goes through pandas whole
    (``_pandas_timestamps``): pandas reads a value without an offset in the
    offset of the value before it, so a value's instant can depend on its
    neighbours, and only a column read whole keeps that (ingest reads a chunk of
    a source whole: a file, or a run of a Parquet file's row groups). Numeric dates are
    read in ``order`` (``_iso_dates``; without one, month first if
    ``month_first``).
    """
    return _read_timestamps(values, order=order, month_first=month_first)[0]


def _read_timestamps(
    values: pd.Series, *, order: DateOrder | None, month_first: bool
) -> tuple[pd.Series, np.ndarray]:
    """``_timestamps``, and which values were numeric dates read in a guessed order."""
    if is_arrow_text(values) and len(values):
        array = arrow_array(values)
        shaped = pc.match_substring_regex(array, _ISO_SHAPE)
        if pc.all(shaped).as_py() is not False:  # True, or null: no values at all
            try:
                stamps = array.cast(pa.timestamp("ns", tz="UTC"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            else:
                parsed = pd.Series(stamps.to_pandas(), index=values.index, name=values.name)
                return parsed, np.zeros(len(values), dtype=bool)
        values = pd.Series(
            array.to_numpy(zero_copy_only=False), index=values.index, name=values.name, dtype=object
        )
    return _pandas_read(values, order=order, month_first=month_first)


def _pandas_timestamps(
    values: pd.Series, *, order: DateOrder | None = None, month_first: bool = False
) -> pd.Series:
    return _pandas_read(values, order=order, month_first=month_first)[0]


def _pandas_read(
    values: pd.Series, *, order: DateOrder | None, month_first: bool
) -> tuple[pd.Series, np.ndarray]:
    """pandas' ISO 8601 reading; the values it cannot read are read again, numeric dates
    in ``order`` (``_iso_dates``), then in pandas' mixed formats with the same day order."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    guessed = np.zeros(len(values), dtype=bool)
    retry = parsed.isna() & values.notna()
    if retry.any():
        rewritten, ambiguous = _iso_dates(values[retry], order=order, month_first=month_first)
        again = pd.to_datetime(rewritten, errors="coerce", utc=True, format="ISO8601")
        left = again.isna() & rewritten.notna()
        if left.any():
            again[left] = pd.to_datetime(
                rewritten[left],
                errors="coerce",
                utc=True,
                format="mixed",
                dayfirst=order == "DMY" or (order is None and not month_first),
                yearfirst=order == "YMD",
            )
        parsed[retry] = again
        guessed[retry.to_numpy(dtype=bool)] = ambiguous & again.notna().to_numpy()
    return parsed, guessed


#: A numeric date that is not ISO 8601: two numbers of one or two digits and a year of
#: two or four, with one separator (``/``, ``.`` or ``-``); a time of day may follow.
_NUMERIC_DATE = (
    r"^\s*(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
    r"(?P<rest>[T ].*)?$"
)


def _numeric_dates(values: pd.Series) -> tuple[np.ndarray, dict[str, Any]]:
    """Which values are numeric dates, and their parts (``a``, ``b``, ``y``, ``rest``) as arrays.

    One Arrow regex pass over the column (no Python call per value); a value
    whose two separators differ (``03/04-1980``) is not a numeric date.
    """
    if is_arrow_text(values):
        array = arrow_array(values).combine_chunks()
    else:
        objects = values.to_numpy(dtype=object, copy=True)
        objects[~np.array([isinstance(v, str) for v in objects], dtype=bool)] = None
        array = pa.array(objects, type=pa.large_string())
    parts = pc.extract_regex(array, _NUMERIC_DATE)  # null where the value does not match
    matched = pc.fill_null(pc.is_valid(parts), False)
    if not pc.any(matched).as_py():
        return np.zeros(len(values), dtype=bool), {}

    def part(name: str, default: str = "0") -> Any:
        return pc.fill_null(pc.struct_field(parts, name), default)

    same = pc.fill_null(pc.equal(part("s1", ""), part("s2", "")), False)
    is_date = np.asarray(pc.and_(matched, same).to_numpy(zero_copy_only=False), dtype=bool)
    out = {
        "a": np.asarray(pc.cast(part("a"), pa.int64()).to_numpy(), dtype=np.int64),
        "b": np.asarray(pc.cast(part("b"), pa.int64()).to_numpy(), dtype=np.int64),
        "y": np.asarray(pc.cast(part("y"), pa.int64()).to_numpy(), dtype=np.int64),
        "y_digits": np.asarray(pc.utf8_length(part("y")).to_numpy(), dtype=np.int64),
        "rest": pc.cast(part("rest", ""), pa.string()),
    }
    return is_date, out


def _ambiguous_dates(values: pd.Series) -> np.ndarray:
    """Values that read as two different real dates: ``03/04/1980``, not ``13/04`` or ``04/04``."""
    is_date, parts = _numeric_dates(values)
    return _ambiguous(is_date, parts) if is_date.any() else is_date


def _ambiguous(is_date: np.ndarray, parts: Mapping[str, Any]) -> np.ndarray:
    a: np.ndarray = parts["a"]
    b: np.ndarray = parts["b"]
    return np.asarray(is_date & (a >= 1) & (a <= 12) & (b >= 1) & (b <= 12) & (a != b))


def _iso_dates(
    values: pd.Series, *, order: DateOrder | None, month_first: bool
) -> tuple[pd.Series, np.ndarray]:
    """Numeric dates rewritten as ISO ``YYYY-MM-DD`` (a time of day kept), in ``order``.

    ``DMY`` reads ``03/04/1980`` as 3 April, ``MDY`` as 4 March, ``YMD`` as
    no date (left missing, so the value counts as unreadable). Without an
    order, the first number is the month if ``month_first``, else the day;
    and when only the other reading is a real month, that one is used (the
    rule dates of birth follow, ``normalize_date``). Two-digit years are read
    as ``strptime`` reads them (69-99: 1900s). Other values are left as they are.
    Also returns which values were read in a guessed order: no ``order``, and
    both readings have a real month (``_ambiguous_dates``).
    """
    is_date, parts = _numeric_dates(values)
    if not is_date.any():
        return values, is_date
    a, b, year = parts["a"], parts["b"], parts["y"]
    year = np.where(parts["y_digits"] == 2, np.where(year < 69, 2000 + year, 1900 + year), year)
    if order is not None:
        first_is_month = np.full(len(a), order == "MDY")
    else:
        first_is_month = np.full(len(a), month_first)
        # only the other reading has a real month: use it
        swap = np.where(first_is_month, (a > 12) & (b <= 12), (b > 12) & (a <= 12))
        first_is_month = first_is_month ^ swap
    month = np.where(first_is_month, a, b)
    day = np.where(first_is_month, b, a)
    usable = is_date & (month >= 1) & (month <= 12) & (day >= 1)
    if order == "YMD":
        usable[:] = False
    iso = pc.binary_join_element_wise(_digits(year, 4), _digits(month, 2), _digits(day, 2), "-")
    iso = pc.binary_join_element_wise(iso, parts["rest"], "")
    iso = pc.if_else(pa.array(usable), iso, pa.scalar(None, iso.type))
    out = values.to_numpy(dtype=object, copy=True)
    out[is_date] = np.asarray(iso.to_numpy(zero_copy_only=False), dtype=object)[is_date]
    guessed = _ambiguous(is_date, parts) if order is None else np.zeros(len(a), dtype=bool)
    return pd.Series(out, index=values.index, name=values.name, dtype=object), guessed


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    """Whole numbers as text padded with zeros to ``width`` (one Arrow kernel each)."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")


#: What Arrow parses in ``_timestamps``: ISO 8601 with an offset, in the ranges
#: pandas and Arrow agree on (years 1700-2199, offsets up to 14 hours).
_ISO_SHAPE = (
    r"^(1[7-9]|2[01])\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?"
    r"(Z|[+-](0\d|1[0-4]):[0-5]\d)$"
)


def _validate(
    config: SourceConfig,
    raw: pd.DataFrame,
    *,
    undecodable: np.ndarray | None = None,
    default_region: str = "GB",
    ambiguous: dict[str, int] | None = None,
    seen: _SeenKeys | None = None,
    first_row: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Split rows into usable and quarantined, with the first failed rule as reason.

    ``raw`` is left as it is: the quarantine shows the rows as read. Each rule
    marks the rows it fails that no earlier rule failed, in an integer array of
    rule numbers, so a rule costs one vectorised pass however many rows it hits.
    Rows flagged ``undecodable`` (not text in the source's encoding) fail first.
    Timestamps are read in the source's ``date_order``, else in
    ``default_region``'s; without a declared order, the used values that
    read as two dates are counted per column in ``ambiguous``.

    ``raw`` may be one chunk of the source (``_read_chunks``): ``first_row`` rows came
    before it, and ``seen`` holds the keys the earlier chunks kept; a key among them is a
    duplicate here too, and the keys this chunk keeps are added.
    """
    schema = KIND_SCHEMAS[config.kind]
    # Columns are replaced, never written into, so the copy can share raw's data.
    frame = raw.copy(deep=False)
    rules: list[str] = []
    failed = np.zeros(len(frame), dtype=np.int16)  # 0: no rule failed; i: rules[i - 1]

    def fail(mask: pd.Series | np.ndarray, why: str) -> None:
        rules.append(why)
        hit = _flags(mask) & (failed == 0)
        failed[hit] = len(rules)

    if undecodable is not None and undecodable.any():
        fail(undecodable, "undecodable")
    month_first = region_date_order(default_region) == "MDY"
    guessed: dict[str, np.ndarray] = {}
    for column in schema.required:
        if column in schema.timestamps:
            continue
        frame[column] = _text(frame[column])
        fail(frame[column].isna(), f"missing_required:{column}")
    for column in schema.timestamps:
        values = frame[column]
        parsed, guessed[column] = _read_timestamps(
            values, order=config.date_order, month_first=month_first
        )
        text = _text(values) if is_arrow_text(values) else _text(values.astype(object))
        present = values.notna() & text.notna()
        if column in schema.required:
            fail(~present, f"missing_required:{column}")
        fail(present & parsed.isna(), f"invalid_timestamp:{column}")
        frame[column] = parsed
    if config.kind == "sessions":
        for column in ("cookie_id", "device_id"):
            frame[column] = _text(frame[column])
        fail(
            frame["cookie_id"].isna() & frame["device_id"].isna(),
            "missing_identifier:cookie_id|device_id",
        )
    if config.kind == "contacts":
        frame["channel"] = frame["channel"].str.lower()
        fail(frame["channel"].notna() & ~frame["channel"].isin(CHANNELS), "invalid_value:channel")
    if config.kind in ("events", "consents"):
        frame["subject_type"] = frame["subject_type"].str.lower()
        fail(
            frame["subject_type"].notna() & ~frame["subject_type"].isin(SUBJECT_TYPES),
            "invalid_value:subject_type",
        )
    if config.kind == "consents":
        frame["status"] = frame["status"].str.lower()
        fail(
            frame["status"].notna() & ~frame["status"].isin(CONSENT_STATUSES),
            "invalid_value:status",
        )
    if schema.key is not None:
        key = frame[schema.key]
        ok = pd.Series(failed == 0, index=frame.index)
        dup = key.notna() & ok & key.where(ok).duplicated(keep="first")
        if seen is not None:
            live = (key.notna() & ok).to_numpy(dtype=bool)
            earlier = np.zeros(len(key), dtype=bool)
            earlier[live] = seen.seen(key[live])
            dup |= earlier
        fail(dup, f"duplicate_key:{schema.key}")
        if seen is not None:
            seen.add(key[failed == 0])
    bad = failed != 0
    if ambiguous is not None:
        for column, mask in guessed.items():
            count = int((mask & ~bad).sum())
            if count:
                ambiguous[column] = count
    names = np.array(["", *rules], dtype=object)
    rejected = (
        raw.loc[bad]
        .astype("string")
        .assign(
            _row=(frame.index[bad] + 1 + first_row).astype(np.int64), _reason=names[failed[bad]]
        )
    )
    per_rule = np.bincount(failed, minlength=len(rules) + 1)
    tally: dict[str, int] = {}
    for why, rows in zip(rules, per_rule[1:].tolist(), strict=True):
        if rows:
            tally[why] = tally.get(why, 0) + rows
    reasons = dict(sorted(tally.items()))
    if bad.any():
        valid = frame.take(np.flatnonzero(~bad))
    else:
        valid = frame.copy(deep=False)
    valid.index = pd.RangeIndex(len(valid))
    return valid, rejected.reset_index(drop=True), reasons


def _flags(mask: pd.Series | np.ndarray) -> np.ndarray:
    """A rule's mask as a numpy bool array; a missing (NA) flag counts as failed.

    (That is how ``Series.mask`` reads an NA condition, which the rules used to
    go through.)
    """
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        return mask
    series = pd.Series(mask)
    if series.dtype != bool:
        series = series.astype("boolean").fillna(True)
    return series.to_numpy(dtype=bool)


# --- normalisation ------------------------------------------------------------------------


def _keep(values: pd.Series, mask: pd.Series | np.ndarray) -> pd.Series:
    """``values`` as objects where ``mask`` holds, ``None`` elsewhere."""
    out = values.astype(object).copy()
    out[~np.asarray(mask, dtype=bool)] = None
    return out


def _take(mapped: list[object], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Values of ``mapped`` at ``codes`` (missing where the code is -1), as objects."""
    return pd.Series(take_values(mapped, codes), index=index, dtype=object)


def _map_unique(values: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Apply ``fn`` once per distinct non-missing value (inputs repeat a lot)."""
    if not values.notna().any():
        return _nones(values.index)
    codes, uniques = text_codes(values)
    return _take([fn(u) for u in uniques], codes, values.index)


def _map_fields(
    values: pd.Series, fn: Callable[[str], tuple[object, ...]], width: int
) -> list[pd.Series]:
    """``width`` columns from one call of ``fn`` per distinct non-missing value.

    For a chain of normalisers on one field (name, then its Latin form, then
    its skeleton...): the field is encoded once and each derived column is one
    take, where a ``_map_unique`` per column would encode each step's output again.
    """
    if not values.notna().any():
        return [_nones(values.index) for _ in range(width)]
    codes, uniques = text_codes(values)
    results = [fn(u) for u in uniques]
    return [_take([r[i] for r in results], codes, values.index) for i in range(width)]


def _map_pairs(left: pd.Series, right: pd.Series, fn: Callable[[str, str], object]) -> pd.Series:
    """Apply ``fn`` once per distinct (left, right) pair where ``left`` is present."""
    if not left.notna().any():
        return _nones(left.index)
    left_codes, left_values = text_codes(left)
    right_codes, right_values = text_codes(right)
    width = len(right_values) + 1
    combined = np.where(left_codes >= 0, left_codes * width + (right_codes + 1), -1)
    keys, inverse = np.unique(combined, return_inverse=True)
    mapped = [
        None
        if key < 0
        else fn(
            left_values[key // width],
            right_values[key % width - 1] if key % width else None,  # type: ignore[arg-type]
        )
        for key in keys.tolist()
    ]
    table = np.empty(len(mapped), dtype=object)
    table[:] = mapped
    return pd.Series(table[inverse], index=left.index, dtype=object)


def _email_fields(raw: str) -> tuple[object, ...]:
    """(email, email_folded) of a raw email."""
    email = normalize_email(raw)
    return email, (fold_email(email) if email is not None else None)


def _name_fields(raw: str) -> tuple[object, ...]:
    """(name, latin, skeleton, transliterated, forms, canonical) of a raw name.

    Each is what ingest derives from the one before (``None`` where that is missing).
    """
    name = normalize_name(raw)
    if name is None:
        return None, None, None, None, None, None
    latin = transliterate_name(name) or None
    forms = name_forms(name)
    return (
        name,
        latin,
        name_skeleton(latin) if latin is not None else None,
        is_transliterated(name),
        list(forms) or None,
        canonical_form(forms),
    )


def _address(raw: str) -> tuple[object, ...]:
    """(Comparable address,) of a raw street address: see ``normalize_address``."""
    return (normalize_address(raw),)


def _city(raw: str, region: str | None) -> str | None:
    """A raw city as compared: normalised like a name, transliterated, then the city it names
    in ``region`` (``resolver.places``: חיפה, Hayfa and Haifa are one)."""
    latin = fold_city(raw)
    return canonical_city(latin, region) if latin else None


def _touchpoints(
    config: SourceConfig,
    frame: pd.DataFrame,
    *,
    default_region: str,
    dropped: dict[str, int],
    ambiguous: dict[str, int] | None = None,
) -> pd.DataFrame:
    kind = config.kind
    schema = KIND_SCHEMAS[kind]
    n = len(frame)
    index = frame.index
    texts: dict[str, pd.Series] = {}

    def get(column: str) -> pd.Series:
        if column not in texts:
            texts[column] = _text(frame[column]) if column in frame.columns else _none(n)
        return texts[column]

    def present(values: pd.Series) -> np.ndarray:
        return np.asarray(values.notna(), dtype=bool)

    out: dict[str, Any] = {}
    out["record_id"] = np.zeros(n, dtype=np.int64)
    out["source"] = repeated(config.name, n)
    out["kind"] = repeated(kind, n)
    assert schema.key is not None
    out["record_key"] = frame[schema.key].astype(str).to_numpy(dtype=object)
    ts_col = {"customers": "created_at", "sessions": "started_at", "devices": "last_seen"}.get(kind)
    # a source without a time (contacts) is NaT in UTC like the others, so that the joined
    # column stays datetime64 rather than one Timestamp object per row (0.13 GB per million)
    out["ts"] = (
        frame[ts_col] if ts_col else pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    )
    for column in ("customer_id", "cookie_id", "device_id", "ip", "user_agent"):
        out[column] = shared_objects(get(column))
    out["channel"] = (
        get("channel").astype(object).to_numpy() if kind == "contacts" else repeated(None, n)
    )
    if kind == "contacts":
        out["handle"] = _map_unique(get("handle"), lambda h: h.lower().lstrip("@") or None)
    else:
        out["handle"] = shared_objects(get("handle"))
    # ad ids: IDFA is upper-case by convention, GAID lower; compare case-insensitively.
    out["ad_id"] = _map_unique(get("ad_id"), str.lower)
    out["subject_type"], out["subject_id"] = _subjects(kind, out, index)

    country = get("country").str.upper()
    region = country.fillna(default_region).where(country.fillna("").str.len() == 2, default_region)

    raw_email = get("email")
    out["email"], out["email_folded"] = _map_fields(raw_email, _email_fields, 2)
    raw_phone = get("phone")
    phone_in = raw_phone
    if kind == "contacts":
        # WhatsApp and Viber ids are international numbers written as bare digits.
        international = pd.Series(out["channel"], index=index).isin(
            list(INTERNATIONAL_CHANNELS)
        ) & raw_phone.str.fullmatch(r"[1-9]\d{7,14}").fillna(False)
        phone_in = raw_phone.where(~international, "+" + raw_phone)
    out["phone"] = _map_pairs(phone_in, region, lambda p, r: normalize_phone(p, region=r))

    if kind == "contacts":
        first_raw, last_raw = _split_display_name(get("display_name"))
        generation = _map_unique(get("display_name"), name_generation)
    else:
        first_raw, last_raw = get("first_name"), get("last_name")
        # Sr / Jr, written after the surname (or after the first name: "John Jr").
        generation = _map_unique(last_raw, name_generation)
        generation = generation.where(generation.notna(), _map_unique(first_raw, name_generation))
    out["generation"] = generation
    (
        out["first_name"], out["first_latin"], out["first_skeleton"], out["first_translit"],
        out["first_forms"], out["first_canon"],
    ) = _map_fields(first_raw, _name_fields, 6)  # fmt: skip
    out["last_name"], out["last_latin"], out["last_skeleton"], out["last_translit"], _, _ = (
        _map_fields(last_raw, _name_fields, 6)
    )
    order = config.date_order
    out["dob"] = _map_pairs(
        get("date_of_birth"), region, lambda d, r: normalize_date(d, country=r, order=order)
    )
    if order is None and ambiguous is not None:
        guessed = int((_ambiguous_dates(get("date_of_birth")) & present(out["dob"])).sum())
        if guessed:
            ambiguous["date_of_birth"] = guessed
    gender = get("gender").str.upper().str[:1]
    out["gender"] = _keep(gender, gender.isin(["M", "F", "X"]))
    out["address"] = _map_fields(get("address"), _address, 1)[0]
    out["postcode"] = _map_pairs(
        get("postcode"), region, lambda p, r: normalize_postcode(p, country=r)
    )
    out["city"] = _map_pairs(get("city"), region, _city)
    out["country"] = shared_objects(country)
    national = get("national_id").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    out["national_id"] = _keep(national, national.fillna("").str.len() > 0)
    # Consent signals of sessions: read by ``consent.signals``, never by linking.
    out["tc_string"] = shared_objects(get("tc_string"))
    gpc_text = get("gpc").str.lower()
    out["gpc"] = _map_unique(gpc_text, _GPC_VALUES.get)
    unreadable = int((present(gpc_text) & out["gpc"].isna().to_numpy()).sum())
    if unreadable:
        dropped["gpc"] = unreadable

    for column, raw_values in (
        ("email", raw_email),
        ("phone", raw_phone),
        ("date_of_birth", get("date_of_birth")),
        ("postcode", get("postcode")),
    ):
        target = "dob" if column == "date_of_birth" else column
        lost = int((present(raw_values) & pd.isna(np.asarray(out[target], dtype=object))).sum())
        if lost:
            dropped[column] = lost
    extra = [c for c in frame.columns if c not in schema.required and c not in schema.optional]
    out["attributes"] = _attributes(frame, extra) if extra else repeated(None, n)
    # copy=False: no consolidation into one 2-D block, which the concat of sources redoes anyway.
    return pd.DataFrame({c: out[c] for c in TOUCHPOINT_COLUMNS}, index=pd.RangeIndex(n), copy=False)


_GPC_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _none(n: int) -> pd.Series:
    """A column the source does not have: ``n`` missing values of Arrow text."""
    return pd.Series(ArrowStringArray(pa.nulls(n, pa.large_string())), copy=False)


def _nones(index: pd.Index) -> pd.Series:
    """A column of ``None`` objects."""
    return pd.Series(np.full(len(index), None, dtype=object), index=index, copy=False)


def _subjects(kind: str, out: Mapping[str, Any], index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """The consent subject of each record (SPEC §5).

    A session's subject is its cookie, or its device when it has none; a
    device's is the device; a contact's the contact; a customer's the customer.
    """
    if kind == "sessions":
        cookie = pd.Series(out["cookie_id"], index=index, dtype=object)
        has_cookie = cookie.notna()
        kinds = np.array(["device", "cookie"], dtype=object)  # two shared strings, not n
        return (
            pd.Series(kinds[has_cookie.to_numpy(dtype=np.int64)], index=index),
            cookie.where(has_cookie, pd.Series(out["device_id"], index=index, dtype=object)),
        )
    column = {"customers": "customer_id", "devices": "device_id", "contacts": "record_key"}[kind]
    subject = {"customers": "customer", "devices": "device", "contacts": "contact"}[kind]
    return pd.Series(subject, index=index), pd.Series(out[column], index=index, dtype=object)


#: A display name of two words or more and a generational suffix after them.
_SUFFIXED = r"^(\S+\s+\S.*?)\s+(?:jr|jnr|junior|sr|snr|senior|ii|iii|iv)\.?,?\s*$"


def _split_display_name(display: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Messaging display names: first token is the first name, last token the last.

    A lone initial (``James S.``) is not a last name, nor is a generational suffix
    (``William Morris Sr.``: the last name is Morris; ``name_generation`` keeps the Sr).
    """
    tokens = display.str.replace(_SUFFIXED, r"\1", case=False, regex=True).str.split()
    first = tokens.str[0]
    last = tokens.where(tokens.str.len() >= 2).str[-1]
    last = last.where(last.str.rstrip(".").str.len() > 1)
    return first.astype("string"), last.astype("string")


def _attributes(frame: pd.DataFrame, columns: Iterable[Hashable]) -> pd.Series:
    cols = list(columns)
    sub = frame[cols].astype(object)
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in sub.to_dict(orient="records")
    ]
    return pd.Series(
        [json.dumps(r, default=str, sort_keys=True) for r in records], index=frame.index
    )
