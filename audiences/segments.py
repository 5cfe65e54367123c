"""Segment definitions: a small rule language compiled to parameterised DuckDB SQL.

A segment is YAML (or JSON)::

    name: mortgage_readers_for_ads
    description: Read about mortgages this week, customers, no advisor in 90 days
    holdout: 0.1                    # optional: a stable share kept out of every export
    rule:
      all:
        - event: {type: page_view, category: mortgage, within_days: 7}
        - feature: is_customer
          equals: true
        - not:
            interaction: {kind: advisor_meeting, within_days: 90}

Conditions:

- ``all: [...]``, ``any: [...]``, ``not: {...}``;
- ``feature: NAME`` with one of ``equals``, ``not_equals``, ``gt``, ``gte``,
  ``lt``, ``lte``, ``in`` (a list) or ``is_null`` (true/false), on a column of
  ``person_features``; numbers compare with numbers, text with text, booleans
  only by (not) equals; a timestamp feature takes ``within_days`` instead
  (it happened in the last N days);
- ``event: {type, category?, channel?, within_days, min_count?}``: the person
  has at least ``min_count`` (default 1) such events in the window;
- ``interaction: {kind, outcome?, within_days, min_count?}``: likewise for
  CRM interactions;
- ``engagement: {channel, within_days, gte|gt|lte|lt}``: messages read /
  delivered on a channel within the window, where reads can be seen (a
  person whose reads are hidden or unobservable has no read rate, and no
  comparison selects them); ``engagement: {channel, within_days, level}``
  with ``engaged``, ``unknown`` or ``unengaged`` (or a list):
  ``audiences.engagement`` defines them.

A segment may also declare ``action``, ``priority`` and ``topic``: the next
best action for its members (``audiences.actions``).

Windows count back from the run's time. Everything a user writes is checked
against the feature schema and the rule grammar first; an unknown feature, a
wrong type or a bad window is refused with a ``SegmentInvalid`` naming the
rule's path (``rule.all[2].not``). Values are bound as parameters; column
names come from the schema, never from the definition text, so no user
text is ever spliced into SQL.

Some limits hold before any schema is known (``parse_segment``, so for a
file and for a stored definition alike): conditions nest at most
``MAX_RULE_DEPTH`` deep, and every number in a rule is finite and fits in a
64-bit integer (``MAX_NUMBER``), which every feature column and DuckDB
parameter can hold. A definition that broke either used to be stored, then
failed every evaluation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from audiences.errors import SegmentInvalid
from resolver.errors import ConfigError

__all__ = [
    "CompiledSegment",
    "Segment",
    "compile_segment",
    "evaluate_segment",
    "load_segment",
    "load_segments",
    "parse_segment",
]

EXAMPLES = Path(__file__).resolve().parent / "example_segments"
"""The example segments shipped with Tether (``examples/segments`` in the repository)."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COMPARISONS = {"equals": "=", "not_equals": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_WINDOW_DAYS = 3650
MAX_RULE_DEPTH = 32
"""How deep ``all``/``any``/``not`` may nest (the rule itself is depth 0)."""
MAX_NUMBER = 2**63 - 1
"""The largest magnitude of a number in a rule: what a 64-bit feature column holds."""
_MAX_VALUE_DEPTH = 4
"""How deep lists and mappings may nest inside one condition's values."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Segment:
    """A parsed segment definition (not yet checked against a feature schema)."""

    name: str
    rule: Mapping[str, Any]
    description: str = ""
    holdout: float = 0.0
    destinations: tuple[str, ...] = ()
    source: str = ""
    """Where the definition came from (a file path), for messages."""
    action: str | None = None
    """The next best action for its members (``audiences.actions.ACTIONS``), if any."""
    priority: int = 0
    """Among a person's segments with an action, the highest priority decides."""
    topic: str | None = None
    """A higher-priority action of the same topic keeps members out of this segment's exports."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledSegment:
    """SQL over ``features f`` (and ``activity a``) with ``?`` parameters."""

    segment: Segment
    sql: str
    params: list[Any] = field(default_factory=list)


def parse_segment(data: Mapping[str, Any], *, source: str = "") -> Segment:
    """A ``Segment`` from a mapping (the YAML/JSON document)."""
    where = source or "segment"
    if not isinstance(data, Mapping):
        raise SegmentInvalid(f"{where}: a segment is a mapping with name and rule", source=source)
    unknown = sorted(
        set(data)
        - {"name", "description", "rule", "holdout", "destinations", "action", "priority", "topic"}
    )
    if unknown:
        raise SegmentInvalid(f"{where}: unknown key(s) {', '.join(unknown)}", source=source)
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SegmentInvalid(
            f"{where}: name must be lower-case letters, digits and _ (starting with a letter)",
            source=source,
        )
    holdout = data.get("holdout", 0.0)
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0 <= holdout < 1:
        raise SegmentInvalid(f"{where}: holdout must be a share from 0 to below 1", segment=name)
    rule = data.get("rule")
    if not isinstance(rule, Mapping):
        raise SegmentInvalid(f"{where}: rule is required (a condition)", segment=name)
    destinations = data.get("destinations", [])
    if not isinstance(destinations, list) or not all(isinstance(d, str) for d in destinations):
        raise SegmentInvalid(f"{where}: destinations must be a list of names", segment=name)
    _check_destinations(destinations, where=where, segment=name)
    _check_rule(rule, path="rule", depth=0, segment=name)
    action, priority, topic = _next_best_action(data, where=where, segment=name)
    return Segment(
        name=name,
        rule=rule,
        description=str(data.get("description", "")),
        holdout=float(holdout),
        destinations=tuple(destinations),
        source=source,
        action=action,
        priority=priority,
        topic=topic,
    )


#: The largest ``priority`` a segment may give (any whole number from 0 to this).
MAX_PRIORITY = 1000


def _next_best_action(
    data: Mapping[str, Any], *, where: str, segment: str
) -> tuple[str | None, int, str | None]:
    """``action``, ``priority`` and ``topic`` of a definition (``audiences.actions``)."""
    from audiences.actions import ACTIONS

    action = data.get("action")
    if action is not None and action not in ACTIONS:
        raise SegmentInvalid(
            f"{where}: action must be one of {', '.join(ACTIONS)}", segment=segment, field="action"
        )
    priority = data.get("priority", 0)
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not 0 <= priority <= MAX_PRIORITY
    ):
        raise SegmentInvalid(
            f"{where}: priority must be a whole number from 0 to {MAX_PRIORITY}",
            segment=segment,
            field="priority",
        )
    topic = data.get("topic")
    if topic is not None and (not isinstance(topic, str) or not _NAME.match(topic)):
        raise SegmentInvalid(
            f"{where}: topic must be lower-case letters, digits and _",
            segment=segment,
            field="topic",
        )
    if action is None and ("priority" in data or topic is not None):
        raise SegmentInvalid(
            f"{where}: priority and topic go with an action", segment=segment, field="action"
        )
    return action, priority, topic


def _check_rule(node: Any, *, path: str, depth: int, segment: str) -> None:
    """Refuse a rule nested deeper than ``MAX_RULE_DEPTH`` or holding an unusable number.

    Walks only the combinators' structure (never deeper than the limit), so a
    rule nested thousands deep is refused without recursing that far. The
    grammar itself is checked when the segment compiles against a schema.
    """
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if key in ("all", "any", "not"):
            children = value if isinstance(value, list) else [value]
            for i, child in enumerate(children):
                inner = f"{path}.{key}[{i}]" if key != "not" else f"{path}.not"
                if depth + 1 > MAX_RULE_DEPTH:
                    raise SegmentInvalid(
                        f"segment `{segment}`, {inner}: conditions nest at most "
                        f"{MAX_RULE_DEPTH} deep (all, any and not inside one another)",
                        segment=segment,
                        rule=inner,
                    )
                if not isinstance(child, Mapping):
                    raise SegmentInvalid(
                        f"segment `{segment}`, {inner}: a condition is a mapping (all, any, "
                        "not, feature, event, interaction, engagement)",
                        segment=segment,
                        rule=inner,
                    )
                _check_rule(child, path=inner, depth=depth + 1, segment=segment)
        else:
            _check_values(value, path=f"{path}.{key}", level=0, segment=segment)


def _check_values(value: Any, *, path: str, level: int, segment: str) -> None:
    """Numbers in a condition's values are finite and fit ``MAX_NUMBER``; values nest little."""

    def fail(message: str) -> SegmentInvalid:
        return SegmentInvalid(f"segment `{segment}`, {path}: {message}", segment=segment, rule=path)

    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise fail("a number must be finite (not NaN or infinity)")
        if abs(value) > MAX_NUMBER:
            raise fail(
                f"a number must lie between -{MAX_NUMBER} and {MAX_NUMBER} "
                "(what a 64-bit feature column holds)"
            )
        return
    if isinstance(value, Mapping | list):
        if level >= _MAX_VALUE_DEPTH:
            raise fail(f"values nest at most {_MAX_VALUE_DEPTH} deep")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            inner = f"{path}.{key}" if isinstance(value, Mapping) else f"{path}[{key}]"
            _check_values(item, path=inner, level=level + 1, segment=segment)


