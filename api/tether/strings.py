"""Decoding IAB consent strings: a TCF v2 TC string or a GPP string, told apart once.

Cheap to import (no pandas, no SQLAlchemy): ``tether consent decode`` and
``POST /v1/consents/decode`` call ``decode_consent_string``, as
``Tether.consent.decode`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Decoded", "decode_consent_string"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Decoded:
    """A decoded TC string (with the TCF 2.2 rules) or GPP string, in IAB field names."""

    kind: Literal["tcf", "gpp"]
    decoded: dict[str, Any]
    tcf22_violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def decode_consent_string(text: str) -> Decoded:
    """Decode an IAB TCF v2 TC string or a GPP string, strictly (``ConsentError`` if bad).

    Examples:
        >>> decode_consent_string("DBABLA~CAAAAAAAAABA").kind
        'gpp'
    """
    from consent.gpp import decode_gpp_string
    from consent.tcf import decode_tc_string, tcf22_violations

    stripped = text.strip()
    if stripped.startswith("D"):  # a GPP header starts with type 3: "D"
        return Decoded(kind="gpp", decoded=decode_gpp_string(stripped).as_dict())
    tc = decode_tc_string(stripped)
    return Decoded(
        kind="tcf",
        decoded=tc.as_dict(),
        tcf22_violations=list(tcf22_violations(tc)),
        warnings=list(tc.warnings),
    )
