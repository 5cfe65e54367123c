from __future__ import annotations

import numpy as np
import pandas as pd

from resolver.sources import TOUCHPOINT_COLUMNS
from resolver.stitch import stitch_edges

UA_1 = "Mozilla/5.0 (Macintosh) Safari/605.1.15 Version/18"
UA_2 = "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0"


def _sessions(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [dict.fromkeys(TOUCHPOINT_COLUMNS) | {"kind": "sessions"} | r for r in rows]
    )
    frame["record_id"] = np.arange(len(frame))
    return frame


def _stitch(tp: pd.DataFrame, clusters: list[int], limit: int = 6) -> pd.DataFrame:
    return stitch_edges(tp, cluster=np.array(clusters), max_persons_per_ip=limit)


def test_churned_cookie_joins_the_one_person_with_its_browser():
    tp = _sessions(
        [
            {"cookie_id": "old", "ip": "1.1.1.1", "user_agent": UA_1, "customer_id": "C1"},
            {"cookie_id": "new", "ip": "1.1.1.1", "user_agent": UA_1},  # never logged in
            {"cookie_id": "other", "ip": "1.1.1.1", "user_agent": UA_2, "customer_id": "C2"},
        ]
    )
    edges = _stitch(tp, [0, 1, 2])
    assert edges[["left", "right", "reason"]].values.tolist() == [[1, 0, None]]


def test_two_people_on_one_browser_version_is_ambiguous():
    tp = _sessions(
        [
            {"cookie_id": "a", "ip": "1.1.1.1", "user_agent": UA_1, "customer_id": "C1"},
            {"cookie_id": "b", "ip": "1.1.1.1", "user_agent": UA_1, "email_folded": "b@x.com"},
            {"cookie_id": "anon", "ip": "1.1.1.1", "user_agent": UA_1},
        ]
    )
    edges = _stitch(tp, [0, 1, 2])
    assert edges["reason"].tolist() == ["ambiguous_identifier"]


def test_busy_ips_and_app_user_agents_stitch_nothing():
    # Three colleagues on an office IP, each with their own browser; an
    # anonymous cookie shares one colleague's browser version.
    office: list[dict[str, object]] = [
        {"cookie_id": f"c{i}", "ip": "9.9.9.9", "user_agent": f"UA-{i}", "customer_id": f"C{i}"}
        for i in range(3)
    ]
    anon: dict[str, object] = {"cookie_id": "anon", "ip": "9.9.9.9", "user_agent": "UA-0"}
    tp = _sessions([*office, anon])
    assert len(_stitch(tp, [0, 1, 2, 3], limit=3)) == 1  # a quiet IP: stitched
    assert _stitch(tp, [0, 1, 2, 3], limit=2).empty  # a busy IP: ignored
    app = _sessions(
        [
            {"device_id": "d1", "ip": "2.2.2.2", "user_agent": "BankApp/5", "customer_id": "C9"},
            {"device_id": "d2", "ip": "2.2.2.2", "user_agent": "BankApp/5"},
        ]
    )
    assert _stitch(app, [0, 1]).empty
