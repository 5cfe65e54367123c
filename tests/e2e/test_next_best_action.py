"""The next best action, end to end: call the customer who did not sign, not target her (issue #15).

The scene Tether exists for, added to a demo world: a known customer met a
mortgage advisor three weeks ago without signing, and this week reads the
mortgage pages (logged in). The shipped example segments give her
``advisor_call`` and keep her out of every mortgage ad export. A visitor
never identified who reads the same pages gets the ad (consent given). A
customer who reads them but withdrew ad consent gets neither. Checked in the
nightly's ``person_actions``, in its exports and in ``POST /v1/identify``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from api.cli.world import DEMO_AUDIENCES
from api.http.app import create_app
from api.keys import KeyStore
from api.pipeline import run_link
from api.settings import ApiSettings, load_config
from api.storage import open_store
from api.workspace import Workspace
from api.worlds.demo import WORLD_NOW, demo_config_toml, write_demo_world
from audiences.segments import EXAMPLES, load_segments

PURPOSES = (
    "identity_linking",
    "analytics",
    "personalisation",
    "ad_targeting",
    "messaging_marketing",
)
#: The demo's audiences with every minimum at 1: a small world's audiences export.
AUDIENCES = DEMO_AUDIENCES.replace("min_size = 10", "min_size = 1")

#: customer id, cookie, email, name; whether ad consent was withdrawn; met the advisor
SCENE = {
    "caller": (
        "C9000000001",
        "ck-scene-caller",
        "dana.levi@example.org",
        ("Dana", "Levi"),
        False,
        True,
    ),
    "withdrawn": (
        "C9000000002",
        "ck-scene-withdrawn",
        "oleg.ivanov@example.org",
        ("Oleg", "Ivanov"),
        True,
        False,
    ),
}
VISITOR = "ck-scene-visitor"


def _append(path: Path, rows: list[dict[str, object]]) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.concat([frame, pd.DataFrame(rows)], ignore_index=True).fillna("").to_csv(path, index=False)


def _consents(subject_type: str, subject_id: str, *, withdraw_ads: bool) -> list[dict[str, object]]:
    """Every purpose granted, but messaging refused: the call list must not need it."""
    granted = WORLD_NOW - timedelta(days=100)
    rows: list[dict[str, object]] = [
        {
            "subject_type": subject_type, "subject_id": subject_id, "purpose": purpose,
            "status": "denied" if purpose == "messaging_marketing" else "granted", "recorded_at": granted.isoformat(), "source": "cmp",
            "evidence": "banner-v3", "expires_at": "", "event_id": f"E-{subject_id}-{purpose}",
        }
        for purpose in PURPOSES
    ]  # fmt: skip
    if withdraw_ads:
        rows.append(
            {**rows[3], "status": "withdrawn", "recorded_at": (WORLD_NOW - timedelta(days=10)).isoformat(),
             "event_id": f"E-{subject_id}-ad-withdrawn", "source": "preference_centre"}
        )  # fmt: skip
    return rows


def _mortgage_views(cookie: str) -> list[dict[str, object]]:
    return [
        {"subject_type": "cookie", "subject_id": cookie, "ts": (WORLD_NOW - timedelta(days=d)).isoformat(),
         "event_type": "page_view", "category": "mortgage", "url": "https://bank.example/mortgage/1",
         "value": "", "channel": "web"}
        for d in (1, 2)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("nba") / "demo"
    write_demo_world(data, persons=200, seed=21)
    crm, sessions, events, consents, interactions = [], [], [], [], []
    for customer, cookie, email, (first, last), withdraw, met in SCENE.values():
        crm.append({"customer_id": customer, "email": email, "first_name": first, "last_name": last,
                    "country": "IL", "created_at": "2024-01-01 00:00:00+00:00"})  # fmt: skip
        sessions.append({"session_id": f"S-{cookie}", "started_at": (WORLD_NOW - timedelta(days=2)).isoformat(),
                         "cookie_id": cookie, "ip": "10.0.0.9", "user_agent": "Mozilla/5.0",
                         "customer_id": customer, "gpc": "False"})  # fmt: skip
        events += _mortgage_views(cookie)
        consents += _consents("customer", customer, withdraw_ads=withdraw)
        consents += _consents("cookie", cookie, withdraw_ads=withdraw)
        if met:
            interactions.append({"customer_id": customer, "ts": (WORLD_NOW - timedelta(days=21)).isoformat(),
                                 "kind": "advisor_meeting", "outcome": "not_signed", "value": ""})  # fmt: skip
    sessions.append({"session_id": "S-visitor", "started_at": (WORLD_NOW - timedelta(days=1)).isoformat(),
                     "cookie_id": VISITOR, "ip": "10.0.0.10", "user_agent": "Mozilla/5.0", "gpc": "False"})  # fmt: skip
    events += _mortgage_views(VISITOR)
    consents += _consents("cookie", VISITOR, withdraw_ads=False)
    _append(data / "crm.csv", crm)
    _append(data / "web_sessions.csv", sessions)
    _append(data / "events.csv", events)
    _append(data / "consents.csv", consents)
    _append(data / "interactions.csv", interactions)
    (data / "segments").mkdir()
    for path in EXAMPLES.glob("*.yaml"):
        (data / "segments" / path.name).write_text(path.read_text())
    (data / "tether.toml").write_text(demo_config_toml(data_dir=".") + AUDIENCES)
    return data


@pytest.fixture(scope="module")
def home(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(world / "tether.toml")
    assert config.segments is not None
    home = tmp_path_factory.mktemp("home")
    run_link(
        config=config, workspace=Workspace.open(home), retrain=True, as_of=WORLD_NOW,
        segments=load_segments(config.segments),
    )  # fmt: skip
    return home


def _person(home: Path, cookie: str) -> str:
    graph = pd.read_parquet((home / "current").resolve() / "identity_graph.parquet")
    found = graph[(graph["subject_type"] == "cookie") & (graph["subject_id"] == cookie)]
    return str(found["person_id"].iloc[0])


def test_the_customer_who_did_not_sign_gets_the_call_and_no_mortgage_ad(home: Path) -> None:
    run = (home / "current").resolve()
    actions = pd.read_parquet(run / "person_actions.parquet").set_index("person_id")
    caller, withdrawn, visitor = (
        _person(home, c) for c in (SCENE["caller"][1], SCENE["withdrawn"][1], VISITOR)
    )
    assert caller != visitor and caller != withdrawn
    assert actions.loc[caller, "action"] == "advisor_call"
    assert actions.loc[caller, "segment"] == "mortgage_readers_advisor_calls"
    assert actions.loc[visitor, "action"] == "ad", "never identified: the ad, consent given"
    assert withdrawn not in actions.index, "withdrew ad consent, never met an advisor: neither"

    call_list = pd.read_parquet(
        run / "exports" / "mortgage_readers_advisor_calls" / "crm_call_list" / "members.parquet"
    )
    assert caller in set(call_list["person_id"])
    for platform in ("google_customer_match", "meta_custom_audience"):
        directory = run / "exports" / "mortgage_readers_for_ads" / platform
        members = set(pd.read_parquet(directory / "members.parquet")["person_id"])
        assert caller not in members and withdrawn not in members
        assert (
            json.loads((directory / "manifest.json").read_text())["counts"]["suppressed_by_action"]
            >= 1
        )

    report = json.loads((run / "report.json").read_text())
    assert report["actions"]["advisor_call"] >= 1 and report["actions"]["ad"] >= 1
    assert report["actions_by_segment"]["mortgage_readers_advisor_calls"] >= 1
    assert "Next best action" in (run / "report.html").read_text()


def test_identify_answers_the_action_for_a_live_visitor(home: Path, world: Path) -> None:
    from fastapi.testclient import TestClient

    engine = open_store(f"sqlite:///{home / 'tether.db'}")
    token = KeyStore(engine).create(name="nba", scopes=["read"]).token
    engine.dispose()
    settings = ApiSettings(home=home, database_url=f"sqlite:///{home / 'tether.db'}",
                           config=load_config(world / "tether.toml"))  # fmt: skip
    with TestClient(create_app(settings)) as client:

        def ask(cookie: str) -> dict[str, object]:
            answer = client.post("/v1/identify", json={"cookie_id": cookie},
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        caller = ask(SCENE["caller"][1])
        assert caller["action"] == "advisor_call"
        assert caller["action_segment"] == "mortgage_readers_advisor_calls"
        assert ask(VISITOR)["action"] == "ad"
        withdrawn = ask(SCENE["withdrawn"][1])
        assert withdrawn["person_id"] is not None and withdrawn["action"] is None
        assert withdrawn["may_target"] is False
