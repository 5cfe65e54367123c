"""A strict decoder of IAB GPP strings: the header, US National (``usnat``) and ``uspv1``.

``[Header]~[Section]~...``: the header (type 3, version 1, then the section
ids as a Fibonacci range) lists the sections in the order they follow. A
header whose section count does not match the sections present is an
error. ``usnat`` (section 7) decodes fully, with its optional GPC
sub-section; ``uspv1`` (section 6) is the four-letter CCPA string. Other
sections are returned as their raw text under their GPP name. Field names
are the GPP specification's (``SaleOptOut``, ``SharingOptOut``,
``TargetedAdvertisingOptOut``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from consent.bits import BitReader
from consent.errors import ConsentError

__all__ = ["GPPString", "GPPStringInvalid", "decode_gpp_string"]

#: GPP section ids -> API prefixes (GPP "Section Information").
SECTION_NAMES = {
    1: "tcfeuv1", 2: "tcfeuv2", 3: "header", 4: "signalintegrity", 5: "tcfcav1", 6: "uspv1",
    7: "usnat", 8: "usca", 9: "usva", 10: "usco", 11: "usut", 12: "usct", 13: "usfl",
    14: "usmt", 15: "usor", 16: "ustx", 17: "usde", 18: "usia", 19: "usne", 20: "usnh",
    21: "usnj", 22: "ustn", 23: "usmn", 24: "usmd", 25: "usin", 26: "usky", 27: "usri",
}  # fmt: skip

_NOTICES = (
    "SharingNotice",
    "SaleOptOutNotice",
    "SharingOptOutNotice",
    "TargetedAdvertisingOptOutNotice",
    "SensitiveDataProcessingOptOutNotice",
    "SensitiveDataLimitUseNotice",
)
_OPT_OUTS = ("SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut")
_TAIL = (
    "PersonalDataConsents",
    "MspaCoveredTransaction",
    "MspaOptOutOptionMode",
    "MspaServiceProviderMode",
)
#: usnat v2 widths; v1 (and v2 strings still written with v1 widths) have 12 and 2.
_SENSITIVE, _CHILD = 16, 3
_V1_SENSITIVE, _V1_CHILD = 12, 2
_V2_BITS = 6 + 2 * (len(_NOTICES) + len(_OPT_OUTS) + _SENSITIVE + _CHILD + len(_TAIL))


class GPPStringInvalid(ConsentError, ValueError):
    """A GPP string that cannot be decoded; the message says where and why."""

    code = "gpp_string_invalid"


@dataclass(frozen=True, kw_only=True, slots=True)
class GPPString:
    """A decoded GPP string: ``sectionIds`` and one object per section, by GPP name."""

    section_ids: list[int]
    sections: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sectionIds": list(self.section_ids), **self.sections}


def decode_gpp_string(text: str) -> GPPString:
    """Decode a GPP string strictly; ``GPPStringInvalid`` on anything malformed.

    Examples:
        >>> decode_gpp_string("DBABTA~1YNN").as_dict()
        {'sectionIds': [6], 'uspv1': {'Version': 1, 'Notice': 'Y', 'OptOutSale': 'N', 'LspaCovered': 'N'}}
    """
    if not isinstance(text, str) or not text.strip():
        raise GPPStringInvalid("empty GPP string")
    header_text, *bodies = text.strip().split("~")
    header = BitReader(header_text, name="header", error=GPPStringInvalid)
    if header.read(6, "Type") != 3:
        raise GPPStringInvalid("not a GPP string: the header type is not 3")
    if (version := header.read(6, "Version")) != 1:
        raise GPPStringInvalid(f"GPP header version {version}: only version 1 is known")
    section_ids = _fibonacci_range(header)
    if len(section_ids) != len(bodies):
        raise GPPStringInvalid(
            f"the header lists {len(section_ids)} section(s) but {len(bodies)} follow",
            sectionIds=section_ids,
        )
    sections: dict[str, Any] = {}
    for section_id, body in zip(section_ids, bodies, strict=True):
        name = SECTION_NAMES.get(section_id, f"section{section_id}")
        if section_id == 7:
            sections[name] = _usnat(body)
        elif section_id == 6:
            sections[name] = _uspv1(body)
        else:
            sections[name] = body
    return GPPString(section_ids=section_ids, sections=sections)


#: Section ids are small (27 are defined); a larger id, or a group reaching past
#: it, is malformed, and expanding it could exhaust memory (found by fuzzing).
MAX_SECTION_ID = 255


def _fibonacci_range(header: BitReader) -> list[int]:
    ids: list[int] = []
    last = 0
    for _ in range(header.read(12, "Sections.count")):
        if header.read(1, "Sections.isGroup"):
            start = last + header.fibonacci("Sections.start")
            end = start + header.fibonacci("Sections.length")
        else:
            start = end = last + header.fibonacci("Sections.id")
        if end > MAX_SECTION_ID:
            raise GPPStringInvalid(
                f"the header lists section id {end}, beyond {MAX_SECTION_ID}", section=end
            )
        ids.extend(range(start, end + 1))
        last = end
    if len(set(ids)) != len(ids):
        raise GPPStringInvalid("the header lists a section twice", sectionIds=ids)
    return ids


def _usnat(body: str) -> dict[str, Any]:
    core_text, *subsections = body.split(".")
    core = BitReader(core_text, name="usnat", error=GPPStringInvalid)
    version = core.read(6, "Version")
    if version not in (1, 2):
        raise GPPStringInvalid(f"usnat version {version}: only 1 and 2 are known")
    # Version 2 strings written with v1 widths exist (iabgpp-es pads them too).
    legacy = version == 1 or core.remaining < _V2_BITS - 6
    sensitive, child = (_V1_SENSITIVE, _V1_CHILD) if legacy else (_SENSITIVE, _CHILD)
    out: dict[str, Any] = {"Version": version}
    for name in (*_NOTICES, *_OPT_OUTS):
        out[name] = core.read(2, name)
    out["SensitiveDataProcessing"] = [
        core.read(2, "SensitiveDataProcessing") for _ in range(sensitive)
    ]
    out["KnownChildSensitiveDataConsents"] = [
        core.read(2, "KnownChildSensitiveDataConsents") for _ in range(child)
    ]
    for name in _TAIL:
        out[name] = core.read(2, name)
    if version == 2 and legacy:
        out["SensitiveDataProcessing"] += [0] * (_SENSITIVE - sensitive)
        out["KnownChildSensitiveDataConsents"] += [0] * (_CHILD - child)
    out["GpcSegmentIncluded"] = False
    out["Gpc"] = False
    for text in subsections:
        sub = BitReader(text, name="usnat.gpc", error=GPPStringInvalid)
        if sub.read(2, "SubsectionType") != 1:
            raise GPPStringInvalid("usnat: unknown sub-section type")
        out["GpcSegmentIncluded"] = True
        out["Gpc"] = bool(sub.read(1, "Gpc"))
    return out


def _uspv1(body: str) -> dict[str, Any]:
    if len(body) != 4 or body[0] != "1" or any(c not in "YN-" for c in body[1:]):
        raise GPPStringInvalid("uspv1 must be 4 characters: version 1, then Y, N or - three times")
    return {"Version": 1, "Notice": body[1], "OptOutSale": body[2], "LspaCovered": body[3]}
