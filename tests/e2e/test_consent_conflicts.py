"""A consent event that reuses a stored ``event_id`` with other content is refused, never dropped.

The whole system: a first run stores the world's consents; the business then
sends a withdrawal that reuses the id of an earlier grant (a CMP bug seen in
the field). The next run must neither store it over the grant nor lose it
silently: it is counted in the run's report and quarantined with its reason,
and the ledger still holds the original grant.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from api.pipeline import run_link
from api.settings import load_config
from api.storage import database_url, open_store
from api.workspace import Workspace
from consent.ledger import Ledger
from tests.conftest import make_demo_dir

AS_OF = "2026-11-01T00:00:00+00:00"


def test_a_withdrawal_reusing_an_event_id_is_counted_and_quarantined(tmp_path: Path) -> None:
    world = make_demo_dir(tmp_path / "world", persons=150, seed=5)  # with its consents
    config = load_config(world / "tether.toml")
    ws = Workspace.open(tmp_path / "ws")
    as_of = datetime.fromisoformat(AS_OF)
    first = run_link(config=config, workspace=ws, retrain=True, as_of=as_of)
    assert first.consent["events_conflicting"] == 0

    consents = pd.read_csv(world / "consents.csv", dtype=str, keep_default_na=False)
    granted = consents[(consents["status"] == "granted") & (consents["event_id"] != "")].iloc[0]
    withdrawal = granted.copy()
    withdrawal["status"] = "withdrawn"
    withdrawal["recorded_at"] = "2026-10-01T00:00:00Z"
    withdrawal["expires_at"] = ""
    pd.concat([consents, withdrawal.to_frame().T], ignore_index=True).to_csv(
        world / "consents.csv", index=False
    )

    second = run_link(config=config, workspace=ws, as_of=as_of)
    assert second.consent["events_conflicting"] == 1
    assert second.consent["events_new"] == 0  # everything else was stored by the first run
    report = json.loads((ws.current_dir() / "report.json").read_text())
    assert report["consent"]["events_conflicting"] == 1
    quarantined = pd.read_parquet(ws.current_dir() / "quarantine" / "consent_conflicts.parquet")
    assert quarantined["event_id"].tolist() == [granted["event_id"]]
    assert quarantined["reason"].tolist() == ["event_id_conflict"]
    assert quarantined["status"].tolist() == ["withdrawn"]

    engine = open_store(database_url(home=ws.home))
    try:
        stored = Ledger(engine).events()
    finally:
        engine.dispose()
    assert stored.loc[stored["event_id"] == granted["event_id"], "status"].tolist() == ["granted"]
