"""Deterministic edges: records that share an identifier, with the guard-rails.

Shared identifiers are the strongest evidence a retargeting graph has, and the
most dangerous: one placeholder email or one family tablet can pull hundreds
of people into one "person". So every identifier value passes the
guard-rails before it links anything:

* **blocklist**: configured values are never linked on (``blocked_value:list``);
* **junk detection**: an email or phone tying together customers of more
  distinct surnames than ``max_customers_per_value`` is a placeholder
  (``blocked_value:auto``): a CRM's duplicate rows of one person, however
  many, are one holder;
  so is an advertising id seen on more than ``max_devices_per_ad_id`` app
  installs (iOS and Android report all zeros when the user limits ad
  tracking, on every such device), and the platforms' documented null ad id
  is never linked on (``blocked_value:known``), nor is a phone ending in
  seven equal digits or running 1 to 9 (``+972500000000``: typed to get past
  a form);
* **shared devices**: a cookie, device or ad id logged into more than
  ``max_customers_per_device`` customers is shared; its logged-in records go
  with their own customer and its anonymous records stay together on their
  own (``shared_identifier``);
* **conflict veto**: two records sharing an email or phone whose first names
  or dates of birth clearly disagree (``resolver.compare``) are not linked
  on it (``conflict``),
  which is what a recycled phone number looks like; records without a name
  sharing such a value cannot tell which person it belongs to
  (``ambiguous_identifier``);
* **household emails**: an email whose local part names a household
  (``cohenfamily@``, ``thepierces@``: ``resolver.households``) links named
  records as any email does, but not a record without a first name or birth
  date (``ambiguous_identifier``): a newsletter sign-up with the family's
  address says "someone of this household", not which member typed it.

Within a value, edges form a star on one anchor record, so the edge count
stays linear in the number of records.

Edge table columns: ``left, right`` (record ids), ``rule`` (identifier
kind or ``splink``), ``rank`` (0 login, 1 device/cookie, 2 email/phone,
3 probabilistic), ``probability`` and, for refused edges, ``reason``.
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

from resolver.compare import dobs_compatible, first_names_compatible
from resolver.households import HOUSEHOLD_WORDS, household_email
from resolver.options import LinkingOptions

__all__ = ["EDGE_COLUMNS", "RANKS", "deterministic_edges", "household_values", "junk_values"]

logger = logging.getLogger(__name__)

EDGE_COLUMNS = ["left", "right", "rule", "rank", "probability", "reason"]
RANKS = {
    "customer_id": 0,
    "cookie_id": 1,
    "device_id": 1,
    "ad_id": 1,
    "email": 2,
    "phone": 2,
    "splink": 3,
}
#: Values the platforms document as "no value": never an identity.
KNOWN_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    # Apple's IDFA and Google's advertising id when the user limits ad tracking.
    "ad_id": ("00000000-0000-0000-0000-000000000000",),
}
#: Placeholder phones (see ``junk_values``): seven equal digits at the end, or 1 to 9 in a row.
_PLACEHOLDER_PHONE = "(" + "|".join(str(d) * 7 for d in range(10)) + ")$|123456789"
_VALUE_COLUMN = {
    "customer_id": "customer_id",
    "cookie_id": "cookie_id",
    "device_id": "device_id",
    "ad_id": "ad_id",
    "email": "email_folded",
    "phone": "phone",
}


def _frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    frame: pd.DataFrame = relation.df()
    return frame


def junk_values(con: duckdb.DuckDBPyConnection, *, options: LinkingOptions) -> pd.DataFrame:
    """Identifier values that must not link: ``kind, value, reason, customers``.

    Reads the ``tp`` view (touchpoints). ``reason`` is ``blocked_value:list``,
    ``blocked_value:auto`` or ``shared_identifier``.
    """
    parts = []
    for kind, column in _VALUE_COLUMN.items():
        if kind == "customer_id":
            continue
        if kind in ("email", "phone"):
            limit = options.max_customers_per_value.get(kind, 2)
            reason = "blocked_value:auto"
        else:
            limit = options.max_customers_per_device
            reason = "shared_identifier"
        # An email or phone counts the surnames of its customers, not their rows: the
        # three or five duplicate CRM rows of one person (typos and all: the consonant
        # skeleton) are one holder; a customer without a surname counts on its own.
        # Per customer first (a surname on any of its rows), then per value.
        holder = (
            "coalesce(max(nullif(last_skeleton, '')), '#' || customer_id)"
            if kind in ("email", "phone")
            else "customer_id"
        )
        parts.append(
            f"""
            SELECT '{kind}' AS kind, value, '{reason}' AS reason,
                   count(*) AS customers
            FROM (
                SELECT {column} AS value, customer_id, {holder} AS holder
                FROM tp WHERE {column} IS NOT NULL AND customer_id IS NOT NULL
                GROUP BY {column}, customer_id
            )
            GROUP BY value HAVING count(DISTINCT holder) > {int(limit)}
            """
        )
    parts.append(
        f"""
        SELECT 'ad_id' AS kind, ad_id AS value, 'blocked_value:auto' AS reason,
               count(DISTINCT customer_id) AS customers
        FROM tp WHERE ad_id IS NOT NULL
        GROUP BY ad_id HAVING count(DISTINCT device_id) > {int(options.max_devices_per_ad_id)}
        """
    )
    # A phone whose last seven digits are one digit repeated, or that runs 1 to 9, is
    # typed to get past a form (+972500000000, 1234567890): never a person's number.
    parts.append(
        f"""
        SELECT DISTINCT 'phone' AS kind, phone AS value, 'blocked_value:known' AS reason,
               0::BIGINT AS customers
        FROM tp WHERE phone IS NOT NULL AND regexp_matches(phone, '{_PLACEHOLDER_PHONE}')
        """
    )
    auto = _frame(con.sql(" UNION ALL ".join(parts)))
    listed = [
        {"kind": kind, "value": value, "reason": reason, "customers": 0}
        for reason, table in (
            ("blocked_value:list", options.blocklist),
            ("blocked_value:known", KNOWN_PLACEHOLDERS),
        )
        for kind, values in table.items()
        for value in values
    ]
    frame = pd.concat([pd.DataFrame(listed, columns=auto.columns), auto], ignore_index=True)
    frame = frame.drop_duplicates(["kind", "value"], keep="first").reset_index(drop=True)
    for label, n in frame["reason"].value_counts().items():
        logger.info("guard-rail %s: %d identifier values", label, int(n))
    return frame


def deterministic_edges(
    con: duckdb.DuckDBPyConnection, *, options: LinkingOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Edges between records that share an identifier value, after the guard-rails.

    Reads the ``tp`` view (touchpoints with ``record_id``). Returns the edges
    (accepted candidates and refused ones, ``reason`` set on the latter) and
    the junk/shared values table.
    """
    junk = junk_values(con, options=options)
    con.register("junk_values", junk)
    con.register("household_values", household_values(con))
    frames = [
        _login_edges(con),
        *(_device_edges(con, kind) for kind in ("cookie_id", "device_id", "ad_id")),
        *(_person_identifier_edges(con, kind) for kind in ("email", "phone")),
    ]
    edges = pd.concat(frames, ignore_index=True)[EDGE_COLUMNS]
    con.unregister("junk_values")
    con.unregister("household_values")
    return edges, junk


