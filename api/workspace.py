"""The workspace directory: runs, the current run, the model, the salt.

::

    <home>/
      workspace.json          salt for person ids, creation time
      model/model.json        the trained Splink model
      runs/<run_id>.partial/  a run being written (never read)
      runs/<run_id>/          a completed run
      current -> runs/<id>    switched atomically when a run completes
      .lock                   held by a run in progress

A run directory becomes visible as ``current`` only after every file in it
is written: the switch is one ``os.replace`` of a symlink, so a crash at any
point leaves the previous current run untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from resolver.errors import NoCurrentRunError, WorkspaceError

__all__ = ["Workspace"]


class RunLockedError(WorkspaceError):
    """Another run holds the workspace lock."""

    code = "run_locked"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A Tether workspace rooted at ``home``."""

    home: Path

    @classmethod
    def open(cls, home: Path) -> Workspace:
        """Open (creating if needed) the workspace at ``home``."""
        try:
            home.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            for folder in (home, home / "runs", home / "model"):
                folder.mkdir(mode=DIR_MODE, exist_ok=True)
                if folder.stat().st_mode & 0o077:
                    with contextlib.suppress(PermissionError):  # not ours: left as it is
                        os.chmod(folder, DIR_MODE)  # a workspace made before: tightened
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace at {home}: {exc.strerror}") from exc
        ws = cls(home)
        if not ws.meta_path.exists():
            meta = {"salt": secrets.token_hex(16), "created": datetime.now(UTC).isoformat()}
            tmp = ws.meta_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(meta, indent=2))
            tmp.replace(ws.meta_path)
        elif ws.meta_path.stat().st_mode & 0o077:
            os.chmod(ws.meta_path, FILE_MODE)
        return ws

    @property
    def meta_path(self) -> Path:
        return self.home / "workspace.json"

    @property
    def salt(self) -> str:
        return str(json.loads(self.meta_path.read_text())["salt"])

    @property
    def model_path(self) -> Path:
        return self.home / "model" / "model.json"

    @property
    def current_link(self) -> Path:
        return self.home / "current"

    def new_run_id(self) -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)

    def partial_dir(self, run_id: str) -> Path:
        return self.home / "runs" / f"{run_id}.partial"

    def run_dir(self, run_id: str) -> Path:
        return self.home / "runs" / run_id

    def current_run_id(self) -> str | None:
        """The id of the current run, or ``None`` before the first run completes."""
        link = self.current_link
        if not link.is_symlink():
            return None
        return Path(os.readlink(link)).name

    def current_dir(self) -> Path:
        run_id = self.current_run_id()
        if run_id is None:
            raise NoCurrentRunError(
                f"workspace {self.home} has no completed run yet; run `tether link` first",
                home=str(self.home),
            )
        return self.run_dir(run_id)

    def read_current(self, name: str) -> pd.DataFrame | None:
        """A Parquet table of the current run, or ``None`` if there is no current run."""
        if self.current_run_id() is None:
            return None
        return pd.read_parquet(self.current_dir() / f"{name}.parquet")

    def complete_run(self, run_id: str) -> Path:
        """Publish a fully written run: rename it, then switch ``current`` atomically."""
        partial, final = self.partial_dir(run_id), self.run_dir(run_id)
        _fsync_tree(partial)
        partial.rename(final)
        tmp_link = self.home / f".current-{run_id}"
        if tmp_link.is_symlink():
            tmp_link.unlink()
        tmp_link.symlink_to(Path("runs") / run_id)
        os.replace(tmp_link, self.current_link)
        _fsync_dir(self.home)
        self.protect_model()
        return final

    def protect_model(self) -> None:
        """Make the saved model's files (model, training, calibration) the owner's only."""
        for path in (self.home / "model").glob("*"):
            if path.is_file() and path.stat().st_mode & 0o077:
                os.chmod(path, FILE_MODE)

    def discard_partial_runs(self) -> list[str]:
        """Remove runs that never completed (a crash leaves them behind)."""
        removed = []
        for path in (self.home / "runs").glob("*.partial"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        return removed

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the workspace's run lock; a second run fails at once with a clear message."""
        fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
        handle = os.fdopen(fd, "a+")
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise RunLockedError(
                    f"another run is in progress in {self.home}; wait for it to finish",
                    home=str(self.home),
                ) from exc
            yield
        finally:
            handle.close()


#: A workspace holds personal data: only its owner may read it, whatever the umask.
DIR_MODE = 0o700
FILE_MODE = 0o600


def _fsync_tree(root: Path) -> None:
    """Flush a run's files to disk, and make them the owner's only (``FILE_MODE``)."""
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_file():
            os.chmod(path, FILE_MODE)
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
        elif path.is_dir():
            os.chmod(path, DIR_MODE)
    os.chmod(root, DIR_MODE)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
