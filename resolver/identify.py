"""Real-time identity: which person of a run is this cookie, device, customer or person?

``IdentityIndex`` is built once per run from its identity graph and
touchpoints, then answers queries in memory:

1. **exact lookup** of a ``customer_id``, ``cookie_id``, ``device_id``,
   ``ad_id``, email or phone (normalised as ingest normalises them). A value
   that the run put into more than one person (a shared family email, a
   placeholder) answers nothing: it is ambiguous, and the next step decides;
2. **the trained Splink model** for a query that carries only person fields:
   candidates are the run's records that share a prediction blocking key
   with the query (``resolver.blocking.BLOCKING_RULES``, the same keys the
   batch blocks on, rarest first up to ``MAX_CANDIDATES``), and Splink
   scores query × candidates with the saved model
   (``splink.internals.realtime.compare_records``, Splink's own real-time
   scorer, with the SQL cached); a calibration saved with the model maps the
   score as the batch maps it. The best candidate at or above the linking
   threshold is the person.

Nothing here writes; an index never changes after it is built, so callers
may swap a new one in while requests still use the old one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI
from splink.internals.realtime import compare_records

from resolver.blocking import BLOCKING_RULES
from resolver.errors import ModelError
from resolver.model import MODEL_COLUMNS, TrainedModel
from resolver.sources import normalize_record
from resolver.vocabulary import IDENTIFIER_KINDS

__all__ = ["EXACT_KEYS", "IdentifyMatch", "IdentityIndex", "PERSON_FIELDS"]

logger = logging.getLogger(__name__)

#: Exact identifiers, in the order they are tried.
EXACT_KEYS: tuple[str, ...] = IDENTIFIER_KINDS
#: Identifiers of the subject itself: they find a gated (unlinked) record's own person.
GATED_KEYS = frozenset({"cookie_id", "device_id"})
#: The source kind whose records own an identifier: their person is the answer.
OWNER_KINDS = {"customer_id": "customers", "device_id": "devices"}
#: Person fields a query may carry (SPEC §3 names), normalised like a CRM row.
PERSON_FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "postcode",
    "city",
    "address",
    "country",
    "national_id",
)
#: At most this many candidates are scored for one query (the rarest blocks first).
MAX_CANDIDATES = 500


@dataclass(frozen=True, kw_only=True, slots=True)
class IdentifyMatch:
    """The answer to one query."""

    person_id: str | None
    match_probability: float
    """1.0 for an exact identifier; the model's probability otherwise (0.0: nothing found)."""
    method: str
    """``exact:<identifier>``, ``model`` or ``none``."""
    candidates: int = 0
    """Records the model scored."""
    ambiguous: tuple[str, ...] = ()
    """Exact identifiers of the query that the run put into more than one person."""


