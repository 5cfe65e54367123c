"""Stitching anonymous browsers to persons by IP address and user agent.

Cookies churn: a browser is cleared, or Safari's ITP caps its first-party
cookies at seven days, and the same browser comes back with a new cookie
that never logs in. What it keeps is its user agent (up to the version
numbers its updates change) and the network it browses from. Stitching
links such a cluster (no login, no identifier, no person field) to a person
only when the evidence is unambiguous:

* the (IP, user agent) pairs of the anonymous cluster point to exactly one
  identified person: the pair occurs in that person's sessions and in no
  other identified person's (``ambiguous_identifier`` otherwise: two members
  of a household on the same browser version);
* where no identified person shares the exact user agent at the cluster's
  IPs, its *browser*, the user agent without its version numbers
  (``browser_family``: Chrome 134 and Chrome 135 on one Windows machine), is
  tried the same way: a browser updates every four to eight weeks, so a
  cookie that churned after an update no longer matches its predecessor's
  user agent;
* a person whose own cookie on that browser (same family) was in use while
  the anonymous cluster was seen is not its owner: a browser holds one
  first-party cookie at a time, so the anonymous cookie is another browser
  of the same make, most often a household member's phone of the same model.
  Of several candidates, the one left when those are set aside is the owner;
  none left is ``ambiguous_identifier``;
* the last two hold only where the data shows that a browser's cookies
  replace one another: at most ``OVERLAPPING_COOKIES_SHARE`` of identified
  persons' cookies on one browser family begin while an earlier one is still
  in use (``churn``). Where cookie ids are issued otherwise (several live at
  once), the time says nothing, and only exact user agents are matched;
* the IP is not shared by more than ``max_persons_per_ip`` identified persons
  (offices, mobile carriers' NAT, public wifi): such IPs are ignored;
* only browser sessions (with a cookie) count: an app's user agent is the
  same on every install and identifies nothing;
* a person written with a generational suffix (``Jr``, ``Sr``: the
  touchpoint's ``generation``) is not picked as the owner by browser family
  alone (``ambiguous_identifier``): the suffix says a parent or child of
  their name exists, most often at their address and home IP, and a browser
  of the make one of them identified on there may as well be the other's (a
  father's Chrome at his son's home IP, the father never logged in there).

The edges are the weakest of all (rank 4): they are applied after every
other link, and the consent gate and the identifier limit still apply.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd

from resolver.frames import RecordRows, columns_of

__all__ = [
    "STITCH_COLUMNS",
    "STITCH_RULE",
    "browser_family",
    "stitch_edges",
    "stitch_frame",
    "stitch_sql",
]

STITCH_RULE = "ip_user_agent"
STITCH_RANK = 4

_EVIDENCE = (
    "customer_id", "email_folded", "phone", "first_latin", "last_latin", "dob", "postcode",
    "national_id",
)  # fmt: skip

#: The touchpoint columns stitching reads (``stitch_frame``).
STITCH_COLUMNS = (*_EVIDENCE, "record_id", "cookie_id", "user_agent", "ts", "generation", "ip")

#: Where more than this share of identified persons' cookies on one browser family were
#: first seen while an earlier one was still in use, the data's cookies do not replace one
#: another (``churn`` in ``stitch_sql``), and stitching matches exact user agents only, as
#: before the browser family and the in-use test: harder world seeds 1-4 0.05-0.07 (a second
#: device of one make: a Mac and an iPad), the demo world, whose cookies of one browser
#: are drawn over the whole window, 0.93.
OVERLAPPING_COOKIES_SHARE = 0.2
#: Cookies that follow an earlier one of their person and browser family needed to tell.
MIN_FOLLOWING_COOKIES = 20

#: A version number: digits with at least one dot or underscore (``134.0.0.0``, ``17_5``).
_VERSION = re.compile(r"\d+(?:[._]\d+)+")


def browser_family(user_agent: str) -> str:
    """A user agent without its version numbers: what a browser keeps across its updates.

    Examples:
        >>> browser_family("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/134.0.0.0 Safari/537.36")
        'Mozilla/# (Windows NT #; Win64; x64) Chrome/# Safari/#'
        >>> browser_family("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Version/18.5")
        'Mozilla/# (iPhone; CPU iPhone OS # like Mac OS X) Version/#'
    """
    return _VERSION.sub("#", user_agent)


def stitch_edges(
    touchpoints: RecordRows, *, cluster: np.ndarray, max_persons_per_ip: int
) -> pd.DataFrame:
    """Edges from anonymous clusters to the one identified person sharing their browser.

    Args:
        touchpoints: the ingest output (needs ``ip``, ``user_agent``, ``cookie_id``, ``ts``),
            or a function reading its columns (``resolver.frames.RecordRows``).
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


