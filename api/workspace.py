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

Kept runs are bounded (``prune_runs``: ``[workspace] keep_runs``, the
current run always among them), and an erasure reaches every kept run:
``redact_run`` removes the erased persons' rows from each file of a run
that can hold personal data (``PII_FILES``), exports included.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from resolver.errors import NoCurrentRunError, WorkspaceError
from resolver.suppression import Suppression, suppressed_rows

__all__ = ["DEFAULT_KEEP_RUNS", "PII_FILES", "Workspace"]

#: Published runs a workspace keeps by default (``[workspace] keep_runs``): a week of nightlies.
DEFAULT_KEEP_RUNS = 7

#: Every file of a run that can hold an erased person's data, and how ``redact_run`` finds
#: their rows. Anything else a run writes holds counts, options or the model's weights only
#: (``report*.json``/``report.html``, ``linking.json``, ``blocked_identifiers.parquet``: values
#: shared by many persons, refused for linking; ``person_registry.parquet``: ids and statuses,
#: kept so an erased id stays retired).
PII_FILES: dict[str, str] = {
    "touchpoints.parquet": "the person's records, clear identifiers (aligned with the graph)",
    "identity_graph.parquet": "the person's records: subjects, customer ids, person id",
    "links.parquet": "links touching one of the person's records (source, record key)",
    "predictions.parquet": "scored pairs touching one of the person's records (record ids)",
    "persons.parquet": "by person id (customer ids)",
    "person_identifiers.parquet": "by person id (clear email, phone, name, address)",
    "person_features.parquet": "by person id",
    "person_activity.parquet": "by person id",
    "person_consent.parquet": "by person id",
    "person_contacts.parquet": "by person id (clear phone, chat id, PSID: messaging addresses)",
    "person_actions.parquet": "by person id (the next best action)",
    "consents.parquet": "by subject or identifier (the suppression list)",
    "events.parquet": "by subject or identifier (the suppression list)",
    "interactions.parquet": "by subject or identifier (the suppression list)",
    "quarantine/*.parquet": "by subject or identifier (the suppression list)",
    "any other *.parquet with a person_id column": "by person id",
    "exports/<segment>/<destination>/": (
        "members.parquet, upload.csv, add.csv, payload_add.jsonl rewritten without the "
        "person, manifest lineage and counts updated; remove.csv and payload_remove.jsonl "
        "keep hashed keys only, to take the person off the platform"
    ),
}

