"""The ``tether.toml`` a written synthetic world is read with: one writer for every world."""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["world_config_toml"]


def world_config_toml(
    *,
    title: str,
    source_files: Mapping[str, tuple[str, str]],
    linked: Collection[str],
    region: str,
    data_dir: str,
    fmt: str,
    chunked: bool,
    activity: bool,
) -> str:
    """One ``[sources.NAME]`` per file of ``source_files`` (name -> kind, file stem), then
    ``[linking]``; with ``activity=False`` only the ``linked`` sources, and linking allowed
    by default (no consent source: resolver benchmarks measure linking, not the gate)."""
    lines = [
        f"# Tether configuration for the generated {title}.",
        "# Each [sources.NAME] is one input; NAME is the `source` downstream.",
        "",
    ]
    for name, (kind, stem) in source_files.items():
        if not activity and name not in linked:
            continue
        path = f"{data_dir}/{stem}" + ("" if chunked else f".{fmt}")
        lines += [f"[sources.{name}]", f'kind = "{kind}"', f'path = "{path}"', ""]
    lines += [
        "[linking]",
        "threshold = 0.9          # match probability at which records cluster",
        f'default_region = "{region}"    # for phone numbers written without a country code',
        "",
    ]
    if not activity:
        lines += [
            "[consent.defaults]",
            "identity_linking = true  # no consent source here: link every record",
            "",
        ]
    return "\n".join(lines)
