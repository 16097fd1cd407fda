"""Splitting the data and fitting the feature preprocessing.

:func:`preprocess` is the lab's preprocessing job: it is a plain function of
its arguments (no MLflow, no AWS) so that it runs the same in the notebook
kernel and as a SageMaker ``@remote`` job, where its arguments and return
value travel pickled through S3.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pm_lab.data import CATEGORICAL_FEATURES, FAILURE_MODES, FEATURES, NUMERIC_FEATURES, PRODUCT_TYPES, TARGET
from pm_lab.features import FEATURE_SETS, check_feature_set

#: Shares of the rows in the train, validation and test splits.
SPLIT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Splits:
    """Model inputs (the six feature columns) and target of each split."""

    x_train: pd.DataFrame
    x_validation: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_validation: pd.Series
    y_test: pd.Series
    #: The failure-mode columns (TWF, HDF, ...) of the test rows, when the data has them:
    #: the evaluation reports recall per failure mode. Never a model input.
    modes_test: pd.DataFrame | None = None

    def sizes(self) -> dict[str, int]:
        """Row counts per split, for logging."""
        return {
            "train": len(self.x_train),
            "validation": len(self.x_validation),
            "test": len(self.x_test),
        }

    def failure_rates(self) -> dict[str, float]:
        """Share of failures per split; equal up to rounding when stratified."""
        return {
            "train": float(self.y_train.mean()),
            "validation": float(self.y_validation.mean()),
            "test": float(self.y_test.mean()),
        }

    def frame(self, split: str) -> pd.DataFrame:
        """Features and target of one split as one frame (for ``mlflow.log_input``)."""
        x, y = {
            "train": (self.x_train, self.y_train),
            "validation": (self.x_validation, self.y_validation),
            "test": (self.x_test, self.y_test),
        }[split]
        return x.assign(**{TARGET: y})


@dataclass(frozen=True)
class PreprocessingResult:
    """What the preprocessing job hands to training: the splits and the fitted transformer."""

    splits: Splits
    preprocessor: ColumnTransformer

    def feature_names(self) -> list[str]:
        """Names of the columns the model sees after scaling and one-hot encoding."""
        return [str(name) for name in self.preprocessor.get_feature_names_out()]


def split_dataset(frame: pd.DataFrame, seed: int) -> Splits:
    """Split a validated frame 80/10/10, stratified on the target, reproducibly by seed.

    Stratifying keeps the rare failures (about 3 %) at the same rate in every
    split, so validation and test metrics are comparable.
    """
    features = frame[list(FEATURES)]
    target = frame[TARGET]
    train_share, validation_share, test_share = SPLIT_FRACTIONS
    x_train, x_rest, y_train, y_rest = train_test_split(
        features,
        target,
        train_size=train_share,
        stratify=target,
        random_state=seed,
    )
    x_validation, x_test, y_validation, y_test = train_test_split(
        x_rest,
        y_rest,
        test_size=test_share / (validation_share + test_share),
        stratify=y_rest,
        random_state=seed,
    )
    modes = [mode for mode in FAILURE_MODES if mode in frame.columns]
    modes_test = frame.loc[x_test.index, modes].astype("int64") if modes else None
    return Splits(x_train, x_validation, x_test, y_train, y_validation, y_test, modes_test)


def build_preprocessor(feature_set: str = "raw") -> ColumnTransformer:
    """Scale the sensor readings (and derived features) and one-hot encode the product type.

    The type categories are fixed to L/M/H so the output always has the same
    columns, whatever types a split happens to contain; an unknown type at
    prediction time encodes as all zeros instead of failing.
    """
    numeric = [*NUMERIC_FEATURES, *FEATURE_SETS[check_feature_set(feature_set)]]
    return ColumnTransformer(
        transformers=[
            ("numeric", StandardScaler(), numeric),
            (
                "type",
                OneHotEncoder(categories=[list(PRODUCT_TYPES)], handle_unknown="ignore"),
                list(CATEGORICAL_FEATURES),
            ),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )


def preprocess(frame: pd.DataFrame, seed: int) -> PreprocessingResult:
    """Split the data and fit the preprocessor on the training split only.

    Fitting on training rows alone keeps validation and test statistics out
    of the scaler, so their metrics stay honest.
    """
    splits = split_dataset(frame, seed)
    preprocessor = build_preprocessor().fit(splits.x_train)
    return PreprocessingResult(splits=splits, preprocessor=preprocessor)
