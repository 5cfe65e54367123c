"""Another writer stores one of the run's event ids, with other content, between the run's
read of the ledger and its append (the API's ``POST /consent`` while the nightly runs).

The consent step judges from the ledger as read and its own rows while it writes them
(``consent.ledger.events_after_append``). Here its event is refused as a conflict, so what it
judged is not what the ledger holds: the run must judge again from the ledger as written,
never link or target on an event the ledger refused (issue #11).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from api.pipeline import run_link
from api.pipeline.results import ConsentJudged
from api.settings import load_config
from api.storage import database_url, open_store
from api.workspace import Workspace
from consent.ledger import Ledger
from tests.conftest import make_demo_dir

AS_OF = "2026-11-01T00:00:00+00:00"


class _Judged:
    def __init__(self) -> None:
        self.states: pd.DataFrame | None = None

    def before(self, step: str) -> None:
        return None

    def after(self, step: str, result: object) -> None:
        if isinstance(result, ConsentJudged):
            self.states = result.states.read()  # on disk until person consent removes it


def test_an_event_stored_meanwhile_is_judged_as_the_ledger_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_demo_dir(tmp_path / "world", persons=120, seed=3)
    consents = pd.read_csv(world / "consents.csv", dtype=str, keep_default_na=False)
    keyed = consents[
        (consents["event_id"] != "")
        & (consents["status"] == "granted")
        & (consents["subject_type"] != "email")  # stored as a hash
    ]
    single = keyed.groupby(["subject_type", "subject_id", "purpose"]).filter(lambda g: len(g) == 1)
    granted = single.iloc[0]
    withdrawal = granted.copy()
    withdrawal["status"] = "withdrawn"
    withdrawal["expires_at"] = ""

    original = Ledger.snapshot

    def snapshot_then_another_writer(ledger: Ledger) -> pd.DataFrame:
        read = original(ledger)
        Ledger(ledger.engine).append_frame(
            withdrawal.to_frame().T.replace({"": None}).reset_index(drop=True)
        )
        return read

    monkeypatch.setattr(Ledger, "snapshot", snapshot_then_another_writer)
    judged = _Judged()
    ws = Workspace.open(tmp_path / "ws")
    summary = run_link(
        config=load_config(world / "tether.toml"),
        workspace=ws,
        retrain=True,
        as_of=datetime.fromisoformat(AS_OF),
        hook=judged,
    )

    assert summary.consent["events_conflicting"] == 1  # the run's grant, refused
    engine = open_store(database_url(home=ws.home))
    try:
        stored = Ledger(engine).events()
    finally:
        engine.dispose()
    assert stored.loc[stored["event_id"] == granted["event_id"], "status"].tolist() == ["withdrawn"]
    assert judged.states is not None
    states = judged.states.astype(str)
    mine = states[
        (states["subject_type"] == granted["subject_type"])
        & (states["subject_id"] == granted["subject_id"])
        & (states["purpose"] == granted["purpose"])
    ]
    assert mine["status"].tolist() == ["withdrawn"]
    assert mine["event_id"].tolist() == [granted["event_id"]]
