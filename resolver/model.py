"""The probabilistic linkage model: Splink settings, training, saving, loading.

The model compares *person evidence* (names, date of birth, gender,
postcode, city, address, email, phone, national id) between records. Which
records take part, and why training works on session-shaped data, is
explained in ``docs/linking.md``: in short, records that carry only a cookie
id are linked by identifiers, not by this model, and the model's input holds
one row per distinct person signature per deterministic fragment.

The model is built from the columns the data actually has (``present_columns``):
a comparison on a column nobody filled in is left out, and so is a training
session blocked on it. Training is Splink's: λ from deterministic rules, u
from random pairs, m by expectation maximisation in sessions chosen from
the columns present (``training_sessions``); each session is checked before
its estimates are kept (``_session_is_sound``).

Prediction blocking is chosen the same way, and capped (``resolver.blocking``)
so that comparisons stay near-linear in records whatever the data.

The trained model is Splink's own JSON (``save_model`` / ``load_model``), so a
notebook can open it with ``splink.Linker(df, "model.json")``; a calibration
fitted on reviewed pairs (``resolver.calibration``) is saved beside it.
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resolver.errors import ModelError
from resolver.options import LinkingOptions

if TYPE_CHECKING:
    from resolver.calibration import Calibration

__all__ = [
    "LINKING_ONLY_COLUMNS",
    "MODEL_COLUMNS",
    "TrainedModel",
    "close_duckdb",
    "load_model",
    "model_settings",
    "present_columns",
    "save_model",
    "train_model",
    "training_sessions",
]

logger = logging.getLogger(__name__)

#: The derived name forms ingest adds to touchpoints for linking to compare (Latin
#: spelling, consonant skeleton, transliteration flag, diminutive forms). Only linking
#: reads them: no later step of a run reads them back from its touchpoints.
LINKING_ONLY_COLUMNS = (
    "first_latin",
    "last_latin",
    "first_skeleton",
    "last_skeleton",
    "first_translit",
    "last_translit",
    "first_forms",
    "first_canon",
)

#: Columns of the model's input table (besides ``unique_id`` and ``fragment``).
MODEL_COLUMNS = (
    *LINKING_ONLY_COLUMNS,
    "dob",
    "gender",
    "postcode",
    "city",
    "address",
    "email_folded",
    "phone",
    "national_id",
)

#: A column takes part in the model when at least this share of the model's
#: input rows has a value (and at least ``_MIN_PRESENT_ROWS`` rows do).
PRESENT_SHARE = 0.005
_MIN_PRESENT_ROWS = 20

#: Comparison (output column) -> the input column whose presence it needs.
_COMPARISON_COLUMN = {
    "first_latin": "first_latin",
    "last_latin": "last_latin",
    "dob": "dob",
    "gender": "gender",
    "location": "city",  # postcode or city; city is checked with postcode below
    "address": "address",
    "email_folded": "email_folded",
    "phone": "phone",
    "national_id": "national_id",
}

#: Comparisons whose agreement a true match shows far more often than their
#: disagreement: a training session whose latent class says otherwise learned
#: something other than "same person" (splink5-notes pitfall 7) and is dropped.
IDENTITY_COMPARISONS = ("first_latin", "last_latin", "dob")


def present_columns(model_input: pd.DataFrame) -> frozenset[str]:
    """The model columns with enough values to compare and train on."""
    if len(model_input) == 0:
        return frozenset()
    floor = max(_MIN_PRESENT_ROWS, PRESENT_SHARE * len(model_input))
    counts = model_input.notna().sum()
    return frozenset(
        c
        for c in MODEL_COLUMNS
        if c in counts.index and int(counts[c]) >= min(floor, 0.5 * len(model_input))
    )


def _name_comparison(
    column: str, *, other: str, skeleton: str, translit: str, forms: str | None = None
) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels: list[Any] = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
    ]
    if forms:
        levels.append(
            cll.ArrayIntersectLevel(forms, min_intersection=1).configure(
                label_for_charts="Diminutive, nickname or variant of the same name"
            )
        )
    levels += [
        # First and last name written in each other's fields (FEBRL swaps them;
        # a form's "name" box gets the surname first in many countries). Both
        # ways round: one name that is also a surname (Shireen, Rayan) is no swap.
        cll.CustomLevel(
            f"{column}_l = {other}_r AND {other}_l = {column}_r",
            label_for_charts="First and last name swapped",
        ),
        # The skeleton bridges scripts only: between two Latin-script names it
        # is no evidence (jens uwe / jonas share "jns").
        cll.CustomLevel(
            f"{skeleton}_l = {skeleton}_r AND ({translit}_l OR {translit}_r)",
            label_for_charts="Transliteration with the same consonant skeleton",
        ),
        cll.JaroWinklerLevel(column, 0.92),
        cll.JaroWinklerLevel(column, 0.88),
    ]
    if forms:
        levels.append(
            cll.CustomLevel(
                f"(length({column}_l) = 1 OR length({column}_r) = 1) "
                f"AND substr({column}_l, 1, 1) = substr({column}_r, 1, 1)",
                label_for_charts="An initial of the same letter",
            )
        )
    levels.append(cll.ElseLevel())
    described = "nickname/diminutive, other field, transliteration, Jaro-Winkler"
    return cl.CustomComparison(
        comparison_levels=levels,
        output_column_name=column,
        comparison_description=f"{column}: exact, {described}",
    )


def _dob_comparison() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    # String levels only, so the same model runs on DuckDB and Spark (a
    # ``datetime_format`` is dialect-specific: splink5-notes pitfall 5).
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.DamerauLevenshteinLevel("dob", 1).configure(
                label_for_charts="One typo or swapped digits"
            ),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="Day and month swapped",
            ),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", label_for_charts="Same year"
            ),
            cll.ElseLevel(),
        ],
        output_column_name="dob",
        comparison_description="dob: exact, one typo, day/month swapped, same year",
    )


def _identifier_comparison(
    column: str, *, description: str, tf: bool = False, near: Any = None
) -> Any:
    """Null, exact (optionally term-frequency adjusted), an optional near level, else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    exact: Any = cll.ExactMatchLevel(column)
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    levels = [cll.NullLevel(column), exact, *([near] if near is not None else []), cll.ElseLevel()]
    return cl.CustomComparison(
        comparison_levels=levels, output_column_name=column, comparison_description=description
    )


