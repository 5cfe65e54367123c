"""Clerical review: pairs for a person to label, and reading their labels back.

``sample_review_pairs`` draws pairs of records from a run's stored scores
where labels teach the most, as active-learning linkers (dedupe, Zingg)
do: most of them near the linking threshold, where the model is least sure
(weights fall off with the distance in match weight), the rest spread over
every score decile so a calibration sees the whole range. Each row shows
both records side by side with only what a reviewer needs to decide: names,
date of birth, postcode and city in clear; emails and phones masked
(first and last character of the mailbox and the domain; the last three
digits), plus whether they are equal; no address, no national id, no ids
beyond the record's source and key.

The reviewer fills the ``label`` column (``1``/``0``, ``yes``/``no``,
``same``/``different``; blank or ``?`` to skip); ``read_pair_labels`` reads
it back and names every unusable row.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from resolver.errors import LabelsError
from resolver.model import TrainedModel

__all__ = [
    "REVIEW_COLUMNS",
    "mask_email",
    "mask_phone",
    "model_fingerprint",
    "read_pair_labels",
    "sample_review_pairs",
]

#: Fields shown in clear, side by side (touchpoint column -> CSV name).
_CLEAR = {
    "first_name": "first_name",
    "last_name": "last_name",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "city": "city",
}
#: Columns of the review file, in order.
REVIEW_COLUMNS: tuple[str, ...] = (
    "pair_id", "label", "model_probability", "probability", "match_weight",
    "left_source", "left_record_key", "right_source", "right_record_key",
    *(f"{name}_{side}" for name in _CLEAR.values() for side in ("left", "right")),
    "email_left", "email_right", "same_email", "phone_left", "phone_right", "same_phone",
    "model",
)  # fmt: skip

_YES = frozenset({"1", "yes", "y", "same", "match", "true", "t"})
_NO = frozenset({"0", "no", "n", "different", "non-match", "nonmatch", "false", "f"})
_SKIP = frozenset({"", "?", "unsure", "skip"})


def model_fingerprint(model: TrainedModel) -> str:
    """A short hash of the model's parameters: labels belong to the model that scored them."""
    text = json.dumps(model.settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def mask_email(email: object) -> str | None:
    """First and last character of the mailbox and the domain.

    Examples:
        >>> mask_email("jane.doe@example.com")
        'j***e@example.com'
    """
    if not isinstance(email, str) or "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    shown = local[0] + "***" + local[-1] if len(local) > 1 else local + "***"
    return f"{shown}@{domain}"


def mask_phone(phone: object) -> str | None:
    """The last three digits only.

    Examples:
        >>> mask_phone("+972541234567")
        '***567'
    """
    if not isinstance(phone, str) or len(phone) < 4:
        return None
    return "***" + phone[-3:]


def sample_review_pairs(
    *,
    predictions: pd.DataFrame,
    touchpoints: pd.DataFrame,
    threshold: float,
    model: TrainedModel,
    n: int = 200,
    near_share: float = 0.7,
    seed: int = 1,
) -> pd.DataFrame:
    """Pairs to label: ``near_share`` of them near ``threshold``, the rest across all scores.

    Args:
        predictions: a run's scores (``left, right, probability, model_probability,
            match_weight``), record ids into ``touchpoints``.
        touchpoints: the run's normalised records.
        threshold: the linking threshold (the band is centred on its match weight).
        model: the model that scored the pairs (its fingerprint goes in the file).
        n: pairs to draw (fewer when the run has fewer).
        near_share: share drawn near the threshold.
        seed: the same run and seed draw the same pairs.
    """
    scores = predictions.reset_index(drop=True)
    if scores.empty:
        return pd.DataFrame(columns=list(REVIEW_COLUMNS))
    rng = np.random.default_rng(seed)
    weight = scores["match_weight"].to_numpy(dtype=float)
    centre = math.log2(threshold / (1 - threshold))
    near_weights = np.exp(-np.abs(weight - centre) / 2.0)
    n = min(n, len(scores))
    n_near = min(round(n * near_share), n)
    chosen = set(
        rng.choice(len(scores), size=n_near, replace=False, p=near_weights / near_weights.sum())
        .astype(int)
        .tolist()
    )
    # The rest: one draw per match-weight decile in turn, so every range is seen.
    rest = np.setdiff1d(np.arange(len(scores)), np.fromiter(chosen, dtype=int, count=len(chosen)))
    if len(rest) and n > len(chosen):
        deciles = pd.qcut(weight[rest], q=min(10, len(rest)), labels=False, duplicates="drop")
        buckets = [rng.permutation(rest[deciles == d]).tolist() for d in np.unique(deciles)]
        while len(chosen) < n and any(buckets):
            for bucket in buckets:
                if bucket and len(chosen) < n:
                    chosen.add(int(bucket.pop()))
    picked = scores.iloc[sorted(chosen)].reset_index(drop=True)
    left = touchpoints.iloc[picked["left"].to_numpy(np.int64)].reset_index(drop=True)
    right = touchpoints.iloc[picked["right"].to_numpy(np.int64)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "pair_id": [f"pair-{i:05d}" for i in range(1, len(picked) + 1)],
            "label": "",
            "model_probability": picked["model_probability"].round(6),
            "probability": picked["probability"].round(6),
            "match_weight": picked["match_weight"].round(3),
            "left_source": left["source"],
            "left_record_key": left["record_key"],
            "right_source": right["source"],
            "right_record_key": right["record_key"],
        }
    )
    for column, name in _CLEAR.items():
        out[f"{name}_left"] = left[column]
        out[f"{name}_right"] = right[column]
    out["email_left"] = left["email"].map(mask_email)
    out["email_right"] = right["email"].map(mask_email)
    out["same_email"] = _same(left["email_folded"], right["email_folded"])
    out["phone_left"] = left["phone"].map(mask_phone)
    out["phone_right"] = right["phone"].map(mask_phone)
    out["same_phone"] = _same(left["phone"], right["phone"])
    out["model"] = model_fingerprint(model)
    return out[list(REVIEW_COLUMNS)]


