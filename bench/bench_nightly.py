"""Benchmark: `tether nightly` end to end on the demo world scaled to N touchpoints.

    .venv/bin/python bench/bench_nightly.py --touchpoints 1000000

Generates (once, cached under bench/data/) a demo world with its activity
(events, interactions, consents) as chunked Parquet, the example segments
and a config whose destinations take any size, then runs `tether nightly`
as a subprocess under a fresh workspace: a first run (it trains the model)
and a second run on the same inputs (reusing the model, as every later
night does). Prints per-step seconds, exports and peak RSS of each run
(the child's maximum resident set, DuckDB and Splink included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.worlds.demo import WORLD_NOW, demo_config_toml, write_demo_world  # noqa: E402
from audiences.segments import EXAMPLES  # noqa: E402

TOUCHPOINTS_PER_PERSON = 12.2
AUDIENCES = """
[audiences]
segments = "segments"
[destinations.google_customer_match]
min_size = 1
[destinations.meta_custom_audience]
min_size = 1
[destinations.csv_internal]
min_size = 1
"""


def world(touchpoints: int, seed: int) -> Path:
    persons = max(20, round(touchpoints / TOUCHPOINTS_PER_PERSON))
    out = ROOT / "bench" / "data" / f"nightly-{touchpoints}-{seed}"
    if not (out / "tether.toml").exists():
        started = time.perf_counter()
        write_demo_world(out, persons=persons, seed=seed, fmt="parquet", chunk_persons=20_000)
        (out / "segments").mkdir(exist_ok=True)
        for path in EXAMPLES.glob("*.yaml"):
            shutil.copyfile(path, out / "segments" / path.name)
        config = demo_config_toml(data_dir=".", fmt="parquet", chunked=persons > 20_000)
        (out / "tether.toml").write_text(config + AUDIENCES)
        print(
            f"generated {persons:,} persons in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
    return out


def nightly(data: Path, home: Path) -> dict[str, object]:
    env = {**os.environ, "TETHER_HOME": str(home)}
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "nightly", "-c", str(data / "tether.toml"),
         "--as-of", WORLD_NOW.isoformat(), "--json"],
        capture_output=True, text=True, env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2
    summary = json.loads(out.stdout)
    return {
        "touchpoints": summary["touchpoints"],
        "persons": summary["persons"],
        "wall_seconds": round(wall, 1),
        "step_seconds": summary["seconds"],
        "segments": summary["segments"],
        "exports": [
            {
                "segment": e["segment"],
                "destination": e["destination"],
                **(
                    {"exported": e["counts"]["exported"]}
                    if "counts" in e
                    else {"refused": e["refused"]}
                ),
            }
            for e in summary["exports"]
        ],  # fmt: skip
        "peak_rss_gb": round(peak, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--touchpoints", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    data = world(args.touchpoints, args.seed)
    home = ROOT / "bench" / "data" / f"ws-nightly-{args.touchpoints}"
    shutil.rmtree(home, ignore_errors=True)
    first = nightly(data, home)
    print(json.dumps({"run": "first (trains the model)", **first}), flush=True)
    second = nightly(data, home)
    print(json.dumps({"run": "second (same inputs, saved model)", **second}), flush=True)


if __name__ == "__main__":
    main()
