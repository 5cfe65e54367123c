"""Shared fixtures: an isolated environment, a small demo world, Hypothesis profiles."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text

from api.storage import open_store

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


class TrainedModels:
    """Linkage models trained once per test session, one per distinct training input.

    Training is seeded (``LinkingOptions.seed``), so the model a run would
    train on a fresh workspace is the one trained here on the same linked
    sources and options: ``seed(config, home)`` copies it into ``home/model/``
    and the run reuses it instead of training again (Splink's EM is most of a
    small run's time). A test that is about training does not call this.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self.trained: list[str] = []
        """The keys trained this session, in order (one per distinct input)."""

    def seed(self, config: Path, home: Path) -> Path:
        """Put the model trained on ``config``'s linked sources into the workspace ``home``."""
        from api.pipeline import train
        from api.settings import load_config
        from api.workspace import Workspace

        loaded = load_config(config)
        key = _training_key(loaded)
        cache = self._root / key
        if not (cache / "model" / "model.json").exists():
            train(config=loaded, workspace=Workspace.open(cache))
            self.trained.append(key)
        target = Workspace.open(home).model_path.parent
        shutil.copytree(cache / "model", target, dirs_exist_ok=True)
        return target / "model.json"


def _training_key(config: object) -> str:
    """A digest of what training reads: the linking options and the linked sources' bytes."""
    from api.settings import TetherConfig
    from resolver.sources import LINKED_KINDS

    assert isinstance(config, TetherConfig)
    digest = hashlib.sha256(repr(config.linking).encode())
    for source in sorted(config.sources, key=lambda s: s.name):
        if source.kind not in LINKED_KINDS:
            continue
        digest.update(repr((source.name, source.kind, sorted(source.columns.items()))).encode())
        files = sorted(source.path.rglob("*")) if source.path.is_dir() else [source.path]
        for path in files:
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> TrainedModels:
    """``trained_models.seed(config, home)``: the trained model for ``config``, copied."""
    return TrainedModels(tmp_path_factory.mktemp("models"))


API_PERSONS = 600


@pytest.fixture(scope="session")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo world linked and published once (nightly with the example segments)."""
    from api.cli import write_demo_audiences
    from api.pipeline import run_link
    from api.settings import load_config
    from api.workspace import Workspace
    from api.worlds.demo import WORLD_NOW, write_demo_world
    from audiences.segments import load_segments

    root = tmp_path_factory.mktemp("api-world")
    data = root / "home" / "demo"
    write_demo_world(data, persons=API_PERSONS, seed=5)
    config_path = write_demo_audiences(data)
    config = load_config(config_path)
    assert config.segments is not None
    run_link(
        config=config,
        workspace=Workspace.open(root / "home"),
        retrain=True,
        as_of=WORLD_NOW,
        segments=load_segments(config.segments),
    )
    return root / "home"


def make_demo_dir(directory: Path, *, persons: int, seed: int) -> Path:
    """Write a demo world and the tether.toml that reads it into ``directory``."""
    from api.worlds.demo import demo_config_toml, write_demo_world

    write_demo_world(directory, persons=persons, seed=seed)
    (directory / "tether.toml").write_text(demo_config_toml(data_dir="."))
    return directory


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default-size demo world written once per test session (read-only for tests)."""
    return make_demo_dir(tmp_path_factory.mktemp("demo-world"), persons=2000, seed=42)


#: The server CI and every developer machine run (trust auth); a missing
#: server is a failure, never a silent skip.
ADMIN_URL = os.environ.get(
    "TETHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tether_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is needed for the store tests: {exc}")
    yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty store of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tether.db'}"
        open_store(url).dispose()
        yield url
        return
    base = request.getfixturevalue("postgres_url")
    engine = open_store(base)
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE consent_events, erasures, suppressions, exports, export_members, runs, "
                "api_keys, segment_definitions"
            )
        )
    engine.dispose()
    yield base


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    engine = open_store(store_url, migrate=False)
    yield engine
    engine.dispose()
