"""The demo world (``api.worlds.demo``): seeded, labelled, and the same bytes for the same seed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from api.worlds.demo import generate_demo_world, iter_demo_world_chunks


def test_same_seed_same_world_and_labels_cover_every_record():
    a = generate_demo_world(persons=120, seed=5)
    b = generate_demo_world(persons=120, seed=5)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    keys = {
        ("crm", "customer_id"),
        ("web", "session_id"),
        ("app", "device_id"),
        ("messaging", "contact_id"),
    }
    labelled = set(zip(a.labels["source"], a.labels["record_key"], strict=True))
    for source, key in keys:
        assert {(source, k) for k in a.tables[source][key]} <= labelled
    assert len(labelled) == a.touchpoint_count


def test_chunks_never_share_an_email_or_phone_between_people():
    """Across chunks, an email or phone belongs to one true person (hard cases aside)."""
    # 20,000 people in chunks of 500: enough that per-chunk uniqueness collides.
    chunks = list(iter_demo_world_chunks(persons=20_000, seed=1, chunk_persons=500))
    crm = pd.concat([c.tables["crm"] for c in chunks])
    labels = pd.concat([c.labels for c in chunks])
    hard = {tid for c in chunks for ids in c.hard_cases.values() for tid in ids}
    crm = crm.merge(labels[labels["source"] == "crm"], left_on="customer_id", right_on="record_key")
    crm = crm[~crm["true_id"].isin(hard)]
    email = crm.assign(e=crm["email"].str.strip().str.lower()).groupby("e")["true_id"].nunique()
    assert (email == 1).all()
    digits = crm["phone"].str.replace(r"\D", "", regex=True).str[-9:]
    phone = crm.assign(p=digits).dropna(subset=["p"]).groupby("p")["true_id"].nunique()
    assert (phone == 1).all()
    assert crm["customer_id"].is_unique


def test_config_without_activity_lists_only_the_linked_sources(tmp_path):
    from api.settings import load_config
    from api.worlds.demo import LINKED_SOURCES, demo_config_toml, write_demo_world

    write_demo_world(tmp_path, persons=30, seed=2, activity=False)
    (tmp_path / "tether.toml").write_text(demo_config_toml(data_dir=".", activity=False))
    config = load_config(tmp_path / "tether.toml")
    assert [s.name for s in config.sources] == list(LINKED_SOURCES)
    assert all(s.path.exists() for s in config.sources)


# Digests of each file of small worlds as written before the generator moved out of
# the resolver (issue #13): the move, and any refactoring after it, must not change a
# byte. When a change to the world is intended (or a Faker / phonenumbers upgrade
# changes it), the failure names the files that changed: say so in the CHANGELOG and
# update their digests here.
ONE_FILE_PER_SOURCE = {
    "app_devices.csv": "7e9b79b582c8",
    "consents.csv": "a08ea24834e4",
    "crm.csv": "18c1af41f9ca",
    "events.csv": "13cfa2f1a6ce",  # issue #15: receipts off, replies, clicks, opt-ins
    "hard_cases.csv": "861cf3a4246a",
    "interactions.csv": "991a1e04a126",  # issue #15: advisor meetings signed / not_signed
    "labels.csv": "a33d91bceeac",
    "messaging.csv": "65128e7a8d58",
    "web_sessions.csv": "5b31f949bbb0",
}
CHUNKED = {
    "app_devices": "618864c2f069",
    "consents": "9d451819d33f",
    "crm": "f86ef25f6ee4",
    "events": "cc9347b53b9c",  # issue #15
    "hard_cases.csv": "861cf3a4246a",
    "interactions": "568d8a05a162",  # issue #15: advisor meetings signed / not_signed
    "labels.csv": "5c0d2459064c",
    "messaging": "e7ce127e472d",
    "web_sessions": "a74632eb4c77",
}
WITHOUT_ACTIVITY = {
    "app_devices.csv": "b1351e1bb686",
    "crm.csv": "7636cff7fdc8",
    "hard_cases.csv": "3012b2a24d8f",
    "labels.csv": "3bf5fb2c66a4",
    "messaging.csv": "f2bf273d1b73",
    "web_sessions.csv": "bf753826af86",
}
GOLDEN = [
    pytest.param({"persons": 60, "seed": 3}, ONE_FILE_PER_SOURCE, id="one-file-per-source"),
    pytest.param({"persons": 60, "seed": 3, "chunk_persons": 25}, CHUNKED, id="chunked"),
    pytest.param({"persons": 12, "seed": 8, "activity": False}, WITHOUT_ACTIVITY, id="no-activity"),
]


def _digests(directory: Path) -> dict[str, str]:
    """File (or folder of part files) -> a digest of its names and bytes."""
    out = {}
    for entry in sorted(directory.iterdir()):
        digest = hashlib.sha256()
        for path in sorted([entry] if entry.is_file() else entry.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(directory).as_posix().encode())
                digest.update(path.read_bytes())
        out[entry.name] = digest.hexdigest()[:12]
    return out


@pytest.mark.parametrize(("options", "expected"), GOLDEN)
def test_the_same_seed_writes_the_same_bytes_as_before_the_move(
    tmp_path: Path, options: dict[str, Any], expected: dict[str, str]
) -> None:
    from api.worlds.demo import write_demo_world

    write_demo_world(tmp_path, **options)
    assert _digests(tmp_path) == expected


def test_the_config_is_the_same_text_as_before_the_move() -> None:
    from api.worlds.demo import demo_config_toml

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    assert digest(demo_config_toml(data_dir=".")) == "51b1a9157b284572"
    chunked = demo_config_toml(data_dir="d", fmt="parquet", chunked=True, activity=False)
    assert digest(chunked) == "e04d8bf00a7cc4c7"
