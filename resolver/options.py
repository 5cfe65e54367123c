"""Linking options: the tunables of linking and clustering, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["IDENTIFIER_KINDS", "IdentifierKind", "LinkingOptions"]

IdentifierKind = Literal["customer_id", "cookie_id", "device_id", "ad_id", "email", "phone"]
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = (
    "customer_id",
    "cookie_id",
    "device_id",
    "ad_id",
    "email",
    "phone",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkingOptions:
    """How records are linked and clustered (``[linking]`` in ``tether.toml``)."""

    threshold: float = 0.9
    """Match probability at which two records cluster."""
    default_region: str = "GB"
    """ISO country for phone numbers written without a country code."""
    max_customer_ids: int = 2
    """Identifier limit: at most this many distinct ``customer_id`` per person.

    2 lets a CRM duplicate row (one person, two customer ids) join its twin;
    a merge that would exceed it is refused at its weakest link."""
    max_customers_per_value: dict[str, int] = field(
        default_factory=lambda: {"email": 2, "phone": 2}
    )
    """An email or phone that ties together more distinct customers than this is
    junk (a placeholder such as ``noemail@example.com``) and is not linked on."""
    max_customers_per_device: int = 1
    """A cookie, device or advertising id logged into more customers than this is
    shared (a family tablet): its logged-in records go with their own customer,
    its anonymous records stay together, apart from every customer."""
    max_devices_per_ad_id: int = 3
    """An advertising id seen on more app installs than this is a placeholder
    (a limited-ad-tracking id of all zeros, a test id) and is not linked on; one
    device keeps its id across a few reinstalls."""
    blocklist: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Identifier kind -> values never linked on (normalised: lower-case email, E.164 phone)."""
    stitch_browsers: bool = True
    """Link a never-identified browser to the one person it shares its IP and
    user agent with (``resolver.stitch``): cookie churn on one browser."""
    max_persons_per_ip: int = 6
    """An IP seen with more identified persons than this (an office, a mobile
    carrier's NAT) is not used for stitching."""
    conflict_guard: tuple[str, ...] = ("first_name", "dob")
    """Fields whose wholesale disagreement stops two clusters merging (``conflict``).

    Keeps twins (same surname, birthday, address) and same-name neighbours
    apart. Turn it off for data whose errors replace whole values, such as
    FEBRL, where a national id tells the duplicates apart instead."""
    max_block_size: int = 50
    """Blocking cap: a value shared by more records than this (a common surname,
    a city-level postcode) is not blocked on in that rule; more selective rules
    cover its records (``resolver.blocking``). Comparisons per record stay below
    rules × (max_block_size − 1) / 2 whatever the data."""
    em_max_pairs: float = 1e6
    """Pairs sampled per EM training session."""
    u_max_pairs: float = 1e6
    """Random pairs sampled to estimate u probabilities."""
    seed: int = 1
    """Seed of the training samples: the same data and seed give the same model."""
    engine: Literal["duckdb", "spark"] = "duckdb"

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
        if self.engine != "duckdb":
            problems.append(
                f"linking.engine = {self.engine!r} is not available yet: linking runs on duckdb"
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
