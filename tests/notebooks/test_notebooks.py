"""Every notebook in ``notebooks/`` runs on a fresh demo workspace and shows what it promises.

The notebooks are jupytext percent-format ``.py`` files. Each is read into a
notebook and executed through nbclient on an ipykernel kernel (two at a
time, one kernel per core). A notebook passes when every cell ran without an
error and its outputs hold the charts (offline: the JavaScript inlined, no
CDN) and the tables it is about, not merely when nothing raised.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

#: Notebook -> (at least this many offline charts, at least this many tables).
EXPECTED = {
    "01_tour.py": (3, 5),
    "02_model.py": (4, 2),
    "03_evaluation.py": (1, 5),
    "04_consent_audiences.py": (1, 7),
    "05_messaging.py": (2, 5),
}


@dataclass
class Executed:
    notebook: Any
    seconds: float
    error: BaseException | None
    cwd: Path


def _kernel_name(tmp: Path) -> tuple[str, dict[str, str]]:
    """``python3`` from the venv's share/jupyter (ipykernel's wheel ships it); else install it."""
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" in KernelSpecManager().find_kernel_specs():
        return "python3", {}
    from ipykernel.kernelspec import install

    install(prefix=str(tmp))
    return "python3", {"JUPYTER_PATH": str(tmp / "share" / "jupyter")}


async def _execute(
    path: Path, *, home: Path, cwd: Path, kernel: str, env: dict[str, str], slots: Any
) -> Executed:
    import jupytext  # type: ignore[import-untyped]
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, kernel_name=kernel, timeout=240, resources={"metadata": {"path": str(cwd)}}
    )
    async with slots:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            await client.async_execute(env={**os.environ, **env, "TETHER_HOME": str(home)})
        except Exception as exc:  # noqa: BLE001 - reported by the test of this notebook
            error = exc
        seconds = time.perf_counter() - started
    return Executed(notebook=notebook, seconds=seconds, error=error, cwd=cwd)


async def _execute_all(
    paths: list[Path], *, home: Path, cwds: dict[str, Path], kernel: str, env: dict[str, str]
) -> list[Executed]:
    slots = asyncio.Semaphore(2)  # two kernels at a time: one per core
    return list(
        await asyncio.gather(
            *(
                _execute(p, home=home, cwd=cwds[p.name], kernel=kernel, env=env, slots=slots)
                for p in paths
            )
        )
    )


@pytest.fixture(scope="session")
def executed(notebook_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Executed]:
    root = tmp_path_factory.mktemp("notebook-runs")
    kernel, env = _kernel_name(root)
    if env.get("JUPYTER_PATH"):
        os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]
    paths = sorted(NOTEBOOKS.glob("*.py"))
    cwds = {p.name: root / p.stem for p in paths}
    for cwd in cwds.values():
        cwd.mkdir()
    done = asyncio.run(_execute_all(paths, home=notebook_home, cwds=cwds, kernel=kernel, env=env))
    results = {p.name: result for p, result in zip(paths, done, strict=True)}
    for name, result in results.items():
        sys.stderr.write(f"{name}: {result.seconds:.1f} s\n")
    return results


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.py")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 5


def _html_outputs(notebook: Any) -> list[str]:
    return [
        str(output["data"]["text/html"])
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
        and "text/html" in output.get("data", {})
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_and_shows_its_charts_and_tables(
    name: str, executed: dict[str, Executed]
) -> None:
    result = executed[name]
    assert result.error is None, f"{name} failed:\n{result.error}"
    code = [c for c in result.notebook.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "a cell did not run"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    html = _html_outputs(result.notebook)
    charts = [h for h in html if "data-tether-chart=" in h]
    tables = [h for h in html if "<table" in h]
    want_charts, want_tables = EXPECTED[name]
    assert len(charts) >= want_charts, f"{name}: {len(charts)} charts"
    assert len(tables) >= want_tables, f"{name}: {len(tables)} tables"
    for chart in charts:
        # the Vega runtime is inlined (escaped inside srcdoc), never loaded from a CDN
        assert "vegaEmbed" in chart
        assert not re.search(r"&lt;script[^&]*src=", chart)


def test_model_notebook_writes_splink_dashboards(executed: dict[str, Executed]) -> None:
    result = executed["02_model.py"]
    assert result.error is None
    for page in ("comparison_viewer.html", "cluster_studio.html"):
        path = result.cwd / "model-dashboards" / page
        assert path.stat().st_size > 100_000
        assert "<script src=" not in path.read_text(encoding="utf-8")
