"""The figures the lab logs to MLflow (``mlflow.log_figure``) and shows in the notebook.

Built as ``matplotlib.figure.Figure`` objects, without pyplot's global state,
so they work the same in a notebook kernel and in a headless SageMaker job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc, precision_recall_curve, roc_curve

#: Inline figures are shown at this resolution (legible in a notebook, small as PNG artifacts).
DPI = 110


def confusion_matrix_figure(table: dict[str, int], threshold: float, title: str) -> Figure:
    """The 2 x 2 confusion table at ``threshold`` (rows: truth, columns: prediction)."""
    cells = np.array(
        [
            [table["true_negatives"], table["false_positives"]],
            [table["false_negatives"], table["true_positives"]],
        ]
    )
    figure = Figure(figsize=(4.6, 4.0), dpi=DPI)
    axes = figure.add_subplot()
    axes.imshow(cells, cmap="Blues")
    for (row, column), count in np.ndenumerate(cells):
        shade = "white" if count > cells.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=shade, fontsize=13)
    axes.set_xticks([0, 1], labels=["no failure", "failure"])
    axes.set_yticks([0, 1], labels=["no failure", "failure"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    axes.set_title(f"{title}\nthreshold {threshold:.3f}")
    figure.tight_layout()
    return figure


def roc_figure(y_true: Any, probability: Any, title: str) -> Figure:
    """ROC curve with its area."""
    false_positive_rate, true_positive_rate, _ = roc_curve(y_true, probability)
    figure = Figure(figsize=(5.0, 4.4), dpi=DPI)
    axes = figure.add_subplot()
    axes.plot(
        false_positive_rate, true_positive_rate, label=f"ROC AUC {auc(false_positive_rate, true_positive_rate):.3f}"
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate (recall)")
    axes.set_title(title)
    axes.legend(loc="lower right")
    figure.tight_layout()
    return figure


def precision_recall_figure(y_true: Any, probability: Any, threshold: float, pr_auc: float, title: str) -> Figure:
    """Precision-recall curve, the failure rate as chance level, and the chosen operating point."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    truth = np.asarray(y_true).astype(int)
    figure = Figure(figsize=(5.0, 4.4), dpi=DPI)
    axes = figure.add_subplot()
    axes.plot(recall, precision, label=f"PR AUC {pr_auc:.3f}")
    axes.axhline(truth.mean(), linestyle="--", color="grey", label="chance (failure rate)")
    predicted = np.asarray(probability) >= threshold
    hit = int((predicted & (truth == 1)).sum())
    point_recall = hit / max(int(truth.sum()), 1)
    point_precision = hit / max(int(predicted.sum()), 1)
    axes.scatter([point_recall], [point_precision], color="red", zorder=3, label=f"threshold {threshold:.3f}")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_title(title)
    axes.legend(loc="lower left")
    figure.tight_layout()
    return figure


def feature_importance_figure(importance: dict[str, float]) -> Figure:
    """Horizontal bars of the model's feature importance (gain), largest on top."""
    names = sorted(importance, key=importance.get)
    figure = Figure(figsize=(6.4, 3.8), dpi=DPI)
    axes = figure.add_subplot()
    axes.barh(names, [importance[name] for name in names])
    axes.set_xlabel("importance (share of total gain)")
    axes.set_title("XGBoost feature importance")
    figure.tight_layout()
    return figure


def training_curves_figure(history: dict[str, list[float]]) -> Figure:
    """Log loss and ROC AUC per boosting round on the training and validation splits."""
    figure = Figure(figsize=(9.0, 3.6), dpi=DPI)
    for position, (metric, label) in enumerate((("log_loss", "log loss"), ("roc_auc", "ROC AUC")), start=1):
        axes = figure.add_subplot(1, 2, position)
        for split in ("train", "validation"):
            values = history.get(f"{split}_{metric}", [])
            axes.plot(range(1, len(values) + 1), values, label=split)
        axes.set_xlabel("boosting round")
        axes.set_ylabel(label)
        axes.set_title(f"Training curve: {label}")
        axes.legend()
    figure.tight_layout()
    return figure


def reliability_figure(y_true: Any, probabilities: dict[str, Any], title: str) -> Figure:
    """Observed failure rate against mean predicted probability, per decile of the prediction.

    A probability that is one lies on the diagonal. Deciles (quantile bins) keep enough
    rows in each point when most predictions are near zero.
    """
    figure = Figure(figsize=(5.0, 4.4), dpi=DPI)
    axes = figure.add_subplot()
    top = 0.0
    for label, probability in probabilities.items():
        observed, predicted = calibration_curve(y_true, probability, n_bins=10, strategy="quantile")
        axes.plot(predicted, observed, marker="o", label=label)
        top = max(top, float(np.max(predicted)), float(np.max(observed)))
    top = min(1.0, top * 1.05 or 1.0)
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfectly calibrated")
    axes.set_xlabel("mean predicted failure probability")
    axes.set_ylabel("observed failure rate")
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    return figure
