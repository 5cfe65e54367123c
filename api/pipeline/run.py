"""The loop over a run's steps: one lock, one timing and progress context, one failure boundary.

``NIGHTLY_STEPS`` is the nightly; ``LINK_STEPS`` (``tether link``) is the same
list without ``exports``. A step's exception fails the run at that step:
the run is marked failed in the registry, its partial directory is left for
the next run to discard, and the previous current run stays current.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from sqlalchemy import Engine

from api.pipeline import steps
from api.pipeline.context import RunContext
from api.pipeline.errors import RunFailedError
from api.pipeline.hooks import NULL_HOOK, PeakMemory, StepHook
from api.pipeline.results import Published, Results, RunSummary
from api.runs import RunRegistry
from api.settings import TetherConfig
from api.storage import database_url, open_store
from api.workspace import Workspace
from audiences.segments import Segment
from resolver.errors import TetherError
from resolver.link import train_on_touchpoints
from resolver.model import save_model
from resolver.progress import NULL_PROGRESS, Progress
from resolver.sources import ingest_sources

__all__ = ["LINK_STEPS", "NIGHTLY_STEPS", "Step", "run_link", "run_steps", "train"]

logger = logging.getLogger(__name__)

Step = tuple[str, Callable[[RunContext, Results], object]]

NIGHTLY_STEPS: tuple[Step, ...] = (
    ("ingest", steps.ingest),
    ("consent", steps.consent),
    ("model", steps.model),
    ("link", steps.link),
    ("person_ids", steps.person_ids),
    ("person_consent", steps.person_consent_step),
    ("features", steps.features),
    ("segments", steps.segments),
    ("exports", steps.exports),
    ("publish", steps.publish),
)
"""The nightly, in order."""

LINK_STEPS: tuple[Step, ...] = tuple(
    s for s in NIGHTLY_STEPS if s[0] not in ("segments", "exports")
)
"""``tether link``: the nightly's steps up to the features, then publishing."""

_TIMED_STEPS = {name for name, _ in NIGHTLY_STEPS} - {"publish"}


def run_steps(
    *,
    steps_to_run: Sequence[Step],
    config: TetherConfig,
    workspace: Workspace,
    store: Engine,
    as_of: datetime,
    retrain: bool = False,
    segments: Mapping[str, Segment] | None = None,
    unusable_segments: Mapping[str, str] | None = None,
    progress: Progress = NULL_PROGRESS,
    hook: StepHook = NULL_HOOK,
) -> RunSummary:
    """Run ``steps_to_run`` (ending with ``publish``) as one run under the workspace lock."""
    registry = RunRegistry(store)
    _return_large_buffers()
    with workspace.lock():
        workspace.discard_partial_runs()
        run_id = workspace.new_run_id()
        out = workspace.partial_dir(run_id)
        out.mkdir(parents=True)
        current = workspace.current_run_id()
        registry.reconcile(current=current)
        registry.started(run_id)
        ctx = RunContext(
            run_id=run_id,
            out=out,
            current=current,
            config=config,
            workspace=workspace,
            store=store,
            as_of=as_of,
            retrain=retrain,
            segments=dict(segments or {}),
            unusable_segments=dict(unusable_segments or {}),
            progress=progress,
        )
        done = Results()
        name = steps_to_run[0][0]
        memory = PeakMemory()
        try:
            for name, step in steps_to_run:
                hook.before(name)
                started = time.perf_counter()
                cpu = os.times()
                memory.reset()
                result = step(ctx, done)
                if name in _TIMED_STEPS:
                    done.seconds[name] = round(time.perf_counter() - started, 3)
                peak = memory.peak_gb()
                if peak is not None:
                    done.peak_rss_gb[name] = peak
                done.put(result)
                _release_memory()
                held = memory.current_gb()
                if held is not None:
                    done.held_rss_gb[name] = held
                after = os.times()
                logger.info(
                    "step %s: %.1f s (CPU %.1f user, %.1f system), peak %s GiB, held %s GiB",
                    name,
                    time.perf_counter() - started,
                    after.user - cpu.user,
                    after.system - cpu.system,
                    peak,
                    held,
                )
                hook.after(name, result)
                # kept in ``done`` alone: a later step that replaces it there (linking lets
                # go of the model input training handed it) frees what it drops
                del result
            summary = done.of(Published).summary
            registry.finished(run_id, status="published", summary=_brief(summary))
        except TetherError:
            registry.finished(run_id, status="failed", step=name)
            raise
        except Exception as exc:
            registry.finished(run_id, status="failed", step=name)
            logger.exception("run %s failed at step %s", run_id, name)
            raise RunFailedError(
                f"run {run_id} failed at step `{name}` ({type(exc).__name__}); "
                f"{'run ' + current + ' is still current' if current else 'no run is current yet'}; "
                "fix the cause and rerun",
                run_id=run_id,
                step=name,
                current=current,
            ) from exc
        finally:
            memory.close()
        logger.info("run %s complete: %d persons", run_id, summary.persons)
        return summary


