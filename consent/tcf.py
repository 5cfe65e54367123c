"""A strict decoder of IAB TCF v2 TC strings (core and optional segments).

Strict means a string that ends early, holds an invalid character, puts a
vendor id outside 1..MaxVendorId, repeats a segment, or is not version 2 is an
error (``TCStringInvalid``), never a partial decode: a truncated string must
never read as "every purpose consented" (the PyPI ``iab-tcf`` package fails
open in exactly that way). Layout from the IAB TC string specification
(``shared/reference/consent-standards.md`` §1.2–1.4).

``tcf22_violations`` applies the TCF 2.2 policy rules on top of decoding:
policy version >= 4, IsServiceSpecific = 1, and no legitimate interest for
purposes 3 to 6.

Field names are the IAB's own (``@iabtechlabtcf/core``); id lists are sorted
1-based ids; times are ISO 8601 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from consent.bits import BitReader
from consent.errors import ConsentError

__all__ = ["TCString", "TCStringInvalid", "decode_tc_string", "tcf22_violations"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEGMENT_NAMES = {1: "DisclosedVendors", 2: "AllowedVendors", 3: "PublisherTC"}


class TCStringInvalid(ConsentError, ValueError):
    """A TC string that cannot be decoded; the message says where and why."""

    code = "tc_string_invalid"


class _Bits(BitReader):
    """The TC string's field types on top of the shared bit reader."""

    def __init__(self, segment: str, *, name: str) -> None:
        super().__init__(segment, name=name, error=TCStringInvalid)

    def letters(self, field_name: str) -> str:
        first, second = self.read(6, field_name), self.read(6, field_name)
        if first > 25 or second > 25:
            raise TCStringInvalid(
                f"{self.name} segment: {field_name} is not two letters", field=field_name
            )
        return chr(65 + first) + chr(65 + second)

    def time(self, field_name: str) -> tuple[str, int]:
        deciseconds = self.read(36, field_name)
        moment = _EPOCH + timedelta(milliseconds=deciseconds * 100)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), deciseconds

    def vendors(self, field_name: str) -> list[int]:
        """MaxVendorId, then a bit field or range entries; ids checked against MaxVendorId."""
        max_vendor = self.read(16, f"{field_name}.MaxVendorId")
        if self.read(1, f"{field_name}.IsRangeEncoding"):
            ids = self.ranges(field_name, max_vendor=max_vendor)
            return sorted(set(ids))
        return self.flags(max_vendor, f"{field_name}.BitField")

    def ranges(self, field_name: str, *, max_vendor: int | None) -> list[int]:
        ids: list[int] = []
        for _ in range(self.read(12, f"{field_name}.NumEntries")):
            is_range = self.read(1, f"{field_name}.IsARange")
            start = self.read(16, f"{field_name}.StartOrOnlyVendorId")
            end = self.read(16, f"{field_name}.EndVendorId") if is_range else start
            top = max_vendor if max_vendor is not None else 65535
            if not 1 <= start <= end <= top:
                raise TCStringInvalid(
                    f"{self.name} segment: {field_name} has the vendor range {start}-{end}, "
                    f"outside 1..{top}",
                    field=field_name,
                )
            ids.extend(range(start, end + 1))
        return ids


@dataclass(frozen=True, kw_only=True, slots=True)
class TCString:
    """A decoded TC string, field names as the IAB's."""

    fields: dict[str, Any]
    segments: int
    created_deciseconds: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)


