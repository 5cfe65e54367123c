"""Fuzz the TC and GPP decoders: N strings, no exception but their own error types.

    .venv/bin/python bench/fuzz_consent.py --strings 1000000

Strings are seeded: a third random base64url text, a third truncations of the
published vector strings, a third vector strings with characters replaced.
Prints how many decoded, how many were refused, and any other exception
(there must be none).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consent.gpp import GPPStringInvalid, decode_gpp_string  # noqa: E402
from consent.tcf import TCStringInvalid, decode_tc_string  # noqa: E402

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
REFERENCE = ROOT / "tests" / "data"


def strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seeds = [v["tc_string"] for v in json.loads((REFERENCE / "tcf-vectors.json").read_text())]
    seeds += [v["gpp_string"] for v in json.loads((REFERENCE / "gpp-vectors.json").read_text())]
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append("".join(rng.choices(ALPHABET + ".~", k=rng.randint(0, 120))))
        else:
            base = rng.choice(seeds)
            if kind == 1:
                out.append(base[: rng.randint(0, len(base))])
            else:
                chars = list(base)
                for _ in range(rng.randint(1, 4)):
                    chars[rng.randrange(len(chars))] = rng.choice(ALPHABET + ".~")
                out.append("".join(chars))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for text in strings(args.strings, args.seed):
        for name, decode, own in (
            ("tcf", decode_tc_string, TCStringInvalid),
            ("gpp", decode_gpp_string, GPPStringInvalid),
        ):
            try:
                decode(text)
                outcomes[f"{name}:decoded"] += 1
            except own:
                outcomes[f"{name}:refused"] += 1
            except Exception as exc:  # noqa: BLE001 - counting what must not happen
                outcomes[f"{name}:UNEXPECTED {type(exc).__name__}"] += 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"strings": args.strings, "seconds": round(elapsed, 1), **outcomes}, indent=2))
    if any("UNEXPECTED" in key for key in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
