"""Loading and validating input data: good files load, bad ones fail with a clear message."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from emulator_support import start_moto

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
    with pytest.raises(
        LabDataError, match=r"'Torque \[Nm\]' must be numeric; found 1 non-numeric value\(s\) such as \['n/a'\]"
    ):
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


@pytest.fixture(scope="module")
def s3_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server (the project's emulator) serving S3; yields its endpoint."""
    with start_moto(tmp_path_factory.mktemp("moto-s3") / "moto.log") as server:
        yield server.endpoint


@pytest.fixture()
def s3(aws_credentials: None, s3_emulator: str) -> Any:
    client = boto3.client("s3", region_name="eu-west-1", endpoint_url=s3_emulator)
    bucket = f"studio-dev-notebooks-{uuid.uuid4().hex[:8]}"  # one per test: any order, no leftovers read
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.bucket = bucket
    return client


def test_s3_uri_round_trips_through_the_emulator(s3: Any, small_frame: pd.DataFrame) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data/ai4i2020.csv", Body=small_frame.to_csv(index=False).encode())

    frame = load_dataset(f"s3://{s3.bucket}/data/ai4i2020.csv", s3_client=s3)

    assert len(frame) == 2000
    pd.testing.assert_frame_equal(frame[list(FEATURES)], validate_dataset(small_frame)[list(FEATURES)])


def test_the_data_uri_output_is_a_prefix_and_says_which_object_to_name(s3: Any, small_frame: pd.DataFrame) -> None:
    """The workload's data_uri output is s3://<notebooks bucket>/data/: a folder, not the file."""
    s3.put_object(Bucket=s3.bucket, Key="data/ai4i2020.csv", Body=small_frame.to_csv(index=False).encode())
    prefix = f"s3://{s3.bucket}/data/"
    with pytest.raises(
        LabDataError, match=f"{prefix} is an S3 prefix .*set data_path to the object, e.g. {prefix}ai4i2020.csv"
    ):
        load_dataset(prefix, s3_client=s3)


def test_s3_missing_object_is_a_lab_data_error(s3: Any) -> None:
    uri = f"s3://{s3.bucket}/data/ai4i2020.csv"
    with pytest.raises(LabDataError, match=rf"Cannot read {uri}: NoSuchKey: .*execution role may read it"):
        load_dataset(uri, s3_client=s3)


def test_s3_missing_bucket_is_a_lab_data_error(s3: Any) -> None:
    with pytest.raises(LabDataError, match=r"Cannot read s3://no-such-bucket-here/x.csv: NoSuchBucket"):
        load_dataset("s3://no-such-bucket-here/x.csv", s3_client=s3)


def test_unreachable_s3_is_a_lab_data_error(aws_credentials: None, unreachable_tracking_uri: str) -> None:
    from botocore.config import Config

    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=unreachable_tracking_uri,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(LabDataError, match=r"Cannot read s3://bucket/data.csv: Could not connect"):
        load_dataset("s3://bucket/data.csv", s3_client=client)


def test_a_boolean_sensor_column_is_refused(small_frame: pd.DataFrame) -> None:
    small_frame["Tool wear [min]"] = small_frame["Tool wear [min]"] > 100
    with pytest.raises(LabDataError, match=r"'Tool wear \[min\]' must be numeric, found booleans"):
        validate_dataset(small_frame)


def test_malformed_s3_uri(aws_credentials: None) -> None:
    with pytest.raises(LabDataError, match="Malformed S3 URI"):
        load_dataset("s3://bucket-only", s3_client=boto3.client("s3", region_name="eu-west-1"))


# ---------------------------------------------------------------- found by `make mutation`


def test_a_garbled_file_is_named_as_not_a_readable_csv(tmp_path: Path) -> None:
    path = tmp_path / "garbled.csv"
    path.write_bytes(b"\xff\xfe\x00\x01not,csv\n\x80\x81")
    with pytest.raises(LabDataError, match=rf"^Data file {path} is not a readable CSV file: "):
        load_dataset(path)


def test_messages_name_the_source_they_came_from(small_frame: pd.DataFrame) -> None:
    with pytest.raises(LabDataError, match=r"^data contains no rows"):
        validate_dataset(small_frame.head(0))
    text = small_frame.astype({"Torque [Nm]": object})
    text.loc[text.index[0], "Torque [Nm]"] = "n/a"
    with pytest.raises(LabDataError, match=r"^train\.csv: column 'Torque \[Nm\]'"):
        validate_dataset(text, source="train.csv")
    bad_target = small_frame.copy()
    bad_target.loc[bad_target.index[0], TARGET] = 7
    with pytest.raises(LabDataError, match=r"^train\.csv: column 'Machine failure' must hold 0 or 1"):
        validate_dataset(bad_target, source="train.csv")
    with pytest.raises(LabDataError, match=r"^train\.csv: column 'Machine failure' has a single class"):
        validate_dataset(small_frame[small_frame[TARGET] == 0], source="train.csv")


def test_class_messages_say_why_both_classes_are_needed(small_frame: pd.DataFrame) -> None:
    with pytest.raises(LabDataError) as single:
        validate_dataset(small_frame[small_frame[TARGET] == 0])
    assert str(single.value).endswith("the classifier needs both failures (1) and non-failures (0).")
    few = pd.concat([small_frame[small_frame[TARGET] == 0], small_frame[small_frame[TARGET] == 1].head(2)])
    with pytest.raises(LabDataError) as too_few:
        validate_dataset(few)
    assert str(too_few.value).endswith("the validation and test splits each contain both classes.")


def test_product_types_are_stripped_of_spaces(small_frame: pd.DataFrame) -> None:
    small_frame["Type"] = " " + small_frame["Type"].astype(str) + " "
    typed = validate_dataset(small_frame)
    assert set(typed["Type"]) <= {"L", "M", "H"}


def test_at_most_three_bad_values_are_shown(small_frame: pd.DataFrame) -> None:
    frame = small_frame.astype({"Torque [Nm]": object, TARGET: object})
    for i, value in enumerate(["a", "b", "c", "d"]):
        frame.loc[frame.index[i], "Torque [Nm]"] = value
    with pytest.raises(LabDataError, match=r"found 4 non-numeric value\(s\) such as \['a', 'b', 'c'\]\.$"):
        validate_dataset(frame)
    frame = small_frame.astype({TARGET: object})
    for i, value in enumerate(["yes", "no", "2", "-1"]):
        frame.loc[frame.index[i], TARGET] = value
    with pytest.raises(LabDataError, match=r"must hold 0 or 1; found \['yes', 'no', '2'\]\.$"):
        validate_dataset(frame)
