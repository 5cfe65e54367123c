"""``tether.toml``: read once, validated, turned into domain objects.

Precedence for the workspace directory: ``--home`` > ``TETHER_HOME`` >
``./tether-data``. Paths inside the config file are relative to the file.
Every problem in a config file is reported at once, naming the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin, get_type_hints

from api.workspace import DEFAULT_KEEP_RUNS
from consent.purposes import DEFAULT_POLICY, ConsentPolicy, policy_from_dict
from resolver.errors import ConfigError
from resolver.options import IDENTIFIER_KINDS, LinkingOptions, SparkOptions
from resolver.sources import SourceConfig

__all__ = [
    "EXAMPLE_CONFIG",
    "ApiOptions",
    "ApiSettings",
    "TetherConfig",
    "sources_reference",
    "WorkspaceOptions",
    "api_example",
    "api_reference",
    "load_config",
    "resolve_home",
]

DEFAULT_HOME = Path("tether-data")


def _api_option(default: Any, help: str, *, least: float | None = None) -> Any:
    """An ``[api]`` key: its default, its help line and the least value it takes."""
    return field(default=default, metadata={"help": help, "least": least})


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiOptions:
    """``[api]`` in ``tether.toml``: limits of the HTTP API.

    Declared once: validation of ``[api]``, the ``[api]`` section of ``tether
    init``'s example and the table in ``docs/configuration.md`` all follow
    these fields (name, type, default, help, least value).
    """

    max_body_bytes: int = _api_option(
        1_048_576, "larger request bodies are refused with 413", least=1024
    )
    reload_seconds: float = _api_option(
        1.0, "how often the server looks for a new run and revoked keys", least=0.001
    )
    docs: bool = _api_option(True, "serve /docs (Swagger UI loads from a CDN); false: off")
    heavy_per_minute: int = _api_option(
        30, "expensive requests per key per minute, then 429 (0: no limit)", least=0
    )
    heavy_burst: int = _api_option(
        10, "expensive requests a key may send at once after a quiet spell", least=1
    )
    heavy_concurrent: int = _api_option(
        2, "expensive requests one key may have in progress (0: no limit)", least=0
    )
    heavy_workers: int = _api_option(
        1, "expensive requests the server runs at once, all keys; more wait their turn", least=1
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkspaceOptions:
    """``[workspace]`` in ``tether.toml``: what the workspace keeps.

    Declared once, as ``ApiOptions``: validation, ``tether init``'s example
    and the table in ``docs/configuration.md`` follow these fields.
    """

    keep_runs: int = _api_option(
        DEFAULT_KEEP_RUNS,
        "published runs kept (the current one always); older runs and their exports "
        "are deleted after each nightly",
        least=1,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class TetherConfig:
    """A parsed ``tether.toml``."""

    path: Path
    sources: tuple[SourceConfig, ...]
    linking: LinkingOptions = field(default_factory=LinkingOptions)
    consent: ConsentPolicy = DEFAULT_POLICY
    segments: Path | None = None
    """Directory of segment definitions (``[audiences] segments``)."""
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Destination name -> overrides (``min_size``, ``purposes``; for ``whatsapp`` also the
    approved ``template`` and its ``language``, as ``extra``) from ``[destinations.NAME]``."""
    api: ApiOptions = field(default_factory=ApiOptions)
    spark: SparkOptions = field(default_factory=SparkOptions)
    """The Spark session of ``linking.engine = "spark"`` (``[spark]``, ``docs/scale.md``)."""
    workspace: WorkspaceOptions = field(default_factory=WorkspaceOptions)


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiSettings:
    """What ``create_app`` builds the HTTP API from (``tether serve`` fills it in)."""

    home: Path
    """The workspace (``--home`` > ``TETHER_HOME`` > ``./tether-data``)."""
    database_url: str
    """The operational store (``TETHER_DATABASE_URL`` or SQLite in the workspace)."""
    config: TetherConfig | None = None
    """Consent policy, segments directory, destinations and linking options; defaults without."""
    watch: bool = True
    """Reload the current run in the background when a new one is published."""

    @property
    def api(self) -> ApiOptions:
        return self.config.api if self.config is not None else ApiOptions()


