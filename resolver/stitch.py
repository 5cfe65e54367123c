"""Stitching anonymous browsers to persons by IP address and user agent.

Cookies churn: a browser is cleared, or Safari's ITP caps its first-party
cookies at seven days, and the same browser comes back with a new cookie
that never logs in. What it keeps is its user agent and the network it
browses from. Stitching links such a cluster (no login, no identifier, no
person field) to a person only when the evidence is unambiguous:

* the (IP, user agent) pairs of the anonymous cluster point to exactly one
  identified person: the pair occurs in that person's sessions and in no
  other identified person's (``ambiguous_identifier`` otherwise: two members
  of a household on the same browser version);
* the IP is not shared by more than ``max_persons_per_ip`` identified persons
  (offices, mobile carriers' NAT, public wifi): such IPs are ignored;
* only browser sessions (with a cookie) count: an app's user agent is the
  same on every install and identifies nothing.

The edges are the weakest of all (rank 4): they are applied after every
other link, and the consent gate and the identifier limit still apply.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

__all__ = ["STITCH_RULE", "stitch_edges", "stitch_frame", "stitch_sql"]

STITCH_RULE = "ip_user_agent"
STITCH_RANK = 4

_EVIDENCE = (
    "customer_id", "email_folded", "phone", "first_latin", "last_latin", "dob", "postcode",
    "national_id",
)  # fmt: skip


def stitch_edges(
    touchpoints: pd.DataFrame, *, cluster: np.ndarray, max_persons_per_ip: int
) -> pd.DataFrame:
    """Edges from anonymous clusters to the one identified person sharing their browser.

    Args:
        touchpoints: the ingest output (needs ``ip`` and ``user_agent``).
        cluster: cluster label per record id, from clustering without stitching.
        max_persons_per_ip: an IP seen with more identified persons is ignored.

    Returns:
        Edges (``left`` anonymous record, ``right`` the person's record) with
        ``reason`` set on refused ones (``ambiguous_identifier``).
    """
    con = duckdb.connect()
    con.register("r", stitch_frame(touchpoints, cluster=cluster))
    edges: pd.DataFrame = con.sql(stitch_sql(max_persons_per_ip=max_persons_per_ip)).df()
    con.close()
    return edges


def stitch_frame(touchpoints: pd.DataFrame, *, cluster: np.ndarray) -> pd.DataFrame:
    """What stitching reads per record: ``record_id, cluster, evidence, ip, ua``."""
    present = [c for c in _EVIDENCE if c in touchpoints.columns]
    evidence = touchpoints[present].notna().any(axis=1).to_numpy()
    return pd.DataFrame(
        {
            "record_id": touchpoints["record_id"].to_numpy(),
            "cluster": cluster,
            "evidence": evidence,
            "ip": touchpoints["ip"].to_numpy(),
            # Browsers only: an app's user agent is the same on every install.
            "ua": touchpoints["user_agent"].where(touchpoints["cookie_id"].notna()).to_numpy(),
        }
    )


def stitch_sql(*, max_persons_per_ip: int) -> str:
    """The stitching query over a table ``r`` shaped as ``stitch_frame`` (DuckDB's dialect).

    The Spark engine runs this same query over the whole graph
    (``resolver.spark``); each engine gives the edges ``stitch_edges`` returns.
    """
    return f"""
        WITH clusters AS (
            SELECT cluster, bool_or(evidence) AS identified FROM r GROUP BY cluster
        ),
        pairs AS (  -- (ip, ua) per cluster, with one record that shows it
            SELECT r.cluster, c.identified, r.ip, r.ua, min(r.record_id) AS record_id
            FROM r JOIN clusters c USING (cluster)
            WHERE r.ip IS NOT NULL AND r.ua IS NOT NULL
            GROUP BY r.cluster, c.identified, r.ip, r.ua
        ),
        busy_ips AS (  -- offices, carrier NAT, public wifi
            SELECT ip FROM pairs WHERE identified
            GROUP BY ip HAVING count(DISTINCT cluster) > {int(max_persons_per_ip)}
        ),
        owners AS (  -- (ip, ua) pairs seen with exactly one identified person
            SELECT ip, ua, count(DISTINCT cluster) AS persons,
                   min(cluster) AS owner, min(record_id) AS owner_record
            FROM pairs WHERE identified AND ip NOT IN (SELECT ip FROM busy_ips)
            GROUP BY ip, ua
        ),
        candidates AS (
            SELECT a.cluster, a.record_id, o.owner, o.owner_record, o.persons
            FROM pairs a JOIN owners o USING (ip, ua)
            WHERE NOT a.identified
        ),
        verdict AS (
            SELECT cluster,
                   count(DISTINCT owner) FILTER (WHERE persons = 1) AS unique_owners,
                   bool_or(persons > 1) AS shared,
                   min(record_id) AS record_id,
                   min(owner_record) FILTER (WHERE persons = 1) AS owner_record,
                   min(owner_record) AS any_owner_record
            FROM candidates GROUP BY cluster
        )
        SELECT record_id AS "left", coalesce(owner_record, any_owner_record) AS "right",
               '{STITCH_RULE}' AS rule, {STITCH_RANK} AS rank, 1.0 AS probability,
               CASE WHEN unique_owners = 1 AND NOT shared THEN NULL
                    ELSE 'ambiguous_identifier' END AS reason
        FROM verdict
        ORDER BY "left"
        """
