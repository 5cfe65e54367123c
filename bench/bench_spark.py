"""Benchmark: `tether link` on the Spark engine (local mode) next to DuckDB.

    nice -n 5 .venv/bin/python bench/bench_spark.py --touchpoints 100000
    nice -n 5 .venv/bin/python bench/bench_spark.py --touchpoints 20000 --partitions 1 2 4
    nice -n 5 .venv/bin/python bench/bench_spark.py --touchpoints 1000000 --engines spark

On the benchmark world of ``bench/bench_link.py`` (the harder world by
default; generated once under ``bench/data/``), its linked sources only
(``tether-linked.toml``: no consent source, so both engines link the same
records), each engine runs ``tether link --retrain --engine E --json`` as a
subprocess in a fresh workspace. For each run it records the wall time, the
peak memory of the whole process tree (Spark's JVM is a child of Python:
``wait4`` would miss it, so the tree's summed RSS is sampled every 0.2 s),
the seconds of each step and of each linking stage (deterministic edges,
prediction, clustering; training is the ``model`` step) and the pairwise F1
of the identity graph against the world's labels and against DuckDB's graph.

``--partitions`` runs the Spark engine once per value P on ``local[P]`` with
``2 P`` shuffle partitions: how each stage scales with the cores it is given.

Prints a JSON document (``--json``) or Markdown table rows for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_link import AS_OF, world  # noqa: E402

from resolver import evaluate_graph, read_labels  # noqa: E402


def tree_rss_gb(pid: int) -> float:
    """Summed RSS of a process and its descendants (the JVM included), in GB."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1024**3


def run(args: list[str], *, env: dict[str, str]) -> tuple[str, float, float]:
    """A child process: its stdout, wall seconds and the tree's peak RSS (GB)."""
    started = time.perf_counter()
    peak = 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_gb(process.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(
                f"{' '.join(args[3:6])} failed ({code}):\n{err.read().decode()[-3000:]}"
            )
        return out.read().decode(), seconds, peak


def link(data: Path, *, engine: str, cores: int | None) -> dict[str, Any]:
    """`tether link --retrain --engine ENGINE` in a fresh workspace; its numbers."""
    home = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
    config = data / "tether-linked.toml"
    if cores is not None:
        # the Spark session of this run: local[P], 2 P shuffle partitions
        text = config.read_text() + (
            f'\n[spark]\nmaster = "local[{cores}]"\nshuffle_partitions = {2 * cores}\n'
        )
        config = data / f"tether-linked-spark{cores}.toml"  # beside it: same relative paths
        config.write_text(text)
    env = {**os.environ, "TETHER_HOME": str(home / "ws")}
    args = [sys.executable, "-m", "api.cli", "link", "-c", str(config), "--retrain",
            "--engine", engine, "--as-of", AS_OF, "--json"]  # fmt: skip
    stdout, seconds, rss = run(args, env=env)
    summary = json.loads(stdout)
    graph = pd.read_parquet(Path(summary["run_dir"]) / "identity_graph.parquet")
    scores = evaluate_graph(graph=graph, labels=read_labels(data / "labels.csv"))
    return {
        "engine": engine,
        "cores": cores,
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(rss, 2),
        "train_seconds": summary["seconds"].get("model"),
        "link_seconds": summary["seconds"].get("link"),
        "stages": summary["linking"]["seconds"],
        "touchpoints": summary["touchpoints"],
        "persons": summary["persons"],
        "f1": scores.pairwise_f1,
        "graph": graph[["source", "record_key", "person_id"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=["harder", "demo"], default="harder")
    parser.add_argument("--touchpoints", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument(
        "--partitions", type=int, nargs="*", default=None,
        help="Spark cores (local[P], 2 P shuffle partitions); default: local[*].",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = world(args.world, args.touchpoints, args.seed)
    runs = []
    for engine in args.engines:
        for cores in args.partitions or [None] if engine == "spark" else [None]:
            runs.append(link(data, engine=engine, cores=cores))
            print(f"done {engine} cores={cores}: {runs[-1]['seconds']} s", file=sys.stderr)
    duck = next((r["graph"] for r in runs if r["engine"] == "duckdb"), None)
    for r in runs:
        graph = r.pop("graph")
        if duck is not None:
            labels = duck.rename(columns={"person_id": "true_id"})
            r["f1_vs_duckdb"] = evaluate_graph(graph=graph, labels=labels).pairwise_f1
    if args.json:
        print(json.dumps({"world": args.world, "runs": runs}, indent=1))
        return
    print("| engine | cores | touchpoints | wall s | train s | deterministic s | predict s | "
          "cluster s | peak RSS (tree) | F1 | F1 vs DuckDB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        s = r["stages"]
        print(
            f"| {r['engine']} | {r['cores'] or 'all'} | {r['touchpoints']:,} | {r['seconds']} | "
            f"{r['train_seconds']} | {s.get('deterministic')} | {s.get('predict')} | "
            f"{s.get('cluster')} | {r['peak_rss_gb']} GB | {r['f1']:.4f} | "
            f"{r.get('f1_vs_duckdb', float('nan')):.4f} |"
        )


if __name__ == "__main__":
    main()
