"""The `tether` CLI in-process: ``api.cli.main()`` under Typer's runner.

``main()`` is the CLI's one error boundary (exit codes, error messages), so
it is what runs here, not the bare Typer app: a test sees the exit code and
the stdout/stderr a subprocess would give, without a Python start-up and
the imports of every command (seconds each). What ``main()`` changes in the
process (``sys.argv``, the umask, the streams) is put back afterwards.
Keep a subprocess only where the process is the point (``tether --help``,
a traceback that must not show, a kill, a server).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

__all__ = ["Ran", "tether_in_process"]


@dataclass(frozen=True, slots=True)
class Ran:
    """What a run of the CLI gave, named as ``subprocess.CompletedProcess`` names it."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def tether_in_process(*args: str, home: Path, check: bool = True) -> Ran:
    """Run ``tether <args>`` in this process with ``TETHER_HOME=home``.

    With ``check``, a non-zero exit code fails the test with the command's stderr.
    """
    from api.cli import main

    argv = sys.argv
    umask = os.umask(0o077)  # main() sets the process's umask: put the test's back after
    os.umask(umask)
    with CliRunner().isolation(env={"TETHER_HOME": str(home)}) as (stdout, stderr, _):
        sys.argv = ["tether", *args]
        try:
            code = main()
        except SystemExit as exc:  # pragma: no cover - main() returns its code
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv = argv
            os.umask(umask)
            sys.stdout.flush()
            sys.stderr.flush()
        ran = Ran(
            args=args,
            returncode=code,
            stdout=stdout.getvalue().decode(),
            stderr=stderr.getvalue().decode(errors="backslashreplace"),
        )
    if check and ran.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} -> {ran.returncode}\n{ran.stderr}")
    return ran
