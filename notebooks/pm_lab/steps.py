"""The kernel's side of the lab's three MLflow runs: preprocessing, training and evaluation.

The notebook opens one top-level run per step in the current experiment,
named ``preprocessing``, ``training`` and ``evaluation``. All three carry the
tag ``pm_lab.lab_run_id`` with the same value, so one notebook execution can
be found as a group, and each later run records the id of the run it builds
on. The preprocessing and training work runs in the notebook's job
functions (in the kernel or as SageMaker jobs), which log their own results
to the same runs (:mod:`pm_lab.jobs`); what is logged here is what only the
kernel has: the data sets as run inputs, the parameters, the registered
model and the evaluation of the registered version. The caller must have
validated the data and called :func:`pm_lab.tracking.connect` first.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import sklearn
import xgboost
from matplotlib.figure import Figure
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from pm_lab.data import FEATURES, TARGET
from pm_lab.evaluation import (
    DECISION_THRESHOLD,
    classification_metrics,
    confusion_table,
    failure_probability,
    prefixed,
    threshold_comparison,
)
from pm_lab.figures import confusion_matrix_figure, precision_recall_figure, roc_figure
from pm_lab.preprocessing import SPLIT_FRACTIONS, Splits
from pm_lab.training import TrainingParams

PREPROCESSING_RUN = "preprocessing"
TRAINING_RUN = "training"
EVALUATION_RUN = "evaluation"
LAB_RUN_TAG = "pm_lab.lab_run_id"
MODEL_ARTIFACT_PATH = "model"
#: Model version tag holding the threshold chosen on validation.
THRESHOLD_TAG = "decision_threshold"


@dataclass(frozen=True)
class TrainedModel:
    """Where the trained Pipeline lives in MLflow."""

    run_id: str
    model_name: str
    version: int
    validation_metrics: dict[str, float]
    decision_threshold: float = DECISION_THRESHOLD

    @property
    def registry_uri(self) -> str:
        """``models:/<name>/<version>``, loadable with ``mlflow.pyfunc.load_model``."""
        return f"models:/{self.model_name}/{self.version}"


def new_lab_run_id() -> str:
    """A fresh id shared by the three runs of one notebook execution."""
    return uuid.uuid4().hex


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
    """Kernel side of the ``preprocessing`` run: the raw data set as input, the split parameters.

    The job function then logs what the split produced (rows and failure
    rate per split, the feature names) from wherever it runs.
    """
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


def log_training_inputs(
    splits: Splits, *, data_source: str, params: TrainingParams, seed: int, model_name: str
) -> None:
    """Kernel side of the ``training`` run: hyperparameters and the train/validation splits as inputs.

    A ``scale_pos_weight`` left to the default is logged by the job, which
    computes it from the training split.
    """
    hyperparameters = {name: value for name, value in params.as_dict().items() if value is not None}
    mlflow.log_params({**hyperparameters, "seed": seed, "model_name": model_name})
    _log_dataset(splits.frame("train"), source=data_source, name="ai4i2020-train", context="training")
    _log_dataset(
        splits.frame("validation"), source=data_source, name="ai4i2020-validation", context="validation"
    )


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


def log_model(pipeline: Pipeline, splits: Splits, *, model_name: str, decision_threshold: float) -> TrainedModel:
    """Log preprocessing + classifier as one MLflow model of the active run and register it.

    The model carries its signature and an input example; the registered
    version is tagged with the decision threshold chosen on validation
    (``predict`` applies 0.5: apply the threshold to ``predict_proba``).
    """
    run = mlflow.active_run()
    example = splits.x_train.head(5)
    with _without_irrelevant_warnings():
        info = mlflow.sklearn.log_model(
            sk_model=pipeline,
            artifact_path=MODEL_ARTIFACT_PATH,
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
            registered_model_name=model_name,
            pip_requirements=_model_requirements(),
        )
    version = int(info.registered_model_version)
    MlflowClient().set_model_version_tag(
        model_name, str(version), THRESHOLD_TAG, f"{decision_threshold:.6f}"
    )
    return TrainedModel(
        run_id=run.info.run_id,
        model_name=model_name,
        version=version,
        validation_metrics=dict(MlflowClient().get_run(run.info.run_id).data.metrics),
        decision_threshold=decision_threshold,
    )


@dataclass(frozen=True)
class Evaluation:
    """What the ``evaluation`` run found on the test split."""

    run_id: str
    metrics: dict[str, float]
    confusion: dict[str, int]
    figures: dict[str, Figure]


def run_evaluation(
    trained: TrainedModel, splits: Splits, *, data_source: str, lab_run_id: str
) -> Evaluation:
    """Score the *registered* model on the test split inside the ``evaluation`` run.

    Loading the model back from the registry, rather than reusing the object
    in memory, checks the artifact that others will deploy. Logged: accuracy,
    precision and recall at the chosen threshold, precision and recall at
    the 0.5 default next to them (``test_recall_at_0_5`` ...), ROC AUC and PR
    AUC, the confusion table at the chosen threshold (JSON and figure), and
    the ROC and precision-recall curves as figures. The test metrics are
    also put on the model version as tags, so the registry shows them.
    """
    threshold = trained.decision_threshold
    tags = {LAB_RUN_TAG: lab_run_id, "pm_lab.training_run_id": trained.run_id}
    with mlflow.start_run(run_name=EVALUATION_RUN, tags=tags) as run:
        mlflow.log_params({"model_uri": trained.registry_uri, "decision_threshold": threshold})
        _log_dataset(splits.frame("test"), source=data_source, name="ai4i2020-test", context="test")
        model = mlflow.sklearn.load_model(trained.registry_uri)
        probability = failure_probability(model, splits.x_test)
        metrics = classification_metrics(splits.y_test, probability, threshold)
        metrics.update(threshold_comparison(splits.y_test, probability, threshold))
        metrics["decision_threshold"] = threshold
        mlflow.log_metrics(prefixed(metrics, "test"))
        confusion = confusion_table(splits.y_test, probability, threshold)
        mlflow.log_dict({"decision_threshold": threshold, **confusion}, "evaluation/confusion_matrix.json")
        figures = {
            "evaluation/confusion_matrix.png": confusion_matrix_figure(
                confusion, threshold, "Test split: confusion matrix"
            ),
            "evaluation/roc_curve.png": roc_figure(splits.y_test, probability, "Test split: ROC curve"),
            "evaluation/precision_recall_curve.png": precision_recall_figure(
                splits.y_test, probability, threshold, metrics["pr_auc"],
                "Test split: precision-recall curve",
            ),
        }
        for artifact_file, figure in figures.items():
            mlflow.log_figure(figure, artifact_file)
    client = MlflowClient()
    client.set_model_version_tag(
        trained.model_name, str(trained.version), "pm_lab.evaluation_run_id", run.info.run_id
    )
    for name, value in prefixed(metrics, "test").items():
        client.set_model_version_tag(trained.model_name, str(trained.version), name, f"{value:.4f}")
    return Evaluation(run_id=run.info.run_id, metrics=metrics, confusion=confusion, figures=figures)
