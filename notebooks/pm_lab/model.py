"""The trained model as one object: pipeline, calibration and decision threshold.

:class:`FailureModel` is what the training job returns and what the registry serves
(wrapped by :class:`pm_lab.serving.FailurePyfunc`): the failure probability is the
calibrated output of the fitted Pipeline, and the decision is that probability at the
threshold chosen on validation. Free of MLflow so that it travels pickled between a
SageMaker job and the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from pm_lab.calibration import Calibrator
from pm_lab.data import FEATURES

PROBABILITY_COLUMN = "failure_probability"
DECISION_COLUMN = "failure_expected"


@dataclass
class FailureModel:
    """Fitted Pipeline + calibrator + decision threshold."""

    pipeline: Pipeline
    calibrator: Calibrator
    threshold: float

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """The uncalibrated score of the Pipeline (for the reliability plot's comparison)."""
        return np.asarray(self.pipeline.predict_proba(features[list(FEATURES)])[:, 1], dtype=float)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """sklearn-style two columns: no failure, failure (calibrated)."""
        probability = self.calibrator(self.score(features))
        return np.column_stack([1.0 - probability, probability])

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per row the failure probability and the decision at the threshold (1 = failure expected)."""
        probability = self.predict_proba(features)[:, 1]
        return pd.DataFrame(
            {
                PROBABILITY_COLUMN: probability,
                DECISION_COLUMN: (probability >= self.threshold).astype("int64"),
            },
            index=features.index,
        )

    def with_threshold(self, threshold: float) -> FailureModel:
        return FailureModel(self.pipeline, self.calibrator, float(threshold))

    @property
    def calibration(self) -> str:
        return self.calibrator.method

    def describe(self) -> dict[str, Any]:
        return {"decision_threshold": self.threshold, "calibration": self.calibration}
