"""The consent ledger: ``consent import``, ``consent show``, ``consent decode``, ``erase``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.base import (
    HomeOpt,
    JsonOpt,
    _as_of,
    _emit,
    _load_config,
    _workspace,
    app,
)

logger = logging.getLogger(__name__)


consent_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


@consent_app.command("import")
def consent_import(
    path: Annotated[Path, typer.Argument(help="A consents CSV or Parquet file (SPEC §3 columns).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append consent events to the ledger; events already there are skipped."""
    from api.storage import database_url, open_store
    from consent.ledger import Ledger, events_from_frame
    from resolver import SourceConfig, ingest_sources

    ws = _workspace(home)
    ingested = ingest_sources(sources=[SourceConfig(name="consents", kind="consents", path=path)])
    (counts,) = ingested.counts
    frame = ingested.activity.get("consents")
    events = events_from_frame(frame) if frame is not None else []
    engine = open_store(database_url(home=ws.home))
    try:
        result = Ledger(engine).append(events)
    finally:
        engine.dispose()
    payload = {
        "rows_in": counts.rows_in,
        "rows_quarantined": counts.rows_quarantined,
        "quarantine_reasons": counts.reasons,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
    }
    _emit(
        payload,
        as_json=as_json,
        lines=[
            f"{counts.rows_in:,} rows: {result.inserted:,} events added, "
            f"{result.duplicates:,} already in the ledger, {counts.rows_quarantined:,} refused"
        ]
        + [f"  refused: {reason} x{n}" for reason, n in counts.reasons.items()],
    )


SubjectTypeArg = Annotated[
    str,
    typer.Argument(help="customer, cookie, device, contact, email (hash or address) or person."),
]


@consent_app.command("show")
def consent_show(
    subject_type: SubjectTypeArg,
    subject_id: Annotated[str, typer.Argument(help="The subject's id (or a person id).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="tether.toml (its [consent] policy).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge at this ISO 8601 time (default: now).")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Effective consent per purpose of a subject, and of the person it is linked into."""
    from api.lookup import consent_of_person, consent_of_subject, find_person
    from api.storage import database_url, open_store
    from consent.ledger import Ledger
    from consent.purposes import DEFAULT_POLICY

    moment = _as_of(as_of)
    policy = _load_config(config).consent if config else DEFAULT_POLICY
    ws = _workspace(home)
    engine = open_store(database_url(home=ws.home))
    try:
        ledger = Ledger(engine)
        subject = (
            None
            if subject_type == "person"
            else consent_of_subject(
                ledger=ledger,
                subject_type=subject_type,
                subject_id=subject_id,
                as_of=moment,
                policy=policy,
            )
        )
        match = (
            find_person(workspace=ws, subject_type=subject_type, subject_id=subject_id)
            if ws.current_run_id()
            else None
        )
        person = (
            consent_of_person(ledger=ledger, match=match, as_of=moment, policy=policy)
            if match
            else None
        )
    finally:
        engine.dispose()
    if subject is None and person is None:
        from consent.errors import SubjectNotFound

        raise SubjectNotFound(
            f"person {subject_id} is not in the current run", subject_type=subject_type
        )
    payload: dict[str, Any] = {
        "as_of": moment.isoformat(),
        "subject": {p: d.as_dict() for p, d in subject.items()} if subject else None,
        "person_id": match.person_id if match else None,
        "person": {p: d.as_dict() for p, d in person.items()} if person else None,
    }
    lines = [f"as of {moment.isoformat()}"]
    for title, answers in (("subject", subject), (f"person {payload['person_id']}", person)):
        if not answers:
            continue
        lines.append(f"{title}:")
        for purpose, decision in answers.items():
            verdict = (
                "[green]allowed[/green]" if decision.allowed else "[red]refused[/red]"
            ) + " " * 2
            events = ", ".join(decision.event_ids) or "-"
            lines.append(
                f"  {purpose:<20} {verdict} {decision.status:<9} {escape(decision.reason)}"
                f"  events: {escape(events)}"
            )
    if subject_type != "person" and match is None:
        lines.append("not linked into any person of the current run")
    _emit(payload, as_json=as_json, lines=lines)


@app.command()
def erase(
    subject_type: SubjectTypeArg,
    subject_id: Annotated[str, typer.Argument(help="The subject's id (or a person id).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person: suppress their subjects and identifiers from the next run on.

    The subject is resolved to its person in the current run; every subject
    and identifier of that person goes on the suppression list, and an audit
    record with ids and counts only is kept.
    """
    import pandas as pd

    from api.lookup import find_person
    from api.storage import database_url, open_store
    from consent.erasure import ErasureStore

    ws = _workspace(home)
    match = (
        find_person(workspace=ws, subject_type=subject_type, subject_id=subject_id)
        if ws.current_run_id()
        else None
    )
    if subject_type == "person" and match is None:
        from consent.errors import SubjectNotFound

        raise SubjectNotFound(
            f"person {subject_id} is not in the current run: nothing to erase",
            subject_type="person",
        )
    engine = open_store(database_url(home=ws.home))
    try:
        receipt = ErasureStore(engine).erase(
            subject_type=subject_type,
            subject_id=subject_id,
            records=match.records if match else pd.DataFrame(),
            person_id=match.person_id if match else None,
            run_id=match.run_id if match else None,
            key=ws.salt,
        )
    finally:
        engine.dispose()
    logger.info(
        "erasure %s: person %s, %d records", receipt.erasure_id, receipt.person_id, receipt.records
    )
    _emit(
        receipt.as_dict(),
        as_json=as_json,
        lines=[
            f"erasure {receipt.erasure_id}: "
            + (
                f"person {receipt.person_id} ({receipt.records} records)"
                if receipt.person_id
                else "subject not in the current run; it is suppressed all the same"
            ),
            f"suppressed {receipt.subjects} subjects and {receipt.identifiers} identifiers "
            "from the next run on",
        ],
    )


@consent_app.command("decode")
def consent_decode(
    tc_string: Annotated[str, typer.Argument(help="An IAB TCF v2 TC string or a GPP string.")],
    as_json: JsonOpt = False,
) -> None:
    """Decode a TC or GPP string strictly (IAB field names); TC strings get the TCF 2.2 rules."""
    from consent.gpp import decode_gpp_string
    from consent.tcf import decode_tc_string, tcf22_violations

    if tc_string.strip().startswith("D"):  # a GPP header starts with type 3: "D"
        gpp = decode_gpp_string(tc_string).as_dict()
        _emit(gpp, as_json=as_json, lines=[f"{k:<12} {v}" for k, v in gpp.items()])
        return
    tc = decode_tc_string(tc_string)
    violations = tcf22_violations(tc)
    payload = {**tc.as_dict(), "tcf22Violations": violations, "warnings": tc.warnings}
    lines = [f"{name:<36} {value}" for name, value in tc.as_dict().items()]
    lines.append("TCF 2.2: " + ("valid" if not violations else "; ".join(violations)))
    _emit(payload, as_json=as_json, lines=lines)
