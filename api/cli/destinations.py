"""Normalise and hash values as a destination does: ``hash``."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from api.cli.base import (
    app,
)

logger = logging.getLogger(__name__)


@app.command("hash")
def hash_cmd(
    destination_name: Annotated[
        str, typer.Argument(metavar="DESTINATION", help="e.g. google_customer_match, uid2.")
    ],
    field: Annotated[str, typer.Argument(help="A canonical field: email, phone, first_name...")],
    values: Annotated[list[str], typer.Argument(metavar="VALUE...", help="Values to normalise.")],
    country: Annotated[
        str | None,
        typer.Option("--country", help="Region for national phone numbers and postcodes (GB, US)."),
    ] = None,
) -> None:
    """Normalise and hash values as DESTINATION does: one JSON object per line.

    Prints ``{"input", "normalized", "hash"}`` (plus ``key`` when a field feeds
    several platform keys, as a date of birth does for Meta); ``hash`` is null
    for values the platform takes in clear or that cannot be normalised.
    """
    from audiences.destinations import FIELDS, destination

    if field not in FIELDS:
        raise typer.BadParameter(f"{field!r}: FIELD is one of {', '.join(FIELDS)}")
    dest = destination(destination_name)
    for value in values:
        identifiers = dest.identify(field=field, value=value, region=country)
        for identifier in identifiers:
            record = {
                "input": identifier.input,
                "normalized": identifier.normalized,
                "hash": identifier.hash,
            }
            if len(identifiers) > 1:
                record["key"] = identifier.key
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
