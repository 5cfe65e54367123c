"""API keys of the HTTP API: ``keys create``, ``keys list``, ``keys revoke``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.base import HomeOpt, JsonOpt, _emit, _tether, app

logger = logging.getLogger(__name__)


@contextmanager
def _key_store(home: Path | None) -> Iterator[Any]:
    """The workspace's operational store as a ``KeyStore``, disposed afterwards."""
    from api.keys import KeyStore

    with _tether(home) as tether:
        yield KeyStore(tether.store)


keys_app = typer.Typer(help="API keys for the HTTP API (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. crm-sync.")],
    scopes: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="read, export, consent:write or admin (repeatable)."),
    ],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; its secret is printed this once and only its hash is stored."""
    with _key_store(home) as keys:
        created = keys.create(name=name, scopes=scopes)
    _emit(
        {**created.key.as_dict(), "token": created.token},
        as_json=as_json,
        lines=[
            f"key {created.key.key_id} ({escape(name)}): {', '.join(created.key.scopes)}",
            created.token,
            "store it now: it is not shown again",
        ],
    )


@keys_app.command("list")
def keys_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Every API key (never its secret), revoked ones included."""
    with _key_store(home) as store:
        keys = store.list()
    _emit(
        {"keys": [k.as_dict() for k in keys]},
        as_json=as_json,
        lines=[
            f"{k.key_id}  {escape(k.name):<24} {','.join(k.scopes):<28} "
            f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'active'}"
            for k in keys
        ]
        or ["no keys yet: `tether keys create NAME --scope read`"],
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `tether keys list`).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API key: a running server refuses it within a second."""
    with _key_store(home) as keys:
        key = keys.revoke(key_id)
    if key is None:
        raise typer.BadParameter(f"no key {key_id!r}; `tether keys list` shows them")
    _emit(key.as_dict(), as_json=as_json, lines=[f"key {key.key_id} revoked"])
