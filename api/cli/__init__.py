"""The ``tether`` command line (Typer). Thin: parse, call ``Tether``, render.

One module per command group; ``api.cli.base`` holds the app, the shared
options and ``main()``, the one error boundary (exit codes, no tracebacks
without ``--debug``). Importing a group registers its commands, in the
order ``tether --help`` lists them.

Startup is kept light (issue #13): ``tether --help`` and ``tether consent
decode`` must start in well under a second, so these modules import only Typer,
rich and the cheap error classes at the top. Each command imports the pandas,
Splink, SQLAlchemy or Faker code it needs inside its body;
``bench/bench_startup.py`` measures it and ``tests/test_imports.py`` guards it.
"""

from __future__ import annotations

# isort: off
# Importing a group registers its commands, in the order `tether --help` lists them.
from api.cli import world, runs, quality, consent, destinations  # noqa: F401
from api.cli import segments, keys, serve, persons  # noqa: F401

# isort: on
from api.cli.base import app, main
from api.cli.world import write_demo_audiences

__all__ = ["app", "main", "write_demo_audiences"]
