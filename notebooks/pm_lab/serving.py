"""The registered model: an MLflow pyfunc whose prediction carries the decision rule.

``predict`` answers, per row, the calibrated ``failure_probability`` and
``failure_expected`` (1 when the probability reaches the decision threshold chosen on
validation), so ``mlflow models serve``, ``mlflow models predict``, a SageMaker endpoint or
a batch job built from ``models:/<name>@champion`` all apply the same rule as the notebook;
none of them can fall back to 0.5. The signature states both output columns; the threshold
and the calibration are also in the model's metadata (MLmodel) and on the model version.

The pyfunc carries the ``pm_lab`` package (``code_paths``), so it loads wherever the pinned
libraries are installed, without this repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from pm_lab.data import FEATURES
from pm_lab.model import DECISION_COLUMN, PROBABILITY_COLUMN, FailureModel

MODEL_ARTIFACT_PATH = "model"
PACKAGE_DIR = Path(__file__).resolve().parent


class FailurePyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper of a :class:`~pm_lab.model.FailureModel`."""

    def __init__(self, model: FailureModel) -> None:
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.model.predict(pd.DataFrame(model_input)[list(FEATURES)])


def signature(example: pd.DataFrame) -> ModelSignature:
    """Input: the six AI4I feature columns with the training file's types; output: probability and decision."""
    from mlflow.models import infer_signature

    inputs = infer_signature(example[list(FEATURES)]).inputs
    outputs = Schema([ColSpec("double", PROBABILITY_COLUMN), ColSpec("long", DECISION_COLUMN)])
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_failure_model(
    model: FailureModel, example: pd.DataFrame, *, registered_model_name: str, pip_requirements: list[str]
) -> Any:
    """Log ``model`` as a pyfunc of the active run and register it; returns MLflow's ModelInfo."""
    return mlflow.pyfunc.log_model(
        artifact_path=MODEL_ARTIFACT_PATH,
        python_model=FailurePyfunc(model),
        code_paths=[str(PACKAGE_DIR)],
        signature=signature(example),
        input_example=example[list(FEATURES)].head(5),
        registered_model_name=registered_model_name,
        pip_requirements=pip_requirements,
        metadata={
            "decision_threshold": float(model.threshold),
            "calibration": model.calibration,
            "output": {
                PROBABILITY_COLUMN: "calibrated probability of a machine failure",
                DECISION_COLUMN: "1 when failure_probability >= decision_threshold",
            },
        },
    )


def decisions(predictions: Any) -> np.ndarray:
    """The ``failure_expected`` column of a pyfunc prediction (frame or list of records)."""
    return np.asarray(pd.DataFrame(predictions)[DECISION_COLUMN]).astype(int)
