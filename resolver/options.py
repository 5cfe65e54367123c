"""Linking options: the tunables of linking and clustering, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from resolver.vocabulary import IDENTIFIER_KINDS, IdentifierKind

# The identifier kinds are declared in ``resolver.vocabulary``; named here too
# because ``[linking.blocklist]`` keys are identifier kinds.
__all__ = ["IDENTIFIER_KINDS", "IdentifierKind", "LinkingOptions", "SparkOptions", "spark_missing"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkingOptions:
    """How records are linked and clustered (``[linking]`` in ``tether.toml``).

    Each field is declared once here, with its type, default and a one-line
    ``help`` (its metadata): ``api.settings`` validates ``[linking]`` from these
    declarations and writes ``tether init``'s example and the reference table
    of ``docs/configuration.md`` from them; a docstring below a field says more.
    """

    threshold: float = field(
        default=0.9, metadata={"help": "match probability at which records cluster"}
    )
    default_region: str = field(
        default="GB",
        metadata={"help": "ISO country for phone numbers written without a country code"},
    )
    max_customer_ids: int = field(
        default=2, metadata={"help": "identifier limit: distinct customer ids per person"}
    )
    """Identifier limit: at most this many distinct ``customer_id`` per person.

    2 lets a CRM duplicate row (one person, two customer ids) join its twin;
    a merge that would exceed it is refused at its weakest link."""
    max_customers_per_value: dict[str, int] = field(
        default_factory=lambda: {"email": 2, "phone": 2},
        metadata={"help": "an email/phone held by customers of more surnames is junk"},
    )
    """An email or phone held by customers of more distinct surnames than this is
    junk (a placeholder such as ``noemail@example.com``) and is not linked on.
    Surnames are compared by consonant skeleton (``norcott``, ``norcot``), each
    customer counts once, and a customer without a surname counts on its own:
    a CRM's five duplicate rows of one person are one holder."""
    max_customers_per_device: int = field(
        default=1, metadata={"help": "a cookie/device logged into more customers is shared"}
    )
    """A cookie, device or advertising id logged into more customers than this is
    shared (a family tablet): its logged-in records go with their own customer,
    its anonymous records stay together, apart from every customer."""
    max_devices_per_ad_id: int = field(
        default=3, metadata={"help": "an advertising id on more app installs is a placeholder"}
    )
    """An advertising id seen on more app installs than this is a placeholder
    (a limited-ad-tracking id of all zeros, a test id) and is not linked on; one
    device keeps its id across a few reinstalls."""
    blocklist: dict[str, tuple[str, ...]] = field(
        default_factory=dict, metadata={"help": "values never linked on, per identifier kind"}
    )
    """Identifier kind -> values never linked on (normalised: lower-case email, E.164 phone)."""
    stitch_browsers: bool = field(
        default=True,
        metadata={
            "help": "join a never-identified browser to the one person with its IP + user agent"
        },
    )
    """Link a never-identified browser to the one person it shares its IP and
    user agent with (``resolver.stitch``): cookie churn on one browser."""
    max_persons_per_ip: int = field(
        default=6,
        metadata={
            "help": "an IP shared by more identified persons is not used to stitch (1: person-level only)"
        },
    )
    """An IP seen with more identified persons than this (an office, a mobile
    carrier's NAT) is not used for stitching."""
    conflict_guard: tuple[str, ...] = field(
        default=("first_name", "dob"),
        metadata={"help": "wholly different first names / birth dates never merge"},
    )
    """Fields whose wholesale disagreement stops two clusters merging (``conflict``).

    Keeps twins (same surname, birthday, address) and same-name neighbours
    apart. Turn it off for data whose errors replace whole values, such as
    FEBRL, where a national id tells the duplicates apart instead."""
    max_block_size: int = field(
        default=50,
        metadata={"help": "a blocking value with more records is not blocked on in that rule"},
    )
    """Blocking cap: a value shared by more records than this (a common surname,
    a city-level postcode) is not blocked on in that rule; more selective rules
    cover its records (``resolver.blocking``). Comparisons per record stay below
    rules × (max_block_size − 1) / 2 whatever the data."""
    em_max_pairs: float = field(
        default=1e6, metadata={"help": "pairs sampled per EM training session"}
    )
    u_max_pairs: float = field(
        default=1e6, metadata={"help": "random pairs sampled to estimate u probabilities"}
    )
    seed: int = field(
        default=1, metadata={"help": "seed of the training samples: same data and seed, same model"}
    )
    """Seed of the training samples: the same data and seed give the same model."""
    engine: Literal["duckdb", "spark"] = field(
        default="duckdb",
        metadata={"help": "duckdb (one machine) or spark (`[spark]`, docs/scale.md)"},
    )
    """Where linking runs: DuckDB in the process, or a Spark session (``resolver.spark``,
    configured by ``[spark]``; needs ``pip install 'tether[spark]'``). Both give the
    same identity graph (``docs/scale.md``)."""

    def __post_init__(self) -> None:
        from resolver.errors import ConfigError

        problems = []
        if not 0.0 < self.threshold < 1.0:
            problems.append("linking.threshold must be between 0 and 1 (exclusive)")
        if self.max_customer_ids < 1:
            problems.append("linking.max_customer_ids must be at least 1")
        if self.max_block_size < 2:
            problems.append("linking.max_block_size must be at least 2")
        if self.max_persons_per_ip < 1:
            problems.append("linking.max_persons_per_ip must be at least 1")
        if self.max_devices_per_ad_id < 1:
            problems.append("linking.max_devices_per_ad_id must be at least 1")
        if self.max_customers_per_device < 1:
            problems.append("linking.max_customers_per_device must be at least 1")
        for kind, limit in self.max_customers_per_value.items():
            if kind not in ("email", "phone") or limit < 1:
                problems.append(
                    f"linking.max_customers_per_value.{kind}: only email and phone, limit >= 1"
                )
        if self.engine not in ("duckdb", "spark"):
            problems.append(f"linking.engine = {self.engine!r}: duckdb or spark")
        elif self.engine == "spark" and spark_missing():
            problems.append(
                "linking.engine = 'spark' needs pyspark, which is not installed: "
                "pip install 'tether[spark]' (or choose engine = 'duckdb')"
            )
        for field_name in self.conflict_guard:
            if field_name not in ("first_name", "dob"):
                problems.append(
                    f"linking.conflict_guard: unknown field {field_name}; known: first_name, dob"
                )
        for kind in self.blocklist:
            if kind not in IDENTIFIER_KINDS:
                problems.append(
                    f"linking.blocklist.{kind}: unknown identifier; known: {', '.join(IDENTIFIER_KINDS)}"
                )
        if problems:
            raise ConfigError("; ".join(problems), problems=problems)


