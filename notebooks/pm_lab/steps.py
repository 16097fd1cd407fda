"""The kernel's side of the lab's MLflow runs: one parent run per execution, a nested run per step.

One execution of the notebook is one parent run in the experiment, named after the model
and the time (``predictive-maintenance-xgboost 2026-12-07 16:40``), with nested runs:

* ``preprocessing``: the split (the job function logs its sizes and failure rates);
* ``baselines``, with ``majority class`` and ``logistic regression`` under it;
* ``tuning``, with one run per configuration tried (``physics features, unweighted, depth 3``);
* ``training``: the chosen configuration, its training curves, the calibration and the
  threshold; the registered model is logged here;
* ``evaluation``: the registered version scored on the test split, with bootstrap
  intervals, recall per failure mode and the figures.

Every run carries ``pm_lab.version`` and ``pm_lab.notebook`` tags, MLflow's own source tags
naming the notebook (not ``ipykernel_launcher.py``) and a description. The preprocessing,
tuning and training work runs in the notebook's job functions (in the kernel or as SageMaker
jobs), which log to the same runs (:mod:`pm_lab.jobs`); what is logged here is what only the
kernel has. The caller must have connected to MLflow first (:mod:`pm_lab.setup`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import sklearn
import xgboost
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

import pm_lab
from pm_lab import baselines, figures, registry
from pm_lab.calibration import CalibrationChoice, Calibrator, choose_calibration, out_of_fold_scores
from pm_lab.data import FEATURES, TARGET
from pm_lab.evaluation import (
    DECISION_THRESHOLD,
    bootstrap_intervals,
    choose_threshold,
    classification_metrics,
    confusion_table,
    interval_metrics,
    prefixed,
    recall_by_failure_mode,
)
from pm_lab.model import DECISION_COLUMN, PROBABILITY_COLUMN, FailureModel
from pm_lab.preprocessing import SPLIT_FRACTIONS, PreprocessingResult, Splits
from pm_lab.training import TrainingParams, fit_pipeline, train

NOTEBOOK = "private-mlflow.ipynb"
PREPROCESSING_RUN = "preprocessing"
BASELINES_RUN = "baselines"
TUNING_RUN = "tuning"
TRAINING_RUN = "training"
EVALUATION_RUN = "evaluation"
VERSION_TAG = "pm_lab.version"
NOTEBOOK_TAG = "pm_lab.notebook"
#: Model version tag holding the threshold chosen on validation (also in the model's metadata).
THRESHOLD_TAG = "decision_threshold"


def run_tags(notebook: str = NOTEBOOK) -> dict[str, str]:
    """Tags of every lab run: the lab's version and notebook, and MLflow's source as the notebook."""
    return {
        VERSION_TAG: pm_lab.__version__,
        NOTEBOOK_TAG: notebook,
        "mlflow.source.name": notebook,
        "mlflow.source.type": "NOTEBOOK",
    }


#: MLflow warnings that do not apply here: the integer columns (ids, 0/1
#: labels) never hold missing values, and a local path is a local file
#: whichever of MLflow's equivalent source classes resolves it.
_IRRELEVANT_WARNINGS = (
    "Hint: Inferred schema contains integer column",
    "Failed to determine whether UCVolumeDatasetSource",
    "The specified dataset source can be interpreted in multiple ways",
)


@contextmanager
def _without_irrelevant_warnings() -> Iterator[None]:
    """Keep the notebook output to what a user should act on."""
    with warnings.catch_warnings():
        for message in _IRRELEVANT_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield


def start_execution(
    *, experiment_name: str, model_name: str, seed: int, data_source: str, execution_mode: str, notebook: str = NOTEBOOK
) -> Any:
    """Open the execution's parent run (left open: :func:`finish` ends it in the last cell)."""
    mlflow.set_experiment(experiment_name)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    run = mlflow.start_run(
        run_name=f"{model_name} {stamp}",
        tags=run_tags(notebook),
        description=(
            f"One execution of {notebook} (pm_lab {pm_lab.__version__}): preprocessing, baselines, "
            f"tuning, training and evaluation of {model_name} on {data_source}, seed {seed}, "
            f"jobs {'as SageMaker jobs' if execution_mode == 'remote' else 'in the notebook kernel'}."
        ),
    )
    mlflow.log_params({"seed": seed, "model_name": model_name, "execution_mode": execution_mode})
    return run


