"""The probabilistic linkage model: Splink settings, training, saving, loading.

The model compares *person evidence* (names, date of birth, postcode, city,
email, phone) between records. Which records take part, and why training
works on session-shaped data, is explained in ``docs/linking.md``: in short,
records that carry only a cookie id are linked by identifiers, not by this
model, and the model's input holds one row per distinct person signature per
deterministic fragment.

The trained model is Splink's own JSON (``save_model`` / ``load_model``), so a
notebook can open it with ``splink.Linker(df, "model.json")``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from resolver.errors import ModelError
from resolver.options import LinkingOptions

__all__ = [
    "BLOCKING_KEYS",
    "MODEL_COLUMNS",
    "TrainedModel",
    "blocking_rules",
    "load_model",
    "model_settings",
    "save_model",
    "train_model",
]

logger = logging.getLogger(__name__)

#: Columns of the model's input table (besides ``unique_id``).
MODEL_COLUMNS = (
    "first_latin",
    "last_latin",
    "first_skeleton",
    "last_skeleton",
    "first_translit",
    "last_translit",
    "first_forms",
    "dob",
    "postcode",
    "city",
    "address",
    "email_folded",
    "phone",
    "national_id",
)


def _name_comparison(
    column: str, skeleton: str, translit: str, *, forms: str | None = None
) -> cl.CustomComparison:
    levels: list[Any] = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
    ]
    if forms:
        levels.append(
            cll.ArrayIntersectLevel(forms, min_intersection=1).configure(
                label_for_charts="Nickname of the same name"
            )
        )
    levels += [
        # The skeleton bridges scripts only: between two Latin-script names it
        # is no evidence (jens uwe / jonas share "jns").
        cll.CustomLevel(
            f"{skeleton}_l = {skeleton}_r AND ({translit}_l OR {translit}_r)",
            label_for_charts="Transliteration with the same consonant skeleton",
        ),
        cll.JaroWinklerLevel(column, 0.92),
        cll.JaroWinklerLevel(column, 0.88),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(
        comparison_levels=levels,
        output_column_name=column,
        comparison_description=f"{column}: exact, nickname, transliteration, Jaro-Winkler",
    )


def _dob_comparison() -> cl.CustomComparison:
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
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", label_for_charts="Same year"
            ),
            cll.ElseLevel(),
        ],
        output_column_name="dob",
        comparison_description="dob: exact, one typo, same year",
    )


def _identifier_comparison(
    column: str, *, description: str, tf: bool = False, near: Any = None
) -> cl.CustomComparison:
    """Null, exact (optionally term-frequency adjusted), an optional near level, else."""
    exact: Any = cll.ExactMatchLevel(column)
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    levels = [cll.NullLevel(column), exact, *([near] if near is not None else []), cll.ElseLevel()]
    return cl.CustomComparison(
        comparison_levels=levels, output_column_name=column, comparison_description=description
    )


def _location_comparison() -> cl.CustomComparison:
    # One comparison for postcode and city: a shared postcode implies a shared
    # city, so scoring them apart double-counts the evidence, and "same big
    # city, other postcode" (two James Smiths of London) must get its own,
    # much weaker, weight.
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


#: Columns of each prediction blocking rule; also the real-time candidate keys
#: (``resolver.identify``), so a query meets the candidates a batch run would.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("last_latin", "dob"),
    ("first_latin", "dob"),
    ("last_latin", "postcode"),
    ("first_latin", "last_latin", "city"),
    ("first_skeleton", "last_skeleton", "dob"),
    ("dob", "postcode"),
    ("national_id",),
)


def blocking_rules() -> list[Any]:
    """Prediction blocking: each rule keeps comparisons near-linear in records.

    No rule on a first+last name pair alone: common names make that block grow
    quadratically with the data (splink5-notes §4.2).
    """
    return [block_on(*columns) for columns in BLOCKING_KEYS]


def model_settings() -> SettingsCreator:
    """The untrained model: comparisons and blocking rules."""
    return SettingsCreator(
        link_type="dedupe_only",  # one table holding every source: link + dedupe in one
        unique_id_column_name="unique_id",
        comparisons=[
            _name_comparison(
                "first_latin", "first_skeleton", "first_translit", forms="first_forms"
            ),
            _name_comparison("last_latin", "last_skeleton", "last_translit"),
            _dob_comparison(),
            _location_comparison(),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            _identifier_comparison(
                "email_folded",
                description="email (gmail-folded): exact, near",
                near=cll.JaroWinklerLevel("email_folded", 0.92).configure(
                    label_for_charts="Email nearly equal (typo)"
                ),
            ),
            _identifier_comparison("phone", description="phone: exact"),
            _identifier_comparison(
                "national_id",
                description="national id (tax, insurance or social security number)",
                near=cll.DamerauLevenshteinLevel("national_id", 1).configure(
                    label_for_charts="One typo or swapped digits"
                ),
            ),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainedModel:
    """A trained Splink model as its JSON settings dict."""

    settings: dict[str, Any]

    @property
    def probability_two_random_records_match(self) -> float:
        return float(self.settings["probability_two_random_records_match"])

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


def train_model(model_input: pd.DataFrame, *, options: LinkingOptions) -> TrainedModel:
    """Train the model unsupervised on the model input table.

    λ from deterministic rules (shared email or phone, same name and date of
    birth), u from random pairs, m by EM in three sessions blocked on fields
    that are independent of each other (splink5-notes pitfall 7).

    Raises ``ModelError`` when the input is too small to train on.
    """
    if len(model_input) < 50:
        raise ModelError(
            f"only {len(model_input)} records carry person fields; at least 50 are needed "
            "to train the linkage model",
            records=len(model_input),
        )
    db_api = DuckDBAPI()
    sdf = db_api.register(model_input, dataset_display_name="touchpoints")
    linker = Linker(sdf, model_settings(), log_level=None)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [
            block_on("email_folded"),
            block_on("phone"),
            block_on("national_id"),
            block_on("first_latin", "last_latin", "dob"),
        ],
        recall=0.8,
    )
    training.estimate_u_using_random_sampling(max_pairs=options.u_max_pairs, seed=options.seed)
    sessions = [
        block_on("email_folded"),
        block_on("last_latin", "dob"),
        block_on("phone"),
        block_on("national_id"),
    ]
    trained_sessions = 0
    for rule in sessions:
        # A session whose blocked pairs are (almost) all matches degenerates and
        # Splink raises part-way, leaving its settings half-updated: restore.
        snapshot = linker.misc.save_model_to_json()
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=options.em_max_pairs
            )
            trained_sessions += 1
        except Exception as exc:  # noqa: BLE001 - Splink raises plain ValueError/Exception
            logger.info("EM session skipped (%s); model restored", type(exc).__name__)
            linker = Linker(sdf, snapshot, log_level=None)
            training = linker.training
    if trained_sessions == 0:
        raise ModelError("no EM session could be trained on this data", records=len(model_input))
    settings = _fill_untrained_m(linker.misc.save_model_to_json())
    return TrainedModel(settings=settings)


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
            if lv.get("m_probability") is None or lv["m_probability"] < UNTRAINED_M
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


def save_model(model: TrainedModel, path: Path) -> None:
    """Write the model JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model.settings, indent=2, sort_keys=True))
    tmp.replace(path)


def load_model(path: Path) -> TrainedModel:
    """Read a model written by ``save_model`` (or by Splink itself)."""
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(
            f"no trained model at {path}; run `tether train` first", path=str(path)
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"model file {path} is not valid JSON", path=str(path)) from exc
    if "comparisons" not in settings:
        raise ModelError(f"model file {path} is not a Splink model", path=str(path))
    return TrainedModel(settings=settings)
