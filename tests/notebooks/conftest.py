"""A fresh demo workspace for the notebooks: a small world, the nightly run once through ``Tether``."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Small enough to keep the notebooks quick, large enough for every chart to have data.
PERSONS = 300


@pytest.fixture(scope="session")
def notebook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace laid out as ``tether demo`` lays it out (``<home>/demo/tether.toml``)."""
    from api import Tether
    from api.cli import write_demo_audiences
    from api.worlds.demo import WORLD_NOW, write_demo_world

    home = tmp_path_factory.mktemp("notebooks") / "tether-data"
    data = home / "demo"
    write_demo_world(data, persons=PERSONS, seed=42)
    config = write_demo_audiences(data)
    with Tether.open(home, config=config) as tether:
        summary = tether.runs.nightly(retrain=True, as_of=WORLD_NOW)
    assert summary.written, "the notebooks need an export"
    return home
