"""Tether's purposes, their defaults, and how IAB signals map onto them.

Tether decides with its own purposes (SPEC §5): ``identity_linking``,
``analytics``, ``personalisation``, ``ad_targeting`` (Google's ad user data
plus ad personalisation) and ``messaging_marketing``. A purpose without any
recorded answer takes its default: deny for linking, ad targeting and
messaging marketing (they need consent), allow for analytics and
personalisation (a legitimate interest in most deployments; configurable).

Signals from the browser are translated by a ``ConsentPolicy``:

- **TCF v2.2** (``TcfRule`` per Tether purpose): a Tether purpose is granted
  when every listed TCF purpose is consented (or, for purposes 2 and 7–11,
  legitimately relied on when ``legitimate_interest_counts``), every listed
  special feature is opted in, and, with ``vendor_id`` set, that vendor has
  consent; otherwise denied. TCF cannot record a choice about linking
  (Features 1 "Match and combine data" and 2 "Link different devices" carry
  no bits), so ``identity_linking`` is ``deny_only``: a refused purpose 1
  (no cookie access) denies linking, but no TC string grants it.
- **GPP** US National (``usnat``) and ``uspv1``: an opt-out of sale, sharing
  or targeted advertising, a GPC sub-section set, or a notice "not provided"
  denies every purpose in ``gpp_opt_out_purposes`` (``ad_targeting``). "Did not
  opt out" is not consent, so GPP never grants.
- **GPC** (``gpc=true`` on a session): an opt-out of sale and sharing, so a
  denial of ``gpc_purposes`` (``ad_targeting``). California applies it to every
  profile associated with the browser; Tether gets that for free, because a
  denial on any linked subject restricts the whole person (``consent.effective``).

The default policy, in ``tether.toml`` form (``tether init`` writes it)::

    [consent.defaults]         # purpose = allowed when nobody answered
    identity_linking = false
    analytics = true
    personalisation = true
    ad_targeting = false
    messaging_marketing = false

    [consent.tcf]              # Tether purpose = TCF purposes that must all be consented
    identity_linking = { purposes = [1], deny_only = true }
    analytics = { purposes = [1, 8, 9], legitimate_interest_counts = true }
    personalisation = { purposes = [1, 5, 6] }
    ad_targeting = { purposes = [1, 3, 4] }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consent.errors import ConsentPolicyInvalid

__all__ = [
    "DEFAULT_POLICY",
    "PURPOSES",
    "ConsentPolicy",
    "TcfRule",
    "policy_from_dict",
]

PURPOSES: tuple[str, ...] = (
    "identity_linking",
    "analytics",
    "personalisation",
    "ad_targeting",
    "messaging_marketing",
)

TCF_PURPOSE_IDS = range(1, 12)
TCF_SPECIAL_FEATURE_IDS = range(1, 3)
# TCF 2.2: purpose 1 is consent-only, and 3-6 lost legitimate interest as a legal basis.
TCF_CONSENT_ONLY = frozenset({1, 3, 4, 5, 6})


@dataclass(frozen=True, kw_only=True, slots=True)
class TcfRule:
    """Which parts of a TC string a Tether purpose needs."""

    purposes: tuple[int, ...] = ()
    special_features: tuple[int, ...] = ()
    legitimate_interest_counts: bool = False
    """Purposes 2 and 7-11 may rest on legitimate interest instead of consent."""
    deny_only: bool = False
    """The string can refuse this purpose but never grant it."""

    def __post_init__(self) -> None:
        bad = [p for p in self.purposes if p not in TCF_PURPOSE_IDS]
        bad_sf = [s for s in self.special_features if s not in TCF_SPECIAL_FEATURE_IDS]
        if bad or bad_sf or not (self.purposes or self.special_features):
            raise ConsentPolicyInvalid(
                "a TCF rule lists TCF purposes 1-11 and/or special features 1-2; "
                f"got purposes {list(self.purposes)}, special features {list(self.special_features)}",
                rule="tcf",
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentPolicy:
    """Purposes, defaults and signal mapping; ``DEFAULT_POLICY`` unless configured."""

    defaults: Mapping[str, bool] = field(
        default_factory=lambda: {
            "identity_linking": False,
            "analytics": True,
            "personalisation": True,
            "ad_targeting": False,
            "messaging_marketing": False,
        }
    )
    """Purpose -> allowed when no live answer exists. Its keys are the purposes."""
    tcf: Mapping[str, TcfRule] = field(
        default_factory=lambda: {
            "identity_linking": TcfRule(purposes=(1,), deny_only=True),
            "analytics": TcfRule(purposes=(1, 8, 9), legitimate_interest_counts=True),
            "personalisation": TcfRule(purposes=(1, 5, 6)),
            "ad_targeting": TcfRule(purposes=(1, 3, 4)),
        }
    )
    vendor_id: int | None = None
    """When set, a TCF-derived grant also needs this vendor's consent (e.g. 755, Google)."""
    gpp_opt_out_purposes: tuple[str, ...] = ("ad_targeting",)
    gpc_purposes: tuple[str, ...] = ("ad_targeting",)

    def __post_init__(self) -> None:
        purposes = set(self.defaults)
        for name in purposes:
            if not name or not name.replace("_", "").isalnum() or name != name.lower():
                raise ConsentPolicyInvalid(
                    f"purpose name {name!r}: use lower-case letters, digits and _", rule="defaults"
                )
        for where, names in (
            ("tcf", list(self.tcf)),
            ("gpp_opt_out_purposes", list(self.gpp_opt_out_purposes)),
            ("gpc_purposes", list(self.gpc_purposes)),
        ):
            unknown = sorted(set(names) - purposes)
            if unknown:
                raise ConsentPolicyInvalid(
                    f"consent.{where} names unknown purpose(s) {', '.join(unknown)}; "
                    f"known purposes: {', '.join(sorted(purposes))}",
                    rule=where,
                )

    @property
    def purposes(self) -> tuple[str, ...]:
        return tuple(self.defaults)

    def default(self, purpose: str) -> bool:
        """Whether ``purpose`` is allowed when no subject has a live answer."""
        try:
            return self.defaults[purpose]
        except KeyError:
            raise ConsentPolicyInvalid(
                f"unknown purpose {purpose!r}; known purposes: {', '.join(self.purposes)}",
                rule="purpose",
            ) from None


