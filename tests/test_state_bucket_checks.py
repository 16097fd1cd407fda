"""The workflow's check of the state bucket (aws.bucket_exists) against a real moto server.

Found by `make mutation` (target destroy_aws): only the emulator end-to-end tests, which
`--fast` leaves out, read a real head_bucket answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from emulator_support import start_moto
from isolated_studio.ops.aws import bucket_exists
from isolated_studio.ops.errors import Refused


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_moto(tmp_path_factory.mktemp("moto-state-bucket") / "moto.log") as server:
        yield server.endpoint


@pytest.fixture()
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("s3", region_name="us-west-2", endpoint_url=endpoint)


def _bucket(s3, region: str) -> str:
    """A bucket created in ``region`` (by a client of that region, as S3 requires)."""
    name = f"studio-test-tfstate-{uuid.uuid4().hex[:8]}"
    creator = boto3.client("s3", region_name=region, endpoint_url=s3.meta.endpoint_url)
    creator.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return name


def test_a_missing_bucket_does_not_exist(s3) -> None:
    assert bucket_exists(s3, f"no-such-bucket-{uuid.uuid4().hex[:8]}", "us-west-2") is False


def test_a_bucket_in_the_runs_region_exists(s3) -> None:
    assert bucket_exists(s3, _bucket(s3, "us-west-2"), "us-west-2") is True


def test_a_bucket_in_another_region_is_refused_with_the_fix(s3) -> None:
    name = _bucket(s3, "eu-west-1")
    assert bucket_exists(s3, name) is True  # no region to compare: it exists
    with pytest.raises(Refused) as refused:
        bucket_exists(s3, name, "us-west-2")
    assert str(refused.value) == (
        f"the state bucket {name} is in eu-west-1, but this run works in us-west-2: S3 bucket names are "
        "global, so each region needs its own state bucket; put {region} in state.bucket "
        '(e.g. bucket = "<name>-tfstate-{region}") to deploy this file to several regions')
