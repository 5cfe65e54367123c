"""Identify latency while segment previews run, with the per-key limits on (issue #12).

    .venv/bin/python bench/bench_previews.py                  # 20 s per scenario, 200/s
    .venv/bin/python bench/bench_previews.py --seconds 10 --rate 50 --scenario alone

Uses the workspace and the open-loop load generator of ``bench/bench_api.py``
(``tether serve`` as its own process; identify by exact id at 200/s from a
second process, each latency measured from its scheduled time; ``--rate``
sets it). Scenarios:

- ``alone``: identify only;
- ``previews_4_keys``: four threads previewing a segment with an overlap in a
  loop, each with its own ``read`` key (the issue's "four parallel previews");
- ``previews_1_key``: the same four threads sharing one key, so the key's
  ``[api] heavy_*`` limits answer most of them 429.

The server runs with the workspace's ``tether.toml``, so the limits are the
defaults (``heavy_burst`` 10, ``heavy_per_minute`` 30, ``heavy_concurrent``
2, ``heavy_workers`` 1). Prints one Markdown row per scenario: identify p50/p99 and the previews
answered 200 and 429.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_api import _load, bodies, key, serve, workspace  # noqa: E402  (bench/ is on sys.path)

SEGMENT = "mortgage_readers_for_ads"
OVERLAP = "engaged_whatsapp_readers"
SCENARIOS = ("alone", "previews_4_keys", "previews_1_key")


def _previews(base: str, tokens: list[str], stop: threading.Event) -> dict[int, int]:
    """Four loops of previews with an overlap until ``stop``; status -> count."""
    import httpx2

    counts: dict[int, int] = {}
    lock = threading.Lock()

    def loop(token: str) -> None:
        with httpx2.Client(base_url=base, timeout=120) as http:
            while not stop.is_set():
                status = http.get(
                    f"/v1/segments/{SEGMENT}/preview?overlap={OVERLAP}",
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code
                with lock:
                    counts[status] = counts.get(status, 0) + 1
                if status == 429:
                    time.sleep(0.05)  # a client that respects nothing, but does not spin

    threads = [threading.Thread(target=loop, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def run(scenario: str, *, home: Path, seconds: float, rate: float, seed: int) -> dict[str, Any]:
    env = {**os.environ, "TETHER_HOME": str(home)}
    identify_token = key(home, env)
    tokens: list[str] = []
    if scenario == "previews_4_keys":
        tokens = [key(home, env) for _ in range(4)]
    elif scenario == "previews_1_key":
        tokens = [key(home, env)] * 4
    server, base = serve(home, env)
    counts: dict[int, int] = {}
    try:
        payloads = bodies(home, "identify_exact", int(seconds * rate) + 20, seed)
        stop = threading.Event()
        done: dict[int, int] = {}
        loader = threading.Thread(target=lambda: done.update(_previews(base, tokens, stop)))
        if tokens:
            loader.start()
            time.sleep(1.0)  # the previews are running before identify is measured
        queue: Any = multiprocessing.get_context("spawn").Queue()
        worker = multiprocessing.get_context("spawn").Process(
            target=_load, args=(base, "/v1/identify", identify_token, payloads, rate, queue)
        )
        worker.start()
        result = queue.get(timeout=seconds + 300)
        worker.join()
        stop.set()
        if tokens:
            loader.join()
        counts = done
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    latencies = sorted(result["latencies"])
    measured = len(latencies)

    def pct(q: float) -> float:
        return float(latencies[min(measured - 1, int(q * measured))]) * 1000

    return {
        "scenario": scenario,
        "identify_requests": measured,
        "identify_errors": sum(result["errors"].values()),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "previews_200": counts.get(200, 0),
        "previews_429": counts.get(429, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=200.0, help="identify requests per second")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    home = workspace(args.persons)
    print(
        "| scenario | identify requests | errors | p50 ms | p99 ms | previews 200 | previews 429 |"
    )
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenario or SCENARIOS:
        row = run(scenario, home=home, seconds=args.seconds, rate=args.rate, seed=args.seed)
        print(
            f"| {scenario} | {row['identify_requests']:,} | {row['identify_errors']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {row['previews_200']} | "
            f"{row['previews_429']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
