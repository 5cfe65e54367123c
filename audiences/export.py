"""Export a segment to a destination: the consent gate, holdout, minimum size, deltas, manifest.

``plan_export`` decides who goes out:

1. the segment's members of this run;
2. minus a stable holdout (``holdout`` share, by SHA-256 of segment name and
   person id, so the same persons are held out run after run);
3. minus persons without every purpose the destination needs, effective at
   export time (``person_consent``), each kept member with the consent event
   ids that allowed it;
4. minus members with no identifier the platform can match (counted).

Below the destination's minimum size the export is refused
(``AudienceTooSmall``). ``write_export`` writes the platform's upload file,
the ``add`` and ``remove`` sets against the previous export of the same
segment to the same destination, the API payload batches, and a manifest
(run id, segment, destination, counts, file hashes, holdout, consent
lineage per person). Removals are sent with the identifiers recorded at the
previous export, so a person erased since can still be removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from audiences.destinations import Destination
from audiences.errors import AudienceError, AudienceTooSmall

__all__ = [
    "ExportPlan",
    "ExportResult",
    "holdout_mask",
    "plan_export",
    "removal_keys",
    "write_export",
]


def holdout_mask(person_ids: pd.Series, *, segment: str, share: float) -> pd.Series:
    """True for the stable ``share`` of persons kept out of every export of ``segment``."""
    if share <= 0:
        return pd.Series(False, index=person_ids.index)
    scale = float(2**64)

    def bucket(pid: str) -> float:
        digest = hashlib.sha256(f"{segment}\x1f{pid}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / scale

    return person_ids.astype(str).map(bucket) < share


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportPlan:
    """Who goes out, who does not and why."""

    segment: str
    destination: str
    members: int
    held_out: int
    refused_consent: int
    unmatchable: int
    rows: pd.DataFrame
    """``person_id`` + one column per platform key, as sent."""
    lineage: dict[str, list[str]]
    """Person id -> consent event ids that allowed the export."""
    excluded: dict[str, int] = field(default_factory=dict)
    """Messaging destinations: contacts the channel's rule forbids reaching, by reason."""
    suppressed: int = 0
    """Members left out because another action of the topic goes first (a call, not an ad)."""

    @property
    def exported(self) -> int:
        return len(self.rows)


def plan_export(
    *,
    segment: str,
    members: pd.Series,
    destination: Destination,
    consent: pd.DataFrame,
    identifiers: pd.DataFrame,
    holdout: float = 0.0,
    min_size: int | None = None,
    contacts: pd.DataFrame | None = None,
    as_of: datetime | None = None,
    suppressed: int = 0,
) -> ExportPlan:
    """Apply holdout, consent gate and matchability; refuse an audience below the minimum.

    A messaging destination (``destination.channel``) writes one row per
    reachable contact of ``contacts`` (``person_contacts``) on its channel,
    judged at ``as_of`` (``audiences.outreach``); the others are counted in
    ``excluded`` by reason, and a person with no reachable contact is
    ``unmatchable``.
    """
    ids = pd.Series(members.astype(str).unique())
    held = holdout_mask(ids, segment=segment, share=holdout)
    candidates = ids[~held]
    needed = list(destination.purposes)
    gate = consent[consent["purpose"].isin(needed) & consent["person_id"].isin(candidates)]
    allowed_counts = gate[gate["allowed"].astype(bool)].groupby("person_id")["purpose"].nunique()
    eligible = set(allowed_counts[allowed_counts == len(needed)].index.astype(str))
    if not needed:
        eligible = set(candidates)
    kept = candidates[candidates.isin(eligible)]
    lineage_rows = gate[gate["person_id"].isin(set(kept)) & gate["allowed"].astype(bool)]
    events = (
        lineage_rows[["person_id", "event_ids"]]
        .explode("event_ids")
        .dropna()
        .drop_duplicates()
        .sort_values(["person_id", "event_ids"])
    )
    pids = events["person_id"].to_numpy()
    values = events["event_ids"].to_numpy()
    lineage: dict[str, list[str]] = {}
    if len(pids):
        starts = np.flatnonzero(np.r_[True, pids[1:] != pids[:-1]])
        lineage = {
            str(pids[start]): part.tolist()
            for start, part in zip(starts, np.split(values, starts[1:]), strict=True)
        }
    people = identifiers[identifiers["person_id"].astype(str).isin(set(kept))]
    # Sorted by person id: whatever order the members and identifiers arrive in,
    # the same inputs write byte-identical files (members, upload, add, remove).
    excluded: dict[str, int] = {}
    if destination.channel is not None:
        from audiences.outreach import outreach_rows

        if contacts is None or as_of is None:
            raise ValueError(f"{destination.name} sends to contacts: give contacts and as_of")
        rows, excluded = outreach_rows(
            contacts[contacts["person_id"].astype(str).isin(set(kept))],
            channel=destination.channel,
            as_of=as_of,
        )
    else:
        rows = destination.rows(people)
    rows = rows.sort_values("person_id", kind="stable").reset_index(drop=True)
    limit = destination.min_size if min_size is None else min_size
    plan = ExportPlan(
        segment=segment,
        destination=destination.name,
        members=len(ids),
        held_out=int(held.sum()),
        refused_consent=int(len(candidates) - len(kept)),
        unmatchable=int(len(kept) - rows["person_id"].nunique()),
        rows=rows,
        lineage={pid: lineage.get(pid, []) for pid in rows["person_id"].tolist()},
        excluded=excluded,
        suppressed=suppressed,
    )
    if plan.exported < limit:
        raise AudienceTooSmall(
            f"segment `{segment}` has {plan.exported} persons {destination.name} can take "
            f"({plan.members} members, {plan.held_out} held out, {plan.refused_consent} without "
            f"{' + '.join(needed) or 'consent'}, {plan.unmatchable} without a usable identifier); "
            f"{destination.name} needs at least {limit}: set [destinations.{destination.name}] "
            "min_size to export a smaller audience",
            segment=segment,
            destination=destination.name,
            exported=plan.exported,
            min_size=limit,
        )
    return plan