def household_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Emails that name a household (``resolver.households``) and a nameless record carries.

    Reads the ``tp`` view. One column, ``value``. Only addresses that a record
    without a first name or birth date carries are looked at (the rule changes
    nothing else), and of those only the ones a cheap ``LIKE`` finds a family
    word or a leading ``the`` in; the surnames of every record carrying such
    an address decide ``the<surname>s``.
    """
    words = " OR ".join(f"email_folded LIKE '%{w}%'" for w in HOUSEHOLD_WORDS)
    rows = _frame(
        con.sql(
            f"""
        SELECT email_folded AS value, last_latin
        FROM tp
        WHERE email_folded IN (
            SELECT email_folded FROM tp
            WHERE email_folded IS NOT NULL
              AND first_latin IS NULL AND dob IS NULL  -- as has_person reads a record
              AND ({words} OR email_folded LIKE 'the%')
        )
        """
        )
    )
    surnames: dict[str, list[str]] = {}
    for value, last in zip(rows["value"].tolist(), rows["last_latin"].tolist(), strict=True):
        surnames.setdefault(value, []).extend([last] if isinstance(last, str) else [])
    found = sorted(v for v, names in surnames.items() if household_email(v, names))
    if found:
        logger.info("guard-rail household email: %d values", len(found))
    return pd.DataFrame({"value": pd.Series(found, dtype=object)})


def _login_edges(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """A record carrying a customer id belongs to that customer: star on the CRM row."""
    return _frame(
        con.sql(
            """
        WITH g AS (
            SELECT record_id, customer_id,
                   first_value(record_id) OVER (
                       PARTITION BY customer_id
                       ORDER BY (kind = 'customers') DESC, record_id) AS anchor
            FROM tp WHERE customer_id IS NOT NULL
        )
        SELECT anchor AS "left", record_id AS "right", 'customer_id' AS rule, 0 AS rank,
               1.0 AS probability, NULL::VARCHAR AS reason
        FROM g WHERE record_id <> anchor
        """
        )
    )


def _device_edges(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    column = _VALUE_COLUMN[kind]
    return _frame(
        con.sql(
            f"""
        WITH j AS (SELECT value, reason FROM junk_values WHERE kind = '{kind}'),
        g AS (
            SELECT t.record_id, t.{column} AS value, j.reason,
                   -- on a shared value, logged-in records are not linked by it
                   (j.reason = 'shared_identifier' AND t.customer_id IS NOT NULL) AS detached
            FROM tp t LEFT JOIN j ON t.{column} = j.value
            WHERE t.{column} IS NOT NULL
        ),
        a AS (
            SELECT *, min(record_id) FILTER (WHERE NOT detached)
                      OVER (PARTITION BY value) AS anchor
            FROM g
        )
        SELECT coalesce(anchor, record_id) AS "left", record_id AS "right", '{kind}' AS rule,
               1 AS rank, 1.0 AS probability,
               CASE WHEN detached OR (reason IS NOT NULL AND reason <> 'shared_identifier')
                    THEN reason END AS reason
        FROM a
        WHERE record_id <> anchor OR anchor IS NULL
        """
        )
    ).query("left != right")


def _person_identifier_edges(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """Email and phone: star per value, vetoed when person fields conflict.

    Records without a name or birth date on a value join its anchor, except where
    the value's named records conflict, or where it is an email that names a
    household (``household_values``): then nothing says whose the record is
    (``ambiguous_identifier``).
    """
    column = _VALUE_COLUMN[kind]
    # An email that names a household (``resolver.households``); phones are not judged so.
    household, household_join = (
        ("h.value IS NOT NULL", " LEFT JOIN household_values h ON t.email_folded = h.value")
        if kind == "email"
        else ("false", "")
    )
    con.sql(
        f"""
        CREATE OR REPLACE TEMP TABLE ident_sig AS
        WITH j AS (SELECT value, reason FROM junk_values WHERE kind = '{kind}'),
        g AS (
            SELECT t.record_id, t.{column} AS value, j.reason AS junk, t.dob,
                   -- the guard compares names as written (any script): resolver.compare
                   coalesce(t.first_name, t.first_latin) AS first_latin,
                   (t.first_latin IS NOT NULL OR t.dob IS NOT NULL) AS has_person,
                   {household} AS household
            FROM tp t LEFT JOIN j ON t.{column} = j.value{household_join}
            WHERE t.{column} IS NOT NULL
        )
        -- records with the same person fields on the same value: one signature
        SELECT *, min(record_id) OVER (PARTITION BY value, first_latin, dob) AS sig_rep FROM g
        """
    )
    pairs = _frame(
        con.sql(
            """
        WITH reps AS (
            SELECT * FROM ident_sig WHERE record_id = sig_rep AND has_person AND junk IS NULL
        )
        SELECT a.value, a.record_id AS l, b.record_id AS r,
               a.first_latin AS first_l, b.first_latin AS first_r, a.dob AS dob_l, b.dob AS dob_r
        FROM reps a JOIN reps b ON a.value = b.value AND a.record_id < b.record_id
        """
        )
    )
    pairs["conflict"] = pd.Series(
        [
            (isinstance(fl, str) and isinstance(fr, str) and not first_names_compatible(fl, fr))
            or (isinstance(dl, str) and isinstance(dr, str) and not dobs_compatible(dl, dr))
            for fl, fr, dl, dr in zip(
                pairs["first_l"], pairs["first_r"], pairs["dob_l"], pairs["dob_r"], strict=True
            )
        ],
        index=pairs.index,
        dtype=bool,
    )
    con.register("ident_pairs", pairs[["value", "l", "r", "conflict"]])
    edges = _frame(
        con.sql(
            f"""
        WITH value_state AS (
            SELECT g.value,
                   min(g.record_id) FILTER (WHERE g.has_person) AS person_anchor,
                   min(g.record_id) AS any_anchor,
                   coalesce(bool_or(p.conflict), false) AS has_conflict,
                   bool_or(g.household) AS household
            FROM ident_sig g LEFT JOIN ident_pairs p ON g.value = p.value
            GROUP BY g.value
        ),
        rep_edges AS (  -- between person signatures: a veto per pair
            SELECT l AS "left", r AS "right", CASE WHEN conflict THEN 'conflict' END AS reason
            FROM ident_pairs
        ),
        member_edges AS (  -- a record to its signature representative
            SELECT sig_rep AS "left", record_id AS "right", junk AS reason
            FROM ident_sig WHERE has_person AND record_id <> sig_rep
        ),
        neutral_edges AS (  -- records without person fields: to the value's anchor
            SELECT coalesce(v.person_anchor, v.any_anchor) AS "left", s.record_id AS "right",
                   coalesce(s.junk, CASE WHEN v.has_conflict OR v.household
                                         THEN 'ambiguous_identifier' END) AS reason
            FROM ident_sig s JOIN value_state v ON s.value = v.value
            WHERE NOT s.has_person
        ),
        junk_rep_edges AS (  -- junk values: refused, recorded once per representative
            SELECT v.any_anchor AS "left", s.record_id AS "right", s.junk AS reason
            FROM ident_sig s JOIN value_state v ON s.value = v.value
            WHERE s.has_person AND s.junk IS NOT NULL AND s.record_id = s.sig_rep
        )
        SELECT "left", "right", '{kind}' AS rule, 2 AS rank, 1.0 AS probability, reason
        FROM (
            SELECT * FROM rep_edges UNION ALL SELECT * FROM member_edges
            UNION ALL SELECT * FROM neutral_edges UNION ALL SELECT * FROM junk_rep_edges
        )
        WHERE "left" <> "right"
        """
        )
    )
    con.unregister("ident_pairs")
    con.sql("DROP TABLE ident_sig")
    return edges
