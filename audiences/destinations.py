"""Audience destinations: which identifiers each platform takes, how, and in what shape.

A ``Destination`` lists its keys (the platform's name for each identifier,
the canonical field it comes from, its normaliser, and whether it is hashed),
the hash encoding, the purposes a person needs to be sent, the minimum
audience size, and the batch size of its API. From a table of members (one
row per person: ``person_id`` and canonical fields) it builds the platform's
upload file and the JSON payload batches its API takes. No network calls.

| destination | file | payload | batch |
|---|---|---|---|
| ``google_customer_match`` | Customer Match CSV (``Email, Phone, First Name, Last Name, Country, Zip``) | Data Manager ``audienceMembers:ingest`` / ``:remove``, consent per member | 10,000 members |
| ``meta_custom_audience`` | customer-list CSV (``email, phone, fn, ln, ...``) | ``POST``/``DELETE /{audience_id}/users`` with ``schema``/``data`` and ``session`` | 10,000 rows |
| ``tiktok`` | customer file (``Email_SHA256, Phone_SHA256, MAID_SHA256``) | segment mapping ``add``/``delete`` with ``id_schema`` | 10,000 rows |
| ``linkedin`` | list CSV mirroring the API fields | DMP segment users ``BATCH_CREATE``, ``action`` ADD/REMOVE | 1,000 elements |
| ``uid2`` | ``email_hash, phone_hash`` (Base64) | ``POST /v2/identity/map`` | 5,000 identifiers |
| ``csv_internal`` | unhashed list for the CRM (``messaging_marketing``) | none | - |
| ``crm_call_list`` | unhashed call list for advisors (``personalisation``) | none | - |
| ``whatsapp``, ``telegram``, ``viber``, ``messenger`` | one row per reachable contact (``audiences.outreach``) | one body per contact, addressed for the channel's send API | 1 |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audiences import normalize as n
from audiences.errors import AudienceError

__all__ = ["DESTINATIONS", "FIELDS", "Destination", "Identifier", "KeyRule", "destination"]

FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "postcode",
    "city",
    "country",
    "gender",
    "date_of_birth",
    "ad_id",
)
"""Canonical fields (SPEC §3) a destination may take."""

Normaliser = Callable[[str, str | None], str | None]
"""(value, region) -> the normalised value, or None when it cannot be used."""


def _plain(fn: Callable[[str], str | None]) -> Normaliser:
    return lambda value, _region: fn(value)


def _regional(fn: Callable[..., str | None]) -> Normaliser:
    return lambda value, region: fn(value, region=region)


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyRule:
    """One identifier a platform takes."""

    key: str
    """The platform's name for it (file header or payload key)."""
    field: str
    """The canonical field it comes from."""
    normalise: Normaliser
    hashed: bool = True
    fast: Callable[[pa.Array], pa.Array] | None = None
    """A vectorised path for clean values (null where ``normalise`` must decide)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Identifier:
    """One value as a platform wants it: ``hash`` is ``None`` for keys sent in clear."""

    input: str
    key: str
    normalized: str | None
    hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "key": self.key,
            "normalized": self.normalized,
            "hash": self.hash,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Destination:
    """An ad platform (or the internal CSV) as Tether exports to it."""

    name: str
    keys: tuple[KeyRule, ...]
    purposes: tuple[str, ...]
    """Purposes every exported person needs (SPEC §5, gate at export)."""
    encoding: Literal["hex", "base64", "clear"] = "hex"
    min_size: int = 100
    batch_size: int = 10_000
    payload: Callable[..., Iterator[dict[str, Any]]] | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    """A messaging destination's channel: it sends to contacts (``audiences.outreach``),
    not to hashed identifiers, and ``keys`` is empty."""

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.field for rule in self.keys))

    def encode(self, normalized: str) -> str:
        if self.encoding == "base64":
            return n.sha256_base64(normalized)
        return n.sha256_hex(normalized)

    def identify(self, *, field: str, value: str, region: str | None = None) -> list[Identifier]:
        """The value of a canonical field as this platform wants it, per key it feeds."""
        rules = [r for r in self.keys if r.field == field]
        if not rules:
            raise AudienceError(
                f"{self.name} takes no `{field}`; it takes {', '.join(self.fields)}",
                destination=self.name,
                field=field,
            )
        out = []
        for rule in rules:
            normalized = rule.normalise(value, region)
            digest = (
                self.encode(normalized)
                if normalized is not None and rule.hashed and self.encoding != "clear"
                else None
            )
            out.append(Identifier(input=value, key=rule.key, normalized=normalized, hash=digest))
        return out

    def normalise_key(self, *, key: str, value: str, region: str | None = None) -> str | None:
        (rule,) = [r for r in self.keys if r.key == key]
        return rule.normalise(value, region)

    def rows(self, members: pd.DataFrame) -> pd.DataFrame:
        """One row per member: ``person_id`` and one column per key, as sent.

        ``members`` has ``person_id``, ``country`` (the region for national
        numbers and postcodes) and the canonical fields this destination takes.
        Values that cannot be normalised are empty; a member with no usable key
        is dropped (``unmatchable`` members are counted by the caller). Clean
        values take the rule's vectorised path; the rest, and every distinct
        value once, go through the scalar rule; each distinct normalised value
        is hashed once.
        """
        out = pd.DataFrame({"person_id": members["person_id"].astype(str).to_numpy()})
        regions = (
            members["country"].astype(object).tolist()
            if "country" in members
            else [None] * len(members)
        )
        region = [None if r is None or r != r else str(r) for r in regions]
        for rule in self.keys:
            if rule.field not in members:
                out[rule.key] = None
                continue
            raw = [
                None if v is None or v != v or v == "" else str(v)
                for v in members[rule.field].astype(object).tolist()
            ]
            arr = pa.array(raw, pa.string())
            fast = rule.fast(arr) if rule.fast else pa.nulls(len(raw), pa.string())
            pending = pc.and_(arr.is_valid(), fast.is_null())
            if pc.any(pending).as_py():
                # Values the fast path leaves open: the scalar rule, once per distinct value.
                cache: dict[tuple[str, str | None], str | None] = {}
                fallback: list[str | None] = []
                for i in pc.indices_nonzero(pending).to_pylist():
                    key = (raw[i], region[i])
                    if key not in cache:
                        cache[key] = rule.normalise(key[0], key[1])
                    fallback.append(cache[key])
                fast = pc.replace_with_mask(fast, pending, pa.array(fallback, pa.string()))
            if rule.hashed and self.encoding != "clear":
                out[rule.key] = n.hash_array(fast, encoding=self.encoding).to_pylist()
            else:
                out[rule.key] = fast.to_pylist()
        # A member is matchable by an email, a phone or an ad id; names, places and
        # dates only help those match.
        keys = [r.key for r in self.keys if r.field in ("email", "phone", "ad_id")]
        usable = out[keys].notna().any(axis=1)
        return out[usable].reset_index(drop=True)

    def send(self, rule: KeyRule, value: str, region: str | None) -> str | None:
        """One value as sent for ``rule``: normalised, then hashed if the platform hashes it."""
        normalized = rule.normalise(value, region)
        if normalized is None:
            return None
        return self.encode(normalized) if rule.hashed and self.encoding != "clear" else normalized

    def file_text(self, rows: pd.DataFrame) -> str:
        """The platform's upload file (CSV, quoted only where needed) for these rows."""
        if self.channel is not None:
            from audiences.outreach import OUTREACH_COLUMNS

            return str(
                rows.reindex(columns=list(OUTREACH_COLUMNS)).to_csv(
                    index=False, lineterminator="\n"
                )
            )
        header = [r.key for r in self.keys]
        if self.name in ("csv_internal", "crm_call_list"):
            header = ["person_id", *header]
        frame = rows.reindex(columns=header)
        return str(frame.to_csv(index=False, lineterminator="\n"))

    def payloads(
        self, rows: pd.DataFrame, *, action: Literal["add", "remove"], session_id: int = 0
    ) -> Iterator[dict[str, Any]]:
        """The API request bodies, ``batch_size`` members each (none for ``csv_internal``)."""
        if self.payload is None or rows.empty:
            return iter(())
        return self.payload(self, rows, action=action, session_id=session_id)


