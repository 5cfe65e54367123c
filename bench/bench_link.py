"""Benchmark: the whole `tether link`, as a user runs it, against the plain-Splink peer.

    .venv/bin/python bench/bench_link.py --touchpoints 1000000
    .venv/bin/python bench/bench_link.py --world demo --touchpoints 100000 --json
    .venv/bin/python bench/bench_link.py --touchpoints 10000000 --no-peer
    .venv/bin/python bench/bench_link.py --touchpoints 100000 --linked-only  # like for like

Generates (once, cached under ``bench/data/``) a world of about the asked
number of touchpoints as chunked Parquet: the harder world
(``api.worlds.harder``: skewed multi-script names, coarse postcodes, CRM
duplicates, a duplicate-free second customer source) by default, with its
consents, events and interactions, so that every step of `tether link` runs
(ingest, consent, training, linking, person ids, person consent, features).
Then, in the same run and on the same files:

1. ``tether link --config WORLD/tether.toml --retrain --json`` as a subprocess
   under a fresh workspace: wall time, the child's peak RSS (``wait4``), its
   per-step seconds, comparisons per record and the values capped as
   oversized blocks;
2. the plain-Splink peer (``bench/peer_splink.py``: exact identifiers plus a
   tutorial PII model) as a subprocess: wall time, peak RSS;
3. both identity graphs scored against the world's labels with
   ``resolver.evaluate`` (pairwise precision, recall, F1).

With the consent gate (the default), Tether links only what consent allows,
so its F1 against every true pair is bounded by the gate: ``gated_f1`` scores
it against what the gate allows. ``--linked-only`` runs Tether on
``tether-linked.toml`` (the linked sources, no consent source), the same
input the peer reads, for a like-for-like F1.

Prints a JSON document (``--json``) or a Markdown table row for
``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resolver import evaluate_graph, read_labels  # noqa: E402

TOUCHPOINTS_PER_PERSON = {"harder": 11.8, "demo": 12.2}
AS_OF = "2026-11-01T00:00:00+00:00"  # the worlds' clock (WORLD_NOW)


def world(kind: str, touchpoints: int, seed: int) -> Path:
    """The benchmark world's directory, generated on first use."""
    persons = max(20, round(touchpoints / TOUCHPOINTS_PER_PERSON[kind]))
    out = ROOT / "bench" / "data" / f"{kind}-{touchpoints}-{seed}"
    if (out / "tether.toml").exists():
        _linked_only_config(kind, out, chunked=persons > 20_000)
        return out
    started = time.perf_counter()
    chunk = 20_000
    if kind == "harder":
        from api.worlds import harder_config_toml, write_harder_world

        write_harder_world(out, persons=persons, seed=seed, fmt="parquet", chunk_persons=chunk)
        text = harder_config_toml(data_dir=".", fmt="parquet", chunked=persons > chunk)
    else:
        from api.worlds.demo import demo_config_toml, write_demo_world

        write_demo_world(out, persons=persons, seed=seed, fmt="parquet", chunk_persons=chunk)
        text = demo_config_toml(data_dir=".", fmt="parquet", chunked=persons > chunk)
    (out / "tether.toml").write_text(text)
    _linked_only_config(kind, out, chunked=persons > chunk)
    print(
        f"generated {kind} world: {persons:,} persons in {time.perf_counter() - started:.0f}s",
        file=sys.stderr,
    )
    return out


def _linked_only_config(kind: str, out: Path, *, chunked: bool) -> None:
    """``tether-linked.toml``: the linked sources only, no consent source (linking allowed
    for every record), for a like-for-like comparison with the peer, which has no gate."""
    if kind == "harder":
        from api.worlds import harder_config_toml as config_toml
    else:
        from api.worlds.demo import demo_config_toml as config_toml
    text = config_toml(data_dir=".", fmt="parquet", chunked=chunked, activity=False)
    (out / "tether-linked.toml").write_text(text)


