"""Export benchmark: a 1 M-person segment to every destination, and hashing throughput.

    .venv/bin/python bench/bench_export.py --persons 1000000

Each destination runs in its own process (so peak RSS is that export's):
build the member table (emails half gmail/half other, E.164 phones, names
with accents, postcodes, dates of birth, a third with ad ids), plan the export
(holdout 10 %, consent gate with 90 % allowed), write files, payload batches
and the manifest. Prints one JSON line per destination and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiences.destinations import DESTINATIONS, destination  # noqa: E402
from audiences.export import plan_export, write_export  # noqa: E402

FIRST = ["jane", "zoë", "émile", "john", "maría", "oliver", "aïsha", "noah"]
LAST = ["doe", "pérez", "o'connor", "smith", "müller", "nguyen", "kowalski"]


def members(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"p{i:08d}" for i in range(n)], dtype=object)
    domains = np.where(rng.random(n) < 0.5, "gmail.com", "example.com")
    identifiers = pd.DataFrame(
        {
            "person_id": ids,
            "email": [f"user.{i}+news@{d}" for i, d in enumerate(domains)],
            "phone": [f"+4479{x:08d}" for x in rng.integers(0, 10**8, n)],
            "first_name": rng.choice(FIRST, n),
            "last_name": rng.choice(LAST, n),
            "postcode": rng.choice(["SW1A 1AA", "M1 1AE", "EH1 2NG"], n),
            "city": rng.choice(["London", "Manchester", "Edinburgh"], n),
            "country": "GB",
            "gender": rng.choice(["F", "M"], n),
            "date_of_birth": [f"19{50 + x % 50:02d}-0{1 + x % 9}-1{x % 9}" for x in range(n)],
            "ad_id": [
                f"{x:08x}-9c4d-4e7f-b8e2-17d3a1e69b25" if x % 3 == 0 else None for x in range(n)
            ],
        }
    )
    allowed = rng.random(n) < 0.9
    consent = pd.concat(
        [
            pd.DataFrame(
                {
                    "person_id": ids,
                    "purpose": purpose,
                    "allowed": allowed,
                    "status": np.where(allowed, "granted", "denied"),
                    "event_ids": [[f"E{i}"] for i in range(n)],
                }
            )
            for purpose in ("ad_targeting", "messaging_marketing")
        ],
        ignore_index=True,
    )
    return identifiers, consent


def one(name: str, n: int) -> dict[str, object]:
    identifiers, consent = members(n)
    dest = destination(name)
    started = time.perf_counter()
    plan = plan_export(
        segment="bench",
        members=identifiers["person_id"],
        destination=dest,
        consent=consent,
        identifiers=identifiers,
        holdout=0.1,
    )
    planned = time.perf_counter() - started
    fields = [r.field for r in dest.keys if r.field in identifiers]
    people = identifiers[identifiers["person_id"].isin(set(plan.rows["person_id"]))]
    sent = int(people[fields].notna().sum().sum())
    hashing = time.perf_counter()
    dest.rows(people)  # normalise + hash alone, on the exported persons
    hashing = time.perf_counter() - hashing
    with tempfile.TemporaryDirectory() as tmp:
        write_export(
            plan=plan,
            destination=dest,
            run_id="bench",
            export_id="ex_bench",
            previous=None,
            directory=Path(tmp) / name,
            holdout=0.1,
            as_of=datetime.now(UTC),
        )
    total = time.perf_counter() - started
    return {
        "destination": name,
        "persons": n,
        "exported": plan.exported,
        "identifiers": sent,
        "plan_seconds": round(planned, 2),
        "total_seconds": round(total, 2),
        "rows_seconds": round(hashing, 2),
        "identifiers_per_second": round(sent / hashing),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--destination", default=None, help="Run one destination in-process.")
    args = parser.parse_args()
    if args.destination:
        print(json.dumps(one(args.destination, args.persons)))
        return
    results = []
    for name in DESTINATIONS:
        out = subprocess.run(
            [sys.executable, __file__, "--persons", str(args.persons), "--destination", name],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    print(
        "\n| destination | exported | identifiers sent | normalise + hash | ids/s | total (files, payloads, manifest) | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['destination']} | {r['exported']:,} | {r['identifiers']:,} | {r['rows_seconds']} s "
            f"| {r['identifiers_per_second']:,} | {r['plan_seconds']} s | {r['total_seconds']} s "
            f"| {r['peak_rss_gb']} GB |"
        )


if __name__ == "__main__":
    main()
