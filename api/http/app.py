"""The HTTP API: ``create_app(settings)`` builds a FastAPI app; nothing happens at import.

Every endpoint lives under ``/v1`` (``api/http/routes/``) and needs an API key
with the right scope, except ``/v1/health``. Errors are always
``{"error": {"code", "message", "details"}}`` (``api/errors.py`` maps each
``TetherError`` class to its status); an unexpected exception is logged by
type and answered 500 with no trace. Access logs name the route template
(``/v1/consents/{subject_type}/{subject_id}``), never the path itself,
because a path may hold an email address. Expensive endpoints are limited
per key (``api.http.limits``): 429 with a ``Retry-After`` header.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import RateLimited, http_status_for
from api.http import schemas
from api.http.deps import State
from api.http.limits import RateLimiter, Slots
from api.http.schemas import ErrorResponse
from api.keys import KeyCache, KeyStore
from api.realtime import CurrentRun
from api.settings import ApiSettings
from api.storage import open_store
from api.workspace import Workspace
from consent.ledger import Ledger
from resolver.errors import TetherError

__all__ = ["create_app"]

logger = logging.getLogger(__name__)
access = logging.getLogger("tether.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "The request body cannot be read (not JSON, not UTF-8)"),
        (401, "No key, or an unknown, wrong or revoked one"),
        (403, "The key lacks the scope"),
        (404, "The person, segment, export or run does not exist"),
        (
            409,
            "It conflicts with what exists (a segment name, a file-defined segment) or with "
            "work in progress (an export of the same segment to the same destination)",
        ),
        (413, "The request body is too large"),
        (422, "The request is invalid"),
        (429, "The key made too many expensive requests; the Retry-After header says when"),
        (503, "No run has been published yet"),
    )
}


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: ApiSettings) -> FastAPI:
    """The Tether HTTP API on ``settings``' workspace and store."""
    from api.http.routes import consents, exports, health, identify, persons, runs, segments

    store = open_store(settings.database_url)
    workspace = Workspace.open(settings.home)
    linking = settings.config.linking if settings.config is not None else None
    current = CurrentRun(
        workspace=workspace,
        store=store,
        segments_dir=settings.config.segments if settings.config is not None else None,
        threshold=linking.threshold if linking is not None else 0.9,
        default_region=linking.default_region if linking is not None else "GB",
        interval=settings.api.reload_seconds,
    )
    state = State(
        settings=settings,
        workspace=workspace,
        store=store,
        keys=KeyCache(KeyStore(store), ttl=settings.api.reload_seconds),
        ledger=Ledger(store),
        current=current,
        limiter=RateLimiter(options=settings.api),
        heavy_slots=Slots(settings.api.heavy_workers),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.watch:
            current.refresh()
            current.start()
        try:
            yield
        finally:
            current.stop()
            store.dispose()

    app = FastAPI(
        title="Tether",
        version="0.1.0",
        summary="Identity resolution and consent-gated retargeting audiences.",
        description=(
            "Every endpoint but `/v1/health` needs an API key (`tether keys create`), sent as "
            "`Authorization: Bearer <key>` or `X-API-Key: <key>`, with the scope the endpoint "
            'names. Errors are `{"error": {"code", "message", "details"}}`.'
        ),
        lifespan=lifespan,
        docs_url="/docs" if settings.api.docs else None,
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        responses=ERROR_RESPONSES,
    )
    app.state.tether = state
    for module in (health, identify, persons, consents, segments, exports, runs):
        app.include_router(module.router)

    @app.exception_handler(TetherError)
    async def _tether_error(request: Request, exc: TetherError) -> JSONResponse:
        status = http_status_for(exc)
        if status >= 500:
            logger.error("request failed: %s (%s)", exc.code, type(exc).__name__)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return _error(
            status, exc.code, _no_paths(exc.message), _public(exc.details()), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic's errors carry the offending input: keep only where and what, and
        # never a key the client chose (an extra field may be named after an email).
        problems = [
            {"loc": [_known(part) for part in e.get("loc", ())], "type": e.get("type", "")}
            for e in exc.errors()
        ]
        where = ", ".join(".".join(p["loc"]) for p in problems[:5])
        return _error(
            422, "request_invalid", f"the request is invalid at {where}", {"problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "body_invalid"}
        code = codes.get(exc.status_code, "http_error")
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return _error(
            exc.status_code, code, message, {}, headers=dict(exc.headers) if exc.headers else None
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # By type and an error id only: the exception's text may quote stored values.
        error_id = uuid.uuid4().hex[:12]
        logger.error(
            "unexpected %s on %s (error id %s)", type(exc).__name__, _route(request.scope), error_id
        )
        return _error(
            500,
            "internal_error",
            f"internal error {error_id}; the server log has its type",
            {"error_id": error_id},
        )

    app.add_middleware(_Edge, max_body_bytes=settings.api.max_body_bytes)
    return app


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


#: Loc parts that are the API's own names (fields, parameters), never client-chosen keys.
_LOC_NAMES = frozenset(
    {"body", "query", "path", "header", "cookie"}
    | {
        name
        for model in vars(schemas).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for field_name, field in model.model_fields.items()
        for name in (field_name, field.alias)
        if name
    }
)
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/`'\"]+/)+([^\s/`'\"]+)")


def _known(part: object) -> str:
    """A validation error's location part, or ``"(field)"`` for a name the client chose."""
    if isinstance(part, int) or part in _LOC_NAMES:
        return str(part)
    return "(field)"


def _no_paths(message: str) -> str:
    """The message with absolute server paths cut to their last part."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), message)


def _public(details: dict[str, Any]) -> dict[str, Any]:
    """Error details without server paths (the CLI shows them; HTTP clients never)."""
    return {
        key: _no_paths(value) if isinstance(value, str) else value
        for key, value in details.items()
        if key not in ("home", "path", "run_dir")
    }


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "(no route)"))


class _Edge:
    """Body size limit and a PII-free access log, as plain ASGI (no per-request task)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        if "\x00" in scope.get("path", "") or b"%00" in bytes(scope.get("query_string", b"")):
            await _send_json(send, 422, "request_invalid", "the request must not contain NUL bytes")
            self._log(scope, 422, started)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send_json(send, 413, "request_too_large", self._too_large())
            self._log(scope, 413, started)
            return
        if declared is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            # No length declared (chunked): read it here, up to the limit, then replay it.
            body = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = bool(message.get("more_body"))
                if len(body) > self.max_body_bytes:
                    await _send_json(send, 413, "request_too_large", self._too_large())
                    self._log(scope, 413, started)
                    return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            receive = replay

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                # responses may carry personal data: never cached, never sniffed
                message["headers"] = [*message.get("headers", []), *_PRIVATE_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            self._log(scope, status["code"], started)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes:,} bytes"

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        if access.isEnabledFor(logging.INFO):
            state = scope.get("state") or {}
            access.info(
                "%s %s %d %.1fms key=%s",
                scope.get("method"),
                _route(scope),
                status,
                (time.perf_counter() - started) * 1000,
                state.get("key_id", "-"),
            )


_PRIVATE_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


async def _send_json(send: Send, status: int, code: str, message: str) -> None:
    import json

    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *_PRIVATE_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