def resolve_home(flag: Path | None) -> Path:
    """The workspace directory: ``--home``, else ``TETHER_HOME``, else ``./tether-data``."""
    if flag is not None:
        return flag
    env = os.environ.get("TETHER_HOME")
    return Path(env) if env else DEFAULT_HOME


def _toml_type(hint: Any) -> type:
    """The TOML value type of a ``LinkingOptions`` field (tables, arrays, scalars)."""
    origin = get_origin(hint)
    if origin is dict:
        return dict
    if origin is tuple:
        return list
    if origin is Literal:
        return str
    return cast(type, hint)


#: ``[linking]`` key -> the TOML type it takes, from ``LinkingOptions`` (declared once there).
_LINKING_KEYS: dict[str, type] = {
    f.name: _toml_type(get_type_hints(LinkingOptions)[f.name]) for f in fields(LinkingOptions)
}


def load_config(path: Path) -> TetherConfig:
    """Read and validate a config file; ``ConfigError`` lists every problem."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file {path} does not exist; `tether init` writes an example",
            path=str(path),
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", path=str(path)) from exc
    problems: list[str] = []
    spark = _spark(raw.pop("spark", {}), problems=problems)  # read before unknown keys
    unknown = sorted(
        set(raw)
        - {"sources", "linking", "consent", "audiences", "destinations", "api", "workspace"}
    )
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(unknown)}")
    sources = _sources(raw.get("sources"), base=path.parent, problems=problems)
    linking = _linking(raw.get("linking", {}), problems=problems)
    consent = _consent(raw.get("consent", {}), problems=problems)
    segments = _segments_dir(raw.get("audiences", {}), base=path.parent, problems=problems)
    destinations = _destinations(raw.get("destinations", {}), consent=consent, problems=problems)
    api = _api(raw.get("api", {}), problems=problems)
    workspace = _workspace(raw.get("workspace", {}), problems=problems)
    if problems:
        raise ConfigError(
            f"config file {path}: " + "; ".join(problems), path=str(path), problems=problems
        )
    assert linking is not None
    return TetherConfig(
        path=path,
        sources=tuple(sources),
        linking=linking,
        consent=consent,
        segments=segments,
        destinations=destinations,
        api=api,
        spark=spark,
        workspace=workspace,
    )


#: ``[api]`` key -> its TOML type, from ``ApiOptions`` (declared once there).
_API_KEYS: dict[str, type] = {
    f.name: get_type_hints(ApiOptions)[f.name] for f in fields(ApiOptions)
}


def _api(raw: Any, *, problems: list[str]) -> ApiOptions:
    if not isinstance(raw, dict):
        problems.append("[api] must be a table")
        return ApiOptions()
    values: dict[str, Any] = {}
    declared = {f.name: f for f in fields(ApiOptions)}
    for key, value in raw.items():
        if key not in declared:
            problems.append(f"api.{key} is not a known key ({', '.join(_API_KEYS)})")
            continue
        expected, least = _API_KEYS[key], declared[key].metadata["least"]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            problems.append(
                f"api.{key} must be a {_API_TYPE_NAMES.get(expected, expected.__name__)}"
            )
            continue
        if least is not None and value < least:
            problems.append(f"api.{key} must be at least {least:g}")
            continue
        values[key] = value
    return ApiOptions(**values)


#: How ``[api]`` problems and the docs name a TOML type.
_API_TYPE_NAMES = {bool: "boolean", int: "whole number", float: "number", str: "string"}


def api_example() -> str:
    """The annotated ``[api]`` section of ``tether init``'s example, from ``ApiOptions``."""
    lines = ["[api]"]
    for f in fields(ApiOptions):
        lines.append(f"{f.name} = {_toml_value(f.default)}".ljust(34) + f"# {f.metadata['help']}")
    return "\n".join(lines) + "\n"


def api_reference() -> str:
    """The Markdown table of every ``[api]`` key (``docs/configuration.md``)."""
    rows = ["| key | type | default | least | what it does |", "|---|---|---|---|---|"]
    for f in fields(ApiOptions):
        kind = _API_TYPE_NAMES.get(_API_KEYS[f.name], _API_KEYS[f.name].__name__)
        least = f.metadata["least"]
        shown = "" if least is None else f"`{least:g}`"
        rows.append(
            f"| `{f.name}` | {kind} | `{_toml_value(f.default)}` | {shown} | {f.metadata['help']} |"
        )
    return "\n".join(rows) + "\n"


