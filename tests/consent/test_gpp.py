"""The strict GPP decoder against the published vectors (tests/data/gpp-vectors.json, copied from shared/reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.gpp import GPPStringInvalid, decode_gpp_string

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "gpp-vectors.json").read_text()
)
DECODES = [v for v in VECTORS if not v["expected"].get("error")]
REJECTS = [v for v in VECTORS if v["expected"].get("error")]


@pytest.mark.parametrize("vector", DECODES, ids=lambda v: v["gpp_string"][:24])
def test_decodes_every_field_of_the_published_strings(vector):
    decoded = decode_gpp_string(vector["gpp_string"]).as_dict()
    expected = vector["expected"]
    assert decoded["sectionIds"] == expected["sectionIds"]
    for section in ("usnat", "uspv1"):
        if section in expected:
            assert decoded[section] == expected[section]
    flags = expected.get("literal_flags")
    if flags:
        usnat = decoded["usnat"]
        assert (usnat["SaleOptOut"] == 1) == flags["opted_out_of_sale"]
        assert (usnat["SharingOptOut"] == 1) == flags["opted_out_of_sharing"]
        assert (usnat["TargetedAdvertisingOptOut"] == 1) == flags[
            "opted_out_of_targeted_advertising"
        ]
        assert usnat["Gpc"] == flags["gpc"]


@pytest.mark.parametrize("vector", REJECTS, ids=lambda v: v["gpp_string"][:24])
def test_rejects_every_string_the_vectors_mark_invalid(vector):
    with pytest.raises(GPPStringInvalid):
        decode_gpp_string(vector["gpp_string"])


@pytest.mark.parametrize(
    ("header", "ids"), [("DBABM~x", [2]), ("DBACNY~x~1YNN", [2, 6]), ("DBABjw~x~1YNN", [5, 6])]
)
def test_spec_header_examples(header, ids):
    assert decode_gpp_string(header).section_ids == ids


def test_truncated_usnat_is_an_error_not_a_default():
    with pytest.raises(GPPStringInvalid, match="ends early"):
        decode_gpp_string("DBABLA~CVVVkk")


@settings(max_examples=2000)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.", max_size=60
    )
)
def test_random_strings_raise_only_the_decoders_error(text):
    try:
        decode_gpp_string(text)
    except GPPStringInvalid:
        pass


def test_a_huge_section_group_is_refused_not_expanded():
    """Found by bench/fuzz_consent.py: a group length of billions exhausted memory."""
    # type 3, version 1, one entry, a group starting at 1 whose length has 40 Fibonacci bits
    bits = "000011" + "000001" + "000000000001" + "1" + "11" + "1" * 0 + "0" * 39 + "1" + "1"
    bits += "0" * (-len(bits) % 6)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    text = "".join(alphabet[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))
    with pytest.raises(GPPStringInvalid, match="beyond"):
        decode_gpp_string(text)