class IdentityIndex:
    """An in-memory index of one run's identity graph (see the module docstring)."""

    def __init__(
        self,
        *,
        run_id: str,
        exact: dict[str, dict[str, str | None]],
        model_rows: pd.DataFrame,
        model: TrainedModel | None,
        threshold: float,
        default_region: str,
    ) -> None:
        self.run_id = run_id
        self._exact = exact
        self._rows = model_rows.reset_index(drop=True)
        self._model = model
        self._threshold = threshold
        self._region = default_region
        self._person = self._rows["person_id"].to_numpy(dtype=object)
        self._tf_columns = _tf_columns(model.settings) if model is not None else ()
        self._tf = {
            column: self._rows[column].value_counts(normalize=True).to_dict()
            for column in self._tf_columns
        }
        self._blocks: list[tuple[tuple[str, ...], dict[tuple[Any, ...], np.ndarray]]] = []
        # The batch links shared emails and phones deterministically; here they are
        # candidate keys too, so a query with a typo in its name still meets them.
        for columns in BLOCKING_RULES:
            keyed = self._rows[list(columns)].dropna()
            # .indices are positions within ``keyed``: map them back to rows of the index
            positions = keyed.index.to_numpy()
            groups = keyed.groupby(list(columns), sort=False).indices
            self._blocks.append(
                (
                    columns,
                    {
                        (k if isinstance(k, tuple) else (k,)): positions[np.asarray(v)]
                        for k, v in groups.items()
                    },
                )
            )
        self._scorer = (
            _Scorer(model.settings, self._scoring_frame(self._rows))
            if model is not None and len(self._rows)
            else None
        )

    @classmethod
    def build(
        cls,
        *,
        run_id: str,
        graph: pd.DataFrame,
        touchpoints: pd.DataFrame,
        model: TrainedModel | None,
        threshold: float,
        default_region: str,
    ) -> IdentityIndex:
        """Index a run: ``graph`` and ``touchpoints`` are row-aligned (as a run writes them)."""
        person = graph["person_id"].astype(str).to_numpy()
        exact: dict[str, dict[str, str | None]] = {}
        n = len(touchpoints)
        kind = touchpoints["kind"].to_numpy() if "kind" in touchpoints.columns else None
        # Records the linking gate held apart are their own anonymous persons on purpose:
        # a cookie or device finds them, but an email or phone they carry names the
        # person of the linked records that carry it (the CRM customer, say).
        linked = graph["may_link"].to_numpy(dtype=bool) if "may_link" in graph else np.ones(n, bool)
        for key in EXACT_KEYS:
            values = touchpoints[key] if key in touchpoints.columns else graph.get(key)
            if values is None:
                continue
            frame = pd.DataFrame({"value": values.to_numpy(), "person_id": person})
            # Later tiers win: (gated records) < (linked records) < (the id's owner).
            tiers = [np.ones(n, bool)] if key in GATED_KEYS else [~linked, linked]
            owner = OWNER_KINDS.get(key)
            if owner is not None and kind is not None:
                # The record that owns an id (the CRM row of a customer id) names its
                # person, even where a session logged in as that customer stayed apart.
                tiers.append(kind == owner)
            table: dict[str, str | None] = {}
            for tier in tiers:
                table.update(_unique_persons(frame[tier]))
            exact[key] = table
        evidence = touchpoints[["first_latin", "last_latin", "dob", "postcode", "national_id"]]
        has_evidence = evidence.notna().any(axis=1).to_numpy()
        rows = touchpoints.loc[has_evidence, list(MODEL_COLUMNS)].assign(
            person_id=person[has_evidence]
        )
        signature = [c for c in MODEL_COLUMNS if c not in ("first_forms", "first_canon")]
        signature.append("person_id")
        rows = rows.loc[~rows[signature].astype(str).duplicated()].reset_index(drop=True)
        logger.info(
            "identity index for run %s: %d exact keys, %d model rows",
            run_id,
            sum(len(v) for v in exact.values()),
            len(rows),
        )
        return cls(
            run_id=run_id,
            exact=exact,
            model_rows=rows,
            model=model,
            threshold=threshold,
            default_region=default_region,
        )

    def close(self) -> None:
        """Release the model scorer's DuckDB connection (the index answers exact ids still)."""
        if self._scorer is not None:
            self._scorer.close()
            self._scorer = None

    @property
    def size(self) -> dict[str, int]:
        """Indexed values per identifier and the model's candidate rows."""
        return {**{k: len(v) for k, v in self._exact.items()}, "model_rows": len(self._rows)}

    def person_of(self, key: str, value: str) -> str | None:
        """The one person an exact identifier belongs to (``None``: unknown or ambiguous)."""
        return self._exact.get(key, {}).get(value)

    def identify(self, query: Mapping[str, str | None], *, use_model: bool = True) -> IdentifyMatch:
        """Exact identifiers first, then (with ``use_model``) the model on person fields."""
        person_fields = {k: query.get(k) for k in PERSON_FIELDS if query.get(k)}
        record = (
            normalize_record(person_fields, default_region=self._region) if person_fields else {}
        )
        ambiguous: list[str] = []
        for key in EXACT_KEYS:
            raw = record.get(key) if key in ("email", "phone") else query.get(key)
            if key == "ad_id" and raw:
                raw = str(raw).strip().lower()
            if not raw:
                continue
            table = self._exact.get(key, {})
            value = str(raw).strip()
            if value in table:
                person_id = table[value]
                if person_id is not None:
                    return IdentifyMatch(
                        person_id=person_id,
                        match_probability=1.0,
                        method=f"exact:{key}",
                        ambiguous=tuple(ambiguous),
                    )
                ambiguous.append(key)
        if not use_model or self._scorer is None or not record:
            return IdentifyMatch(
                person_id=None, match_probability=0.0, method="none", ambiguous=tuple(ambiguous)
            )
        return self._score(record, ambiguous=tuple(ambiguous))

    def _candidates(self, record: Mapping[str, Any]) -> np.ndarray:
        found: list[np.ndarray] = []
        for columns, groups in self._blocks:
            values = tuple(record.get(c) for c in columns)
            if any(v is None for v in values):
                continue
            hit = groups.get(values)
            if hit is not None:
                found.append(hit)
        if not found:
            return np.array([], dtype=np.int64)
        found.sort(key=len)  # the rarest keys first: they are the strongest evidence
        chosen: set[int] = set()
        for hit in found:
            chosen.update(int(i) for i in hit[: MAX_CANDIDATES - len(chosen)])
            if len(chosen) >= MAX_CANDIDATES:
                break
        return np.array(sorted(chosen), dtype=np.int64)

    def _score(self, record: Mapping[str, Any], *, ambiguous: tuple[str, ...]) -> IdentifyMatch:
        candidates = self._candidates(record)
        if len(candidates) == 0:
            return IdentifyMatch(
                person_id=None, match_probability=0.0, method="none", ambiguous=ambiguous
            )
        query: dict[str, Any] = {"unique_id": -1, **{c: record.get(c) for c in MODEL_COLUMNS}}
        for column in ("first_translit", "last_translit"):
            query[column] = bool(query[column])
        for column in self._tf_columns:
            query[f"tf_{column}"] = self._tf[column].get(query[column])
        assert self._scorer is not None
        scored = self._scorer.score(query, candidates)
        # the highest probability wins; ties go to the lowest record (deterministic)
        best_id, probability = max(scored, key=lambda pair: (pair[1], -pair[0]))
        assert self._model is not None
        if self._model.calibration is not None:
            probability = float(self._model.calibration.apply(np.array([probability]))[0])
        person_id = str(self._person[int(best_id)])
        return IdentifyMatch(
            person_id=person_id if probability >= self._threshold else None,
            match_probability=probability,
            method="model",
            candidates=len(candidates),
            ambiguous=ambiguous,
        )

    def _scoring_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Model columns, a ``unique_id`` and Splink's ``tf_<column>`` values."""
        frame = rows[list(MODEL_COLUMNS)].copy()
        frame.insert(0, "unique_id", np.arange(len(frame), dtype=np.int64))
        for column in self._tf_columns:
            tf = self._tf[column]
            frame[f"tf_{column}"] = frame[column].map(tf).astype(float)
        for column in ("first_translit", "last_translit"):
            frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
        return frame


