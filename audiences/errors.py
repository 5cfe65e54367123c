"""Audience errors (subclasses of the shared ``TetherError``).

TetherError
└── AudienceError                code="audience_error"       (also ValueError)
    ├── SegmentInvalid           code="segment_invalid"
    ├── SegmentConflict          code="segment_conflict"
    ├── SegmentNotFound          code="segment_not_found"    (also LookupError)
    └── AudienceTooSmall         code="audience_too_small"
"""

from __future__ import annotations

from resolver.errors import TetherError

__all__ = [
    "AudienceError",
    "AudienceTooSmall",
    "SegmentConflict",
    "SegmentInvalid",
    "SegmentNotFound",
]


class AudienceError(TetherError, ValueError):
    """An audience operation cannot be done as asked (unknown destination, field...)."""

    code = "audience_error"


class SegmentInvalid(AudienceError):
    """A segment definition breaks a rule: unknown feature, wrong type, bad window."""

    code = "segment_invalid"


class AudienceTooSmall(AudienceError):
    """The consent-eligible audience is below the destination's minimum size."""

    code = "audience_too_small"


class SegmentConflict(AudienceError):
    """A segment of that name exists already, or a file defines it (read-only over HTTP)."""

    code = "segment_conflict"


class SegmentNotFound(AudienceError, LookupError):
    """No segment of that name is defined."""

    code = "segment_not_found"