#: How ``[workspace]`` types read in messages and the docs.
_WORKSPACE_TYPES: dict[Any, str] = {int: "whole number"}


def _workspace(raw: Any, *, problems: list[str]) -> WorkspaceOptions:
    if not isinstance(raw, dict):
        problems.append("[workspace] must be a table")
        return WorkspaceOptions()
    declared = {f.name: f for f in fields(WorkspaceOptions)}
    types = get_type_hints(WorkspaceOptions)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in declared:
            problems.append(f"workspace.{key} is not a known key ({', '.join(declared)})")
            continue
        expected, least = types[key], declared[key].metadata["least"]
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"workspace.{key} must be a {_WORKSPACE_TYPES.get(expected, 'value')}")
            continue
        if least is not None and value < least:
            problems.append(f"workspace.{key} must be at least {least:g}")
            continue
        values[key] = value
    return WorkspaceOptions(**values)


def workspace_example() -> str:
    """The annotated ``[workspace]`` section of ``tether init``'s example."""
    lines = ["[workspace]"]
    for f in fields(WorkspaceOptions):
        lines.append(f"{f.name} = {_toml_value(f.default)}".ljust(34) + f"# {f.metadata['help']}")
    return "\n".join(lines) + "\n"


def workspace_reference() -> str:
    """The Markdown table of every ``[workspace]`` key (``docs/configuration.md``)."""
    rows = ["| key | type | default | least | what it does |", "|---|---|---|---|---|"]
    types = get_type_hints(WorkspaceOptions)
    for f in fields(WorkspaceOptions):
        least = f.metadata["least"]
        shown = "" if least is None else f"`{least:g}`"
        rows.append(
            f"| `{f.name}` | {_WORKSPACE_TYPES.get(types[f.name], 'value')} | "
            f"`{_toml_value(f.default)}` | {shown} | {f.metadata['help']} |"
        )
    return "\n".join(rows) + "\n"


def _spark(raw: Any, *, problems: list[str]) -> SparkOptions:
    """``[spark]``, validated against ``SparkOptions`` (declared once there)."""
    if not isinstance(raw, dict):
        problems.append("[spark] must be a table")
        return SparkOptions()
    declared = {f.name: f for f in fields(SparkOptions)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in declared:
            problems.append(f"spark.{key} is not a known key ({', '.join(declared)})")
            continue
        expected = _toml_type(get_type_hints(SparkOptions)[key])
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"spark.{key} must be a {_TYPE_NAMES.get(expected, 'value')}")
            continue
        if isinstance(value, dict):
            bad = sorted(k for k, v in value.items() if not isinstance(v, str))
            if bad:
                problems.append(f"spark.conf: values are strings ({', '.join(bad)})")
                continue
        values[key] = value
    try:
        return SparkOptions(**values)
    except ConfigError as exc:
        problems.extend(exc.details().get("problems", [exc.message]))
        return SparkOptions()


def spark_reference() -> str:
    """The Markdown table of every ``[spark]`` key (``docs/configuration.md``)."""
    rows = ["| key | type | default | what it does |", "|---|---|---|---|"]
    defaults = SparkOptions()
    for f in fields(SparkOptions):
        kind = _toml_type(get_type_hints(SparkOptions)[f.name])
        default = getattr(defaults, f.name)
        shown = "{}" if isinstance(default, dict) else _toml_value(default)
        rows.append(
            f"| `{f.name}` | {_TYPE_NAMES.get(kind, 'value')} | `{shown}` | {f.metadata['help']} |"
        )
    return "\n".join(rows) + "\n"


def _segments_dir(raw: Any, *, base: Path, problems: list[str]) -> Path | None:
    if not isinstance(raw, dict) or set(raw) - {"segments"}:
        problems.append("[audiences] takes one key: segments (a directory of segment files)")
        return None
    location = raw.get("segments")
    if location is None:
        return None
    if not isinstance(location, str):
        problems.append("audiences.segments must be a path")
        return None
    return Path(location) if Path(location).is_absolute() else base / location


