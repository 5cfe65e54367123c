"""The consent ledger: ``consent import``, ``consent show``, ``consent decode``, ``erase``.

Each calls ``Tether.consent``; ``consent decode`` calls the decoder it uses
(``api.tether.strings``) without opening a workspace, so it starts fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.base import HomeOpt, JsonOpt, _as_of, _emit, _tether, app

logger = logging.getLogger(__name__)


consent_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


#: ``consent import`` stored the good rows and refused some (see the quarantine file):
#: distinct from 0 (every row accounted for as stored or duplicate), 1 (failed) and 2 (bad
#: usage, or a file that cannot be read at all: nothing stored), as rsync's 23 is "partial".
EXIT_ROWS_REFUSED = 3


@consent_app.command("import")
def consent_import(
    path: Annotated[Path, typer.Argument(help="A consents CSV or Parquet file (docs/inputs.md).")],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            help="Where to write refused rows (default <home>/quarantine/consent-import-*.csv).",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append consent events to the ledger; events already there are skipped.

    Refused rows go to a quarantine CSV with their row number and reason, and
    the exit status is 3 when any row was refused (0 when none was).
    """
    with _tether(home) as tether:
        done = tether.consent.import_file(path=path, quarantine=quarantine)
    payload = {
        "rows_in": done.rows_in,
        "inserted": done.inserted,
        "duplicates": done.duplicates,
        "rows_refused": done.rows_refused,
        "refused_reasons": done.refused_reasons,
        "quarantine": str(done.quarantine) if done.quarantine else None,
    }
    lines = [
        f"{done.rows_in:,} rows: {done.inserted:,} events added, "
        f"{done.duplicates:,} already in the ledger, {done.rows_refused:,} refused"
    ]
    lines += [f"  refused: {reason} x{n:,}" for reason, n in done.refused_reasons.items()]
    if done.quarantine:
        lines.append(f"refused rows (row number, reason) in {done.quarantine}")
    _emit(payload, as_json=as_json, lines=lines)
    if done.rows_refused:
        raise typer.Exit(code=EXIT_ROWS_REFUSED)


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
    moment = _as_of(as_of)
    with _tether(home, config=config) as tether:
        answer = tether.consent.show(subject_type=subject_type, subject_id=subject_id, as_of=moment)
    subject, person = answer.subject, answer.person
    payload: dict[str, Any] = {
        "as_of": moment.isoformat(),
        "subject": {p: d.as_dict() for p, d in subject.items()} if subject else None,
        "person_id": answer.person_id,
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
    if subject_type != "person" and answer.person_id is None:
        lines.append("not linked into any person of the current run")
    _emit(payload, as_json=as_json, lines=lines, markup=True)  # user text escaped above


@app.command()
def erase(
    subject_type: SubjectTypeArg,
    subject_id: Annotated[str, typer.Argument(help="The subject's id (or a person id).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person: out of the current run at once, out of every kept run, suppressed after.

    The subject is resolved to its person in the current run. From now on the
    person is in no preview, export or identify answer; their rows are removed
    from every kept run's files (exports included); every subject and
    identifier of theirs goes on the suppression list, so later runs never
    ingest them. The audit keeps ids and counts only.
    """
    with _tether(home) as tether:
        receipt = tether.consent.erase(subject_type=subject_type, subject_id=subject_id)
        redactions = tether.consent.redactions(erasure_id=receipt.erasure_id)
    logger.info(
        "erasure %s: person %s, %d records", receipt.erasure_id, receipt.person_id, receipt.records
    )
    rows = sum(r.rows for r in redactions)
    files = sum(r.files for r in redactions)
    _emit(
        {**receipt.as_dict(), "redactions": [r.as_dict() for r in redactions]},
        as_json=as_json,
        lines=[
            f"erasure {receipt.erasure_id}: "
            + (
                f"person {receipt.person_id} ({receipt.records} records)"
                if receipt.person_id
                else "subject not in the current run; it is suppressed all the same"
            ),
            f"removed {rows:,} rows from {files} files of {len(redactions)} kept run(s)",
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
    from api.tether.strings import decode_consent_string

    decoded = decode_consent_string(tc_string)
    if decoded.kind == "gpp":
        gpp = decoded.decoded
        _emit(gpp, as_json=as_json, lines=[f"{k:<12} {v}" for k, v in gpp.items()])
        return
    violations = decoded.tcf22_violations
    payload = {**decoded.decoded, "tcf22Violations": violations, "warnings": decoded.warnings}
    lines = [f"{name:<36} {value}" for name, value in decoded.decoded.items()]
    lines.append("TCF 2.2: " + ("valid" if not violations else "; ".join(violations)))
    _emit(payload, as_json=as_json, lines=lines)
