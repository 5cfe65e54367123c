"""CLI startup time: ``tether --help`` and ``tether consent decode`` as fresh processes.

    .venv/bin/python bench/bench_startup.py                 # 5 runs each, a Markdown table
    .venv/bin/python bench/bench_startup.py --runs 20 --json
    .venv/bin/python bench/bench_startup.py --check         # exit 1 if a median exceeds 1.0 s

Issue #13: both commands must start in under a second on the project's
2-core machine (before the imports were made lazy they took 8-10 s, loading
Splink, Faker, SciPy, DuckDB and pandas they never use). Each command is run
``--runs`` times as a subprocess of the installed ``tether`` script (the
venv's, else ``python -m api.cli``), after one untimed warm-up run that
writes the bytecode caches; the wall time of each run is measured, and the
median and maximum reported. The TC string is the first vector of
``tests/data/tcf-vectors.json``. The load average is printed too, because on
a shared machine it moves the numbers.

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
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def tether_command() -> list[str]:
    """The installed ``tether`` script beside this interpreter, else ``python -m api.cli``."""
    script = Path(sys.executable).parent / "tether"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def a_tc_string() -> str:
    vectors = json.loads((ROOT / "tests" / "data" / "tcf-vectors.json").read_text())
    return str(vectors[0]["tc_string"])


def time_command(args: list[str], *, runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``args`` (after one untimed warm-up run)."""
    seconds = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
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
    opts = parser.parse_args()

    tether = tether_command()
    commands = {
        "tether --help": [*tether, "--help"],
        "tether consent decode TC_STRING": [*tether, "consent", "decode", a_tc_string()],
    }
    rows: list[dict[str, Any]] = []
    for name, args in commands.items():
        seconds = time_command(args, runs=opts.runs)
        rows.append(
            {
                "command": name,
                "runs": opts.runs,
                "median_s": round(statistics.median(seconds), 3),
                "max_s": round(max(seconds), 3),
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    if opts.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print("| command | runs | median s | max s | load average |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(
                f"| `{r['command']}` | {r['runs']} | {r['median_s']:.3f} | {r['max_s']:.3f} "
                f"| {r['load_average']} |"
            )
    slow = [r["command"] for r in rows if r["median_s"] > opts.limit]
    if opts.check and slow:
        print(f"slower than {opts.limit} s (median): {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
