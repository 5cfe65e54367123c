"""Exports on SQLite and PostgreSQL (issue #12): concurrent writers are serialised, the
minimum audience is lowered only by an admin key or the operator, and export directories
are stored relative to the workspace (old rows are still found)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from api.errors import ExportInProgress, Forbidden, http_status_for
from api.exports import export_lock, export_segment
from api.settings import TetherConfig
from api.storage import open_store
from api.tether import Tether
from api.tether.exports import Caller
from api.workspace import Workspace
from audiences.history import exports as exports_table

SEGMENT = "engaged_whatsapp_readers"
DESTINATION = "csv_internal"  # not among the segment's destinations: never exported by the run
COPIED = ("consent_events", "runs", "exports", "export_members")


@pytest.fixture
def tether(api_home: Path, api_config: TetherConfig, store_url: str) -> Iterator[Tether]:
    """The API world's workspace on a store of each kind holding the world's ledger and runs."""
    source = open_store(f"sqlite:///{api_home / 'tether.db'}", migrate=False)
    target = open_store(store_url, migrate=False)
    from consent.ledger import metadata

    with source.connect() as reading, target.begin() as writing:
        for name in COPIED:
            table = metadata.tables[name]
            writing.execute(table.delete())
            rows = [dict(r._mapping) for r in reading.execute(select(table))]
            if rows:
                writing.execute(table.insert(), rows)
    source.dispose()
    # the csv_internal minimum is configured high: going below it is an override
    destinations = {**api_config.destinations, DESTINATION: {"min_size": 100_000}}
    config = replace(api_config, destinations=destinations)
    yield Tether(workspace=Workspace.open(api_home), store=target, config=config)
    target.dispose()


def _history(store: Engine) -> list[dict[str, Any]]:
    with store.connect() as connection:
        rows = connection.execute(
            select(exports_table).where(
                exports_table.c.segment == SEGMENT, exports_table.c.destination == DESTINATION
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def test_concurrent_exports_of_one_segment_and_destination_are_serialised(
    tether: Tether,
) -> None:
    segment = tether.segments.get(SEGMENT)
    start = threading.Barrier(3)
    outcomes: list[object] = []

    def export() -> None:
        start.wait()
        try:
            done = tether.exports.create(segment=segment, destination=DESTINATION, min_size=1)
            outcomes.append((done.created, done.result.export_id))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            outcomes.append(exc)

    threads = [threading.Thread(target=export) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o[0] for o in outcomes if isinstance(o, tuple)) == [False, False, True]
    assert len({o[1] for o in outcomes if isinstance(o, tuple)}) == 1
    rows = _history(tether.store)
    assert len(rows) == 1
    run_id = tether.workspace.current_run_id()
    # stored relative to the workspace, so any working directory finds it
    assert rows[0]["directory"] == f"runs/{run_id}/exports/{SEGMENT}/{DESTINATION}"
    directory = tether.exports.directory(export_id=rows[0]["export_id"])
    assert directory == tether.workspace.home / rows[0]["directory"]
    assert (directory / "upload.csv").is_file()
    assert not list(directory.parent.glob("*.partial"))


def test_a_writer_waits_for_the_lock_then_gives_up_with_a_409(tether: Tether) -> None:
    """The lock holds across processes: another process holds it, this one gives up."""
    run_id = str(tether.workspace.current_run_id())
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from api.exports import export_lock\n"
        "from api.workspace import Workspace\n"
        "with export_lock(workspace=Workspace.open(Path(sys.argv[1])), run_id=sys.argv[2], "
        f"segment='{SEGMENT}', destination='{DESTINATION}', wait_seconds=0):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(tether.workspace.home), run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        try:
            with pytest.raises(ExportInProgress) as raised:
                export_segment(
                    workspace=tether.workspace,
                    store=tether.store,
                    segment=tether.segments.get(SEGMENT),
                    destination_name=DESTINATION,
                    policy=tether.policy,
                    min_size=1,
                    wait_seconds=0.3,
                )
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(timeout=30)
    assert http_status_for(raised.value) == 409
    assert SEGMENT in raised.value.message and "try again" in raised.value.message
    assert _history(tether.store) == []
    # released with the process: the next writer goes through
    with export_lock(
        workspace=tether.workspace,
        run_id=run_id,
        segment=SEGMENT,
        destination=DESTINATION,
        wait_seconds=0,
    ):
        pass
    # another run's export of the same segment (a nightly writing) never waits for it
    with (
        export_lock(
            workspace=tether.workspace,
            run_id=run_id,
            segment=SEGMENT,
            destination=DESTINATION,
            wait_seconds=0,
        ),
        export_lock(
            workspace=tether.workspace,
            run_id="next-run",
            segment=SEGMENT,
            destination=DESTINATION,
            wait_seconds=0,
        ),
    ):
        pass


def test_only_an_admin_key_or_the_operator_goes_below_the_configured_minimum(
    tether: Tether,
) -> None:
    segment = tether.segments.get(SEGMENT)
    exporter = Caller(kind="api_key", key_id="k-export", scopes=("export",))
    with pytest.raises(Forbidden) as refused:
        tether.exports.create(segment=segment, destination=DESTINATION, min_size=1, caller=exporter)
    assert "only an admin key" in refused.value.message
    assert refused.value.details()["configured_min_size"] == 100_000
    assert refused.value.details()["rule"] == "min_size_below_configured_needs_admin"
    assert _history(tether.store) == []
    # raising the minimum is anyone's right: refused for size, not for the key
    from audiences.errors import AudienceTooSmall

    with pytest.raises(AudienceTooSmall):
        tether.exports.create(
            segment=segment, destination=DESTINATION, min_size=200_000, caller=exporter
        )
    admin = Caller(kind="api_key", key_id="k-admin", scopes=("admin",))
    done = tether.exports.create(segment=segment, destination=DESTINATION, min_size=1, caller=admin)
    assert done.created
    assert done.result.manifest["min_size"] == {
        "configured": 100_000,
        "applied": 1,
        "override": {"by": "api_key", "key_id": "k-admin", "scopes": ["admin"]},
    }
    manifest = tether.exports.manifest(export_id=done.result.export_id)
    assert manifest["min_size"]["override"]["key_id"] == "k-admin"


def test_the_operator_may_lower_the_minimum_and_the_manifest_says_so(tether: Tether) -> None:
    done = tether.exports.create(
        segment=tether.segments.get(SEGMENT), destination=DESTINATION, min_size=1
    )
    assert done.result.manifest["min_size"] == {
        "configured": 100_000,
        "applied": 1,
        "override": {"by": "operator"},
    }


def test_rows_written_before_are_found_wherever_they_pointed(tether: Tether) -> None:
    done = tether.exports.create(
        segment=tether.segments.get(SEGMENT), destination=DESTINATION, min_size=1
    )
    export_id = done.result.export_id
    expected = tether.exports.directory(export_id=export_id)
    relative = f"runs/{tether.workspace.current_run_id()}/exports/{SEGMENT}/{DESTINATION}"
    for stored in (f"tether-data/{relative}", f"/srv/elsewhere/{relative}"):
        with tether.store.begin() as connection:
            connection.execute(
                update(exports_table)
                .where(exports_table.c.export_id == export_id)
                .values(directory=stored)
            )
        assert tether.exports.directory(export_id=export_id) == expected
        assert tether.exports.manifest(export_id=export_id)["export_id"] == export_id