def _batches(rows: pd.DataFrame, size: int) -> Iterator[tuple[int, int, pd.DataFrame]]:
    total = (len(rows) + size - 1) // size
    for number in range(total):
        yield number + 1, total, rows.iloc[number * size : (number + 1) * size]


def _values(batch: pd.DataFrame, key: str) -> list[Any]:
    return [None if v is None or v is pd.NA else v for v in batch[key].tolist()]


def _google_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, **_context: Any
) -> Iterator[dict[str, Any]]:
    """Data Manager API ``audienceMembers:ingest`` / ``audienceMembers:remove``.

    Each member carries its own ``consent`` (``adUserData``, ``adPersonalization``):
    Customer Match needs both granted for EEA users, and member-level consent
    overrides the request's (Data Manager reference ``AudienceMember.consent``).
    A member has at most 10 identifiers; requests at most 10,000 members.
    """
    for number, total, batch in _batches(rows, dest.batch_size):
        members = []
        for record in batch.to_dict(orient="records"):
            identifiers: list[dict[str, Any]] = []
            if record.get("Email"):
                identifiers.append({"emailAddress": record["Email"]})
            if record.get("Phone"):
                identifiers.append({"phoneNumber": record["Phone"]})
            address = {
                "givenName": record.get("First Name"),
                "familyName": record.get("Last Name"),
                "regionCode": record.get("Country"),
                "postalCode": record.get("Zip"),
            }
            if all(address.values()):
                identifiers.append({"address": address})
            if not identifiers:
                continue
            member: dict[str, Any] = {"userData": {"userIdentifiers": identifiers[:10]}}
            if action == "add":
                member["consent"] = {
                    "adUserData": "CONSENT_GRANTED",
                    "adPersonalization": "CONSENT_GRANTED",
                }
            members.append(member)
        yield {
            "method": "POST",
            "path": "audienceMembers:ingest" if action == "add" else "audienceMembers:remove",
            "batch": number,
            "batches": total,
            "body": {"encoding": "HEX", "audienceMembers": members},
        }


