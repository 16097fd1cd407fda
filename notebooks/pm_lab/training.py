"""Training the XGBoost classifier behind the fitted preprocessing.

:func:`train` is the heart of the lab's training job. Like
:func:`pm_lab.preprocessing.preprocess` it is free of MLflow and AWS so that
it runs unchanged in the kernel or in a SageMaker ``@remote`` job; the
notebook's job function around it does the logging.

Failures are about 3 % of the rows. ``class_weight="balanced"`` sets XGBoost's
``scale_pos_weight`` to the ratio of non-failures to failures in the training split
(XGBoost's advice for imbalanced classes), so that each failure weighs as much as the
non-failures it stands for; the price is a probability that is no longer one (the mean
prediction rises far above the failure rate). ``class_weight="none"`` trains on the rows as
they are. Which one ranks failures better, and whether calibration then repairs the
probabilities, is decided on the validation split (:func:`search_space`,
:mod:`pm_lab.calibration`), not assumed.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from pm_lab.features import DerivedFeatures, add_derived, check_feature_set
from pm_lab.preprocessing import PreprocessingResult, build_preprocessor

CLASS_WEIGHTS: tuple[str, ...] = ("balanced", "none")

#: XGBoost's evaluation metrics -> the MLflow metric names of their per-round history.
HISTORY_METRICS = {"auc": "roc_auc", "logloss": "log_loss"}
#: eval_set order in :func:`train`.
HISTORY_SPLITS = ("train", "validation")


@dataclass(frozen=True)
class TrainingParams:
    """XGBoost hyperparameters, class weighting and feature set of one model, as MLflow records them.

    ``scale_pos_weight`` None means: from ``class_weight`` (``balanced``: non-failures /
    failures of the training split, :func:`balanced_weight`; ``none``: 1). The defaults
    train in about a second on 8,000 rows.
    """

    n_estimators: int = 150
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 0.9
    n_jobs: int = 2
    scale_pos_weight: float | None = None
    class_weight: str = "balanced"
    features: str = "raw"

    def __post_init__(self) -> None:
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {list(CLASS_WEIGHTS)}, got {self.class_weight!r}")
        check_feature_set(self.features)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for ``mlflow.log_params``."""
        return asdict(self)

    def label(self) -> str:
        """A readable run name: ``raw features, balanced, depth 4``."""
        weight = "class-weighted" if self.class_weight == "balanced" else "unweighted"
        return f"{self.features} features, {weight}, depth {self.max_depth}"


#: Depths the search tries around the notebook's ``max_depth``.
SEARCH_DEPTH_OFFSETS: tuple[int, ...] = (-1, 1)


def search_space(base: TrainingParams) -> list[TrainingParams]:
    """The tuning step's handful of configurations (8): feature set x class weight x depth.

    Depths ``max_depth - 1`` and ``max_depth + 1`` bracket the notebook's setting; the number
    of rounds and the learning rate stay as set (the training curves show whether the
    rounds suffice). Kept small on purpose: with about 35 validation failures a wider search
    mostly finds noise.
    """
    depths = sorted({max(1, base.max_depth + offset) for offset in SEARCH_DEPTH_OFFSETS})
    return [
        replace(base, features=features, class_weight=weight, max_depth=depth, scale_pos_weight=None)
        for features, weight, depth in itertools.product(("raw", "physics"), CLASS_WEIGHTS, depths)
    ]


def balanced_weight(labels: Any) -> float:
    """Non-failures per failure: the ``scale_pos_weight`` that balances the two classes."""
    values = np.asarray(labels).astype(int)
    positives = int(values.sum())
    if positives == 0:
        raise ValueError("the training split holds no failure")
    return float((len(values) - positives) / positives)


def build_classifier(params: TrainingParams, seed: int, scale_pos_weight: float = 1.0) -> XGBClassifier:
    """An unfitted XGBoost binary classifier with the given hyperparameters."""
    return XGBClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        learning_rate=params.learning_rate,
        subsample=params.subsample,
        n_jobs=params.n_jobs,
        scale_pos_weight=scale_pos_weight,
        tree_method="hist",
        objective="binary:logistic",
        eval_metric=list(HISTORY_METRICS),
        random_state=seed,
    )