def _location_comparison() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    # One comparison for postcode and city: a shared postcode implies a shared
    # city, so scoring them apart double-counts the evidence, and "same big
    # city, other postcode" (two James Smiths of London) must get its own,
    # much weaker, weight. Both are term-frequency adjusted: a city-level
    # postcode that half the data shares is worth little.
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(
                "(postcode_l IS NULL OR postcode_r IS NULL) AND (city_l IS NULL OR city_r IS NULL)",
                label_for_charts="postcode and city missing",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode"),
            cll.ExactMatchLevel("city").configure(
                tf_adjustment_column="city", label_for_charts="Same city, other postcode"
            ),
            cll.ElseLevel(),
        ],
        output_column_name="location",
        comparison_description="location: same postcode, else same city",
    )


def _comparisons(present: frozenset[str]) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    built: list[Any] = []
    if "first_latin" in present:
        built.append(
            _name_comparison(
                "first_latin",
                other="last_latin",
                skeleton="first_skeleton",
                translit="first_translit",
                forms="first_forms",
            )
        )
    if "last_latin" in present:
        built.append(
            _name_comparison(
                "last_latin",
                other="first_latin",
                skeleton="last_skeleton",
                translit="last_translit",
            )
        )
    if "dob" in present:
        built.append(_dob_comparison())
    if "gender" in present:
        built.append(_identifier_comparison("gender", description="gender: same, else"))
    if "postcode" in present or "city" in present:
        built.append(_location_comparison())
    if "address" in present:
        # Term-frequency adjusted: "po box" or "london road" is shared by thousands.
        built.append(
            cl.CustomComparison(
                comparison_levels=[
                    cll.NullLevel("address"),
                    cll.ExactMatchLevel("address").configure(tf_adjustment_column="address"),
                    cll.JaroWinklerLevel("address", 0.9),
                    cll.JaroWinklerLevel("address", 0.7),
                    cll.ElseLevel(),
                ],
                output_column_name="address",
                comparison_description="address: exact (tf), Jaro-Winkler 0.9, 0.7",
            )
        )
    if "email_folded" in present:
        built.append(
            _identifier_comparison(
                "email_folded",
                description="email (gmail-folded): exact, near",
                near=cll.JaroWinklerLevel("email_folded", 0.92).configure(
                    label_for_charts="Email nearly equal (typo)"
                ),
            )
        )
    if "phone" in present:
        built.append(_identifier_comparison("phone", description="phone: exact"))
    if "national_id" in present:
        built.append(
            _identifier_comparison(
                "national_id",
                description="national id (tax, insurance or social security number)",
                near=cll.DamerauLevenshteinLevel("national_id", 1).configure(
                    label_for_charts="One typo or swapped digits"
                ),
            )
        )
    return built