def _meta_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, session_id: int
) -> Iterator[dict[str, Any]]:
    """Meta ``/{audience_id}/users``: ``POST`` to add, ``DELETE`` to remove; a multi-key
    ``schema``/``data`` payload with unknown keys as ``""`` and a ``session`` spanning
    the batches (``batch_seq``, ``last_batch_flag``, ``estimated_num_total``), at most
    10,000 rows a request. Source: developers.facebook.com/docs/marketing-api/
    reference/custom-audience/users.
    """
    schema = [r.key.upper() for r in dest.keys]
    keys = [r.key for r in dest.keys]
    for number, total, batch in _batches(rows, dest.batch_size):
        data = [
            ["" if v is None or v is pd.NA else v for v in record]
            for record in batch[keys].itertuples(index=False)
        ]
        yield {
            "method": "POST" if action == "add" else "DELETE",
            "path": "{audience_id}/users",
            "batch": number,
            "batches": total,
            "body": {
                "payload": {"schema": schema, "is_raw": True, "data": data},
                "session": {
                    "session_id": session_id,
                    "batch_seq": number,
                    "last_batch_flag": number == total,
                    "estimated_num_total": len(rows),
                },
            },
        }


def _tiktok_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, **_context: Any
) -> Iterator[dict[str, Any]]:
    """TikTok segment mapping: ``action`` add/delete, ``id_schema`` and ``batch_data``
    rows in that order (shape from connector documentation; the customer file is
    TikTok's documented route).
    """
    schema = [r.key.upper() for r in dest.keys]
    keys = [r.key for r in dest.keys]
    for number, total, batch in _batches(rows, dest.batch_size):
        yield {
            "method": "POST",
            "path": "segment/mapping/",
            "batch": number,
            "batches": total,
            "body": {
                "action": "add" if action == "add" else "delete",
                "id_schema": schema,
                "batch_data": [
                    ["" if v is None or v is pd.NA else v for v in record]
                    for record in batch[keys].itertuples(index=False)
                ],
            },
        }


def _linkedin_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, **_context: Any
) -> Iterator[dict[str, Any]]:
    """LinkedIn DMP segment users, ``X-RestLi-Method: BATCH_CREATE``: one element per
    member with ``action`` ADD or REMOVE, ``userIds`` (``SHA256_EMAIL``: 64 hex
    characters; ``GOOGLE_AID`` in clear) and names and country in clear. Source:
    learn.microsoft.com/linkedin/marketing/matched-audiences/create-and-manage-segment-users.
    """
    for number, total, batch in _batches(rows, dest.batch_size):
        elements = []
        for record in batch.to_dict(orient="records"):
            ids = []
            if record.get("email"):
                ids.append({"idType": "SHA256_EMAIL", "idValue": record["email"]})
            if record.get("googleaid"):
                ids.append({"idType": "GOOGLE_AID", "idValue": record["googleaid"]})
            if not ids:
                continue
            element: dict[str, Any] = {
                "action": "ADD" if action == "add" else "REMOVE",
                "userIds": ids,
            }
            for key, name in (
                ("firstname", "firstName"),
                ("lastname", "lastName"),
                ("country", "country"),
            ):
                if record.get(key):
                    element[name] = record[key]
            elements.append(element)
        yield {
            "method": "POST",
            "path": "dmpSegments/{segment_id}/users",
            "headers": {"X-RestLi-Method": "BATCH_CREATE"},
            "batch": number,
            "batches": total,
            "body": {"elements": elements},
        }


