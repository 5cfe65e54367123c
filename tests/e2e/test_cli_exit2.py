"""Careless input gets exit 2 and a message, never a traceback (issue #12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.clirunner import tether_in_process as tether

pytestmark = pytest.mark.e2e


def test_init_into_a_missing_folder(tmp_path: Path) -> None:
    ran = tether("init", "--path", str(tmp_path / "no" / "such" / "tether.toml"),
                 home=tmp_path / "ws", check=False)  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert "does not exist; create it first" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


def test_an_as_of_beyond_what_windows_can_count(tmp_path: Path) -> None:
    ran = tether("consent", "show", "customer", "C1", "--as-of", "3026-01-01",
                 home=tmp_path / "ws", check=False)  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert "--as-of '3026-01-01'" in ran.stderr


def test_a_segment_file_that_is_not_utf8(api_world: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(api_world, home, symlinks=True)
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "bad.yaml").write_bytes(b'name: bad\nrule: {event: {type: "\xff\xfe"}}\n')
    ran = tether("segments", "list", "-c", str(home / "demo" / "tether.toml"),
                 "--segments", str(segments), home=home, check=False)  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert "bad.yaml: a segment file must be UTF-8 text" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


def test_user_text_is_printed_as_written_not_as_markup(api_world: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(api_world, home, symlinks=True)
    config = home / "demo" / "tether.toml"
    listed = tether("segments", "list", "-c", str(config), "--json", home=home).stdout
    name = json.loads(listed)["segments"][0]["name"]
    ran = tether("segments", "preview", name, "--person", "[/x]", "-c", str(config),
                 home=home, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "person [/x]" in ran.stdout


def test_errors_under_json_are_json(tmp_path: Path) -> None:
    usage = tether("consent", "show", "customer", "C1", "--as-of", "3026-01-01", "--json",
                   home=tmp_path / "ws", check=False)  # fmt: skip
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["error"]["code"] == "usage"
    domain = tether("why", "crm:1", "web:2", "--json", home=tmp_path / "ws", check=False)
    assert domain.returncode == 2
    error = json.loads(domain.stdout)["error"]
    assert error["code"] == "no_current_run" and set(error) == {"code", "message", "details"}