def run_link(
    *,
    config: TetherConfig,
    workspace: Workspace,
    retrain: bool = False,
    as_of: datetime | None = None,
    store: Engine | None = None,
    segments: Mapping[str, Segment] | None = None,
    unusable_segments: Mapping[str, str] | None = None,
    progress: Progress = NULL_PROGRESS,
    hook: StepHook = NULL_HOOK,
) -> RunSummary:
    """Ingest, apply consent, link, assign person ids, build features, export, publish.

    With ``segments`` (the nightly), every segment is evaluated and exported
    to each destination it lists, inside the run: the exports become visible
    with the run, atomically, or not at all. Without, the run is ``tether
    link``: ``LINK_STEPS``.

    Args:
        config: sources, linking options and the consent policy.
        workspace: where the run is written and published.
        retrain: train a new model instead of reusing the saved one.
        as_of: the moment consent is judged at (default: now, UTC).
        store: the operational store; by default the workspace's
            (``TETHER_DATABASE_URL`` or SQLite in the workspace).
        segments: segments to evaluate and export (``None``: link only).
        unusable_segments: stored segments that no longer validate (name -> error
            code): reported as failed, like a segment that fails to evaluate.
        progress: step reporting.
        hook: called before and after every step (fault injection, metrics).
    """
    engine = store or open_store(database_url(home=workspace.home))
    try:
        return run_steps(
            steps_to_run=LINK_STEPS if segments is None else NIGHTLY_STEPS,
            config=config,
            workspace=workspace,
            store=engine,
            as_of=as_of or datetime.now(UTC),
            retrain=retrain,
            segments=segments,
            unusable_segments=unusable_segments,
            progress=progress,
            hook=hook,
        )
    finally:
        if store is None:
            engine.dispose()


def train(
    *, config: TetherConfig, workspace: Workspace, progress: Progress = NULL_PROGRESS
) -> Path:
    """Ingest the sources and (re)train the linkage model; returns the model path."""
    ingested = ingest_sources(
        sources=config.sources, default_region=config.linking.default_region, progress=progress
    )
    model = train_on_touchpoints(ingested.touchpoints, options=config.linking, progress=progress)
    save_model(model, workspace.model_path)
    workspace.protect_model()
    logger.info("model trained on %d touchpoints", len(ingested.touchpoints))
    return workspace.model_path


def _release_memory() -> None:
    """Give back to the OS what the step freed, so the next step's peak starts low.

    A step drops frames no later step reads; their Python objects go back to
    Python's allocator at once, but numpy's large buffers freed to glibc's heap
    stay in the process until ``malloc_trim``, and Arrow's pool (mimalloc) keeps
    the pages of freed buffers until told to release them: at 1 M touchpoints
    that held 0.1 to 0.35 GiB more after each step (``bench/RESULTS.md``). Not
    glibc (macOS, musl): the collection and Arrow's release only.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter for the size from which a block is mapped on its own."""


@functools.cache
def _return_large_buffers() -> None:
    """Have glibc map every block of 128 KiB and more on its own, for the whole process.

    glibc starts so, then raises that threshold to the size of each mapped block freed (up
    to 32 MiB): after the first few frames are freed, the columns of a million rows (8 MB
    each) are carved from the heap, and the heap is returned to the system only from its
    top. Their memory then stayed in the process after each step. Setting the threshold
    once keeps it where it started: a freed column is unmapped at once. At 1 M touchpoints
    it lowered the run's peak from 2.40 to 2.25 GiB, at the same speed (``bench/RESULTS.md``).
    Not glibc (macOS, musl): nothing to set.
    """
    mallopt = _glibc("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    """glibc's function ``name`` (``malloc_trim``, ``mallopt``), or ``None`` where the C
    library has none."""
    try:
        return cast("Callable[..., int]", getattr(ctypes.CDLL("libc.so.6"), name))
    except (OSError, AttributeError):
        return None


def _brief(summary: RunSummary) -> dict[str, Any]:
    return {
        "touchpoints": summary.touchpoints,
        "persons": summary.persons,
        "segments": summary.segments,
        "exports": len(summary.written),
        "segments_failed": len(summary.segments_failed),
    }