def removal_keys(destination: Destination) -> list[str]:
    """Keys recorded per member to remove it later: hashed keys and ad ids, never clear PII
    (for a messaging destination, the contact id the sender stops writing to)."""
    if destination.channel is not None:
        return ["contact_id"]
    return [r.key for r in destination.keys if r.hashed or r.field == "ad_id"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportResult:
    """What an export wrote; ``manifest`` is also ``manifest.json`` in ``directory``."""

    export_id: str
    directory: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["counts"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _member_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Index:
    """What identifies a member across exports: the person, or (person, contact)."""
    values = frame[columns].astype(str)
    if len(columns) == 1:
        return cast(pd.Index, pd.Index(values[columns[0]]))
    return cast(pd.Index, pd.MultiIndex.from_frame(values))


def write_export(
    *,
    plan: ExportPlan,
    destination: Destination,
    run_id: str,
    export_id: str,
    previous: pd.DataFrame | None,
    directory: Path,
    holdout: float,
    as_of: datetime,
    created_at: datetime | None = None,
    min_size: dict[str, Any] | None = None,
) -> ExportResult:
    """Write files, payloads and manifest into ``directory`` (atomically: a temp dir, renamed).

    ``previous`` holds the members of the previous export of this segment to
    this destination (``person_id`` and ``removal_keys``), or ``None``.
    ``min_size`` is recorded in the manifest as given: the minimum applied,
    the configured one and who overrode it (``api.exports.export_segment``).
    The caller serialises writers of one ``directory`` (its ``.partial``
    sibling is shared).
    """
    if destination.channel is not None and not destination.extra.get("template"):
        templated = int((plan.rows["message_kind"] == "template").sum())
        if templated:  # a body naming no template would be refused by the platform
            raise AudienceError(
                f"{destination.name}: {templated} contact(s) are outside the 24-hour window, "
                "where only an approved template may be sent: name it in "
                '[destinations.whatsapp] template = "..." (and language)',
                segment=plan.segment,
                destination=destination.name,
            )
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = plan.rows.sort_values("person_id", kind="stable").reset_index(drop=True)
    # a member is a person; for a messaging destination, one contact of a person
    identity = ["person_id", "contact_id"] if destination.channel is not None else ["person_id"]
    before = previous if previous is not None else pd.DataFrame({"person_id": pd.Series(dtype=str)})
    for column in identity:
        if column not in before:
            before = before.assign(**{column: pd.Series(dtype=str)})
    now_keys, before_keys = _member_keys(rows, identity), _member_keys(before, identity)
    added = rows[~now_keys.isin(before_keys)]
    removed = (
        before[~before_keys.isin(now_keys)]
        .sort_values(identity, kind="stable")
        .reset_index(drop=True)
    )
    keys = removal_keys(destination)
    for column in keys:
        if column not in removed:
            removed = removed.assign(**{column: None})

    files: dict[str, Path] = {}
    rows.to_parquet(tmp / "members.parquet", index=False)
    files["members.parquet"] = tmp / "members.parquet"
    (tmp / "upload.csv").write_text(destination.file_text(rows))
    files["upload.csv"] = tmp / "upload.csv"
    (tmp / "add.csv").write_text(destination.file_text(added))
    files["add.csv"] = tmp / "add.csv"
    removed_rows = removed[["person_id", *keys]]
    removed_rows.to_csv(tmp / "remove.csv", index=False)
    files["remove.csv"] = tmp / "remove.csv"
    session = int.from_bytes(hashlib.sha256(export_id.encode()).digest()[:7], "big")
    for action, frame in (("add", added), ("remove", removed_rows)):
        path = tmp / f"payload_{action}.jsonl"
        with path.open("w") as handle:
            for body in destination.payloads(frame, action=action, session_id=session):  # type: ignore[arg-type]
                handle.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
        files[path.name] = path
    manifest: dict[str, Any] = {
        "export_id": export_id,
        "run_id": run_id,
        "segment": plan.segment,
        "destination": destination.name,
        "purposes": list(destination.purposes),
        "as_of": as_of.astimezone(UTC).isoformat(),
        "created_at": (created_at or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "encoding": destination.encoding,
        "holdout": {
            "share": holdout,
            "held_out": plan.held_out,
            "method": "sha256(segment, person_id)",
        },
        "counts": {
            "members": plan.members,
            "held_out": plan.held_out,
            "refused_consent": plan.refused_consent,
            "unmatchable": plan.unmatchable,
            "exported": plan.exported,
            "added": len(added),
            "removed": len(removed_rows),
            "suppressed_by_action": plan.suppressed,
        },
        **(
            {"channel": destination.channel, "excluded": dict(sorted(plan.excluded.items()))}
            if destination.channel is not None
            else {}
        ),
        "files": {name: _sha256(path) for name, path in sorted(files.items())},
        "consent_lineage": plan.lineage,
    }
    if min_size is not None:
        manifest["min_size"] = min_size
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)
    return ExportResult(export_id=export_id, directory=directory, manifest=manifest)
