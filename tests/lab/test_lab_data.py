"""Loading and validating input data: good files load, bad ones fail with a clear message."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from pm_lab.data import FEATURES, MIN_ROWS_PER_CLASS, TARGET, load_dataset, validate_dataset
from pm_lab.errors import LabDataError

# The first rows of the UCI file ai4i2020.csv, verbatim (plus failures appended
# below so that both classes are present in numbers).
UCI_HEAD = """UDI,Product ID,Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],Torque [Nm],Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF
1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0
2,L47181,L,298.2,308.7,1408,46.3,3,0,0,0,0,0,0
3,L47182,L,298.1,308.5,1498,49.4,5,0,0,0,0,0,0
4,L47183,L,298.2,308.6,1433,39.5,7,0,0,0,0,0,0
5,L47184,L,298.2,308.7,1408,40.0,9,0,0,0,0,0,0
"""


@pytest.fixture()
def small_frame(generated_frame: pd.DataFrame) -> pd.DataFrame:
    """2,000 valid generated rows (about 70 failures), safe to modify."""
    return generated_frame.head(2000).copy()


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_uci_file_format_is_accepted_as_is(tmp_path: Path, generated_frame: pd.DataFrame) -> None:
    failures = generated_frame[generated_frame[TARGET] == 1].head(MIN_ROWS_PER_CLASS)
    healthy = generated_frame[generated_frame[TARGET] == 0].tail(MIN_ROWS_PER_CLASS)
    path = tmp_path / "ai4i2020.csv"
    path.write_text(UCI_HEAD + pd.concat([failures, healthy]).to_csv(index=False, header=False))
    frame = load_dataset(path)
    assert len(frame) == 5 + 2 * MIN_ROWS_PER_CLASS
    assert frame.loc[0, "Product ID"] == "M14860"
    assert frame.loc[0, "Rotational speed [rpm]"] == 1551
    # Dtypes stay as in the file, so the model signature matches rows read from it.
    assert frame["Rotational speed [rpm]"].dtype == "int64"
    assert frame["Tool wear [min]"].dtype == "int64"
    assert frame["Torque [Nm]"].dtype == "float64"
    assert frame[TARGET].dtype == "int64"


def test_generated_file_loads_with_every_column_kept(ai4i_csv: Path) -> None:
    frame = load_dataset(ai4i_csv)
    assert len(frame) == 10_000
    assert {"UDI", "Product ID", "TWF", *FEATURES, TARGET} <= set(frame.columns)


def test_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LabDataError, match=r"Data file not found: .*nope\.csv.*make data"):
        load_dataset(tmp_path / "nope.csv")


def test_zero_byte_file_is_reported_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(LabDataError, match="is empty"):
        load_dataset(path)


def test_header_only_file_has_no_rows(tmp_path: Path, small_frame: pd.DataFrame) -> None:
    path = write(small_frame.head(0), tmp_path / "header.csv")
    with pytest.raises(LabDataError, match="contains no rows"):
        load_dataset(path)


def test_missing_columns_are_listed(tmp_path: Path, small_frame: pd.DataFrame) -> None:
    path = write(small_frame.drop(columns=["Torque [Nm]", "Type"]), tmp_path / "cols.csv")
    with pytest.raises(LabDataError, match=r"missing required column\(s\) \['Type', 'Torque \[Nm\]'\]"):
        load_dataset(path)


def test_renamed_columns_are_rejected(small_frame: pd.DataFrame) -> None:
    renamed = small_frame.rename(columns={TARGET: "target"})
    with pytest.raises(LabDataError, match=r"missing required column\(s\) \['Machine failure'\]"):
        validate_dataset(renamed)


def test_text_in_a_sensor_column_is_named(small_frame: pd.DataFrame) -> None:
    small_frame["Torque [Nm]"] = small_frame["Torque [Nm]"].astype(object)
    small_frame.loc[small_frame.index[3], "Torque [Nm]"] = "n/a"
    with pytest.raises(LabDataError, match=r"'Torque \[Nm\]' must be numeric; found 1 non-numeric value\(s\) such as \['n/a'\]"):
        validate_dataset(small_frame)


def test_missing_values_are_counted(small_frame: pd.DataFrame) -> None:
    small_frame.loc[small_frame.index[:4], "Tool wear [min]"] = None
    with pytest.raises(LabDataError, match=r"'Tool wear \[min\]' has 4 missing value"):
        validate_dataset(small_frame)


def test_unknown_product_type_is_named(small_frame: pd.DataFrame) -> None:
    small_frame.loc[small_frame.index[0], "Type"] = "X"
    with pytest.raises(LabDataError, match=r"unexpected value\(s\) \['X'\]"):
        validate_dataset(small_frame)


def test_target_must_be_binary(small_frame: pd.DataFrame) -> None:
    small_frame.loc[small_frame.index[0], TARGET] = 2
    with pytest.raises(LabDataError, match="must hold 0 or 1; found \\['2'\\]"):
        validate_dataset(small_frame)


def test_single_class_target_is_rejected(tmp_path: Path, small_frame: pd.DataFrame) -> None:
    healthy_only = small_frame[small_frame[TARGET] == 0]
    path = write(healthy_only, tmp_path / "no-failures.csv")
    with pytest.raises(LabDataError, match=r"single class \(every row is 0\)"):
        load_dataset(path)


def test_too_few_failures_for_stratified_splits(small_frame: pd.DataFrame) -> None:
    failures = small_frame[small_frame[TARGET] == 1].head(MIN_ROWS_PER_CLASS - 1)
    frame = pd.concat([small_frame[small_frame[TARGET] == 0], failures])
    with pytest.raises(LabDataError, match=f"only {MIN_ROWS_PER_CLASS - 1} row\\(s\\) of class 1"):
        validate_dataset(frame)


def test_validation_does_not_modify_the_callers_frame(small_frame: pd.DataFrame) -> None:
    before = small_frame.copy()
    validate_dataset(small_frame)
    pd.testing.assert_frame_equal(small_frame, before)


def _s3_client() -> object:
    return boto3.client("s3", region_name="eu-west-1")


def test_s3_uri_is_read_with_boto3(aws_credentials: None, small_frame: pd.DataFrame) -> None:
    client = _s3_client()
    body = small_frame.to_csv(index=False).encode()
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentLength": len(body)},
            {"Bucket": "studio-notebooks-123", "Key": "data/ai4i2020.csv"},
        )
        frame = load_dataset("s3://studio-notebooks-123/data/ai4i2020.csv", s3_client=client)
        stubber.assert_no_pending_responses()
    assert len(frame) == 2000


def test_s3_missing_object_is_a_lab_data_error(aws_credentials: None) -> None:
    client = _s3_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_object",
            service_error_code="NoSuchKey",
            service_message="The specified key does not exist.",
            http_status_code=404,
        )
        with pytest.raises(LabDataError, match=r"Cannot read s3://bucket/data/ai4i2020.csv: NoSuchKey"):
            load_dataset("s3://bucket/data/ai4i2020.csv", s3_client=client)


def test_malformed_s3_uri(aws_credentials: None) -> None:
    with pytest.raises(LabDataError, match="Malformed S3 URI"):
        load_dataset("s3://bucket-only", s3_client=_s3_client())