def model_settings(present: frozenset[str] = frozenset(MODEL_COLUMNS)) -> Any:
    """The untrained model for the columns ``present``: comparisons only.

    Prediction blocking rules are not part of the model: they are chosen and
    capped for each run's data (``resolver.blocking``).
    """
    from splink import SettingsCreator

    comparisons = _comparisons(present)
    if not comparisons:
        raise ModelError("no person field (name, date of birth, postcode...) to compare")
    return SettingsCreator(
        link_type="dedupe_only",  # one table holding every source: link + dedupe in one
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainedModel:
    """A trained Splink model as its JSON settings dict, and an optional calibration."""

    settings: dict[str, Any]
    calibration: Calibration | None = None
    training: dict[str, Any] = field(default_factory=dict)
    """How it was trained: columns, sessions kept and dropped (for the report)."""

    @property
    def probability_two_random_records_match(self) -> float:
        return float(self.settings["probability_two_random_records_match"])

    @property
    def comparisons(self) -> tuple[str, ...]:
        """Output column names of the model's comparisons."""
        return tuple(c["output_column_name"] for c in self.settings["comparisons"])

    def m_u_table(self) -> pd.DataFrame:
        """One row per comparison level with its m, u and Bayes factor."""
        rows = []
        for comparison in self.settings["comparisons"]:
            for level in comparison["comparison_levels"]:
                if level.get("is_null_level"):
                    continue
                m, u = level.get("m_probability"), level.get("u_probability")
                rows.append(
                    {
                        "comparison": comparison["output_column_name"],
                        "level": level.get("label_for_charts", level["sql_condition"]),
                        "m": m,
                        "u": u,
                        "bayes_factor": (m / u) if m and u else None,
                    }
                )
        return pd.DataFrame(rows)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingSession:
    """One EM session: what it blocks on and the comparisons it can train."""

    columns: tuple[str, ...]
    trains: tuple[str, ...]


#: EM sessions in order of preference. Each blocks on fields that say little
#: about the others, so that EM's latent class is "same person" (splink5-notes
#: pitfall 7); a session is used when its columns are present.
_SESSION_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("email_folded",),
    ("first_latin", "last_latin"),
    ("dob",),
    ("phone",),
    ("postcode",),
    ("national_id",),
)

#: Comparison output column -> input columns it reads (a session blocked on
#: one of them cannot train it).
_READS = {
    "first_latin": {"first_latin", "last_latin", "first_forms", "first_skeleton"},
    "last_latin": {"last_latin", "first_latin", "last_skeleton"},
    "dob": {"dob"},
    "gender": {"gender"},
    "location": {"postcode", "city"},
    "address": {"address"},
    "email_folded": {"email_folded"},
    "phone": {"phone"},
    "national_id": {"national_id"},
}


def training_sessions(
    present: frozenset[str], comparisons: tuple[str, ...]
) -> list[TrainingSession]:
    """EM sessions for the columns present, each with the comparisons it trains.

    Examples:
        >>> cols = frozenset({"first_latin", "last_latin", "dob", "postcode"})
        >>> [s.columns for s in training_sessions(cols, ("first_latin", "last_latin", "dob", "location"))]
        [('first_latin', 'last_latin'), ('dob',), ('postcode',)]
    """
    sessions = []
    for columns in _SESSION_CANDIDATES:
        if not set(columns) <= present:
            continue
        trains = tuple(c for c in comparisons if not (_READS.get(c, {c}) & set(columns)))
        if trains:
            sessions.append(TrainingSession(columns=columns, trains=trains))
    return sessions


#: Training stops once every comparison has been estimated by this many sessions
#: (the median of two or more sessions; one bad session is dropped, not averaged in).
SESSIONS_PER_COMPARISON = 2