def _destinations(
    raw: Any, *, consent: ConsentPolicy, problems: list[str]
) -> dict[str, dict[str, Any]]:
    from audiences.destinations import DESTINATIONS

    out: dict[str, dict[str, Any]] = {}
    if not isinstance(raw, dict):
        problems.append("[destinations] must be a table of [destinations.NAME] tables")
        return out
    for name, table in raw.items():
        where = f"destinations.{name}"
        if name not in DESTINATIONS:
            problems.append(f"{where}: unknown destination; known: {', '.join(DESTINATIONS)}")
            continue
        allowed = {"min_size", "purposes"} | (
            {"template", "language"} if name == "whatsapp" else set()
        )
        if not isinstance(table, dict) or set(table) - allowed:
            problems.append(f"{where}: takes {', '.join(sorted(allowed))}")
            continue
        overrides: dict[str, Any] = {}
        text = {k: table[k] for k in ("template", "language") if k in table}
        if any(not isinstance(v, str) or not v.strip() for v in text.values()):
            problems.append(f"{where}: template and language are text (an approved template)")
            continue
        if text:  # the WhatsApp template the request bodies name
            overrides["extra"] = text
        if "min_size" in table:
            size = table["min_size"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                problems.append(f"{where}.min_size must be a whole number from 1")
                continue
            overrides["min_size"] = size
        if "purposes" in table:
            purposes = table["purposes"]
            unknown = (
                [p for p in purposes if p not in consent.purposes]
                if isinstance(purposes, list)
                else ["?"]
            )
            if unknown:
                problems.append(
                    f"{where}.purposes must list known purposes ({', '.join(consent.purposes)})"
                )
                continue
            overrides["purposes"] = tuple(purposes)
        out[name] = overrides
    return out


def _consent(raw: Any, *, problems: list[str]) -> ConsentPolicy:
    if not isinstance(raw, dict):
        problems.append("[consent] must be a table")
        return DEFAULT_POLICY
    try:
        return policy_from_dict(raw)
    except ConfigError as exc:
        problems.append(exc.message)
        return DEFAULT_POLICY


def _source_key(hint: Any) -> tuple[type, tuple[str, ...]]:
    """The TOML type of a ``SourceConfig`` field and, for a closed vocabulary, its values."""
    args = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) is not None and type(None) in get_args(hint) and len(args) == 1:
        hint = args[0]  # optional: ``date_order``
    if get_origin(hint) is Literal:
        return str, tuple(str(a) for a in get_args(hint))
    if hint is Path:
        return str, ()
    if get_origin(hint) in (dict, Mapping):
        return dict, ()
    return _toml_type(hint), ()


#: ``[sources.NAME]`` key -> its TOML type and closed vocabulary, from ``SourceConfig``
#: (declared once there; ``name`` is the table's name, not a key).
_SOURCE_KEYS: dict[str, tuple[type, tuple[str, ...]]] = {
    f.name: _source_key(get_type_hints(SourceConfig)[f.name])
    for f in fields(SourceConfig)
    if f.name != "name"
}
#: Keys every ``[sources.NAME]`` table must give (the fields without a default).
_SOURCE_REQUIRED = tuple(
    f.name
    for f in fields(SourceConfig)
    if f.name != "name" and f.default is MISSING and f.default_factory is MISSING
)