@contextmanager
def child(name: str, description: str) -> Iterator[Any]:
    """A nested run of the active run, in its experiment, with the lab's tags.

    The experiment is the parent's, not the process's default: inside a SageMaker job, which
    resumed the kernel's run by id and never set an experiment, MLflow would put a nested run
    in experiment 0.
    """
    parent = mlflow.active_run()
    experiment_id = parent.info.experiment_id if parent is not None else None
    with mlflow.start_run(
        run_name=name, nested=True, tags=run_tags(), description=description, experiment_id=experiment_id
    ) as run:
        yield run


def finish(summary: dict[str, float] | None = None) -> None:
    """Log the execution's headline numbers on the parent run and end it."""
    if summary:
        mlflow.log_metrics(summary)
    mlflow.end_run()


def _log_dataset(frame: pd.DataFrame, *, source: str, name: str, context: str) -> None:
    """Record ``frame`` (schema, digest, row count, source) as an input of the active run."""
    with _without_irrelevant_warnings():
        dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets=TARGET)
        mlflow.log_input(dataset, context=context)


def dataset_source(data_path: str) -> str:
    """The data location as MLflow should record it: S3 URIs as-is, local files absolute."""
    if data_path.startswith("s3://"):
        return data_path
    return str(Path(data_path).expanduser().resolve())


def log_preprocessing_inputs(frame: pd.DataFrame, *, data_source: str, seed: int) -> None:
    """Kernel side of the ``preprocessing`` run: the raw data set as input, the split parameters."""
    train_share, validation_share, test_share = SPLIT_FRACTIONS
    _log_dataset(frame, source=data_source, name="ai4i2020", context="raw")
    mlflow.log_params(
        {
            "seed": seed,
            "rows": len(frame),
            "train_fraction": train_share,
            "validation_fraction": validation_share,
            "test_fraction": test_share,
            "stratify_on": TARGET,
            "features": ", ".join(FEATURES),
        }
    )


def split_summary(splits: Splits) -> dict[str, float]:
    """Rows and failure rate of each split, as MLflow metrics (``train_rows``, ``test_failure_rate`` ...)."""
    summary = {f"{name}_rows": float(rows) for name, rows in splits.sizes().items()}
    summary.update({f"{name}_failure_rate": rate for name, rate in splits.failure_rates().items()})
    return summary


def log_splits(splits: Splits, *, data_source: str, contexts: tuple[str, ...]) -> None:
    """The named splits as inputs of the active run (``training``, ``validation``, ``test``)."""
    names = {"training": "train", "validation": "validation", "test": "test"}
    for context in contexts:
        _log_dataset(
            splits.frame(names[context]), source=data_source, name=f"ai4i2020-{names[context]}", context=context
        )


# --- baselines -----------------------------------------------------------------------------


def run_baselines(prepared: PreprocessingResult, *, seed: int, recall_target: float) -> pd.DataFrame:
    """The ``baselines`` run and one nested run per baseline; returns their numbers as a table.

    Each baseline gets the treatment the model gets: threshold for ``recall_target`` chosen
    on validation, metrics on validation and test.
    """
    splits = prepared.splits
    rows = {}
    with child(BASELINES_RUN, "What the model must beat, scored like the model."):
        for name in baselines.BASELINES:
            with child(name, f"Baseline: {name} on the raw features."):
                model = baselines.fit_baseline(name, prepared, seed)
                validation_probability = model.predict_proba(splits.x_validation)[:, 1]
                threshold = choose_threshold(splits.y_validation, validation_probability, recall_target)
                validation = classification_metrics(splits.y_validation, validation_probability, threshold)
                test = classification_metrics(splits.y_test, model.predict_proba(splits.x_test)[:, 1], threshold)
                test["accuracy_at_0_5"] = classification_metrics(
                    splits.y_test, model.predict_proba(splits.x_test)[:, 1], DECISION_THRESHOLD
                )["accuracy"]
                mlflow.log_params({"model": name, "decision_threshold": threshold, "recall_target": recall_target})
                mlflow.log_metrics({**prefixed(validation, "validation"), **prefixed(test, "test")})
                rows[name] = {
                    "validation PR AUC": validation["pr_auc"],
                    "test PR AUC": test["pr_auc"],
                    "test recall": test["recall"],
                    "test precision": test["precision"],
                    "test accuracy at 0.5": test["accuracy_at_0_5"],
                    "test Brier": test["brier"],
                }
    return pd.DataFrame(rows).T