def close_duckdb(db_api: Any) -> None:
    """Close the DuckDB connection of a Splink ``DuckDBAPI`` once its work is read.

    Splink's linker, tables and backend refer to one another: dropped, they wait for
    Python's cycle collector, and the connection's tables and DuckDB's memory with them (at
    1 M touchpoints 0.37 GiB held after scoring, through the clustering; issue #14).
    """
    db_api.duckdb_con.close()


def train_model(
    model_input: pd.DataFrame, *, options: LinkingOptions, db_api: Any = None
) -> TrainedModel:
    """Train the model unsupervised on the model input table.

    λ from deterministic rules (shared email, phone or national id, same name
    and date of birth), u from random pairs, m by EM in the sessions
    ``training_sessions`` chooses; a session whose estimates fail
    ``_session_is_sound`` is dropped, and each comparison's m is the median of
    the sessions that trained it.

    ``db_api``: the Splink backend to train on (a ``SparkAPI`` for the Spark
    engine, ``resolver.spark``); a new in-memory DuckDB when not given.

    Raises ``ModelError`` when the input is too small or no comparison of
    names and birth dates can be trained.
    """
    from splink import DuckDBAPI, Linker, block_on

    if len(model_input) < 50:
        raise ModelError(
            f"only {len(model_input)} records carry person fields; at least 50 are needed "
            "to train the linkage model",
            records=len(model_input),
        )
    present = present_columns(model_input)
    settings_creator = model_settings(present)
    columns = ["unique_id", *[c for c in MODEL_COLUMNS if c in model_input.columns]]
    own = db_api is None
    db_api = DuckDBAPI() if own else db_api
    try:
        sdf = db_api.register(model_input[columns], dataset_display_name="touchpoints")
        linker = Linker(sdf, settings_creator, log_level=None)
        training = linker.training
        deterministic: list[Any] = [
            block_on(*cols)
            for cols in (
                ("email_folded",),
                ("phone",),
                ("national_id",),
                ("first_latin", "last_latin", "dob"),
            )
            if set(cols) <= present
        ]
        if deterministic:
            training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
        training.estimate_u_using_random_sampling(max_pairs=options.u_max_pairs, seed=options.seed)
        base = linker.misc.save_model_to_json()
        comparisons = tuple(c["output_column_name"] for c in base["comparisons"])
        trained: dict[str, list[list[float]]] = {c: [] for c in comparisons}
        kept: list[str] = []
        dropped: list[dict[str, str]] = []
        for session in training_sessions(present, comparisons):
            if all(len(v) >= SESSIONS_PER_COMPARISON for v in trained.values()):
                break  # every comparison has its estimates: more sessions only cost time
            name = "+".join(session.columns)
            session_linker = Linker(sdf, json.loads(json.dumps(base)), log_level=None)
            try:
                session_linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*session.columns), max_pairs=options.em_max_pairs
                )
            except Exception as exc:  # noqa: BLE001 - Splink raises plain ValueError/Exception
                # A session whose blocked pairs are (almost) all matches degenerates.
                logger.info("EM session %s failed (%s): dropped", name, type(exc).__name__)
                dropped.append({"session": name, "reason": type(exc).__name__})
                continue
            estimated = _m_vectors(session_linker.misc.save_model_to_json(), session.trains)
            problem = _session_is_sound(estimated)
            if problem:
                logger.info("EM session %s dropped: %s", name, problem)
                dropped.append({"session": name, "reason": problem})
                continue
            kept.append(name)
            for comparison, vector in estimated.items():
                trained[comparison].append(vector)
        untrained_identity = [c for c in IDENTITY_COMPARISONS if c in trained and not trained[c]]
        if not kept or len(untrained_identity) == len(
            [c for c in IDENTITY_COMPARISONS if c in trained]
        ):
            raise ModelError(
                "no EM session could be trained on this data (names and dates of birth too sparse?)",
                records=len(model_input),
            )
        settings = _apply_m(base, trained)
        settings = _fill_untrained_m(settings)
        info = {
            "columns": sorted(present),
            "comparisons": list(comparisons),
            "sessions_kept": kept,
            "sessions_dropped": dropped,
            "untrained": sorted(c for c, v in trained.items() if not v),
            "rows": len(model_input),
        }
        logger.info(
            "model trained: %d comparisons, sessions kept=%s dropped=%d",
            len(comparisons),
            ",".join(kept),
            len(dropped),
        )
        return TrainedModel(settings=settings, training=info)
    finally:
        if own:  # see ``close_duckdb``
            close_duckdb(db_api)


