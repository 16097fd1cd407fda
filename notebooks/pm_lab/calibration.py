"""Probabilities that are probabilities: calibration chosen on validation evidence.

A class-weighted XGBoost ranks failures well but its scores are not probabilities: with
``scale_pos_weight`` about 27 the mean prediction is several times the failure rate. The
lab's output is called ``failure_probability`` and maintenance planning reads it as one, so
the training step compares, on the validation split, the model's own scores with two
calibrations fitted on *out-of-fold* predictions of the training split (three folds, so
no validation or test row is used to fit them):

* ``sigmoid``: Platt scaling, a logistic regression on the score's logit (two parameters,
  robust with few failures);
* ``isotonic``: a monotone step function (flexible, needs more failures to be stable).

The one with the lowest validation Brier score wins, ``none`` included: calibration is
kept only when validation says it helps. A monotone calibration does not change the
ranking, so ROC AUC and PR AUC stay (almost) as they were; the decision threshold is
chosen afterwards on the calibrated probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

METHODS: tuple[str, ...] = ("none", "sigmoid", "isotonic")
FOLDS = 3
_EPSILON = 1e-6


def _logit(probability: Any) -> np.ndarray:
    clipped = np.clip(np.asarray(probability, dtype=float), _EPSILON, 1 - _EPSILON)
    return np.log(clipped / (1 - clipped)).reshape(-1, 1)


@dataclass
class Calibrator:
    """A fitted map from the model's score to a probability (``none``: the identity)."""

    method: str
    regressor: Any = None

    def __call__(self, score: Any) -> np.ndarray:
        score = np.asarray(score, dtype=float)
        if self.method == "none":
            return score
        if self.method == "sigmoid":
            return self.regressor.predict_proba(_logit(score))[:, 1]
        return np.clip(self.regressor.predict(score), 0.0, 1.0)


def fit_calibrator(method: str, score: Any, labels: Any) -> Calibrator:
    """Fit ``method`` on (out-of-fold) scores and their labels."""
    if method not in METHODS:
        raise ValueError(f"calibration must be one of {list(METHODS)}, got {method!r}")
    truth = np.asarray(labels).astype(int)
    if method == "none":
        return Calibrator("none")
    if method == "sigmoid":
        return Calibrator("sigmoid", LogisticRegression(C=1e6, max_iter=1000).fit(_logit(score), truth))
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    return Calibrator("isotonic", isotonic.fit(np.asarray(score, dtype=float), truth))


def out_of_fold_scores(fit: Any, x_train: Any, y_train: Any, seed: int, folds: int = FOLDS) -> np.ndarray:
    """Each training row scored by a model fitted without it (``fit(x, y)`` returns a model)."""
    labels = np.asarray(y_train).astype(int)
    scores = np.empty(len(labels))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(np.zeros(len(labels)), labels):
        model = fit(x_train.iloc[fit_rows], y_train.iloc[fit_rows])
        scores[held_out] = model.predict_proba(x_train.iloc[held_out])[:, 1]
    return scores


@dataclass(frozen=True)
class CalibrationChoice:
    """The chosen calibrator and the validation Brier score of every method."""

    calibrator: Calibrator
    validation_brier: dict[str, float]

    @property
    def method(self) -> str:
        return self.calibrator.method


def choose_calibration(oof_scores: Any, y_train: Any, validation_scores: Any, y_validation: Any) -> CalibrationChoice:
    """Fit every method on the out-of-fold training scores; keep the best on validation Brier."""
    fitted = {method: fit_calibrator(method, oof_scores, y_train) for method in METHODS}
    brier = {
        method: float(brier_score_loss(np.asarray(y_validation).astype(int), calibrator(validation_scores)))
        for method, calibrator in fitted.items()
    }
    best = min(METHODS, key=lambda method: (brier[method], METHODS.index(method)))
    return CalibrationChoice(fitted[best], brier)