DEFAULT_POLICY = ConsentPolicy()


def policy_from_dict(data: Mapping[str, Any]) -> ConsentPolicy:
    """A policy from the ``[consent]`` table of ``tether.toml``; missing keys keep the default.

    >>> policy_from_dict({"tcf": {"ad_targeting": {"purposes": [1, 3, 4, 7]}}}).tcf["ad_targeting"]
    TcfRule(purposes=(1, 3, 4, 7), special_features=(), legitimate_interest_counts=False, deny_only=False)
    """
    known = {"defaults", "tcf", "vendor_id", "gpp_opt_out_purposes", "gpc_purposes"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConsentPolicyInvalid(
            f"[consent] has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            rule="consent",
        )
    defaults = {**DEFAULT_POLICY.defaults}
    for purpose, allowed in dict(data.get("defaults", {})).items():
        if not isinstance(allowed, bool):
            raise ConsentPolicyInvalid(
                f"consent.defaults.{purpose} must be true or false", rule="defaults"
            )
        defaults[purpose] = allowed
    tcf = dict(DEFAULT_POLICY.tcf)
    for purpose, raw in dict(data.get("tcf", {})).items():
        if raw is False or raw == {}:
            tcf.pop(purpose, None)  # this purpose is not read from TC strings
            continue
        rule = {"purposes": raw} if isinstance(raw, list) else raw
        if not isinstance(rule, Mapping):
            raise ConsentPolicyInvalid(
                f"consent.tcf.{purpose} must be a list of TCF purposes or a table", rule="tcf"
            )
        extra = sorted(set(rule) - set(TcfRule.__dataclass_fields__))
        if extra:
            raise ConsentPolicyInvalid(
                f"consent.tcf.{purpose} has unknown key(s) {', '.join(extra)}", rule="tcf"
            )
        try:
            purposes = tuple(int(p) for p in rule.get("purposes", ()))
            special = tuple(int(f) for f in rule.get("special_features", ()))
        except (TypeError, ValueError):
            raise ConsentPolicyInvalid(
                f"consent.tcf.{purpose}: purposes and special_features are lists of integers",
                rule="tcf",
            ) from None
        tcf[purpose] = TcfRule(
            purposes=purposes,
            special_features=special,
            legitimate_interest_counts=bool(rule.get("legitimate_interest_counts", False)),
            deny_only=bool(rule.get("deny_only", False)),
        )
    vendor = data.get("vendor_id", DEFAULT_POLICY.vendor_id)
    if vendor is not None and (not isinstance(vendor, int) or vendor < 1):
        raise ConsentPolicyInvalid("consent.vendor_id must be a positive integer", rule="vendor_id")
    return ConsentPolicy(
        defaults=defaults,
        tcf=tcf,
        vendor_id=vendor,
        gpp_opt_out_purposes=tuple(
            data.get("gpp_opt_out_purposes", DEFAULT_POLICY.gpp_opt_out_purposes)
        ),
        gpc_purposes=tuple(data.get("gpc_purposes", DEFAULT_POLICY.gpc_purposes)),
    )