_PERSON_FILES = (
    "persons",
    "person_identifiers",
    "person_features",
    "person_activity",
    "person_consent",
    "person_contacts",
    "person_actions",
)
_SUBJECT_FILES = ("consents", "events", "interactions")
#: Tables with a ``person_id`` column that are redacted otherwise (graph, touchpoints) or kept.
_NOT_PERSON_KEYED = frozenset(
    {"identity_graph.parquet", "touchpoints.parquet", "person_registry.parquet"}
)


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

    def kept_runs(self) -> list[str]:
        """Ids of the completed runs in ``runs/``, oldest first (ids start with their time)."""
        return sorted(
            p.name
            for p in (self.home / "runs").iterdir()
            if p.is_dir()
            and not p.name.startswith(".")  # a run being pruned
            and not p.name.endswith(".partial")
            and (p / "report.json").is_file()
        )

    def prune_runs(self, *, keep: int = DEFAULT_KEEP_RUNS) -> list[str]:
        """Delete completed runs beyond the newest ``keep``; the current run is always kept.

        Called at the end of each nightly (``[workspace] keep_runs``): an older
        run's files, its exports included, are removed with it, so the personal
        data the workspace holds is bounded to ``keep`` runs. Runs in progress
        are never touched. Returns the ids removed, oldest first.
        """
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise WorkspaceError(f"keep must be a whole number of runs, at least 1 (got {keep!r})")
        runs = self.kept_runs()
        current = self.current_run_id()
        keeping = set(runs[-keep:]) | ({current} if current else set())
        removed = []
        for run_id in runs:
            if run_id in keeping:
                continue
            # renamed first: a reader never sees a half-deleted run under its id
            doomed = self.home / "runs" / f".{run_id}.pruning"
            self.run_dir(run_id).rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(run_id)
        return removed

    def redact_run(
        self, run_id: str, *, persons: Collection[str], suppression: Suppression, region: str
    ) -> dict[str, int]:
        """Remove erased persons' rows from every file of run ``run_id`` (``PII_FILES``).

        Args:
            run_id: a kept run.
            persons: the person ids of this run to remove (every record linked into them).
            suppression: the erasure's subjects and identifier hashes, for the files
                that have no person id (activity copies, quarantine).
            region: the default region, to read phone numbers as ingest did.

        Returns:
            Rows removed per run-relative file path (files with none left out).
            Counts only: what was removed is never returned or logged.
        """
        run = self.run_dir(run_id)
        removed: dict[str, int] = {}
        erased = set(persons)

        def rewrite(name: str, drop: Callable[[pd.DataFrame], pd.Series]) -> pd.DataFrame | None:
            path = run / name
            if not path.is_file():
                return None
            frame = pd.read_parquet(path)
            mask = drop(frame).to_numpy(dtype=bool)
            if mask.any():
                _write_parquet(frame.loc[~mask].reset_index(drop=True), path)
                removed[name] = int(mask.sum())
            return frame.loc[mask]

        keys: set[tuple[str, str]] = set()
        record_ids: set[int] = set()
        graph_path = run / "identity_graph.parquet"
        if erased and graph_path.is_file():
            graph = pd.read_parquet(graph_path)
            mask = graph["person_id"].astype(str).isin(erased).to_numpy()
            if mask.any():
                keys = set(
                    zip(
                        graph.loc[mask, "source"].astype(str),
                        graph.loc[mask, "record_key"].astype(str),
                        strict=True,
                    )
                )
                # Graph and touchpoints are row-aligned: both are written aside first,
                # then swapped in one after the other, so readers see them agree.
                swaps = [(_staged(graph.loc[~mask].reset_index(drop=True), graph_path), graph_path)]
                removed["identity_graph.parquet"] = int(mask.sum())
                touch_path = run / "touchpoints.parquet"
                if touch_path.is_file():
                    touch = pd.read_parquet(touch_path)
                    record_ids = set(touch.loc[mask, "record_id"].astype(int))
                    staged = _staged(touch.loc[~mask].reset_index(drop=True), touch_path)
                    swaps.append((staged, touch_path))
                    removed["touchpoints.parquet"] = int(mask.sum())
                for staged_path, path in swaps:
                    os.replace(staged_path, path)

        def touches(frame: pd.DataFrame) -> pd.Series:
            left = pd.Series(list(zip(frame["left_source"], frame["left_key"], strict=True)))
            right = pd.Series(list(zip(frame["right_source"], frame["right_key"], strict=True)))
            return left.isin(keys) | right.isin(keys)

        if keys:
            rewrite("links.parquet", touches)
        if record_ids:
            rewrite(
                "predictions.parquet",
                lambda f: f["left"].isin(record_ids) | f["right"].isin(record_ids),
            )
        if erased:
            # the person tables named above, and any other table of the run keyed by person
            # id (a table added later is covered without being listed here)
            known = {f"{n}.parquet" for n in _PERSON_FILES}
            for path in sorted(run.glob("*.parquet")):
                if path.name in _NOT_PERSON_KEYED or path.name in known:
                    continue
                if "person_id" in pq.read_schema(path).names:
                    known.add(path.name)
            for name in sorted(known):
                rewrite(name, lambda f: f["person_id"].astype(str).isin(erased))
        names = [f"{n}.parquet" for n in _SUBJECT_FILES]
        names += [f"quarantine/{p.name}" for p in sorted((run / "quarantine").glob("*.parquet"))]
        if suppression:
            for name in names:
                rewrite(name, lambda f: _suppressed(f, suppression=suppression, region=region))
        exports = run / "exports"
        if erased and exports.is_dir():
            for manifest in sorted(exports.glob("*/*/manifest.json")):
                count = _redact_export(manifest.parent, erased)
                if count:
                    removed[str(manifest.parent.relative_to(run)) + "/"] = count
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


