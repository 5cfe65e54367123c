"""The channel capability table: what each contact channel lets a business see and do.

Declared once here (issue #15) and documented, with the platform pages each
rule comes from, in ``docs/messaging.md``; a test keeps the two equal. It
answers three questions per channel:

- can the business observe that a message was read, and can the user hide it?
  Where reads cannot be seen, read / delivered is not an engagement measure
  (a receipts-off WhatsApp user is ``unknown``, not 0);
- may the business start a conversation, and under which rule, and for how
  long after the user's last message may it write freely (the service window)?
- which address does the channel send to (a phone in E.164, a chat id, a
  page-scoped id)?

``email`` and ``other`` are not messaging channels; they are here because the
``contacts`` source accepts them, and every fact about them is ``None``
(unknown). Channel names anywhere in configuration or segments go through
``validate_channel``. The module imports only the standard library: the CLI
and the config loader can use it without loading pandas.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from resolver.errors import ConfigError

__all__ = [
    "CHANNELS",
    "Address",
    "BusinessInitiated",
    "ChannelCapability",
    "channel_names",
    "messaging_channel_names",
    "validate_channel",
]

BusinessInitiated = Literal[
    "template_to_opted_in",
    "tagged_after_window",
    "user_started_bot",
    "subscribed",
    "opted_in",
    "not_assessed",
]
"""Who may start a conversation, one value per rule (``docs/messaging.md`` spells each out).

- ``template_to_opted_in``: only with a pre-approved template, only to users who
  opted in to messages from the business (WhatsApp);
- ``tagged_after_window``: the user must have written first; after the standard
  window only tagged or template (utility) messages (Messenger);
- ``user_started_bot``: only users who started the bot and have not blocked it (Telegram);
- ``subscribed``: only users subscribed to the bot (Viber chatbots);
- ``opted_in``: any time, to users who gave (regulatory) consent (SMS);
- ``not_assessed``: not a messaging channel; Tether states no rule (email, other).
"""

Address = Literal["phone_e164", "chat_id", "psid", "viber_user_id", "email", "unknown"]
"""What a message is addressed to: a phone number in E.164 (``+447700900123``), a
Telegram chat id (for a user, their numeric user id), a Messenger page-scoped id
(PSID, one per user per Facebook Page), a Viber user id (one per user per bot),
an email address, or nothing Tether knows of."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelCapability:
    """What one channel lets a business observe and do (one row of ``docs/messaging.md``).

    ``None`` in ``reads_observable`` / ``reads_hideable`` means unknown: the
    channel is not a messaging channel Tether assesses. ``reads_hideable`` is
    ``True`` where a user setting (or an unverified one, see ``notes``) can stop
    read receipts: then a contact with deliveries but never a read is
    ``unknown``, not unengaged.
    """

    name: str
    """The lower-case name used in data, config and segments (``whatsapp``)."""
    label: str
    """The platform's own name, for people (``WhatsApp``)."""
    product: str
    """Which business product or API the row describes (a platform may have several)."""
    messaging: bool
    """A messaging channel with its own rules (False for ``email`` and ``other``)."""
    reads_observable: bool | None
    """The business can be told that its message was read (a read webhook or receipt)."""
    reads_hideable: bool | None
    """The user can stop the business seeing reads (for example read receipts off)."""
    business_initiated: BusinessInitiated
    """Who may start a conversation, and under which rule."""
    service_window_hours: int | None
    """Hours after the user's last message during which the business may write freely
    (None: no such window governs what the business may send)."""
    address: Address
    """What the channel sends to."""
    notes: str
    """Limits, exceptions and anything that could not be verified."""
    sources: tuple[str, ...]
    """The platform pages (URLs) the rules come from; ``docs/messaging.md`` quotes them."""


_WHATSAPP = ChannelCapability(
    name="whatsapp",
    label="WhatsApp",
    product="WhatsApp Business Platform (Cloud API)",
    messaging=True,
    reads_observable=True,
    reads_hideable=True,
    business_initiated="template_to_opted_in",
    service_window_hours=24,
    address="phone_e164",
    notes=(
        "A user's message or call opens (or resets) a 24-hour customer service window "
        "for free-form messages; outside it only approved templates, and only to users "
        "who opted in. The status webhook reports sent/delivered/read; a user with read "
        "receipts off yields no read status (Meta's own pages describe the webhook, the "
        "receipts-off case is confirmed by providers, not by a Meta page we found)."
    ),
    sources=(
        "https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages",
        "https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/",
        "https://business.whatsapp.com/policy",
    ),
)

_TELEGRAM = ChannelCapability(
    name="telegram",
    label="Telegram",
    product="Telegram Bot API",
    messaging=True,
    reads_observable=False,
    reads_hideable=False,
    business_initiated="user_started_bot",
    service_window_hours=None,
    address="chat_id",
    notes=(
        "Bots cannot start conversations: a user must message the bot (/start) first, "
        "and a bot the user blocked gets 403 Forbidden. The Bot API has no read update "
        "for messages a bot sends, so reads are never observable (user-to-user chats "
        "show reads; bots do not get them). A private chat is addressed by the user's "
        "numeric id; @username addresses only channels."
    ),
    sources=(
        "https://core.telegram.org/bots",
        "https://core.telegram.org/bots/api#update",
        "https://core.telegram.org/bots/api#sendmessage",
    ),
)

