"""docs/inputs.md documents exactly the columns and vocabularies the code reads (issue #12)."""

from __future__ import annotations

import re
from pathlib import Path

from consent.ledger import EVIDENCE_KEYS
from resolver.sources import CHANNELS, KIND_SCHEMAS
from resolver.vocabulary import CONSENT_STATUSES, SUBJECT_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "inputs.md"


def sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^## `(\w+)`\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table(section: str) -> dict[str, str]:
    """Column -> its "required" cell, from a section's table."""
    rows = re.findall(r"^\| `(\w+)` \| (yes|no) \|", section, flags=re.M)
    return dict(rows)


def test_every_kind_has_a_section_and_no_other() -> None:
    assert set(sections()) == set(KIND_SCHEMAS)


def test_each_kind_lists_exactly_its_columns_with_the_right_required_flag() -> None:
    for kind, section in sections().items():
        schema = KIND_SCHEMAS[kind]
        documented = table(section)
        assert set(documented) == set(schema.required) | set(schema.optional), kind
        assert {c for c, flag in documented.items() if flag == "yes"} == set(schema.required), kind
        if schema.key is not None:
            assert f"Key: `{schema.key}`" in section, kind


def test_the_vocabularies_are_those_the_code_checks() -> None:
    text = DOC.read_text()
    contacts = sections()["contacts"]
    channel_row = next(line for line in contacts.splitlines() if line.startswith("| `channel`"))
    assert set(re.findall(r"`(\w+)`", channel_row)) - {"channel"} == set(CHANNELS)
    consents = sections()["consents"]
    status_row = next(line for line in consents.splitlines() if line.startswith("| `status`"))
    assert set(re.findall(r"`(\w+)`", status_row)) - {"status"} == set(CONSENT_STATUSES)
    subject_row = next(
        line for line in consents.splitlines() if line.startswith("| `subject_type`")
    )
    assert set(re.findall(r"`(\w+)`", subject_row)) - {"subject_type"} == set(SUBJECT_TYPES)
    evidence_row = next(line for line in consents.splitlines() if line.startswith("| `evidence`"))
    assert set(re.findall(r"`(\w+)`", evidence_row)) - {"evidence"} == set(EVIDENCE_KEYS)
    for reason in ("missing_required", "invalid_timestamp", "duplicate_key", "invalid_value"):
        assert f"`{reason}:" in text