def stitch_frame(touchpoints: RecordRows, *, cluster: np.ndarray) -> pd.DataFrame:
    """What stitching reads per record: ``record_id, cluster, evidence, generation, ip, ua,
    family, cookie, t``.

    ``t`` is the record's time in seconds (null without one). The text columns are integer
    codes, null where the text is missing: the query compares them for equality only, and
    orders by ``cookie`` only to break ties, for which the codes keep the ids' order. As
    text, DuckDB's hash tables and the query's shared results held every session's IP, user
    agent, browser and cookie (3-4.5 GiB above the clustering at 10 M touchpoints, issue #14).
    The touchpoints are read a column at a time, each let go of once coded, when they are
    a function that reads them (``RecordRows``).
    """

    def column(name: str) -> pd.Series | None:
        read = columns_of(touchpoints, [name])
        return read[name] if name in read.columns else None

    def required(name: str) -> pd.Series:
        values = column(name)
        if values is None:
            raise KeyError(name)
        return values

    n = len(cluster)
    evidence = np.zeros(n, dtype=bool)
    for name in _EVIDENCE:
        values = column(name)
        if values is not None:
            evidence |= values.notna().to_numpy()
    cookies = required("cookie_id")
    # Browsers only: an app's user agent is the same on every install.
    browser = cookies.notna().to_numpy()
    # sorted: ``cookie`` breaks ties in the query's order, as the ids would
    cookie = _nullable(pd.factorize(cookies, sort=True)[0])
    del cookies
    ua_code, agents = pd.factorize(required("user_agent"))
    ua_code[~browser] = -1
    family_code, _ = pd.factorize(pd.Index(agents, dtype=object).map(browser_family))
    family = np.append(family_code, -1)[ua_code]  # -1 (no user agent) takes the last: -1
    del agents, family_code
    ts = pd.to_datetime(required("ts"), utc=True)
    seconds = pd.Series(
        ts.to_numpy(dtype="datetime64[s]").astype(np.int64), dtype="Int64", index=ts.index
    ).mask(ts.isna())
    del ts
    generations = column("generation")
    generation = pd.factorize(generations)[0] if generations is not None else np.full(n, -1)
    del generations
    return pd.DataFrame(
        {
            "record_id": required("record_id").to_numpy(),
            "cluster": cluster,
            "evidence": evidence,
            "generation": _nullable(generation),
            "ip": _nullable(pd.factorize(required("ip"))[0]),
            "ua": _nullable(ua_code),
            "family": _nullable(family),
            "cookie": cookie,
            "t": seconds.to_numpy(),
        }
    )


def _nullable(codes: np.ndarray) -> pd.arrays.IntegerArray:
    """``pd.factorize`` codes as a nullable integer column: null where the code is -1."""
    codes = np.asarray(codes)
    return pd.arrays.IntegerArray(codes.astype(np.int32), codes < 0)