# --- tuning --------------------------------------------------------------------------------


def validation_scores(model: Any, splits: Splits) -> dict[str, float]:
    """Threshold-free validation metrics of a candidate (PR AUC selects, the rest informs)."""
    metrics = classification_metrics(splits.y_validation, model.predict_proba(splits.x_validation)[:, 1])
    return {name: metrics[name] for name in ("pr_auc", "roc_auc", "brier", "log_loss", "mean_probability")}


@dataclass(frozen=True)
class Trial:
    """One configuration of the tuning step and its validation numbers."""

    params: TrainingParams
    validation: dict[str, float]
    run_id: str = ""


def train_trial(prepared: PreprocessingResult, params: TrainingParams, seed: int) -> Trial:
    """Train one candidate in a nested run of the active run, log its validation numbers."""
    with child(params.label(), "A tuning candidate, trained on the training split, scored on validation.") as run:
        model = train(prepared, params, seed)
        scores = validation_scores(model, prepared.splits)
        mlflow.log_params(params.as_dict())
        mlflow.log_metrics(prefixed(scores, "validation"))
    return Trial(params, scores, run.info.run_id)


def best_trial(trials: list[Trial]) -> Trial:
    """Highest validation PR AUC; on a tie the lower Brier score, then the earlier trial."""
    return max(reversed(trials), key=lambda trial: (round(trial.validation["pr_auc"], 6), -trial.validation["brier"]))


def tuning_table(trials: list[Trial]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            trial.params.label(): {
                "validation PR AUC": trial.validation["pr_auc"],
                "validation ROC AUC": trial.validation["roc_auc"],
                "validation Brier": trial.validation["brier"],
                "mean probability": trial.validation["mean_probability"],
            }
            for trial in trials
        }
    ).T
    return table.sort_values("validation PR AUC", ascending=False)


def log_tuning_choice(trials: list[Trial]) -> TrainingParams:
    """On the ``tuning`` run: the chosen configuration and what the comparison found."""
    best = best_trial(trials)
    mlflow.log_params(
        {
            f"chosen_{name}": value
            for name, value in best.params.as_dict().items()
            if name in ("features", "class_weight", "max_depth")
        }
    )
    mlflow.log_metrics({"candidates": float(len(trials)), **prefixed(best.validation, "best_validation")})
    by_features = {
        fs: max(t.validation["pr_auc"] for t in trials if t.params.features == fs)
        for fs in {t.params.features for t in trials}
    }
    mlflow.log_metrics({f"best_validation_pr_auc_{fs}_features": value for fs, value in by_features.items()})
    mlflow.set_tag("pm_lab.chosen_trial_run_id", best.run_id)
    return best.params


# --- training ------------------------------------------------------------------------------


@dataclass
class FittedModel:
    """What the training job returns: the model and what its choices were based on."""

    model: FailureModel
    calibration: CalibrationChoice
    params: TrainingParams
    validation: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)


def calibrate(
    prepared: PreprocessingResult, params: TrainingParams, seed: int, validation_score: Any
) -> CalibrationChoice:
    """Out-of-fold training scores (3 folds) -> calibration chosen by validation Brier."""
    splits = prepared.splits
    oof = out_of_fold_scores(lambda x, y: fit_pipeline(x, y, params, seed), splits.x_train, splits.y_train, seed)
    return choose_calibration(oof, splits.y_train, validation_score, splits.y_validation)


