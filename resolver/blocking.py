"""Prediction blocking that stays near-linear on any data.

Splink scores only the pairs its blocking rules generate. A rule on a
column that is skewed in the data (a surname that 1 % of people share, a
city-level postcode, "John Smith" at a bank with 10 M customers) makes a
block whose comparisons grow with the *square* of its size. So every rule
is measured before predicting, on the run's own data:

1. the rules are those of ``BLOCKING_RULES`` whose columns the data has
   (``resolver.model.present_columns``), broad ones included (a surname
   alone, a date of birth alone), because on small or clean data they are
   what finds the heavily corrupted duplicates (FEBRL);
2. each rule's blocks are counted (one ``GROUP BY`` in DuckDB) and a
   value whose block holds more than ``max_block_size`` records is not
   blocked on *in that rule*: its records are still compared through the
   rules that are more selective for them (surname + date of birth rather
   than surname alone). A rule on a skewed column thus caps itself at scale
   while keeping its recall on small data;
3. each rule becomes a derived key column (``_block_<n>``: the value's hash,
   or null for a capped or incomplete value) and a Splink rule on it, which
   also skips pairs already linked by identifiers (same ``fragment``).

The comparisons a rule can generate are then at most
``records × (max_block_size − 1) / 2``; ``BlockingPlan`` carries the
counts and the capped values per rule for the run report.

Examples:
    >>> [r.name for r in candidate_rules(frozenset({"last_latin", "dob"}))]
    ['last_latin+dob', 'last_latin', 'dob']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb

__all__ = ["BLOCKING_RULES", "BlockingPlan", "BlockingRule", "candidate_rules", "plan_blocking"]

#: Every rule Tether may block on, most selective first (Splink attributes a
#: pair to the first rule that finds it). Also the real-time candidate keys
#: (``resolver.identify``), so a query meets the candidates a batch run would.
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("email_folded",),
    ("phone",),
    ("national_id",),
    ("first_latin", "last_latin", "dob"),
    ("last_latin", "dob"),
    ("first_latin", "dob"),
    ("first_canon", "last_latin"),
    ("first_latin", "last_latin"),
    ("last_latin", "postcode"),
    ("first_latin", "postcode"),
    ("dob", "postcode"),
    ("first_skeleton", "last_skeleton", "dob"),
    ("first_canon", "last_skeleton"),
    ("last_latin", "city"),
    ("last_latin",),
    ("dob",),
    ("first_latin",),
    ("postcode",),
    ("address",),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BlockingRule:
    """One prediction blocking rule as measured on a run's data."""

    name: str
    columns: tuple[str, ...]
    key: str
    """The derived key column of the model input (``_block_<n>``)."""
    blocks: int = 0
    """Values blocked on (blocks of two or more records within the cap)."""
    comparisons: int = 0
    """Pairs its kept blocks generate, before removing pairs an earlier rule found."""
    capped_values: int = 0
    """Values whose block exceeded ``max_block_size`` and were not blocked on."""
    capped_records: int = 0
    """Records in those capped blocks."""
    largest_capped: int = 0
    """Size of the largest capped block."""

    @property
    def splink_rule(self) -> str:
        """The Splink blocking rule: same key, not already linked by identifiers."""
        return f"l.{self.key} = r.{self.key} AND l.fragment <> r.fragment"


@dataclass(frozen=True, kw_only=True, slots=True)
class BlockingPlan:
    """The rules of one run, their measurements, and the cap they were measured at."""

    rules: tuple[BlockingRule, ...]
    max_block_size: int
    records: int

    @property
    def comparison_bound(self) -> float:
        """Upper bound of the comparisons the rules can generate per record (on average)."""
        return len(self.rules) * (self.max_block_size - 1) / 2

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_block_size": self.max_block_size,
            "records": self.records,
            "comparison_bound_per_record": self.comparison_bound,
            "rules": [{k: v for k, v in asdict(r).items() if k != "key"} for r in self.rules],
            "capped_values": sum(r.capped_values for r in self.rules),
        }


def candidate_rules(present: frozenset[str]) -> list[BlockingRule]:
    """The rules of ``BLOCKING_RULES`` whose columns are all present."""
    return [
        BlockingRule(name="+".join(columns), columns=columns, key=f"_block_{n}")
        for n, columns in enumerate(BLOCKING_RULES)
        if set(columns) <= present
    ]


def plan_blocking(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    present: frozenset[str],
    max_block_size: int,
    into: str,
) -> BlockingPlan:
    """Measure every candidate rule on ``table``; write it with its capped keys to ``into``.

    Args:
        con: a DuckDB connection where ``table`` (the model input, with
            ``unique_id`` and ``fragment``) is registered.
        present: the model columns the data has.
        max_block_size: records per block beyond which a value is not
            blocked on in that rule.
        into: the name of the table created (replaced) in ``con``: the model
            input plus one ``_block_<n>`` key column per kept rule. It stays in
            DuckDB: Splink reads it there, no copy goes through pandas.

    Returns:
        The plan: the rules kept (those that block at least one pair) and their counts.
    """
    rules = candidate_rules(present)
    # One pass to hash each rule's key (null when a column is missing), then one
    # GROUP BY per rule on the hash: no window functions over the whole table.
    hashes = [
        f"CASE WHEN {' AND '.join(f'{c} IS NOT NULL' for c in rule.columns)} "
        f"THEN hash({', '.join(rule.columns)}) END AS {rule.key}"
        for rule in rules
    ]
    con.execute(
        f"CREATE OR REPLACE TABLE {into} AS "
        f"SELECT * {', ' if hashes else ''}{', '.join(hashes)} FROM {table} ORDER BY unique_id"
    )
    kept: list[BlockingRule] = []
    for rule in rules:
        sizes = con.sql(
            f"""
            CREATE OR REPLACE TEMP TABLE _block_sizes AS
            SELECT {rule.key} AS k, count(*) AS n FROM {into}
            WHERE {rule.key} IS NOT NULL GROUP BY 1;
            SELECT count(*) FILTER (WHERE n > 1 AND n <= {max_block_size}) AS blocks,
                   coalesce(sum(n * (n - 1) // 2) FILTER (WHERE n <= {max_block_size}), 0) AS pairs,
                   count(*) FILTER (WHERE n > {max_block_size}) AS capped,
                   coalesce(sum(n) FILTER (WHERE n > {max_block_size}), 0) AS capped_records,
                   coalesce(max(n) FILTER (WHERE n > {max_block_size}), 0) AS largest
            FROM _block_sizes
            """
        ).fetchall()[0]
        measured = BlockingRule(
            name=rule.name,
            columns=rule.columns,
            key=rule.key,
            blocks=int(sizes[0]),
            comparisons=int(sizes[1]),
            capped_values=int(sizes[2]),
            capped_records=int(sizes[3]),
            largest_capped=int(sizes[4]),
        )
        if measured.blocks == 0:  # blocks nothing (every value unique or capped): dropped
            con.execute(f"ALTER TABLE {into} DROP COLUMN {rule.key}")
            continue
        if measured.capped_values:
            con.execute(
                f"UPDATE {into} SET {rule.key} = NULL WHERE {rule.key} IN "
                f"(SELECT k FROM _block_sizes WHERE n > {max_block_size})"
            )
        kept.append(measured)
    con.execute("DROP TABLE IF EXISTS _block_sizes")
    records = int(con.sql(f"SELECT count(*) FROM {into}").fetchall()[0][0])
    return BlockingPlan(rules=tuple(kept), max_block_size=max_block_size, records=records)
