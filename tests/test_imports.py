"""Importing a package, and starting the CLI, loads no heavy library (issue #13).

``tether --help`` and ``tether consent decode`` must start in under a second;
Splink, Faker, SciPy, scikit-learn, DuckDB, pandas and SQLAlchemy alone take
several. The packages export their heavy names lazily (PEP 562) and the CLI
imports them inside its commands. This test checks *what* is imported, in a
fresh interpreter, not how long it takes: ``bench/bench_startup.py`` times it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import audiences
import consent
import resolver

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("splink", "faker", "scipy", "sklearn", "duckdb", "pandas", "sqlalchemy")

# Run in a fresh interpreter: records, for each heavy package, the first import of it
# and the lines of Tether's own code that led there, then runs the light commands.
PROBE = """
import json, sys, traceback

HEAVY = set(sys.argv[1].split(","))
ROOT = sys.argv[2]
culprits = {}

class Tattle:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in culprits:
            culprits[top] = [
                f"{f.filename[len(ROOT) + 1:]}:{f.lineno}"
                for f in traceback.extract_stack()
                if f.filename.startswith(ROOT) and "/.venv/" not in f.filename
            ]
        return None

sys.meta_path.insert(0, Tattle())

import resolver, consent, audiences, api, api.cli, api.errors
from resolver import TetherError, ConfigError, LinkingOptions, NULL_PROGRESS
from resolver.errors import InputError

codes = []
for argv in (["--help"], ["consent", "decode", sys.argv[3], "--json"],
             ["consent", "decode", "not-a-tc-string"]):
    sys.argv = ["tether", *argv]
    codes.append(api.cli.main())
print("\\nPROBE " + json.dumps({"codes": codes, "culprits": culprits}))
"""


def _a_tc_string() -> str:
    vectors = json.loads((ROOT / "tests" / "data" / "tcf-vectors.json").read_text())
    return str(vectors[0]["tc_string"])


def test_packages_and_light_commands_import_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), str(ROOT), _a_tc_string()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.rpartition("\nPROBE ")[2])
    # --help and a good string succeed, a bad string is a usage error (exit 2)
    assert probe["codes"] == [0, 0, 2], done.stdout + done.stderr
    # {heavy package: the lines of Tether that imported it}: make those imports lazy
    assert probe["culprits"] == {}


@pytest.mark.parametrize("package", [resolver, consent, audiences], ids=lambda p: p.__name__)
def test_every_exported_name_resolves(package: object) -> None:
    names = list(getattr(package, "__all__", []))
    for name in names:
        assert getattr(package, name) is not None, name
        assert name in dir(package)
    with pytest.raises(AttributeError):
        getattr(package, "no_such_name")  # noqa: B009 - the lazy __getattr__ must still refuse


def test_lazy_names_come_from_their_modules() -> None:
    assert set(resolver._LAZY) <= set(resolver.__all__)
    for name, module in resolver._LAZY.items():
        assert getattr(resolver, name) is getattr(importlib.import_module(module), name)


def test_errors_mapped_by_name_get_their_classes_status() -> None:
    """``api.errors`` names the classes of slow modules; the names must stay right."""
    from api.errors import HTTP_STATUS, exit_code_for, http_status_for
    from api.pipeline import RunFailedError

    for cls, status in HTTP_STATUS.items():
        error = cls.__new__(cls)  # no __init__: some take keyword-only fields
        assert http_status_for(error) == status, cls
        assert exit_code_for(error) == (1 if issubclass(cls, RunFailedError) else 2), cls
