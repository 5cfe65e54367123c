"""A workspace holds personal data and secrets: only its owner may read it (issue #12).

The salt, the store, every run's tables and exports were world-readable under
the usual umask 022. Checked twice: the library (a run written in-process
under umask 022) and the CLI as a process.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from api.pipeline import run_link
from api.settings import load_config
from api.workspace import Workspace
from tests.conftest import make_demo_dir
from tests.e2e.test_cli import TETHER


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def loose(root: Path) -> list[str]:
    """Paths under ``root`` (and itself) that a group or other user may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            found.append(f"{path.relative_to(root)} {oct(stat.S_IMODE(path.stat().st_mode))}")
    return found


def test_a_run_written_by_the_library_is_the_owner_s_only(tmp_path: Path, umask_022: None) -> None:
    world = make_demo_dir(tmp_path / "world", persons=120, seed=3)
    home = tmp_path / "home"
    run_link(
        config=load_config(world / "tether.toml"),
        workspace=Workspace.open(home),
        retrain=True,
        as_of=datetime.fromisoformat("2026-11-01T00:00:00+00:00"),
    )
    assert (home / "tether.db").exists() and (home / "current").is_symlink()
    assert any((home / "runs").iterdir())
    assert loose(home) == []


def test_the_cli_creates_an_owner_only_workspace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TETHER_HOME": str(home)}
    created = subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", *TETHER, "keys", "create", "ci", "-s", "read"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert (home / "tether.db").exists()
    assert loose(home) == []


def test_an_existing_loose_workspace_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Workspace.open(home)
    os.chmod(home, 0o755)
    os.chmod(home / "workspace.json", 0o644)
    Workspace.open(home)
    assert loose(home) == []
