"""The source tables of one chunk, built from its people the way each system records them.

* ``crm``: one row per customer, plus 1-5 duplicate rows for a minority (a
  second registration with a nickname, a typo, another script, an old email
  or phone, the address before a move, the maiden name).
* ``loyalty``: an acquired company's / card programme's customer list with
  its own ids (``L1234567``), duplicate-free within itself, mostly Latin
  upper case, linkable to the CRM by person fields and sometimes by email or
  phone (often an old one).
* ``web``: sessions (first-party analytics cookie, IP, user agent). Cookies
  churn (Safari's ITP caps them at days), browsers update their user agent
  every few weeks, households share a dynamic home IP, offices and mobile
  carriers' NAT addresses are shared by many. Some sessions are logged in,
  some carry a newsletter email or a lead form with name, email, phone and
  postcode; in-app sessions carry the device id. How many identify depends
  on the ``WebRegime``:

  - ``bank`` (the default): the site of a bank. Customers who bank online
    make most of the visits (twice their planned sessions, at most 400;
    everyone else a quarter of theirs) and log in on 40 % of the sessions of their main
    browser, so about 85 % of those sessions are on a cookie that logs in
    at some point; 90 % of them also bank from their other browsers, where
    they log in on 35 % of sessions; in the app on 90 %. Customers who do
    not bank online and prospects never log in (newsletter and lead forms
    only). User agents follow each browser's release calendar (every four
    to eight weeks, the same release for everyone, installed up to two
    weeks late), so a browser keeps its user agent across churned cookies
    and household members on the same phone and browser share it at one
    home IP. A home IP lasts weeks to months; at a change, three times in
    ten the ISP hands out an address another household released earlier.
  - ``anonymous``: the world as first written: any business's site, every
    person with their planned sessions, logins on half the sessions of 80 %
    of online customers' main browsers; about 80 % of sessions anonymous and
    a quarter of cookies ever identify, which caps any linker's recall near
    0.5. User agents bump every four weeks at each browser's own phase; a
    household's home IP changes at most three times and is never handed on
    (within a chunk). Kept to stress browser stitching.
* ``app``: installs with advertising ids (zeroed on iOS after an App
  Tracking Transparency refusal), reinstalls with a new device id.
* ``messaging``: WhatsApp and Viber contacts (phone in international
  digits), Telegram (handle, sometimes a phone), Messenger (display name
  only); display names in any script, nicknames and emoji.
* ``events``, ``interactions``, ``consents``: page views and messages,
  CRM interactions, consent decisions per subject (with withdrawals).

Row-by-row Python builds the small, detail-rich sources; sessions, events
and consents (most of the volume) are built with numpy arrays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from api.worlds.harder.ids import (
    WINDOW_DAYS,
    hex16,
    iso_local,
    iso_utc,
    local_offsets,
    mix64,
    permute,
    permute_int,
    uuid_strings,
    window_start,
)
from api.worlds.harder.noise import FastRandom, email_typo, spacing
from api.worlds.harder.people import (
    Household,
    Person,
    Phone,
    address_text,
    city_text,
    dob_text,
    first_name_text,
    last_name_text,
    pick,
    postcode_text,
    row_script,
    style_case,
)
from api.worlds.harder.places import (
    CARRIER_IPS,
    HOME_BLOCKS,
    IPV6_PREFIX,
    OFFICE_BLOCKS,
    TIMEZONE,
)
from consent.purposes import PURPOSES

__all__ = ["CATEGORIES", "COLUMNS", "ChunkTables", "WebRegime", "build_chunk"]

#: How observable web visitors are: ``bank`` (customers log into online banking; the
#: default) or ``anonymous`` (hardly anyone identifies); see the module docstring.
WebRegime = Literal["bank", "anonymous"]

CATEGORIES = ("mortgage", "savings", "cards", "loans", "insurance", "investments", "pensions")

COLUMNS: dict[str, list[str]] = {
    "crm": [
        "customer_id", "email", "phone", "first_name", "last_name", "date_of_birth", "gender",
        "address", "city", "postcode", "country", "created_at",
    ],
    "loyalty": [
        "customer_id", "email", "phone", "first_name", "last_name", "date_of_birth", "gender",
        "address", "city", "postcode", "country", "created_at",
    ],
    "web": [
        "session_id", "started_at", "cookie_id", "device_id", "ip", "user_agent", "customer_id",
        "email", "phone", "first_name", "last_name", "postcode", "city", "country", "tc_string",
        "gpc",
    ],
    "app": [
        "device_id", "first_seen", "last_seen", "ad_id", "platform", "ip", "customer_id", "email",
        "phone",
    ],
    "messaging": ["contact_id", "channel", "phone", "handle", "display_name", "email", "customer_id"],
    "events": ["subject_type", "subject_id", "ts", "event_type", "category", "url", "value", "channel"],
    "interactions": ["customer_id", "ts", "kind", "outcome", "value"],
    "consents": [
        "subject_type", "subject_id", "purpose", "status", "recorded_at", "source", "evidence",
        "expires_at", "event_id",
    ],
}  # fmt: skip
KEY_COLUMN = {"crm": "customer_id", "loyalty": "customer_id", "web": "session_id",
              "app": "device_id", "messaging": "contact_id"}  # fmt: skip

ZERO_AD_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_EMAILS = ("noemail@noemail.com", "none@none.com", "no@email.com", "test@test.com", "na@na.com")  # fmt: skip
PLACEHOLDER_PHONES = ("0000000000", "000-000-0000", "1234567890", "0500000000", "+972500000000", "9999999999")  # fmt: skip

_DAY = 86_400
_SALT = {"crm": 21, "loyalty": 22, "device": 23, "session": 24, "cookie": 25, "contact": 26,
         "home_ip": 27, "office_ip": 28, "consent": 29}  # fmt: skip


@dataclass(slots=True)
class ChunkTables:
    """What one chunk produced: tables, labels and the hard-case placeholders it used."""

    tables: dict[str, pd.DataFrame]
    labels: pd.DataFrame
    placeholder_people: list[str] = field(default_factory=list)


# --- browsers and user agents -------------------------------------------------------------

# name, device class (0 desktop, 1 phone, 2 tablet), ITP-style short cookie life, user agent template.
_BROWSERS: tuple[tuple[str, int, bool, str], ...] = (
    ("chrome_win", 0, False, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
    ("edge_win", 0, False, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0"),
    ("firefox_win", 0, False, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0"),
    ("chrome_mac", 0, False, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
    ("safari_mac", 0, True, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{s} Safari/605.1.15"),
    ("yandex_win", 0, False, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 YaBrowser/25.{m}.0.0 Safari/537.36"),
    ("safari_iphone", 1, True, "Mozilla/5.0 (iPhone; CPU iPhone OS {i} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{s} Mobile/15E148 Safari/604.1"),
    ("chrome_android", 1, False, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36"),
    ("samsung_android", 1, False, "Mozilla/5.0 (Linux; Android 14; SAMSUNG {model}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{g}.0 Chrome/{v}.0.0.0 Mobile Safari/537.36"),
    ("safari_ipad", 2, True, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{s} Safari/605.1.15"),
    ("app_ios", 1, False, "BankApp/5.{m}.0 (iPhone; iOS 18.{m}; Scale/3.00)"),
    ("app_android", 1, False, "BankApp/5.{m}.0 (Linux; Android 14; {model})"),
)  # fmt: skip
_MODELS = ("SM-S911B", "SM-A546B", "SM-G991B", "SM-A155F")
_VERSIONS = 8  # user agents change every four weeks: eight versions span the window
_APP_IOS, _APP_ANDROID = 10, 11
_BROWSER_MIX = {
    "IL": (25, 5, 3, 4, 5, 0, 25, 30, 3, 3), "RU": (20, 3, 5, 3, 4, 20, 12, 30, 6, 2),
    "UA": (20, 3, 5, 3, 4, 18, 12, 32, 6, 2), "GB": (18, 7, 3, 2, 10, 0, 30, 25, 5, 4),
    "US": (20, 6, 4, 5, 10, 0, 35, 20, 3, 5),
}  # fmt: skip
_IOS_SHARE = {"IL": 0.45, "RU": 0.3, "UA": 0.25, "GB": 0.5, "US": 0.55}

# The bank regime (see ``WebRegime``). Release calendars per browser kind (``_BROWSERS``
# order): Chromium-based browsers and Firefox ship a major version every four weeks, the
# bank's app every five, Samsung Internet every six, Safari (with iOS / macOS point
# releases) every eight; a browser installs each release up to two weeks late.
_RELEASE_DAYS = np.array([28, 28, 28, 28, 56, 28, 56, 28, 42, 56, 35, 35], dtype=np.int64)
_RELEASE_OFFSET = np.array([3, 5, 17, 3, 30, 11, 30, 3, 20, 30, 8, 15], dtype=np.int64)
_UPDATE_LAG = 14.0
#: An online-banking customer banks from their main browser / another browser ...
_BANK_BROWSER = (1.0, 0.9)
#: ... and logs in on this share of its sessions (main, other), in the app on most. With
#: long-lived cookies about 85 % of main-browser sessions are on a cookie that logs in.
_BANK_LOGIN = (0.4, 0.35)
_BANK_LOGIN_APP = 0.9
#: Session volume relative to the plan: online bankers visit more, everyone else less.
_BANK_VOLUME = (2.0, 0.25)
_MAX_SESSIONS = 400  # the plan's cap: two visits a day
#: Share of home-IP changes that hand out an address another household released earlier.
_REASSIGNED = 0.3


def _user_agents() -> list[str]:
    """Every user agent string: browser kind x model x version (index with ``_ua_index``)."""
    out = []
    for _, _, _, template in _BROWSERS:
        for model in _MODELS:
            for v in range(_VERSIONS):
                out.append(
                    template.format(
                        v=134 + v,
                        f=137 + v,
                        s=f"18.{v % 7}",
                        i=f"18_{v % 7}",
                        m=v + 1,
                        g=27 + v // 3,
                        model=model,
                    )  # fmt: skip
                )
    return out


_UA = np.array(_user_agents(), dtype=object)


def _ua_index(kind: np.ndarray, model: np.ndarray, version: np.ndarray) -> np.ndarray:
    """Row of ``_UA`` for a browser kind, device model and version."""
    return np.asarray((kind * len(_MODELS) + model) * _VERSIONS + version, dtype=np.int64)


def _ip_text(values: np.ndarray) -> np.ndarray:
    """Dotted quads for uint32 addresses (formatted once per distinct address)."""
    unique, inverse = np.unique(values, return_inverse=True)
    texts = np.array(
        [f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}" for v in unique.tolist()],
        dtype=object,
    )
    return np.asarray(texts[inverse], dtype=object)


def _block_address(index: np.ndarray, blocks: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The address at ``index`` within a list of /16 blocks, as an integer."""
    firsts = np.array([(a << 24) | (b << 16) for a, b in blocks], dtype=np.int64)
    return np.asarray(firsts[index >> 16] | (index & 0xFFFF), dtype=np.int64)


