"""Where errors become exit codes (CLI) and, later, HTTP statuses: the one mapping.

Exit codes (SPEC §7): 0 ok, 1 a run failed, 2 bad usage or bad input.
"""

from __future__ import annotations

from api.nightly import RunFailedError
from resolver.errors import TetherError

__all__ = ["EXIT_FAILED_RUN", "EXIT_OK", "EXIT_USAGE", "exit_code_for"]

EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_USAGE = 2


def exit_code_for(error: TetherError) -> int:
    """1 for a failed run, 2 for everything the user can fix in their input or usage."""
    return EXIT_FAILED_RUN if isinstance(error, RunFailedError) else EXIT_USAGE
