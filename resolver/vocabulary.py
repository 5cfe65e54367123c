"""Tether's shared vocabularies, each declared once: subject types, consent statuses, identifier kinds.

Each is declared in the lowest layer that uses it, here in the resolver:
ingest (``resolver.sources``) checks the subject types and statuses of event
and consent rows, and linking limits and blocklists identifiers by kind
(``resolver.options``). ``consent.ledger``, ``consent.erasure``, the HTTP
schemas (``api.http.schemas``) and the settings (``api.settings``) import
them from here. The purposes are declared by the consent policy
(``consent.purposes.PURPOSES``), the lowest layer that knows them.

Each vocabulary is a ``Literal`` (for mypy, and for pydantic, which shows
its values as the enum of the OpenAPI document) and a tuple of its values in
order (for membership tests, messages and docs), the tuple read from the
``Literal`` so that the two cannot drift apart.

Examples:
    >>> SUBJECT_TYPES
    ('customer', 'cookie', 'device', 'contact', 'email')
    >>> "withdrawn" in CONSENT_STATUSES
    True
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CONSENT_STATUSES",
    "IDENTIFIER_KINDS",
    "SUBJECT_TYPES",
    "ConsentStatus",
    "IdentifierKind",
    "SubjectType",
]

#: Who a consent or an event is about: a CRM customer id, a browser cookie, an app
#: device, a messaging contact, or an email address (stored hashed).
SubjectType = Literal["customer", "cookie", "device", "contact", "email"]
SUBJECT_TYPES: tuple[SubjectType, ...] = get_args(SubjectType)

#: What a consent event says about a purpose.
ConsentStatus = Literal["granted", "denied", "withdrawn"]
CONSENT_STATUSES: tuple[ConsentStatus, ...] = get_args(ConsentStatus)

#: Identifier columns of touchpoints that link records by exact value.
IdentifierKind = Literal["customer_id", "cookie_id", "device_id", "ad_id", "email", "phone"]
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = get_args(IdentifierKind)
