"""The strict TCF decoder against the published vectors (tests/data/tcf-vectors.json, copied from shared/reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.tcf import TCStringInvalid, decode_tc_string, tcf22_violations

VECTORS_PATH = Path(__file__).resolve().parents[1] / "data" / "tcf-vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())
DERIVED = {"created_deciseconds", "segments"}


def _ids(value: Any) -> Any:
    """Expand the vectors' compressed id lists ({count, ranges}) to plain lists."""
    if isinstance(value, dict) and "ranges" in value:
        ids = [i for a, b in value["ranges"] for i in range(a, b + 1)]
        assert len(ids) == value["count"]
        return ids
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [{**r, "vendors": _ids(r["vendors"])} for r in value]
    return value


def _case_id(vector: dict[str, Any]) -> str:
    return "-".join(vector["tags"][:3]) + ":" + vector["tc_string"][:12]


DECODES = [v for v in VECTORS if not v["expected"].get("error")]
REJECTS = [v for v in VECTORS if v["expected"].get("error")]


@pytest.mark.parametrize("vector", DECODES, ids=_case_id)
def test_decodes_every_field_of_the_published_strings(vector):
    tc = decode_tc_string(vector["tc_string"])
    expected = vector["expected"]
    decoded = tc.as_dict()
    for name, value in expected.items():
        if name in ("tcf22_valid", "reason", "decodes"):
            continue
        if name == "created_deciseconds":
            assert tc.created_deciseconds == value
        elif name == "segments":
            assert tc.segments == value
        else:
            assert decoded[name] == _ids(value), name
    if expected.get("tcf22_valid") is False:
        assert tcf22_violations(tc), expected["reason"]


@pytest.mark.parametrize("vector", REJECTS, ids=_case_id)
def test_rejects_every_string_the_vectors_mark_invalid(vector):
    with pytest.raises(TCStringInvalid):
        decode_tc_string(vector["tc_string"])


@pytest.mark.parametrize(
    "vector", [v for v in DECODES if "isServiceSpecific" in v["expected"]], ids=_case_id
)
def test_tcf22_rules_follow_the_vectors_fields(vector):
    """Valid 2.2 iff policy >= 4, service-specific, and no LI for purposes 3-6."""
    expected = vector["expected"]
    breaks = (
        expected["policyVersion"] < 4
        or not expected["isServiceSpecific"]
        or bool({3, 4, 5, 6} & set(expected["purposeLegitimateInterests"]))
    )
    violations = tcf22_violations(decode_tc_string(vector["tc_string"]))
    assert bool(violations) == breaks, violations


def test_some_published_strings_are_valid_tcf22():
    valid = [v for v in DECODES if not tcf22_violations(decode_tc_string(v["tc_string"]))]
    assert len(valid) >= 3


@pytest.mark.parametrize("vector", DECODES[:10], ids=_case_id)
def test_no_truncation_of_a_real_string_ever_decodes_to_more_consent(vector):
    full = decode_tc_string(vector["tc_string"]).as_dict()
    text = vector["tc_string"].split(".")[0]
    for cut in range(1, len(text)):
        try:
            partial = decode_tc_string(text[:cut]).as_dict()
        except TCStringInvalid:
            continue
        # A shorter string that still decodes can only be one whose tail was padding.
        assert partial["purposeConsents"] == full["purposeConsents"]
        assert partial["vendorConsents"] == full["vendorConsents"]


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(max_examples=2000)
@given(st.text(alphabet=_B64 + ".=+/ ", max_size=120))
def test_random_strings_raise_only_the_decoders_error(text):
    try:
        decode_tc_string(text)
    except TCStringInvalid:
        pass
