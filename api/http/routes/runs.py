"""``/v1/runs``: the run registry, one run's summary, its HTML report and figures."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, JSONResponse

from api.errors import NotFound
from api.http.deps import Page, ReadKey, StateDep
from api.http.schemas import RunPublic, RunsPublic
from api.runs import RunRegistry
from consent.ledger import stored_utc

router = APIRouter(prefix="/v1", tags=["runs"])

RunId = Annotated[
    str, Path(pattern=r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{6}$", examples=["20261201T020000-a1b2c3"])
]


def _public(row: dict[str, Any], *, current: str | None) -> RunPublic:
    finished = row["finished_at"]
    return RunPublic(
        run_id=row["run_id"],
        status=row["status"],
        current=row["run_id"] == current,
        started_at=stored_utc(row["started_at"]),
        finished_at=stored_utc(finished) if finished is not None else None,
        failed_step=row["failed_step"],
        summary=row["summary"],
    )


@router.get("/runs", response_model=RunsPublic)
def list_runs(state: StateDep, key: ReadKey, page: Page) -> RunsPublic:
    """Every run (published, failed, died), newest first."""
    registry = RunRegistry(state.store)
    current = state.workspace.current_run_id()
    rows = registry.list(limit=page.limit, offset=page.offset)
    return RunsPublic(
        data=[_public(r, current=current) for r in rows],
        count=registry.count(),
        limit=page.limit,
        offset=page.offset,
    )


def _published(state: StateDep, run_id: str) -> dict[str, Any]:
    row = RunRegistry(state.store).get(run_id)
    if row is None:
        raise NotFound(f"no run {run_id}", run_id=run_id)
    return row


@router.get("/runs/{run_id}", response_model=RunPublic)
def get_run(run_id: RunId, state: StateDep, key: ReadKey) -> RunPublic:
    """One run's registry entry and summary."""
    return _public(_published(state, run_id), current=state.workspace.current_run_id())


def _run_file(state: StateDep, run_id: str, name: str) -> Any:
    _published(state, run_id)
    path = state.workspace.run_dir(run_id) / name
    if not path.is_file():
        raise NotFound(f"run {run_id} has no {name} (it did not complete)", run_id=run_id)
    return path


@router.get(
    "/runs/{run_id}/report",
    response_class=FileResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The run's HTML report."}},
)
def report(run_id: RunId, state: StateDep, key: ReadKey) -> FileResponse:
    """The run's self-contained HTML report (charts as inline SVG)."""
    return FileResponse(_run_file(state, run_id, "report.html"), media_type="text/html")


@router.get("/runs/{run_id}/figures", response_model=dict[str, Any])
def figures(run_id: RunId, state: StateDep, key: ReadKey) -> JSONResponse:
    """The figures behind the report's charts, as JSON."""
    path = _run_file(state, run_id, "report_figures.json")
    return JSONResponse(json.loads(path.read_text()))