def load_segment(path: Path) -> Segment:
    """Read one ``.yaml``/``.yml``/``.json`` segment file (YAML by ``safe_load``)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise SegmentInvalid(
            f"{path}: a segment file must be UTF-8 text (byte {exc.start} is not)"
        ) from exc
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SegmentInvalid(
            f"{path}: cannot read the segment ({type(exc).__name__}: {exc})"
        ) from exc
    return parse_segment(data, source=str(path))


def load_segments(directory: Path) -> dict[str, Segment]:
    """Every segment file of a directory, by name; names must be unique."""
    segments: dict[str, Segment] = {}
    for path in sorted(directory.glob("*")):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        segment = load_segment(path)
        if segment.name in segments:
            raise SegmentInvalid(
                f"segment `{segment.name}` is defined in {segments[segment.name].source} and {path}"
            )
        segments[segment.name] = segment
    return segments


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


class _Compiler:
    def __init__(self, schema: Mapping[str, str], *, as_of: datetime, segment: str) -> None:
        self.schema = schema
        self.as_of = (
            pd.Timestamp(as_of).tz_convert("UTC")
            if pd.Timestamp(as_of).tzinfo
            else pd.Timestamp(as_of, tz="UTC")
        )
        self.params: list[Any] = []
        self.segment = segment

    def fail(self, path: str, message: str) -> SegmentInvalid:
        return SegmentInvalid(
            f"segment `{self.segment}`, {path}: {message}", segment=self.segment, rule=path
        )

    def condition(self, node: Any, path: str) -> str:
        if not isinstance(node, Mapping) or not node:
            raise self.fail(
                path,
                "a condition is a mapping (all, any, not, feature, event, interaction, engagement)",
            )
        if "all" in node or "any" in node:
            op = "all" if "all" in node else "any"
            if set(node) != {op}:
                raise self.fail(
                    path, f"`{op}` stands alone; found also {', '.join(sorted(set(node) - {op}))}"
                )
            items = node[op]
            if not isinstance(items, list) or not items:
                raise self.fail(f"{path}.{op}", "a non-empty list of conditions")
            parts = [self.condition(item, f"{path}.{op}[{i}]") for i, item in enumerate(items)]
            return "(" + (" AND " if op == "all" else " OR ").join(parts) + ")"
        if "not" in node:
            if set(node) != {"not"}:
                raise self.fail(path, "`not` stands alone")
            return f"(NOT COALESCE({self.condition(node['not'], f'{path}.not')}, FALSE))"
        if "feature" in node:
            return self.feature(node, path)
        for kind in ("event", "interaction", "engagement"):
            if kind in node:
                if set(node) != {kind}:
                    raise self.fail(path, f"`{kind}` stands alone")
                handler = {"event": self.event, "interaction": self.interaction}.get(
                    kind, self.engagement
                )
                return handler(node[kind], f"{path}.{kind}")
        raise self.fail(path, f"unknown condition {', '.join(sorted(node))}")

    def window(self, spec: Mapping[str, Any], path: str) -> pd.Timestamp:
        days = spec.get("within_days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
            raise self.fail(
                path, f"within_days must be a whole number of days from 1 to {MAX_WINDOW_DAYS}"
            )
        return self.as_of - timedelta(days=days)

    def feature(self, node: Mapping[str, Any], path: str) -> str:
        name = node["feature"]
        column = next((c for c in self.schema if c == name), None)
        if column is None or column == "person_id":
            raise self.fail(
                path,
                f"unknown feature {name!r}; known: {', '.join(sorted(c for c in self.schema if c != 'person_id'))}",
            )
        kind = self.schema[column]
        ops = sorted(set(node) - {"feature"})
        if len(ops) != 1:
            raise self.fail(
                path,
                "give exactly one of equals, not_equals, gt, gte, lt, lte, in, is_null, within_days",
            )
        (op,) = ops
        value = node[op]
        quoted = f'f."{column}"'
        if op == "is_null":
            if not isinstance(value, bool):
                raise self.fail(path, "is_null takes true or false")
            return f"({quoted} IS {'' if value else 'NOT '}NULL)"
        if op == "within_days":
            if kind != "time":
                raise self.fail(path, f"within_days needs a time feature; {column} is {kind}")
            self.params += [self.window(node, path), self.as_of]
            return f"({quoted} >= ? AND {quoted} <= ?)"
        if op == "in":
            if not isinstance(value, list) or not value:
                raise self.fail(path, "in takes a non-empty list")
            for item in value:
                self.check(kind, item, path, op)
            self.params += list(value)
            return f"({quoted} IN ({', '.join('?' for _ in value)}))"
        if op not in _COMPARISONS:
            raise self.fail(path, f"unknown comparison {op!r}")
        if kind == "bool" and op not in ("equals", "not_equals"):
            raise self.fail(path, f"{column} is true/false: use equals or not_equals")
        if kind == "time":
            raise self.fail(path, f"{column} is a time: use within_days")
        self.check(kind, value, path, op)
        self.params.append(value)
        return f"({quoted} {_COMPARISONS[op]} ?)"

    def check(self, kind: str, value: Any, path: str, op: str) -> None:
        ok = {
            "bool": isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "text": isinstance(value, str),
        }.get(kind, False)
        if not ok:
            raise self.fail(path, f"{op} {value!r}: the feature is {kind}, the value is not")

    def activity(self, spec: Any, path: str, *, kind: str, fields: dict[str, str]) -> str:
        if not isinstance(spec, Mapping):
            raise self.fail(path, "a mapping")
        allowed = {*fields, "within_days", "min_count"}
        extra = sorted(set(spec) - allowed)
        if extra:
            raise self.fail(
                path, f"unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(allowed))}"
            )
        required = next(iter(fields))
        if not isinstance(spec.get(required), str):
            raise self.fail(path, f"{required} is required (text)")
        since = self.window(spec, path)
        count = spec.get("min_count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise self.fail(path, "min_count must be a whole number from 1")
        clauses = ["a.person_id = f.person_id", "a.source_kind = ?"]
        self.params.append(kind)
        for key, column in fields.items():
            if key in spec:
                if not isinstance(spec[key], str):
                    raise self.fail(path, f"{key} must be text")
                clauses.append(f"a.{column} = ?")
                self.params.append(spec[key])
        clauses.append("a.ts >= ? AND a.ts <= ?")
        self.params += [since, self.as_of, count]
        return f"((SELECT count(*) FROM activity a WHERE {' AND '.join(clauses)}) >= ?)"

    def event(self, spec: Any, path: str) -> str:
        if isinstance(spec, Mapping) and "channel" in spec:
            # events also come from the website and the app
            spec = {
                **spec,
                "channel": self.channel(spec["channel"], path, also=_EVENT_PLACES, messaging=False),
            }
        return self.activity(
            spec,
            path,
            kind="event",
            fields={"type": "type", "category": "category", "channel": "channel"},
        )

    def interaction(self, spec: Any, path: str) -> str:
        return self.activity(
            spec, path, kind="interaction", fields={"kind": "type", "outcome": "outcome"}
        )

    def channel(
        self, value: Any, path: str, *, also: frozenset[str] = frozenset(), messaging: bool = True
    ) -> str:
        """A channel name as the capability table knows it (``resolver.channels``); a typo
        (``whatsap``) is refused with the closest name, never silently selects nobody."""
        from resolver.channels import messaging_channel_names, validate_channel

        if isinstance(value, str) and value.strip().lower() in also:
            return value.strip().lower()
        try:
            name = validate_channel(value, where=f"{path}.channel")
        except ConfigError as exc:
            raise self.fail(path, exc.message.split(": ", 1)[-1]) from exc
        if messaging and name not in messaging_channel_names():
            raise self.fail(
                path,
                f"`{name}` is not a messaging channel "
                f"(known: {', '.join(messaging_channel_names())})",
            )
        return name

    def engagement(self, spec: Any, path: str) -> str:
        """Read rate (``gte``...) or level (``level``) on one channel in a window.

        Both follow ``audiences.engagement``: where reads cannot be seen the
        read rate is unknown, so no read-rate comparison selects the person
        (unknown is not 0); ``level`` asks for ``engaged`` (a reply or click,
        or reads at the engaged rate), ``unknown`` or ``unengaged``.
        """
        from audiences import engagement as e
        from resolver.channels import CHANNELS

        if not isinstance(spec, Mapping) or not isinstance(spec.get("channel"), str):
            raise self.fail(path, "channel is required (text)")
        spec = {**spec, "channel": self.channel(spec["channel"], path)}
        ops = sorted(set(spec) & {"gt", "gte", "lt", "lte", "level"})
        extra = sorted(set(spec) - {"channel", "within_days", "gt", "gte", "lt", "lte", "level"})
        if extra or len(ops) != 1:
            raise self.fail(
                path, "give channel, within_days and one of gt, gte, lt, lte (a read rate) or level"
            )
        since = self.window(spec, path)
        capability = CHANNELS[spec["channel"]]
        rule = e.engagement_sql(
            type_column="a.type",
            ts_column="a.ts",
            since=since.to_pydatetime(),
            until=pd.Timestamp(self.as_of).to_pydatetime(),
            observable="TRUE" if capability.reads_observable else "FALSE",
            hideable="TRUE" if capability.reads_hideable else "FALSE",
        )
        events = (
            "FROM activity a WHERE a.person_id = f.person_id AND a.source_kind = 'event'"
            " AND a.channel = ?"
        )
        if ops == ["level"]:
            levels = spec["level"] if isinstance(spec["level"], list) else [spec["level"]]
            if not levels or any(v not in e.LEVELS for v in levels):
                raise self.fail(
                    f"{path}.level", f"level takes one or a list of {', '.join(e.LEVELS)}"
                )
            self.params += [spec["channel"], *levels]
            marks = ", ".join("?" for _ in levels)
            return f"((SELECT {rule.level} {events}) IN ({marks}))"
        value = spec[ops[0]]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(path, f"{ops[0]} takes a read rate from 0 to 1")
        self.params += [spec["channel"], value]
        return f"((SELECT {rule.read_rate} {events}) {_COMPARISONS[ops[0]]} ?)"


#: Where a non-message event happens: accepted as an event's ``channel`` besides the
#: messaging channels.
_EVENT_PLACES = frozenset({"web", "app"})


def _check_destinations(names: list[str], *, where: str, segment: str) -> None:
    """Every destination a segment names exists (``gogle`` is refused with a suggestion)."""
    import difflib

    from audiences.destinations import DESTINATIONS

    for name in names:
        if name not in DESTINATIONS:
            close = difflib.get_close_matches(name, list(DESTINATIONS), n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise SegmentInvalid(
                f"{where}: unknown destination `{name}` (known: {', '.join(DESTINATIONS)}){hint}",
                segment=segment,
                destination=name,
            )


def compile_segment(
    segment: Segment, *, features: pd.DataFrame, as_of: datetime
) -> CompiledSegment:
    """Check a segment against the feature schema and compile it; ``SegmentInvalid`` names the rule."""
    schema = {str(c): _kind(features[c].dtype) for c in features.columns}
    compiler = _Compiler(schema, as_of=as_of, segment=segment.name)
    where = compiler.condition(segment.rule, "rule")
    sql = f"SELECT f.person_id FROM features f WHERE COALESCE({where}, FALSE) ORDER BY f.person_id"
    return CompiledSegment(segment=segment, sql=sql, params=compiler.params)


def evaluate_segment(
    segment: Segment, *, features: pd.DataFrame, activity: pd.DataFrame, as_of: datetime
) -> pd.Series:
    """The person ids in a segment, sorted."""
    compiled = compile_segment(segment, features=features, as_of=as_of)
    con = duckdb.connect()
    try:
        con.register("features", features)
        con.register("activity", activity)
        result = con.execute(compiled.sql, compiled.params).df()
    finally:
        con.close()
    return result["person_id"].astype(str).reset_index(drop=True)