def stitch_sql(*, max_persons_per_ip: int) -> str:
    """The stitching query over a table ``r`` shaped as ``stitch_frame`` (DuckDB's dialect).

    The Spark engine runs this same query over the whole graph
    (``resolver.spark``); each engine gives the edges ``stitch_edges`` returns.
    """
    return f"""
        WITH clusters AS (
            SELECT cluster, bool_or(evidence) AS identified FROM r GROUP BY cluster
        ),
        seen AS (  -- browser sessions with an IP, and whether their cluster is identified
            SELECT r.cluster, c.identified, r.record_id, r.ip, r.ua, r.family, r.cookie, r.t
            FROM r JOIN clusters c USING (cluster)
            WHERE r.ip IS NOT NULL AND r.ua IS NOT NULL
        ),
        busy_ips AS (  -- offices, carrier NAT, public wifi
            SELECT ip FROM seen WHERE identified
            GROUP BY ip HAVING count(DISTINCT cluster) > {int(max_persons_per_ip)}
        ),
        quiet AS (
            SELECT * FROM seen WHERE ip NOT IN (SELECT ip FROM busy_ips)
        ),
        anonymous AS (  -- (ip, ua) per anonymous cluster, with one record that shows it
            SELECT cluster, ip, ua, family, min(record_id) AS record_id
            FROM quiet WHERE NOT identified GROUP BY cluster, ip, ua, family
        ),
        by_ua AS (  -- identified persons per (ip, exact user agent)
            SELECT ip, ua, cluster AS owner, min(record_id) AS owner_record
            FROM quiet WHERE identified GROUP BY ip, ua, cluster
        ),
        by_family AS (  -- and per (ip, browser family)
            SELECT ip, family, cluster AS owner, min(record_id) AS owner_record
            FROM quiet WHERE identified GROUP BY ip, family, cluster
        ),
        lives AS (  -- when each identified person's cookies were in use, per browser family
            SELECT cluster AS owner, family, cookie, min(t) AS first_t, max(t) AS last_t
            FROM seen WHERE identified AND cookie IS NOT NULL GROUP BY cluster, family, cookie
        ),
        following AS (  -- each cookie after the first of its person and browser family
            SELECT first_t,
                   max(last_t) OVER (PARTITION BY owner, family ORDER BY first_t, cookie
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_t
            FROM lives WHERE first_t IS NOT NULL
        ),
        churn AS (  -- whether a browser's cookies replace one another in this data
            SELECT count(*) >= {MIN_FOLLOWING_COOKIES}
                   AND count(*) FILTER (WHERE first_t <= before_t)
                       <= {OVERLAPPING_COOKIES_SHARE} * count(*) AS ordered
            FROM following WHERE before_t IS NOT NULL
        ),
        exact AS (
            SELECT a.cluster, a.record_id, a.family, o.owner, o.owner_record, false AS by_family
            FROM anonymous a JOIN by_ua o ON o.ip = a.ip AND o.ua = a.ua
        ),
        candidates AS (  -- the browser family only where no exact user agent matches
            SELECT * FROM exact
            UNION ALL
            SELECT a.cluster, a.record_id, a.family, o.owner, o.owner_record, true AS by_family
            FROM anonymous a JOIN by_family o ON o.ip = a.ip AND o.family = a.family
            CROSS JOIN churn
            WHERE churn.ordered AND a.cluster NOT IN (SELECT cluster FROM exact)
        ),
        spans AS (  -- when each anonymous cluster was seen
            SELECT cluster, min(t) AS first_t, max(t) AS last_t
            FROM seen WHERE NOT identified GROUP BY cluster
        ),
        busy_owners AS (  -- their own cookie on that browser was in use meanwhile: another browser
            SELECT DISTINCT c.cluster, c.owner
            FROM candidates c
            JOIN spans s ON s.cluster = c.cluster
            JOIN lives l ON l.owner = c.owner AND l.family = c.family
            CROSS JOIN churn
            WHERE churn.ordered AND l.first_t <= s.last_t AND l.last_t >= s.first_t
        ),
        namesakes AS (  -- persons written Jr or Sr: a parent or child of their name exists
            SELECT DISTINCT cluster FROM r WHERE generation IS NOT NULL
        ),
        verdict AS (
            SELECT c.cluster,
                   count(DISTINCT c.owner) FILTER (WHERE b.owner IS NULL) AS free_owners,
                   min(c.record_id) AS record_id,
                   min(c.owner_record) FILTER (WHERE b.owner IS NULL) AS owner_record,
                   min(c.owner_record) AS any_owner_record,
                   -- a namesake's browser make alone does not tell the two apart
                   coalesce(bool_or(c.by_family AND n.cluster IS NOT NULL), false) AS namesake
            FROM candidates c
            LEFT JOIN busy_owners b ON b.cluster = c.cluster AND b.owner = c.owner
            LEFT JOIN namesakes n ON n.cluster = c.owner
            GROUP BY c.cluster
        ),
        judged AS (
            SELECT *, free_owners = 1 AND NOT namesake AS one_owner FROM verdict
        )
        SELECT record_id AS "left",
               CASE WHEN one_owner THEN owner_record ELSE any_owner_record END AS "right",
               '{STITCH_RULE}' AS rule, {STITCH_RANK} AS rank, 1.0 AS probability,
               CASE WHEN one_owner THEN NULL ELSE 'ambiguous_identifier' END AS reason
        FROM judged
        ORDER BY "left"
        """
