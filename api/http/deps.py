"""Dependencies of the HTTP routes, named once: the app's state and one alias per key scope.

A route's signature shows the scope it needs (``key: ExportKey``). A key is
sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; it is
checked against its stored hash (``api.keys.KeyCache``: the keys table in
memory, re-read every second), so a revoked key stops working within a
second. The check runs on the event loop from memory; a store read it needs
runs on a worker thread.

Expensive endpoints take ``HeavyReadKey`` or ``HeavyExportKey`` instead: the
same scope check, then the key's rate and in-progress limits
(``api.http.limits``, ``[api] heavy_*``): past them, 429 with Retry-After;
then a turn among the server's ``heavy_workers`` slots.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.errors import Forbidden, Unauthorized
from api.http.limits import Lease, RateLimiter, Slots
from api.keys import ApiKey, KeyCache
from api.realtime import CurrentRun
from api.settings import ApiSettings
from api.workspace import Workspace
from consent.ledger import Ledger
from consent.purposes import DEFAULT_POLICY, ConsentPolicy

__all__ = [
    "AdminKey",
    "ConsentWriteKey",
    "ExportKey",
    "HeavyExportKey",
    "HeavyReadKey",
    "Page",
    "ReadKey",
    "State",
    "StateDep",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class State:
    """Everything a request may use; built once by ``create_app``."""

    settings: ApiSettings
    workspace: Workspace
    store: Engine
    keys: KeyCache
    ledger: Ledger
    current: CurrentRun
    limiter: RateLimiter
    heavy_slots: Slots

    @property
    def policy(self) -> ConsentPolicy:
        config = self.settings.config
        return config.consent if config is not None else DEFAULT_POLICY


async def _state(request: Request) -> State:
    state: State = request.app.state.tether
    return state


StateDep = Annotated[State, Depends(_state)]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer tth_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: tth_...`")


class _RequireScope:
    def __init__(self, scope: str) -> None:
        self.scope = scope

    # async: keys are answered from memory, so no thread-pool hop per request; a
    # store read (stale table, new id) goes to a worker thread, never the event loop
    async def __call__(
        self,
        request: Request,
        state: StateDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> ApiKey:
        token = header or (bearer.credentials if bearer is not None else None)
        if not token:
            raise Unauthorized(
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
            )
        answered, key = state.keys.from_memory(token)
        if not answered:
            key = await run_in_threadpool(state.keys.verify, token)
        if key is None:
            raise Unauthorized("the API key is unknown, wrong or revoked")
        request.state.key_id = key.key_id
        if not key.allows(self.scope):
            raise Forbidden(
                f"key {key.key_id} lacks the `{self.scope}` scope this endpoint needs",
                scope=self.scope,
                key_id=key.key_id,
            )
        return key


ReadKey = Annotated[ApiKey, Depends(_RequireScope("read"))]
ExportKey = Annotated[ApiKey, Depends(_RequireScope("export"))]
ConsentWriteKey = Annotated[ApiKey, Depends(_RequireScope("consent:write"))]
AdminKey = Annotated[ApiKey, Depends(_RequireScope("admin"))]


def _admit(request: Request, state: State, key: ApiKey) -> Lease:
    """Count an expensive request against its key (``RateLimited`` past the limits).

    A preview with an overlap evaluates two segments: it costs two tokens.
    """
    route = request.scope.get("route")
    what = str(getattr(route, "name", "request")).replace("_", " ")  # "preview", "download"
    cost = 2 if request.query_params.get("overlap") else 1
    return state.limiter.acquire(key_id=key.key_id, cost=cost, what=what)


# async generators: the count is memory only. Scoped to the route function: the lease
# ends when the work is done, before the response is sent (a file streams unlimited).
async def _heavy_read(request: Request, state: StateDep, key: ReadKey) -> AsyncIterator[ApiKey]:
    lease = _admit(request, state, key)
    try:
        async with state.heavy_slots.semaphore():  # waits on the loop, not on a thread
            yield key
    finally:
        lease.release()


async def _heavy_export(request: Request, state: StateDep, key: ExportKey) -> AsyncIterator[ApiKey]:
    lease = _admit(request, state, key)
    try:
        async with state.heavy_slots.semaphore():
            yield key
    finally:
        lease.release()


HeavyReadKey = Annotated[ApiKey, Depends(_heavy_read, scope="function")]
"""A ``read`` key, rate-limited: previews."""
HeavyExportKey = Annotated[ApiKey, Depends(_heavy_export, scope="function")]
"""An ``export`` key, rate-limited: exports, export files, segment writes."""


@dataclass(frozen=True, slots=True)
class Pagination:
    limit: int
    offset: int


def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Items to skip.")] = 0,
) -> Pagination:
    return Pagination(limit=limit, offset=offset)


Page = Annotated[Pagination, Depends(_page)]
