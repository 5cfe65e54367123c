"""`tether nightly` as a data engineer runs it: idempotent, killable, observable, PII-free logs.

The CLI runs in-process (``tests.clirunner``) where a process adds nothing;
the workspaces start with the session's model for this world
(``trained_models``) except where training is what is tested (the debug-log
test trains, in a real process). Interruptions are injected in-process at
every step boundary; one real SIGKILL of a subprocess lands at a random point.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from api.worlds.demo import WORLD_NOW
from tests.clirunner import tether_in_process as tether
from tests.conftest import TrainedModels
from tests.e2e.test_cli import TETHER

pytestmark = pytest.mark.e2e

AS_OF = WORLD_NOW.isoformat()
AUDIENCES = """
[audiences]
segments = "segments"

[destinations.google_customer_match]
min_size = 1

[destinations.meta_custom_audience]
min_size = 1

[destinations.csv_internal]
min_size = 1
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from audiences.segments import EXAMPLES

    out = tmp_path_factory.mktemp("nightly-world")
    tether("generate", "--out", str(out), "--persons", "400", "--seed", "11", home=out / "ws")
    (out / "segments").mkdir()
    for path in EXAMPLES.glob("*.yaml"):
        shutil.copyfile(path, out / "segments" / path.name)
    config = out / "tether.toml"
    config.write_text(config.read_text() + AUDIENCES)
    return out


@pytest.fixture
def home(world: Path, tmp_path: Path, trained_models: TrainedModels) -> Path:
    """A new workspace holding the model a first nightly on ``world`` would train."""
    trained_models.seed(world / "tether.toml", tmp_path / "ws")
    return tmp_path / "ws"


def nightly(world: Path, home: Path) -> dict[str, Any]:
    result = tether(
        "nightly", "-c", str(world / "tether.toml"), "--as-of", AS_OF, "--json", home=home
    )
    return dict(json.loads(result.stdout))


def outcome(home: Path) -> dict[str, Any]:
    """What a run produced that must not depend on interruptions: ids and memberships."""
    run_dir = (home / "current").resolve()
    graph = pd.read_parquet(run_dir / "identity_graph.parquet")
    members = {
        str(path.parent.relative_to(run_dir / "exports")): sorted(
            pd.read_parquet(path)["person_id"]
        )
        for path in sorted((run_dir / "exports").rglob("members.parquet"))
    }
    return {
        "ids": list(zip(graph["source"], graph["record_key"], graph["person_id"], strict=True)),
        "members": members,
    }


def test_nightly_runs_everything_and_reruns_idempotently(world: Path, home: Path) -> None:
    first = nightly(world, home)
    run_dir = Path(first["run_dir"])
    assert (home / "current").resolve() == run_dir.resolve()
    assert all(s["reconciles"] for s in first["sources"])
    written = [e for e in first["exports"] if "counts" in e]
    assert {e["destination"] for e in written} >= {"google_customer_match", "meta_custom_audience"}
    assert set(first["segments"]) == {
        "mortgage_readers_for_ads",
        "mortgage_readers_advisor_calls",
        "engaged_whatsapp_readers",
    }
    for name in ("report.html", "report_figures.json", "person_features.parquet"):
        assert (run_dir / name).exists(), name
    before = outcome(home)

    second = nightly(world, home)
    assert second["run_id"] != first["run_id"]
    assert outcome(home) == before, "same inputs: same ids, same memberships"
    for export in (e for e in second["exports"] if "counts" in e):
        assert export["counts"]["added"] == 0 and export["counts"]["removed"] == 0, export
    # ... and byte-identical export files (rows sorted by person id)
    exported = sorted((run_dir / "exports").rglob("upload.csv"))
    assert exported
    again = Path(second["run_dir"]) / "exports"
    for upload in exported:
        folder = upload.parent.relative_to(run_dir / "exports")
        for name in ("members.parquet", "upload.csv", "remove.csv"):
            assert (again / folder / name).read_bytes() == (upload.parent / name).read_bytes(), (
                folder,
                name,
            )

    report = tether("report", home=home).stdout.strip()
    assert report.endswith("report.html") and Path(report).exists()


def test_a_second_nightly_on_a_locked_workspace_is_refused(world: Path, tmp_path: Path) -> None:
    import fcntl

    home = tmp_path / "ws"
    home.mkdir()
    with (home / ".lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused = tether(
            "nightly", "-c", str(world / "tether.toml"), "--as-of", AS_OF, home=home, check=False
        )
    assert refused.returncode == 2
    assert "another run is in progress" in refused.stderr


