"""Features that follow the physics of the AI4I 2020 data set, next to the raw sensor readings.

The data set's failure modes are rules on quantities derived from the sensors (its UCI page):
heat dissipation fails when the process-air temperature difference is small at low speed,
power failure when torque x angular speed leaves a band, overstrain when tool wear x torque
passes a limit. A tree ensemble can approximate those products and differences from the
raw columns, but only with many splits; given directly they may help. Whether they do is
decided on the validation split (the tuning step tries both sets), never assumed.

:class:`DerivedFeatures` is the first step of the model's Pipeline, so the registered model
still takes the six raw AI4I columns.
"""

from __future__ import annotations

import math

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

POWER = "Power [W]"
TEMPERATURE_DIFFERENCE = "Temperature difference [K]"
STRAIN = "Strain [min Nm]"
#: Derived column -> how it is computed from the raw AI4I columns.
DERIVED: dict[str, str] = {
    POWER: "Torque [Nm] x Rotational speed [rpm] x 2 pi / 60",
    TEMPERATURE_DIFFERENCE: "Process temperature [K] - Air temperature [K]",
    STRAIN: "Tool wear [min] x Torque [Nm]",
}
#: Feature set name -> derived columns added to the raw ones.
FEATURE_SETS: dict[str, tuple[str, ...]] = {"raw": (), "physics": tuple(DERIVED)}


def check_feature_set(name: str) -> str:
    if name not in FEATURE_SETS:
        raise ValueError(f"feature set must be one of {list(FEATURE_SETS)}, got {name!r}")
    return name


def add_derived(frame: pd.DataFrame, feature_set: str) -> pd.DataFrame:
    """``frame`` with the derived columns of ``feature_set`` appended (a copy)."""
    columns = FEATURE_SETS[check_feature_set(feature_set)]
    if not columns:
        return frame
    derived = {
        POWER: frame["Torque [Nm]"] * frame["Rotational speed [rpm]"] * 2.0 * math.pi / 60.0,
        TEMPERATURE_DIFFERENCE: frame["Process temperature [K]"] - frame["Air temperature [K]"],
        STRAIN: frame["Tool wear [min]"] * frame["Torque [Nm]"],
    }
    return frame.assign(**{name: derived[name].astype(float) for name in columns})


class DerivedFeatures(BaseEstimator, TransformerMixin):
    """Pipeline step appending the derived columns of ``feature_set`` (stateless)."""

    def __init__(self, feature_set: str = "raw") -> None:
        self.feature_set = feature_set

    def fit(self, frame: pd.DataFrame, y: object = None) -> DerivedFeatures:
        check_feature_set(self.feature_set)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return add_derived(frame, self.feature_set)
