"""Load benchmark of the HTTP API: open-loop load from a second process over loopback.

    .venv/bin/python bench/bench_api.py                       # every scenario, 60 s each
    .venv/bin/python bench/bench_api.py --scenario identify_exact --seconds 10

Builds (once, cached under bench/data/) the demo world's workspace with `tether
demo`, starts `tether serve` on 127.0.0.1 as its own process, and for each
scenario runs a load generator in a second process: requests are *scheduled*
at a fixed rate (open loop, so a slow server cannot slow the load down) and
each latency is measured from its scheduled time, not from when it was sent
(no coordinated omission). Scenarios (the issue's targets):

- ``identify_exact``: cookie, device, customer id or email of the current run, 500/s;
- ``identify_pii``: a CRM person by name, birth date and postcode only (a
  third with a typo in the surname), 50/s, scored by the Splink model;
- ``consent_sqlite`` / ``consent_postgres``: one consent event per request,
  200/s, against the workspace's SQLite store and a fresh PostgreSQL
  database. Afterwards the ledger must hold exactly one event per request
  answered 201 ("no consent event lost").

Every request is checked: a status other than 200/201 or a transport error
counts as an error. Prints one Markdown row per scenario (and ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TETHER = [sys.executable, "-m", "api.cli"]
PG_ADMIN = os.environ.get(
    "TETHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCENARIOS = {
    "identify_exact": 500,
    "identify_pii": 50,
    "consent_sqlite": 200,
    "consent_postgres": 200,
}


def workspace(persons: int) -> Path:
    home = ROOT / "bench" / "data" / f"api-{persons}"
    if not (home / "current").exists():
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run(
            [*TETHER, "demo", "--home", str(home), "--persons", str(persons), "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return home


def bodies(home: Path, scenario: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Request bodies drawn from the current run (identify) or made up (consents)."""
    import pandas as pd

    rng = random.Random(seed)
    if scenario == "identify_exact":
        from resolver.identify import IdentityIndex

        # ids the run resolves to one person (an email two persons share goes to the model)
        touch = pd.read_parquet(home / "current" / "touchpoints.parquet")
        graph = pd.read_parquet(home / "current" / "identity_graph.parquet")
        index = IdentityIndex.build(
            run_id="bench", graph=graph, touchpoints=touch, model=None, threshold=0.9,
            default_region="GB",
        )  # fmt: skip
        pool: list[dict[str, Any]] = []
        for field in ("cookie_id", "device_id", "customer_id", "email"):
            values = [v for v in touch[field].dropna().unique() if index.person_of(field, v)]
            pool += [{field: v} for v in rng.sample(values, min(2000, len(values)))]
        return [rng.choice(pool) for _ in range(n)]
    if scenario == "identify_pii":
        crm = pd.read_csv(home / "demo" / "crm.csv", dtype=str).dropna(
            subset=["first_name", "last_name", "date_of_birth", "postcode"]
        )
        rows = crm.to_dict(orient="records")
        out = []
        for i in range(n):
            row = rng.choice(rows)
            last = row["last_name"].strip()
            if i % 3 == 0 and len(last) > 3:
                last = last[0] + last[2] + last[1] + last[3:]
            out.append(
                {
                    "first_name": row["first_name"],
                    "last_name": last,
                    "date_of_birth": row["date_of_birth"],
                    "postcode": row["postcode"],
                }
            )
        return out
    run = uuid.uuid4().hex[:8]
    return [
        {
            "events": [
                {
                    "subject_type": "cookie",
                    "subject_id": f"bench-{run}-{i % 5000}",
                    "purpose": rng.choice(["ad_targeting", "analytics", "identity_linking"]),
                    "status": rng.choice(["granted", "denied", "withdrawn"]),
                    "recorded_at": "2026-11-30T12:00:00Z",
                    "event_id": f"bench-{run}-{i}",
                }
            ]
        }
        for i in range(n)
    ]


