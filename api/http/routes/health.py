"""``GET /v1/health``: is the server up, is the store reachable, which run does it serve."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.http.deps import StateDep
from api.http.schemas import Health

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=Health)
def health(state: StateDep) -> Health:
    """Liveness and what is served; needs no key (load balancers call it)."""
    try:
        with state.store.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - health reports, it does not raise
        database = "unavailable"
    view = state.current.peek()
    return Health(
        status="ok" if database == "ok" else "degraded",
        database=database,  # type: ignore[arg-type]
        run_id=view.run_id if view else None,
        loaded_at=view.loaded_at if view else None,
        persons=len(view.rows_of) if view else None,
        segments=len(view.segment_names) if view else None,
    )
