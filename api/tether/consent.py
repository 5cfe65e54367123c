"""``tether.consent``: the ledger: import events, show effective consent, decode, erase.

Effective consent is judged from the ledger at a moment (default: now):
a subject's own, and that of the person it is linked into in the current
run (the most restrictive of the person's subjects, SPEC §5). An erasure
suppresses every subject and identifier of the person from the next run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from api.lookup import consent_of_person, consent_of_subject, find_person
from api.tether.run import Run
from api.tether.strings import Decoded, decode_consent_string
from api.workspace import Workspace
from consent.effective import Decision
from consent.erasure import ErasureReceipt, ErasureStore
from consent.errors import SubjectNotFound
from consent.ledger import Ledger, events_from_frame
from consent.purposes import ConsentPolicy
from resolver.sources import SourceConfig, ingest_sources

__all__ = ["Consent", "ConsentAnswer", "ConsentImport", "Decoded", "decode_consent_string"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentImport:
    """What importing a consents file did."""

    rows_in: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    inserted: int
    duplicates: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentAnswer:
    """Effective consent per purpose of a subject and of its person, at ``as_of``."""

    as_of: datetime
    subject: dict[str, Decision] | None
    """The subject's own consent (``None`` when asked about a person)."""
    person_id: str | None
    person: dict[str, Decision] | None
    """The person's consent (``None`` when the subject is in no person of the current run)."""

    def table(self) -> pd.DataFrame:
        """One row per (whose, purpose): allowed, status, reason, event ids."""
        rows = [
            {"of": whose, "purpose": purpose, "allowed": d.allowed, "status": d.status,
             "reason": d.reason, "event_ids": list(d.event_ids)}
            for whose, answers in (("subject", self.subject), ("person", self.person))
            for purpose, d in (answers or {}).items()
        ]  # fmt: skip
        return pd.DataFrame(
            rows, columns=["of", "purpose", "allowed", "status", "reason", "event_ids"]
        )


class Consent:
    """The consent ledger of the workspace's store, judged under one policy."""

    def __init__(self, *, workspace: Workspace, store: Engine, policy: ConsentPolicy) -> None:
        self._workspace = workspace
        self._store = store
        self._policy = policy

    @property
    def policy(self) -> ConsentPolicy:
        """Purposes, defaults and the TCF/GPP/GPC mappings in force (``[consent]``)."""
        return self._policy

    def import_file(self, *, path: Path) -> ConsentImport:
        """Append a consents CSV/Parquet file's events (``tether consent import``).

        Rows that cannot be used are quarantined with a reason; events already
        in the ledger are skipped; a reused event id with other content is refused.
        """
        ingested = ingest_sources(
            sources=[SourceConfig(name="consents", kind="consents", path=path)]
        )
        (counts,) = ingested.counts
        frame = ingested.activity.get("consents")
        events = events_from_frame(frame) if frame is not None else []
        result = Ledger(self._store).append(events)
        return ConsentImport(
            rows_in=counts.rows_in,
            rows_quarantined=counts.rows_quarantined,
            quarantine_reasons=dict(counts.reasons),
            inserted=result.inserted,
            duplicates=result.duplicates,
        )

    def show(
        self, *, subject_type: str, subject_id: str, as_of: datetime | None = None
    ) -> ConsentAnswer:
        """Effective consent of a subject and of its person (``tether consent show``).

        ``subject_type`` is ``customer``, ``cookie``, ``device``, ``contact``,
        ``email`` (the address or its hash) or ``person`` (a person id).
        """
        moment = as_of or datetime.now(UTC)
        ledger = Ledger(self._store)
        subject = (
            None
            if subject_type == "person"
            else consent_of_subject(
                ledger=ledger,
                subject_type=subject_type,
                subject_id=subject_id,
                as_of=moment,
                policy=self._policy,
            )
        )
        match = (
            find_person(workspace=self._workspace, subject_type=subject_type, subject_id=subject_id)
            if self._workspace.current_run_id()
            else None
        )
        person = (
            consent_of_person(ledger=ledger, match=match, as_of=moment, policy=self._policy)
            if match
            else None
        )
        if subject is None and person is None:
            raise SubjectNotFound(
                f"person {subject_id} is not in the current run", subject_type=subject_type
            )
        return ConsentAnswer(
            as_of=moment,
            subject=subject,
            person_id=match.person_id if match else None,
            person=person,
        )

    def decode(self, *, string: str) -> Decoded:
        """Decode a TC or GPP string (``tether consent decode``)."""
        return decode_consent_string(string)

    def erase(self, *, subject_type: str, subject_id: str) -> ErasureReceipt:
        """Erase a person: suppress their subjects and identifiers from the next run on.

        The subject is resolved to its person in the current run; every subject
        and identifier of that person is suppressed. A subject in no person is
        suppressed all the same; an unknown person id is refused.
        """
        match = (
            find_person(workspace=self._workspace, subject_type=subject_type, subject_id=subject_id)
            if self._workspace.current_run_id()
            else None
        )
        if subject_type == "person" and match is None:
            raise SubjectNotFound(
                f"person {subject_id} is not in the current run: nothing to erase",
                subject_type="person",
            )
        return ErasureStore(self._store).erase(
            subject_type=subject_type,
            subject_id=subject_id,
            records=match.records if match else pd.DataFrame(),
            person_id=match.person_id if match else None,
            run_id=match.run_id if match else None,
            key=self._workspace.salt,
        )

    def coverage(self) -> pd.DataFrame:
        """Per purpose, how many persons of the current run may be used for it, and why not.

        From the run's own judgement (``person_consent``): columns ``purpose``,
        ``persons``, ``allowed``, ``share`` and one column per status.
        """
        table = Run.current(self._workspace).table("person_consent")
        counts = table.pivot_table(
            index="purpose", columns="status", values="person_id", aggfunc="count", fill_value=0
        )
        summary = table.groupby("purpose").agg(
            persons=("person_id", "size"), allowed=("allowed", "sum")
        )
        summary["share"] = (summary["allowed"] / summary["persons"]).round(4)
        return summary.join(counts).reset_index()
