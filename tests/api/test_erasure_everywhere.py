"""Erasure reaches every copy, at once (issue #12).

Once an erasure is stored, the person is in no preview, export or identify
answer of the current run (or of a run being written), and their rows are
gone from every kept run's files, exports included; the audit says what was
removed where, as counts. On SQLite and PostgreSQL, through the ``Tether``
object, the HTTP app and the CLI. Retention (``prune_runs``) bounds the runs
kept.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api import Tether
from api.exports import export_segment
from api.settings import TetherConfig, load_config, workspace_reference
from api.workspace import PII_FILES, Workspace
from tests.api.conftest import Headers, assert_error
from tests.clirunner import tether_in_process as tether


def _config(home: Path) -> TetherConfig:
    """The demo config with csv_internal taking ``analytics`` (a default grant): every member
    goes out on an empty ledger too, so the test does not depend on the store's events."""
    config = load_config(home / "demo" / "tether.toml")
    return dataclasses.replace(
        config,
        destinations={
            **config.destinations,
            "csv_internal": {"purposes": ["analytics"], "min_size": 1},
        },
    )


def _person_with_email(tether: Tether) -> tuple[str, str, str]:
    """A segment of the current run and one of its members with an email no other person
    holds: (segment, person, address). The segment is the first, by name, with at least two
    such members, the member the first by address: person ids are drawn anew by each
    workspace, so choosing by id chose another person each run (a family's shared email,
    which identify rightly leaves unanswered, one run in a few)."""
    run = tether.run
    assert run is not None
    ids = run.table("person_identifiers")
    mailed = ids[ids["email"].notna()]
    holders = mailed.groupby("email")["person_id"].nunique()
    mailed = mailed[mailed["email"].map(holders).eq(1)]
    for name in sorted(tether.segments.all()):
        members = set(tether.segments.members(name=name).astype(str))
        found = mailed[mailed["person_id"].astype(str).isin(members)]
        if len(found) >= 2:
            row = found.sort_values(["email", "person_id"]).iloc[0]
            return name, str(row["person_id"]), str(row["email"])
    raise AssertionError("the demo world has a segment with members that have an email")


def _texts(root: Path) -> str:
    """Every text cell of every Parquet file and every text file under ``root``."""
    parts: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for column in frame.columns:
                parts += [str(v) for v in frame[column].dropna().tolist()]
        elif path.suffix in (".csv", ".json", ".jsonl"):
            parts.append(path.read_text())
    return "\n".join(parts)


def _second_run(home: Path) -> str:
    """An older kept run: a copy of the current run under an earlier id (same files)."""
    workspace = Workspace(home)
    current = workspace.current_run_id()
    assert current is not None
    older = "20200101T000000-" + current[-6:]
    shutil.copytree(workspace.run_dir(current), workspace.run_dir(older))
    return older


def test_erased_person_is_in_no_preview_export_or_identify_and_no_kept_run(
    api_home: Path, store_url: str
) -> None:
    older = _second_run(api_home)
    with Tether.open(api_home, config=_config(api_home), database_url=store_url) as tether:
        segment, person, email = _person_with_email(tether)
        before = tether.segments.preview(name=segment, destinations=["csv_internal"])
        assert email in _texts(api_home / "runs")
        assert tether.identify(email=email).person_id == person

        receipt = tether.consent.erase(subject_type="person", subject_id=person)

        assert person not in set(tether.segments.members(name=segment).astype(str))
        after = tether.segments.preview(name=segment, destinations=["csv_internal"], person=person)
        assert after["size"] == before["size"] - 1
        assert after["person"]["in_segment"] is False
        assert (
            after["destinations"]["csv_internal"]["eligible"]
            == before["destinations"]["csv_internal"]["eligible"] - 1
        )
        sizes = {r["name"]: r["size"] for r in tether.segments.rows()}
        assert sizes[segment] == before["size"] - 1
        assert tether.segments.overlap(names=[segment]).loc[segment, segment] == after["size"]
        created = tether.exports.create(
            segment=tether.segments.get(segment), destination="csv_internal"
        )
        members = pd.read_parquet(created.result.directory / "members.parquet")
        assert len(members) and person not in set(members["person_id"])
        assert email not in (created.result.directory / "upload.csv").read_text()
        assert tether.identify(email=email).person_id is None

        # every kept run, the older one included, no longer holds the person anywhere
        assert email not in _texts(api_home / "runs")
        for run_id in (older, tether.workspace.current_run_id()):
            graph = pd.read_parquet(api_home / "runs" / str(run_id) / "identity_graph.parquet")
            touch = pd.read_parquet(api_home / "runs" / str(run_id) / "touchpoints.parquet")
            assert person not in set(graph["person_id"]) and len(graph) == len(touch)
            for table in ("person_contacts", "person_actions", "person_identifiers"):
                path = api_home / "runs" / str(run_id) / f"{table}.parquet"
                if path.exists():  # messaging addresses and actions go too (issue #15)
                    assert person not in set(pd.read_parquet(path)["person_id"]), table

        # the audit: per kept run, rows removed per file; ids and counts, never PII
        redactions = tether.consent.redactions(erasure_id=receipt.erasure_id)
        assert {r.run_id for r in redactions} == {older, tether.workspace.current_run_id()}
        for redaction in redactions:
            # her records, and any record elsewhere carrying one of her identifiers
            removed = redaction.removed["identity_graph.parquet"]
            assert removed >= receipt.records
            assert redaction.removed["touchpoints.parquet"] == removed
            assert redaction.removed["person_identifiers.parquet"] >= 1
            assert all(isinstance(n, int) and n > 0 for n in redaction.removed.values())
        audit = json.dumps([r.as_dict() for r in redactions]) + json.dumps(receipt.as_dict())
        assert email not in audit and "@" not in audit
        # done once: applying again finds nothing left to do
        assert tether.consent.apply_erasures() == []


