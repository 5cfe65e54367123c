"""The harder world: deterministic, realistic in the ways that matter, and valid Tether input."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import phonenumbers
import pytest

from api.worlds import (
    HARDER_LINKED_SOURCES,
    HARDER_SOURCE_FILES,
    generate_harder_world,
    harder_config_toml,
    iter_harder_world_chunks,
    write_harder_world,
)
from api.worlds.demo import WORLD_NOW
from api.worlds.harder.cases import HARD_CASES
from api.worlds.harder.people import Factory, mailbox
from api.worlds.harder.places import HOME_BLOCKS
from api.worlds.harder.sources import (
    KEY_COLUMN,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONES,
    _Builder,
    build_chunk,
)

PERSONS = 3000


@pytest.fixture(scope="module")
def world():
    return generate_harder_world(persons=PERSONS, seed=42)


@pytest.fixture(scope="module")
def anonymous_world():
    """The same people on a site where hardly anyone identifies (``web_regime="anonymous"``)."""
    return generate_harder_world(persons=PERSONS, seed=42, web_regime="anonymous")


@pytest.fixture(scope="module")
def population():
    """20 000 people of one chunk (names and plans only, no records)."""
    return Factory(seed=11, chunk=0, used_emails=set()).population(0, 20_000)


def _labels(world, source):
    return world.labels[world.labels["source"] == source]


# --- determinism --------------------------------------------------------------------------


def test_same_seed_same_files_other_seed_differs(tmp_path):
    a = write_harder_world(tmp_path / "a", persons=300, seed=7)
    b = write_harder_world(tmp_path / "b", persons=300, seed=7)
    c = write_harder_world(tmp_path / "c", persons=300, seed=8)
    assert a["fingerprint"] == b["fingerprint"] != c["fingerprint"]
    assert a["rows"] == b["rows"]
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # The web regime changes the sessions, not the customers.
    d = write_harder_world(tmp_path / "d", persons=300, seed=7, web_regime="anonymous")
    assert d["fingerprint"] != a["fingerprint"]
    for name in ("crm.csv", "loyalty.csv", "app_devices.csv", "hard_cases.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "d" / name).read_bytes(), name
    with pytest.raises(ValueError, match="web_regime"):
        write_harder_world(tmp_path / "e", persons=10, seed=7, web_regime="retail")


def test_parquet_chunks_are_deterministic_and_laid_out_as_parts(tmp_path):
    a = write_harder_world(
        tmp_path / "a", persons=500, seed=3, fmt="parquet", chunk_persons=200, activity=False
    )
    b = write_harder_world(
        tmp_path / "b", persons=500, seed=3, fmt="parquet", chunk_persons=200, activity=False
    )
    assert a["fingerprint"] == b["fingerprint"]
    assert sorted(p.name for p in (tmp_path / "a" / "web_sessions").iterdir()) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet",
    ]  # fmt: skip
    assert not (tmp_path / "a" / "events").exists()  # activity=False writes only linked sources
    labels = pd.read_csv(tmp_path / "a" / "labels.csv", dtype=str)
    assert len(labels) == a["rows"]["labels"] == a["touchpoints"]


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["he", "ru", "ru_il", "gb", "us"])
def test_name_frequencies_are_heavy_tailed(population, locale):
    people = [p for p in population if p.locale == locale]
    surnames = Counter(p.last.key for p in people)
    forenames = Counter(p.first.key for p in people)
    top_surname = surnames.most_common(1)[0][1] / len(people)
    top_forename = forenames.most_common(1)[0][1] / len(people)
    assert 0.005 <= top_surname <= 0.02, surnames.most_common(3)
    assert 0.01 <= top_forename <= 0.06, forenames.most_common(3)
    # A long tail: many distinct names, many of them rare.
    assert len(surnames) >= 150
    assert sum(1 for n in surnames.values() if n <= 3) >= 40


def test_same_full_name_different_people_is_common(population):
    full = Counter((p.locale, p.first.key, p.last.key) for p in population)
    shared = sum(n for n in full.values() if n > 1)
    assert shared / len(population) > 0.05  # > 1 000 of 20 000 people share a full name


def test_names_in_own_script_and_competing_transliterations(world):
    names = pd.concat(
        [world.tables["crm"]["first_name"], world.tables["loyalty"]["first_name"]]
    ).dropna()
    hebrew = names.str.contains("[\u0590-\u05ff]").mean()
    cyrillic = names.str.contains("[\u0400-\u04ff]").mean()
    arabic = names.str.contains("[\u0600-\u06ff]").mean()
    assert hebrew > 0.1 and cyrillic > 0.05 and arabic > 0.002
    # One person, several spellings / scripts across their records.
    records = pd.concat([world.tables["crm"][["customer_id", "first_name"]]])
    merged = records.merge(_labels(world, "crm"), left_on="customer_id", right_on="record_key")
    forms = merged.groupby("true_id")["first_name"].nunique()
    assert (forms > 1).sum() >= 50
    shown = world.tables["messaging"]["display_name"].dropna()
    assert (
        shown.str.contains("[\u0590-\u05ff]").any() and shown.str.contains("[\u0400-\u04ff]").any()
    )


# --- places -----------------------------------------------------------------------------------


def test_postcodes_are_often_coarse_or_missing(world):
    crm = world.tables["crm"]
    assert crm["postcode"].isna().mean() > 0.3
    gb = crm[(crm["country"] == "GB") & crm["postcode"].notna()]["postcode"]
    outward = gb.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?").mean()
    assert 0.1 < outward < 0.5
    il = crm[(crm["country"] == "IL") & crm["postcode"].notna()]["postcode"]
    assert il.str.fullmatch(r"\d{7}").any() and il.str.fullmatch(r"\d{5}").any()
    cities = crm["city"].dropna()
    assert (
        cities.str.contains("[\u0590-\u05ff]").any()
        and cities.str.contains("[\u0400-\u04ff]").any()
    )


# --- duplicates and the second customer source ------------------------------------------------


def test_crm_duplicates_are_one_to_five_extra_rows_for_a_minority(world):
    rows = _labels(world, "crm").groupby("true_id").size()
    assert rows.min() == 1 and rows.max() <= 6
    with_duplicates = (rows > 1).mean()
    assert 0.05 < with_duplicates < 0.3
    assert (rows >= 3).any()


def test_loyalty_is_duplicate_free_with_its_own_ids(world):
    loyalty = _labels(world, "loyalty")
    assert loyalty["true_id"].is_unique
    assert world.tables["loyalty"]["customer_id"].str.fullmatch(r"L\d{7}").all()
    assert 0.1 < len(loyalty) / PERSONS < 0.5
    crm_people = set(_labels(world, "crm")["true_id"])
    assert len(set(loyalty["true_id"]) & crm_people) > 0.5 * len(
        loyalty
    )  # mostly linkable to the CRM


# --- labels, keys, volume ---------------------------------------------------------------------


def test_every_linked_record_is_labelled_and_keys_are_unique(world):
    labels = world.labels
    assert not labels.duplicated(["source", "record_key"]).any()
    assert labels["true_id"].str.fullmatch(r"P\d{8}").all()
    for source in HARDER_LINKED_SOURCES:
        keys = world.tables[source][KEY_COLUMN[source]]
        assert keys.notna().all() and keys.is_unique, source
        assert set(keys) == set(_labels(world, source)["record_key"]), source
    assert world.tables["consents"]["event_id"].is_unique


def _identified(world) -> dict[str, float]:
    """How observable the web visitors are: shares of sessions and cookies that identify."""
    web = world.tables["web"].merge(
        _labels(world, "web"), left_on="session_id", right_on="record_key"
    )
    identifies = web[["customer_id", "email", "phone", "first_name"]].notna().any(axis=1)
    cookies = web["cookie_id"].notna()
    by_cookie = web[cookies]["cookie_id"]
    logs_in = web[cookies]["customer_id"].notna().groupby(by_cookie).transform("any")
    bankers = web[cookies]["true_id"].isin(set(web.loc[web["customer_id"].notna(), "true_id"]))
    return {
        "anonymous_sessions": 1 - identifies.mean(),
        "logged_in": web["customer_id"].notna().mean(),
        "cookies": identifies[cookies].groupby(by_cookie).any().mean(),
        "bankers_on_login_cookie": logs_in[bankers].mean(),
    }


def test_about_twelve_touchpoints_per_person_mostly_web_sessions(world, anonymous_world):
    for w in (world, anonymous_world):
        touchpoints = sum(len(w.tables[s]) for s in HARDER_LINKED_SOURCES)
        assert 10.5 <= touchpoints / PERSONS <= 13.5
        web = w.tables["web"]
        assert len(web) / touchpoints > 0.6
        assert web["customer_id"].notna().mean() > 0.03 and web["email"].notna().any()
        assert (web["cookie_id"].notna() | web["device_id"].notna()).all()


def test_bank_regime_identifies_far_more_cookies_than_the_anonymous_one(world, anonymous_world):
    bank, anonymous = _identified(world), _identified(anonymous_world)
    # Anonymous: four sessions in five anonymous, a quarter of cookies ever identify.
    assert anonymous["anonymous_sessions"] > 0.75 and anonymous["cookies"] < 0.3
    # Bank: online-banking customers make most visits and log in on most of them.
    assert bank["cookies"] > 1.6 * anonymous["cookies"]
    assert bank["logged_in"] > 1.8 * anonymous["logged_in"]
    assert bank["anonymous_sessions"] < 0.7
    assert bank["bankers_on_login_cookie"] > 0.75 > anonymous["bankers_on_login_cookie"]
    # Prospects and customers who do not bank online still browse anonymously.
    assert bank["anonymous_sessions"] > 0.4
    # Same people, same customers: the regime changes the web sessions only.
    for source in ("crm", "loyalty", "app"):
        pd.testing.assert_frame_equal(world.tables[source], anonymous_world.tables[source])


def test_shared_ips_cookie_churn_and_channels(world):
    web = world.tables["web"].merge(
        _labels(world, "web"), left_on="session_id", right_on="record_key"
    )
    people_per_ip = web.groupby("ip")["true_id"].nunique()
    assert people_per_ip.max() > 50  # carrier NAT and big offices
    cookies_per_person = web.dropna(subset=["cookie_id"]).groupby("true_id")["cookie_id"].nunique()
    assert cookies_per_person.mean() > 2
    channels = world.tables["messaging"]["channel"].str.lower().value_counts()
    assert {"whatsapp", "telegram", "viber", "messenger"} <= set(channels.index)
    wa = world.tables["messaging"].query("channel == 'whatsapp'")["phone"].dropna()
    assert wa.str.fullmatch(r"\d{11,13}").all()
    assert all(phonenumbers.is_valid_number(phonenumbers.parse("+" + n)) for n in wa.head(200))
    ads = world.tables["app"]["ad_id"]
    assert (ads == "00000000-0000-0000-0000-000000000000").mean() > 0.1


def test_bank_regime_keeps_browser_stitching_hard():
    people = Factory(seed=4, chunk=0, used_emails=set()).population(0, 1500)
    args = {"seed": 4, "chunk": 0, "now": WORLD_NOW, "used_handles": set(), "shared_devices": []}
    built = build_chunk(people, **args, activity=False)
    home_of = {p.true_id: p.household.hid for p in people}
    web = built.tables["web"].merge(built.labels, left_on="session_id", right_on="record_key")
    web = web.assign(home=web["true_id"].map(home_of))
    # A browser keeps its user agent across churned cookies (until the next release) ...
    cookies = web.groupby(["true_id", "ip", "user_agent"])["cookie_id"].nunique()
    assert (cookies > 1).sum() > 100
    # ... but household members on the same phone and browser version share it at home,
    per_home = web.groupby(["ip", "user_agent", "home"])["true_id"].nunique()
    assert (per_home > 1).sum() >= 20
    # and home addresses a household gave up are handed to other households.
    blocks = {f"{a}.{b}." for country in HOME_BLOCKS.values() for a, b in country}
    home_ips = web[web["ip"].str.extract(r"^(\d+\.\d+\.)")[0].isin(blocks)]
    assert (home_ips.groupby("ip")["home"].nunique() > 1).sum() >= 20
    # Never two households on one address at once; each keeps it for weeks to months.
    plan = _Builder(people, **args).home_ip_plan()
    held: dict[int, list[tuple[float, float, int]]] = {}
    first: dict[int, int] = {}
    for i, p in enumerate(people):
        first.setdefault(p.household.hid, i)
    for hid, i in first.items():
        shift, period = plan.shift[i], plan.period[i]
        assert period >= 14
        for k in range(int((180 + shift) // period) + 1):
            span = (k * period - shift, (k + 1) * period - shift, hid)
            held.setdefault(int(plan.serials[plan.offset[i] + k]), []).append(span)
    shared = 0
    for spans in held.values():
        spans.sort()
        shared += len({h for _, _, h in spans}) > 1
        for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
            assert a == b or start >= end, spans
    assert shared >= 50


def test_timestamps_fall_in_the_window(world):
    start = WORLD_NOW - timedelta(days=180)
    for source, column in [("web", "started_at"), ("crm", "created_at"), ("app", "last_seen"),
                           ("events", "ts"), ("consents", "recorded_at"), ("interactions", "ts")]:  # fmt: skip
        ts = pd.to_datetime(world.tables[source][column], utc=True, format="mixed")
        assert ts.notna().all() and ts.min() >= start and ts.max() <= WORLD_NOW, source


def test_consents_mostly_grant_identity_linking_with_refusals_and_withdrawals(world):
    consents = world.tables["consents"]
    linking = consents[consents["purpose"] == "identity_linking"]["status"].value_counts(
        normalize=True
    )
    assert (
        0.6 < linking["granted"] < 0.9 and linking["denied"] > 0.05 and linking["withdrawn"] > 0.01
    )
    ads = consents[consents["purpose"] == "ad_targeting"]["status"].value_counts(normalize=True)
    assert ads["granted"] < linking["granted"]
    cookies = set(world.tables["web"]["cookie_id"].dropna())
    answered = set(consents.query("subject_type == 'cookie'")["subject_id"])
    assert answered <= cookies and 0.4 < len(answered) / len(cookies) < 0.95  # many never answer


# --- hard cases -------------------------------------------------------------------------------


def test_hard_cases_are_present_with_several_instances(world):
    cases = world.hard_cases
    assert set(cases) == set(HARD_CASES)
    labelled = set(world.labels["true_id"])
    for case, ids in cases.items():
        assert len(ids) >= 10, case  # five instances in a 3 000-person world
        assert len(set(ids)) == len(ids) and set(ids) <= labelled, case


def test_hard_cases_look_alike_in_the_data(world):
    crm = world.tables["crm"].merge(
        _labels(world, "crm"), left_on="customer_id", right_on="record_key"
    )
    # The family tablet: one device, logged into two people's customer accounts.
    owner_of = crm.set_index("customer_id")["true_id"]
    logins = pd.concat(
        [
            world.tables["app"][["device_id", "customer_id"]],
            world.tables["web"][["device_id", "customer_id"]],
        ]
    )
    logins = logins.dropna().assign(true_id=lambda f: f["customer_id"].map(owner_of))
    tablets = logins.groupby("device_id")["true_id"].nunique()
    assert (tablets > 1).sum() >= 5
    # The recycled phone: one number in two people's records.
    people = set(world.hard_cases["recycled_phone"])
    msg = world.tables["messaging"].merge(
        _labels(world, "messaging"), left_on="contact_id", right_on="record_key"
    )
    wa = msg[msg["true_id"].isin(people) & (msg["channel"].str.lower() == "whatsapp")]
    assert (wa.groupby("phone")["true_id"].nunique() > 1).sum() >= 5
    # Placeholders shared by strangers.
    placeholders = crm[
        crm["email"].isin(PLACEHOLDER_EMAILS) | crm["phone"].isin(PLACEHOLDER_PHONES)
    ]
    assert placeholders["true_id"].nunique() >= 10
    assert set(placeholders["true_id"]) <= set(world.hard_cases["placeholder_identifiers"])
    # The shared family email: two people, one address.
    shared = crm[crm["true_id"].isin(world.hard_cases["shared_family_email"])].dropna(
        subset=["email"]
    )
    assert (shared.groupby("email")["true_id"].nunique() == 2).sum() >= 3


def test_emails_and_phones_are_personal_across_chunks():
    chunks = list(iter_harder_world_chunks(persons=900, seed=5, chunk_persons=300))
    assert len(chunks) == 3
    crm = pd.concat([c.tables["crm"] for c in chunks], ignore_index=True)
    labels = pd.concat([c.labels for c in chunks], ignore_index=True)
    for source in HARDER_LINKED_SOURCES:
        keys = pd.concat([c.tables[source][KEY_COLUMN[source]] for c in chunks])
        assert keys.is_unique, source
    assert labels["true_id"].nunique() <= 900
    merged = crm.merge(
        labels[labels["source"] == "crm"], left_on="customer_id", right_on="record_key"
    )
    allowed = {t for c in chunks for ids in c.hard_cases.values() for t in ids}
    emails = merged.assign(value=merged["email"].str.lower())
    # Mobile numbers as WhatsApp / Viber ids (home landlines are shared by a household, rightly).
    messaging = pd.concat([c.tables["messaging"] for c in chunks]).merge(
        labels, left_on="contact_id", right_on="record_key"
    )
    mobiles = messaging[messaging["channel"].str.lower().isin(["whatsapp", "viber"])].assign(
        value=lambda f: f["phone"]
    )
    for values in (emails, mobiles):
        owners = values.dropna(subset=["value"]).groupby("value")["true_id"].unique()
        shared = [set(ids) for ids in owners if len(ids) > 1]
        assert all(ids <= allowed for ids in shared), shared[:3]


def test_no_two_people_share_a_mailbox(population):
    """Gmail ignores dots in an address: michael.smith@ and michaelsmith@gmail.com are one
    inbox, which Gmail never gives to two people (Tether folds them, rightly, as one)."""
    owners: dict[str, int] = {}
    for p in population:
        for email in {p.email, p.old_email, p.work_email} - {None}:
            assert owners.setdefault(mailbox(email), p.gid) == p.gid, email
    assert sum("@gmail.com" in box for box in owners) > 1000


# --- Tether reads it --------------------------------------------------------------------------


def _ingest(config_path: Path):
    from api.settings import load_config
    from resolver import ingest_sources

    config = load_config(config_path)
    return ingest_sources(sources=config.sources, default_region=config.linking.default_region)


@pytest.mark.parametrize(
    ("fmt", "chunk_persons", "activity"), [("csv", 50_000, True), ("parquet", 400, False)]
)
def test_tether_ingests_the_world_cleanly(tmp_path, fmt, chunk_persons, activity):
    persons = 900
    summary = write_harder_world(
        tmp_path / "data",
        persons=persons,
        seed=9,
        fmt=fmt,
        chunk_persons=chunk_persons,
        activity=activity,
    )
    config = tmp_path / "tether.toml"
    config.write_text(
        harder_config_toml(
            data_dir="data", fmt=fmt, chunked=persons > chunk_persons, activity=activity
        )
    )
    result = _ingest(config)
    names = {c.source for c in result.counts}
    assert names == {s for s in HARDER_SOURCE_FILES if activity or s in HARDER_LINKED_SOURCES}
    for counts in result.counts:
        assert counts.reconciles, counts
        assert counts.rows_in == counts.rows_used + counts.rows_quarantined
        assert counts.rows_quarantined <= 0.001 * counts.rows_in, counts
    assert len(result.touchpoints) == summary["touchpoints"]
    if not activity:
        assert "identity_linking = true" in config.read_text()


def test_hard_cases_file_has_one_row_per_case_and_person(tmp_path):
    summary = write_harder_world(tmp_path, persons=400, seed=2, activity=False)
    cases = pd.read_csv(tmp_path / "hard_cases.csv", dtype=str)
    assert list(cases.columns) == ["case", "true_id"]
    assert not cases.duplicated().any()
    assert set(cases["case"]) == set(HARD_CASES) == set(summary["hard_cases"])
    assert len(cases) == sum(len(v) for v in summary["hard_cases"].values())
    assert re.fullmatch(r"[0-9a-f]{16}", summary["fingerprint"])
