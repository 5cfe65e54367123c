"""Normalisation and hashing per destination: the platforms' own worked examples, then edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiences.destinations import DESTINATIONS, destination
from audiences.errors import AudienceError
from audiences.normalize import sha256_base64, sha256_hex

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "hashing-vectors.json").read_text()
)

# (vector platform, vector field) -> (destination, key) for the six destinations.
KEYS = {
    ("google_data_manager_api+google_ads_customer_match", "email"): ("google_customer_match", "Email"),
    ("google_data_manager_api+google_ads_customer_match", "phone"): ("google_customer_match", "Phone"),
    ("google_data_manager_api+google_ads_customer_match", "given_name"): ("google_customer_match", "First Name"),
    ("google_data_manager_api+google_ads_customer_match", "family_name"): ("google_customer_match", "Last Name"),
    ("google_data_manager_api+google_ads_customer_match", "region_code"): ("google_customer_match", "Country"),
    ("google_data_manager_api+google_ads_customer_match", "postal_code"): ("google_customer_match", "Zip"),
    ("meta_custom_audiences", "EMAIL"): ("meta_custom_audience", "email"),
    ("meta_custom_audiences", "PHONE"): ("meta_custom_audience", "phone"),
    ("meta_custom_audiences", "FN"): ("meta_custom_audience", "fn"),
    ("meta_custom_audiences", "LN"): ("meta_custom_audience", "ln"),
    ("meta_custom_audiences", "GEN"): ("meta_custom_audience", "gen"),
    ("meta_custom_audiences", "DOBM"): ("meta_custom_audience", "dobm"),
    ("meta_custom_audiences", "CT"): ("meta_custom_audience", "ct"),
    ("meta_custom_audiences", "ZIP"): ("meta_custom_audience", "zip"),
    ("meta_custom_audiences", "COUNTRY"): ("meta_custom_audience", "country"),
    ("meta_custom_audiences", "MADID"): ("meta_custom_audience", "madid"),
    ("uid2", "email"): ("uid2", "email_hash"),
    ("uid2", "phone"): ("uid2", "phone_hash"),
    ("tiktok", "email"): ("tiktok", "Email_SHA256"),
    ("tiktok", "phone"): ("tiktok", "Phone_SHA256"),
    ("tiktok", "maid"): ("tiktok", "MAID_SHA256"),
}  # fmt: skip
OTHER_PLATFORMS = {"x_twitter", "snapchat", "microsoft_advertising"}
COUNTER_EXAMPLE = "COUNTER-EXAMPLE"
SIX = [
    v
    for v in VECTORS
    if v["platform"] not in OTHER_PLATFORMS and COUNTER_EXAMPLE not in v.get("notes", "")
]


def test_every_vector_of_the_six_destinations_is_covered() -> None:
    unmapped = {(v["platform"], v["field"]) for v in SIX if (v["platform"], v["field"]) not in KEYS}
    assert unmapped == {("meta_custom_audiences", "DOB (CAPI db)")}  # tested on its own below
    assert len(SIX) == 54


@pytest.mark.parametrize(
    "vector",
    [v for v in SIX if (v["platform"], v["field"]) in KEYS],
    ids=lambda v: f"{v['id']}-{v['platform'][:12]}-{v['field']}",
)
def test_platform_worked_examples(vector: dict[str, Any]) -> None:
    name, key = KEYS[(vector["platform"], vector["field"])]
    dest = DESTINATIONS[name]
    region = (vector.get("input_context") or {}).get("country")
    normalized = dest.normalise_key(key=key, value=vector["input"], region=region)
    assert normalized == vector["normalized"]
    (rule,) = [r for r in dest.keys if r.key == key]
    if vector.get("send_as", "").startswith("plaintext"):
        assert not rule.hashed, "the platform says: do not hash"
        return
    if name == "meta_custom_audience" and key == "madid":
        assert not rule.hashed, "Meta's API docs: send MADID unhashed, lower-case"
        assert sha256_hex(normalized) == vector["sha256_hex"]  # what the SDK path would send
        return
    sent = dest.encode(normalized)
    if dest.encoding == "base64":
        assert sent == vector["sha256_base64"]
        assert sha256_hex(normalized) == vector["sha256_hex"]
    else:
        assert sent == vector["sha256_hex"]
        if vector.get("sha256_base64"):
            assert sha256_base64(normalized) == vector["sha256_base64"]


def test_meta_date_of_birth_parts_make_the_conversions_api_db_vector() -> None:
    (vector,) = [v for v in VECTORS if v["field"] == "DOB (CAPI db)"]
    meta = DESTINATIONS["meta_custom_audience"]
    parts = [i.normalized for i in meta.identify(field="date_of_birth", value=vector["input"])]
    assert "".join(p or "" for p in parts) == vector["normalized"] == "19970216"
    assert sha256_hex("".join(p or "" for p in parts)) == vector["sha256_hex"]


def test_uid2_counter_example_is_not_what_we_send() -> None:
    (bad,) = [v for v in VECTORS if COUNTER_EXAMPLE in v.get("notes", "")]
    (sent,) = DESTINATIONS["uid2"].identify(field="email", value=bad["input"])
    assert sent.normalized == "janesaoirse@gmail.com"
    assert sent.hash != bad["sha256_base64"]


EDGE_CASES = [
    # destination, field, input, region, normalized
    ("google_customer_match", "email", "  Jane.Doe+Shop@GMAIL.com ", None, "janedoe@gmail.com"),
    ("google_customer_match", "email", "jane.doe+shop@example.com", None, "jane.doe+shop@example.com"),
    ("uid2", "email", "Jane.Doe+Shop@googlemail.com", None, "jane.doe+shop@googlemail.com"),
    ("meta_custom_audience", "email", " Jane.Doe+Shop@Gmail.com", None, "jane.doe+shop@gmail.com"),
    ("tiktok", "email", "Jane.Doe+Shop@Example.com", None, "jane.doe@example.com"),
    ("linkedin", "email", " Jane@Example.COM ", None, "jane@example.com"),
    ("google_customer_match", "phone", "020 7031 3000", "GB", "+442070313000"),
    ("google_customer_match", "phone", "0044 20 7031 3000", "US", "+442070313000"),
    ("meta_custom_audience", "phone", "0491 570 006", "AU", "61491570006"),
    ("uid2", "phone", "0491 570 006", "AU", "+61491570006"),
    ("tiktok", "phone", "(657) 777-0000", "US", "16577770000"),
    ("google_customer_match", "phone", "not a phone", "GB", None),
    ("google_customer_match", "first_name", "Mrs. Zoë", None, "zoë"),
    ("google_customer_match", "last_name", "PÉREZ III", None, "pérez"),
    ("meta_custom_audience", "first_name", "Anne-Marie", None, "annemarie"),
    ("meta_custom_audience", "last_name", "Müller", None, "müller"),
    ("google_customer_match", "postcode", "94303 5300", "US", "94303-5300"),
    ("google_customer_match", "postcode", "9430", "US", None),
    ("meta_custom_audience", "postcode", "SW1A 1AA", "GB", "sw1a1aa"),
    ("meta_custom_audience", "postcode", "94303-5300", "US", "94303"),
    ("google_customer_match", "country", "gbr", None, "GB"),
    ("meta_custom_audience", "country", "United Kingdom", None, "gb"),
    ("meta_custom_audience", "gender", " MALE", None, "m"),
    ("meta_custom_audience", "gender", "x", None, None),
    ("meta_custom_audience", "ad_id", " 5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25", None, "5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "field", "value", "region", "expected"), EDGE_CASES)
def test_edge_cases(
    name: str, field: str, value: str, region: str | None, expected: str | None
) -> None:
    (first, *_) = DESTINATIONS[name].identify(field=field, value=value, region=region)
    assert first.normalized == expected
    if expected is None:
        assert first.hash is None


def test_dates_of_birth_in_every_written_form() -> None:
    meta = DESTINATIONS["meta_custom_audience"]
    for written in ("1997-02-16", "19970216", "2/16/1997"):
        parts = [i.normalized for i in meta.identify(field="date_of_birth", value=written)]
        assert parts == ["1997", "02", "16"], written
    assert [i.normalized for i in meta.identify(field="date_of_birth", value="1850-01-01")] == [
        None,
        None,
        None,
    ]


def test_unknown_field_and_destination_are_refused_by_name() -> None:
    with pytest.raises(AudienceError, match="uid2 takes no `first_name`"):
        DESTINATIONS["uid2"].identify(field="first_name", value="Jane")
    with pytest.raises(AudienceError, match="unknown destination `google`"):
        destination("google")


@given(st.text(max_size=40))
def test_normalisers_never_raise_and_are_idempotent(text: str) -> None:
    for dest in DESTINATIONS.values():
        for rule in dest.keys:
            once = rule.normalise(text, "GB")
            if once is not None and rule.field in ("email", "first_name", "last_name", "city"):
                assert rule.normalise(once, "GB") == once, (dest.name, rule.key, text)


_local = st.text(alphabet="abcXYZ019._+-", min_size=0, max_size=12)
_domain = st.sampled_from(["gmail.com", "googlemail.com", "example.com", "Ex.co.uk", "x", "a.b"])


@settings(max_examples=40)
@given(
    st.lists(
        st.one_of(
            st.builds(lambda local, domain: f"{local}@{domain}", _local, _domain),
            st.text(max_size=20),
            st.from_regex(r"\+[0-9]{6,16}", fullmatch=True),
        ),
        max_size=30,
    )
)
def test_vectorised_paths_agree_with_the_rules(values: list[str]) -> None:
    """The Arrow fast path (clean values) and the scalar rule give the same result."""
    import pandas as pd

    for dest in DESTINATIONS.values():
        members = pd.DataFrame(
            {
                "person_id": [str(i) for i in range(len(values))],
                "email": values,
                "phone": values,
                "country": "GB",
            }
        )
        rows = dest.rows(members).set_index("person_id")
        for i, value in enumerate(values):
            for rule in dest.keys:
                if rule.field not in ("email", "phone") or str(i) not in rows.index:
                    continue
                assert rows.loc[str(i), rule.key] == dest.send(rule, value, "GB"), (
                    dest.name,
                    rule.key,
                    value,
                )
