"""Serve the HTTP API: ``serve``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from api.cli.base import HomeOpt, OptionalConfigOpt, _tether, app

logger = logging.getLogger(__name__)


@app.command()
def serve(
    config: OptionalConfigOpt = None,
    home: HomeOpt = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes (each loads the current run).")
    ] = 1,
) -> None:
    """Serve the HTTP API (uvicorn) on the workspace; it follows each newly published run."""
    import os

    import uvicorn

    with _tether(home, config=config) as tether:  # a bad file is refused before binding the port
        served = tether.home
    os.environ["TETHER_HOME"] = str(served.resolve())
    if config is not None:
        os.environ["TETHER_CONFIG"] = str(config.resolve())
    logger.info("serving %s on %s:%d", served, host, port)
    uvicorn.run(
        "api.http.server:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # paths may hold emails: api.http.app logs route templates instead
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=75,  # clients and load balancers keep connections longer than 5 s
    )
