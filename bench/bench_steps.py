"""Benchmark: the person ids, person consent and features steps alone, at N touchpoints.

    .venv/bin/python bench/bench_steps.py --touchpoints 100000 1000000
    .venv/bin/python bench/bench_steps.py --touchpoints 100000 --baseline --check
    .venv/bin/python bench/bench_steps.py --touchpoints 10000000 --repeat 1

Builds (once, cached under bench/data/steps-N-SEED/) the inputs these steps see
in a nightly run, the way ingest, the ledger and the previous run hand them
over, then times each step in its own process (so its peak memory is its
own) and prints a table:

* ``consent``: ``subject_states`` of the whole ledger and ``linking_allowed``
  per record (the rest of the consent step, the ledger's own writes and reads,
  is not timed here);
* ``person_ids``: ``assign_person_ids`` against the previous run and its
  registry, ``build_identity_graph`` and ``build_persons``;
* ``person_consent``: ``person_subjects`` and ``person_consent``;
* ``features``: ``build_person_tables``.

The inputs: persons with heavy-tailed record counts (a Pareto tail: most
have a few records, some thousands) and heavy-tailed names; touchpoints with
all of ingest's columns (``ts`` as Timestamp objects, NaT for contacts);
a previous run whose clusters differ from this run's by a few per cent
(merged, split, new and retired persons) and a registry with a long history
(merged ids, some merged into ids that merge again now; retired ids); a
ledger of about half an event per record (grants, denials, withdrawals,
expiring grants, GPC opt-outs, customers' later grants, same-instant ties);
two activity events per record and interactions for customers.

``--baseline`` also times the implementations these steps had before
(kept as the references of the equivalence tests), ``--check`` compares the
outputs of both on the same inputs. Seconds are the median of ``--repeat``
runs (wall and CPU); peak RSS is the step's process maximum while it runs,
inputs included (the peak of unpickling them is forgotten first), and "over
inputs" is that peak less the process's size once its inputs are loaded.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.worlds.demo import WORLD_NOW  # noqa: E402
from audiences.features import build_person_tables  # noqa: E402
from consent.effective import (  # noqa: E402
    linking_allowed,
    person_consent,
    person_subjects,
    subject_states,
)
from consent.purposes import PURPOSES  # noqa: E402
from resolver.graph import build_identity_graph, build_persons  # noqa: E402
from resolver.person_ids import _encode_numbers, assign_person_ids  # noqa: E402
from resolver.sources import TOUCHPOINT_COLUMNS  # noqa: E402

STEPS = ("consent", "person_ids", "person_consent", "features")
RECORDS_PER_PERSON = 5.0
CATEGORIES = ["mortgage", "loans", "cards", "savings", "pensions", "insurance", "investments"]
SALT = "bench-salt"


# --- inputs ---------------------------------------------------------------------------------


def _strings(prefix: str, numbers: np.ndarray, width: int = 10) -> np.ndarray:
    """``prefix`` + zero-padded numbers, as an object array of str."""
    text = pd.Series(numbers, dtype=np.int64).astype(str).str.zfill(width)
    return (prefix + text).to_numpy(object)


def _hexes(numbers: np.ndarray, salt: int) -> np.ndarray:
    """Random-looking 32-hex-digit ids (cookies, devices), one per number."""
    mixed = (numbers.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)) & (
        np.uint64(2**63 - 1)
    )
    text = pd.Series(mixed.astype(np.int64)).map("{:016x}".format)
    return (text.str[:8] + "-" + text.str[8:12] + "-" + text.str[12:] + f"-{salt}").to_numpy(object)


def _only(mask: np.ndarray, values: object) -> np.ndarray:
    """``values`` where ``mask``, else ``None`` (an object column with gaps)."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask] if isinstance(values, np.ndarray) else values
    return out


def _pick(rng: np.random.Generator, n: int, values: list[str], zipf: float) -> np.ndarray:
    """``n`` values drawn with Zipf-like weights (rank ** -zipf): heavy-tailed names."""
    weights = np.arange(1, len(values) + 1, dtype=float) ** -zipf
    index = rng.choice(len(values), size=n, p=weights / weights.sum())
    return np.asarray(values, dtype=object)[index]


