"""``/v1/segments``: list, create, read, replace, delete and preview segment definitions.

Segments defined by files (``[audiences] segments``) are listed and
previewed like the others but are read-only here: they change by review,
like code. Segments created here live in the operational store; the next
nightly run evaluates and exports both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.http.deps import ExportKey, HeavyExportKey, HeavyReadKey, Page, ReadKey, StateDep
from api.http.routes import tether_of
from api.http.schemas import SegmentCreate, SegmentPreview, SegmentPublic, SegmentsPublic
from api.tether.segments import DryRun
from audiences.definitions import STORE_SOURCE, SegmentStore
from audiences.errors import SegmentNotFound
from audiences.segments import Segment

router = APIRouter(prefix="/v1", tags=["segments"])

SegmentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


def _public(segment: Segment, *, state: StateDep, version: int | None = None) -> SegmentPublic:
    view = state.current.peek()
    return SegmentPublic(
        name=segment.name,
        description=segment.description,
        rule=dict(segment.rule),
        holdout=segment.holdout,
        destinations=list(segment.destinations),
        origin="store" if segment.source == STORE_SOURCE else "file",
        version=version,
        size=view.segment_sizes.get(segment.name) if view is not None else None,
    )


def _all(state: StateDep) -> dict[str, Segment]:
    return state.current.segments()


def _versions(state: StateDep) -> dict[str, int]:
    return {s.name: v for s, v, _ in SegmentStore(state.store).list()}


@router.get("/segments", response_model=SegmentsPublic)
def list_segments(state: StateDep, key: ReadKey, page: Page) -> SegmentsPublic:
    """Every segment (files and store) by name, with its size in the current run."""
    found = _all(state)
    versions = _versions(state)
    names = sorted(found)
    chosen = names[page.offset : page.offset + page.limit]
    return SegmentsPublic(
        data=[_public(found[n], state=state, version=versions.get(n)) for n in chosen],
        count=len(names),
        limit=page.limit,
        offset=page.offset,
    )


def _dry_run(state: StateDep) -> DryRun | None:
    """The run in memory to dry-run a new definition on (``None``: the Tether reads it)."""
    view = state.current.peek()
    return (view.features, view.activity, view.as_of) if view is not None else None


@router.post("/segments", response_model=SegmentPublic, status_code=201)
def create_segment(body: SegmentCreate, state: StateDep, key: HeavyExportKey) -> SegmentPublic:
    """Create a segment: validated, then dry-run on the current run; refused (422) if it fails.

    Without a current run, validation alone decides.
    """
    created = tether_of(state).segments.create(definition=body.model_dump(), run=_dry_run(state))
    return _public(created, state=state, version=1)


@router.get("/segments/{name}", response_model=SegmentPublic)
def get_segment(name: SegmentName, state: StateDep, key: ReadKey) -> SegmentPublic:
    """One segment's definition and size."""
    segment = _one(state, name)
    return _public(segment, state=state, version=_versions(state).get(name))


def _one(state: StateDep, name: str) -> Segment:
    found = _all(state)
    if name not in found:
        raise SegmentNotFound(f"no segment `{name}`", segment=name)
    return found[name]


@router.put("/segments/{name}", response_model=SegmentPublic)
def replace_segment(
    name: SegmentName, body: SegmentCreate, state: StateDep, key: HeavyExportKey
) -> SegmentPublic:
    """Replace a stored segment's definition (its name stays); the version goes up by one.

    Checked and dry-run as on creation.
    """
    segment, version = tether_of(state).segments.replace(
        name=name, definition=body.model_dump(), run=_dry_run(state)
    )
    return _public(segment, state=state, version=version)


@router.delete("/segments/{name}", status_code=204)
def delete_segment(name: SegmentName, state: StateDep, key: ExportKey) -> Response:
    """Delete a stored segment; exports already written stay in their runs.

    Works for a stored definition that no longer validates, so it can be removed.
    """
    tether_of(state).segments.delete(name=name)
    return Response(status_code=204)


@router.get("/segments/{name}/preview", response_model=SegmentPreview)
def preview(
    name: SegmentName,
    state: StateDep,
    key: HeavyReadKey,
    overlap: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Another segment.")
    ] = None,
    person: Annotated[
        str | None,
        Query(
            max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Why this person is (not) in."
        ),
    ] = None,
    destination_names: Annotated[
        list[str] | None,
        Query(alias="destination", max_length=16, description="Repeatable; default: all."),
    ] = None,
) -> SegmentPreview:
    """Size, identifier coverage, overlap and the consent-eligible size per destination."""
    return SegmentPreview.model_validate(
        tether_of(state).segments.preview(
            name=name, overlap=overlap, person=person, destinations=destination_names
        )
    )
