"""The ``tether.toml`` of a written demo world: its sources, linking settings, and defaults."""

from __future__ import annotations

from api.worlds.demo.world import LINKED_SOURCES, SOURCE_FILES, Format

__all__ = ["demo_config_toml"]


def demo_config_toml(
    *, data_dir: str, fmt: Format = "csv", chunked: bool = False, activity: bool = True
) -> str:
    """The ``tether.toml`` that reads a written demo world (paths relative to it).

    With ``activity=False`` only the linked sources are configured, as
    ``write_demo_world(activity=False)`` writes only those. Such a world has
    no consent records, so its config allows linking by default (resolver
    benchmarks measure linking, not the consent gate).
    """
    lines = [
        "# Tether configuration for the generated demo world.",
        "# Each [sources.NAME] is one input; NAME is the `source` downstream.",
        "",
    ]
    for name, (kind, stem) in SOURCE_FILES.items():
        if not activity and name not in LINKED_SOURCES:
            continue
        path = f"{data_dir}/{stem}" + ("" if chunked else f".{fmt}")
        lines += [f"[sources.{name}]", f'kind = "{kind}"', f'path = "{path}"', ""]
    lines += [
        "[linking]",
        "threshold = 0.9          # match probability at which records cluster",
        'default_region = "GB"    # for phone numbers written without a country code',
        "",
    ]
    if not activity:
        lines += [
            "[consent.defaults]",
            "identity_linking = true  # no consent source here: link every record",
            "",
        ]
    return "\n".join(lines)
