"""Consent errors (subclasses of the shared ``TetherError``).

TetherError
└── ConsentError                 code="consent_error"
    ├── ConsentEventInvalid      code="consent_event_invalid"   (also ValueError)
    ├── ConsentPolicyInvalid     code="consent_policy_invalid"  (also ConfigError)
    └── SubjectNotFound          code="subject_not_found"       (also LookupError)
"""

from __future__ import annotations

from resolver.errors import ConfigError, TetherError

__all__ = ["ConsentError", "ConsentEventInvalid", "ConsentPolicyInvalid", "SubjectNotFound"]


class ConsentError(TetherError):
    """A consent operation failed."""

    code = "consent_error"


class ConsentEventInvalid(ConsentError, ValueError):
    """A consent event breaks a rule (unknown subject type or status, no time)."""

    code = "consent_event_invalid"


class ConsentPolicyInvalid(ConsentError, ConfigError):
    """The ``[consent]`` configuration names an unknown purpose or a bad TCF rule."""

    code = "consent_policy_invalid"


class SubjectNotFound(ConsentError, LookupError):
    """No record of this subject (or person) is in the current identity graph."""

    code = "subject_not_found"