def _times(rng: np.random.Generator, n: int, *, days: int) -> pd.Series:
    seconds = rng.integers(0, days * 86_400, size=n)
    return pd.Series(pd.Timestamp(WORLD_NOW) - pd.to_timedelta(seconds, unit="s"))


def build_inputs(touchpoints: int, seed: int) -> dict[str, Any]:
    """Everything the four steps read, for about ``touchpoints`` records."""
    rng = np.random.default_rng(seed)
    n_persons = max(10, int(touchpoints / RECORDS_PER_PERSON))
    # records per person: one each, the rest by heavy-tailed weights (Pareto, alpha 1.3, capped)
    weight = np.minimum(rng.pareto(1.3, n_persons) + 1.0, 100.0)
    extra = rng.choice(n_persons, size=max(0, touchpoints - n_persons), p=weight / weight.sum())
    owner = np.concatenate([np.arange(n_persons), extra])
    is_customer_person = rng.random(n_persons) < 0.45
    first_of_person = np.zeros(len(owner), dtype=bool)
    first_of_person[:n_persons] = True
    kind = np.where(
        first_of_person & is_customer_person[owner],
        0,
        rng.choice([1, 2, 3], size=len(owner), p=[0.8, 0.1, 0.1]),
    )
    order = np.lexsort((owner, kind))  # ingest order: customers, sessions, devices, contacts
    owner, kind = owner[order], kind[order]
    n = len(owner)
    kinds = np.array(["customers", "sessions", "devices", "contacts"], dtype=object)
    sources = np.array(["crm", "web", "app", "messaging"], dtype=object)
    subject_types = np.array(["customer", "cookie", "device", "contact"], dtype=object)
    customer_of = _strings("C", np.arange(n_persons))
    cookie = _hexes(owner * 4 + rng.integers(0, 4, n), 1)
    device = _hexes(owner * 2 + rng.integers(0, 2, n), 2)
    contact = _strings("M", owner * 2 + rng.integers(0, 2, n))
    subject_id = np.select(
        [kind == 0, kind == 1, kind == 2], [customer_of[owner], cookie, device], contact
    )
    logged_in = (kind == 1) & is_customer_person[owner] & (rng.random(n) < 0.25)
    customer_id = _only((kind == 0) | logged_in, customer_of[owner])
    mailbox = np.where(
        rng.random(n_persons) < 0.01, rng.integers(0, n_persons, n_persons), np.arange(n_persons)
    )
    email_of = _strings("u", mailbox, 8) + "@example.com"
    has_email = (
        (kind == 0) | (logged_in & (rng.random(n) < 0.6)) | ((kind == 3) & (rng.random(n) < 0.05))
    )
    phone_of = _strings("+4477", np.arange(n_persons), 8)
    has_phone = ((kind == 0) & (rng.random(n) < 0.85)) | ((kind == 3) & (rng.random(n) < 0.6))
    firsts = [f"given{i}" for i in range(3_000)]
    lasts = [f"family{i}" for i in range(20_000)]
    named = (kind == 0) | ((kind == 3) & (rng.random(n) < 0.9))
    ts = _times(rng, n, days=720).astype(object)
    ts[kind == 3] = pd.NaT  # contacts have no time, and ingest hands ts over as objects
    frame: dict[str, Any] = dict.fromkeys(TOUCHPOINT_COLUMNS)
    frame.update(
        {
            "record_id": np.arange(n, dtype=np.int64),
            "source": sources[kind],
            "kind": kinds[kind],
            "record_key": _strings("R", np.arange(n)),
            "ts": ts.to_numpy(object),
            "subject_type": subject_types[kind],
            "subject_id": subject_id,
            "customer_id": customer_id,
            "cookie_id": _only(kind == 1, cookie),
            "device_id": _only(kind == 2, device),
            "ad_id": _only(kind == 2, _hexes(owner, 3)),
            "channel": _only(kind == 3, "whatsapp"),
            "email": _only(has_email, email_of[owner]),
            "phone": _only(has_phone, phone_of[owner]),
            "first_name": _only(named, _pick(rng, n, firsts, 1.1)),
            "last_name": _only(named, _pick(rng, n, lasts, 1.0)),
            "dob": np.where(
                (kind == 0) & (rng.random(n) < 0.95),
                _strings("19", rng.integers(40, 99, n), 2)
                + "-0"
                + (rng.integers(1, 10, n)).astype(str)
                + "-1"
                + (rng.integers(0, 10, n)).astype(str),
                None,
            ),
            "gender": _only(kind == 0, rng.choice(np.array(["F", "M"], dtype=object), n)),
            "postcode": _only(kind == 0, _strings("TR", rng.integers(0, 5000, n), 4)),
            "city": _only(kind == 0, _pick(rng, n, [f"city{i}" for i in range(500)], 1.0)),
            "country": _only(kind == 0, "GB"),
            "gpc": _only(kind == 1, False),
        }
    )
    tp = pd.DataFrame(
        {
            c: frame[c] if frame[c] is not None else np.full(n, None, dtype=object)
            for c in TOUCHPOINT_COLUMNS
        }
    )

    # this run's clusters (one per person), and the previous run: a few per cent different
    cluster = owner.astype(np.int64)
    previous_cluster = cluster.copy()
    sizes = np.bincount(owner, minlength=n_persons)
    multi = np.flatnonzero(sizes >= 2)
    merged_now = rng.choice(multi, size=int(0.03 * n_persons), replace=False)  # two before
    halves = np.isin(owner, merged_now) & (rng.random(n) < 0.4)
    previous_cluster[halves] = n_persons + owner[halves]
    pairs = rng.choice(n_persons, size=(int(0.02 * n_persons), 2), replace=False)  # one before
    remap = np.arange(2 * n_persons)
    remap[pairs[:, 1]] = pairs[:, 0]
    previous_cluster = remap[previous_cluster]
    in_previous = rng.random(n) >= 0.02  # 2 % of records are new this run
    new_persons = rng.choice(n_persons, size=int(0.01 * n_persons), replace=False)
    in_previous &= ~np.isin(owner, new_persons)  # and 1 % of persons wholly new
    gone = int(0.01 * n)  # records (and persons) of the previous run that are gone
    previous_records = pd.DataFrame(
        {
            "source": np.concatenate(
                [tp["source"].to_numpy(object)[in_previous], np.full(gone, "web", dtype=object)]
            ),
            "record_key": np.concatenate(
                [tp["record_key"].to_numpy(object)[in_previous], _strings("G", np.arange(gone))]
            ),
            "cluster": np.concatenate(
                [previous_cluster[in_previous], 3 * n_persons + np.arange(gone) // 3]
            ),
        }
    )
    # the previous run's ids, over a registry with a long history: older ids merged or retired
    labels, previous_number = np.unique(previous_records["cluster"].to_numpy(), return_inverse=True)
    history = len(labels) // 2
    numbers = rng.permutation(history + len(labels)) + 1
    active_numbers = np.sort(numbers[: len(labels)])
    old_numbers = numbers[len(labels) :]
    active_ids = np.asarray(_encode_numbers(SALT, active_numbers), dtype=object)
    old_ids = np.asarray(_encode_numbers(SALT, old_numbers), dtype=object)
    merged_old = rng.random(history) < 0.6
    registry = (
        pd.DataFrame(
            {
                "person_id": np.concatenate([active_ids, old_ids]),
                "number": np.concatenate([active_numbers, old_numbers]).astype(np.int64),
                "status": np.concatenate(
                    [
                        np.full(len(labels), "active", dtype=object),
                        np.where(merged_old, "merged", "retired").astype(object),
                    ]
                ),
                "merged_into": np.concatenate(
                    [
                        np.full(len(labels), None, dtype=object),
                        _only(merged_old, active_ids[rng.integers(0, len(labels), history)]),
                    ]
                ),
                "first_run": "r0",
                "last_run": np.concatenate(
                    [np.full(len(labels), "r9", dtype=object), np.full(history, "r5", dtype=object)]
                ),
            }
        )
        .sort_values("number")
        .reset_index(drop=True)
    )
    previous = pd.DataFrame(
        {
            "source": previous_records["source"],
            "record_key": previous_records["record_key"],
            "person_id": active_ids[previous_number.reshape(-1)],
        }
    )

    # the ledger: about half an event per record
    subjects = pd.concat(
        [
            tp[["subject_type", "subject_id"]],
            pd.DataFrame(
                {"subject_type": "customer", "subject_id": customer_of[is_customer_person]}
            ),
        ]
    ).drop_duplicates(ignore_index=True)
    answering = subjects.sample(
        frac=min(1.0, 0.5 * n / max(len(subjects), 1) / 2.2), random_state=seed
    )
    per_subject = rng.integers(1, 4, len(answering))
    rows = np.repeat(np.arange(len(answering)), per_subject)
    m = len(rows)
    status = rng.choice(
        np.array(["granted", "denied", "withdrawn"], dtype=object), m, p=[0.65, 0.3, 0.05]
    )
    recorded = _times(rng, m, days=720)
    recorded[rng.random(m) < 0.05] = pd.Timestamp(WORLD_NOW) - pd.Timedelta(days=3)  # ties
    expires = recorded + pd.Timedelta(days=365)
    expires = expires.where((status == "granted") & (rng.random(m) >= 0.5))
    purpose = rng.choice(np.array(PURPOSES, dtype=object), m)
    source = rng.choice(np.array(["consents", "cmp", "gpc"], dtype=object), m, p=[0.87, 0.1, 0.03])
    is_gpc = source == "gpc"
    status[is_gpc], purpose[is_gpc] = "denied", "ad_targeting"
    ledger = pd.DataFrame(
        {
            "event_id": _strings("E", rng.permutation(m)),
            "subject_type": answering["subject_type"].to_numpy(object)[rows],
            "subject_id": answering["subject_id"].to_numpy(object)[rows],
            "purpose": purpose,
            "status": status,
            "recorded_at": recorded.dt.tz_convert("UTC"),
            "expires_at": expires.dt.tz_convert("UTC"),
            "source": source,
            "evidence": None,
            "ingested_at": pd.Timestamp(WORLD_NOW),
        }
    ).sort_values(["recorded_at", "event_id"], ignore_index=True)

    # activity: two events per record, interactions for customers
    n_events = 2 * n
    by_record = rng.integers(0, n, n_events)
    foreign = rng.random(n_events) < 0.02  # subjects no record has
    page = tp["kind"].to_numpy(object)[by_record] != "contacts"
    event_type = np.where(
        page,
        "page_view",
        rng.choice(
            np.array(["message_sent", "message_delivered", "message_read"], dtype=object), n_events
        ),
    )
    events = pd.DataFrame(
        {
            "subject_type": np.where(
                foreign, "cookie", tp["subject_type"].to_numpy(object)[by_record]
            ),
            "subject_id": np.where(foreign, "nobody", tp["subject_id"].to_numpy(object)[by_record]),
            "ts": _times(rng, n_events, days=120).dt.tz_convert("UTC"),
            "event_type": event_type,
            "category": _only(page, _pick(rng, n_events, CATEGORIES, 0.8)),
            "url": None,
            "value": None,
            "channel": np.where(
                page,
                "web",
                rng.choice(
                    np.array(["whatsapp", "telegram", "viber", "messenger"], dtype=object), n_events
                ),
            ),
            "source": "events",
        }
    ).astype({"subject_type": "string", "subject_id": "string", "event_type": "string"})
    customers = customer_of[is_customer_person]
    n_inter = int(0.6 * len(customers))
    interactions = pd.DataFrame(
        {
            "customer_id": customers[rng.integers(0, len(customers), n_inter)],
            "ts": _times(rng, n_inter, days=365).dt.tz_convert("UTC"),
            "kind": rng.choice(
                np.array(["call", "advisor_meeting", "purchase"], dtype=object), n_inter
            ),
            "outcome": rng.choice(
                np.array(["completed", "no_show", "follow_up", None], dtype=object), n_inter
            ),
            "value": None,
            "source": "interactions",
        }
    ).astype({"customer_id": "string", "kind": "string"})
    return {
        "touchpoints": tp,
        "cluster": cluster,
        "previous": previous,
        "registry": registry,
        "ledger": ledger,
        "events": events,
        "interactions": interactions,
        "as_of": WORLD_NOW,
    }


# --- the steps ------------------------------------------------------------------------------


def _implementations(baseline: bool) -> dict[str, Callable[..., Any]]:
    if not baseline:
        return {
            "subject_states": subject_states,
            "linking_allowed": linking_allowed,
            "assign_person_ids": assign_person_ids,
            "build_identity_graph": build_identity_graph,
            "build_persons": build_persons,
            "person_subjects": person_subjects,
            "person_consent": person_consent,
            "build_person_tables": build_person_tables,
        }
    # the implementations as they were, kept by the equivalence tests
    from tests.audiences.test_features_equivalence import reference_build_person_tables
    from tests.consent.test_effective_oracle import (
        reference_linking_allowed,
        reference_person_consent,
        reference_person_subjects,
        reference_subject_states,
    )
    from tests.resolver.test_graph_oracle import (
        reference_build_identity_graph,
        reference_build_persons,
    )
    from tests.resolver.test_person_ids_oracle import reference_assign_person_ids

    return {
        "subject_states": reference_subject_states,
        "linking_allowed": reference_linking_allowed,
        "assign_person_ids": reference_assign_person_ids,
        "build_identity_graph": reference_build_identity_graph,
        "build_persons": reference_build_persons,
        "person_subjects": reference_person_subjects,
        "person_consent": reference_person_consent,
        "build_person_tables": reference_build_person_tables,
    }


def run_step(step: str, data: dict[str, Any], f: dict[str, Callable[..., Any]]) -> Any:
    """One step as the nightly batch runs it (without writing its Parquet files)."""
    as_of = data["as_of"]
    if step == "consent":
        states = f["subject_states"](data["ledger"], as_of=as_of)
        return states, f["linking_allowed"](records=data["touchpoints"], states=states)
    if step == "person_ids":
        tp = data["touchpoints"]
        ids = f["assign_person_ids"](
            records=tp[["source", "record_key"]].assign(cluster=data["cluster"]),
            salt=SALT,
            run_id="r10",
            previous=data["previous"],
            registry=data["registry"],
        )
        graph = f["build_identity_graph"](
            tp,
            cluster=data["cluster"],
            person_of_cluster=ids.person_of_cluster,
            may_link=data["may_link"],
        )
        return ids, graph, f["build_persons"](graph)
    if step == "person_consent":
        graph = data["graph"]
        subjects = f["person_subjects"](
            records=graph[["person_id", "subject_type", "subject_id", "customer_id"]].assign(
                email=data["email"]
            )
        )
        return f["person_consent"](subjects=subjects, states=data["states"], as_of=as_of)
    if step == "features":
        return f["build_person_tables"](
            graph=data["graph"],
            touchpoints=data["touchpoints"],
            events=data["events"],
            interactions=data["interactions"],
            consent=data["consent"],
            as_of=as_of,
        )
    raise ValueError(step)


def _same(got: Any, want: Any, where: str = "") -> None:
    """Equal outputs: frames exactly (dtypes and order), arrays, dicts, dataclasses."""
    if isinstance(want, pd.DataFrame):
        lists = [
            c
            for c in want.columns
            if want[c].dtype.kind == "O" and want[c].map(lambda v: isinstance(v, list)).any()
        ]
        for column in lists:
            assert got[column].tolist() == want[column].tolist(), f"{where}.{column}"
        pd.testing.assert_frame_equal(
            got.drop(columns=lists),
            want.drop(columns=lists),
            check_exact=True,
            obj=where or "frame",
        )
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and np.array_equal(got, want), where
    elif isinstance(want, tuple):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif hasattr(want, "__dataclass_fields__") or hasattr(want, "__slots__"):
        for name in (
            "person_of_cluster",
            "registry",
            "churn",
            "features",
            "activity",
            "identifiers",
        ):
            if hasattr(want, name):
                _same(getattr(got, name), getattr(want, name), f"{where}.{name}")
    elif isinstance(want, dict):
        assert list(got.items()) == list(want.items()), where
    else:
        assert got == want, where


def _status_gb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from ``/proc/self/status``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _reset_peak() -> None:
    """Forget the peak so far (unpickling the inputs peaks above what they keep)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:  # not Linux, or not allowed: the peak then includes loading
        pass


def child(step: str, inputs: Path, *, baseline: bool, repeat: int, check: bool) -> None:
    """Time one step in this process; print one JSON line."""
    with (inputs / f"{step}.pkl").open("rb") as fh:
        data = pickle.load(fh)
    _reset_peak()
    loaded = _status_gb("VmRSS")
    impl = _implementations(baseline)
    wall, cpu = [], []
    result = None
    for _ in range(repeat):
        result = None
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run_step(step, data, impl)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    peak = _status_gb("VmHWM")
    checked = None
    if check:
        other = run_step(step, data, _implementations(not baseline))
        _same(result, other) if baseline else _same(other, result)
        checked = True
    print(
        json.dumps(
            {
                "step": step,
                "impl": "before" if baseline else "after",
                "wall_s": round(statistics.median(wall), 2),
                "cpu_s": round(statistics.median(cpu), 2),
                "runs": [round(w, 2) for w in wall],
                "peak_rss_gb": round(peak, 2),
                "over_inputs_gb": round(peak - loaded, 2),
                "equal_outputs": checked,
            }
        ),
        flush=True,
    )


def prepare(touchpoints: int, seed: int) -> Path:
    """Build and cache each step's inputs (later steps' inputs made by the current code)."""
    out = ROOT / "bench" / "data" / f"steps-{touchpoints}-{seed}"
    if (out / "features.pkl").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    world = build_inputs(touchpoints, seed)
    tp, as_of = world["touchpoints"], world["as_of"]
    states, may_link = run_step("consent", world, _implementations(False))
    ids, graph, _ = run_step("person_ids", {**world, "may_link": may_link}, _implementations(False))
    consent = run_step(
        "person_consent",
        {"graph": graph, "email": tp["email"].to_numpy(), "states": states, "as_of": as_of},
        _implementations(False),
    )
    steps = {
        "consent": {"ledger": world["ledger"], "touchpoints": tp, "as_of": as_of},
        "person_ids": {
            key: world[key] for key in ("touchpoints", "cluster", "previous", "registry", "as_of")
        }
        | {"may_link": may_link},
        "person_consent": {
            "graph": graph,
            "email": tp["email"].to_numpy(),
            "states": states,
            "as_of": as_of,
        },
        "features": {
            "graph": graph,
            "touchpoints": tp,
            "events": world["events"],
            "interactions": world["interactions"],
            "consent": consent,
            "as_of": as_of,
        },
    }
    for step, data in steps.items():
        with (out / f"{step}.pkl").open("wb") as fh:
            pickle.dump(data, fh, protocol=5)
    summary = {
        "touchpoints": len(tp),
        "persons": int(graph["person_id"].nunique()),
        "largest_person": int(graph["person_id"].value_counts().iloc[0]),
        "ledger_events": len(world["ledger"]),
        "subject_states": len(states),
        "registry_rows": len(world["registry"]),
        "previous_records": len(world["previous"]),
        "churn": ids.churn,
        "activity_events": len(world["events"]),
        "interactions": len(world["interactions"]),
        "seconds_to_build": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--touchpoints", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", action="store_true", help="also time the old code")
    parser.add_argument("--check", action="store_true", help="compare old and new outputs")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--before", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.inputs, baseline=args.before, repeat=args.repeat, check=args.check)
        return
    rows = []
    for touchpoints in args.touchpoints:
        inputs = prepare(touchpoints, args.seed)
        summary = json.loads((inputs / "summary.json").read_text())
        print(json.dumps({"inputs": str(inputs), **summary}), file=sys.stderr, flush=True)
        for step in args.steps:
            for before in [True, False] if args.baseline else [False]:
                command = [
                    sys.executable, __file__, "--child", step, "--inputs", str(inputs),
                    "--repeat", str(1 if before else args.repeat),
                ] + (["--before"] if before else []) + (["--check"] if args.check and not before else [])  # fmt: skip
                out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
                row = {
                    "touchpoints": summary["touchpoints"],
                    **json.loads(out.stdout.splitlines()[-1]),
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        "| touchpoints | step | code | wall s (median) | CPU s | peak RSS GB | over inputs GB | outputs equal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        equal = {True: "yes", None: ""}.get(r["equal_outputs"], "NO")
        print(
            f"| {r['touchpoints']:,} | {r['step']} | {r['impl']} | {r['wall_s']} | {r['cpu_s']} "
            f"| {r['peak_rss_gb']} | {r['over_inputs_gb']} | {equal} |"
        )


if __name__ == "__main__":
    main()