def _uid2_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, **_context: Any
) -> Iterator[dict[str, Any]]:
    """UID2 ``POST /v2/identity/map`` with Base64 SHA-256 ``email_hash`` and
    ``phone_hash`` lists. UID2 has no removal call: a ``remove`` set goes to the
    DSP segment that holds the raw UID2s, so removals are written as files only.
    Source: unifiedid.com/docs/endpoints/post-identity-map.
    """
    if action != "add":
        return
    for number, total, batch in _batches(rows, dest.batch_size):
        yield {
            "method": "POST",
            "path": "v2/identity/map",
            "batch": number,
            "batches": total,
            "body": {
                "email_hash": [v for v in _values(batch, "email_hash") if v],
                "phone_hash": [v for v in _values(batch, "phone_hash") if v],
            },
        }


def _messaging_payload(
    dest: Destination, rows: pd.DataFrame, *, action: str, **_context: Any
) -> Iterator[dict[str, Any]]:
    """One request body per contact, addressed as the channel's send API addresses it.

    Tether sends nothing: a sender fills in the content (the approved
    WhatsApp template named in ``[destinations.whatsapp] template``, or the
    text). A removal is a line the sender uses to stop (``action: remove``).
    """
    template = dest.extra.get("template")
    language = dest.extra.get("language", "en")
    for row in rows.to_dict("records"):
        body: dict[str, Any] = {"action": action, "person_id": row["person_id"]}
        if action == "remove":
            body["contact_id"] = row.get("contact_id")
        elif dest.channel == "whatsapp":
            body.update(
                messaging_product="whatsapp",
                recipient_type="individual",
                to=str(row["address"]).lstrip("+"),
            )
            if row["message_kind"] == "template":
                body.update(
                    type="template", template={"name": template, "language": {"code": language}}
                )
        elif dest.channel == "telegram":
            body.update(chat_id=row["address"])
        elif dest.channel == "viber":
            body.update(receiver=row["address"])
        elif dest.channel == "messenger":  # only inside the window: a response
            body.update(recipient={"id": row["address"]}, messaging_type="RESPONSE")
        if action == "add":
            body.update(window_open=bool(row["window_open"]), window_until=row["window_until"])
        yield body


def _rule(
    key: str,
    field: str,
    fn: Normaliser,
    *,
    hashed: bool = True,
    fast: Callable[[pa.Array], pa.Array] | None = None,
) -> KeyRule:
    return KeyRule(key=key, field=field, normalise=fn, hashed=hashed, fast=fast)


#: The CRM's own lists (``csv_internal``, ``crm_call_list``): clear values, nothing hashed.
_CLEAR_KEYS = (
    _rule("email", "email", _plain(n.plain_email), hashed=False),
    _rule("phone", "phone", _regional(n.e164), hashed=False),
    _rule("first_name", "first_name", _plain(n.clear_name), hashed=False),
    _rule("last_name", "last_name", _plain(n.clear_name), hashed=False),
    _rule("country", "country", _plain(n.country_code), hashed=False),
)

