"""Shared fixtures: an isolated environment, a small demo world, Hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own TETHER_HOME and never sees a developer's workspace."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "tether-home"))
    yield


def make_demo_dir(directory: Path, *, persons: int, seed: int) -> Path:
    """Write a demo world and the tether.toml that reads it into ``directory``."""
    from resolver import write_demo_world
    from resolver.demo_world import demo_config_toml

    write_demo_world(directory, persons=persons, seed=seed)
    (directory / "tether.toml").write_text(demo_config_toml(data_dir="."))
    return directory


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default-size demo world written once per test session (read-only for tests)."""
    return make_demo_dir(tmp_path_factory.mktemp("demo-world"), persons=2000, seed=42)
