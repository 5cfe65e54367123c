"""Consent errors (subclasses of the shared ``TetherError``).

TetherError
└── ConsentError                 code="consent_error"
    └── ConsentEventInvalid      code="consent_event_invalid"   (also ValueError)
"""

from __future__ import annotations

from resolver.errors import TetherError

__all__ = ["ConsentError", "ConsentEventInvalid"]


class ConsentError(TetherError):
    """A consent operation failed."""

    code = "consent_error"


class ConsentEventInvalid(ConsentError, ValueError):
    """A consent event breaks a rule (unknown subject type or status, no time)."""

    code = "consent_event_invalid"
