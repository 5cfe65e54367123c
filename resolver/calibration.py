"""Calibrated match probabilities, fitted on pairs a reviewer labelled.

Splink's match probability comes from an unsupervised model whose
independence assumptions rarely hold: on real data "0.9" may mean that 97 %
or 70 % of such pairs are the same person. A reviewer labels pairs sampled
around the threshold (``resolver.review``); ``fit_calibration`` learns the
map from Splink's probability to the observed share of matches with
scikit-learn, either isotonic regression (monotone, no shape assumed: the
default when there are enough labels) or logistic regression on the logit
(Platt scaling: two parameters, steadier on few labels).

Every label is held out once (stratified cross-validation) and the Brier
score and the reliability table (predicted against observed, per
probability bin) before and after are computed on those held-out
predictions, so the improvement is measured on pairs a fit never saw. A calibration is saved beside the model (``model/calibration.json``)
and applied by the batch and by real-time identify alike
(``Calibration.apply``, numpy only: scikit-learn is needed to fit, not to use).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from resolver.errors import LabelsError, ModelError

__all__ = ["MIN_LABELS", "MIN_PER_CLASS", "Calibration", "fit_calibration", "reliability"]

Method = Literal["isotonic", "logistic"]
#: Fewer labelled pairs than this cannot say anything reliable about a curve.
MIN_LABELS = 40
#: And each class (match, non-match) needs at least this many.
MIN_PER_CLASS = 10
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=float)


@dataclass(frozen=True, kw_only=True, slots=True)
class Calibration:
    """A fitted map from Splink's match probability to a calibrated one."""

    method: Method
    x: tuple[float, ...] = ()
    """Isotonic: input probabilities of the step function's knots."""
    y: tuple[float, ...] = ()
    """Isotonic: calibrated probability at each knot (linear between knots)."""
    coef: float = 1.0
    """Logistic: slope on logit(p)."""
    intercept: float = 0.0
    """Logistic: intercept."""
    model_fingerprint: str = ""
    """The model whose scores it maps (``resolver.review.model_fingerprint``)."""
    report: dict[str, Any] = field(default_factory=dict)
    """Labels used, Brier score and reliability before and after on held-out labels."""

    def apply(self, probability: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for Splink's ``probability`` (an array).

        Examples:
            >>> Calibration(method="isotonic", x=(0.0, 1.0), y=(0.2, 0.8)).apply(np.array([0.5]))
            array([0.5])
        """
        p = np.asarray(probability, dtype=float)
        if self.method == "isotonic":
            return np.asarray(np.interp(p, self.x, self.y), dtype=float)
        z = self.coef * _logit(p) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["x"], out["y"] = list(self.x), list(self.y)
        return out

    @classmethod
    def read(cls, path: Path) -> Calibration:
        """Read ``calibration.json``; a damaged file is a ``ModelError`` naming it."""
        try:
            data = json.loads(path.read_text())
            return cls(
                method=data["method"],
                x=tuple(float(v) for v in data.get("x", ())),
                y=tuple(float(v) for v in data.get("y", ())),
                coef=float(data.get("coef", 1.0)),
                intercept=float(data.get("intercept", 0.0)),
                model_fingerprint=str(data.get("model_fingerprint", "")),
                report=dict(data.get("report", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"calibration file {path} is damaged; delete it or run `tether calibrate` again",
                path=str(path),
            ) from exc


def reliability(
    probability: np.ndarray,
    label: np.ndarray,
    *,
    calibrated: np.ndarray | None = None,
    bins: int = 10,
) -> list[dict[str, Any]]:
    """Per probability bin: pairs, mean predicted probability, observed share of matches.

    With ``calibrated`` (the same pairs' calibrated probabilities), each row
    also gives their mean calibrated probability, binned by ``probability``.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        row: dict[str, Any] = {
            "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
            "pairs": int(mask.sum()),
            "predicted": round(float(probability[mask].mean()), 4),
            "observed": round(float(label[mask].mean()), 4),
        }
        if calibrated is not None:
            row["calibrated"] = round(float(calibrated[mask].mean()), 4)
        rows.append(row)
    return rows


def _brier(probability: np.ndarray, label: np.ndarray) -> float:
    return float(np.mean((probability - label) ** 2))


def _fit(method: Method, p: np.ndarray, y: np.ndarray) -> Calibration:
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(p, y)
        return Calibration(
            method="isotonic",
            x=tuple(float(v) for v in np.asarray(iso.X_thresholds_, dtype=float)),
            y=tuple(float(v) for v in np.asarray(iso.y_thresholds_, dtype=float)),
        )
    lr = LogisticRegression(C=1e6)  # almost no penalty: two parameters (Platt scaling)
    lr.fit(_logit(p).reshape(-1, 1), y)
    return Calibration(
        method="logistic", coef=float(lr.coef_[0][0]), intercept=float(lr.intercept_[0])
    )


def _out_of_fold(
    method: Method, p: np.ndarray, y: np.ndarray, *, folds: int, seed: int
) -> np.ndarray:
    """Each label's calibrated probability from a fit that never saw it (stratified k-fold)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(p), dtype=float)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, test_rows in splitter.split(p.reshape(-1, 1), y):
        out[test_rows] = _fit(method, p[fit_rows], y[fit_rows]).apply(p[test_rows])
    return out


def fit_calibration(
    *,
    probability: np.ndarray,
    label: np.ndarray,
    method: Method | None = None,
    folds: int = 5,
    seed: int = 1,
    model_fingerprint: str = "",
    source: str = "labels",
) -> Calibration:
    """Fit a calibration on labelled pairs, measured on labels each fit never saw.

    Every label is held out once (stratified ``folds``-fold cross-validation):
    the Brier score and the reliability table before and after are computed
    on those out-of-fold predictions. Without ``method``, the method with the
    lower held-out Brier score is chosen; the calibration returned is then
    fitted on every label. ``report["improves"]`` says whether it beat the
    uncalibrated probability on the held-out labels.

    Args:
        probability: Splink's match probability of each labelled pair.
        label: 1 for "same person", 0 for "different persons".
        method: ``isotonic`` or ``logistic``; by default the better held-out.
        folds: cross-validation folds.
        seed: the folds are seeded: the same labels, the same fit.
        model_fingerprint: the model whose scores these are.
        source: the labels file, named in errors.

    Raises:
        LabelsError: too few labels, or too few of one class.
    """
    p = np.asarray(probability, dtype=float)
    y = np.asarray(label, dtype=int)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_LABELS or min(positives, negatives) < MIN_PER_CLASS:
        raise LabelsError(
            f"{source}: {len(y)} labelled pairs ({positives} same person, {negatives} "
            f"different); a calibration needs at least {MIN_LABELS}, with {MIN_PER_CLASS} of "
            "each: label more pairs (`tether review sample` draws them)",
            path=source,
            labels=len(y),
            positives=positives,
            negatives=negatives,
        )
    candidates: tuple[Method, ...] = (method,) if method else ("logistic", "isotonic")
    held_out = {m: _out_of_fold(m, p, y, folds=folds, seed=seed) for m in candidates}
    briers = {m: _brier(v, y.astype(float)) for m, v in held_out.items()}
    chosen = min(candidates, key=lambda m: briers[m])
    before = _brier(p, y.astype(float))
    report = {
        "labels": len(y),
        "same_person": positives,
        "folds": folds,
        "method": chosen,
        "brier_before": round(before, 5),
        "brier_after": round(briers[chosen], 5),
        "brier_by_method": {m: round(b, 5) for m, b in briers.items()},
        "improves": briers[chosen] < before,
        "reliability": reliability(p, y, calibrated=held_out[chosen]),
        "reliability_after": reliability(held_out[chosen], y),
    }
    final = _fit(chosen, p, y)
    if not math.isfinite(briers[chosen]):  # pragma: no cover - defensive
        raise ModelError("the calibration fit diverged")
    return Calibration(
        method=final.method,
        x=final.x,
        y=final.y,
        coef=final.coef,
        intercept=final.intercept,
        model_fingerprint=model_fingerprint,
        report=report,
    )
