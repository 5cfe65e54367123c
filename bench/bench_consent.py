"""Consent ledger throughput: bulk append and read-back on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_consent.py                       # 100 k and 1 M events, both stores
    .venv/bin/python bench/bench_consent.py --sizes 100000 --stores sqlite
    .venv/bin/python bench/bench_consent.py --step RUN_DIR        # + the nightly's consent step

Events are shaped like the harder world's consents source (what ingest hands
the nightly: tz-aware times, ids given): per subject (cookie 55 %, customer
25 %, device 12 %, contact 8 %) one banner answer for four or five purposes,
recorded over ten months, most with a 13-month expiry. For each store and
size, on a fresh store (PostgreSQL: a new database on ``--pg-url``):

- ``append``: ``Ledger.append_frame`` of the n events into an empty ledger;
- ``again``: the same n events again (all duplicates: every night re-reads
  its consent sources, so this is the nightly's steady state);
- ``read``: ``Ledger.events(as_of=..., columns=JUDGE, ordered=False)``, what
  judging needs; ``read ordered``: every column, oldest first.

``--step RUN_DIR`` also times the nightly's consent step on a run directory
written by ``tether nightly``/``link`` (its ``touchpoints.parquet`` and
``consents.parquet``): ``session_signal_events``, both appends and the
read-back, then ``subject_states`` and ``linking_allowed`` (the judging), twice
(first run, then a rerun on the same inputs). Prints one JSON
line per measurement and a Markdown table; the load average is printed too,
because on a shared machine it moves the numbers, and so is how long this
process waited for a CPU while it could run (``/proc/self/task/*/schedstat``):
the part of the wall time that other work on the machine took.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.storage import open_store  # noqa: E402
from consent.effective import linking_allowed, subject_states  # noqa: E402
from consent.ledger import Ledger  # noqa: E402
from consent.signals import session_signal_events  # noqa: E402

JUDGE = list(Ledger.JUDGING_COLUMNS)  # what the nightly's judging reads
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PURPOSES = ["identity_linking", "analytics", "personalisation", "ad_targeting"]


def consent_rows(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` consent rows as ingest gives them (see the module docstring)."""
    rng = np.random.default_rng(seed)
    subjects = n // 4 + 1
    kinds = rng.choice(
        np.array(["cookie", "customer", "device", "contact"], dtype=object),
        size=subjects,
        p=[0.55, 0.25, 0.12, 0.08],
    )
    serial = rng.integers(10**9, 5 * 10**9, subjects)
    ids = np.array(
        [
            f"GA1.2.{s}.17771{i % 100000:05d}"
            if k == "cookie"
            else f"C{s:010d}"
            if k == "customer"
            else f"dev-{s:x}"
            if k == "device"
            else f"wa:+9725{s % 10**8:08d}"
            for i, (k, s) in enumerate(zip(kinds.tolist(), serial.tolist(), strict=True))
        ],
        dtype=object,
    )
    subject = np.repeat(np.arange(subjects), 4)[:n]
    purpose = np.tile(np.array(PURPOSES, dtype=object), subjects)[:n]
    start = pd.Timestamp("2026-01-01", tz="UTC").value // 1000
    span = 300 * 86_400 * 10**6
    when = start + rng.integers(0, span, subjects)
    recorded = pd.to_datetime(when[subject], unit="us", utc=True).astype("datetime64[ns, UTC]")
    expires = recorded + pd.Timedelta(days=395)
    expires = expires.where(rng.random(n) < 0.85)
    linking = rng.random(subjects) < 0.7
    status = np.where(
        (purpose == "identity_linking") & ~linking[subject],
        "denied",
        np.where(rng.random(n) < 0.15, "denied", "granted"),
    ).astype(object)
    return pd.DataFrame(
        {
            "subject_type": pd.array(kinds[subject], dtype="string"),
            "subject_id": pd.array(ids[subject], dtype="string"),
            "purpose": pd.array(purpose, dtype="string"),
            "status": pd.array(status, dtype="string"),
            "recorded_at": recorded,
            "source": np.where(kinds[subject] == "cookie", "cmp", "crm").astype(object),
            "evidence": None,
            "expires_at": expires,
            "event_id": [f"ce_{x:016x}" for x in rng.integers(0, 2**63, n)],
        }
    )