class _Scorer:
    """Splink's own real-time scoring SQL for one model, prepared on one DuckDB connection.

    ``compare_records`` (Splink's real-time scorer) builds the SQL of the whole
    predict pipeline for two tables of records. Run as it is, each call
    registers two tables, plans a 14 kB query and caches its result: about
    30 ms. Here the SQL is generated once, on a sample pair, and prepared over
    two small tables (the query, its candidates) that each request refills:
    about 4 ms. ``tests/resolver/test_identify.py`` checks that both give the
    same probabilities.
    """

    def __init__(self, settings: Mapping[str, Any], records: pd.DataFrame) -> None:
        self._con = duckdb.connect()
        self._con.execute("SET threads = 1")  # tiny queries: threads only add overhead
        self._columns = list(records.columns)
        self._con.register("records_in", pa.Table.from_pandas(records, preserve_index=False))
        self._con.execute("CREATE TABLE records AS SELECT * FROM records_in ORDER BY unique_id")
        self._con.unregister("records_in")
        self._con.execute("CREATE TABLE query_record AS SELECT * FROM records LIMIT 0")
        self._con.execute("CREATE TABLE candidates AS SELECT * FROM records LIMIT 0")
        db = DuckDBAPI(connection=self._con)
        sample = records.iloc[:1]
        warm = compare_records(sample, sample, dict(settings), db)
        sql = warm.sql_used_to_create
        found = re.search(r"__splink__compare_records_left_(\w+)", sql)
        if found is None:  # pragma: no cover - a Splink upgrade changed the SQL's shape
            raise ModelError("Splink's real-time SQL has an unexpected shape; pin splink==5.0.0")
        uid = found.group(1)
        warm.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        for side in ("left", "right"):
            self._con.unregister(f"__splink__compare_records_{side}_{uid}")
        sql = sql.replace(f"__splink__compare_records_left_{uid}", "query_record").replace(
            f"__splink__compare_records_right_{uid}", "candidates"
        )
        # The optimizer costs ~15 ms a query and buys nothing on a handful of rows.
        self._con.execute("PRAGMA disable_optimizer")
        self._con.execute(f"PREPARE score AS SELECT unique_id_r, match_probability FROM ({sql})")
        self._insert = f"INSERT INTO query_record VALUES ({', '.join('?' for _ in self._columns)})"
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def score(self, query: Mapping[str, Any], candidates: np.ndarray) -> list[tuple[int, float]]:
        """``unique_id_r`` and ``match_probability`` of the query against each candidate."""
        ids = ", ".join(str(int(i)) for i in candidates)  # integers only: nothing is spliced
        values = [_plain(query.get(c)) for c in self._columns]
        with self._lock:  # one connection: one query at a time
            self._con.execute("DELETE FROM query_record")
            self._con.execute(self._insert, values)
            self._con.execute("DELETE FROM candidates")
            self._con.execute(
                f"INSERT INTO candidates SELECT * FROM records WHERE unique_id IN ({ids})"
            )
            rows = self._con.execute("EXECUTE score").fetchall()
        return [(int(uid), float(p)) for uid, p in rows]


def _plain(value: Any) -> Any:
    """A Python value DuckDB binds: numpy scalars and arrays become plain ones, NaN None."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _unique_persons(frame: pd.DataFrame) -> dict[str, str | None]:
    """Value -> its one person; ``None`` for a value that several persons hold (ambiguous)."""
    frame = frame.dropna()
    persons = frame.assign(value=frame["value"].astype(str)).drop_duplicates()
    grouped = persons.groupby("value")["person_id"]
    first, count = grouped.first().to_dict(), grouped.nunique().to_dict()
    return {str(v): (str(p) if count[v] == 1 else None) for v, p in first.items()}


def _tf_columns(settings: Mapping[str, Any]) -> tuple[str, ...]:
    columns = {
        level["tf_adjustment_column"]
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }
    return tuple(sorted(columns))
