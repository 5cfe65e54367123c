from __future__ import annotations

import numpy as np
import pandas as pd

from resolver.sources import TOUCHPOINT_COLUMNS
from resolver.stitch import browser_family, stitch_edges

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


CHROME_134 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/134.0.0.0 Safari/537.36"
CHROME_135 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/135.0.0.0 Safari/537.36"


def _day(d: int) -> pd.Timestamp:
    return pd.Timestamp("2026-05-01", tz="UTC") + pd.Timedelta(days=d)


def _churning_browsers(*, overlapping: bool) -> list[dict[str, object]]:
    """Twenty logged-in people whose browser's second cookie follows its first (or not)."""
    rows: list[dict[str, object]] = []
    for i in range(20):
        ip, cid = f"10.0.{i}.1", f"K{i}"
        second = 10 if overlapping else 30  # first seen while the first was in use, or after
        for cookie, days in ((f"k{i}a", (0, 20)), (f"k{i}b", (second, 40))):
            rows += [
                {"cookie_id": cookie, "ip": ip, "user_agent": CHROME_134, "customer_id": cid,
                 "ts": _day(d)}
                for d in days
            ]  # fmt: skip
    return rows


def _with_churn(rows: list[dict[str, object]], *, overlapping: bool = False) -> pd.DataFrame:
    return _sessions([*rows, *_churning_browsers(overlapping=overlapping)])


def _clusters(tp: pd.DataFrame) -> list[int]:
    """One cluster per customer, with its cookies, as the union before stitching gives."""
    login = tp.dropna(subset=["customer_id"]).groupby("cookie_id")["customer_id"].first()
    key = tp["cookie_id"].map(login).fillna(tp["cookie_id"])
    return pd.factorize(key)[0].tolist()


def test_browser_family_drops_the_version_numbers():
    assert browser_family(CHROME_134) == browser_family(CHROME_135)
    assert browser_family(CHROME_134) != browser_family(UA_1)


def test_a_cookie_churned_after_a_browser_update_joins_its_person():
    rows = [
        {"cookie_id": "old", "ip": "1.1.1.1", "user_agent": CHROME_134, "customer_id": "C1",
         "ts": _day(0)},
        {"cookie_id": "new", "ip": "1.1.1.1", "user_agent": CHROME_135, "ts": _day(50)},
    ]  # fmt: skip
    tp = _with_churn(rows)
    edges = _stitch(tp, _clusters(tp))
    assert edges[["left", "right", "reason"]].values.tolist() == [[1, 0, None]]
    # where the data's cookies of one browser are in use together, only exact user agents match
    tp = _with_churn(rows, overlapping=True)
    assert _stitch(tp, _clusters(tp)).empty


def test_a_cookie_seen_while_the_persons_own_cookie_was_in_use_is_another_browser():
    rows = [
        {"cookie_id": "mine", "ip": "1.1.1.1", "user_agent": CHROME_134, "customer_id": "C1",
         "ts": _day(0)},
        {"cookie_id": "mine", "ip": "1.1.1.1", "user_agent": CHROME_134, "ts": _day(20)},
        {"cookie_id": "anon", "ip": "1.1.1.1", "user_agent": CHROME_134, "ts": _day(10)},
    ]  # fmt: skip
    tp = _with_churn(rows)
    edges = _stitch(tp, _clusters(tp))
    assert edges[["left", "right", "reason"]].values.tolist() == [[2, 0, "ambiguous_identifier"]]
    # a second person on that browser version, whose cookie was not in use then, is its owner
    theirs = {"cookie_id": "theirs", "ip": "1.1.1.1", "user_agent": CHROME_134,
              "customer_id": "C2", "ts": _day(40)}  # fmt: skip
    tp = _with_churn([*rows, theirs])
    edges = _stitch(tp, _clusters(tp))
    assert edges[["left", "right", "reason"]].values.tolist() == [[2, 3, None]]
    # where the data's cookies of one browser are in use together, that is ambiguous as before
    tp = _with_churn([*rows, theirs], overlapping=True)
    assert _stitch(tp, _clusters(tp))["reason"].tolist() == ["ambiguous_identifier"]


def test_a_person_written_jr_or_sr_is_not_picked_by_browser_make_alone():
    # The son (Jr) logged in on Chrome at the family's home IP; a Chrome cookie there that
    # never logged in may be his father's, whose name is his: the make does not tell.
    son = {"cookie_id": "old", "ip": "1.1.1.1", "user_agent": CHROME_134, "customer_id": "C1",
           "generation": "jr", "ts": _day(0)}  # fmt: skip
    anon = {"cookie_id": "new", "ip": "1.1.1.1", "user_agent": CHROME_135, "ts": _day(50)}
    tp = _with_churn([son, anon])
    edges = _stitch(tp, _clusters(tp))
    assert edges[["left", "right", "reason"]].values.tolist() == [[1, 0, "ambiguous_identifier"]]
    # without the suffix it is the churned cookie of the one person with that browser there
    tp = _with_churn([son | {"generation": None}, anon])
    assert _stitch(tp, _clusters(tp))["reason"].tolist() == [None]
    # the exact user agent (one browser version at one IP) is judged as before
    tp = _with_churn([son, anon | {"user_agent": CHROME_134}])
    edges = _stitch(tp, _clusters(tp))
    assert edges[["left", "right", "reason"]].values.tolist() == [[1, 0, None]]


def test_records_without_any_user_agent_stitch_nothing():
    """Data with no browser at all (FEBRL: people, no sessions) gives no edges, and no error."""
    tp = _sessions(
        [
            {"kind": "customers", "customer_id": "C1", "first_latin": "ann"},
            {"cookie_id": "c1", "ip": "1.1.1.1"},  # a cookie without a user agent
        ]
    )
    assert _stitch(tp, [0, 1]).empty
