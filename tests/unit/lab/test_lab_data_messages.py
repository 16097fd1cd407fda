"""What the lab says when its data cannot be read: the exact message a data scientist acts on.

The S3 path and every message of pm_lab.data, whole rather than by fragments. S3 is the
project's emulator, a real moto server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from emulator_support import start_moto

from pm_lab.data import load_dataset
from pm_lab.errors import LabDataError

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_moto(tmp_path_factory.mktemp("moto-s3-messages") / "moto.log") as server:
        yield server.endpoint


@pytest.fixture()
def bucket(aws_credentials: None, s3_endpoint: str) -> tuple[Any, str]:
    client = boto3.client("s3", region_name=REGION, endpoint_url=s3_endpoint)
    name = f"studio-dev-notebooks-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client, name


@pytest.fixture()
def small_frame(generated_frame: pd.DataFrame) -> pd.DataFrame:
    return generated_frame.head(2000).copy()


def test_a_missing_local_file_says_how_to_get_one(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(LabDataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"Data file not found: {path} (resolved to {path.resolve()}). Generate one with `make data`, or set "
        "data_path to the AI4I 2020 CSV (in Studio: s3://<notebooks bucket>/data/ai4i2020.csv)."
    )


def test_a_missing_s3_object_names_s3s_answer_and_what_to_check(bucket: tuple[Any, str]) -> None:
    client, name = bucket
    uri = f"s3://{name}/data/ai4i2020.csv"
    with pytest.raises(LabDataError) as error:
        load_dataset(uri, s3_client=client)
    assert str(error.value) == (
        f"Cannot read {uri}: NoSuchKey: The specified key does not exist.. Check that the file was uploaded "
        "to the notebooks bucket and that the execution role may read it."
    )


def test_without_a_client_the_ambient_aws_configuration_reads_the_object(
    bucket: tuple[Any, str], s3_endpoint: str, small_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Studio nobody passes a client: boto3's default one (here pointed at moto) is used."""
    client, name = bucket
    client.put_object(Bucket=name, Key="data/ai4i2020.csv", Body=small_frame.to_csv(index=False).encode())
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)

    frame = load_dataset(f"s3://{name}/data/ai4i2020.csv")

    assert len(frame) == len(small_frame)


def test_the_object_key_is_read_exactly_as_named(bucket: tuple[Any, str], small_frame: pd.DataFrame) -> None:
    client, name = bucket
    client.put_object(Bucket=name, Key="X-ai4i2020.csv", Body=small_frame.to_csv(index=False).encode())
    assert len(load_dataset(f"s3://{name}/X-ai4i2020.csv", s3_client=client)) == len(small_frame)


def test_problems_in_an_s3_file_name_its_uri(bucket: tuple[Any, str], small_frame: pd.DataFrame) -> None:
    client, name = bucket
    client.put_object(Bucket=name, Key="empty.csv", Body=b"")
    client.put_object(
        Bucket=name, Key="short.csv", Body=small_frame.drop(columns=["Torque [Nm]"]).to_csv(index=False).encode()
    )

    with pytest.raises(LabDataError) as empty:
        load_dataset(f"s3://{name}/empty.csv", s3_client=client)
    with pytest.raises(LabDataError) as short:
        load_dataset(f"s3://{name}/short.csv", s3_client=client)

    assert str(empty.value) == f"Data file s3://{name}/empty.csv is empty: no header and no rows."
    assert str(short.value).startswith(f"s3://{name}/short.csv is missing required column(s) ['Torque [Nm]'].")
