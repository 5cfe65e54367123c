"""The app uvicorn serves (``tether serve``): settings from the environment ``serve`` set.

``TETHER_HOME`` (the workspace), ``TETHER_CONFIG`` (optional ``tether.toml``)
and ``TETHER_DATABASE_URL`` (the store) are read here, at the edge, when
uvicorn calls ``app()``: one app per worker process.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from api.http.app import create_app
from api.settings import ApiSettings, load_config, resolve_home
from api.storage import database_url

__all__ = ["app"]


def app() -> FastAPI:
    """Build the app from ``TETHER_HOME``, ``TETHER_CONFIG`` and ``TETHER_DATABASE_URL``."""
    home = resolve_home(None)
    config_path = os.environ.get("TETHER_CONFIG")
    config = load_config(Path(config_path)) if config_path else None
    return create_app(ApiSettings(home=home, database_url=database_url(home=home), config=config))
