"""Benchmark: link + cluster at a given number of touchpoints (demo world scaled).

    .venv/bin/python bench/bench_link.py --touchpoints 100000
    .venv/bin/python bench/bench_link.py --touchpoints 1000000 --json

Generates (once, cached under bench/data/) a demo world of about the asked
number of touchpoints as chunked Parquet without activity tables, then times
ingest, training, linking (deterministic edges, prediction, clustering) and
person ids in this process, and reports peak RSS of the process (DuckDB and
Splink run in-process, so this is the whole footprint). It also scores the
result against the labels and against the exact-identifier baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.settings import load_config  # noqa: E402
from resolver import (  # noqa: E402
    assign_person_ids,
    build_identity_graph,
    evaluate_graph,
    exact_identifier_components,
    ingest_sources,
    link_touchpoints,
    read_labels,
    train_on_touchpoints,
    write_demo_world,
)
from resolver.demo_world import demo_config_toml  # noqa: E402

TOUCHPOINTS_PER_PERSON = 12.2  # measured on the default demo world


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def world(touchpoints: int, seed: int) -> Path:
    persons = max(20, round(touchpoints / TOUCHPOINTS_PER_PERSON))
    out = ROOT / "bench" / "data" / f"world-{touchpoints}-{seed}"
    if not (out / "tether.toml").exists():
        started = time.perf_counter()
        write_demo_world(
            out, persons=persons, seed=seed, fmt="parquet", chunk_persons=20_000, activity=False
        )
        chunked = persons > 20_000
        (out / "tether.toml").write_text(
            demo_config_toml(data_dir=".", fmt="parquet", chunked=chunked, activity=False)
        )
        print(
            f"generated {persons:,} persons in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
    return out


def run(touchpoints: int, seed: int) -> dict[str, Any]:
    data = world(touchpoints, seed)
    config = load_config(data / "tether.toml")
    timings: dict[str, float] = {}

    started = time.perf_counter()
    ingested = ingest_sources(sources=config.sources, default_region=config.linking.default_region)
    tp = ingested.touchpoints
    timings["ingest"] = time.perf_counter() - started

    started = time.perf_counter()
    model = train_on_touchpoints(tp, options=config.linking)
    timings["train"] = time.perf_counter() - started

    started = time.perf_counter()
    result = link_touchpoints(tp, model=model, options=config.linking)
    timings["link"] = time.perf_counter() - started

    started = time.perf_counter()
    records = tp[["source", "record_key"]].assign(cluster=result.cluster)
    ids = assign_person_ids(records=records, salt="bench", run_id="bench")
    graph = build_identity_graph(
        tp, cluster=result.cluster, person_of_cluster=ids.person_of_cluster
    )
    timings["person_ids"] = time.perf_counter() - started
    peak = peak_rss_gb()

    labels = read_labels(data / "labels.csv")
    ours = evaluate_graph(graph=graph, labels=labels)
    baseline_graph = tp[["source", "record_key", "kind"]].assign(
        person_id=pd.Series(exact_identifier_components(tp)).astype(str)
    )
    baseline = evaluate_graph(graph=baseline_graph, labels=labels)
    return {
        "touchpoints": len(tp),
        "model_input_rows": result.stats["model_input_rows"],
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "link_detail_seconds": result.stats["seconds"],
        "link_and_cluster_seconds": round(timings["link"], 1),
        "end_to_end_seconds": round(sum(timings.values()), 1),
        "peak_rss_gb": round(peak, 2),
        "persons": int(graph["person_id"].nunique()),
        "pairwise": {
            "precision": ours.pairwise_precision,
            "recall": ours.pairwise_recall,
            "f1": ours.pairwise_f1,
        },
        "baseline_pairwise": {
            "precision": baseline.pairwise_precision,
            "recall": baseline.pairwise_recall,
            "f1": baseline.pairwise_f1,
        },
        "customer_false_merges": ours.customer_false_merges,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--touchpoints", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.touchpoints, args.seed)
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
