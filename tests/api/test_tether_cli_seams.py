"""What the CLI asks of ``Tether`` beyond the notebooks (issue #13): a segment folder, no run yet.

The CLI's ``--segments DIR`` replaces ``[audiences] segments`` through
``Tether.open(segments=...)``; commands that need a run get
``NoCurrentRunError`` (exit 2, "run `tether link` first") from
``runs.require_current()``; the TC/GPP decoder the CLI calls without opening
a workspace is the one ``tether.consent.decode`` uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api import Tether
from api.tether.strings import decode_consent_string
from audiences.segments import EXAMPLES
from resolver.errors import NoCurrentRunError


def test_a_segment_folder_given_to_open_replaces_the_configured_one(tmp_path: Path) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    first = sorted(EXAMPLES.glob("*.yaml"))[0]
    shutil.copyfile(first, folder / first.name)
    with Tether.open(tmp_path / "home", segments=folder) as tether:
        assert tether.segments_dir == folder
        names = set(tether.segments.all())
        rows = tether.segments.rows()
    assert len(names) == 1
    assert [r["name"] for r in rows] == sorted(names)
    assert rows[0]["size"] is None  # no run yet: no size
    with Tether.open(tmp_path / "home") as tether:
        assert tether.segments_dir is None
        assert tether.segments.all() == {}


def test_require_current_says_there_is_no_run(tmp_path: Path) -> None:
    with Tether.open(tmp_path / "home") as tether:
        assert tether.run is None
        with pytest.raises(NoCurrentRunError, match="tether link"):
            tether.runs.require_current()


def test_the_cli_decoder_is_the_namespace_decoder(tmp_path: Path) -> None:
    text = "DBABLA~CVVVkkkkkpFY.YA"
    with Tether.open(tmp_path / "home") as tether:
        assert tether.consent.decode(string=text) == decode_consent_string(text)