def test_a_run_being_written_when_the_erasure_lands_exports_without_the_person(
    api_home: Path, store_url: str
) -> None:
    with Tether.open(api_home, config=_config(api_home), database_url=store_url) as tether:
        segment, person, email = _person_with_email(tether)
        workspace = tether.workspace
        run = tether.run
        assert run is not None
        # a nightly in progress: its run started, its tables written, not yet published
        run_id = workspace.new_run_id()
        partial = workspace.partial_dir(run_id)
        shutil.copytree(run.directory, partial, ignore=shutil.ignore_patterns("exports"))
        tables = dataclasses.replace(
            run.run_tables(),
            run_id=run_id,
            run_dir=partial,
            published_dir=workspace.run_dir(run_id),
        )
        assert person in set(tables.features["person_id"])

        tether.consent.erase(subject_type="person", subject_id=person)  # lands mid-run

        result, created = export_segment(
            workspace=workspace,
            store=tether.store,
            segment=tether.segments.get(segment),
            destination_name="csv_internal",
            policy=tether.policy,
            overrides={"purposes": ["analytics"], "min_size": 1},
            tables=tables,
            consent=tables.consent,
        )
        assert created
        assert person not in set(pd.read_parquet(result.directory / "members.parquet")["person_id"])
        assert email not in (result.directory / "upload.csv").read_text()

        # published: the nightly's closing apply_erasures() redacts the run's own files
        workspace.complete_run(run_id)
        assert email in _texts(workspace.run_dir(run_id))  # written before the erasure landed
        done = tether.consent.apply_erasures()
        assert [r.run_id for r in done] == [run_id]
        assert email not in _texts(workspace.run_dir(run_id))


