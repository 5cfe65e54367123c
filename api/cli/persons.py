"""Why two records are (not) one person: ``why``, from ``Tether.persons``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from api.cli.base import HomeOpt, JsonOpt, _emit, _tether, app

logger = logging.getLogger(__name__)


def _record_ref(text: str) -> tuple[str, str]:
    source, sep, key = text.partition(":")
    if not sep or not source or not key:
        raise typer.BadParameter(f"{text!r}: write a record as SOURCE:RECORD_KEY, e.g. crm:C001")
    return source, key


@app.command()
def why(
    left: Annotated[str, typer.Argument(help="A record: SOURCE:RECORD_KEY.")],
    right: Annotated[str, typer.Argument(help="Another record: SOURCE:RECORD_KEY.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why two records are one person (the path of links), or not (the refused links)."""
    refs = _record_ref(left), _record_ref(right)
    with _tether(home) as tether:
        answer = tether.persons.why(left=refs[0], right=refs[1])
    lines = [answer.summary()]
    for edge in answer.path or answer.refused:
        lines.append(
            f"  {edge['from']} -> {edge['to']}: {edge['rule']} p={edge['probability']:.3f} "
            f"{edge['decision']}"
        )
    _emit(answer.as_dict(), as_json=as_json, lines=lines)