def _sources(raw: Any, *, base: Path, problems: list[str]) -> list[SourceConfig]:
    if not isinstance(raw, dict) or not raw:
        problems.append("no [sources.NAME] table: configure at least one source")
        return []
    out = []
    for name, table in raw.items():
        where = f"sources.{name}"
        if not isinstance(table, dict):
            problems.append(f"{where} must be a table")
            continue
        extra = sorted(set(table) - set(_SOURCE_KEYS))
        if extra:
            problems.append(
                f"{where}: unknown key(s) {', '.join(extra)}; known: {', '.join(_SOURCE_KEYS)}"
            )
        values: dict[str, Any] = {}
        for key, (expected, choices) in _SOURCE_KEYS.items():
            if key not in table:
                if key in _SOURCE_REQUIRED:
                    problems.append(f"{where}.{key} is required ({_SOURCE_HELP[key]})")
                continue
            value = table[key]
            if choices and value not in choices:
                problems.append(f"{where}.{key} must be one of {', '.join(choices)}")
            elif not isinstance(value, expected) or (expected is str and not value):
                problems.append(f"{where}.{key} must be a {_TYPE_NAMES.get(expected, 'value')}")
            elif isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
                problems.append(f"{where}.columns must map canonical names to column names")
            else:
                values[key] = value
        if len(values) < len({k for k in table if k in _SOURCE_KEYS}) or not all(
            k in values for k in _SOURCE_REQUIRED
        ):
            continue
        location = Path(values.pop("path"))
        resolved = location if location.is_absolute() else base / location
        try:
            out.append(SourceConfig(name=name, path=resolved, **values))
        except ValueError as exc:  # SourceSchemaError: unknown column, encoding...
            problems.append(str(exc))
    return out


_TYPE_NAMES = {str: "string", dict: "table", list: "array", bool: "boolean", int: "int"}
_SOURCE_HELP = {f.name: str(f.metadata.get("help", "")) for f in fields(SourceConfig)}


def sources_reference() -> str:
    """The Markdown table of every ``[sources.NAME]`` key (``docs/configuration.md``)."""
    rows = ["| key | type | default | what it does |", "|---|---|---|---|"]
    for f in fields(SourceConfig):
        if f.name == "name":
            continue
        expected, _ = _SOURCE_KEYS[f.name]
        if f.name in _SOURCE_REQUIRED:
            default = "required"
        elif f.default_factory is not MISSING:
            default = "`{}`"
        elif f.default is None:
            default = "unset"
        else:
            default = f"`{_toml_value(f.default)}`"
        rows.append(
            f"| `{f.name}` | {_TYPE_NAMES.get(expected, expected.__name__)} | {default} "
            f"| {_SOURCE_HELP[f.name]} |"
        )
    return "\n".join(rows) + "\n"


def _linking(raw: Any, *, problems: list[str]) -> LinkingOptions | None:
    if not isinstance(raw, dict):
        problems.append("[linking] must be a table")
        return LinkingOptions()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        expected = _LINKING_KEYS.get(key)
        if expected is None:
            problems.append(f"linking.{key} is not a known key ({', '.join(_LINKING_KEYS)})")
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            problems.append(f"linking.{key} must be a {expected.__name__}")
            continue
        values[key] = value
    if "conflict_guard" in values:
        values["conflict_guard"] = tuple(str(v) for v in values["conflict_guard"])
    if "blocklist" in values:
        blocklist = {}
        for kind, listed in values["blocklist"].items():
            if kind not in IDENTIFIER_KINDS or not isinstance(listed, list):
                problems.append(
                    f"linking.blocklist.{kind}: a list of values for one of {', '.join(IDENTIFIER_KINDS)}"
                )
                continue
            region = str(values.get("default_region", LinkingOptions().default_region))
            blocklist[kind] = tuple(_normalise_blocked(kind, str(v), region=region) for v in listed)
        values["blocklist"] = blocklist
    try:
        return LinkingOptions(**values)
    except ConfigError as exc:
        problems.extend(exc.details().get("problems", [exc.message]))
        return None


def _normalise_blocked(kind: str, value: str, *, region: str) -> str:
    """Blocklist entries are written as people type them; compare them normalised."""
    from resolver.normalize import fold_email, normalize_email, normalize_phone

    if kind == "email":
        email = normalize_email(value)
        return fold_email(email) if email else value.strip().lower()
    if kind == "phone":
        return normalize_phone(value, region=region) or value.strip()
    return value.strip().lower() if kind == "ad_id" else value.strip()


