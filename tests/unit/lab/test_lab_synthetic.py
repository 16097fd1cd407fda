"""The generated data must look like AI4I 2020 to the lab and follow its published rules."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pm_lab
from pm_lab import synthetic
from pm_lab.data import AI4I_COLUMNS, FAILURE_MODES, load_dataset

NOTEBOOKS_DIR = Path(pm_lab.__file__).resolve().parents[1]
# The header line of the UCI file ai4i2020.csv, verbatim.
UCI_HEADER = (
    "UDI,Product ID,Type,Air temperature [K],Process temperature [K],"
    "Rotational speed [rpm],Torque [Nm],Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF"
)


def test_columns_and_dtypes_match_the_uci_file(generated_frame: pd.DataFrame) -> None:
    assert ",".join(generated_frame.columns) == UCI_HEADER
    assert tuple(generated_frame.columns) == AI4I_COLUMNS
    integer_columns = ["UDI", "Rotational speed [rpm]", "Tool wear [min]", "Machine failure", *FAILURE_MODES]
    float_columns = ["Air temperature [K]", "Process temperature [K]", "Torque [Nm]"]
    for column in integer_columns:
        assert generated_frame[column].dtype == np.int64, column
    for column in float_columns:
        assert generated_frame[column].dtype == np.float64, column
    assert generated_frame["Type"].map(type).eq(str).all()
    assert generated_frame["UDI"].tolist() == list(range(1, 10_001))
    assert generated_frame["Product ID"].is_unique
    assert (generated_frame["Product ID"].str[0] == generated_frame["Type"]).all()


def test_failure_rate_and_every_mode_near_the_documented_counts(generated_frame: pd.DataFrame) -> None:
    rate = generated_frame["Machine failure"].mean()
    assert 0.02 <= rate <= 0.05
    counts = {mode: int(generated_frame[mode].sum()) for mode in FAILURE_MODES}
    # Documented: TWF 46-51, HDF 115, PWF 95, OSF 98, RNF 5-19 (of 10,000 rows).
    assert 25 <= counts["TWF"] <= 80, counts
    assert 70 <= counts["HDF"] <= 170, counts
    assert 60 <= counts["PWF"] <= 140, counts
    assert 60 <= counts["OSF"] <= 150, counts
    assert 1 <= counts["RNF"] <= 25, counts


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_other_seeds_also_give_a_usable_failure_mix(seed: int) -> None:
    frame = synthetic.generate(rows=10_000, seed=seed)
    assert 0.02 <= frame["Machine failure"].mean() <= 0.05
    assert all(frame[mode].sum() > 0 for mode in FAILURE_MODES)


def test_values_stay_in_physical_ranges(generated_frame: pd.DataFrame) -> None:
    frame = generated_frame
    assert frame["Air temperature [K]"].between(290, 310).all()
    assert frame["Air temperature [K]"].std() == pytest.approx(2.0, abs=0.05)
    difference = frame["Process temperature [K]"] - frame["Air temperature [K]"]
    assert difference.mean() == pytest.approx(10.0, abs=0.05)
    assert difference.std() == pytest.approx(1.0, abs=0.05)
    assert frame["Torque [Nm]"].min() >= 0
    assert frame["Torque [Nm]"].mean() == pytest.approx(40.0, abs=0.5)
    assert frame["Torque [Nm]"].std() == pytest.approx(10.0, abs=0.5)
    assert frame["Rotational speed [rpm]"].between(900, 3200).all()
    assert frame["Rotational speed [rpm]"].mean() == pytest.approx(1540, abs=40)
    assert frame["Tool wear [min]"].between(0, 260).all()
    shares = frame["Type"].value_counts(normalize=True)
    assert shares["L"] == pytest.approx(0.5, abs=0.02)
    assert shares["M"] == pytest.approx(0.3, abs=0.02)
    assert shares["H"] == pytest.approx(0.2, abs=0.02)


def test_labels_follow_the_documented_rules_from_the_written_values(generated_frame: pd.DataFrame) -> None:
    frame = generated_frame
    speed = frame["Rotational speed [rpm]"]
    torque = frame["Torque [Nm]"]
    hdf = ((frame["Process temperature [K]"] - frame["Air temperature [K]"]) < 8.6) & (speed < 1380)
    power = torque * speed * 2 * math.pi / 60
    pwf = (power < 3500) | (power > 9000)
    limit = frame["Type"].map({"L": 11_000, "M": 12_000, "H": 13_000})
    osf = frame["Tool wear [min]"] * torque > limit
    assert (frame["HDF"] == hdf.astype(int)).all()
    assert (frame["PWF"] == pwf.astype(int)).all()
    assert (frame["OSF"] == osf.astype(int)).all()
    assert (frame["Machine failure"] == frame[list(FAILURE_MODES)].max(axis=1)).all()
    # Tool wear failures happen at the random end of tool life, 200-240 minutes.
    assert frame.loc[frame["TWF"] == 1, "Tool wear [min]"].between(200, 245).all()


def test_tool_wear_grows_by_type_and_restarts_after_replacement(generated_frame: pd.DataFrame) -> None:
    wear = generated_frame["Tool wear [min]"].to_numpy()
    step = np.diff(wear)
    previous_type = generated_frame["Type"].to_numpy()[:-1]
    growing = step > 0
    expected = pd.Series(previous_type[growing]).map({"L": 2, "M": 3, "H": 5}).to_numpy()
    assert (step[growing] == expected).all()
    restarts = int((step < 0).sum())
    assert 100 <= restarts <= 150  # about 120 tool changes in 10,000 products


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = synthetic.generate(rows=500, seed=3)
    again = synthetic.generate(rows=500, seed=3)
    other = synthetic.generate(rows=500, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_rejects_a_non_positive_row_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        synthetic.generate(rows=0)


def test_make_data_command_writes_the_default_data_file(tmp_path: Path, generated_frame: pd.DataFrame) -> None:
    """The exact command `make data` runs from the repository root."""
    result = subprocess.run(
        [sys.executable, "-m", "pm_lab.synthetic", "--rows", "10000", "--seed", "42", "--out", "data/ai4i2020.csv"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(NOTEBOOKS_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "data" / "ai4i2020.csv"
    assert "wrote 10000 rows to data/ai4i2020.csv" in result.stdout
    assert out.read_text().splitlines()[0] == UCI_HEADER
    written = load_dataset(out)
    assert len(written) == 10_000
    pd.testing.assert_frame_equal(pd.read_csv(out), generated_frame)


def test_command_line_rejects_a_non_positive_row_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        synthetic.main(["--rows", "0", "--out", "unused.csv"])
    assert exit_.value.code == 2  # argparse's usage error
    assert "--rows must be at least 1" in capsys.readouterr().err
