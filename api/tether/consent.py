"""``tether.consent``: the ledger: import events, show effective consent, decode, erase.

Effective consent is judged from the ledger at a moment (default: now):
a subject's own, and that of the person it is linked into in the current
run (the most restrictive of the person's subjects, SPEC §5). An erasure
suppresses every subject and identifier of the person from the next run on,
takes the person out of every read of the current run at once (previews,
exports, identify: ``api.lookup.erased_in_run``) and removes their rows from
every kept run's files (``apply_erasures``), recording counts per run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from api.lookup import (
    PersonMatch,
    consent_of_person,
    consent_of_subject,
    erased_among,
    find_person,
    run_started,
    run_subjects,
)
from api.tether.run import Run
from api.tether.strings import Decoded, decode_consent_string
from api.workspace import Workspace
from consent.effective import Decision, email_subject_id
from consent.erasure import ErasureReceipt, ErasureStore, Redaction
from consent.errors import SubjectNotFound
from consent.ledger import Ledger, prepare_frame
from consent.purposes import ConsentPolicy
from resolver.normalize import normalize_email
from resolver.sources import SourceConfig, ingest_sources
from resolver.suppression import suppressed_rows

__all__ = ["Consent", "ConsentAnswer", "ConsentImport", "Decoded", "decode_consent_string"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentImport:
    """What importing a consents file did: ``rows_in = inserted + duplicates + rows_refused``."""

    rows_in: int
    inserted: int
    duplicates: int
    """Rows whose event is already in the ledger with the same content (idempotent)."""
    rows_refused: int
    """Rows not stored: unreadable, invalid, or a stored ``event_id`` with other content."""
    refused_reasons: dict[str, int]
    """Refused rows per reason (``event_id_conflict`` for a reused id)."""
    quarantine: Path | None
    """The CSV of the refused rows (``row``, ``reason``, then the row as read); ``None`` if none."""

    @property
    def rows_quarantined(self) -> int:
        """The refused rows (all of them are in ``quarantine``)."""
        return self.rows_refused

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        return self.refused_reasons


PersonFinder = Callable[[str, str], PersonMatch | None]
"""``(subject_type, subject_id)`` -> the person of the current run it belongs to, if any."""


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

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        policy: ConsentPolicy,
        default_region: str = "GB",
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._policy = policy
        self._region = default_region

    @property
    def policy(self) -> ConsentPolicy:
        """Purposes, defaults and the TCF/GPP/GPC mappings in force (``[consent]``)."""
        return self._policy

    def import_file(self, *, path: Path, quarantine: Path | None = None) -> ConsentImport:
        """Append a consents CSV/Parquet file's events (``tether consent import``).

        Every row is accounted for: stored, a duplicate of a stored event (same
        content: skipped), or refused. A row is refused when ingest cannot use
        it (a required field missing, a timestamp unreadable...), when the
        ledger's checks refuse it (unknown purpose, ``expires_at`` before
        ``recorded_at``...), or when its ``event_id`` is stored with other
        content (``event_id_conflict``). Refused rows are written to the
        quarantine CSV (default ``<home>/quarantine/consent-import-<time>.csv``,
        owner-only) with their row number (1 = the first row after the header)
        and reason; the rest are stored.
        """
        ingested = ingest_sources(
            sources=[SourceConfig(name="consents", kind="consents", path=path)]
        )
        (counts,) = ingested.counts
        frame = ingested.activity.get("consents")
        rejected = ingested.quarantine.get("consents")
        parts: list[pd.DataFrame] = []
        if rejected is not None and len(rejected):
            parts.append(
                rejected.rename(columns={"_row": "row", "_reason": "reason"}).astype(
                    {"row": "int64"}
                )
            )
        inserted = duplicates = 0
        if frame is not None and len(frame):
            taken = (
                rejected["_row"].to_numpy(dtype=np.int64)
                if rejected is not None
                else np.empty(0, dtype=np.int64)
            )
            # ingest keeps rows in file order: the usable ones are the rows it did not refuse
            numbers = np.setdiff1d(np.arange(1, counts.rows_in + 1, dtype=np.int64), taken)
            prepared = prepare_frame(frame, on_invalid="skip")
            ledger = Ledger(self._store)
            result = ledger.append_prepared(prepared)
            inserted = result.inserted
            refused = prepared.refused
            if result.conflicts:
                stored = ledger.content_hashes(list(result.conflict_ids))
                rows = prepared.rows
                clash = rows["event_id"].isin(stored) & (
                    rows["event_id"].map(stored) != rows["content_hash"]
                )
                refused = pd.concat(
                    [
                        refused,
                        pd.DataFrame(
                            {
                                "position": prepared.positions[clash.to_numpy()],
                                "reason": "event_id_conflict",
                            }
                        ),
                    ],
                    ignore_index=True,
                )
            if len(refused):
                shown = frame.iloc[refused["position"].to_numpy()].astype("string")
                parts.append(
                    shown.reset_index(drop=True).assign(
                        row=numbers[refused["position"].to_numpy()],
                        reason=refused["reason"].astype(str).to_numpy(),
                    )
                )
            duplicates = len(frame) - inserted - len(refused)
        refused_rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        written = None
        if len(refused_rows):
            refused_rows = refused_rows.sort_values("row", kind="stable")
            columns = ["row", "reason"] + [
                c for c in refused_rows.columns if c not in ("row", "reason")
            ]
            written = quarantine or self._workspace.home / "quarantine" / (
                "consent-import-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + ".csv"
            )
            _write_private_csv(refused_rows[columns], written)
        reasons = (
            refused_rows["reason"].value_counts().sort_index().astype(int).to_dict()
            if len(refused_rows)
            else {}
        )
        return ConsentImport(
            rows_in=counts.rows_in,
            inserted=inserted,
            duplicates=duplicates,
            rows_refused=len(refused_rows),
            refused_reasons={str(k): int(v) for k, v in reasons.items()},
            quarantine=written,
        )

    def show(
        self,
        *,
        subject_type: str,
        subject_id: str,
        as_of: datetime | None = None,
        find: PersonFinder | None = None,
    ) -> ConsentAnswer:
        """Effective consent of a subject and of its person (``tether consent show``).

        ``subject_type`` is ``customer``, ``cookie``, ``device``, ``contact``,
        ``email`` (the address or its hash) or ``person`` (a person id).
        ``find`` resolves the subject to its person in the current run: by
        default from the run's files; the HTTP API passes the run it holds
        in memory (``api.realtime``), so both answer with this one method.
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
        match = (find or self._person_of)(subject_type, subject_id)
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

    def _person_of(self, subject_type: str, subject_id: str) -> PersonMatch | None:
        """The subject's person in the current run, from the run's files (none before a run)."""
        if not self._workspace.current_run_id():
            return None
        return find_person(
            workspace=self._workspace, subject_type=subject_type, subject_id=subject_id
        )

    def erase(
        self, *, subject_type: str, subject_id: str, requested_by: str = "cli"
    ) -> ErasureReceipt:
        """Erase a person everywhere: the current run at once, every kept run, every later run.

        The subject is resolved to its person in the current run; every subject
        and identifier of that person is suppressed (later runs never ingest
        them). From the moment this returns, previews, exports and identify of
        the current run (and of a run being written) leave the person out, and
        the person's rows are gone from every kept run's files, exports
        included (``apply_erasures``; ``redactions`` says what went where, as
        counts). A subject in no person is suppressed all the same; an unknown
        person id is refused.
        """
        match = self._person_of(subject_type, subject_id)
        if subject_type == "person" and match is None:
            raise SubjectNotFound(
                f"person {subject_id} is not in the current run: nothing to erase",
                subject_type="person",
            )
        receipt = ErasureStore(self._store).erase(
            subject_type=subject_type,
            subject_id=subject_id,
            records=match.records if match else pd.DataFrame(),
            person_id=match.person_id if match else None,
            run_id=match.run_id if match else None,
            key=self._workspace.salt,
            requested_by=requested_by,
        )
        self.apply_erasures()
        self._scrub_import_quarantine(receipt.erasure_id)
        return receipt

    def _scrub_import_quarantine(self, erasure_id: str) -> None:
        """Remove the erased person's rows from ``consent import``'s quarantine files too
        (they hold refused rows as given); audited as the pseudo-run ``quarantine``."""
        folder = self._workspace.home / "quarantine"
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        if not files:
            return
        store = ErasureStore(self._store)
        suppression = store.erasure(erasure_id).suppression(key=self._workspace.salt)
        removed: dict[str, int] = {}
        for path in files:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            hit = suppressed_rows(
                frame.replace("", None), suppression=suppression, default_region=self._region
            )
            types = (
                frame["subject_type"] if "subject_type" in frame else pd.Series([""] * len(frame))
            )
            email = (types.astype(str).str.lower() == "email").to_numpy()
            for position in np.flatnonzero(email & ~hit).tolist():
                address = normalize_email(str(frame["subject_id"].iloc[position]))
                if address and f"email:{email_subject_id(address)}" in suppression.subjects:
                    hit[position] = True
            if hit.any():
                _write_private_csv(frame.loc[~hit], path)
                removed[f"quarantine/{path.name}"] = int(hit.sum())
        store.record_redaction(
            Redaction(
                erasure_id=erasure_id,
                run_id="quarantine",
                redacted_at=datetime.now(UTC),
                removed=removed,
            )
        )

    def apply_erasures(self) -> list[Redaction]:
        """Redact every kept run for the erasures it has not been redacted for yet.

        A run needs an erasure requested at or after its start (ingest applied
        the earlier ones). ``erase`` calls this for the runs already kept; the
        nightly calls it once its run is published, for erasures that landed
        while the run was being written. Each (erasure, run) is done once and
        recorded with the rows removed per file (``redactions``).
        """
        store = ErasureStore(self._store)
        salt = self._workspace.salt
        done = []
        for run_id in self._workspace.kept_runs():
            pending = store.unredacted(run_id=run_id, since=run_started(run_id))
            if not pending:
                continue
            subjects = run_subjects(self._workspace.run_dir(run_id))
            for erasure_id in pending:
                erased = store.erasure(erasure_id)
                removed = self._workspace.redact_run(
                    run_id,
                    persons=erased_among(subjects, erased),
                    suppression=erased.suppression(key=salt),
                    region=self._region,
                )
                redaction = Redaction(
                    erasure_id=erasure_id,
                    run_id=run_id,
                    redacted_at=datetime.now(UTC),
                    removed=removed,
                )
                store.record_redaction(redaction)
                done.append(redaction)
        return done

    def redactions(self, *, erasure_id: str | None = None) -> list[Redaction]:
        """What each erasure removed from each kept run: rows per file, counts only."""
        return ErasureStore(self._store).redactions(erasure_id=erasure_id)

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


def _write_private_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV readable by its owner only (it holds the rows as given)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        frame.to_csv(handle, index=False)
