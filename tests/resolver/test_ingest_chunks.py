"""Ingest reads a source a chunk at a time (a file, or a Parquet file's row groups): the
result is the same whatever the chunks, and a key used in an earlier chunk is a duplicate
(issue #14)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import resolver.sources as sources_module
from api.settings import load_config
from api.worlds.harder import harder_config_toml, write_harder_world
from resolver import SourceConfig, ingest_sources
from resolver.sources import IngestResult


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A harder world in Parquet parts, with rows that break the rules across the parts:
    a session and a customer repeating a key of an earlier part, a session without a
    time, and a part of several row groups."""
    directory = tmp_path_factory.mktemp("chunks")
    write_harder_world(directory / "data", persons=600, seed=7, fmt="parquet", chunk_persons=200)
    web = sorted((directory / "data" / "web_sessions").glob("*.parquet"))
    first, last = pd.read_parquet(web[0]), pd.read_parquet(web[-1])
    broken = first.iloc[[3, 5]].copy()
    broken.loc[broken.index[1], "started_at"] = None  # quarantined: its key stays free
    again = first.iloc[[5]].copy()  # the key of the row above: used here, first
    pd.concat([last, broken, again], ignore_index=True).to_parquet(web[-1], index=False)
    crm = sorted((directory / "data" / "crm").glob("*.parquet"))
    rows = pd.read_parquet(crm[1])
    doubled = pd.concat([rows, pd.read_parquet(crm[0]).iloc[[0]]], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(doubled, preserve_index=False), crm[1], row_group_size=40)
    (directory / "tether.toml").write_text(
        harder_config_toml(data_dir="data", fmt="parquet", chunked=True)
    )
    return directory


def _ingest(world: Path) -> IngestResult:
    config = load_config(world / "tether.toml")
    return ingest_sources(sources=config.sources, default_region=config.linking.default_region)


def test_the_result_is_the_same_whatever_the_chunks(world: Path, monkeypatch) -> None:
    whole = _ingest(world)  # a file at a time
    monkeypatch.setattr(sources_module, "CHUNK_ROWS", 37)
    crm = sorted((world / "data" / "crm").glob("*.parquet"))
    assert pq.ParquetFile(crm[1]).metadata.num_row_groups > 1  # chunks inside a file too
    small = _ingest(world)
    pd.testing.assert_frame_equal(small.touchpoints, whole.touchpoints)
    assert small.counts == whole.counts
    assert sorted(small.activity) == sorted(whole.activity)
    for kind, rows in whole.activity.items():
        pd.testing.assert_frame_equal(small.activity[kind], rows)
    assert list(small.quarantine) == list(whole.quarantine)
    for source, rows in whole.quarantine.items():
        pd.testing.assert_frame_equal(small.quarantine[source], rows)


def test_a_key_kept_in_an_earlier_chunk_is_a_duplicate(world: Path) -> None:
    result = _ingest(world)
    counts = {c.source: c for c in result.counts}
    web = sorted((world / "data" / "web_sessions").glob("*.parquet"))
    first = pd.read_parquet(web[0])
    rows_before_last = sum(len(pd.read_parquet(p)) for p in web[:-1])
    last = len(pd.read_parquet(web[-1]))
    q = result.quarantine["web"]
    # the last part ends with: the copy of row 3, the copy of row 5 without a time, row 5
    assert q[["_row", "_reason"]].values.tolist() == [
        [rows_before_last + last - 2, "duplicate_key:session_id"],
        [rows_before_last + last - 1, "missing_required:started_at"],
        [rows_before_last + last, "duplicate_key:session_id"],
    ]
    assert q["session_id"].tolist() == first["session_id"].iloc[[3, 5, 5]].tolist()
    assert counts["web"].reasons == {
        "duplicate_key:session_id": 2,
        "missing_required:started_at": 1,
    }
    assert counts["web"].reconciles
    assert counts["crm"].reasons == {"duplicate_key:customer_id": 1}
    keys = result.touchpoints["record_key"]
    assert not keys[result.touchpoints["source"] == "web"].duplicated().any()


def test_integer_ids_read_as_their_digits_in_every_chunk(tmp_path: Path, monkeypatch) -> None:
    """A Parquet id column of integers reads ``123`` in every chunk: pandas would give
    ``123.0`` in a chunk with a missing value and ``123`` in one without."""
    folder = tmp_path / "web"
    folder.mkdir()
    rows = pd.DataFrame(
        {
            "session_id": [1, 2, 3, 4],
            "started_at": ["2026-10-01T10:00:00Z"] * 4,
            "cookie_id": ["c1", "c2", "c3", "c4"],
            "customer_id": pd.array([101, None, 103, 104], dtype="Int64"),
        }
    )
    pq.write_table(
        pa.Table.from_pandas(rows, preserve_index=False), folder / "a.parquet", row_group_size=2
    )
    monkeypatch.setattr(sources_module, "CHUNK_ROWS", 2)
    (result,) = [ingest_sources(sources=[SourceConfig(name="web", kind="sessions", path=folder)])]
    assert result.touchpoints["record_key"].tolist() == ["1", "2", "3", "4"]
    assert result.touchpoints["customer_id"].tolist() == ["101", None, "103", "104"]