_VIBER = ChannelCapability(
    name="viber",
    label="Viber",
    product="Viber REST Bot API (chatbots)",
    messaging=True,
    reads_observable=True,
    reads_hideable=True,
    business_initiated="subscribed",
    service_window_hours=None,
    address="viber_user_id",
    notes=(
        "A bot may message only subscribed users (a user subscribes by pressing "
        "subscribe or by messaging the bot); a user who only opened the chat can get "
        "one welcome message. 'seen' callbacks report reads, once per opening of the "
        "chat. Viber lets users turn off their 'seen' status; that this also hides it "
        "from bots is not verified. The 24-hour session of Viber's commercial model is "
        "billing, not a permission. Viber Business Messages (sent to phone numbers "
        "through Viber partners) is a different product, not described here."
    ),
    sources=(
        "https://developers.viber.com/docs/api/rest-bot-api/#send-message",
        "https://developers.viber.com/docs/api/rest-bot-api/#callbacks",
    ),
)

_MESSENGER = ChannelCapability(
    name="messenger",
    label="Messenger",
    product="Messenger Platform (Send API)",
    messaging=True,
    reads_observable=True,
    reads_hideable=True,
    business_initiated="tagged_after_window",
    service_window_hours=24,
    address="psid",
    notes=(
        "The conversation must be initiated by the person; the standard messaging window "
        "is 24 hours (up to 7 days after a Click-to-Messenger ad). After it, only tagged "
        "messages (HUMAN_AGENT: a person replying within 7 days) and approved utility "
        "templates; CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE and ACCOUNT_UPDATE are "
        "documented tags that third parties report as replaced by utility messages (not "
        "verified on Meta's pages). Reads arrive through the message_reads webhook; "
        "whether a user can hide them from a Page is not verified (sources disagree)."
    ),
    sources=(
        "https://developers.facebook.com/documentation/business-messaging/messenger-platform/policy/",
        "https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages",
        "https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags/",
        "https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/utility-messages",
        "https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-reads",
    ),
)

_SMS = ChannelCapability(
    name="sms",
    label="SMS",
    product="SMS (through any aggregator)",
    messaging=True,
    reads_observable=False,
    reads_hideable=False,
    business_initiated="opted_in",
    service_window_hours=None,
    address="phone_e164",
    notes=(
        "SMS has delivery reports but no read receipts. There is no platform rule on who "
        "starts a conversation; marketing texts need the recipient's prior consent in "
        "most jurisdictions (EU/UK ePrivacy and PECR, with a narrow soft opt-in; US TCPA "
        "and carrier rules: express written consent) and must honour STOP. This is a "
        "summary, not legal advice."
    ),
    sources=(
        "https://ico.org.uk/for-organisations/guide-to-pecr/guidance-on-direct-marketing-using-electronic-mail/how-do-we-comply-with-the-rules-on-sending-marketing-by-electronic-mail/",
        "https://www.twilio.com/docs/api/errors/30831",
    ),
)

_EMAIL = ChannelCapability(
    name="email",
    label="Email",
    product="not a messaging channel",
    messaging=False,
    reads_observable=None,
    reads_hideable=None,
    business_initiated="not_assessed",
    service_window_hours=None,
    address="email",
    notes="Accepted by the contacts source; Tether assesses no messaging rule for it.",
    sources=(),
)

_OTHER = ChannelCapability(
    name="other",
    label="Other",
    product="not a messaging channel",
    messaging=False,
    reads_observable=None,
    reads_hideable=None,
    business_initiated="not_assessed",
    service_window_hours=None,
    address="unknown",
    notes="Any other channel the contacts source accepts; nothing is known of it.",
    sources=(),
)

CHANNELS: Mapping[str, ChannelCapability] = MappingProxyType(
    {c.name: c for c in (_WHATSAPP, _TELEGRAM, _VIBER, _MESSENGER, _SMS, _EMAIL, _OTHER)}
)
"""Every channel name Tether accepts, in documentation order, to its capabilities."""

# A name is echoed in an error only if it looks like a name: a value from a data
# file could be an email address or a phone number (resolver/errors.py).
_ECHOABLE = re.compile(r"[A-Za-z][A-Za-z0-9 _.-]{0,31}")


def channel_names() -> tuple[str, ...]:
    """Every known channel name (messaging or not), in documentation order."""
    return tuple(CHANNELS)


def messaging_channel_names() -> tuple[str, ...]:
    """The messaging channels (those with rules: whatsapp, telegram, viber, messenger, sms)."""
    return tuple(name for name, c in CHANNELS.items() if c.messaging)


def validate_channel(name: object, *, where: str) -> str:
    """Return ``name`` as a known channel name (any case, surrounding spaces ignored).

    A typo must not silently select nobody (``whatsap`` in a segment), so an
    unknown name raises ``ConfigError`` naming ``where`` it was written (for
    example ``segment `lapsed`, rule.engagement.channel``), the known names and
    the closest one. Channel names are written in configuration and segment
    files, hence ``ConfigError``; rows of a ``contacts`` file with an unknown
    channel are quarantined by the source instead.
    """
    known = channel_names()
    if isinstance(name, str):
        key = name.strip().lower()
        if key in CHANNELS:
            return key
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        shown = f"`{name}`" if _ECHOABLE.fullmatch(name.strip()) else "the value given"
    else:
        close, shown = [], f"a {type(name).__name__}"
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise ConfigError(
        f"{where}: {shown} is not a channel (known: {', '.join(known)}){hint}",
        field=where,
        known=list(known),
        suggestion=close[0] if close else None,
    )
