"""Audience errors (subclasses of the shared ``TetherError``).

TetherError
└── AudienceError                code="audience_error"       (also ValueError)
    ├── SegmentInvalid           code="segment_invalid"
    └── AudienceTooSmall         code="audience_too_small"
"""

from __future__ import annotations

from resolver.errors import TetherError

__all__ = ["AudienceError", "AudienceTooSmall", "SegmentInvalid"]


class AudienceError(TetherError, ValueError):
    """An audience operation cannot be done as asked (unknown destination, field...)."""

    code = "audience_error"


class SegmentInvalid(AudienceError):
    """A segment definition breaks a rule: unknown feature, wrong type, bad window."""

    code = "segment_invalid"


class AudienceTooSmall(AudienceError):
    """The consent-eligible audience is below the destination's minimum size."""

    code = "audience_too_small"
