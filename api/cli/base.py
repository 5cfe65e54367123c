"""The ``tether`` app, its shared options and output, and ``main()``, the one error boundary.

``main()`` is the one error boundary: a ``TetherError`` prints its message
and exits 2 (bad input or usage) or 1 (a run failed); ``--debug`` shows the
traceback. Tracebacks never show local variables: they hold personal data.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from api.errors import EXIT_USAGE, exit_code_for
from resolver.errors import TetherError

if TYPE_CHECKING:
    from api.settings import TetherConfig
    from api.tether import Tether

app = typer.Typer(
    name="tether",
    help="Identity resolution and consent-gated retargeting audiences.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace directory (env TETHER_HOME; default ./tether-data)."),
]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path to tether.toml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
OptionalConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="tether.toml (segments, destinations, consent)."),
]

_state: dict[str, Any] = {"debug": False}
logger = logging.getLogger(__name__)


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "warning",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Splink logs SQL at INFO and training advice at WARNING: errors only unless debugging.
    logging.getLogger("splink").setLevel(logging.DEBUG if log_level == "debug" else logging.ERROR)


@contextmanager
def _tether(
    home: Path | None,
    *,
    config: Path | TetherConfig | None = None,
    segments: Path | None = None,
) -> Iterator[Tether]:
    """``Tether`` on ``--home`` (else ``TETHER_HOME``, else ``./tether-data``), closed afterwards.

    Every command that reads or writes the workspace goes through it: the
    CLI's one way to the domain.
    """
    from api.settings import resolve_home
    from api.tether import Tether

    with Tether.open(resolve_home(home), config=config, segments=segments) as tether:
        yield tether


def _emit(
    payload: dict[str, Any], *, as_json: bool, lines: list[str], markup: bool = False
) -> None:
    """The payload as JSON, or the lines as text. Lines hold user text (ids, names), so
    they are printed as written unless ``markup`` says their user parts are escaped."""
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        for line in lines:
            out.print(line, markup=markup)


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"--as-of {text!r}: write an ISO 8601 time, e.g. 2026-11-01T12:00:00Z"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # Windows and expiries are counted in nanosecond timestamps, which end in 2262.
    if not _EARLIEST <= moment <= _LATEST:
        raise typer.BadParameter(
            f"--as-of {text!r}: give a time between {_EARLIEST.year} and {_LATEST.year}"
        )
    return moment


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def main() -> int:
    """Run the CLI; returns the process exit code."""
    # Everything the CLI writes (runs, exports, the store, keys) holds personal data or
    # secrets: the owner's only, whatever the shell's umask (docs/api.md).
    os.umask(0o077)
    try:
        # Without standalone mode, click returns a command's ``typer.Exit`` code
        # instead of raising it: that is the exit status (``consent import``: 3).
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            return code
    except TetherError as exc:
        if _state["debug"]:
            raise
        if _wants_json():
            _json_error(exc.code, exc.message, exc.details())
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}"
        )
        return exit_code_for(exc)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors: bad option, bad parameter
        if _wants_json():
            formatted = getattr(exc, "format_message", None)
            _json_error("usage", formatted() if callable(formatted) else str(exc), {})
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            Console(stderr=True, highlight=False).print(escape(str(exc)))
        return EXIT_USAGE
    return 0


def _wants_json() -> bool:
    """Whether the command line asked for JSON output (``--json`` anywhere in it)."""
    return "--json" in sys.argv[1:]


def _json_error(code: str, message: str, details: dict[str, Any]) -> None:
    """Under ``--json`` an error is JSON on stdout too (as the HTTP API's), so a script that
    parses the output reads the failure; the text still goes to stderr."""
    body = {"error": {"code": code, "message": message, "details": details}}
    sys.stdout.write(json.dumps(body, default=str) + "\n")
