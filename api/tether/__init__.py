"""``Tether``: one object over a workspace, its store and its current run.

The CLI, the HTTP routes, the notebooks and the tests reach Tether's domain
through it. It owns the settings (a parsed ``tether.toml``), the
operational store (consent ledger, segments, exports, keys, run registry),
the workspace directory and the current run, and hands each namespace only
what that namespace needs::

    from api import Tether

    tether = Tether.open("tether-data", config="tether-data/demo/tether.toml")
    tether.runs.nightly()                       # the batch, consent gate and erasures included
    tether.persons.records(person_id="29zp7yxbqy")
    tether.persons.explain(left=("crm", "C000001"), right=("web", "S000042"))
    tether.segments.preview(name="engaged_whatsapp_readers")
    tether.model.linker().linker.visualisations.match_weights_chart()

Namespaces: ``runs``, ``persons``, ``consent``, ``segments``, ``exports``,
``identify``, ``model``. Each lives in its own module of this package.

Importing this package is cheap (SQLAlchemy, pandas and the settings load in
``Tether.open``), so ``api.tether.strings`` serves ``tether consent decode``
without them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from consent.purposes import DEFAULT_POLICY, ConsentPolicy

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from api.realtime import CurrentRun
    from api.settings import TetherConfig
    from api.tether.consent import Consent
    from api.tether.exports import Exports
    from api.tether.identify import Identify
    from api.tether.model import Model
    from api.tether.persons import Persons
    from api.tether.run import Run
    from api.tether.runs import Runs
    from api.tether.segments import Segments
    from api.workspace import Workspace

__all__ = ["Tether"]


class Tether:
    """A Tether workspace, its operational store, its settings and its current run."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        config: TetherConfig | None = None,
        segments: Path | None = None,
        owns_store: bool = False,
    ) -> None:
        """Wrap pieces already open (the HTTP app's); ``Tether.open`` is the usual way in.

        Args:
            workspace: the workspace directory.
            store: the operational store's engine.
            config: the parsed ``tether.toml``; without it, runs cannot be made
                and the default consent policy and destinations apply.
            segments: a folder of segment files to use instead of ``[audiences] segments``.
            owns_store: dispose of ``store`` on ``close()``.
        """
        self.workspace = workspace
        self.store = store
        self.config = config
        self._segments_dir = segments
        self._owns_store = owns_store
        self._current: CurrentRun | None = None

    @classmethod
    def open(
        cls,
        home: Path | str | None = None,
        *,
        config: Path | str | TetherConfig | None = None,
        database_url: str | None = None,
        segments: Path | str | None = None,
    ) -> Tether:
        """Open the workspace at ``home`` as the CLI does; close it with ``close()`` or ``with``.

        Args:
            home: the workspace directory (default ``TETHER_HOME``, else ``./tether-data``);
                created if missing.
            config: a ``tether.toml`` path (or one already parsed): sources, linking
                options, consent policy, segments and destinations.
            database_url: the operational store (default ``TETHER_DATABASE_URL``, else
                SQLite in the workspace); migrated to the newest schema.
            segments: a folder of segment files that replaces ``[audiences] segments``
                (segments stored through the API are used as well).
        """
        from api.settings import load_config
        from api.storage import database_url as default_database_url
        from api.storage import open_store
        from api.workspace import Workspace

        if home is None:
            home = os.environ.get("TETHER_HOME") or "tether-data"
        workspace = Workspace.open(Path(home))
        parsed = load_config(Path(config)) if isinstance(config, str | Path) else config
        url = database_url or default_database_url(home=workspace.home)
        return cls(
            workspace=workspace,
            store=open_store(url),
            config=parsed,
            segments=Path(segments) if segments is not None else None,
            owns_store=True,
        )

    def __repr__(self) -> str:
        return f"Tether(home={str(self.workspace.home)!r}, run={self.workspace.current_run_id()!r})"

    @property
    def home(self) -> Path:
        """The workspace directory."""
        return self.workspace.home

    @property
    def policy(self) -> ConsentPolicy:
        """The consent policy in force (``[consent]``; the defaults without a config)."""
        return self.config.consent if self.config is not None else DEFAULT_POLICY

    @property
    def run(self) -> Run | None:
        """The current run (looked up on each access: a new run is seen at once)."""
        return self.runs.current()

    @property
    def segments_dir(self) -> Path | None:
        """The folder of segment files: ``segments=`` of ``open``, else ``[audiences] segments``."""
        if self._segments_dir is not None:
            return self._segments_dir
        return self.config.segments if self.config is not None else None

    @property
    def _overrides(self) -> dict[str, dict[str, Any]]:
        return self.config.destinations if self.config is not None else {}

    @cached_property
    def runs(self) -> Runs:
        """Make runs (``nightly``, ``link``, ``train``) and read them (``current``, ``get``)."""
        from api.tether.runs import Runs

        return Runs(
            workspace=self.workspace,
            store=self.store,
            config=self.config,
            segments=self.segments.all,
            unusable=self.segments.unusable,
        )

    @cached_property
    def model(self) -> Model:
        """The trained Splink model, and a Splink ``Linker`` on a run's model input."""
        from api.tether.model import Model

        return Model(workspace=self.workspace)

    @cached_property
    def persons(self) -> Persons:
        """Find a person, list their records, and explain why two records are (not) one."""
        from api.tether.persons import Persons

        return Persons(workspace=self.workspace, model=self.model)

    @cached_property
    def consent(self) -> Consent:
        """The consent ledger: import, show, decode, erase, coverage."""
        from api.tether.consent import Consent

        linking = self.config.linking if self.config is not None else None
        return Consent(
            workspace=self.workspace,
            store=self.store,
            policy=self.policy,
            default_region=linking.default_region if linking is not None else "GB",
        )

    @cached_property
    def segments(self) -> Segments:
        """Segment definitions, sizes, previews and overlaps on the current run."""
        from api.tether.segments import Segments

        return Segments(
            workspace=self.workspace,
            store=self.store,
            segments_dir=self.segments_dir,
            policy=self.policy,
            overrides=self._overrides,
        )

    @cached_property
    def exports(self) -> Exports:
        """Export a segment to a destination; the export history, deltas and lineage."""
        from api.tether.exports import Exports

        return Exports(
            workspace=self.workspace,
            store=self.store,
            policy=self.policy,
            overrides=self._overrides,
        )

    @cached_property
    def identify(self) -> Identify:
        """Real-time identity: ``tether.identify(cookie_id=...)`` as ``POST /v1/identify``."""
        from api.realtime import CurrentRun
        from api.tether.identify import Identify
        from consent.ledger import Ledger

        linking = self.config.linking if self.config is not None else None
        self._current = CurrentRun(
            workspace=self.workspace,
            store=self.store,
            segments_dir=self.segments_dir,
            threshold=linking.threshold if linking is not None else 0.9,
            default_region=linking.default_region if linking is not None else "GB",
        )
        return Identify(current=self._current, ledger=Ledger(self.store), policy=self.policy)

    def close(self) -> None:
        """Release the real-time view and, if ``open`` made it, the store's connections."""
        if self._current is not None:
            self._current.stop()
            self._current = None
        if self._owns_store:
            self.store.dispose()

    def __enter__(self) -> Tether:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
