"""Classification metrics for the failure classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

from pm_lab.errors import LabDataError

#: Probability above which a row is predicted as a failure.
DECISION_THRESHOLD = 0.5


def classification_metrics(y_true: Any, failure_probability: Any) -> dict[str, float]:
    """Accuracy, precision, recall and ROC AUC of failure probabilities against labels.

    Accuracy alone is misleading here (predicting "no failure" everywhere
    scores about 97 %), so precision and recall of the failure class and the
    threshold-free ROC AUC are reported with it. Precision is 0 when no row
    is predicted as a failure.
    """
    truth = np.asarray(y_true).astype(int)
    probability = np.asarray(failure_probability, dtype=float)
    if truth.shape != probability.shape:
        raise ValueError(f"{truth.shape[0]} labels but {probability.shape[0]} predictions")
    if len(np.unique(truth)) < 2:
        raise LabDataError("ROC AUC needs both classes among the labels being scored.")
    predicted = (probability >= DECISION_THRESHOLD).astype(int)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(truth, probability)),
    }


def evaluate(model: Any, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    """Score a fitted classifier (anything with ``predict_proba``) on one split."""
    return classification_metrics(labels, model.predict_proba(features)[:, 1])


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """``{"accuracy": x}`` -> ``{"<prefix>_accuracy": x}``, for MLflow metric names."""
    return {f"{prefix}_{name}": value for name, value in metrics.items()}
