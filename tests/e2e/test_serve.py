"""`tether serve` as a real process over HTTP: keys from the CLI, a nightly published while
it serves, revocation, and logs without personal data."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx2
import pandas as pd
import pytest

from api.worlds.demo import WORLD_NOW
from tests.clirunner import tether_in_process as tether
from tests.e2e.test_cli import TETHER

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_over_http(api_world: Path, tmp_path: Path) -> None:
    import os

    home = tmp_path / "home"
    shutil.copytree(api_world, home, symlinks=True)
    config = home / "demo" / "tether.toml"
    created = json.loads(
        tether("keys", "create", "e2e", "-s", "read", "-s", "consent:write", "--json",
               home=home).stdout
    )  # fmt: skip
    auth = {"Authorization": f"Bearer {created['token']}"}
    listed = json.loads(tether("keys", "list", "--json", home=home).stdout)["keys"]
    assert [k["key_id"] for k in listed] == [created["key_id"]] and "token" not in listed[0]
    assert created["token"].startswith("tth_") and created["scopes"] == ["read", "consent:write"]
    bad = tether("keys", "create", "x", "-s", "write", home=home, check=False)
    assert bad.returncode == 2 and "write" in bad.stderr
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*TETHER, "--log-level", "info", "serve", "--home", str(home), "-c", str(config),
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TETHER_HOME": str(home)},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/v1/health").status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
            first_run = http.get("/v1/health").json()["run_id"]
            touch = pd.read_parquet(home / "current" / "touchpoints.parquet")
            graph = pd.read_parquet(home / "current" / "identity_graph.parquet")
            cookies = touch["cookie_id"].dropna().unique()[:20].tolist()
            email = touch["email"].dropna().min()

            body = http.post("/v1/identify", json={"cookie_id": cookies[0]}, headers=auth).json()
            assert body["method"] == "exact:cookie_id"
            assert body["person_id"] in set(graph["person_id"])
            state = http.get(f"/v1/consents/email/{email}", headers=auth)
            assert state.status_code == 200
            assert http.post("/v1/identify", json={"cookie_id": "x"}).status_code == 401

            # a nightly publishes a new run while requests keep coming: none fails
            statuses: list[int] = []
            stop = threading.Event()

            def hammer() -> None:
                with httpx2.Client(base_url=base, timeout=10) as own:
                    i = 0
                    while not stop.is_set():
                        r = own.post(
                            "/v1/identify", json={"cookie_id": cookies[i % 20]}, headers=auth
                        )
                        statuses.append(r.status_code)
                        i += 1

            worker = threading.Thread(target=hammer)
            worker.start()
            tether("nightly", "-c", str(config), "--as-of", WORLD_NOW.isoformat(), home=home)
            deadline = time.monotonic() + 60
            while http.get("/v1/health").json()["run_id"] == first_run:
                assert time.monotonic() < deadline, "the new run was not picked up"
                time.sleep(0.2)
            time.sleep(0.5)
            stop.set()
            worker.join()
            assert statuses and set(statuses) == {200}
            runs = http.get("/v1/runs", headers=auth).json()
            assert runs["count"] == 2 and runs["data"][0]["current"] is True

            tether("keys", "revoke", created["key_id"], home=home)
            revoked = time.monotonic()
            while http.get("/v1/runs", headers=auth).status_code != 401:
                assert time.monotonic() - revoked < 2.0, "a revoked key still works after 2 s"
                time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why
    assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in text
    assert "POST /v1/identify 200" in text  # the access log names route templates
    assert email not in text and "Traceback" not in text
