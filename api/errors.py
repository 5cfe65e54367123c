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
        ├── ExportInProgress     code="export_in_progress"  409
        ├── PayloadTooLarge      code="request_too_large"   413
        └── RateLimited          code="rate_limited"        429 (with Retry-After)

Importing this module is cheap (issue #13): the classes of ``api.keys``,
``api.workspace`` are mapped by name, and ``HTTP_STATUS``
imports them on first use.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

from api.pipeline.errors import RunFailedError
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
    "ExportInProgress",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
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


class ExportInProgress(ApiError):
    """Another export of the same segment to the same destination is being written."""

    code = "export_in_progress"


class RateLimited(ApiError):
    """The key sent more expensive requests than ``[api]`` allows; ``retry_after`` seconds."""

    code = "rate_limited"

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait (the ``Retry-After`` header), at least 1."""
        return max(1, int(self.details().get("retry_after_seconds", 1)))


# The statuses, by class. Two classes live in modules that are slow to import
# (api.keys: SQLAlchemy; api.workspace: pandas), so they
# are named here rather than imported: an instance of one exists only once its module has
# been loaded, so matching the name is matching the class, and neither the CLI's error
# boundary nor the HTTP app's first error response imports them (issue #13).
_STATUS: dict[type[TetherError], int] = {
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
    ApiError: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    PayloadTooLarge: 413,
    ExportInProgress: 409,
    RateLimited: 429,
    RunFailedError: 500,
}
_STATUS_BY_NAME: dict[str, int] = {
    "api.workspace.RunLockedError": 409,
    "api.keys.KeyInvalid": 422,
}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def _http_status() -> dict[type[TetherError], int]:
    """``HTTP_STATUS``: every class, the named ones imported (slow, hence on first use)."""
    table = dict(_STATUS)
    for name, status in _STATUS_BY_NAME.items():
        module, _, cls = name.rpartition(".")
        table[getattr(importlib.import_module(module), cls)] = status
    return table


# Hidden from mypy, which would otherwise accept any attribute of this module as Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "HTTP_STATUS":
            return _http_status()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def exit_code_for(error: TetherError) -> int:
    """1 for a failed run, 2 for everything the user can fix in their input or usage."""
    return EXIT_FAILED_RUN if isinstance(error, RunFailedError) else EXIT_USAGE


def http_status_for(error: TetherError) -> int:
    """The status of the most specific mapped class of ``error``."""
    for cls in type(error).__mro__:
        status = _STATUS.get(cls) or _STATUS_BY_NAME.get(_name(cls))
        if status is not None:
            return status
    return 500  # pragma: no cover - TetherError itself is mapped