DESTINATIONS: dict[str, Destination] = {
    d.name: d
    for d in (
        Destination(
            name="google_customer_match",
            keys=(
                _rule(
                    "Email",
                    "email",
                    _plain(n.google_email),
                    fast=n.fast_email(fold=("gmail.com", "googlemail.com")),
                ),
                _rule("Phone", "phone", _regional(n.google_phone), fast=n.fast_e164(plus=True)),
                _rule("First Name", "first_name", _plain(n.google_first_name)),
                _rule("Last Name", "last_name", _plain(n.google_last_name)),
                _rule("Country", "country", _plain(n.google_country), hashed=False),
                _rule("Zip", "postcode", _regional(n.google_postcode), hashed=False),
            ),
            purposes=("ad_targeting",),
            payload=_google_payload,
            notes="Country and Zip in clear (support.google.com/google-ads/answer/7474263).",
        ),
        Destination(
            name="meta_custom_audience",
            keys=(
                _rule("email", "email", _plain(n.meta_email), fast=n.fast_email()),
                _rule("phone", "phone", _regional(n.digits_phone), fast=n.fast_e164(plus=False)),
                _rule("fn", "first_name", _plain(n.meta_name)),
                _rule("ln", "last_name", _plain(n.meta_name)),
                _rule("zip", "postcode", _regional(n.meta_zip)),
                _rule("ct", "city", _plain(n.meta_city)),
                _rule("country", "country", _plain(n.meta_country)),
                _rule("doby", "date_of_birth", lambda v, _r: n.meta_dob_part(v, part="y")),
                _rule("dobm", "date_of_birth", lambda v, _r: n.meta_dob_part(v, part="m")),
                _rule("dobd", "date_of_birth", lambda v, _r: n.meta_dob_part(v, part="d")),
                _rule("gen", "gender", _plain(n.meta_gender)),
                _rule("madid", "ad_id", _plain(n.lower_ad_id), hashed=False),
            ),
            purposes=("ad_targeting",),
            payload=_meta_payload,
            notes="MADID unhashed, lower-case (Meta: hashing not required).",
        ),
        Destination(
            name="tiktok",
            keys=(
                _rule(
                    "Email_SHA256",
                    "email",
                    _plain(n.tiktok_email),
                    fast=n.fast_email(plus_everywhere=True),
                ),
                _rule(
                    "Phone_SHA256", "phone", _regional(n.digits_phone), fast=n.fast_e164(plus=False)
                ),
                _rule("MAID_SHA256", "ad_id", _plain(n.lower_ad_id)),
            ),
            purposes=("ad_targeting",),
            min_size=1000,
            payload=_tiktok_payload,
            notes="A TikTok customer file needs at least 1,000 entries.",
        ),
        Destination(
            name="linkedin",
            keys=(
                _rule("email", "email", _plain(n.plain_email), fast=n.fast_email()),
                _rule("firstname", "first_name", _plain(n.clear_name), hashed=False),
                _rule("lastname", "last_name", _plain(n.clear_name), hashed=False),
                _rule("country", "country", _plain(n.google_country), hashed=False),
                _rule("googleaid", "ad_id", _plain(n.lower_ad_id), hashed=False),
            ),
            purposes=("ad_targeting",),
            min_size=300,
            batch_size=1000,
            payload=_linkedin_payload,
            notes="LinkedIn serves a list from 300 matched members.",
        ),
        Destination(
            name="uid2",
            keys=(
                _rule(
                    "email_hash",
                    "email",
                    _plain(n.uid2_email),
                    fast=n.fast_email(fold=("gmail.com",)),
                ),
                _rule(
                    "phone_hash", "phone", _regional(n.google_phone), fast=n.fast_e164(plus=True)
                ),
            ),
            purposes=("ad_targeting",),
            encoding="base64",
            batch_size=5000,
            payload=_uid2_payload,
        ),
        Destination(
            name="csv_internal",
            keys=_CLEAR_KEYS,
            purposes=("messaging_marketing",),
            encoding="clear",
            min_size=1,
            notes="Unhashed, for the CRM; only persons with messaging_marketing consent.",
        ),
        Destination(
            name="crm_call_list",
            keys=_CLEAR_KEYS,
            purposes=("personalisation",),
            encoding="clear",
            min_size=1,
            notes=(
                "Unhashed, for advisors to call: gated on personalisation, the purpose of "
                "the advisor_call action (audiences/actions.py)."
            ),
        ),
        *(
            Destination(
                name=channel,
                keys=(),
                purposes=("messaging_marketing",),
                encoding="clear",
                min_size=1,
                batch_size=1,
                payload=_messaging_payload,
                channel=channel,
                notes=note,
            )
            for channel, note in (
                ("whatsapp", "WhatsApp: opted-in contacts; a template outside the 24 h window."),
                ("telegram", "Telegram: users who started the bot and have not blocked it."),
                ("viber", "Viber: subscribed users of the bot."),
                ("messenger", "Messenger: inside the 24 h window after the person wrote."),
            )
        ),
    )
}


def destination(name: str, **overrides: Any) -> Destination:
    """A destination by name, optionally with ``min_size`` or ``purposes`` overridden."""
    try:
        base = DESTINATIONS[name]
    except KeyError:
        raise AudienceError(
            f"unknown destination `{name}`; known: {', '.join(DESTINATIONS)}", destination=name
        ) from None
    if not overrides:
        return base
    from dataclasses import replace

    return replace(base, **overrides)
