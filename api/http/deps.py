"""Dependencies of the HTTP routes, named once: the app's state and one alias per key scope.

A route's signature shows the scope it needs (``key: ExportKey``). A key is
sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; it is
checked against its stored hash (``api.keys.KeyCache``: the keys table in
memory, re-read every second), so a revoked key stops working within a
second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.errors import Forbidden, Unauthorized
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

    # async: no I/O here (keys are cached), so no thread-pool hop per request
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
        key = state.keys.verify(token)
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
