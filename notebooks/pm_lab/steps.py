"""The lab's three MLflow runs: preprocessing, training and evaluation.

Each step opens one top-level run in the current experiment, named
``preprocessing``, ``training`` and ``evaluation``. All three carry the tag
``pm_lab.lab_run_id`` with the same value, so one notebook execution can be
found as a group, and each later run records the id of the run it builds
on. The heavy work (preprocessing and training) is handed to a *runner*
from :mod:`pm_lab.execution`, so it runs in the kernel or as a SageMaker job
while the logging always happens here, in the kernel that holds the MLflow
connection. The caller must have validated the data and called
:func:`pm_lab.tracking.connect` first.
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
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from pm_lab.data import FEATURES, TARGET
from pm_lab.evaluation import DECISION_THRESHOLD, evaluate, prefixed
from pm_lab.execution import Runner
from pm_lab.preprocessing import SPLIT_FRACTIONS, PreprocessingResult, Splits, preprocess
from pm_lab.training import TrainingParams, train

PREPROCESSING_RUN = "preprocessing"
TRAINING_RUN = "training"
EVALUATION_RUN = "evaluation"
LAB_RUN_TAG = "pm_lab.lab_run_id"
MODEL_ARTIFACT_PATH = "model"


@dataclass(frozen=True)
class TrainedModel:
    """Where the trained Pipeline lives in MLflow."""

    run_id: str
    model_name: str
    version: int
    validation_metrics: dict[str, float]

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


def run_preprocessing(
    frame: pd.DataFrame, *, data_source: str, seed: int, runner: Runner, lab_run_id: str
) -> tuple[PreprocessingResult, str]:
    """Split the data and fit the preprocessor inside the ``preprocessing`` run.

    Logs the raw data set as the run's input, the split parameters, the rows
    and failure rate of each split, and the feature names before and after
    preprocessing. Returns the preprocessing result and the run id.
    """
    train_share, validation_share, test_share = SPLIT_FRACTIONS
    with mlflow.start_run(run_name=PREPROCESSING_RUN, tags={LAB_RUN_TAG: lab_run_id}) as run:
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
        result = runner(preprocess)(frame, seed)
        splits = result.splits
        mlflow.log_metrics({f"{name}_rows": float(rows) for name, rows in splits.sizes().items()})
        mlflow.log_metrics(
            {f"{name}_failure_rate": rate for name, rate in splits.failure_rates().items()}
        )
        mlflow.log_dict(
            {"inputs": list(FEATURES), "outputs": result.feature_names()},
            "preprocessing/features.json",
        )
    return result, run.info.run_id


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


def run_training(
    prepared: PreprocessingResult,
    *,
    params: TrainingParams,
    seed: int,
    model_name: str,
    data_source: str,
    runner: Runner,
    lab_run_id: str,
    preprocessing_run_id: str,
) -> TrainedModel:
    """Train inside the ``training`` run and register preprocessing + model as one MLflow model.

    Logs the hyperparameters, the train and validation splits as inputs, the
    validation metrics, and the sklearn Pipeline with its signature and an
    input example, registered under ``model_name``.
    """
    splits = prepared.splits
    tags = {LAB_RUN_TAG: lab_run_id, "pm_lab.preprocessing_run_id": preprocessing_run_id}
    with mlflow.start_run(run_name=TRAINING_RUN, tags=tags) as run:
        mlflow.log_params({**params.as_dict(), "seed": seed, "model_name": model_name})
        _log_dataset(
            splits.frame("train"), source=data_source, name="ai4i2020-train", context="training"
        )
        _log_dataset(
            splits.frame("validation"),
            source=data_source,
            name="ai4i2020-validation",
            context="validation",
        )
        pipeline = runner(train)(prepared, params, seed)
        validation = evaluate(pipeline, splits.x_validation, splits.y_validation)
        mlflow.log_metrics(prefixed(validation, "validation"))
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
    return TrainedModel(
        run_id=run.info.run_id,
        model_name=model_name,
        version=int(info.registered_model_version),
        validation_metrics=validation,
    )


def run_evaluation(
    trained: TrainedModel, splits: Splits, *, data_source: str, lab_run_id: str
) -> dict[str, float]:
    """Score the *registered* model on the test split inside the ``evaluation`` run.

    Loading the model back from the registry, rather than reusing the object
    in memory, checks the artifact that others will deploy. The test metrics
    are also put on the model version as tags, so the registry shows them.
    """
    tags = {LAB_RUN_TAG: lab_run_id, "pm_lab.training_run_id": trained.run_id}
    with mlflow.start_run(run_name=EVALUATION_RUN, tags=tags) as run:
        mlflow.log_params(
            {"model_uri": trained.registry_uri, "decision_threshold": DECISION_THRESHOLD}
        )
        _log_dataset(splits.frame("test"), source=data_source, name="ai4i2020-test", context="test")
        model = mlflow.sklearn.load_model(trained.registry_uri)
        metrics = evaluate(model, splits.x_test, splits.y_test)
        mlflow.log_metrics(prefixed(metrics, "test"))
    client = MlflowClient()
    client.set_model_version_tag(
        trained.model_name, str(trained.version), "pm_lab.evaluation_run_id", run.info.run_id
    )
    for name, value in prefixed(metrics, "test").items():
        client.set_model_version_tag(trained.model_name, str(trained.version), name, f"{value:.4f}")
    return metrics
