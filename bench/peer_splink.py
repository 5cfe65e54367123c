"""The plain-Splink peer: the pipeline a competent Splink user writes for Tether's inputs.

    .venv/bin/python bench/peer_splink.py --config WORLD/tether.toml --labels WORLD/labels.csv
    .venv/bin/python bench/peer_splink.py --config WORLD/tether.toml --labels WORLD/labels.csv \\
        --threshold 0.9 --json

Tether's benchmarks compare it against this script, run over the same input
files in the same process, so the comparison is with what Splink's tutorials
teach rather than with a straw man. It reads the ``tether.toml`` (only kinds
``customers``, ``sessions``, ``devices`` and ``contacts`` take part), and then:

1. **read**: each source with DuckDB (CSV or Parquet, a file or a directory of
   part files), canonical columns mapped, all unioned into one table with a
   ``unique_id``. ``national_id`` is ignored.
2. **prepare**: light cleaning as the tutorials ask ("lower-cased, punctuation
   cleaned up"): names and emails trimmed and lower-cased (contacts'
   ``display_name`` split into first and last name), phones to digits-only
   E.164 with ``phonenumbers`` and the row's country, dates of birth to ISO,
   UK postcodes spaced as outward/inward code.
3. **train**: a tutorial PII model over the records that carry a name or a
   date of birth, ``dedupe_only`` on the union: ``ForenameSurnameComparison``
   (term frequencies on the concatenated name), ``DateOfBirthComparison``,
   ``EmailComparison``, ``ExactMatch`` on phone and ``PostcodeComparison``
   (city, with term frequencies, only where there is no postcode: Splink's
   FEBRL4 example leaves out location columns correlated with postcode).
   λ from deterministic rules (recall 0.7), u by random sampling (5e6 pairs),
   m by two EM sessions (``max_pairs`` 5e6 each) blocked on email, then on
   phone; where the data lacks them (FEBRL), the tutorial's sessions on first
   + last name, then date of birth. (The tutorial's name session learned
   "same name" on the demo world, whose emails are made from names, and a
   postcode session learned "same household": see ``train``.)
4. **predict**: ``predict()`` over the blocking rules of Splink's 50k-persons
   tutorial on these columns (pairs of name, date of birth, postcode and city
   columns or prefixes; no single-column rule), plus ``deterministic_link()``
   on the exact identifiers (customer_id, email, phone, cookie_id, device_id,
   ad_id) over all records, so records with no PII (cookie-only sessions) link
   through identifiers only.
5. **cluster**: model edges and exact-identifier edges (probability 1) go to
   ``splink.clustering.cluster_pairwise_predictions_at_threshold``
   (connected components) at the threshold.

Scores come from Tether's own ``resolver.evaluate`` so both sides are scored
alike. ``run_peer()`` is the in-process entry point for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import sys
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import phonenumbers
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from resolver.evaluate import evaluate_graph, read_labels  # noqa: E402

__all__ = ["PeerResult", "main", "run_peer"]

KEYS = {
    "customers": "customer_id",
    "sessions": "session_id",
    "devices": "device_id",
    "contacts": "contact_id",
}
"""The kinds that take part in linking, and each one's key column."""

CANONICAL = {
    "customers": [
        "customer_id", "email", "phone", "first_name", "last_name", "date_of_birth",
        "city", "postcode", "country",
    ],
    "sessions": [
        "session_id", "cookie_id", "device_id", "customer_id", "email", "phone",
        "first_name", "last_name", "postcode", "city", "country",
    ],
    "devices": ["device_id", "ad_id", "customer_id", "email", "phone"],
    "contacts": ["contact_id", "phone", "display_name", "email", "customer_id"],
}  # fmt: skip
"""Canonical columns the peer reads per kind (gender, address, ip, user agent, handle unused)."""

COLUMNS = [
    "customer_id", "cookie_id", "device_id", "ad_id", "email", "phone",
    "first_name", "last_name", "display_name", "date_of_birth", "city", "postcode", "country",
]  # fmt: skip
"""Columns of the unioned table, besides source, kind, record_key."""

IDENTIFIERS = ["customer_id", "email", "phone", "cookie_id", "device_id", "ad_id"]
"""Exact identifiers: records sharing one are the same person."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PeerResult:
    """What one peer run produced: the identity graph, timings and counts."""

    graph: pd.DataFrame
    """One row per record: ``source, record_key, person_id`` (strings)."""
    seconds: dict[str, float]
    """Wall seconds of read, prepare, train, predict, cluster and total."""
    records: int
    """Records of the linked kinds read from the sources."""
    model_records: int
    """Records with a name or date of birth, the input of the Splink model."""
    comparisons: int
    """Record pairs the model scored (its blocked pairs)."""
    exact_pairs: int
    """Record pairs linked by an exact identifier (``deterministic_link``)."""
    clusters: int
    """Persons found."""
    peak_rss_gb: float
    """Peak resident memory of this process so far."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Estimated λ and the blocking rules and comparisons used."""


