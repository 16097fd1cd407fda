"""What the model must beat: predicting the majority class, and a logistic regression.

Failures are about 3.5 % of the rows, so always answering "no failure" scores about 0.965
accuracy and catches nothing: accuracy says little here, PR AUC (whose chance level is the
failure rate) says more. A logistic regression on the scaled sensor readings is the
simplest real model; an XGBoost that does not clearly beat it is not worth its complexity.
"""

from __future__ import annotations

from typing import Any

from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from pm_lab.preprocessing import PreprocessingResult, build_preprocessor

MAJORITY_CLASS = "majority class"
LOGISTIC_REGRESSION = "logistic regression"
BASELINES: tuple[str, ...] = (MAJORITY_CLASS, LOGISTIC_REGRESSION)


def fit_baseline(name: str, prepared: PreprocessingResult, seed: int) -> Any:
    """One fitted baseline (anything with ``predict_proba`` on the raw feature columns)."""
    splits = prepared.splits
    if name == MAJORITY_CLASS:
        # strategy "prior": the training failure rate as every row's probability, 0 as decision at 0.5.
        estimator = DummyClassifier(strategy="prior")
    elif name == LOGISTIC_REGRESSION:
        estimator = LogisticRegression(max_iter=1000, random_state=seed)
    else:
        raise ValueError(f"baseline must be one of {list(BASELINES)}, got {name!r}")
    return Pipeline([("preprocess", build_preprocessor()), ("classifier", estimator)]).fit(
        splits.x_train, splits.y_train.to_numpy()
    )