def _staged(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` written beside ``path`` (owner-only), ready to replace it."""
    tmp = path.with_name(f".{path.name}.redacting")
    frame.to_parquet(tmp, index=False)
    os.chmod(tmp, FILE_MODE)
    return tmp


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Replace ``path`` atomically (a temporary file renamed), owner-only."""
    os.replace(_staged(frame, path), path)


def _write_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.redacting")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _suppressed(frame: pd.DataFrame, *, suppression: Suppression, region: str) -> pd.Series:
    """Rows naming an erased subject or identifier; an ``email`` subject given in clear too."""
    from consent.effective import email_subject_id
    from resolver.normalize import normalize_email

    hit = suppressed_rows(frame, suppression=suppression, default_region=region)
    if "subject_type" in frame and "subject_id" in frame:
        email = (frame["subject_type"].astype(str).str.lower() == "email").to_numpy()
        for position in (email & ~hit).nonzero()[0].tolist():
            address = normalize_email(str(frame["subject_id"].iloc[position]))
            if address and f"email:{email_subject_id(address)}" in suppression.subjects:
                hit[position] = True
    return pd.Series(hit, index=frame.index)


def _redact_export(directory: Path, erased: set[str]) -> int:
    """Rewrite one export without the erased persons; the number of members removed.

    ``members.parquet`` holds the rows sent (person id + the platform's keys,
    the same order as ``upload.csv``); ``add.csv`` the rows new since the
    previous export. Both files, the upload and the add payloads are written
    again from the members kept, exactly as the export wrote them; the
    manifest's lineage, counts and file hashes follow. ``remove.csv`` and
    ``payload_remove.jsonl`` stay: they hold hashed keys only, and take the
    person off the platform.
    """
    import hashlib

    from audiences.destinations import destination

    members_path = directory / "members.parquet"
    manifest_path = directory / "manifest.json"
    if not members_path.is_file():
        return 0
    members = pd.read_parquet(members_path)
    gone = members["person_id"].astype(str).isin(erased).to_numpy()
    manifest = json.loads(manifest_path.read_text())
    lineage = manifest.get("consent_lineage", {})
    in_lineage = [p for p in lineage if p in erased]
    if not gone.any() and not in_lineage:
        return 0
    keys = [c for c in members.columns if c != "person_id"]
    kept = members.loc[~gone].reset_index(drop=True)
    added: pd.DataFrame | None
    try:
        dest = destination(str(manifest["destination"]))
        added = (
            _added(members, directory / "add.csv", keys)
            .loc[lambda f: ~f["person_id"].astype(str).isin(erased)]
            .reset_index(drop=True)
        )
        upload, add = dest.file_text(kept), dest.file_text(added)
        session = int.from_bytes(
            hashlib.sha256(str(manifest["export_id"]).encode()).digest()[:7], "big"
        )
        payload = "".join(
            json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n"
            for body in dest.payloads(added, action="add", session_id=session)
        )
    except Exception:  # noqa: BLE001 - a destination that cannot write again: scrub the text
        gone_values = _values_of(members.loc[gone], keys)
        upload = _scrub(directory / "upload.csv", gone_values)
        add = _scrub(directory / "add.csv", gone_values)
        payload = _scrub(directory / "payload_add.jsonl", gone_values)
        added = None
    _write_parquet(kept, members_path)
    _write_text(upload, directory / "upload.csv")
    _write_text(add, directory / "add.csv")
    _write_text(payload, directory / "payload_add.jsonl")
    counts = manifest.setdefault("counts", {})
    removed = int(gone.sum())
    counts["exported"] = len(kept)
    if added is not None:
        counts["added"] = len(added)
    manifest["consent_lineage"] = {p: e for p, e in lineage.items() if p not in erased}
    manifest["redacted"] = int(manifest.get("redacted", 0)) + removed
    files = manifest.setdefault("files", {})
    for name in list(files):
        path = directory / name
        if path.is_file():
            files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    _write_text(json.dumps(manifest, indent=1, sort_keys=True), manifest_path)
    return removed


def _added(members: pd.DataFrame, add_path: Path, keys: list[str]) -> pd.DataFrame:
    """The rows of ``members`` that ``add.csv`` holds (new since the previous export)."""
    if not add_path.is_file():
        return members.iloc[0:0]
    added_frame = pd.read_csv(add_path, dtype=str, keep_default_na=False)
    columns = [c for c in ["person_id", *keys] if c in added_frame.columns]
    added_keys = set(added_frame[columns].itertuples(index=False, name=None))
    as_text = members.reindex(columns=columns).astype(object).where(members.notna(), "")
    mask = [tuple(str(v) for v in row) in added_keys for row in as_text.itertuples(index=False)]
    return members.loc[pd.Series(mask, index=members.index, dtype=bool)]


def _values_of(rows: pd.DataFrame, keys: list[str]) -> set[str]:
    """Every non-empty key value (and person id) of ``rows``, as text."""
    values = {str(v) for v in rows["person_id"].dropna()}
    for key in keys:
        values |= {str(v) for v in rows[key].dropna() if str(v)}
    return values


def _scrub(path: Path, values: set[str]) -> str:
    """``path``'s text without the lines that contain one of ``values`` (a CSV keeps its header)."""
    if not path.is_file():
        return ""
    lines = path.read_text().splitlines(keepends=True)
    head, body = (lines[:1], lines[1:]) if path.suffix == ".csv" else ([], lines)
    return "".join(head + [line for line in body if not any(v in line for v in values)])


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
