"""The channel capability table is declared once, documented and enforced (issue #15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from resolver import sources
from resolver.channels import (
    CHANNELS,
    ChannelCapability,
    channel_names,
    messaging_channel_names,
    validate_channel,
)
from resolver.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "messaging.md"
ROW = re.compile(
    r"^\| `(?P<name>\w+)` \| (?P<observable>yes|no|unknown) \| (?P<hideable>yes|no|unknown)"
    r" \| `(?P<rule>\w+)`: [^|]+ \| (?P<window>\d+ h|none) \| `(?P<address>\w+)` \|$"
)
FLAG = {"yes": True, "no": False, "unknown": None}


def documented() -> dict[str, dict[str, object]]:
    """The rows of the table in docs/messaging.md, parsed into the code's fields."""
    section = DOC.read_text().split("## The table\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| `")]
    rows = {}
    for line in lines:
        match = ROW.match(line)
        assert match, f"malformed row in docs/messaging.md: {line}"
        window = match["window"]
        rows[match["name"]] = {
            "reads_observable": FLAG[match["observable"]],
            "reads_hideable": FLAG[match["hideable"]],
            "business_initiated": match["rule"],
            "service_window_hours": None if window == "none" else int(window.split()[0]),
            "address": match["address"],
        }
    return rows


def as_row(c: ChannelCapability) -> dict[str, object]:
    return {
        "reads_observable": c.reads_observable,
        "reads_hideable": c.reads_hideable,
        "business_initiated": c.business_initiated,
        "service_window_hours": c.service_window_hours,
        "address": c.address,
    }


def test_the_table_knows_every_channel_the_contacts_source_accepts() -> None:
    assert set(channel_names()) == set(sources.CHANNELS)
    assert set(sources.INTERNATIONAL_CHANNELS) <= set(messaging_channel_names())


def test_the_issue_channels_are_the_messaging_channels() -> None:
    assert set(messaging_channel_names()) == {"whatsapp", "telegram", "viber", "messenger", "sms"}
    assert all(not CHANNELS[name].messaging for name in ("email", "other"))


def test_the_documented_table_is_the_code_table_row_for_row() -> None:
    rows = documented()
    assert list(rows) == list(channel_names())
    for name, capability in CHANNELS.items():
        assert rows[name] == as_row(capability), name


def test_every_messaging_channel_cites_its_sources_in_the_code_and_the_doc() -> None:
    text = DOC.read_text()
    for name in messaging_channel_names():
        capability = CHANNELS[name]
        assert capability.sources, name
        assert all(url.startswith("https://") for url in capability.sources), name
        assert all(f"({url})" in text for url in capability.sources), name
        assert capability.notes, name
        assert f"## {capability.label}" in text, name
    for name in ("email", "other"):
        assert CHANNELS[name].reads_observable is None
        assert CHANNELS[name].reads_hideable is None
        assert CHANNELS[name].business_initiated == "not_assessed"


def test_the_rows_are_consistent() -> None:
    for capability in CHANNELS.values():
        assert capability.name == capability.name.lower()
        if capability.reads_observable is False:
            assert capability.reads_hideable is False, capability.name  # nothing to hide
        if capability.service_window_hours is not None:
            assert capability.service_window_hours > 0


def test_golden_facts() -> None:
    whatsapp = CHANNELS["whatsapp"]
    assert whatsapp.reads_observable and whatsapp.reads_hideable
    assert whatsapp.service_window_hours == 24
    assert whatsapp.business_initiated == "template_to_opted_in"
    assert whatsapp.address == "phone_e164"
    telegram = CHANNELS["telegram"]
    assert telegram.business_initiated == "user_started_bot"
    assert telegram.reads_observable is False  # the Bot API has no read updates
    assert telegram.address == "chat_id"
    assert CHANNELS["sms"].reads_observable is False
    assert CHANNELS["messenger"].service_window_hours == 24
    assert CHANNELS["messenger"].business_initiated == "tagged_after_window"
    assert CHANNELS["messenger"].address == "psid"
    assert CHANNELS["viber"].business_initiated == "subscribed"


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        CHANNELS["fax"] = CHANNELS["sms"]
    with pytest.raises(AttributeError):
        CHANNELS["sms"].service_window_hours = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", ["whatsapp", "WhatsApp", "WHATSAPP", " Telegram ", "sMs"])
def test_validate_channel_accepts_any_case_of_a_known_name(name: str) -> None:
    assert validate_channel(name, where="test") == name.strip().lower()


def test_validate_channel_refuses_a_typo_and_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_channel("whatsap", where="segment `lapsed`, rule.engagement.channel")
    error = caught.value
    assert "segment `lapsed`, rule.engagement.channel" in error.message
    assert "did you mean `whatsapp`?" in error.message
    assert all(name in error.message for name in channel_names())
    assert error.details()["suggestion"] == "whatsapp"
    assert error.details()["known"] == list(channel_names())


def test_validate_channel_without_a_close_name_gives_no_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_channel("carrier pigeon", where="x")
    assert "did you mean" not in caught.value.message
    assert "suggestion" not in caught.value.details()


@pytest.mark.parametrize("value", ["+44 7700 900123", "ann@example.com", 7, None])
def test_validate_channel_never_echoes_a_value_that_is_not_a_name(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_channel(value, where="x")
    if isinstance(value, str):
        assert value not in caught.value.message
