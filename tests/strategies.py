"""Hypothesis strategies for identifiers as people type them."""

from __future__ import annotations

import phonenumbers
from hypothesis import strategies as st

_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@st.composite
def emails(draw: st.DrawFn) -> str:
    """``" John.Smith+tag@Gmail.com "``-like: case, dots, plus-tags, stray spaces."""
    parts = draw(st.lists(_local, min_size=1, max_size=3))
    local = ".".join(parts)
    if draw(st.booleans()):
        local += "+" + draw(_local)
    domain = draw(st.sampled_from(["gmail.com", "googlemail.com", "example.co.uk", "web.de"]))
    text = f"{local}@{domain}"
    if draw(st.booleans()):
        text = text.upper()
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " "]))


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str, str]:
    """(written form, region, E.164) for valid mobile numbers of several countries."""
    region = draw(st.sampled_from(["GB", "US", "IL", "DE", "ES", "RU"]))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    tail = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    number = phonenumbers.parse(national[:-3] + tail, region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    fmt = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
            ]
        )
    )
    return phonenumbers.format_number(number, fmt), region, e164