STEPS = [
    "ingest:crm",
    "ingest:consents",
    "consent",
    "link:deterministic",
    "link:cluster",
    "features",
    "segment:engaged_whatsapp_readers",
    "segment:mortgage_readers_for_ads",
]


class Killed(BaseException):
    """Stands for SIGKILL in-process: no ``except Exception`` of the run sees it."""


class KillAfter:
    """A progress sink that 'kills' the run as soon as ``step`` has finished."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.finished: list[str] = []

    def start(self, step: str, *, total: int | None = None) -> None:
        return None

    def update(self, step: str, *, inc: int = 1) -> None:
        return None

    def finish(self, step: str, *, rows: int | None = None) -> None:
        self.finished.append(step)
        if step == self.step:
            raise Killed(step)


class KillAround:
    """A step hook that 'kills' the run as ``step`` begins, or once it has returned."""

    def __init__(self, step: str, *, after: bool) -> None:
        self.step, self.when_done = step, after

    def before(self, step: str) -> None:
        if step == self.step and not self.when_done:
            raise Killed(step)

    def after(self, step: str, result: object) -> None:
        if step == self.step and self.when_done:
            raise Killed(step)


def _nightly_in_process(world: Path, home: Path, progress: Any, *, hook: Any = None) -> None:
    """The nightly that ``tether nightly`` runs; ``progress`` kills it between sub-steps,
    ``hook`` (``api.pipeline.StepHook``) around whole steps."""
    from api.pipeline import NULL_HOOK, run_link
    from api.settings import load_config
    from api.workspace import Workspace
    from audiences.segments import load_segments

    config = load_config(world / "tether.toml")
    assert config.segments is not None
    run_link(
        config=config,
        workspace=Workspace.open(home),
        as_of=WORLD_NOW,
        segments=load_segments(config.segments),
        progress=progress,
        hook=hook or NULL_HOOK,
    )


def _assert_current_intact(home: Path, current: Path, where: object) -> None:
    """``current`` is still ``current``: a whole published run, readable."""
    assert (home / "current").resolve() == current, where
    assert not current.name.endswith(".partial"), where
    pd.read_parquet(current / "identity_graph.parquet")
    json.loads((current / "report.json").read_text())
    assert (current / "report.html").exists(), where


def test_a_run_killed_at_any_step_boundary_leaves_the_previous_run_current(
    world: Path, home: Path
) -> None:
    """In-process: the run dies (no cleanup but ``finally``) right after each step, and
    while it publishes; the previous run stays current, and a rerun gives the same ids."""

    nightly(world, home)
    baseline_run = current = (home / "current").resolve()
    baseline = outcome(home)

    for step in STEPS:
        progress = KillAfter(step)
        with pytest.raises(Killed):
            _nightly_in_process(world, home, progress)
        assert progress.finished[-1] == step
        _assert_current_intact(home, current, step)
        assert list((home / "runs").glob("*.partial")), "the killed run stays partial"

    # killed while publishing: before the rename, and after `current` switched
    with pytest.raises(Killed):
        _nightly_in_process(world, home, KillAfter("-"), hook=KillAround("publish", after=False))
    _assert_current_intact(home, current, "before publishing")

    with pytest.raises(Killed):
        _nightly_in_process(world, home, KillAfter("-"), hook=KillAround("publish", after=True))
    now = (home / "current").resolve()
    assert now != current, "the switch happened before the kill: the new run is current"
    _assert_current_intact(home, now, "after publishing")

    final = nightly(world, home)
    assert Path(final["run_dir"]).resolve() != now
    assert outcome(home) == baseline, "after the kills, a run gives what an uninterrupted one did"
    assert baseline_run.exists()
    assert not list((home / "runs").glob("*.partial"))


def _kill_when(world: Path, home: Path, *, after_line: str, delay: float) -> tuple[bool, str]:
    """Start a nightly; SIGKILL it ``delay`` s after it printed ``after_line``.

    Returns whether it was killed (False if it finished first) and what it printed.
    """
    env = {**os.environ, "TETHER_HOME": str(home)}
    args = [*TETHER, "nightly", "-c", str(world / "tether.toml"), "--as-of", AS_OF]
    killed = False
    seen: list[str] = []
    with subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if line.startswith(after_line + " "):
                time.sleep(delay)
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    killed = True
                break
        if not killed:
            seen += process.stderr.readlines()
        process.wait(timeout=600)
        assert killed or process.returncode == 0, "".join(seen)[-2000:]
    return killed, "".join(seen)


def test_a_real_sigkill_at_a_random_point_leaves_the_previous_run_current(
    world: Path, home: Path
) -> None:
    """One real process, killed by the kernel somewhere in its run (the seed is in the
    messages); the in-process kills above cover every step boundary."""
    nightly(world, home)
    current = (home / "current").resolve()
    baseline = outcome(home)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    after_line, delay = rng.choice(STEPS), rng.uniform(0.0, 1.0)
    where = {"seed": seed, "after": after_line, "delay": round(delay, 3)}

    killed, printed = _kill_when(world, home, after_line=after_line, delay=delay)
    assert after_line in printed, where
    now = (home / "current").resolve()
    if not killed:  # it finished first: a complete run became current, as it should
        assert now != current, where
    elif now != current:
        # The signal landed after the run had switched `current` (the last step)
        # but before the process exited: what is current must be the whole run.
        assert (now / "report.html").exists() and (now / "report.json").exists(), where
    _assert_current_intact(home, now, where)

    tether("nightly", "-c", str(world / "tether.toml"), "--as-of", AS_OF, home=home)
    assert outcome(home) == baseline, where
    assert not list((home / "runs").glob("*.partial")), where


def test_debug_logs_hold_no_personal_data(world: Path, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    env = {**os.environ, "TETHER_HOME": str(home)}
    result = subprocess.run(
        [*TETHER, "--log-level", "debug", "nightly", "-c", str(world / "tether.toml"),
         "--as-of", AS_OF],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    )  # fmt: skip
    logs = result.stderr + result.stdout
    assert "DEBUG" in logs or "INFO" in logs, "debug logging was on"
    crm = pd.read_csv(world / "crm.csv", dtype=str)
    contacts = pd.read_csv(world / "messaging.csv", dtype=str)
    needles: set[str] = set()
    needles |= set(crm["email"].dropna().str.strip().str.lower())
    needles |= {p for p in crm["phone"].dropna().str.replace(r"\D", "", regex=True) if len(p) >= 9}
    names = crm.dropna(subset=["first_name", "last_name"])
    needles |= {
        f"{first.strip()} {last.strip()}".lower()
        for first, last in zip(names["first_name"], names["last_name"], strict=True)
    }
    needles |= set(contacts.get("display_name", pd.Series(dtype=str)).dropna().str.lower())
    lowered = logs.lower()
    digits = "".join(ch for ch in logs if ch.isdigit() or ch == "\n")
    leaks = [n for n in needles if n and (n in lowered or (n.isdigit() and n in digits))]
    assert not leaks, f"{len(leaks)} personal values in the logs, e.g. {leaks[:1]!r}"[:80]
    assert len(needles) > 500


def test_exit_codes(world: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[linking]\nthreshold = 'high'\n")
    assert tether("nightly", "-c", str(bad), home=tmp_path / "ws", check=False).returncode == 2
    assert sys.executable  # the CLI runs under this interpreter


CHARTS = {
    "id-churn",
    "link-decisions",
    "match-weight",
    "cluster-sizes",
    "reconciliation",
    "quarantine-reasons",
    "guard-rails",
    "blocking",
    "consent-coverage",
    "segment-sizes",
    "message-reads",
    "next-best-actions",
    "actions-by-segment",
    "export-sizes",
    "step-timings",
}


def test_the_report_renders_in_headless_chromium(world: Path, home: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for this test (.ci/run installs it)"
    nightly(world, home)
    page = Path(tether("report", home=home).stdout.strip())
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    import re

    figures = set(re.findall(r'<figure id="([a-z-]+)" class="chart">', dom))
    assert figures == CHARTS
    assert dom.count("<svg") == len(CHARTS)
    assert dom.count('class="bar"') > 20, "the charts have bars"
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console[:3]
    figures_json = json.loads((page.parent / "report_figures.json").read_text())
    assert figures_json["persons"] > 0 and figures_json["match_probability"]
    blocking = figures_json["blocking"]
    assert blocking["rules"] and blocking["comparisons"] == sum(
        r["scored"] for r in blocking["rules"]
    )
    assert 0 < blocking["comparisons_per_record"] <= blocking["comparison_bound_per_record"]