def _levels(settings: dict[str, Any], comparison: str) -> list[dict[str, Any]]:
    (found,) = [c for c in settings["comparisons"] if c["output_column_name"] == comparison]
    return [lv for lv in found["comparison_levels"] if not lv.get("is_null_level")]


def _m_vectors(settings: dict[str, Any], comparisons: tuple[str, ...]) -> dict[str, list[float]]:
    """Per comparison, its levels' m as one session estimated them (unobserved: 0)."""
    out = {}
    for comparison in comparisons:
        values = []
        for level in _levels(settings, comparison):
            m = level.get("m_probability")
            values.append(float(m) if isinstance(m, int | float) else 0.0)
        out[comparison] = values
    return out


def _session_is_sound(estimated: dict[str, list[float]]) -> str | None:
    """Why a session's estimates cannot be "same person" (``None``: they can).

    Among true matches a name or a birth date agrees exactly far more often
    than it disagrees wholly. A session blocked on fields correlated with the
    others (names, and emails made of names) learns "same name" instead, and
    its m says the opposite (splink5-notes pitfall 7).
    """
    for comparison in IDENTITY_COMPARISONS:
        vector = estimated.get(comparison)
        if vector and vector[0] <= vector[-1]:
            return f"{comparison}: m(exact) {vector[0]:.3f} <= m(else) {vector[-1]:.3f}"
    return None


def _apply_m(base: dict[str, Any], trained: dict[str, list[list[float]]]) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(json.dumps(base))
    for comparison, vectors in trained.items():
        if not vectors:
            continue
        levels = _levels(settings, comparison)
        medians = [statistics.median(v[i] for v in vectors) for i in range(len(levels))]
        total = sum(medians) or 1.0
        for level, m in zip(levels, medians, strict=True):
            level["m_probability"] = m / total
    return settings


#: Floor of every m probability. A level never (or almost never) observed among
#: matches in training is rare among true matches, so it is strong evidence
#: against a match, but not proof: EM on a small sample can drive m to 1e-58,
#: which would let one typo veto every other agreement.
UNTRAINED_M = 0.001


def _fill_untrained_m(settings: dict[str, Any]) -> dict[str, Any]:
    """Floor every level's m at ``UNTRAINED_M`` (untrained levels too), then renormalise."""
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        missing = [
            lv
            for lv in levels
            if not isinstance(lv.get("m_probability"), int | float)
            or lv["m_probability"] < UNTRAINED_M
        ]
        if not missing:
            continue
        for level in missing:
            level["m_probability"] = UNTRAINED_M
        total = sum(lv["m_probability"] for lv in levels)
        for level in levels:
            level["m_probability"] = level["m_probability"] / total
        logger.info(
            "comparison %s: %d level(s) untrained or below the floor, m set to %s",
            comparison["output_column_name"],
            len(missing),
            UNTRAINED_M,
        )
    return settings


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def save_model(model: TrainedModel, path: Path) -> None:
    """Write the model JSON atomically (Splink's own format, so Splink opens it).

    Beside it: ``training.json`` (how it was trained) and ``calibration.json``
    when the model has a calibration. A model written without one removes a
    stale calibration: it maps one model's scores and means nothing for another.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, model.settings)
    _write_json(path.with_name("training.json"), model.training)
    calibration_path = path.with_name("calibration.json")
    if model.calibration is None:
        calibration_path.unlink(missing_ok=True)
    else:
        _write_json(calibration_path, model.calibration.as_dict())


def load_model(path: Path) -> TrainedModel:
    """Read a model written by ``save_model`` (or by Splink itself), with its calibration."""
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(
            f"no trained model at {path}; run `tether train` first", path=str(path)
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"model file {path} is not valid JSON; run `tether train` to replace it",
            path=str(path),
        ) from exc
    if not isinstance(settings, dict) or "comparisons" not in settings:
        raise ModelError(
            f"model file {path} is not a Splink model; run `tether train` to replace it",
            path=str(path),
        )
    calibration = None
    calibration_path = path.with_name("calibration.json")
    if calibration_path.exists():
        from resolver.calibration import Calibration

        calibration = Calibration.read(calibration_path)
    training_path = path.with_name("training.json")
    training: dict[str, Any] = {}
    if training_path.exists():
        try:
            training = dict(json.loads(training_path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError):
            training = {}
    return TrainedModel(settings=settings, calibration=calibration, training=training)