@contextmanager
def fresh_store(store: str, pg_url: str) -> Iterator[Engine]:
    """A migrated, empty store: an SQLite file, or a new PostgreSQL database."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = open_store(f"sqlite:///{directory}/tether.db")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    name = f"tether_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_store(pg_url.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _server_cpu() -> float:
    """CPU seconds used so far by the local PostgreSQL server's processes (0 elsewhere)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _runqueue_wait() -> float:
    """Seconds this process's threads have waited for a CPU while runnable (schedstat)."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def _timed(fn: Any, *, server: bool = True) -> tuple[float, float, float, Any]:
    """Wall seconds, CPU seconds (this process, + the PostgreSQL server's processes with
    ``server``: all of them, so other users' queries meanwhile count too), seconds this
    process waited for a CPU, result.

    On a shared machine the wall time depends on what else runs; the CPU
    time is what the work costs (both sides run one after the other, so on
    an idle machine wall time is about the CPU time). The wait for a CPU
    says how much of the wall time the other work on the machine took.
    """
    started, cpu, served = time.perf_counter(), time.process_time(), _server_cpu()
    waited = _runqueue_wait()
    result = fn()
    used = time.process_time() - cpu + (_server_cpu() - served if server else 0.0)
    return time.perf_counter() - started, used, _runqueue_wait() - waited, result


def throughput(store: str, n: int, pg_url: str) -> list[dict[str, Any]]:
    frame = consent_rows(n)
    out = []
    with fresh_store(store, pg_url) as engine:
        ledger = Ledger(engine)
        for what in ("append", "again"):
            load = _load()
            seconds, cpu, waited, result = _timed(
                lambda: ledger.append_frame(frame), server=store == "postgresql"
            )
            assert result.invalid == 0 and result.conflicts == 0
            out.append(
                {
                    "store": store,
                    "events": n,
                    "what": what,
                    "seconds": round(seconds, 2),
                    "per_second": round(n / seconds),
                    "cpu_seconds": round(cpu, 2),
                    "per_cpu_second": round(n / cpu),
                    "waited_for_cpu": round(waited, 2),
                    "inserted": result.inserted,
                    "duplicates": result.duplicates,
                    "load": load,
                }
            )
        for what, kwargs in (
            ("read", {"columns": JUDGE, "ordered": False}),
            ("read ordered", {}),
        ):
            load = _load()
            seconds, cpu, waited, events = _timed(
                lambda kw=kwargs: ledger.events(as_of=AS_OF, **kw), server=store == "postgresql"
            )
            out.append(
                {
                    "store": store,
                    "events": n,
                    "what": what,
                    "seconds": round(seconds, 2),
                    "per_second": round(len(events) / seconds),
                    "cpu_seconds": round(cpu, 2),
                    "per_cpu_second": round(len(events) / cpu),
                    "waited_for_cpu": round(waited, 2),
                    "rows": len(events),
                    "load": load,
                }
            )
    return out


def consent_step(store: str, run_dir: Path, pg_url: str) -> list[dict[str, Any]]:
    """The nightly's consent step (signals, appends, read-back) on a run's own inputs."""
    columns = ["kind", "record_key", "ts", "subject_type", "subject_id", "tc_string", "gpc"]
    touchpoints = pd.read_parquet(run_dir / "touchpoints.parquet", columns=columns)
    imported = pd.read_parquet(run_dir / "consents.parquet")
    out = []
    with fresh_store(store, pg_url) as engine:
        ledger = Ledger(engine)
        for run in ("first run", "rerun"):
            load = _load()
            cpu, server = time.process_time(), _server_cpu()
            started = time.perf_counter()
            signals = session_signal_events(touchpoints)
            signalled = time.perf_counter()
            appended = [ledger.append_frame(imported), ledger.append_frame(signals.frame)]
            stored = time.perf_counter()
            events = ledger.events(as_of=AS_OF, columns=JUDGE, ordered=False)
            read = time.perf_counter()
            states = subject_states(events, as_of=AS_OF)
            may_link = linking_allowed(records=touchpoints, states=states)
            done = time.perf_counter()
            used = time.process_time() - cpu + _server_cpu() - server
            received = sum(a.received for a in appended)
            out.append(
                {
                    "store": store,
                    "what": f"consent step, {run}",
                    "touchpoints": len(touchpoints),
                    "events": received,
                    "inserted": sum(a.inserted for a in appended),
                    "signals_seconds": round(signalled - started, 2),
                    "append_seconds": round(stored - signalled, 2),
                    "append_per_second": round(received / (stored - signalled)),
                    "read_seconds": round(read - stored, 2),
                    "rows_read": len(events),
                    "judge_seconds": round(done - read, 2),
                    "may_link": int(may_link.sum()),
                    "seconds": round(done - started, 2),
                    "cpu_seconds": round(used, 2),
                    "load": load,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "TETHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--step", type=Path, help="a run directory: also time the consent step")
    args = parser.parse_args()
    results = []
    for store in args.stores:
        for n in args.sizes:
            for line in throughput(store, n, args.pg_url):
                print(json.dumps(line), flush=True)
                results.append(line)
        if args.step:
            for line in consent_step(store, args.step, args.pg_url):
                print(json.dumps(line), flush=True)
                results.append(line)
    print(
        "\n| store | events | what | seconds | events/s | CPU s | events per CPU-s "
        "| waited for a CPU s | load |"
        "\n|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        if "touchpoints" in r:
            continue
        print(
            f"| {r['store']} | {r['events']:,} | {r['what']} | {r['seconds']} "
            f"| **{r['per_second']:,}** | {r['cpu_seconds']} | {r['per_cpu_second']:,} "
            f"| {r['waited_for_cpu']} | {r['load']} |"
        )
    steps = [r for r in results if "touchpoints" in r]
    if steps:
        print(
            "\n| store | consent step | events | signals s | append s (events/s) "
            "| read-back s | judging s | total s | CPU s | load |"
            "\n|---|---|---|---|---|---|---|---|---|---|"
        )
        for r in steps:
            print(
                f"| {r['store']} | {r['what'].removeprefix('consent step, ')} | {r['events']:,} "
                f"| {r['signals_seconds']} | {r['append_seconds']} ({r['append_per_second']:,}) "
                f"| {r['read_seconds']} | {r['judge_seconds']} | **{r['seconds']}** "
                f"| {r['cpu_seconds']} | {r['load']} |"
            )


if __name__ == "__main__":
    main()
