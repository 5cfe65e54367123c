"""CLI startup time: ``tether --help`` and ``tether consent decode`` as fresh processes.

    .venv/bin/python bench/bench_startup.py                 # 5 runs each, a Markdown table
    .venv/bin/python bench/bench_startup.py --runs 20 --json
    .venv/bin/python bench/bench_startup.py --check         # exit 1 if a median exceeds 1.0 s
    .venv/bin/python bench/bench_startup.py --no-bytecode-cache   # compile every start

Issue #13: both commands must start in under a second on the project's
2-core machine (before the imports were made lazy they took 8-10 s, loading
Splink, Faker, SciPy, DuckDB and pandas they never use). Each command is run
``--runs`` times as a subprocess of the installed ``tether`` script (the
venv's, else ``python -m api.cli``), after one untimed warm-up run that
writes the bytecode caches; the wall time of each run is measured, and the
median and maximum reported.

Bytecode: an installed package starts from ``.pyc`` files (pip compiles them
at install). This machine sets ``PYTHONDONTWRITEBYTECODE=1`` and the venv
has no caches for most libraries, so every start would compile Typer, rich
and pydantic from source (about 0.5 s). The bench therefore gives its
subprocesses a private cache (``PYTHONPYCACHEPREFIX`` in a temporary
directory, removed afterwards; the venv and the repo are not written to).
``--no-bytecode-cache`` runs them with the environment as it is. The TC string is the first vector of
``tests/data/tcf-vectors.json``. The load average is printed too, because on
a shared machine it moves the numbers; so is the floor, a one-command Typer
app given one argument (Typer, rich and the pydantic Typer coerces arguments
with), which ``--check`` does not judge.

This is a check to run by hand or in CI, not a timed unit test:
``tests/test_imports.py`` checks instead that no heavy library is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLOOR = """
import typer
app = typer.Typer()
@app.command()
def echo(text: str) -> None:
    print(text)
app()
"""


def tether_command() -> list[str]:
    """The installed ``tether`` script beside this interpreter, else ``python -m api.cli``."""
    script = Path(sys.executable).parent / "tether"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def a_tc_string() -> str:
    vectors = json.loads((ROOT / "tests" / "data" / "tcf-vectors.json").read_text())
    return str(vectors[0]["tc_string"])


def time_command(args: list[str], *, runs: int, env: dict[str, str]) -> list[float]:
    """Wall seconds of ``runs`` runs of ``args`` (after one untimed warm-up run)."""
    seconds = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        if i:  # the first run fills the bytecode and OS file caches
            seconds.append(time.perf_counter() - start)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="Timed runs per command.")
    parser.add_argument("--json", action="store_true", help="One JSON line per command.")
    parser.add_argument(
        "--check", action="store_true", help="Exit 1 if a median exceeds --limit seconds."
    )
    parser.add_argument("--limit", type=float, default=1.0, help="Seconds (issue #13: 1.0).")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="Run with the environment as it is (no private bytecode cache).",
    )
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-pyc-") as cache:
        env = dict(os.environ)
        if not opts.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        rows = measure(runs=opts.runs, env=env)
    report(rows, as_json=opts.json)
    slow = [r["command"] for r in rows[:2] if r["median_s"] > opts.limit]
    if opts.check and slow:
        print(f"slower than {opts.limit} s (median): {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


def measure(*, runs: int, env: dict[str, str]) -> list[dict[str, Any]]:
    """One row per command: median and maximum wall seconds of ``runs`` runs."""
    tether = tether_command()
    commands = {
        "tether --help": [*tether, "--help"],
        "tether consent decode TC_STRING": [*tether, "consent", "decode", a_tc_string()],
        "floor: a one-command Typer app": [sys.executable, "-c", FLOOR, "hello"],
    }
    rows: list[dict[str, Any]] = []
    for name, args in commands.items():
        seconds = time_command(args, runs=runs, env=env)
        rows.append(
            {
                "command": name,
                "runs": runs,
                "median_s": round(statistics.median(seconds), 3),
                "max_s": round(max(seconds), 3),
                "load_average": round(os.getloadavg()[0], 2),
                "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in env,
            }
        )
    return rows


def report(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row))
    else:
        print("| command | runs | median s | max s | load average | bytecode cache |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| `{r['command']}` | {r['runs']} | {r['median_s']:.3f} | {r['max_s']:.3f} "
                f"| {r['load_average']} | {'yes' if r['bytecode_cache'] else 'no'} |"
            )


if __name__ == "__main__":
    sys.exit(main())