def timed(
    args: list[str], *, env: dict[str, str] | None = None, max_rss_gb: float | None = None
) -> tuple[str, float, float, float]:
    """Run a child process: its stdout, wall seconds, peak RSS in GB and CPU seconds (``wait4``).

    With ``max_rss_gb`` the child is killed once its resident size passes it (the machine is
    shared: a run that would not fit is stopped, not left to the OOM killer), and the
    ``SystemExit`` carries the steps it finished (their ``step ...`` log lines).
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        killed = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss_gb(process.pid)
            if max_rss_gb is not None and rss > max_rss_gb and killed is None:
                killed = rss
                process.kill()
            time.sleep(0.5)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            text = err.read().decode()
            steps = "\n".join(line for line in text.splitlines() if ": step " in line)
            why = f"killed at {killed:.1f} GB RSS after {seconds:.0f} s" if killed else "failed"
            raise SystemExit(
                f"{' '.join(args[:4])} {why} ({process.returncode}):\n{steps}\n{text[-3000:]}"
            )
        cpu = usage.ru_utime + usage.ru_stime
        return out.read().decode(), seconds, usage.ru_maxrss / 1024**2, cpu


def _rss_gb(pid: int) -> float:
    """A running process's resident size in GiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def run_tether(
    data: Path, home: Path, *, config: str = "tether.toml", max_rss_gb: float | None = None
) -> dict[str, Any]:
    """`tether link` end to end in a fresh workspace, scored against the labels."""
    env = {**os.environ, "TETHER_HOME": str(home)}
    args = [sys.executable, "-m", "api.cli", "--log-level", "info", "link", "-c",
            str(data / config), "--retrain", "--as-of", AS_OF, "--json"]  # fmt: skip
    stdout, seconds, rss, cpu = timed(args, env=env, max_rss_gb=max_rss_gb)
    summary = json.loads(stdout)
    graph = pd.read_parquet(Path(summary["run_dir"]) / "identity_graph.parquet")
    scores = evaluate_graph(graph=graph, labels=read_labels(data / "labels.csv"))
    blocking = summary["linking"]["blocking"]
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_average": os.getloadavg(),
        "peak_rss_gb": round(rss, 2),
        "steps": summary["seconds"],
        "step_peak_rss_gb": summary.get("peak_rss_gb", {}),
        "step_held_rss_gb": summary.get("held_rss_gb", {}),
        "link_detail": summary["linking"]["seconds"],
        "touchpoints": summary["touchpoints"],
        "persons": summary["persons"],
        "model_input_rows": summary["linking"]["model_input_rows"],
        "comparisons": blocking["comparisons"],
        "comparisons_per_record": blocking["comparisons_per_record"],
        "comparison_bound_per_record": blocking.get("comparison_bound_per_record"),
        "capped_values": blocking.get("capped_values", 0),
        "precision": scores.pairwise_precision,
        "recall": scores.pairwise_recall,
        "f1": scores.pairwise_f1,
        "gated_recall": scores.gated_pairwise_recall,
        "gated_f1": scores.gated_pairwise_f1,
        "unconsented_records_linked": scores.unconsented_records_linked,
        "customer_false_merges": scores.customer_false_merges,
    }


def run_peer(data: Path) -> dict[str, Any]:
    """The plain-Splink peer on the same files (``bench/peer_splink.py``)."""
    args = [sys.executable, str(ROOT / "bench" / "peer_splink.py"),
            "--config", str(data / "tether.toml"), "--labels", str(data / "labels.csv"), "--json"]  # fmt: skip
    stdout, seconds, rss, _ = timed(args)
    result = json.loads(stdout)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(rss, 2),
        "precision": result["pairwise_precision"],
        "recall": result["pairwise_recall"],
        "f1": result["pairwise_f1"],
        "comparisons": result.get("comparisons"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=["harder", "demo"], default="harder")
    parser.add_argument("--touchpoints", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-peer", action="store_true", help="Skip the plain-Splink peer.")
    parser.add_argument(
        "--linked-only",
        action="store_true",
        help="Run Tether on tether-linked.toml (no consent source): like for like with the peer.",
    )
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        help="Kill `tether link` once its resident size passes this (a shared machine).",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = world(args.world, args.touchpoints, args.seed)
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as home:
        ours = run_tether(
            data,
            Path(home),
            config="tether-linked.toml" if args.linked_only else "tether.toml",
            max_rss_gb=args.max_rss_gb,
        )
    print(json.dumps({"tether": ours}), file=sys.stderr)  # kept even if the peer fails
    peer = None
    if not args.no_peer:
        started = time.perf_counter()
        try:
            peer = run_peer(data)
        except SystemExit as failed:  # the peer not finishing is a result too
            peer = {
                "failed": str(failed)[-600:],
                "seconds": round(time.perf_counter() - started, 1),
            }
    result = {
        "world": args.world,
        "seed": args.seed,
        "consent_gate": not args.linked_only,
        "tether": ours,
        "peer": peer,
    }
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    steps = ", ".join(f"{k} {v:.0f}" for k, v in ours["steps"].items())
    row = (
        f"| {ours['touchpoints']:,} | {ours['seconds']} s | {ours['peak_rss_gb']} GB | "
        f"{ours['precision']:.4f} / {ours['recall']:.4f} / **{ours['f1']:.4f}** | "
        f"{ours['comparisons_per_record']} | {ours['capped_values']} |"
    )
    if peer and "failed" in peer:
        row += f" failed after {peer['seconds']} s |"
    elif peer:
        row += (
            f" {peer['seconds']} s | {peer['peak_rss_gb']} GB | "
            f"{peer['precision']:.4f} / {peer['recall']:.4f} / **{peer['f1']:.4f}** |"
        )
    sys.stdout.write(row + "\n" + f"steps (s): {steps}\n")


if __name__ == "__main__":
    main()