# ---------------------------------------------------------------- read


def _table_expression(path: Path) -> str:
    """DuckDB table function that reads a CSV/Parquet file or a directory of parts."""
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return f"read_parquet('{path}/*.parquet', union_by_name = true)"
        return f"read_csv('{path}/*.csv', all_varchar = true, union_by_name = true)"
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', all_varchar = true)"


def read_sources(con: duckdb.DuckDBPyConnection, config: Path) -> dict[str, Any]:
    """Union the linked sources of ``config`` into table ``raw``; return [linking]."""
    settings = tomllib.loads(config.read_text())
    selects = []
    for name, source in settings.get("sources", {}).items():
        kind = source.get("kind")
        if kind not in KEYS:
            continue
        path = Path(source["path"])
        path = path if path.is_absolute() else (config.parent / path)
        table = _table_expression(path.resolve())
        present = set(con.sql(f"select * from {table} limit 0").columns)
        mapping = source.get("columns", {})
        exprs = {}
        for canonical in CANONICAL[kind]:
            column = mapping.get(canonical, canonical)
            exprs[canonical] = (
                f"nullif(trim(cast(\"{column}\" as varchar)), '')"
                if column in present
                else "cast(null as varchar)"
            )
        key = exprs[KEYS[kind]]
        cols = ", ".join(f"{exprs.get(c, 'cast(null as varchar)')} as {c}" for c in COLUMNS)
        selects.append(
            f"select '{name}' as source, '{kind}' as kind, {key} as record_key, {cols} from {table}"
        )
    if not selects:
        raise SystemExit(f"{config}: no source of kind {', '.join(KEYS)}")
    con.sql(
        "create or replace table raw as select row_number() over () as unique_id, * from ("
        + " union all ".join(selects)
        + ")"
    )
    linking: dict[str, Any] = settings.get("linking", {})
    return linking


# ---------------------------------------------------------------- prepare


