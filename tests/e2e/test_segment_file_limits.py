"""Segment files with unusable numbers or deep nesting exit 2, naming the rule (issue #12).

The limits are those of stored segments (``tests/api/test_segment_limits.py``):
checked when the file loads, before any run is read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audiences.segments import MAX_RULE_DEPTH
from tests.clirunner import tether_in_process as tether

pytestmark = pytest.mark.e2e

DEEP = "rule:\n" + "".join("  " * i + "  not:\n" for i in range(MAX_RULE_DEPTH + 1))
DEEP += "  " * (MAX_RULE_DEPTH + 2) + "feature: is_customer\n"
DEEP += "  " * (MAX_RULE_DEPTH + 2) + "equals: true\n"

FILES = {
    "forty_digits": (
        "name: huge\nrule: {feature: age, gt: 1" + "0" * 39 + "}\n",
        "rule.gt: a number must lie between",
    ),
    "nan": ("name: nan_age\nrule: {feature: age, lt: .nan}\n", "rule.lt: a number must be finite"),
    "infinity": (
        "name: inf_age\nrule: {all: [{feature: age, in: [30, -.inf]}]}\n",
        "rule.all[0].in[1]: a number must be finite",
    ),
    "deep": ("name: deep\n" + DEEP, f"conditions nest at most {MAX_RULE_DEPTH} deep"),
}


@pytest.fixture
def home(api_world: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(api_world, copy, symlinks=True)
    return copy


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_segment_file_beyond_the_limits_exits_2(case: str, home: Path, tmp_path: Path) -> None:
    text, message = FILES[case]
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / f"{case}.yaml").write_text(text)
    config = str(home / "demo" / "tether.toml")
    for command in (("segments", "list"), ("segments", "preview", "whatever")):
        ran = tether(*command, "-c", config, "--segments", str(segments), home=home, check=False)
        assert ran.returncode == 2, ran.stderr
        assert message in ran.stderr
        assert "Traceback" not in ran.stderr + ran.stdout
    as_json = tether("segments", "list", "-c", config, "--segments", str(segments), "--json",
                     home=home, check=False)  # fmt: skip
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)["error"]
    assert error["code"] == "segment_invalid" and message in error["message"]


def test_a_file_at_the_depth_limit_is_evaluated(home: Path, tmp_path: Path) -> None:
    segments = tmp_path / "segments"
    segments.mkdir()
    depth = MAX_RULE_DEPTH
    body = "".join("  " * i + "  not:\n" for i in range(depth))
    body += "  " * (depth + 1) + "feature: is_customer\n" + "  " * (depth + 1) + "equals: true\n"
    (segments / "limit.yaml").write_text("name: limit\nrule:\n" + body)
    ran = tether("segments", "list", "-c", str(home / "demo" / "tether.toml"),
                 "--segments", str(segments), "--json", home=home)  # fmt: skip
    rows = json.loads(ran.stdout)["segments"]
    assert [r["name"] for r in rows] == ["limit"] and rows[0]["size"] > 0
