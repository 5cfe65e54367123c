"""The Tether error hierarchy (shared kernel: every package may import it).

    TetherError                      code="tether_error"
    ├── ConfigError                  code="config_invalid"      (also ValueError)
    ├── InputError                   code="input_invalid"       (also ValueError)
    │   └── SourceSchemaError        code="source_schema"
    ├── ModelError                   code="model_unavailable"
    ├── WorkspaceError               code="workspace_invalid"
    │   └── NoCurrentRunError        code="no_current_run"
    └── LabelsError                  code="labels_invalid"      (also ValueError)

Errors carry structured fields (source, field, row, ...) and never raw values:
a value may be an email address or a phone number. The CLI and the HTTP API map
the classes to exit codes and status codes in one place each (``api/errors.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class TetherError(Exception):
    """Root of every error Tether raises on purpose."""

    code: ClassVar[str] = "tether_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self._details = {k: v for k, v in details.items() if v is not None}

    def details(self) -> dict[str, Any]:
        """Structured context (ids, field names, counts) safe to log or return."""
        return dict(self._details)


class ConfigError(TetherError, ValueError):
    """The configuration file or a setting is missing or invalid."""

    code = "config_invalid"


class InputError(TetherError, ValueError):
    """An input file cannot be used at all (a bad row is quarantined instead)."""

    code = "input_invalid"


class SourceSchemaError(InputError):
    """A source lacks a required column, or maps a column that is not there."""

    code = "source_schema"


class ModelError(TetherError):
    """The linkage model is missing, unreadable or cannot be trained on this data."""

    code = "model_unavailable"


class WorkspaceError(TetherError):
    """The workspace directory is not usable."""

    code = "workspace_invalid"


class NoCurrentRunError(WorkspaceError):
    """The workspace has no completed run yet."""

    code = "no_current_run"


class LabelsError(TetherError, ValueError):
    """A labels file for evaluation is malformed."""

    code = "labels_invalid"