_EXAMPLE_TEMPLATE = """\
# tether.toml: what Tether reads and how it links.
# Paths are relative to this file. Run `tether link --config tether.toml`.

# One table per input. NAME is the `source` of its records downstream.
# kind: customers | sessions | devices | contacts | events | interactions | consents
[sources.crm]
kind = "customers"
path = "data/crm.csv"            # a CSV or Parquet file, or a directory of them
encoding = "utf-8"               # of CSV files; a row that is not text in it is quarantined
# date_order = "DMY"             # DMY | MDY | YMD; unset: the region's, ambiguous dates counted
[sources.crm.columns]            # optional: canonical name = column in the file
email = "EmailAddress"

[sources.web]
kind = "sessions"
path = "data/sessions/"

{linking}

# Consent (SPEC §5). The values below are the defaults.
[consent]
gpp_opt_out_purposes = ["ad_targeting"]  # refused by a GPP opt-out of sale, sharing or targeting
gpc_purposes = ["ad_targeting"]          # refused by gpc=true on a session (and every linked profile)
# vendor_id = 755                        # TCF grants also need this vendor's consent (755: Google)

# Purposes are the keys of [consent.defaults]; the value says whether a purpose
# is allowed when no linked subject answered.
[consent.defaults]
identity_linking = false         # an anonymous record without it links to nothing but itself
analytics = true
personalisation = true
ad_targeting = false             # ad user data + ad personalisation
messaging_marketing = false

# TC strings on sessions: Tether purpose = the TCF purposes that must all be consented.
# TCF has no bit for linking (Features 1-2), so identity_linking can only be refused.
[consent.tcf]
identity_linking = { purposes = [1], deny_only = true }
analytics = { purposes = [1, 8, 9], legitimate_interest_counts = true }
personalisation = { purposes = [1, 5, 6] }
ad_targeting = { purposes = [1, 3, 4] }

# Audiences (SPEC §6): segment definitions, one YAML or JSON file each.
[audiences]
segments = "segments"

# Per destination: the smallest audience it may receive (default 100; TikTok
# 1,000, LinkedIn 300) and the purposes every exported person needs.
[destinations.google_customer_match]
min_size = 100
purposes = ["ad_targeting"]

[destinations.csv_internal]      # the unhashed call list for the CRM
purposes = ["messaging_marketing"]

# The HTTP API (`tether serve`): keys are made with `tether keys create`.
{api}

# The workspace: how many published runs it keeps.
{workspace}
"""


#: Example values shown for ``[linking]`` keys whose default is empty.
_EXAMPLE_VALUES: dict[str, Any] = {
    "blocklist": {"email": ["noemail@example.com", "test@test.com"], "phone": []},
}
#: Keys the annotated example leaves out (tuning of training; ``docs/configuration.md`` lists them).
_EXAMPLE_SKIPS = frozenset({"em_max_pairs", "u_max_pairs", "seed", "engine"})


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def linking_example() -> str:
    """The annotated ``[linking]`` section of ``tether init``'s example, from ``LinkingOptions``."""
    defaults = LinkingOptions()
    scalars, tables = ["[linking]"], []
    for f in fields(LinkingOptions):
        if f.name in _EXAMPLE_SKIPS:
            continue
        value = _EXAMPLE_VALUES.get(f.name, getattr(defaults, f.name))
        comment = f.metadata.get("help", "")
        if isinstance(value, dict):
            tables.append(f"\n[linking.{f.name}]".ljust(34) + f" # {comment}")
            tables += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
        else:
            scalars.append(f"{f.name} = {_toml_value(value)}".ljust(32) + f" # {comment}")
    return "\n".join(scalars + tables) + "\n"


def linking_reference() -> str:
    """The Markdown table of every ``[linking]`` key (``docs/configuration.md``)."""
    defaults = LinkingOptions()
    rows = ["| key | type | default | what it does |", "|---|---|---|---|"]
    for f in fields(LinkingOptions):
        kind = _LINKING_KEYS[f.name]
        type_name = {dict: "table", list: "array", str: "string", bool: "boolean"}.get(
            kind, kind.__name__
        )
        default = getattr(defaults, f.name)
        shown = (
            "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in default.items()) + "}"
            if isinstance(default, dict)
            else _toml_value(default)
        )
        rows.append(f"| `{f.name}` | {type_name} | `{shown}` | {f.metadata.get('help', '')} |")
    return "\n".join(rows) + "\n"


EXAMPLE_CONFIG = (
    _EXAMPLE_TEMPLATE.replace("{linking}\n", linking_example())
    .replace("{api}\n", api_example())
    .replace("{workspace}\n", workspace_example())
)
