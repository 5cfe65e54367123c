"""One segment that fails never stops a nightly: it is skipped, named, and the exit says so.

A segment can pass validation and still fail to evaluate (a definition
stored by an older version, a rule the run's data cannot answer). The
nightly reports it, exports every other segment and publishes; ``tether
nightly`` exits 1 so that a cron job sees it (issue #12).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from api.pipeline import run_link
from api.settings import load_config
from api.workspace import Workspace
from api.worlds.demo import WORLD_NOW
from audiences.segments import Segment, load_segments

#: Validation refuses such a number in a file or over HTTP; an older store may hold one.
BROKEN = Segment(
    name="broken_window",
    rule={"engagement": {"channel": "whatsapp", "within_days": 10**40, "gte": 0.5}},
    destinations=("csv_internal",),
)


def test_a_failing_segment_is_skipped_and_the_others_export(
    api_world: Path, tmp_path: Path
) -> None:
    config = load_config(api_world / "demo" / "tether.toml")  # the demo with example segments
    assert config.segments is not None
    segments = {**load_segments(config.segments), BROKEN.name: BROKEN}
    ws = Workspace.open(tmp_path / "ws")
    shutil.copyfile(Workspace.open(api_world).model_path, ws.model_path)

    summary = run_link(config=config, workspace=ws, as_of=WORLD_NOW, segments=segments)

    assert ws.current_run_id() == summary.run_id, "the run still publishes"
    assert set(summary.segments_failed) == {BROKEN.name}
    assert BROKEN.name not in summary.segments
    others = set(segments) - {BROKEN.name}
    assert set(summary.segments) == others, "every other segment was evaluated"
    assert summary.written, "the world is large enough for exports"
    assert {e.segment for e in summary.written} == {
        name for name in others if segments[name].destinations
    } - {e.segment for e in summary.refused}
    failed = [e for e in summary.exports if e.failed is not None]
    assert [(e.segment, e.destination) for e in failed] == [(BROKEN.name, "csv_internal")]
    report = json.loads((ws.current_dir() / "report.json").read_text())
    assert report["segments_failed"] == summary.segments_failed
    assert not (ws.current_dir() / "exports" / BROKEN.name).exists()
    assert "broken_window" in (ws.current_dir() / "report.html").read_text()


def test_a_stored_segment_that_no_longer_validates_fails_alone_and_the_nightly_exits_1(
    api_world: Path, tmp_path: Path
) -> None:
    """A definition an older version stored (a 40-digit number) is skipped and named: the
    listing still answers, the other segments export, the run publishes, the exit is 1."""
    from datetime import UTC, datetime

    from api import Tether
    from api.storage import open_store
    from audiences.definitions import segment_definitions
    from tests.clirunner import tether_in_process

    home = tmp_path / "home"
    shutil.copytree(api_world, home, symlinks=True)
    config = home / "demo" / "tether.toml"
    engine = open_store(f"sqlite:///{home / 'tether.db'}")
    now = datetime.now(UTC)
    old = {"name": "old_bad_number", "rule": {"feature": "age", "gt": 10**40}}
    with engine.begin() as connection:
        connection.execute(
            segment_definitions.insert(),
            [{"name": "old_bad_number", "definition": old, "version": 1,
              "created_at": now, "updated_at": now}],
        )  # fmt: skip
    engine.dispose()

    with Tether.open(home, config=config) as tether:
        assert "old_bad_number" not in tether.segments.all(), "the listing skips it"
        assert tether.segments.unusable() == {"old_bad_number": "segment_invalid"}

    ran = tether_in_process(
        "nightly", "-c", str(config), "--as-of", WORLD_NOW.isoformat(), "--json",
        home=home, check=False,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["segments_failed"] == {"old_bad_number": "segment_invalid"}
    assert summary["segments"], "the other segments were evaluated"
    assert any("counts" in e for e in summary["exports"]), "and exported"
    assert (home / "current").resolve().name == summary["run_id"], "the run published"
    assert "old_bad_number" in ran.stderr and "Traceback" not in ran.stderr
