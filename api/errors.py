"""Where errors become exit codes (CLI) and HTTP statuses (API): the one mapping of each.

Exit codes (SPEC §7): 0 ok, 1 a run failed, 2 bad usage or bad input.

HTTP: every ``TetherError`` class has its status in ``HTTP_STATUS`` (a test
walks the hierarchy and fails on a class without one); the body is always
``{"error": {"code", "message", "details"}}``. Details carry ids, field
names and counts, never values.

    TetherError
    └── ApiError                 code="api_error"
        ├── Unauthorized         code="unauthorized"        401
        ├── Forbidden            code="forbidden"           403
        ├── NotFound             code="not_found"           404 (also LookupError)
        └── PayloadTooLarge      code="request_too_large"   413

The table is built on first use: its classes from ``api.keys`` (SQLAlchemy),
``api.nightly`` (Splink) and ``api.workspace`` (pandas) are not imported by the
CLI's error boundary, so ``tether --help`` starts fast (issue #13).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from audiences.errors import (
    AudienceError,
    AudienceTooSmall,
    SegmentConflict,
    SegmentInvalid,
    SegmentNotFound,
)
from consent.errors import ConsentError, ConsentEventInvalid, ConsentPolicyInvalid, SubjectNotFound
from consent.gpp import GPPStringInvalid
from consent.tcf import TCStringInvalid
from resolver.errors import (
    ConfigError,
    InputError,
    LabelsError,
    ModelError,
    NoCurrentRunError,
    SourceSchemaError,
    TetherError,
    WorkspaceError,
)

if TYPE_CHECKING:
    HTTP_STATUS: dict[type[TetherError], int]

__all__ = [
    "EXIT_FAILED_RUN",
    "EXIT_OK",
    "EXIT_USAGE",
    "HTTP_STATUS",
    "ApiError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "Unauthorized",
    "exit_code_for",
    "http_status_for",
]

EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_USAGE = 2


class ApiError(TetherError):
    """A request the HTTP API refuses for a reason of its own."""

    code = "api_error"


class Unauthorized(ApiError):
    """No API key, or one that is unknown, wrong or revoked."""

    code = "unauthorized"


class Forbidden(ApiError):
    """The key is valid but lacks the scope the endpoint needs."""

    code = "forbidden"


class NotFound(ApiError, LookupError):
    """The addressed thing (person, export, run, file) does not exist."""

    code = "not_found"


class PayloadTooLarge(ApiError):
    """The request body is larger than the configured limit."""

    code = "request_too_large"


@cache
def _http_status() -> dict[type[TetherError], int]:
    """``HTTP_STATUS``, built on first use (the imports below are heavy)."""
    from api.keys import KeyInvalid
    from api.nightly import RunFailedError
    from api.workspace import RunLockedError

    return {
        TetherError: 400,
        ConfigError: 500,
        InputError: 422,
        SourceSchemaError: 422,
        ModelError: 503,
        WorkspaceError: 500,
        NoCurrentRunError: 503,
        LabelsError: 422,
        ConsentError: 400,
        ConsentEventInvalid: 422,
        ConsentPolicyInvalid: 500,
        SubjectNotFound: 404,
        TCStringInvalid: 422,
        GPPStringInvalid: 422,
        AudienceError: 422,
        SegmentInvalid: 422,
        SegmentConflict: 409,
        SegmentNotFound: 404,
        AudienceTooSmall: 422,
        RunFailedError: 500,
        RunLockedError: 409,
        KeyInvalid: 422,
        ApiError: 400,
        Unauthorized: 401,
        Forbidden: 403,
        NotFound: 404,
        PayloadTooLarge: 413,
    }


# Hidden from mypy, which would otherwise accept any attribute of this module as Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "HTTP_STATUS":
            return _http_status()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def exit_code_for(error: TetherError) -> int:
    """1 for a failed run, 2 for everything the user can fix in their input or usage."""
    # A RunFailedError exists only once api.nightly has been imported (by the command that
    # ran the pipeline); a command that never imported it need not load Splink to tell.
    nightly = sys.modules.get("api.nightly")
    failed = nightly is not None and isinstance(error, nightly.RunFailedError)
    return EXIT_FAILED_RUN if failed else EXIT_USAGE


def http_status_for(error: TetherError) -> int:
    """The status of the most specific mapped class of ``error``."""
    table = _http_status()
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return 500  # pragma: no cover - TetherError itself is mapped