def test_erasure_over_http_reaches_preview_export_download_and_identify(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    older = _second_run(api_home)
    with Tether.open(api_home, config=load_config(api_home / "demo" / "tether.toml")) as tether:
        segment, person, email = _person_with_email(tether)
    read, write = headers("read"), headers("consent:write")
    exporter = headers("read", "export")
    exports = client.get("/v1/exports", headers=read).json()
    listed = exports["data"]
    assert listed, "the nightly wrote exports"
    before = client.get(f"/v1/segments/{segment}/preview", headers=read).json()
    assert (
        client.post("/v1/identify", json={"email": email}, headers=read).json()["person_id"]
        == person
    )

    response = client.delete(f"/v1/persons/{person}", headers=write)
    assert response.status_code == 202
    assert "@" not in response.text

    after = client.get(f"/v1/segments/{segment}/preview", headers=read).json()
    assert after["size"] == before["size"] - 1
    assert (
        client.post("/v1/identify", json={"email": email}, headers=read).json()["person_id"] is None
    )
    assert_error(client.get(f"/v1/persons/{person}", headers=read), 404, "not_found")
    # the nightly's exports (already written before the erasure) no longer serve the person
    for export in listed:
        for name in client.get(f"/v1/exports/{export['export_id']}", headers=read).json()["files"]:
            body = client.get(  # a key per file: downloads are rate-limited per key
                f"/v1/exports/{export['export_id']}/files/{name}", headers=headers("read", "export")
            )
            assert body.status_code == 200, body.text
            assert email not in body.text
    created = client.post(
        "/v1/exports", json={"segment": segment, "destination": "csv_internal"}, headers=exporter
    )
    if created.status_code in (200, 201):
        assert email not in json.dumps(created.json())
    assert email not in _texts(api_home / "runs" / older)


def test_erase_from_the_cli_then_preview_and_export_leave_the_person_out(
    api_home: Path,
) -> None:
    config = api_home / "demo" / "tether.toml"
    with Tether.open(api_home, config=config) as opened:
        segment, person, email = _person_with_email(opened)
    erased = json.loads(tether("erase", "person", person, "--json", home=api_home).stdout)
    assert erased["person_id"] == person and erased["redactions"]
    assert sum(r["rows"] for r in erased["redactions"]) > 0 and "@" not in json.dumps(erased)
    preview = json.loads(
        tether(
            "segments", "preview", segment, "--person", person, "--config", str(config), "--json",
            home=api_home,
        ).stdout
    )  # fmt: skip
    assert preview["person"]["in_segment"] is False
    assert email not in _texts(api_home / "runs")


def _fake_run(workspace: Workspace, run_id: str) -> None:
    directory = workspace.run_dir(run_id)
    (directory / "exports").mkdir(parents=True)
    (directory / "report.json").write_text("{}")


def test_prune_runs_keeps_the_newest_and_the_current(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    ids = [f"2026110{d}T000000-abcdef" for d in range(1, 10)]
    for run_id in ids:
        _fake_run(workspace, run_id)
    (workspace.home / "current").symlink_to(Path("runs") / ids[0])  # an old run is current
    workspace.partial_dir("20261110T000000-abcdef").mkdir()  # a run in progress
    removed = workspace.prune_runs(keep=3)
    assert removed == ids[1:6]
    assert workspace.kept_runs() == [ids[0], *ids[6:]]
    assert workspace.partial_dir("20261110T000000-abcdef").is_dir()
    assert workspace.prune_runs(keep=3) == []
    half_pruned = workspace.home / "runs" / f".{ids[1]}.pruning"  # a prune that was cut short
    _fake_run(workspace, half_pruned.name)
    assert half_pruned.name not in workspace.kept_runs()
    assert workspace.prune_runs() == []  # the default keeps seven
    with pytest.raises(Exception, match="at least 1"):
        workspace.prune_runs(keep=0)


def test_workspace_keep_runs_is_declared_once(tmp_path: Path) -> None:
    from api.settings import EXAMPLE_CONFIG
    from resolver.errors import ConfigError

    path = tmp_path / "tether.toml"
    path.write_text(EXAMPLE_CONFIG)
    assert load_config(path).workspace.keep_runs == 7
    path.write_text(EXAMPLE_CONFIG.replace("keep_runs = 7", "keep_runs = 3"))
    assert load_config(path).workspace.keep_runs == 3
    for bad in ("keep_runs = 0", "keep_runs = true", 'keep_runs = "7"', "keep = 7"):
        path.write_text(EXAMPLE_CONFIG.replace("keep_runs = 7", bad))
        with pytest.raises(ConfigError, match="workspace"):
            load_config(path)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert workspace_reference() in docs


def test_every_file_that_can_hold_pii_is_listed_and_documented() -> None:
    consent_doc = (Path(__file__).resolve().parents[2] / "docs" / "consent.md").read_text()
    for name in PII_FILES:
        assert f"`{name}`" in consent_doc, name


def test_a_table_keyed_by_person_is_redacted_even_when_not_listed(tmp_path: Path) -> None:
    from resolver.suppression import Suppression

    workspace = Workspace.open(tmp_path / "ws")
    _fake_run(workspace, "20261101T000000-abcdef")
    run = workspace.run_dir("20261101T000000-abcdef")
    pd.DataFrame({"person_id": ["p1", "p2", "p1"], "x": [1, 2, 3]}).to_parquet(
        run / "person_something_new.parquet"
    )
    pd.DataFrame({"person_id": ["p1"], "number": [1]}).to_parquet(run / "person_registry.parquet")
    removed = workspace.redact_run(
        "20261101T000000-abcdef", persons={"p1"}, suppression=Suppression(key="k"), region="GB"
    )
    assert removed == {"person_something_new.parquet": 2}
    assert pd.read_parquet(run / "person_something_new.parquet")["person_id"].tolist() == ["p2"]
    assert len(pd.read_parquet(run / "person_registry.parquet")) == 1  # the retired id stays


def test_an_export_whose_destination_cannot_write_again_is_scrubbed(tmp_path: Path) -> None:
    from resolver.suppression import Suppression

    workspace = Workspace.open(tmp_path / "ws")
    _fake_run(workspace, "20261101T000000-abcdef")
    run = workspace.run_dir("20261101T000000-abcdef")
    export = run / "exports" / "seg" / "a_channel_gone_since"
    export.mkdir(parents=True)
    pd.DataFrame(
        {"person_id": ["p1", "p2"], "phone": ["+447700900001", "+447700900002"]}
    ).to_parquet(export / "members.parquet")
    for name in ("upload.csv", "add.csv"):
        (export / name).write_text("phone\n+447700900001\n+447700900002\n")
    (export / "payload_add.jsonl").write_text('{"to": "+447700900001"}\n{"to": "+447700900002"}\n')
    (export / "manifest.json").write_text(
        json.dumps(
            {
                "export_id": "ex_1",
                "destination": "a_channel_gone_since",
                "counts": {"exported": 2, "added": 2},
                "consent_lineage": {"p1": ["E1"], "p2": ["E2"]},
                "files": {"upload.csv": "", "add.csv": "", "payload_add.jsonl": ""},
            }
        )
    )
    removed = workspace.redact_run(
        "20261101T000000-abcdef", persons={"p1"}, suppression=Suppression(key="k"), region="GB"
    )
    assert removed == {"exports/seg/a_channel_gone_since/": 1}
    for name in ("upload.csv", "add.csv", "payload_add.jsonl"):
        text = (export / name).read_text()
        assert "+447700900001" not in text and "+447700900002" in text, name
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["consent_lineage"] == {"p2": ["E2"]} and manifest["counts"]["exported"] == 1
    assert manifest["redacted"] == 1 and all(manifest["files"].values())