def spark_missing() -> bool:
    """Whether pyspark cannot be imported (looked up without importing it: it is heavy)."""
    from importlib.util import find_spec

    try:
        return find_spec("pyspark") is None
    except (ImportError, ValueError):  # a broken or half-removed install
        return True


@dataclass(frozen=True, kw_only=True, slots=True)
class SparkOptions:
    """The Spark session linking runs on (``[spark]`` in ``tether.toml``).

    Read only when ``linking.engine = "spark"``. Declared once here, as
    ``LinkingOptions``: ``api.settings`` validates ``[spark]`` from these fields
    and writes its example and its table in ``docs/configuration.md`` from them.
    The defaults are local mode sized to the machine; ``docs/scale.md`` shows a
    cluster (standalone, Kubernetes, Databricks).
    """

    master: str = field(
        default="local[*]",
        metadata={
            "help": 'Spark master: local[N], spark://host:7077, k8s://..., or "" to use the session spark-submit made'
        },
    )
    """Where the session runs. An empty string uses the master that
    ``spark-submit`` (or a Databricks cluster) already set: Tether then takes the
    active session instead of building one."""
    shuffle_partitions: int = field(
        default=0,
        metadata={
            "help": "spark.sql.shuffle.partitions (0: 2 per core of a local master, else Spark's)"
        },
    )
    """Small for local mode (Spark's default of 200 tiny tasks costs more than the
    work on a few hundred thousand rows); on a cluster, about 2-3 per executor core."""
    driver_memory: str = field(
        default="",
        metadata={"help": 'spark.driver.memory ("": a quarter of the machine, local only)'},
    )
    checkpoint_dir: str = field(
        default="",
        metadata={
            "help": 'where Spark checkpoints lineage ("": a temporary directory; a shared path on a cluster)'
        },
    )
    """Splink breaks long query lineages by writing Parquet there. On a cluster it
    must be a path every executor reaches (HDFS, S3, DBFS)."""
    conf: dict[str, str] = field(
        default_factory=dict, metadata={"help": "extra Spark conf, set on the session as written"}
    )
    """Any ``spark.*`` setting, e.g. ``"spark.executor.memory" = "8g"``. Tether sets
    ``spark.jars`` to Splink's string-similarity UDF jar (appended to any given
    here) and ``spark.sql.constraintPropagation.enabled = false`` (Splink's long
    comparison expressions make that optimiser rule slow) unless given here."""

    def __post_init__(self) -> None:
        from resolver.errors import ConfigError

        problems = []
        if self.shuffle_partitions < 0:
            problems.append("spark.shuffle_partitions must be 0 (automatic) or more")
        for key, value in self.conf.items():
            if not key.startswith("spark.") or not isinstance(value, str):
                problems.append(f"spark.conf.{key}: a spark.* key with a string value")
        if problems:
            raise ConfigError("; ".join(problems), problems=problems)