def decode_tc_string(text: str) -> TCString:
    """Decode a TC string strictly; ``TCStringInvalid`` on anything malformed.

    Examples:
        >>> tc = decode_tc_string("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA")
        >>> tc.fields["cmpId"], tc.fields["purposeConsents"]
        (675, [2, 10])
    """
    if not isinstance(text, str) or not text.strip():
        raise TCStringInvalid("empty TC string")
    parts = text.strip().split(".")
    core = _Bits(parts[0].rstrip("="), name="core")
    version = core.read(6, "Version")
    if version != 2:
        raise TCStringInvalid(
            f"TC string version {version}: only TCF v2 strings are accepted "
            "(v1 strings are invalid since 2020-09-30)",
            version=version,
        )
    created, created_ds = core.time("Created")
    last_updated, _ = core.time("LastUpdated")
    fields: dict[str, Any] = {
        "version": version,
        "created": created,
        "lastUpdated": last_updated,
        "cmpId": core.read(12, "CmpId"),
        "cmpVersion": core.read(12, "CmpVersion"),
        "consentScreen": core.read(6, "ConsentScreen"),
        "consentLanguage": core.letters("ConsentLanguage"),
        "vendorListVersion": core.read(12, "VendorListVersion"),
        "policyVersion": core.read(6, "TcfPolicyVersion"),
        "isServiceSpecific": bool(core.read(1, "IsServiceSpecific")),
        "useNonStandardTexts": bool(core.read(1, "UseNonStandardTexts")),
        "specialFeatureOptins": core.flags(12, "SpecialFeatureOptIns"),
        "purposeConsents": core.flags(24, "PurposesConsent"),
        "purposeLegitimateInterests": core.flags(24, "PurposesLITransparency"),
        "purposeOneTreatment": bool(core.read(1, "PurposeOneTreatment")),
        "publisherCountryCode": core.letters("PublisherCC"),
        "vendorConsents": core.vendors("VendorConsents"),
        "vendorLegitimateInterests": core.vendors("VendorLegitimateInterests"),
        "publisherRestrictions": _restrictions(core),
        "vendorsDisclosed": [],
        "publisherConsents": [],
        "publisherLegitimateInterests": [],
        "numCustomPurposes": 0,
        "publisherCustomConsents": [],
        "publisherCustomLegitimateInterests": [],
    }
    seen: set[int] = set()
    for number, part in enumerate(parts[1:], start=2):
        segment = _Bits(part.rstrip("="), name=f"segment {number}")
        kind = segment.read(3, "SegmentType")
        if kind not in _SEGMENT_NAMES:
            raise TCStringInvalid(
                f"segment {number} has unknown segment type {kind}", segment=number
            )
        if kind in seen:
            raise TCStringInvalid(f"segment type {_SEGMENT_NAMES[kind]} appears twice")
        seen.add(kind)
        segment.name = _SEGMENT_NAMES[kind]
        if kind == 1:
            fields["vendorsDisclosed"] = segment.vendors("DisclosedVendors")
        elif kind == 2:
            allowed = segment.vendors("AllowedVendors")
            if allowed:
                fields["vendorsAllowed"] = allowed
        else:
            fields["publisherConsents"] = segment.flags(24, "PubPurposesConsent")
            fields["publisherLegitimateInterests"] = segment.flags(24, "PubPurposesLITransparency")
            custom = segment.read(6, "NumCustomPurposes")
            fields["numCustomPurposes"] = custom
            fields["publisherCustomConsents"] = segment.flags(custom, "CustomPurposesConsent")
            fields["publisherCustomLegitimateInterests"] = segment.flags(
                custom, "CustomPurposesLITransparency"
            )
    warnings = []
    if fields["created"] != fields["lastUpdated"]:
        warnings.append("Created differs from LastUpdated (the rule since 2021 is equal dates)")
    return TCString(
        fields=fields, segments=len(parts), created_deciseconds=created_ds, warnings=warnings
    )


def _restrictions(core: _Bits) -> list[dict[str, Any]]:
    entries = []
    for _ in range(core.read(12, "NumPubRestrictions")):
        purpose = core.read(6, "PubRestrictionEntry.PurposeId")
        kind = core.read(2, "PubRestrictionEntry.RestrictionType")
        # Publisher restriction ranges may cover deleted vendors and gaps: no MaxVendorId.
        vendors = sorted(set(core.ranges("PubRestrictionEntry", max_vendor=None)))
        if vendors:  # entries without vendors restrict nothing (as @iabtechlabtcf/core)
            entries.append({"purpose": purpose, "type": kind, "vendors": vendors})
    return sorted(entries, key=lambda e: (e["purpose"], e["type"]))


def tcf22_violations(tc: TCString) -> list[str]:
    """The TCF 2.2 policy rules a decoded string breaks (empty when valid).

    Examples:
        >>> tcf22_violations(decode_tc_string("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"))[0]
        'TcfPolicyVersion 2 < 4: not a TCF 2.2 string'
    """
    fields = tc.fields
    problems = []
    if fields["policyVersion"] < 4:
        problems.append(f"TcfPolicyVersion {fields['policyVersion']} < 4: not a TCF 2.2 string")
    if not fields["isServiceSpecific"]:
        problems.append("IsServiceSpecific is 0: a vendor must treat the string as invalid")
    if fields["policyVersion"] >= 4:
        for purpose in (3, 4, 5, 6):
            if purpose in fields["purposeLegitimateInterests"]:
                problems.append(
                    f"legitimate interest for purpose {purpose} is not allowed under TCF 2.2"
                )
    return problems
