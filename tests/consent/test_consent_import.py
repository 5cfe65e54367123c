"""``tether consent import`` hides nothing it refused (issue #12).

Every row is stored, a duplicate of a stored event, or refused; refused rows
go to a quarantine CSV with their row number and reason, the summary names
them (counts by reason and the quarantine path) and the exit status is 3. On
SQLite and PostgreSQL (``TETHER_DATABASE_URL``), through the CLI.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest

from api.cli.consent import EXIT_ROWS_REFUSED
from consent.ledger import Ledger
from tests.clirunner import tether_in_process as tether

HEADER = "subject_type,subject_id,purpose,status,recorded_at,expires_at,source,event_id"
GOOD = [
    "cookie,K1,ad_targeting,granted,2026-10-01T09:00:00Z,,cmp,E1",
    "cookie,K1,analytics,granted,2026-10-01T09:00:00Z,,cmp,E2",
    "customer,C1,messaging_marketing,granted,2026-10-02T09:00:00+01:00,,crm,E3",
]
BAD = {
    4: ("cookie,K2,ad_targeting,maybe,2026-10-01T09:00:00Z,,cmp,E4", "invalid_value:status"),
    5: ("cookie,K2,ad_targetting,granted,2026-10-01T09:00:00Z,,cmp,E5", "purpose"),
    6: ("cookie,K2,analytics,granted,2026-10-05T09:00:00Z,2026-10-01T00:00:00Z,cmp,E6", "expires_at"),
    7: ("cookie,K2,analytics,granted,not a time,,cmp,E7", "invalid_timestamp:recorded_at"),
    # a withdrawal reusing the id of a grant already stored: a conflict, not a duplicate
    8: ("cookie,K1,ad_targeting,withdrawn,2026-10-03T09:00:00Z,,cmp,E1", "event_id_conflict"),
}  # fmt: skip


def _file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_refused_rows_are_quarantined_named_and_exit_3(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_DATABASE_URL", store_url)
    home = tmp_path / "ws"
    first = tether("consent", "import", str(_file(tmp_path / "a.csv", GOOD)), "--json", home=home)
    assert json.loads(first.stdout)["inserted"] == 3
    assert json.loads(first.stdout)["rows_refused"] == 0 and first.returncode == 0

    lines = [GOOD[0], GOOD[1], GOOD[2]] + [BAD[n][0] for n in sorted(BAD)]
    ran = tether(
        "consent", "import", str(_file(tmp_path / "b.csv", lines)), "--json", home=home, check=False
    )
    assert ran.returncode == EXIT_ROWS_REFUSED == 3, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["rows_in"] == 8
    assert summary["inserted"] == 0 and summary["duplicates"] == 3
    assert summary["rows_refused"] == len(BAD)
    assert summary["rows_in"] == summary["inserted"] + summary["duplicates"] + len(BAD)
    assert sum(summary["refused_reasons"].values()) == len(BAD)
    assert summary["refused_reasons"]["event_id_conflict"] == 1

    quarantine = Path(summary["quarantine"])
    assert quarantine.parent == home / "quarantine"
    assert stat.S_IMODE(quarantine.stat().st_mode) == 0o600
    refused = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert list(refused.columns[:2]) == ["row", "reason"]
    assert refused["row"].astype(int).tolist() == sorted(BAD)
    for row, reason in zip(refused["row"].astype(int), refused["reason"], strict=True):
        assert reason.startswith(BAD[row][1]), (row, reason)
    # the rows as given, to fix and import again
    assert refused.loc[refused["row"] == "8", "status"].item() == "withdrawn"

    # the ledger kept the grant: the withdrawal was refused, not stored over it
    from api.storage import open_store

    engine = open_store(store_url, migrate=False)
    try:
        stored = Ledger(engine).events(subject_type="cookie", subject_ids=["K1"])
        assert sorted(stored["status"]) == ["granted", "granted"]
    finally:
        engine.dispose()

    text = tether(
        "consent", "import", str(tmp_path / "b.csv"), home=home, check=False
    )  # the text summary names the reasons and the file
    assert text.returncode == 3
    assert "5 refused" in text.stdout and "event_id_conflict x1" in text.stdout
    assert "quarantine" in text.stdout and "consent-import-" in text.stdout


def test_a_chosen_quarantine_path_and_a_clean_import_exits_0(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_DATABASE_URL", store_url)
    home = tmp_path / "ws"
    target = tmp_path / "out" / "refused.csv"
    ran = tether(
        "consent", "import", str(_file(tmp_path / "c.csv", [GOOD[0], BAD[4][0]])),
        "--quarantine", str(target), "--json", home=home, check=False,
    )  # fmt: skip
    assert ran.returncode == 3 and json.loads(ran.stdout)["quarantine"] == str(target)
    assert pd.read_csv(target)["row"].tolist() == [2]
    clean = tether(
        "consent", "import", str(_file(tmp_path / "d.csv", GOOD[1:])), "--json", home=home
    )
    assert clean.returncode == 0 and json.loads(clean.stdout)["quarantine"] is None


def test_an_erasure_reaches_the_import_quarantine_too(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_DATABASE_URL", store_url)
    home = tmp_path / "ws"
    k3 = "cookie,K3,ad_targeting,maybe,2026-10-01T09:00:00Z,,cmp,E9"
    lines = [GOOD[0], BAD[4][0], BAD[5][0], k3]
    ran = tether(
        "consent", "import", str(_file(tmp_path / "e.csv", lines)), "--json", home=home, check=False
    )
    quarantine = Path(json.loads(ran.stdout)["quarantine"])
    assert pd.read_csv(quarantine)["subject_id"].tolist() == ["K2", "K2", "K3"]
    erased = json.loads(tether("erase", "cookie", "K2", "--json", home=home).stdout)
    assert pd.read_csv(quarantine)["subject_id"].tolist() == ["K3"]
    assert stat.S_IMODE(quarantine.stat().st_mode) == 0o600
    (audit,) = [r for r in erased["redactions"] if r["run_id"] == "quarantine"]
    assert audit["removed"] == {f"quarantine/{quarantine.name}": 2}
