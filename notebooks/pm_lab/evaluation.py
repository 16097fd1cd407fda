"""Classification metrics, the decision threshold and the confusion table of the failure classifier.

Failures are about 3 % of the rows, so accuracy says little (predicting "no
failure" everywhere scores about 97 %). The lab reports precision and recall
of the failure class, the threshold-free ROC AUC and PR AUC (average
precision, which unlike ROC AUC is sensitive to the rare class), and picks
the probability threshold on the validation split for a stated recall
target instead of taking 0.5: a missed failure costs more than an
inspection that finds nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)

from pm_lab.errors import LabDataError

#: The usual default: probability above which a row is predicted as a failure.
DECISION_THRESHOLD = 0.5
#: Share of the validation failures the chosen threshold must catch.
DEFAULT_RECALL_TARGET = 0.85


def _labels_and_probabilities(y_true: Any, failure_probability: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true).astype(int)
    probability = np.asarray(failure_probability, dtype=float)
    if truth.shape != probability.shape:
        raise ValueError(f"{truth.shape[0]} labels but {probability.shape[0]} predictions")
    if len(np.unique(truth)) < 2:
        raise LabDataError("ROC AUC needs both classes among the labels being scored.")
    return truth, probability


def classification_metrics(
    y_true: Any, failure_probability: Any, threshold: float = DECISION_THRESHOLD
) -> dict[str, float]:
    """Accuracy, precision and recall at ``threshold``, plus the threshold-free ROC AUC and PR AUC.

    Precision is 0 when no row is predicted as a failure.
    """
    truth, probability = _labels_and_probabilities(y_true, failure_probability)
    predicted = (probability >= threshold).astype(int)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(truth, probability)),
        "pr_auc": float(average_precision_score(truth, probability)),
        "brier": float(brier_score_loss(truth, probability)),
        "log_loss": float(log_loss(truth, np.clip(probability, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "mean_probability": float(probability.mean()),
    }


def choose_threshold(y_true: Any, failure_probability: Any, recall_target: float) -> float:
    """The threshold with the best precision among those that reach ``recall_target``.

    Chosen on the validation split, never on the test split, so the test
    metrics at that threshold stay an honest estimate. Among thresholds
    catching at least ``recall_target`` of the failures the one with the
    highest precision wins (the highest such threshold on ties).
    """
    if not 0.0 < recall_target <= 1.0:
        raise ValueError(f"recall_target must be in (0, 1], got {recall_target}")
    truth, probability = _labels_and_probabilities(y_true, failure_probability)
    precision, recall, thresholds = precision_recall_curve(truth, probability)
    # precision/recall have one more entry than thresholds (the point recall 0, precision 1).
    reaching = np.flatnonzero(recall[:-1] >= recall_target)
    best = reaching[np.lexsort((thresholds[reaching], precision[:-1][reaching]))[-1]]
    return float(thresholds[best])


def threshold_comparison(y_true: Any, failure_probability: Any, threshold: float) -> dict[str, float]:
    """Precision and recall at the chosen threshold next to the 0.5 default, for one split."""
    chosen = classification_metrics(y_true, failure_probability, threshold)
    default = classification_metrics(y_true, failure_probability, DECISION_THRESHOLD)
    return {
        "precision": chosen["precision"],
        "recall": chosen["recall"],
        "precision_at_0_5": default["precision"],
        "recall_at_0_5": default["recall"],
    }


def confusion_table(y_true: Any, failure_probability: Any, threshold: float) -> dict[str, int]:
    """True/false negatives/positives at ``threshold`` (failure = positive)."""
    truth, probability = _labels_and_probabilities(y_true, failure_probability)
    predicted = (probability >= threshold).astype(int)
    (tn, fp), (fn, tp) = confusion_matrix(truth, predicted, labels=[0, 1])
    return {
        "true_negatives": int(tn),
        "false_positives": int(fp),
        "false_negatives": int(fn),
        "true_positives": int(tp),
    }


def failure_probability(model: Any, features: pd.DataFrame) -> np.ndarray:
    """The model's probability of a failure for each row."""
    return np.asarray(model.predict_proba(features)[:, 1], dtype=float)


def evaluate(
    model: Any, features: pd.DataFrame, labels: pd.Series, threshold: float = DECISION_THRESHOLD
) -> dict[str, float]:
    """Score a fitted classifier (anything with ``predict_proba``) on one split."""
    return classification_metrics(labels, failure_probability(model, features), threshold)


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """``{"accuracy": x}`` -> ``{"<prefix>_accuracy": x}``, for MLflow metric names."""
    return {f"{prefix}_{name}": value for name, value in metrics.items()}


#: Metrics with a bootstrap confidence interval in the evaluation.
BOOTSTRAP_METRICS: tuple[str, ...] = ("recall", "precision", "pr_auc", "roc_auc", "brier")
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


def bootstrap_intervals(
    y_true: Any,
    failure_probability: Any,
    threshold: float,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the test metrics: ``{"recall": (low, high), ...}``.

    The test split holds about 35 failures, so a recall of 0.89 is 31 of 35 and one failure
    more or less moves it by 0.03: the interval says how far the number can be trusted.
    Rows are resampled with replacement, stratified by class (each resample keeps the
    split's failure count, as the stratified split does).
    """
    truth, probability = _labels_and_probabilities(y_true, failure_probability)
    rng = np.random.default_rng(seed)
    positives = np.flatnonzero(truth == 1)
    negatives = np.flatnonzero(truth == 0)
    values: dict[str, list[float]] = {name: [] for name in BOOTSTRAP_METRICS}
    for _ in range(resamples):
        rows = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        sample_truth, sample_probability = truth[rows], probability[rows]
        predicted = sample_probability >= threshold
        hits = int((predicted & (sample_truth == 1)).sum())
        values["recall"].append(hits / len(positives))
        values["precision"].append(hits / max(int(predicted.sum()), 1))
        values["pr_auc"].append(float(average_precision_score(sample_truth, sample_probability)))
        values["roc_auc"].append(float(roc_auc_score(sample_truth, sample_probability)))
        values["brier"].append(float(np.mean((sample_probability - sample_truth) ** 2)))
    tail = (1.0 - confidence) / 2.0 * 100.0
    return {
        name: (float(np.percentile(samples, tail)), float(np.percentile(samples, 100.0 - tail)))
        for name, samples in values.items()
    }


def interval_metrics(intervals: dict[str, tuple[float, float]]) -> dict[str, float]:
    """``{"recall": (a, b)}`` -> ``{"recall_ci_low": a, "recall_ci_high": b}`` for MLflow."""
    flat: dict[str, float] = {}
    for name, (low, high) in intervals.items():
        flat[f"{name}_ci_low"] = low
        flat[f"{name}_ci_high"] = high
    return flat


def recall_by_failure_mode(modes: pd.DataFrame, failure_expected: Any) -> dict[str, dict[str, float]]:
    """Per failure mode (TWF, HDF, ...): how many test rows have it and the share the model flags.

    The modes differ in how predictable they are: HDF, PWF and OSF are rules on the
    sensors, TWF happens at a random tool life, RNF is random by construction (0.1 % of
    rows), so a model cannot catch it. One overall recall hides that.
    """
    flagged = np.asarray(failure_expected).astype(bool)
    result: dict[str, dict[str, float]] = {}
    for mode in modes.columns:
        rows = modes[mode].to_numpy().astype(bool)
        count = int(rows.sum())
        result[mode] = {
            "failures": float(count),
            "recall": float(flagged[rows].mean()) if count else float("nan"),
        }
    return result
