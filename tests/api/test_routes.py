"""Every endpoint through the app, on a published demo workspace."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.workspace import Workspace
from tests.api.conftest import Headers, assert_error, make_app_client

RUN_FILES = ("identity_graph", "touchpoints")


def current(home: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(home / "current" / f"{name}.parquet")


def records(home: Path) -> pd.DataFrame:
    """Touchpoints with their person id (the two files are row-aligned)."""
    graph = current(home, "identity_graph")
    return current(home, "touchpoints").assign(person_id=graph["person_id"].to_numpy())


def test_health_needs_no_key_and_names_the_run(client: TestClient, api_home: Path) -> None:
    body = client.get("/v1/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["run_id"] == Workspace(api_home).current_run_id()
    assert body["persons"] == current(api_home, "identity_graph")["person_id"].nunique()


OWNERS = {"customer_id": "customers", "device_id": "devices"}


@pytest.mark.parametrize("field", ["cookie_id", "device_id", "customer_id", "ad_id"])
def test_identify_by_exact_id(
    client: TestClient, api_home: Path, headers: Headers, field: str
) -> None:
    """The owner of an id (the CRM row of a customer id) names the person; a cookie or
    ad id that several persons hold (a shared device) names none."""
    rec = records(api_home)
    rows = rec.dropna(subset=[field])
    if field in OWNERS:
        rows = rows[rows["kind"] == OWNERS[field]]
    rows = rows.drop_duplicates(field).head(40)
    auth = headers("read")
    answered = 0
    for value, person in zip(rows[field], rows["person_id"], strict=True):
        shown = str(value).upper() if field == "ad_id" else str(value)
        body = client.post("/v1/identify", json={field: shown}, headers=auth).json()
        unique = rec.loc[rec[field] == value, "person_id"].nunique() == 1
        if field in OWNERS or unique:
            assert body["person_id"] == person, (field, body)
            assert body["method"] == f"exact:{field}" and body["match_probability"] == 1.0
            answered += 1
        else:
            assert body["person_id"] is None and field in body["reason"]
    assert answered >= 0.9 * len(rows)


def test_identify_by_email_normalises_like_ingest(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    rec = records(api_home).dropna(subset=["email"])
    counts = rec.groupby("email")["person_id"].nunique()
    unique = rec[rec["email"].map(counts) == 1].drop_duplicates("email").head(20)
    auth = headers("read")
    for email, person in zip(unique["email"], unique["person_id"], strict=True):
        body = client.post(
            "/v1/identify", json={"email": f"  {email.upper()} "}, headers=auth
        ).json()
        assert (body["person_id"], body["method"]) == (person, "exact:email")


def test_identify_with_person_fields_uses_the_model(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    """CRM rows given by name, birth date and postcode only (no ids), with noise."""
    crm = pd.read_csv(api_home / "demo" / "crm.csv", dtype=str).dropna(
        subset=["first_name", "last_name", "date_of_birth", "postcode"]
    )
    graph = current(api_home, "identity_graph")
    crm_rows = graph[graph["source"] == "crm"]
    person_of = dict(zip(crm_rows["record_key"], crm_rows["person_id"], strict=True))
    auth = headers("read")
    exact = typo = wrong = 0
    sample = crm.head(120)
    for row in sample.to_dict(orient="records"):
        truth = person_of.get(row["customer_id"])
        last = row["last_name"].strip()
        swapped = last[0] + last[2] + last[1] + last[3:] if len(last) > 3 else last
        for variant, name in (("exact", last.upper()), ("typo", swapped)):
            body = client.post(
                "/v1/identify",
                json={
                    "first_name": f" {row['first_name']} ",
                    "last_name": name,
                    "date_of_birth": row["date_of_birth"],
                    "postcode": row["postcode"].lower(),
                    "country": row["country"] if isinstance(row["country"], str) else None,
                },
                headers=auth,
            ).json()
            assert body["method"] in ("model", "none")
            if body["person_id"] == truth:
                exact += variant == "exact"
                typo += variant == "typo"
            elif body["person_id"] is not None:
                wrong += 1
    assert exact >= 0.97 * len(sample), exact
    assert typo >= 0.85 * len(sample), typo
    assert wrong <= 0.02 * len(sample), wrong


def test_an_unconsented_cookie_is_not_linked_by_its_person_fields(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    crm = pd.read_csv(api_home / "demo" / "crm.csv", dtype=str).iloc[0]
    fields = {
        "first_name": crm["first_name"],
        "last_name": crm["last_name"],
        "date_of_birth": crm["date_of_birth"],
        "postcode": crm["postcode"],
    }
    auth = headers("read", "consent:write")
    body = client.post(
        "/v1/identify", json={"cookie_id": "new-visitor", **fields}, headers=auth
    ).json()
    assert body["person_id"] is None and "identity_linking" in body["reason"]
    client.post(
        "/v1/consents",
        json={
            "events": [
                {
                    "subject_type": "cookie",
                    "subject_id": "new-visitor",
                    "purpose": "identity_linking",
                    "status": "granted",
                    "recorded_at": "2026-11-20T10:00:00Z",
                }
            ]
        },
        headers=auth,
    ).raise_for_status()
    body = client.post(
        "/v1/identify", json={"cookie_id": "new-visitor", **fields}, headers=auth
    ).json()
    assert body["method"] == "model" and body["person_id"] is not None


def test_identify_reports_segments_and_targeting(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    run = api_home / "current"
    consent = pd.read_parquet(run / "person_consent.parquet")
    allowed = consent[(consent["purpose"] == "ad_targeting") & consent["allowed"]]["person_id"]
    rec = records(api_home)
    customers = rec[(rec["kind"] == "customers") & rec["person_id"].isin(set(allowed))]
    row = customers.sort_values("customer_id").iloc[0]
    body = client.post(
        "/v1/identify", json={"customer_id": row["customer_id"]}, headers=headers("read")
    ).json()
    assert body["may_target"] is True and body["consent"]["ad_targeting"] is True
    person = client.get(f"/v1/persons/{row['person_id']}", headers=headers("read")).json()
    assert body["segments"] == person["segments"]


def test_identify_refuses_an_empty_or_unknown_body(client: TestClient, headers: Headers) -> None:
    auth = headers("read")
    assert_error(client.post("/v1/identify", json={}, headers=auth), 422, "input_invalid")
    error = assert_error(
        client.post("/v1/identify", json={"emial": "jane@example.com"}, headers=auth),
        422,
        "request_invalid",
    )
    assert "jane@example.com" not in json.dumps(error)  # no input value is echoed
    long = {"first_name": "x" * 300}
    assert_error(client.post("/v1/identify", json=long, headers=auth), 422, "request_invalid")


def test_person_follows_merged_ids(client: TestClient, api_home: Path, headers: Headers) -> None:
    run = (api_home / "current").resolve()
    registry = pd.read_parquet(run / "person_registry.parquet")
    first = registry.sort_values("person_id").iloc[[0]]
    target = str(first["person_id"].iloc[0])
    merged = first.assign(person_id="oldid123", status="merged", merged_into=target)
    pd.concat([registry, merged]).to_parquet(run / "person_registry.parquet", index=False)
    with make_app_client(api_home, None) as fresh:
        body = fresh.get("/v1/persons/oldid123", headers=headers("read")).json()
    assert (body["person_id"], body["requested_id"], body["merged"]) == (target, "oldid123", True)
    assert body["records"] and set(body["consent"]) >= {"ad_targeting", "identity_linking"}
    assert_error(client.get("/v1/persons/neverissued", headers=headers("read")), 404, "not_found")


def test_erasure_over_http(client: TestClient, api_home: Path, headers: Headers) -> None:
    from api.storage import open_store
    from consent.erasure import ErasureStore

    rec = records(api_home)
    customer = rec[rec["kind"] == "customers"].sort_values("customer_id").iloc[5]
    person = str(customer["person_id"])
    cookies = rec.loc[(rec["person_id"] == person), "cookie_id"].dropna()
    assert_error(client.delete(f"/v1/persons/{person}", headers=headers("read")), 403, "forbidden")
    response = client.delete(f"/v1/persons/{person}", headers=headers("consent:write"))
    assert response.status_code == 202
    receipt = response.json()
    assert (
        receipt["person_id"] == person and receipt["records"] == (rec["person_id"] == person).sum()
    )
    assert receipt["requested_by"].startswith("api:")
    auth = headers("read")
    assert_error(client.get(f"/v1/persons/{person}", headers=auth), 404, "not_found")
    body = client.post(
        "/v1/identify", json={"customer_id": customer["customer_id"]}, headers=auth
    ).json()
    assert body["person_id"] is None
    engine = open_store(f"sqlite:///{api_home / 'tether.db'}")
    suppressed = ErasureStore(engine).suppression(key=Workspace(api_home).salt)
    engine.dispose()
    assert f"customer:{customer['customer_id']}" in suppressed.subjects
    assert {f"cookie:{c}" for c in cookies} <= suppressed.subjects


def test_consent_writes_are_idempotent_and_read_back(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    rec = records(api_home)
    customer = rec[rec["kind"] == "customers"].sort_values("customer_id").iloc[2]
    event = {
        "subject_type": "customer",
        "subject_id": customer["customer_id"],
        "purpose": "ad_targeting",
        "status": "withdrawn",
        "recorded_at": "2026-11-30T09:00:00+00:00",
        "source": "crm",
        "evidence": {"form": "preferences-v3"},
        "event_id": "api-test-1",
    }
    write = headers("consent:write")
    first = client.post("/v1/consents", json={"events": [event]}, headers=write).json()
    again = client.post("/v1/consents", json={"events": [event]}, headers=write).json()
    assert (first["inserted"], again["inserted"], again["duplicates"]) == (1, 0, 1)
    assert first["event_ids"] == ["api-test-1"]
    state = client.get(
        f"/v1/consents/customer/{customer['customer_id']}", headers=headers("read")
    ).json()
    assert state["subject"]["ad_targeting"] == {
        "allowed": False,
        "status": "withdrawn",
        "reason": state["subject"]["ad_targeting"]["reason"],
        "event_ids": ["api-test-1"],
    }
    assert state["person_id"] == customer["person_id"]
    assert state["person"]["ad_targeting"]["allowed"] is False
    # identify sees the withdrawal at once: the run's consent is judged again
    body = client.post(
        "/v1/identify", json={"customer_id": customer["customer_id"]}, headers=headers("read")
    ).json()
    assert body["may_target"] is False
    person = client.get(
        f"/v1/consents/person/{customer['person_id']}", headers=headers("read")
    ).json()
    assert person["subject"] is None and person["person"]["ad_targeting"]["allowed"] is False


def test_consent_write_refuses_bad_events(client: TestClient, headers: Headers) -> None:
    write = headers("consent:write")
    bad = {
        "subject_type": "fax",
        "subject_id": "x",
        "purpose": "ad_targeting",
        "status": "granted",
        "recorded_at": "2026-11-30T09:00:00Z",
    }
    assert_error(client.post("/v1/consents", json={"events": [bad]}, headers=write), 422,
                 "request_invalid")  # fmt: skip
    too_many = {"events": [{**bad, "subject_type": "cookie"}] * 1001}
    assert_error(client.post("/v1/consents", json=too_many, headers=write), 422, "request_invalid")


def test_decode_tc_and_gpp_strings(client: TestClient, headers: Headers) -> None:
    vectors = json.loads((Path(__file__).parents[1] / "data" / "tcf-vectors.json").read_text())
    first = next(v for v in vectors if isinstance(v.get("expected"), dict))
    auth = headers("read")
    body = client.post("/v1/consents/decode", json={"string": first["tc_string"]}, headers=auth)
    assert body.status_code == 200, body.text
    decoded = body.json()
    assert decoded["kind"] == "tcf"
    for name in ("cmpId", "purposeConsents", "purposeLegitimateInterests", "created"):
        assert decoded["decoded"][name] == first["expected"][name], name
    assert_error(
        client.post("/v1/consents/decode", json={"string": "not a tc string"}, headers=auth),
        422,
        "tc_string_invalid",
    )


def test_segments_crud_and_preview(client: TestClient, headers: Headers) -> None:
    read, write = headers("read"), headers("export")
    listed = client.get("/v1/segments", headers=read).json()
    assert listed["count"] == 3 and {s["origin"] for s in listed["data"]} == {"file"}
    definition = {
        "name": "recent_visitors",
        "description": "Any event in 30 days",
        "rule": {"event": {"type": "page_view", "within_days": 30}},
        "destinations": ["google_customer_match"],
    }
    created = client.post("/v1/segments", json=definition, headers=write)
    assert created.status_code == 201 and created.json()["version"] == 1
    assert_error(client.post("/v1/segments", json=definition, headers=write), 409,
                 "segment_conflict")  # fmt: skip
    changed = {**definition, "description": "Any page view in 30 days", "holdout": 0.1}
    replaced = client.put("/v1/segments/recent_visitors", json=changed, headers=write).json()
    assert (replaced["version"], replaced["holdout"]) == (2, 0.1)
    got = client.get("/v1/segments/recent_visitors", headers=read).json()
    assert got["description"] == "Any page view in 30 days" and got["origin"] == "store"
    page = client.get("/v1/segments?limit=2&offset=2", headers=read).json()
    assert (page["count"], len(page["data"]), page["offset"]) == (4, 2, 2)
    preview = client.get(
        "/v1/segments/recent_visitors/preview?destination=google_customer_match"
        "&overlap=mortgage_readers_for_ads",
        headers=read,
    ).json()
    assert preview["size"] > 0 and preview["overlap"]["segment"] == "mortgage_readers_for_ads"
    assert set(preview["destinations"]) == {"google_customer_match"}
    gcm = preview["destinations"]["google_customer_match"]
    assert (
        gcm["eligible"] + gcm["held_out"] + gcm["refused_consent"] + gcm["unmatchable"]
        == (preview["size"])
    )
    assert client.delete("/v1/segments/recent_visitors", headers=write).status_code == 204
    assert_error(client.get("/v1/segments/recent_visitors", headers=read), 404,
                 "segment_not_found")  # fmt: skip


def test_segment_rules_are_checked_and_files_are_read_only(
    client: TestClient, headers: Headers
) -> None:
    write = headers("export")
    bad = {"name": "bad_one", "rule": {"all": [{"feature": "agee", "gt": 30}]}}
    error = assert_error(client.post("/v1/segments", json=bad, headers=write), 422,
                         "segment_invalid")  # fmt: skip
    assert "rule.all[0]" in str(error["message"]) and "agee" in str(error["message"])
    clash = {"name": "mortgage_readers_for_ads", "rule": {"feature": "is_customer", "equals": True}}
    assert_error(client.post("/v1/segments", json=clash, headers=write), 409, "segment_conflict")
    assert_error(
        client.put("/v1/segments/mortgage_readers_for_ads", json=clash, headers=write),
        409,
        "segment_conflict",
    )
    assert_error(
        client.delete("/v1/segments/mortgage_readers_for_ads", headers=write),
        409,
        "segment_conflict",
    )


def test_exports_create_status_download(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    write, read = headers("export"), headers("read")
    segment = "engaged_whatsapp_readers"
    request = {"segment": segment, "destination": "csv_internal", "min_size": 1}
    created = client.post("/v1/exports", json=request, headers=write)
    assert created.status_code == 201, created.text
    export = created.json()
    again = client.post("/v1/exports", json=request, headers=write)
    assert again.status_code == 200 and again.json()["export_id"] == export["export_id"]
    status = client.get(f"/v1/exports/{export['export_id']}", headers=read).json()
    assert status == export and status["status"] == "completed"
    assert {"upload.csv", "manifest.json", "add.csv", "remove.csv"} <= set(export["files"])
    directory = (api_home / "current").resolve() / "exports" / segment / "csv_internal"
    with client.stream(
        "GET", f"/v1/exports/{export['export_id']}/files/upload.csv", headers=write
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        body = b"".join(response.iter_bytes())
    assert body == (directory / "upload.csv").read_bytes()
    manifest = client.get(
        f"/v1/exports/{export['export_id']}/files/manifest.json", headers=write
    ).json()
    assert manifest["counts"]["exported"] == export["counts"]["exported"]
    listed = client.get("/v1/exports?segment=engaged_whatsapp_readers", headers=read).json()
    assert export["export_id"] in {e["export_id"] for e in listed["data"]}
    assert_error(
        client.get(f"/v1/exports/{export['export_id']}/files/members.parquet", headers=write),
        422,
        "request_invalid",
    )
    assert_error(
        client.get(f"/v1/exports/{export['export_id']}/files/other.csv", headers=write),
        404,
        "not_found",
    )


def test_exports_are_refused_with_reasons(client: TestClient, headers: Headers) -> None:
    write = headers("export")
    assert_error(
        client.post(
            "/v1/exports", json={"segment": "mortgage_readers_for_ads", "destination": "myspace"},
            headers=write,
        ),
        422,
        "audience_error",
    )  # fmt: skip
    assert_error(
        client.post(
            "/v1/exports",
            json={"segment": "mortgage_readers_for_ads", "destination": "tiktok"},
            headers=write,
        ),
        422,
        "audience_too_small",
    )
    assert_error(
        client.post("/v1/exports", json={"segment": "nope", "destination": "tiktok"},
                    headers=write),
        404,
        "segment_not_found",
    )  # fmt: skip


def test_runs_list_summary_report_and_figures(
    client: TestClient, api_home: Path, headers: Headers
) -> None:
    read = headers("read")
    run_id = Workspace(api_home).current_run_id()
    runs = client.get("/v1/runs", headers=read).json()
    assert runs["count"] == 1 and runs["data"][0]["run_id"] == run_id
    assert runs["data"][0]["current"] is True and runs["data"][0]["status"] == "published"
    one = client.get(f"/v1/runs/{run_id}", headers=read).json()
    assert one["summary"]["persons"] > 0
    report = client.get(f"/v1/runs/{run_id}/report", headers=read)
    assert report.headers["content-type"].startswith("text/html") and b"<svg" in report.content
    figures = client.get(f"/v1/runs/{run_id}/figures", headers=read).json()
    assert figures == json.loads((api_home / "current" / "report_figures.json").read_text())
    assert_error(client.get("/v1/runs/20200101T000000-000000", headers=read), 404, "not_found")


def test_errors_and_limits(client: TestClient, headers: Headers) -> None:
    auth = headers("admin")
    assert_error(client.get("/v1/nothing", headers=auth), 404, "not_found")
    assert_error(client.patch("/v1/runs", headers=auth), 405, "method_not_allowed")
    big = {"events": [{"subject_id": "x" * 200}] * 8000}
    assert_error(client.post("/v1/consents", json=big, headers=auth), 413, "request_too_large")
    chunks = (b"x" * 65536 for _ in range(40))  # no content-length: counted as it streams
    assert_error(
        client.post(
            "/v1/consents",
            content=chunks,
            headers={**auth, "content-type": "application/json"},
        ),
        413,
        "request_too_large",
    )
    assert_error(client.get("/v1/runs?limit=0", headers=auth), 422, "request_invalid")
    assert_error(client.get("/v1/runs?limit=501", headers=auth), 422, "request_invalid")


def test_a_new_run_is_served_without_a_restart_or_a_failed_request(
    api_home: Path, api_config: object, headers: Headers
) -> None:
    """Publish a run while requests are in flight: none fails, and the new run is served."""
    import time

    ws = Workspace(api_home)
    old = ws.current_run_id()
    assert old is not None
    rec = records(api_home)
    cookies = rec["cookie_id"].dropna().drop_duplicates().head(50).tolist()
    auth = headers("read")
    with make_app_client(api_home, None) as client:
        statuses: list[int] = []
        served: set[str] = set()
        stop = threading.Event()

        def hammer() -> None:
            i = 0
            while not stop.is_set():
                r = client.post("/v1/identify", json={"cookie_id": cookies[i % 50]}, headers=auth)
                statuses.append(r.status_code)
                served.add(r.json().get("run_id", "?"))
                i += 1

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        new = "20991231T235959-abcdef"
        shutil.copytree(ws.run_dir(old), ws.partial_dir(new))
        ws.complete_run(new)
        deadline = time.monotonic() + 30
        while client.get("/v1/health").json()["run_id"] != new and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
    assert statuses and set(statuses) == {200}
    assert served == {old, new}