def fit_final_model(
    prepared: PreprocessingResult, params: TrainingParams, seed: int, recall_target: float
) -> FittedModel:
    """Train the chosen configuration, calibrate it, choose the threshold on validation.

    Logs nothing: the training job function logs what this returns.
    """
    from pm_lab.training import feature_importance, training_history

    splits = prepared.splits
    pipeline = train(prepared, params, seed)
    raw_validation = pipeline.predict_proba(splits.x_validation)[:, 1]
    calibration = calibrate(prepared, params, seed, raw_validation)
    uncalibrated = FailureModel(pipeline, Calibrator("none"), DECISION_THRESHOLD)
    calibrated_validation = calibration.calibrator(raw_validation)
    threshold = choose_threshold(splits.y_validation, calibrated_validation, recall_target)
    model = FailureModel(pipeline, calibration.calibrator, threshold)
    validation = classification_metrics(splits.y_validation, calibrated_validation, threshold)
    history = training_history(pipeline)
    importance = feature_importance(pipeline)
    shown = {
        "training/training_curves.png": figures.training_curves_figure(history),
        "training/feature_importance.png": figures.feature_importance_figure(importance),
        "training/reliability.png": figures.reliability_figure(
            splits.y_validation,
            {
                f"uncalibrated (Brier {calibration.validation_brier['none']:.4f})": uncalibrated.predict_proba(
                    splits.x_validation
                )[:, 1],
                f"{calibration.method} (Brier {calibration.validation_brier[calibration.method]:.4f})": calibrated_validation,
            }
            if calibration.method != "none"
            else {f"uncalibrated (Brier {calibration.validation_brier['none']:.4f})": raw_validation},
            "Validation split: reliability",
        ),
    }
    return FittedModel(model, calibration, params, validation, history, importance, shown)


def training_metrics(fitted: FittedModel) -> dict[str, float]:
    """The training run's metrics: validation at the threshold, Brier per calibration method."""
    # validation_roc_auc and validation_log_loss are the per-round history (of the uncalibrated
    # score): the calibrated model's are logged under their own names.
    metrics = prefixed(fitted.validation, "validation")
    for name in ("roc_auc", "log_loss"):
        metrics[f"validation_calibrated_{name}"] = metrics.pop(f"validation_{name}")
    metrics.update(
        {f"validation_brier_{method}": value for method, value in fitted.calibration.validation_brier.items()}
    )
    return metrics