def _same(a: pd.Series, b: pd.Series) -> list[str | None]:
    return [
        None if not (isinstance(x, str) and isinstance(y, str)) else ("yes" if x == y else "no")
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]


def read_pair_labels(path: Path) -> pd.DataFrame:
    """The labelled rows of a review file: ``pair_id, model_probability, label (0/1), model``.

    Unlabelled rows (blank, ``?``) are skipped; anything else that is not a
    yes or a no is a ``LabelsError`` naming the file and its lines.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise LabelsError(f"pair labels file {path} does not exist", path=str(path)) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LabelsError(
            f"pair labels file {path} is not a readable CSV ({type(exc).__name__})",
            path=str(path),
        ) from exc
    missing = [c for c in ("pair_id", "label", "model_probability") if c not in frame.columns]
    if missing:
        raise LabelsError(
            f"pair labels file {path} lacks column(s) {', '.join(missing)}; "
            "label the file `tether review sample` wrote",
            path=str(path),
            columns=missing,
        )
    text = frame["label"].str.strip().str.lower()
    label = pd.Series(np.nan, index=frame.index)
    label[text.isin(_YES)] = 1.0
    label[text.isin(_NO)] = 0.0
    bad = ~(text.isin(_YES) | text.isin(_NO) | text.isin(_SKIP))
    probability = pd.to_numeric(frame["model_probability"], errors="coerce")
    bad |= label.notna() & ~probability.between(0.0, 1.0)
    if bad.any():
        lines = (np.flatnonzero(bad.to_numpy()) + 2).tolist()[:10]
        raise LabelsError(
            f"pair labels file {path}: line(s) {lines} have a label that is not yes/no "
            "(1, 0, same, different; blank to skip) or a model_probability outside 0-1",
            path=str(path),
            lines=lines,
        )
    labelled = label.notna()
    out = pd.DataFrame(
        {
            "pair_id": frame.loc[labelled, "pair_id"],
            "model_probability": probability[labelled].astype(float),
            "label": label[labelled].astype(int),
            "model": frame.loc[labelled, "model"] if "model" in frame else "",
        }
    )
    dup = out["pair_id"].duplicated()
    if dup.any():
        lines = (np.flatnonzero(labelled.to_numpy())[dup.to_numpy()] + 2).tolist()[:10]
        raise LabelsError(
            f"pair labels file {path}: pair labelled twice on line(s) {lines}",
            path=str(path),
            lines=lines,
        )
    return out.reset_index(drop=True)