def e164_digits(raw: str, region: str) -> str | None:
    """A phone as digits-only E.164, read nationally in ``region`` if it has no prefix."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return None
    if text.startswith("00"):
        text = "+" + digits[2:]
    candidates: list[tuple[str, str | None]] = [(text, region)]
    if not text.startswith("+") and not digits.startswith("0"):
        candidates.append(("+" + digits, None))  # written without its '+'
    parsed = []
    for number, reg in candidates:
        try:
            p = phonenumbers.parse(number, reg)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(p):
            return phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164)[1:]
        parsed.append(p)
    for p in parsed:
        if phonenumbers.is_possible_number(p):
            return phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits


DATE_SQL = """coalesce(
    try_strptime(dob, '%Y-%m-%d'),
    try_strptime(dob, '%Y%m%d'),
    case when country = 'US' then try_strptime(dob, '%m/%d/%Y')
         else try_strptime(dob, '%d/%m/%Y') end,
    try_strptime(dob, '%d.%m.%Y'),
    try_strptime(dob, '%d-%m-%Y'),
    try_strptime(dob, '%d %b %Y'),
    try_strptime(dob, '%d %B %Y'))"""
"""Dates of birth in the formats seen (US rows month first), to a timestamp."""

NAME_SQL = (
    "nullif(trim(regexp_replace(regexp_replace(regexp_replace(lower(strip_accents({c})), "
    "'^(mr|mrs|ms|miss|dr)\\.?\\s+', ''), '[^\\w\\s''-]', ' ', 'g'), '\\s+', ' ', 'g')), '')"
)
"""Lower-case, accents and titles and punctuation off, single spaces."""


def prepare(con: duckdb.DuckDBPyConnection, default_region: str) -> None:
    """Clean ``raw`` into table ``records`` (same ``unique_id``)."""
    pairs = con.sql(
        "select distinct phone, coalesce(upper(country), ?) as region from raw "
        "where phone is not null",
        params=[default_region],
    ).fetchall()
    phones = pd.DataFrame(
        [(raw, region, e164_digits(raw, region)) for raw, region in pairs],
        columns=["phone", "region", "phone_e164"],
    ).astype("string")
    con.register("phones", phones)
    first = NAME_SQL.format(c="coalesce(first_name, split_part(display_name, ' ', 1))")
    last = NAME_SQL.format(
        c="coalesce(last_name, case when display_name like '% %' "
        "then regexp_extract(display_name, '(\\S+)\\s*$', 1) end)"
    )
    con.sql(
        f"""
        create or replace table records as
        with named as (
            select r.*, p.phone_e164,
                   {first} as first_clean, {last} as last_clean,
                   date_of_birth as dob
            from raw r
            left join phones p
              on r.phone = p.phone and coalesce(upper(r.country), $region) = p.region
        )
        select unique_id, source, kind, record_key, customer_id, cookie_id, device_id,
               lower(ad_id) as ad_id,
               nullif(lower(trim(email)), '') as email,
               phone_e164 as phone,
               first_clean as first_name,
               last_clean as last_name,
               first_clean || ' ' || last_clean as first_name_surname_concat,
               strftime({DATE_SQL}, '%Y-%m-%d') as date_of_birth,
               nullif(lower(trim(city)), '') as city,
               regexp_replace(upper(regexp_replace(postcode, '[\\s-]', '', 'g')),
                              '^([A-Z]{{1,2}}[0-9][A-Z0-9]?)([0-9][A-Z]{{2}})$', '\\1 \\2')
                   as postcode
        from named
        """,
        params={"region": default_region},
    )
    con.unregister("phones")


# ---------------------------------------------------------------- model


def _present(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> set[str]:
    counts = con.sql(f"select {', '.join(f'count({c})' for c in columns)} from {table}").fetchall()[
        0
    ]
    return {c for c, n in zip(columns, counts, strict=True) if n}


def _column(expression: str) -> str:
    """The column an expression like ``substr(postcode, 1, 3)`` reads."""
    match = re.fullmatch(r"substr\((\w+),.*\)", expression)
    return match.group(1) if match else expression


def model_settings(present: set[str]) -> tuple[SettingsCreator, dict[str, Any]]:
    """The tutorial model over the PII columns the data has."""
    comparisons: list[Any] = []
    if {"first_name", "last_name"} <= present:
        comparisons.append(
            cl.ForenameSurnameComparison(
                "first_name",
                "last_name",
                forename_surname_concat_col_name="first_name_surname_concat",
            )
        )
    else:
        comparisons += [cl.NameComparison(c) for c in ("first_name", "last_name") if c in present]
    if "date_of_birth" in present:
        comparisons.append(cl.DateOfBirthComparison("date_of_birth", input_is_string=True))
    if "email" in present:
        comparisons.append(cl.EmailComparison("email"))
    if "phone" in present:
        comparisons.append(cl.ExactMatch("phone"))
    # One location column, as Splink's FEBRL4 example advises: city and address
    # are strongly correlated with postcode, and counting them as independent
    # evidence too makes everyone at one address (a household) a match.
    if "postcode" in present:
        comparisons.append(cl.PostcodeComparison("postcode"))
    elif "city" in present:
        comparisons.append(cl.ExactMatch("city").configure(term_frequency_adjustments=True))

    # The blocking rules of Splink's 50k-persons tutorial on our columns: no
    # single-column rule (first name alone, a city-wide postcode is quadratic in
    # its biggest block), prefixes to catch typos.
    candidate_rules: list[tuple[str, ...]] = [
        ("substr(first_name, 1, 3)", "substr(last_name, 1, 4)"),
        ("last_name", "date_of_birth"),
        ("first_name", "date_of_birth"),
        ("postcode", "first_name"),
        ("postcode", "last_name"),
        ("date_of_birth", "city"),
        ("substr(postcode, 1, 3)", "date_of_birth"),
        ("substr(postcode, 1, 3)", "first_name"),
        ("substr(postcode, 1, 3)", "last_name"),
        ("substr(first_name, 1, 2)", "substr(last_name, 1, 2)", "substr(date_of_birth, 1, 4)"),
    ]
    rules = [r for r in candidate_rules if {_column(e) for e in r} <= present]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*r) for r in rules],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    described = {
        "comparisons": [type(c).__name__ for c in comparisons],
        "blocking_rules": [" & ".join(r) for r in rules],
    }
    return settings, described


def train(linker: Linker, present: set[str], described: dict[str, Any]) -> None:
    """λ from deterministic rules, u by random sampling, m by EM (as in the tutorials)."""
    deterministic = [
        r
        for r in (("first_name", "last_name", "date_of_birth"), ("email",), ("phone",))
        if set(r) <= present
    ]
    if deterministic:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*r) for r in deterministic], recall=0.7
        )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    # EM blocked on the strong identifiers where the data has them (as one
    # blocks a FEBRL session on soc_sec_id): their pairs are clearly matches
    # or not. Blocking on first + last name (the introductory tutorial)
    # learns "same name" instead of "same person" here, because emails are made
    # from names; blocking on postcode learns "same household". Where the data
    # has no such identifier (FEBRL without its national id), the tutorial's
    # sessions: first + last name, then date of birth.
    sessions: list[tuple[str, ...]] = [r for r in (("email",), ("phone",)) if set(r) <= present]
    if len(sessions) < 2:
        sessions += [
            r for r in (("first_name", "last_name"), ("date_of_birth",)) if set(r) <= present
        ][: 2 - len(sessions)]
    for rule in sessions:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), max_pairs=5e6
        )
    described["em_sessions"] = [" & ".join(r) for r in sessions]
    model = linker.misc.save_model_to_json()
    described["probability_two_random_records_match"] = model[
        "probability_two_random_records_match"
    ]


# ---------------------------------------------------------------- run


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_peer(*, config: Path, threshold: float = 0.9) -> PeerResult:
    """Run the plain-Splink pipeline on the sources of ``config``."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    seconds: dict[str, float] = {}
    start = mark = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        seconds[phase] = round(now - mark, 2)
        mark = now

    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    linking = read_sources(con, config)
    lap("read")

    prepare(con, str(linking.get("default_region", "GB")).upper())
    records = con.sql("select count(*) from records").fetchall()[0][0]
    pii = ["first_name", "last_name", "date_of_birth", "email", "phone", "postcode", "city"]
    con.sql(
        "create or replace table model_input as select unique_id, "
        + ", ".join([*pii, "first_name_surname_concat"])
        + " from records where first_name is not null or last_name is not null "
        "or date_of_birth is not null"
    )
    model_records = con.sql("select count(*) from model_input").fetchall()[0][0]
    present = _present(con, "model_input", pii)
    lap("prepare")

    settings, described = model_settings(present)
    scored = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model_records and settings.comparisons:
            linker = Linker(db_api.register("model_input"), settings, log_level=logging.WARNING)
            train(linker, present, described)
            lap("train")
            scored = linker.inference.predict().physical_name
        else:
            lap("train")
        id_present = sorted(_present(con, "records", IDENTIFIERS), key=IDENTIFIERS.index)
        exact = ""
        if id_present:
            exact = (
                Linker(
                    db_api.register("records"),
                    SettingsCreator(
                        link_type="dedupe_only",
                        blocking_rules_to_generate_predictions=[block_on(c) for c in id_present],
                    ),
                    log_level=logging.WARNING,
                )
                .inference.deterministic_link()
                .physical_name
            )
    described["exact_identifiers"] = id_present
    parts = [f"select unique_id_l, unique_id_r, match_probability from {scored}"] if scored else []
    if exact:
        parts.append(f"select unique_id_l, unique_id_r, 1.0 as match_probability from {exact}")
    if not parts:
        parts.append("select 0 as unique_id_l, 0 as unique_id_r, 0.0 as match_probability limit 0")
    comparisons = con.sql(f"select count(*) from {scored}").fetchall()[0][0] if scored else 0
    exact_pairs = con.sql(f"select count(*) from {exact}").fetchall()[0][0] if exact else 0
    lap("predict")

    con.sql("create or replace table edges as " + " union all ".join(parts))
    clusters_sdf = cluster_pairwise_predictions_at_threshold(
        db_api.register("records"),
        db_api.register("edges"),
        db_api=db_api,
        node_id_column_name="unique_id",
        threshold_match_probability=threshold,
    )
    graph = con.sql(
        f"""
        select r.source, r.record_key, cast(c.cluster_id as varchar) as person_id
        from records r join {clusters_sdf.physical_name} c using (unique_id)
        order by r.unique_id
        """
    ).df()
    lap("cluster")
    seconds["total"] = round(time.perf_counter() - start, 2)
    result = PeerResult(
        graph=graph,
        seconds=seconds,
        records=int(records),
        model_records=int(model_records),
        comparisons=int(comparisons),
        exact_pairs=int(exact_pairs),
        clusters=int(graph["person_id"].nunique()),
        peak_rss_gb=round(_rss_gb(), 2),
        parameters=described,
    )
    con.close()
    return result


def report(result: PeerResult, labels: Path) -> dict[str, Any]:
    """The benchmark's summary of ``result``, scored with Tether's evaluation."""
    scores = evaluate_graph(graph=result.graph, labels=read_labels(labels))
    return {
        "records": result.records,
        "seconds": result.seconds,
        "peak_rss_gb": result.peak_rss_gb,
        "pairwise_precision": scores.pairwise_precision,
        "pairwise_recall": scores.pairwise_recall,
        "pairwise_f1": scores.pairwise_f1,
        "clusters": result.clusters,
        "comparisons": result.comparisons,
        "model_records": result.model_records,
        "exact_pairs": result.exact_pairs,
        "parameters": result.parameters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the world's tether.toml")
    parser.add_argument("--labels", type=Path, required=True, help="labels.csv")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    summary = report(run_peer(config=args.config, threshold=args.threshold), args.labels)
    if args.json:
        print(json.dumps(summary, indent=2))  # noqa: T201
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")  # noqa: T201


if __name__ == "__main__":
    main()
