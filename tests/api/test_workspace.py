from __future__ import annotations

from pathlib import Path

import pytest

from api.errors import exit_code_for
from api.pipeline import RunFailedError, run_link
from api.settings import load_config
from api.workspace import RunLockedError, Workspace
from tests.conftest import TrainedModels, make_demo_dir


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_dir(tmp_path_factory.mktemp("w"), persons=300, seed=3)


class FailAt:
    """A step hook that fails the run as ``step`` begins (the pipeline's fault injection)."""

    def __init__(self, step: str) -> None:
        self.step = step

    def before(self, step: str) -> None:
        if step == self.step:
            raise RuntimeError("disk on fire")

    def after(self, step: str, result: object) -> None:
        return None


def test_a_failed_run_leaves_the_previous_run_current(
    world: Path, tmp_path: Path, trained_models: TrainedModels
) -> None:
    trained_models.seed(world / "tether.toml", tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    config = load_config(world / "tether.toml")
    first = run_link(config=config, workspace=ws)
    assert ws.current_run_id() == first.run_id

    with pytest.raises(RunFailedError) as info:
        run_link(config=config, workspace=ws, hook=FailAt("link"))
    error = info.value
    assert error.step == "link" and error.current == first.run_id
    assert f"run {first.run_id} is still current" in error.message
    assert exit_code_for(error) == 1
    assert ws.current_run_id() == first.run_id
    assert ws.read_current("identity_graph") is not None
    # the half-written run is left as .partial and discarded by the next run
    assert list((ws.home / "runs").glob("*.partial"))
    second = run_link(config=config, workspace=ws)
    assert not list((ws.home / "runs").glob("*.partial"))
    assert ws.current_run_id() == second.run_id


def test_the_lock_refuses_a_second_run(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    with ws.lock(), pytest.raises(RunLockedError, match="another run"), ws.lock():
        pass


def test_salt_is_created_once(tmp_path):
    a = Workspace.open(tmp_path / "ws").salt
    assert Workspace.open(tmp_path / "ws").salt == a and len(a) == 32