def _load(
    base: str, path: str, token: str, payloads: list[dict[str, Any]], rate: float, out: Any
) -> None:
    """The load generator (runs in its own process): open loop at ``rate`` per second.

    A minimal HTTP/1.1 keep-alive client on asyncio streams: a general client
    (httpx) spends ~3 ms of CPU per request, which on a 2-core machine would
    make the generator, not the server, the bottleneck.
    """
    host, port = base.removeprefix("http://").split(":")
    bodies = [json.dumps(p).encode() for p in payloads]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        errors: dict[str, int] = {}
        ok = 0
        idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def request(body: bytes) -> int:
            conn = idle.pop() if idle else await asyncio.open_connection(host, int(port))
            reader, writer = conn
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            idle.append(conn)
            return status

        for body in bodies[:20]:  # warm the connection and the server's first-request paths
            await request(body)
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int, body: bytes) -> None:
            nonlocal ok
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status = await request(body)
                if status in (200, 201):
                    ok += 1
                else:
                    errors[f"http {status}"] = errors.get(f"http {status}", 0) + 1
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append(loop.time() - scheduled)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies[20:])))
        elapsed = loop.time() - start
        for _, writer in idle:
            writer.close()
        return {"latencies": latencies, "errors": errors, "ok": ok, "elapsed": elapsed}

    import gc

    gc.disable()  # a collector pause in the generator would show up as server latency
    out.put(asyncio.run(main()))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    import httpx2

    port = _port()
    server = subprocess.Popen(
        [*TETHER, "serve", "--home", str(home), "-c", str(home / "demo" / "tether.toml"),
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/v1/health").json().get("run_id"):
                return server, base
        except (httpx2.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    server.kill()
    raise SystemExit("tether serve did not come up")


def key(home: Path, env: dict[str, str]) -> str:
    made = subprocess.run(
        [*TETHER, "keys", "create", "bench", "-s", "read", "-s", "consent:write", "--json",
         "--home", str(home)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return str(json.loads(made.stdout)["token"])


def ledger_count(url: str) -> int:
    from api.storage import open_store
    from consent.ledger import Ledger

    engine = open_store(url)
    try:
        return Ledger(engine).count()
    finally:
        engine.dispose()


def run(scenario: str, *, home: Path, seconds: float, rate: float, seed: int) -> dict[str, Any]:
    env = {**os.environ, "TETHER_HOME": str(home)}
    pg_db = None
    url = f"sqlite:///{home / 'tether.db'}"
    if scenario == "consent_postgres":
        from sqlalchemy import create_engine, text

        pg_db = f"tether_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{pg_db}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_db
        env["TETHER_DATABASE_URL"] = url
    token = key(home, env)
    server, base = serve(home, env)
    try:
        n = int(seconds * rate)
        payloads = bodies(home, scenario, n + 20, seed)
        path = "/v1/consents" if scenario.startswith("consent") else "/v1/identify"
        before = ledger_count(url) if path == "/v1/consents" else 0
        queue: Any = multiprocessing.get_context("spawn").Queue()
        worker = multiprocessing.get_context("spawn").Process(
            target=_load, args=(base, path, token, payloads, rate, queue)
        )
        worker.start()
        result = queue.get(timeout=seconds + 300)
        worker.join()
        after = ledger_count(url) if path == "/v1/consents" else 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if pg_db is not None:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{pg_db}" WITH (FORCE)'))
            admin.dispose()
    latencies = sorted(result["latencies"])
    measured = len(latencies)

    def pct(q: float) -> float:
        return float(latencies[min(measured - 1, int(q * measured))]) * 1000

    summary = {
        "scenario": scenario,
        "rate": rate,
        "requests": measured,
        "achieved_rate": round(measured / result["elapsed"], 1),
        "errors": result["errors"],
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }
    if path == "/v1/consents":
        # the warm-up requests are consent events too
        summary["events_stored"] = after - before
        summary["events_answered_201"] = result["ok"] + 20  # + the warm-up requests
        summary["lost"] = summary["events_answered_201"] - summary["events_stored"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = workspace(args.persons)
    rows = []
    print("| scenario | rate/s | requests | achieved/s | errors | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in args.scenario or list(SCENARIOS):
        row = run(
            scenario, home=home, seconds=args.seconds, rate=SCENARIOS[scenario], seed=args.seed
        )
        rows.append(row)
        errors = sum(row["errors"].values())
        extra = f" (lost {row['lost']} of {row['events_answered_201']})" if "lost" in row else ""
        print(
            f"| {scenario} | {row['rate']:.0f} | {row['requests']:,} | {row['achieved_rate']} | "
            f"{errors}{extra} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} |",
            flush=True,
        )
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
