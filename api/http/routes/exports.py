"""``/v1/exports``: export a segment of the current run to a destination, read it, download it.

An export is written synchronously (the 1 M-person benchmark takes seconds,
``bench/RESULTS.md``) into the current run's directory, exactly as ``tether
segments export`` writes it, with its deltas against the last published
export and its manifest; exporting the same run, segment and destination
again returns the export already written. Files download streamed, from the
directory the history stores relative to the workspace.

Concurrent requests for one segment and destination are serialised (a lock in
the workspace): the later ones get the first's export (200), or 409
``export_in_progress`` if it takes longer than 30 s. ``min_size`` below the
destination's configured minimum needs an ``admin`` key (403 otherwise) and
is recorded in the manifest. Creating an export and downloading its files
are expensive: rate-limited per key (429 with Retry-After).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse

from api.errors import NotFound
from api.http.deps import HeavyExportKey, Page, ReadKey, StateDep
from api.http.routes import tether_of
from api.http.schemas import ExportCreate, ExportPublic, ExportsPublic
from api.tether.exports import Caller
from audiences.errors import SegmentNotFound
from audiences.history import ExportHistory, export_directory
from consent.ledger import stored_utc

router = APIRouter(prefix="/v1", tags=["exports"])

ExportId = Annotated[
    str, Path(pattern=r"^ex_[0-9a-f]{24}$", examples=["ex_0123456789abcdef01234567"])
]
_MEDIA = {".csv": "text/csv", ".jsonl": "application/x-ndjson", ".json": "application/json"}


def _files(directory: FilePath) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix in _MEDIA)


def _public(row: dict[str, Any], *, state: StateDep) -> ExportPublic:
    directory = export_directory(row, home=state.workspace.home)
    manifest_path = directory / "manifest.json"
    counts = {"exported": row["exported"], "added": row["added"], "removed": row["removed"]}
    if manifest_path.exists():
        counts = {**json.loads(manifest_path.read_text()).get("counts", {}), **counts}
    return ExportPublic(
        export_id=row["export_id"],
        status="completed",
        segment=row["segment"],
        destination=row["destination"],
        run_id=row["run_id"],
        created_at=stored_utc(row["created_at"]),
        counts={k: int(v) for k, v in counts.items() if isinstance(v, int)},
        files=_files(directory),
        manifest_sha256=row["manifest_sha256"],
    )


@router.post(
    "/exports",
    response_model=ExportPublic,
    status_code=201,
    responses={200: {"model": ExportPublic, "description": "This run's export already exists."}},
)
def create_export(
    body: ExportCreate, state: StateDep, key: HeavyExportKey, response: Response
) -> ExportPublic:
    """Export a segment of the current run: files, payload batches, add/remove deltas, manifest.

    Only persons with every purpose the destination needs, judged now from
    the ledger, are exported. 201 when written, 200 when this run's export
    already exists (also when a concurrent request for the same segment and
    destination just wrote it); 409 if that one is still writing after 30 s.
    An audience below the minimum is refused (422); a ``min_size`` below the
    destination's configured minimum needs an ``admin`` key (403).
    """
    segments = state.current.segments()
    if body.segment not in segments:
        raise SegmentNotFound(f"no segment `{body.segment}`", segment=body.segment)
    done = tether_of(state).exports.create(
        segment=segments[body.segment],
        destination=body.destination,
        min_size=body.min_size,
        as_of=datetime.now(UTC),
        caller=Caller(kind="api_key", key_id=key.key_id, scopes=key.scopes),
    )
    result, created = done.result, done.created
    if not created:
        response.status_code = 200
    return _public(_export(state, result.export_id), state=state)


@router.get("/exports", response_model=ExportsPublic)
def list_exports(
    state: StateDep,
    key: ReadKey,
    page: Page,
    segment: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    destination: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> ExportsPublic:
    """Export history, newest first."""
    rows, total = ExportHistory(state.store).page(
        segment=segment, destination=destination, limit=page.limit, offset=page.offset
    )
    return ExportsPublic(
        data=[_public(r, state=state) for r in rows],
        count=total,
        limit=page.limit,
        offset=page.offset,
    )


def _export(state: StateDep, export_id: str) -> dict[str, Any]:
    return tether_of(state).exports.get(export_id=export_id)


@router.get("/exports/{export_id}", response_model=ExportPublic)
def get_export(export_id: ExportId, state: StateDep, key: ReadKey) -> ExportPublic:
    """One export: status, counts, files and the manifest's hash."""
    return _public(_export(state, export_id), state=state)


@router.get(
    "/exports/{export_id}/files/{name}",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in _MEDIA.values()}, "description": "The file."}},
)
def download(
    export_id: ExportId,
    name: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}\.(csv|jsonl|json)$")],
    state: StateDep,
    key: HeavyExportKey,
) -> FileResponse:
    """Download one file of an export (``upload.csv``, ``add.csv``, ``payload_add.jsonl``...), streamed."""
    row = _export(state, export_id)
    directory = export_directory(row, home=state.workspace.home)
    if name not in _files(directory):
        raise NotFound(f"export {export_id} has no file {name}", export_id=export_id, file=name)
    return FileResponse(
        directory / name,
        media_type=_MEDIA[FilePath(name).suffix],
        filename=f"{row['segment']}-{row['destination']}-{name}",
    )