@dataclass(slots=True)
class _HomeIps:
    """Home address serials per person and IP period (bank regime; see ``home_ip_plan``)."""

    offset: np.ndarray
    """Per person: where their household's periods start in ``serials``."""
    shift: np.ndarray
    period: np.ndarray
    serials: np.ndarray

    def serial(self, person: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The home address serial of ``person`` on day ``days`` of the window."""
        epoch = ((days + self.shift[person]) // self.period[person]).astype(np.int64)
        return np.asarray(self.serials[self.offset[person] + epoch], dtype=np.int64)


# --- the chunk builder ----------------------------------------------------------------------


class _Builder:
    """Builds every table of one chunk; keeps the cross-source state (ids, devices, cookies)."""

    def __init__(
        self,
        people: list[Person],
        *,
        seed: int,
        chunk: int,
        now: datetime,
        used_handles: set[str],
        shared_devices: list[tuple[Person, Person]],
        web_regime: WebRegime = "bank",
    ) -> None:
        """Chunk state: the generators, labels and the ids that other sources refer to."""
        if web_regime not in ("bank", "anonymous"):
            raise ValueError(f"web_regime must be 'bank' or 'anonymous', not {web_regime!r}")
        self.bank = web_regime == "bank"
        self.people = people
        self.chunk = chunk
        self.rnd: random.Random = FastRandom(seed * 7_368_787 + chunk * 104_729 + 3)
        self.rng = np.random.default_rng([seed, chunk, 11])
        self.bank_rng = np.random.default_rng([seed, chunk, 12])
        """Draws only the bank regime makes (the anonymous regime never touches it)."""
        self.start = window_start(now)
        self.span = WINDOW_DAYS * _DAY
        self.used_handles = used_handles
        self.shared_devices = shared_devices
        self.labels: list[tuple[str, str, str]] = []
        self.crm_ids: dict[int, list[str]] = {}
        self.devices: dict[int, list[tuple[str, bool, int]]] = {}
        """gid -> (device id, iOS, first seen) of each install."""
        self.placeholder_people: list[str] = []
        self.device_first_seen: dict[str, int] = {}
        self.device_owner: dict[str, Person] = {}
        self.country_code = {"IL": 0, "RU": 1, "UA": 2, "GB": 3, "US": 4}
        self.countries = ("IL", "RU", "UA", "GB", "US")

    # -- helpers -----------------------------------------------------------------------------

    def when(self, lo: float = 0.0, hi: float = 1.0) -> int:
        """A time in the window (fractions ``lo``..``hi`` of it), Unix seconds."""
        return self.start + int((lo + (hi - lo) * self.rnd.random()) * self.span)

    def local_times(self, seconds: list[int], countries: list[str], *, sep: str = "T") -> list[str]:
        """ISO times with each row's local offset (grouped by country for speed)."""
        out: list[str] = [""] * len(seconds)
        secs = np.array(seconds, dtype=np.int64)
        ctry = np.array(countries, dtype=object)
        for country in self.countries:
            rows = np.flatnonzero(ctry == country)
            if len(rows):
                texts = iso_local(secs[rows], TIMEZONE[country], self.start, sep=sep)
                for row, text in zip(rows.tolist(), texts, strict=True):
                    out[row] = text
        return out

    def label(self, source: str, key: str, p: Person) -> None:
        """Record that ``key`` of ``source`` belongs to ``p``."""
        self.labels.append((source, key, p.true_id))

    def customer_id_for_login(self, p: Person) -> str | None:
        """The customer id a person logs in with (mostly the first one, sometimes a duplicate)."""
        ids = self.crm_ids.get(p.gid)
        if not ids:
            return None
        return ids[0] if len(ids) == 1 or self.rnd.random() < 0.88 else self.rnd.choice(ids[1:])

    def login_ids(self, persons: np.ndarray) -> np.ndarray:
        """``customer_id_for_login`` for many logins at once (indices into the chunk's people)."""
        ids = [self.crm_ids.get(p.gid, [None]) for p in self.people]
        out = np.array([i[0] for i in ids], dtype=object)[persons]
        duplicates = np.array([len(i) - 1 for i in ids], dtype=np.int64)[persons]
        u = self.bank_rng.random((len(persons), 2))
        for row in np.flatnonzero((duplicates > 0) & (u[:, 0] >= 0.88)).tolist():
            own = ids[persons[row]]
            out[row] = own[1 + int(u[row, 1] * (len(own) - 1))]
        return np.asarray(out, dtype=object)

    # -- CRM ---------------------------------------------------------------------------------

    _DUP_VARIATIONS = (
        "typo", "nickname", "script", "old_email", "no_email", "email_case", "old_phone",
        "phone_format", "no_phone", "moved", "maiden", "no_dob", "dob_format", "swap", "initial",
    )  # fmt: skip

    def crm(self) -> pd.DataFrame:
        """CRM rows: one per customer plus duplicates; ids are 8-digit numbers."""
        rnd = self.rnd
        rows: list[list[str | None]] = []
        created: list[int] = []
        countries: list[str] = []
        for p in self.people:
            if not p.customer:
                continue
            count = 1 + p.crm_duplicates
            ids = [
                str(10_000_000 + permute_int(p.gid * 8 + k, 90_000_000, _SALT["crm"]))
                for k in range(count)
            ]
            self.crm_ids[p.gid] = ids
            script = row_script(p, "crm", rnd)
            times = sorted(self.when(0.0, 0.97) for _ in range(count))
            for k, cid in enumerate(ids):
                rows.append(self.crm_row(p, cid, duplicate=k > 0, script=script))
                created.append(times[k])
                countries.append(p.country)
                self.label("crm", cid, p)
        stamps = self.local_times(created, countries)
        for row, stamp in zip(rows, stamps, strict=True):
            row.append(stamp)
        return pd.DataFrame(rows, columns=COLUMNS["crm"], dtype=object)

    def crm_row(self, p: Person, cid: str, *, duplicate: bool, script: str) -> list[str | None]:
        """One CRM row; a duplicate varies one to three things (nickname, typo, old email, move, ...)."""
        rnd = self.rnd
        var: set[str] = set()
        if duplicate:
            var = set(rnd.sample(self._DUP_VARIATIONS, rnd.choice((1, 1, 2, 2, 3))))
            if "script" in var:
                script = row_script(p, "crm", rnd)
        home = p.previous if "moved" in var and p.previous is not None else p.household
        first = first_name_text(
            p, rnd, script=script,
            nickname=0.6 if "nickname" in var else 0.04,
            initial=0.5 if "initial" in var else 0.012,
            typos=0.6 if "typo" in var else 0.015,
        )  # fmt: skip
        last = last_name_text(
            p, rnd, script=script,
            maiden=0.8 if "maiden" in var else (0.08 if p.maiden else 0.0),
            typos=0.4 if "typo" in var else 0.012,
        )  # fmt: skip
        if script == "latin" and rnd.random() < 0.18:
            upper = rnd.random() < 0.7
            first, last = (first.upper(), last.upper()) if upper else (first.lower(), last.lower())
        if rnd.random() < (0.5 if "swap" in var else 0.012):
            first, last = last, first
        email: str | None
        if "old_email" in var and p.old_email:
            email = p.old_email
        elif "no_email" in var:
            email = None
        else:
            email = p.email if rnd.random() < 0.9 else p.work_email
        if email and "email_case" in var:
            email = email.upper() if rnd.random() < 0.4 else email.capitalize()
        if email and rnd.random() < 0.012:
            email = email_typo(email, rnd)
        phone: Phone | None = p.phone
        if p.old_phone is not None and (
            "old_phone" in var or (not duplicate and rnd.random() < 0.4)
        ):
            phone = p.old_phone  # the CRM was never told about the new number
        if p.household.landline is not None and rnd.random() < 0.12:
            phone = p.household.landline
        phone_text = None
        if phone is not None and "no_phone" not in var and rnd.random() < 0.88:
            phone_text = phone.written(rnd, style="form" if "phone_format" in var else "national")
        dob = None
        if "no_dob" not in var and rnd.random() < 0.72:
            dob = dob_text(p.dob, p.country, rnd, iso=0.6 if "dob_format" in var else 0.22)
        gender = None
        if rnd.random() < 0.6:
            gender = (
                ("F" if p.female else "M")
                if rnd.random() < 0.96
                else ("female" if p.female else "male")
            )
        row: list[str | None] = [
            cid,
            email,
            phone_text,
            first,
            last,
            dob,
            gender,
            address_text(home, rnd, script=script) if rnd.random() < 0.75 else None,
            city_text(home, rnd, script=script) if rnd.random() < 0.88 else None,
            postcode_text(home, rnd, "crm"),
            p.country if rnd.random() < 0.96 else None,
        ]
        if not duplicate:
            for column, value in p.overrides.items():
                row[COLUMNS["crm"].index(column)] = value
        elif rnd.random() < 0.004:
            self.placeholder(p, row)
        if not duplicate and not p.overrides and rnd.random() < 0.004:
            self.placeholder(p, row)
        if rnd.random() < 0.01 and row[3]:
            row[3] = spacing(str(row[3]), rnd)
        return row

    def placeholder(self, p: Person, row: list[str | None]) -> None:
        """A placeholder value typed because the form demanded one (shared by strangers)."""
        if self.rnd.random() < 0.5:
            row[1] = self.rnd.choice(PLACEHOLDER_EMAILS)
        else:
            row[2] = self.rnd.choice(PLACEHOLDER_PHONES)
        self.placeholder_people.append(p.true_id)

    # -- loyalty -----------------------------------------------------------------------------

    def loyalty(self) -> pd.DataFrame:
        """The acquired loyalty programme: at most one row per person, mostly Latin upper case."""
        rnd = self.rnd
        rows: list[list[str | None]] = []
        created: list[int] = []
        countries: list[str] = []
        for p in self.people:
            if not p.loyalty:
                continue
            lid = f"L{permute_int(p.gid, 10_000_000, _SALT['loyalty']):07d}"
            script = row_script(p, "loyalty", rnd)
            home = p.previous if p.previous is not None and rnd.random() < 0.5 else p.household
            first = first_name_text(p, rnd, script=script, nickname=0.04, initial=0.03, typos=0.02)
            last = last_name_text(
                p, rnd, script=script, maiden=0.5 if p.maiden else 0.0, typos=0.02
            )
            if script == "latin" and rnd.random() < 0.45:
                first, last = first.upper(), last.upper()  # the card system is upper case
            email = None
            if rnd.random() < 0.35:  # "sometimes": the programme rarely had an email
                email = p.old_email if p.old_email and rnd.random() < 0.45 else p.email
            phone = p.old_phone if p.old_phone is not None and rnd.random() < 0.5 else p.phone
            phone_text = None
            if phone is not None and rnd.random() < 0.45:
                phone_text = phone.written(rnd, style="e164" if rnd.random() < 0.4 else "form")
            rows.append([
                lid,
                email,
                phone_text,
                first,
                last,
                dob_text(p.dob, p.country, rnd, iso=0.6) if rnd.random() < 0.45 else None,
                ("F" if p.female else "M") if rnd.random() < 0.4 else None,
                address_text(home, rnd, script=script) if rnd.random() < 0.3 else None,
                city_text(home, rnd, script=script) if rnd.random() < 0.7 else None,
                postcode_text(home, rnd, "loyalty"),
                p.country if rnd.random() < 0.9 else None,
            ])  # fmt: skip
            created.append(self.when(0.0, 0.9))
            countries.append(p.country)
            self.label("loyalty", lid, p)
        stamps = self.local_times(created, countries)
        for row, stamp in zip(rows, stamps, strict=True):
            row.append(stamp)
        return pd.DataFrame(rows, columns=COLUMNS["loyalty"], dtype=object)

    # -- app devices -------------------------------------------------------------------------

    def app(self) -> pd.DataFrame:
        """App installs: iOS / Android ids, zeroed or missing ad ids, reinstalls, some logged in."""
        rnd = self.rnd
        plan: list[tuple[Person, int, bool, bool]] = []  # person, serial, iOS, reinstall
        owners = {owner.gid for owner, _ in self.shared_devices}
        for p in self.people:
            tablet = p.gid in owners
            for d in range(p.devices + (1 if tablet and p.devices == 0 else 0)):
                ios = rnd.random() < _IOS_SHARE[p.country]
                plan.append((p, p.gid * 8 + d, ios, False))
                if rnd.random() < 0.15:
                    plan.append((p, p.gid * 8 + 4 + d, ios, True))
        serials = np.array([s for _, s, _, _ in plan], dtype=np.int64)
        unique = permute(serials, 1 << 32, _SALT["device"])
        ids_lower = uuid_strings(unique, self.rng)
        rows: list[list[str | None]] = []
        first_seen: list[int] = []
        last_seen: list[int] = []
        countries: list[str] = []
        previous_ad: dict[int, str | None] = {}
        fresh_ads = uuid_strings(
            self.rng.integers(0, 1 << 32, len(plan), dtype=np.int64).astype(np.uint64), self.rng
        )[::-1]
        for (p, _, ios, reinstall), did in zip(plan, ids_lower, strict=True):
            device_id = did.upper() if ios else did
            ad_id: str | None
            if reinstall and not ios and previous_ad.get(p.gid) and rnd.random() < 0.7:
                ad_id = previous_ad[p.gid]  # Android keeps the advertising id across reinstalls
            else:
                r = rnd.random()
                zero, empty = (0.65, 0.10) if ios else (0.08, 0.07)
                if r < zero:
                    ad_id = ZERO_AD_ID
                elif r < zero + empty:
                    ad_id = None
                else:
                    ad_id = fresh_ads.pop()
                    ad_id = ad_id.upper() if ios else ad_id
            previous_ad[p.gid] = ad_id if ad_id != ZERO_AD_ID else None
            t0 = self.when(0.3 if reinstall else 0.0, 0.95)
            t1 = min(self.start + self.span - 60, t0 + int(rnd.expovariate(1 / 40) * _DAY))
            self.devices.setdefault(p.gid, []).append((device_id, ios, t0))
            self.device_first_seen[device_id] = t0
            self.device_owner[device_id] = p
            customer = None
            if p.online and rnd.random() < 0.6:
                customer = self.customer_id_for_login(p)
            if p.gid in owners and len(self.devices[p.gid]) == 1:
                customer = self.crm_ids[p.gid][
                    0
                ]  # the family tablet: logged into the owner's account
            platform = (
                ("ios" if ios else "android")
                if rnd.random() < 0.9
                else ("iOS" if ios else "Android")
            )
            email = p.email if p.email and rnd.random() < 0.12 else None
            if email and rnd.random() < 0.05:
                email = email_typo(email, rnd)
            phone = p.phone.e164 if p.phone is not None and rnd.random() < 0.2 else None
            ip = self.device_ip(p)
            rows.append([device_id, None, None, ad_id, platform, ip, customer, email, phone])
            first_seen.append(t0)
            last_seen.append(t1)
            countries.append(p.country)
            self.label("app", device_id, p)
        fs = self.local_times(first_seen, countries, sep=" ")
        ls = self.local_times(last_seen, countries, sep=" ")
        for row, a, b in zip(rows, fs, ls, strict=True):
            row[1], row[2] = a, b
        return pd.DataFrame(rows, columns=COLUMNS["app"], dtype=object)

    def device_ip(self, p: Person) -> str:
        """The address a device was last seen from: its carrier's NAT or the home network."""
        if self.rnd.random() < 0.6:
            return self.rnd.choice(CARRIER_IPS[p.country])
        home = p.household
        blocks = HOME_BLOCKS[home.country]
        space = len(blocks) << 16
        index = permute_int((home.hid * 4) % space, space, _SALT["home_ip"])
        a, b = blocks[index >> 16]
        return f"{a}.{b}.{(index >> 8) & 255}.{index & 255}"

    # -- web sessions ------------------------------------------------------------------------

    def web(self) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """Sessions of the chunk, and per-session facts the events and consents need."""
        rnd, rng = self.rnd, self.rng
        # Per browser: owner, kind, model, cookie life (days) and phase, weight, GPC, logs in.
        b_owner: list[int] = []
        b_kind: list[int] = []
        b_model: list[int] = []
        b_life: list[float] = []
        b_phase: list[float] = []
        b_weight: list[float] = []
        b_gpc: list[bool] = []
        b_login: list[bool] = []
        b_vphase: list[float] = []
        p_first_browser: list[int] = []
        p_browsers: list[int] = []
        sessions = self.session_counts()
        for i, p in enumerate(self.people):
            p_first_browser.append(len(b_owner))
            p_browsers.append(p.browsers)
            mix = _BROWSER_MIX[p.country]
            for b in range(p.browsers):
                browser_kind = pick(rnd, range(10), mix)
                itp = _BROWSERS[browser_kind][2]
                b_owner.append(i)
                b_kind.append(browser_kind)
                b_model.append(rnd.randrange(len(_MODELS)))
                b_life.append(
                    rnd.choice((7.0, 7.0, 14.0, 30.0, 60.0))
                    if itp
                    else rnd.choice((20.0, 60.0, 120.0, 400.0, 400.0))
                )
                b_phase.append(rnd.random() * 400.0)
                b_weight.append((0.6, 0.3, 0.1)[b])
                b_gpc.append(rnd.random() < (0.25 if browser_kind == 2 else 0.02))
                if self.bank:  # banks from this browser; installs updates this many days late
                    b_login.append(p.online and rnd.random() < _BANK_BROWSER[min(b, 1)])
                    b_vphase.append(rnd.random() * _UPDATE_LAG)
                else:
                    b_login.append(p.online and rnd.random() < (0.8 if b == 0 else 0.4))
                    b_vphase.append(rnd.random() * 28.0)
        first_b = np.array(p_first_browser, dtype=np.int64)
        n_b = np.array(p_browsers, dtype=np.int64)
        kinds = np.array(b_kind, dtype=np.int64)
        life = np.array(b_life)
        phase = np.array(b_phase)
        weight = np.array(b_weight)

        owner = np.repeat(np.arange(len(self.people)), sessions)
        total = len(owner)
        t = self.start + (rng.random(total) * (self.span - 3600)).astype(np.int64)
        days = (t - self.start) / _DAY
        # Which browser: by the person's browser weights.
        u = rng.random(total)
        w0 = weight[first_b[owner]]
        w1 = np.where(n_b[owner] > 1, weight[np.minimum(first_b[owner] + 1, len(weight) - 1)], 0.0)
        norm = np.array([1.0, 0.9, 1.0])[n_b[owner] - 1]
        local_b = (u * norm > w0).astype(np.int64) + (u * norm > w0 + w1).astype(np.int64)
        local_b = np.minimum(local_b, n_b[owner] - 1)
        browser = first_b[owner] + local_b
        kind = kinds[browser]
        # In-app sessions for people with the app.
        has_app = np.array([bool(self.devices.get(p.gid)) for p in self.people])
        in_app = has_app[owner] & (rng.random(total) < 0.3)
        app_ios = np.array(
            [
                bool(self.devices[p.gid][0][1]) if self.devices.get(p.gid) else False
                for p in self.people
            ]
        )
        kind = np.where(in_app, np.where(app_ios[owner], _APP_IOS, _APP_ANDROID), kind).astype(
            np.int64
        )
        # Cookies: each browser's cookie is replaced every ``life`` days (ITP, clearing).
        epoch = np.minimum(((days + phase[browser]) // life[browser]).astype(np.int64), 63)
        cookie_serial = (
            np.array([self.people[i].gid for i in b_owner], dtype=np.int64)[browser] * 4 + local_b
        ) * 64 + epoch
        cookie_first = self.start + ((epoch * life[browser] - phase[browser]) * _DAY).astype(
            np.int64
        )
        cookie_first = np.maximum(cookie_first, self.start - 400 * _DAY)
        version = self.ua_versions(days, kind, np.array(b_vphase)[browser])
        ua = _UA[_ua_index(kind, np.array(b_model, dtype=np.int64)[browser], version)]
        # IP: home (dynamic, per household), office (weekday working hours), carrier NAT, elsewhere.
        ip = self.session_ips(owner, kind, t)
        ipv6 = self.carrier_v6(owner, kind, rng)

        session_serial = (np.int64(self.chunk) << np.int64(36)) | np.arange(total, dtype=np.int64)
        session_id = np.array(hex16(mix64(session_serial, _SALT["session"])), dtype=object)
        started = iso_utc(t, millis=rng.integers(0, 1000, total)).astype(object)

        cookie_ids = self.cookie_strings(cookie_serial, cookie_first)
        cookie_ids[in_app] = None
        device_col = np.full(total, None, dtype=object)
        for row in np.flatnonzero(in_app).tolist():
            devs = self.devices[self.people[owner[row]].gid]
            device_col[row] = (
                devs[0][0] if len(devs) == 1 or rnd.random() < 0.8 else rnd.choice(devs)[0]
            )
        ip_col = _ip_text(ip)
        v6_rows = np.flatnonzero(ipv6)
        for row in v6_rows.tolist():
            country = self.people[owner[row]].country
            ip_col[row] = (
                f"{IPV6_PREFIX[country]}:{rnd.getrandbits(16):x}:{rnd.getrandbits(16):x}:{rnd.getrandbits(16):x}::{rnd.getrandbits(16):x}"
            )

        # Logged in.
        login_browser = np.array(b_login, dtype=bool)[browser]
        online = np.array([p.online for p in self.people], dtype=bool)[owner]
        if self.bank:
            main = local_b == 0
            logged = np.where(
                in_app,
                online & (rng.random(total) < _BANK_LOGIN_APP),
                login_browser
                & (rng.random(total) < np.where(main, _BANK_LOGIN[0], _BANK_LOGIN[1])),
            )
        else:
            logged = np.where(
                in_app,
                online & (rng.random(total) < 0.7),
                login_browser & (rng.random(total) < 0.5),
            )
        customer_col = np.full(total, None, dtype=object)
        if self.bank:  # many logins: the same choice as ``customer_id_for_login``, in bulk
            rows = np.flatnonzero(logged)
            customer_col[rows] = self.login_ids(owner[rows])
        else:
            for row in np.flatnonzero(logged).tolist():
                customer_col[row] = self.customer_id_for_login(self.people[owner[row]])

        empty = np.full(total, None, dtype=object)
        email_col, phone_col, first_col, last_col = (
            empty.copy(),
            empty.copy(),
            empty.copy(),
            empty.copy(),
        )
        postcode_col, city_col = empty.copy(), empty.copy()
        country_col = np.array([p.country for p in self.people], dtype=object)[owner]
        abroad = rng.random(total) < 0.02
        country_col[abroad] = rng.choice(
            np.array(["GR", "CY", "DE", "FR", "TR", "US", "GB"], dtype=object), int(abroad.sum())
        )
        geo_city = rng.random(total) < 0.45
        city_names = np.array([p.household.city.latin[0] for p in self.people], dtype=object)
        city_col[geo_city] = city_names[owner[geo_city]]
        form_kind = self.forms(
            owner, sessions, email_col, phone_col, first_col, last_col, postcode_col, city_col
        )
        gpc = np.array(b_gpc, dtype=bool)[browser] & ~in_app
        gpc_col = np.full(total, None, dtype=object)
        gpc_col[gpc] = np.where(rng.random(int(gpc.sum())) < 0.7, "1", "true")

        frame = pd.DataFrame(
            {
                "session_id": session_id,
                "started_at": started,
                "cookie_id": cookie_ids,
                "device_id": device_col,
                "ip": ip_col,
                "user_agent": ua,
                "customer_id": customer_col,
                "email": email_col,
                "phone": phone_col,
                "first_name": first_col,
                "last_name": last_col,
                "postcode": postcode_col,
                "city": city_col,
                "country": country_col,
                "tc_string": empty,
                "gpc": gpc_col,
            }
        )
        facts = {"t": t, "owner": owner, "in_app": in_app, "form": form_kind,
                 "cookie": np.where(in_app, -1, cookie_serial)}  # fmt: skip
        extra = self.tablet_sessions(total)
        if extra is not None:
            frame = pd.concat([frame, extra[0]], ignore_index=True)
            for key, values in extra[1].items():
                facts[key] = np.concatenate([facts[key], values])
        for key, p_index in zip(frame["session_id"].tolist(), facts["owner"].tolist(), strict=True):
            self.labels.append(("web", key, self.people[p_index].true_id))
        order = np.argsort(facts["t"], kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        facts = {k: v[order] for k, v in facts.items()}
        facts["subject"] = np.where(
            frame["cookie_id"].isna(), frame["device_id"], frame["cookie_id"]
        ).astype(object)
        facts["subject_type"] = np.where(frame["cookie_id"].isna(), "device", "cookie").astype(
            object
        )
        return frame, facts

    def session_counts(self) -> np.ndarray:
        """Web sessions per person: the plan's count, or (bank) weighted towards online bankers.

        A bank's site is visited mostly by customers logging into online banking; customers
        who do not bank online and prospects come for rates and forms a few times.
        """
        planned = np.array([p.sessions for p in self.people], dtype=np.int64)
        if not self.bank:
            return planned
        online = np.array([p.online for p in self.people], dtype=bool)
        scale = np.where(online, _BANK_VOLUME[0], _BANK_VOLUME[1]) * planned
        whole = np.floor(scale)
        counts = (whole + (self.bank_rng.random(len(planned)) < scale - whole)).astype(np.int64)
        counts = np.clip(counts, 1, _MAX_SESSIONS)
        return np.asarray(np.where(planned > 0, counts, 0), dtype=np.int64)

    def ua_versions(self, days: np.ndarray, kind: np.ndarray, lag: np.ndarray) -> np.ndarray:
        """The browser version of each session (row of ``_UA`` within a kind and model).

        Anonymous regime: each browser bumps its version every four weeks at its own phase.
        Bank regime: versions follow each browser kind's release calendar (every four to
        eight weeks, the same day for everyone) and each browser installs them ``lag``
        days late, so household members on the same phone and browser share a user agent.
        """
        if not self.bank:
            return np.asarray(np.minimum((days + lag) // 28, _VERSIONS - 1), dtype=np.int64)
        cadence = _RELEASE_DAYS[kind]
        offset = _RELEASE_OFFSET[kind]
        version = (days - lag + _UPDATE_LAG + offset) // cadence
        return np.asarray(np.clip(version, 0, _VERSIONS - 1), dtype=np.int64)

    def session_ips(self, owner: np.ndarray, kind: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Session addresses: dynamic home IP per household, office, carrier NAT or elsewhere."""
        rng = self.rng
        total = len(owner)
        people = self.people
        country = np.array([self.country_code[p.country] for p in people], dtype=np.int64)[owner]
        hid = np.array([p.household.hid for p in people], dtype=np.int64)[owner]
        period = np.array([p.household.ip_period for p in people])[owner]
        ip_phase = np.array([p.household.ip_phase for p in people])[owner]
        office = np.array([p.office for p in people], dtype=np.int64)[owner]
        device_class = np.array([b[1] for b in _BROWSERS], dtype=np.int64)[kind]
        mobile = device_class == 1
        days = (t - self.start) / _DAY
        ip_epoch = np.minimum(((days + ip_phase) // period).astype(np.int64), 3)
        plan = self.home_ip_plan() if self.bank else None
        # Local hour and weekday decide whether a desktop session is at the office.
        local = t.copy()
        for code, name in enumerate(self.countries):
            rows = country == code
            if rows.any():
                local[rows] = t[rows] + local_offsets(t[rows], TIMEZONE[name], self.start)
        hour = (local % _DAY) // 3600
        weekday = ((local // _DAY) + 3) % 7  # 0 = Monday
        workday = np.where(country == 0, weekday <= 3, weekday <= 4) | (
            np.isin(country, [0]) & (weekday == 6)
        )
        at_work = (
            (~mobile)
            & (office >= 0)
            & workday
            & (hour >= 9)
            & (hour < 18)
            & (rng.random(total) < 0.75)
        )
        u = rng.random(total)
        carrier = mobile & (u < 0.55)
        elsewhere = (~carrier) & (~at_work) & (rng.random(total) < np.where(mobile, 0.08, 0.05))
        out = np.zeros(total, dtype=np.int64)
        for code, name in enumerate(self.countries):
            rows = country == code
            if not rows.any():
                continue
            blocks = HOME_BLOCKS[name]
            space = len(blocks) << 16
            if plan is None:
                home_serial = (hid[rows] * 4 + ip_epoch[rows]) % space
            else:
                home_serial = plan.serial(owner[rows], days[rows]) % space
            home = _block_address(
                permute(home_serial, space, _SALT["home_ip"]).astype(np.int64), blocks
            )
            o_blocks = OFFICE_BLOCKS[name]
            o_space = len(o_blocks) << 16
            office_serial = np.maximum(office[rows], 0) // 8 % o_space
            work = _block_address(
                permute(office_serial, o_space, _SALT["office_ip"]).astype(np.int64), o_blocks
            )
            carriers = np.array([_parse_ip(ip) for ip in CARRIER_IPS[name]], dtype=np.int64)
            nat = carriers[rng.integers(0, len(carriers), int(rows.sum()))]
            other = _block_address(rng.integers(0, space, int(rows.sum())), blocks)
            value = np.where(at_work[rows], work, home)
            value = np.where(carrier[rows], nat, value)
            out[rows] = np.where(elsewhere[rows], other, value)
        return out

    def home_ip_plan(self) -> _HomeIps:
        """Bank regime: each household's home address per dynamic-IP period, some reassigned.

        A household's address changes every ``ip_period`` days (weeks to months). At each
        change the ISP hands out, with probability ``_REASSIGNED``, an address another
        household of the same country released earlier in the window (never one still in
        use), else the next of the household's own four address slots (``hid * 4 + k``, the
        numbering the anonymous regime and the app devices use; a household that used up
        its four gets a released address).
        """
        homes: dict[int, Household] = {}
        for p in self.people:
            homes.setdefault(p.household.hid, p.household)
        index = {hid: k for k, hid in enumerate(homes)}
        shift = np.array([h.ip_phase % h.ip_period for h in homes.values()])
        period = np.array([h.ip_period for h in homes.values()])
        country = np.array([self.country_code[h.country] for h in homes.values()], dtype=np.int64)
        epochs = ((self.span / _DAY + shift) // period).astype(np.int64) + 1
        offset = np.concatenate([[0], np.cumsum(epochs)[:-1]]).astype(np.int64)
        hids = np.array(list(homes), dtype=np.int64)
        serial = np.repeat(hids * 4, epochs).tolist()  # period 0: the household's first slot
        # Address changes (period k >= 1 of household i) in time order per country.
        household = np.repeat(np.arange(len(homes)), epochs - 1)
        k = np.arange(len(household)) - np.repeat(offset - np.arange(len(homes)), epochs - 1) + 1
        day = k * period[household] - shift[household]
        order = np.lexsort((household, day, country[household]))
        rows = (offset[household] + k)[order].tolist()
        draws = self.bank_rng.random((len(order), 2)).tolist()
        pools: list[list[int]] = [[] for _ in self.countries]
        fresh = [1] * len(homes)
        for i, c, row, (u, v) in zip(
            household[order].tolist(), country[household][order].tolist(), rows, draws, strict=True
        ):
            pool = pools[c]
            if pool and (u < _REASSIGNED or fresh[i] >= 4):
                j = int(v * len(pool))
                pool[j], pool[-1] = pool[-1], pool[j]
                serial[row] = pool.pop()
            else:
                serial[row] = int(hids[i]) * 4 + fresh[i] % 4
                fresh[i] += 1
            pool.append(serial[row - 1])
        person_home = np.array([index[p.household.hid] for p in self.people], dtype=np.int64)
        return _HomeIps(
            offset=offset[person_home],
            shift=shift[person_home],
            period=period[person_home],
            serials=np.array(serial, dtype=np.int64),
        )

    def carrier_v6(
        self, owner: np.ndarray, kind: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Mobile sessions that came over the carrier's IPv6 (a fresh address each time)."""
        device_class = np.array([b[1] for b in _BROWSERS], dtype=np.int64)[kind]
        return np.asarray((device_class == 1) & (rng.random(len(owner)) < 0.12), dtype=bool)

    def cookie_strings(self, serial: np.ndarray, first: np.ndarray) -> np.ndarray:
        """``GA1.2.<random>.<first visit>`` analytics cookies, formatted once per cookie."""
        unique, index, inverse = np.unique(serial, return_index=True, return_inverse=True)
        client = permute(
            unique, 1 << 32, _SALT["cookie"]
        )  # cookie serials stay below 2**32 up to 16M people
        texts = np.array(
            [
                f"GA1.2.{c + 10_000}.{f}"
                for c, f in zip(client.tolist(), first[index].tolist(), strict=True)
            ],
            dtype=object,
        )
        return np.asarray(texts[inverse], dtype=object)

    def forms(
        self,
        owner: np.ndarray,
        sessions: np.ndarray,
        email_col: np.ndarray,
        phone_col: np.ndarray,
        first_col: np.ndarray,
        last_col: np.ndarray,
        postcode_col: np.ndarray,
        city_col: np.ndarray,
    ) -> np.ndarray:
        """Newsletter sign-ups (an email) and lead / checkout forms (name, email, phone, postcode)."""
        rnd = self.rnd
        kind = np.zeros(len(owner), dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sessions)[:-1]])
        for i, p in enumerate(self.people):
            n = int(sessions[i])
            if n == 0:
                continue
            if p.email and rnd.random() < 0.14:
                row = int(offsets[i]) + rnd.randrange(n)
                email = p.email
                if rnd.random() < 0.04:
                    email = email_typo(email, rnd)
                elif rnd.random() < 0.1:
                    email = email.capitalize()
                email_col[row] = email
                kind[row] = 1
                if rnd.random() < 0.3:
                    first_col[row] = first_name_text(
                        p, rnd, script=row_script(p, "form", rnd), nickname=0.3
                    )
            forms = 1 + (rnd.random() < 0.3) if rnd.random() < 0.09 else 0
            for _ in range(forms):
                row = int(offsets[i]) + rnd.randrange(n)
                script = row_script(p, "form", rnd)
                first = first_name_text(p, rnd, script=script, nickname=0.2, typos=0.03)
                last = last_name_text(p, rnd, script=script, typos=0.03)
                if rnd.random() < 0.03:
                    first, last = last, first
                first_col[row] = style_case(first, rnd, 0.12)
                last_col[row] = style_case(last, rnd, 0.12)
                typed = p.email or p.work_email
                if typed and rnd.random() < 0.9:
                    email_col[row] = email_typo(typed, rnd) if rnd.random() < 0.04 else typed
                if p.phone is not None and rnd.random() < 0.8:
                    phone_col[row] = p.phone.written(rnd, style="form")
                postcode_col[row] = postcode_text(p.household, rnd, "form")
                if rnd.random() < 0.6:
                    city_col[row] = city_text(p.household, rnd, script=script)
                kind[row] = 2
        return kind

    def tablet_sessions(self, offset: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]] | None:
        """The family tablet: the other parent logs into their own account on the owner's tablet."""
        if not self.shared_devices:
            return None
        rnd = self.rnd
        rows: list[dict[str, object]] = []
        times: list[int] = []
        owners: list[int] = []
        index = {p.gid: i for i, p in enumerate(self.people)}
        for owner, other in self.shared_devices:
            device_id, ios, _ = self.devices[owner.gid][0]
            for k in range(rnd.randrange(3, 8)):
                t = self.when(0.05, 0.98)
                ua = _UA[
                    _ua_index(
                        np.array([_APP_IOS if ios else _APP_ANDROID]),
                        np.array([0]),
                        np.array([min(7, k)]),
                    )
                ][0]
                serial = (self.chunk << 36) | (offset + len(rows))
                rows.append({
                    "session_id": hex16(mix64(np.array([serial], dtype=np.int64), _SALT["session"]))[0],
                    "started_at": str(iso_utc(np.array([t]), millis=np.array([rnd.randrange(1000)]))[0]),
                    "cookie_id": None, "device_id": device_id, "ip": None, "user_agent": ua,
                    "customer_id": self.crm_ids[other.gid][0], "email": None, "phone": None,
                    "first_name": None, "last_name": None, "postcode": None, "city": None,
                    "country": other.country, "tc_string": None, "gpc": None,
                })  # fmt: skip
                times.append(t)
                owners.append(index[other.gid])
        frame = pd.DataFrame(rows, columns=COLUMNS["web"], dtype=object)
        home_ips = [self.device_ip(self.people[i]) for i in owners]
        frame["ip"] = home_ips
        n = len(rows)
        return frame, {
            "t": np.array(times, dtype=np.int64),
            "owner": np.array(owners, dtype=np.int64),
            "in_app": np.ones(n, dtype=bool),
            "form": np.zeros(n, dtype=np.int64),
            "cookie": np.full(n, -1, dtype=np.int64),
        }

    # -- messaging ---------------------------------------------------------------------------

    def messaging(self) -> tuple[pd.DataFrame, list[tuple[str, str, int, Person]]]:
        """Contacts, and (contact id, channel, first message time, person) for events and consents."""
        rnd = self.rnd
        rows: list[list[str | None]] = []
        serials: list[int] = []
        owners: list[Person] = []
        for p in self.people:
            k = 0
            for channel in p.channels:
                phones: list[Phone | None] = [p.phone]
                if (
                    channel in ("whatsapp", "viber", "telegram")
                    and p.old_phone is not None
                    and (rnd.random() < 0.4 or "recycled_old" in p.roles)
                ):
                    phones.append(p.old_phone)
                if channel == "telegram" and p.foreign_phone is not None:
                    phones.append(p.foreign_phone)
                for phone in phones:
                    serials.append(p.gid * 16 + k)
                    k += 1
                    owners.append(p)
                    rows.append(self.contact_row(p, channel, phone))
        ids = [f"ct_{h}" for h in hex16(mix64(np.array(serials, dtype=np.int64), _SALT["contact"]))]
        facts: list[tuple[str, str, int, Person]] = []
        for row, cid, p in zip(rows, ids, owners, strict=True):
            row[0] = cid
            self.label("messaging", cid, p)
            facts.append((cid, str(row[1]).lower(), self.when(0.0, 0.95), p))
        return pd.DataFrame(rows, columns=COLUMNS["messaging"], dtype=object), facts

    def contact_row(self, p: Person, channel: str, phone: Phone | None) -> list[str | None]:
        """One messaging contact: what each channel exposes (phone, handle, display name)."""
        rnd = self.rnd
        phone_text = None
        handle = None
        if channel in ("whatsapp", "viber") and phone is not None:
            phone_text = phone.intl_digits
        elif channel == "telegram":
            handle = self.telegram_handle(p) if rnd.random() < 0.85 else None
            if phone is not None and (handle is None or rnd.random() < 0.3):
                phone_text = phone.e164 if rnd.random() < 0.6 else phone.intl_digits
        written_channel = channel if rnd.random() < 0.95 else {"whatsapp": "WhatsApp", "telegram": "Telegram",
                                                               "viber": "Viber", "messenger": "Messenger"}[channel]  # fmt: skip
        customer = None
        if rnd.random() < 0.15:
            customer = self.crm_ids.get(p.gid, [None])[0]
        # No email: messaging platforms expose a phone, a handle or a display name only.
        return [None, written_channel, phone_text, handle, self.display_name(p), None, customer]

    def display_name(self, p: Person) -> str | None:
        """What the person calls themselves on the app: any script, nickname, emoji, or nothing useful."""
        rnd = self.rnd
        script = row_script(p, "display", rnd)
        style = pick(rnd, ("full", "first", "short", "short_initial", "initial_last", "emoji", "last_first", "odd", "none"),
                     (30, 18, 14, 10, 6, 8, 4, 4, 6))  # fmt: skip
        if style == "none":
            return None
        if style == "odd":
            return rnd.choice(("❤️", ".", "~", "🙂", "Mom", "Ima", "Мама", "אמא", "Boss", "Me"))
        first = first_name_text(p, rnd, script=script, nickname=0.0)
        last = last_name_text(p, rnd, script=script)
        short = first_name_text(p, rnd, script=script, nickname=1.0)
        if style == "full":
            return f"{first} {last}"
        if style == "first":
            return first
        if style == "short":
            return short
        if style == "short_initial":
            return f"{short} {last[0]}."
        if style == "initial_last":
            return f"{first[0]}. {last}"
        if style == "emoji":
            return f"{short} {rnd.choice(('🌸', '⚽', '✨', '🇮🇱', '🙏', '💙', '🌊', '🐱'))}"
        return f"{last} {first}"

    def telegram_handle(self, p: Person) -> str:
        """A Telegram username (unique across the world, like the real ones)."""
        rnd = self.rnd
        first = _slug(p.first.latin[p.spelling[0]])
        last = _slug(p.last.latin[0])
        short = _slug(p.first.short[p.nickname].latin[0]) if p.nickname >= 0 else first
        yy = f"{p.dob.year % 100:02d}"
        base = pick(rnd, (f"{first}_{last}", f"{short}{yy}", f"{first}{last[:1]}", f"{last}_{first[:1]}",
                          f"{short}_{last[:1]}{yy}", f"{rnd.choice(('real', 'its', 'mr', 'the'))}{short}"),
                    (25, 20, 15, 10, 20, 10))  # fmt: skip
        handle = base
        n = 0
        while handle.lower() in self.used_handles:
            n += 1
            handle = f"{base}{rnd.randrange(2, 999)}" if n < 5 else f"{base}_{p.gid}"
        self.used_handles.add(handle.lower())
        return f"@{handle}" if rnd.random() < 0.4 else handle

    # -- activity ----------------------------------------------------------------------------

    def events(
        self,
        web: pd.DataFrame,
        facts: dict[str, np.ndarray],
        contacts: list[tuple[str, str, int, Person]],
    ) -> pd.DataFrame:
        """Page views (and form submissions, purchases) per session; messages per contact."""
        rng = self.rng
        total = len(web)
        views = rng.geometric(0.45, total)
        sess = np.repeat(np.arange(total), views)
        pos = np.arange(len(sess)) - np.repeat(np.cumsum(views) - views, views)
        gap = rng.integers(15, 240, total)
        ts = facts["t"][sess] + pos * gap[sess]
        owner = facts["owner"][sess]
        interests = np.array([p.interests for p in self.people], dtype=np.int64)
        favourite = interests[owner, rng.integers(0, 2, len(sess))]
        category = np.where(rng.random(len(sess)) < 0.7, favourite, rng.integers(0, 7, len(sess)))
        cats = np.array(CATEGORIES, dtype=object)[category]
        langs = ("he", "ru", "en")
        lang = np.array(
            [{"IL": 0, "RU": 1, "UA": 1}.get(p.country, 2) for p in self.people], dtype=np.int64
        )[owner]
        pages = ("", "rates", "calculator", "apply", "faq", "compare")
        urls = np.array(
            [
                f"https://www.harder-bank.example/{lg}/{c}/{pg}"
                for lg in langs
                for c in CATEGORIES
                for pg in pages
            ],
            dtype=object,
        )
        url = urls[
            (lang * len(CATEGORIES) + category) * len(pages)
            + rng.integers(0, len(pages), len(sess))
        ]
        event_type = np.full(len(sess), "page_view", dtype=object)
        value = np.full(len(sess), None, dtype=object)
        # The last view of a form session is the submission.
        last_view = pos == views[sess] - 1
        form = facts["form"][sess]
        event_type[last_view & (form == 1)] = "newsletter_signup"
        event_type[last_view & (form == 2)] = "form_submit"
        buy = last_view & (form == 2) & (rng.random(len(sess)) < 0.3)
        event_type[buy] = "purchase"
        value[buy] = np.round(rng.lognormal(6.0, 1.0, int(buy.sum())), 2).astype(str)
        web_events = pd.DataFrame(
            {
                "subject_type": facts["subject_type"][sess],
                "subject_id": facts["subject"][sess],
                "ts": iso_utc(ts).astype(object),
                "event_type": event_type,
                "category": cats,
                "url": url,
                "value": value,
                "channel": np.full(len(sess), "web", dtype=object),
            }
        )
        rnd = self.rnd
        rows: list[tuple[object, ...]] = []
        for cid, channel, t0, p in contacts:
            t = t0
            for _ in range(1 + int(rng.poisson(1.5))):
                topic = CATEGORIES[p.interests[0]] if rnd.random() < 0.6 else rnd.choice(CATEGORIES)
                rows.append(("contact", cid, t, "message_sent", topic, None, None, channel))
                if rnd.random() < 0.95:
                    rows.append(
                        (
                            "contact",
                            cid,
                            t + rnd.randrange(2, 90),
                            "message_delivered",
                            topic,
                            None,
                            None,
                            channel,
                        )
                    )
                    if rnd.random() < 0.72:
                        rows.append(
                            (
                                "contact",
                                cid,
                                t + rnd.randrange(60, 36_000),
                                "message_read",
                                topic,
                                None,
                                None,
                                channel,
                            )
                        )
                t += rnd.randrange(3_600, 20 * _DAY)
        msg = pd.DataFrame(rows, columns=COLUMNS["events"])
        if len(msg):
            end = self.start + self.span - 1
            msg["ts"] = iso_utc(np.minimum(msg["ts"].to_numpy(dtype=np.int64), end)).astype(object)
        msg = msg.astype(object)
        return pd.concat([web_events, msg], ignore_index=True)

    def interactions(self) -> pd.DataFrame:
        """CRM interactions: calls, advisor meetings, purchases, complaints."""
        rnd = self.rnd
        kinds = ("advisor_meeting", "call", "purchase", "branch_visit", "complaint", "email")
        outcomes = {
            "advisor_meeting": ("completed", "no_show", "rescheduled"),
            "call": ("answered", "no_answer", "voicemail", "callback_requested"),
            "purchase": ("completed", "cancelled", "refunded"),
            "branch_visit": ("served", "left_queue"),
            "complaint": ("resolved", "open", "escalated"),
            "email": ("sent", "replied", "bounced"),
        }
        rows: list[list[str | None]] = []
        times: list[int] = []
        countries: list[str] = []
        for p in self.people:
            ids = self.crm_ids.get(p.gid)
            if not ids:
                continue
            for _ in range(int(self.rng.poisson(0.9))):
                kind = pick(rnd, kinds, (20, 40, 20, 10, 5, 5))
                value = f"{rnd.lognormvariate(6.5, 1.1):.2f}" if kind == "purchase" else None
                cid = ids[0] if rnd.random() < 0.9 else rnd.choice(ids)
                rows.append([cid, None, kind, rnd.choice(outcomes[kind]), value])
                times.append(self.when())
                countries.append(p.country)
        for row, stamp in zip(rows, self.local_times(times, countries), strict=True):
            row[1] = stamp
        return pd.DataFrame(rows, columns=COLUMNS["interactions"], dtype=object)

    def consents(
        self,
        crm: pd.DataFrame,
        app: pd.DataFrame,
        web: pd.DataFrame,
        facts: dict[str, np.ndarray],
        contacts: list[tuple[str, str, int, Person]],
    ) -> pd.DataFrame:
        """Consent decisions per subject: banners for cookies, app prompts, CRM forms, opt-ins."""
        rnd = self.rnd
        # A person's attitude colours all their answers: accept all, choose, or refuse.
        attitude = {p.gid: pick(rnd, (0, 1, 2), (55, 30, 15)) for p in self.people}
        owner_of = {cid: p for p in self.people for cid in self.crm_ids.get(p.gid, ())}
        subjects: list[tuple[str, str, int, Person, str, tuple[str, ...], float]] = []
        # Customers (CRM forms): most answer identity linking.
        for cid in crm["customer_id"].tolist():
            p = owner_of[cid]
            subjects.append(("customer", cid, self.when(0.0, 0.9), p, rnd.choice(("crm", "branch", "online_banking")),
                             PURPOSES, 0.88))  # fmt: skip
        # Devices (the app's prompt).
        for did in app["device_id"].tolist():
            p, t = self.device_owner[did], self.device_first_seen[did]
            subjects.append(
                ("device", did, t, p, "app", ("identity_linking", "analytics", "ad_targeting"), 0.8)
            )
        # Contacts (messaging opt-in).
        for cid, channel, t0, p in contacts:
            subjects.append(
                (
                    "contact",
                    cid,
                    t0,
                    p,
                    f"{channel}_optin",
                    ("identity_linking", "messaging_marketing"),
                    0.6,
                )
            )
        rows = self.decisions(subjects, attitude)
        # Cookies (the consent banner): vectorised, they are most of the subjects.
        cookie_rows = self.cookie_consents(web, facts, attitude)
        frame = pd.DataFrame(
            rows,
            columns=["subject_type", "subject_id", "purpose", "status", "t", "source", "expires"],
        )
        frame = pd.concat([frame, cookie_rows], ignore_index=True)
        order = np.argsort(frame["t"].to_numpy(dtype=np.int64), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        n = len(frame)
        serial = (np.int64(self.chunk) << np.int64(36)) | np.arange(n, dtype=np.int64)
        expires = frame["expires"].to_numpy(dtype=np.int64)
        expires_text = np.full(n, None, dtype=object)
        expires_text[expires > 0] = iso_utc(expires[expires > 0])
        return pd.DataFrame(
            {
                "subject_type": frame["subject_type"].astype(object),
                "subject_id": frame["subject_id"].astype(object),
                "purpose": frame["purpose"].astype(object),
                "status": frame["status"].astype(object),
                "recorded_at": iso_utc(frame["t"].to_numpy(dtype=np.int64)).astype(object),
                "source": frame["source"].astype(object),
                "evidence": np.full(n, None, dtype=object),
                "expires_at": expires_text,
                "event_id": np.array(
                    [f"ce_{h}" for h in hex16(mix64(serial, _SALT["consent"]))], dtype=object
                ),
            }
        )

    def decisions(
        self,
        subjects: list[tuple[str, str, int, Person, str, tuple[str, ...], float]],
        attitude: dict[int, int],
    ) -> list[tuple[object, ...]]:
        """Consent rows for CRM, app and messaging subjects: answered or not, per purpose."""
        rnd = self.rnd
        rows: list[tuple[object, ...]] = []
        end = self.start + self.span - 60
        for subject_type, sid, t, p, source, purposes, answer_rate in subjects:
            if rnd.random() > answer_rate:
                continue  # never answered
            mood = attitude[p.gid]
            for purpose in purposes:
                base = {"identity_linking": 0.9, "analytics": 0.75, "personalisation": 0.65,
                        "ad_targeting": 0.42, "messaging_marketing": 0.5}[purpose]  # fmt: skip
                if subject_type == "device" and purpose == "ad_targeting":
                    base = 0.35
                rate = (
                    (0.97, base, 0.05)[mood] if purpose == "identity_linking" or mood != 1 else base
                )
                if mood == 2 and purpose == "identity_linking":
                    rate = 0.25
                if purpose != "identity_linking" and rnd.random() < 0.15:
                    continue  # not asked
                status = "granted" if rnd.random() < rate else "denied"
                rows.append((subject_type, sid, purpose, status, t, source, 0))
                if status == "granted" and rnd.random() < 0.04:
                    later = t + int(rnd.random() * max(60, end - t))
                    rows.append(
                        (subject_type, sid, purpose, "withdrawn", min(later, end), source, 0)
                    )
        return rows

    def cookie_consents(
        self, web: pd.DataFrame, facts: dict[str, np.ndarray], attitude: dict[int, int]
    ) -> pd.DataFrame:
        """Cookie banner answers, one decision per purpose (vectorised: cookies are most subjects)."""
        rng = self.rng
        is_cookie = facts["cookie"] >= 0
        subject = facts["subject"][is_cookie]
        t = facts["t"][is_cookie]
        owner = facts["owner"][is_cookie]
        _, first = np.unique(facts["cookie"][is_cookie], return_index=True)
        first = np.sort(first)
        subject, t, owner = subject[first], t[first], owner[first]
        n = len(subject)
        country = np.array([p.country for p in self.people], dtype=object)[owner]
        answer = np.where(country == "GB", 0.85, np.where(country == "IL", 0.55, 0.7))
        answered = rng.random(n) < answer
        mood = np.array([attitude[p.gid] for p in self.people], dtype=np.int64)[owner]
        purposes = ("identity_linking", "analytics", "personalisation", "ad_targeting")
        base = np.array([0.85, 0.75, 0.6, 0.45])
        frames = []
        for j, purpose in enumerate(purposes):
            rate = np.where(mood == 0, 0.97, np.where(mood == 1, base[j], 0.06))
            status = np.where(rng.random(n) < rate, "granted", "denied").astype(object)
            expires = t + 395 * _DAY
            frames.append(pd.DataFrame({
                "subject_type": "cookie", "subject_id": subject[answered], "purpose": purpose,
                "status": status[answered], "t": t[answered], "source": "cmp", "expires": expires[answered],
            }))  # fmt: skip
            withdrawn = answered & (status == "granted") & (rng.random(n) < 0.03)
            later = t + (rng.random(n) * np.maximum(60, self.start + self.span - 60 - t)).astype(
                np.int64
            )
            frames.append(pd.DataFrame({
                "subject_type": "cookie", "subject_id": subject[withdrawn], "purpose": purpose,
                "status": "withdrawn", "t": later[withdrawn], "source": "cmp", "expires": 0,
            }))  # fmt: skip
        return pd.concat(frames, ignore_index=True)


def _parse_ip(text: str) -> int:
    """A dotted quad as an integer."""
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _slug(text: str) -> str:
    """Lower-case ASCII letters and digits (Telegram usernames)."""
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def build_chunk(
    people: list[Person],
    *,
    seed: int,
    chunk: int,
    now: datetime,
    used_handles: set[str],
    shared_devices: list[tuple[Person, Person]],
    activity: bool = True,
    web_regime: WebRegime = "bank",
) -> ChunkTables:
    """Every source table of one chunk, with labels for the linked ones."""
    b = _Builder(
        people,
        seed=seed,
        chunk=chunk,
        now=now,
        used_handles=used_handles,
        shared_devices=shared_devices,
        web_regime=web_regime,
    )
    crm = b.crm()
    loyalty = b.loyalty()
    app = b.app()
    web, facts = b.web()
    messaging, contacts = b.messaging()
    tables = {"crm": crm, "loyalty": loyalty, "web": web, "app": app, "messaging": messaging}
    if activity:
        tables["events"] = b.events(web, facts, contacts)
        tables["interactions"] = b.interactions()
        tables["consents"] = b.consents(crm, app, web, facts, contacts)
    for name in ("crm", "loyalty", "app", "messaging"):
        tables[name] = (
            tables[name].sort_values(KEY_COLUMN[name], kind="stable").reset_index(drop=True)
        )
    # Labels in source order (crm, loyalty, app, web, messaging), each in creation order.
    labels = pd.DataFrame(b.labels, columns=["source", "record_key", "true_id"], dtype=object)
    return ChunkTables(tables=tables, labels=labels, placeholder_people=b.placeholder_people)