def train(prepared: PreprocessingResult, params: TrainingParams, seed: int) -> Pipeline:
    """Fit the classifier on the training split and return preprocessing + model as one Pipeline.

    The preprocessor arrives already fitted by the preprocessing step; only
    the classifier is fitted here, on the transformed training rows. The
    training and validation splits are XGBoost's evaluation sets, so every
    boosting round's ROC AUC and log loss on both are kept
    (:func:`training_history`). Bundling preprocessing and classifier into
    one Pipeline lets MLflow log and serve a single model that takes raw AI4I
    columns.
    """
    splits = prepared.splits
    return fit_pipeline(
        splits.x_train, splits.y_train, params, seed, evaluation=(splits.x_validation, splits.y_validation)
    )


def class_weight_of(params: TrainingParams, labels: Any) -> float:
    """The ``scale_pos_weight`` ``params`` stand for on training labels ``labels``."""
    if params.scale_pos_weight is not None:
        return float(params.scale_pos_weight)
    return balanced_weight(labels) if params.class_weight == "balanced" else 1.0


def fit_pipeline(
    x_train: Any, y_train: Any, params: TrainingParams, seed: int, evaluation: tuple[Any, Any] | None = None
) -> Pipeline:
    """Derived features, preprocessing and classifier fitted on ``x_train`` only.

    With ``evaluation`` (the validation split) every boosting round's ROC AUC and log loss
    are kept for the training curves; the validation rows never influence the fit.
    """
    derived = add_derived(x_train, params.features)
    preprocessor = build_preprocessor(params.features).fit(derived)
    classifier = build_classifier(params, seed, scale_pos_weight=class_weight_of(params, y_train))
    train_x = preprocessor.transform(derived)
    labels = np.asarray(y_train).astype(int)
    eval_set = [(train_x, labels)]
    if evaluation is not None:
        eval_set.append(
            (preprocessor.transform(add_derived(evaluation[0], params.features)), np.asarray(evaluation[1]).astype(int))
        )
    classifier.fit(train_x, labels, eval_set=eval_set, verbose=False)
    return Pipeline(
        steps=[("features", DerivedFeatures(params.features)), ("preprocess", preprocessor), ("classifier", classifier)]
    )


def classifier_of(pipeline: Pipeline) -> XGBClassifier:
    """The fitted XGBoost step of a Pipeline made by :func:`train`."""
    return pipeline.named_steps["classifier"]


def scale_pos_weight_of(pipeline: Pipeline) -> float:
    """The class weight the classifier was trained with."""
    return float(classifier_of(pipeline).get_params()["scale_pos_weight"])


def training_history(pipeline: Pipeline) -> dict[str, list[float]]:
    """Per boosting round, ROC AUC and log loss on the training and validation splits.

    Keys are MLflow metric names (``validation_roc_auc``, ``train_log_loss``
    ...); list index = round, logged as the metric's step.
    """
    results = classifier_of(pipeline).evals_result()
    history: dict[str, list[float]] = {}
    for position, split in enumerate(HISTORY_SPLITS[: len(results)]):
        for xgboost_name, name in HISTORY_METRICS.items():
            history[f"{split}_{name}"] = [float(value) for value in results[f"validation_{position}"][xgboost_name]]
    return history


def feature_importance(pipeline: Pipeline) -> dict[str, float]:
    """Each model input's share of the total gain, keyed by the preprocessed feature name."""
    names = [str(name) for name in pipeline.named_steps["preprocess"].get_feature_names_out()]
    booster = classifier_of(pipeline).get_booster()
    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    # The booster names its inputs f0, f1, ... in the order of the transformed columns.
    return {name: float(gain.get(f"f{index}", 0.0) / total) for index, name in enumerate(names)}