def _model_requirements() -> list[str]:
    """Pinned pip requirements of the logged model.

    Stated rather than inferred: inference re-imports the model in a
    subprocess (slow) and would record the local CPU-only wheel's name
    (``xgboost-cpu``) where serving needs ``xgboost``.
    """
    import cloudpickle

    return [
        f"mlflow=={mlflow.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"xgboost=={xgboost.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"cloudpickle=={cloudpickle.__version__}",
    ]


@dataclass(frozen=True)
class TrainedModel:
    """Where the registered model lives in MLflow."""

    run_id: str
    model_name: str
    version: int
    decision_threshold: float
    calibration: str
    params: TrainingParams

    @property
    def registry_uri(self) -> str:
        """``models:/<name>/<version>``, loadable with ``mlflow.pyfunc.load_model``."""
        return f"models:/{self.model_name}/{self.version}"


REGISTERED_MODEL_DESCRIPTION = (
    "Predicts machine failures of the AI4I 2020 milling process from the product Type and five "
    "sensor readings. predict() returns failure_probability (calibrated) and failure_expected "
    "(1 when the probability reaches the version's decision threshold, chosen on validation for a "
    "recall target). Use models:/{name}@champion; the challenger alias names the newest version "
    "that did not beat the champion."
)


def register(fitted: FittedModel, splits: Splits, *, model_name: str) -> TrainedModel:
    """Log the fitted model as a pyfunc of the active (training) run and register a new version."""
    from pm_lab.serving import log_failure_model

    run = mlflow.active_run()
    # MLflow prints "Successfully registered model ..." and "Created version ..." to stderr:
    # the notebook prints the registered URI itself.
    with _without_irrelevant_warnings(), contextlib.redirect_stderr(io.StringIO()):
        info = log_failure_model(
            fitted.model, splits.x_train, registered_model_name=model_name, pip_requirements=_model_requirements()
        )
    version = int(info.registered_model_version)
    client = MlflowClient()
    if not (client.get_registered_model(model_name).description or "").strip():
        client.update_registered_model(model_name, description=REGISTERED_MODEL_DESCRIPTION.format(name=model_name))
    for key, value in {
        THRESHOLD_TAG: f"{fitted.model.threshold:.6f}",
        "calibration": fitted.model.calibration,
        VERSION_TAG: pm_lab.__version__,
        NOTEBOOK_TAG: NOTEBOOK,
        "configuration": fitted.params.label(),
    }.items():
        client.set_model_version_tag(model_name, str(version), key, value)
    return TrainedModel(
        run.info.run_id, model_name, version, fitted.model.threshold, fitted.model.calibration, fitted.params
    )


# --- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """What the ``evaluation`` run found on the test split."""

    run_id: str
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    failure_modes: dict[str, dict[str, float]]
    confusion: dict[str, int]
    figures: dict[str, Figure]

    def summary(self) -> pd.DataFrame:
        """The test metrics with their 95 % intervals, as the notebook shows them."""
        names = {
            "recall": "recall",
            "precision": "precision",
            "pr_auc": "PR AUC",
            "roc_auc": "ROC AUC",
            "brier": "Brier score",
        }
        return pd.DataFrame(
            {
                label: {
                    "test": self.metrics[name],
                    "95% low": self.intervals[name][0],
                    "95% high": self.intervals[name][1],
                }
                for name, label in names.items()
            }
        ).T


def predict_registered(model_uri: str, features: pd.DataFrame) -> pd.DataFrame:
    """The registered pyfunc's prediction (probability and decision) for ``features``."""
    return pd.DataFrame(mlflow.pyfunc.load_model(model_uri).predict(features[list(FEATURES)]))


def run_evaluation(trained: TrainedModel, splits: Splits, *, data_source: str, seed: int) -> Evaluation:
    """Score the *registered* version on the test split inside the ``evaluation`` run.

    Loading the model back from the registry, rather than reusing the object in memory,
    checks the artifact that others will deploy, decision rule included: the test metrics
    are computed from its ``failure_expected`` column. Logged: the metrics at the chosen
    threshold (and recall and precision at 0.5 beside them), 95 % bootstrap intervals,
    recall per failure mode, the confusion table, ROC and precision-recall curves.
    """
    with child(EVALUATION_RUN, "The registered version scored on the held-out test split.") as run:
        mlflow.log_params(
            {
                "model_uri": trained.registry_uri,
                "decision_threshold": trained.decision_threshold,
                "bootstrap_resamples": 1000,
            }
        )
        log_splits(splits, data_source=data_source, contexts=("test",))
        predicted = predict_registered(trained.registry_uri, splits.x_test)
        probability = predicted[PROBABILITY_COLUMN].to_numpy()
        decided = predicted[DECISION_COLUMN].to_numpy()
        threshold = trained.decision_threshold
        metrics = classification_metrics(splits.y_test, probability, threshold)
        at_default = classification_metrics(splits.y_test, probability, DECISION_THRESHOLD)
        metrics.update(
            {
                "precision_at_0_5": at_default["precision"],
                "recall_at_0_5": at_default["recall"],
                "decision_threshold": threshold,
                "failures": float(splits.y_test.sum()),
                "rows": float(len(splits.y_test)),
            }
        )
        if not np.array_equal(decided, (probability >= threshold).astype(int)):
            raise RuntimeError(f"{trained.registry_uri} does not apply its threshold {threshold}")
        intervals = bootstrap_intervals(splits.y_test, probability, threshold, seed=seed)
        modes = recall_by_failure_mode(splits.modes_test, decided) if splits.modes_test is not None else {}
        mlflow.log_metrics({**prefixed(metrics, "test"), **prefixed(interval_metrics(intervals), "test")})
        mlflow.log_metrics(
            {
                f"test_recall_{mode}": numbers["recall"]
                for mode, numbers in modes.items()
                if not np.isnan(numbers["recall"])
            }
        )
        mlflow.log_dict(modes, "evaluation/recall_by_failure_mode.json")
        confusion = confusion_table(splits.y_test, probability, threshold)
        mlflow.log_dict({"decision_threshold": threshold, **confusion}, "evaluation/confusion_matrix.json")
        shown = {
            "evaluation/confusion_matrix.png": figures.confusion_matrix_figure(
                confusion, threshold, "Test split: confusion matrix"
            ),
            "evaluation/roc_curve.png": figures.roc_figure(splits.y_test, probability, "Test split: ROC curve"),
            "evaluation/precision_recall_curve.png": figures.precision_recall_figure(
                splits.y_test, probability, threshold, metrics["pr_auc"], "Test split: precision-recall curve"
            ),
        }
        for artifact_file, figure in shown.items():
            mlflow.log_figure(figure, artifact_file)
    client = MlflowClient()
    version = str(trained.version)
    client.set_model_version_tag(trained.model_name, version, "pm_lab.evaluation_run_id", run.info.run_id)
    for name in ("recall", "precision", "pr_auc", "roc_auc", "brier"):
        client.set_model_version_tag(trained.model_name, version, f"test_{name}", f"{metrics[name]:.4f}")
    return Evaluation(run.info.run_id, metrics, intervals, modes, confusion, shown)


def promote(
    trained: TrainedModel, splits: Splits, evaluation: Evaluation, *, recall_target: float
) -> registry.Promotion:
    """Move ``champion`` to this version only if it beats the champion on this validation split.

    Then write the version's description: what it is, its numbers, where it went and why.
    """
    from sklearn.metrics import average_precision_score

    def validation_pr_auc(model_uri: str) -> float:
        predicted = predict_registered(model_uri, splits.x_validation)
        if PROBABILITY_COLUMN not in predicted:  # a version from before the probability output
            return float("nan")
        return float(average_precision_score(splits.y_validation, predicted[PROBABILITY_COLUMN]))

    client = MlflowClient()
    score = validation_pr_auc(trained.registry_uri)
    promotion = registry.promote(
        client,
        trained.model_name,
        trained.version,
        score,
        lambda champion: validation_pr_auc(f"models:/{trained.model_name}/{champion.version}"),
    )
    m, ci = evaluation.metrics, evaluation.intervals
    description = (
        f"XGBoost ({trained.params.label()}), calibration: {trained.calibration}. "
        f"Decision: failure_expected = failure_probability >= {trained.decision_threshold:.3f} "
        f"(chosen on validation for recall >= {recall_target:.2f}). "
        f"Validation PR AUC {score:.3f}. Test ({int(m['rows'])} rows, {int(m['failures'])} failures, 95% "
        f"bootstrap intervals): recall {m['recall']:.2f} [{ci['recall'][0]:.2f}, {ci['recall'][1]:.2f}], "
        f"precision {m['precision']:.2f} [{ci['precision'][0]:.2f}, {ci['precision'][1]:.2f}], "
        f"PR AUC {m['pr_auc']:.3f} [{ci['pr_auc'][0]:.3f}, {ci['pr_auc'][1]:.3f}], Brier {m['brier']:.4f}. "
        f"Alias: {promotion.alias} ({promotion.reason}). "
        f"Notebook {NOTEBOOK}, pm_lab {pm_lab.__version__}, training run {trained.run_id}."
    )
    client.update_model_version(trained.model_name, str(trained.version), description=description)
    client.set_model_version_tag(trained.model_name, str(trained.version), "validation_pr_auc", f"{score:.4f}")
    return promotion
