"""The workflow's S3 calls on the state bucket against a real moto server: the check that it
exists (aws.bucket_exists) and the emptying before the state stack's destroy.

Here in the fast tier (`--fast`, what `make mutation` runs for destroy_aws and workflow_destroy):
elsewhere only the emulator end-to-end tests read real S3 answers. The server, not moto's
in-process mock, because only over HTTP are HEAD answers bodiless as AWS's are: botocore
then reads the error code from the HTTP status ("403", "404"), not from a body.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from emulator_support import start_moto
from test_workflow import NETWORK_CHANGES, FakeTerraform, World, _run_cli, make_workflow

from isolated_studio.config import CONFIG_DIR, StudioConfig, load_config
from isolated_studio.ops import workflow as wf
from isolated_studio.ops.aws import bucket_exists
from isolated_studio.ops.errors import Refused, WorkflowError


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
        '(e.g. bucket = "<name>-tfstate-{region}") to deploy this file to several regions'
    )


# --------------------------------------------------------------------------- credentials that may not use it


def _enforce_iam(endpoint: str, *, after: float) -> None:
    """From ``after`` more requests on, moto checks every request against IAM, as AWS does."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=str(after).encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture()
def foreign(endpoint: str, s3) -> Iterator[tuple[Any, str]]:
    """A bucket, and the client of an IAM user without S3 permissions: HeadBucket answers it 403,
    as AWS answers for a bucket of another account."""
    name = _bucket(s3, "us-west-2")
    _enforce_iam(endpoint, after=2)  # the user and its key are made unchecked
    iam = boto3.client("iam", region_name="us-west-2", endpoint_url=endpoint)
    user = f"someone-else-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    try:
        yield (
            boto3.client(
                "s3",
                region_name="us-west-2",
                endpoint_url=endpoint,
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
            ),
            name,
        )
    finally:
        _enforce_iam(endpoint, after=float("inf"))


def test_a_bucket_these_credentials_may_not_use_is_refused_not_taken_for_missing(foreign) -> None:
    theirs, name = foreign
    with pytest.raises(Refused) as refused:
        bucket_exists(theirs, name, "us-west-2")
    assert str(refused.value) == (
        f"the state bucket {name} exists but these credentials cannot use it (403): S3 bucket names are global, "
        "so state.bucket may belong to another account"
    )


def test_a_plan_with_a_state_bucket_these_credentials_may_not_use_bootstraps_nothing(tmp_path, monkeypatch, foreign):
    theirs, name = foreign
    config = _named(load_config(CONFIG_DIR / "dev.toml", env={"AWS_REGION": "us-west-2"}), name)
    tf = FakeTerraform({}, changes={"network": NETWORK_CHANGES})
    flow, _ = make_workflow(tmp_path, config, tf, World(bucket_exists=False))
    del flow.state_bucket_exists  # the real check, against the emulator
    monkeypatch.setattr(wf, "aws_client", lambda config, service: theirs)

    with pytest.raises(Refused, match=f"the state bucket {name} exists but these credentials cannot use it"):
        flow.plan(["state", "network"])
    assert [c for c in tf.calls if c[0] == "plan"] == []  # not bootstrapped as if it were missing


# --------------------------------------------------------------------------- the workflow's own check


def _named(config: StudioConfig, bucket: str) -> StudioConfig:
    """``config`` with its own state bucket: the tests share one server."""
    return config.model_copy(update={"state": config.state.model_copy(update={"bucket": bucket})})


def _emulated(endpoint: str, bucket: str) -> StudioConfig:
    """The emulator environment against this test server, with state bucket ``bucket``."""
    env = {"AWS_REGION": "us-west-2", "STUDIO_EMULATOR_ENDPOINT": endpoint}
    return _named(load_config(CONFIG_DIR / "emulator.toml", env=env), bucket)


def test_destroy_without_the_state_bucket_has_nothing_to_destroy(tmp_path, endpoint):
    missing = f"studio-emu-tfstate-{uuid.uuid4().hex[:8]}"
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, _emulated(endpoint, missing), tf, World(bucket_exists=False))
    del flow.state_bucket_exists  # the workflow's real check: its client, its bucket, its region

    result = flow.destroy(["network"], assume_yes=True, include_state=False)

    assert [(s.stack, s.reason) for s in result.skipped] == [
        ("network", f"nothing to destroy: the state bucket {missing} does not exist")
    ]
    assert tf.calls == [] and lines[-1] == "Nothing to destroy."


def test_destroy_with_the_state_bucket_in_another_region_is_refused(tmp_path, s3, endpoint):
    name = _bucket(s3, "eu-west-1")
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, _emulated(endpoint, name), tf, World(bucket_exists=True))
    del flow.state_bucket_exists

    with pytest.raises(Refused, match=f"the state bucket {name} is in eu-west-1, but this run works in us-west-2"):
        flow.destroy(["network"], assume_yes=True, include_state=False)
    assert tf.applied() == []


# --------------------------------------------------------------------------- emptying it before the state stack's destroy


class SmallPages:
    """The S3 client, listing ``size`` entries a page instead of 1000: a state bucket's history
    (a version per apply) spans pages, and a page may hold only delete markers."""

    def __init__(self, client: Any, size: int) -> None:
        self._client, self._size = client, size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def list_object_versions(self, **kwargs: Any) -> Any:
        return self._client.list_object_versions(**kwargs, MaxKeys=self._size)

    def get_paginator(self, operation: str) -> Any:
        paginator, size = self._client.get_paginator(operation), self._size

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                return paginator.paginate(**kwargs, PaginationConfig={"PageSize": size})

        return Paginator()


def _state(*types: str, mode: str = "managed") -> bytes:
    return json.dumps({"version": 4, "resources": [{"mode": mode, "type": t, "name": "r"} for t in types]}).encode()


@pytest.fixture()
def versioned(s3) -> str:
    name = _bucket(s3, "us-west-2")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _emptying_flow(
    tmp_path, endpoint: str, bucket: str, monkeypatch, *, page: int = 2, state: dict[str, list[str]] | None = None
) -> tuple[wf.Workflow, FakeTerraform, list[str]]:
    tf = FakeTerraform({}, state=state or {})
    flow, lines = make_workflow(tmp_path, _emulated(endpoint, bucket), tf, World(bucket_exists=True), local_state=True)
    del flow.state_bucket_exists
    real = wf.aws_client
    monkeypatch.setattr(wf, "aws_client", lambda config, service: SmallPages(real(config, service), page))
    return flow, tf, lines


def _left(s3, bucket: str) -> list[tuple[str, str]]:
    listing = s3.list_object_versions(Bucket=bucket)
    return sorted(
        [("version", v["Key"]) for v in listing.get("Versions", [])]
        + [("delete marker", m["Key"]) for m in listing.get("DeleteMarkers", [])]
    )


def test_emptying_deletes_every_version_and_delete_marker_across_pages(tmp_path, monkeypatch, s3, endpoint, versioned):
    prefix = "isolated-studio/emulator/us-west-2"
    for body in (_state("aws_vpc", "aws_subnet"), _state()):  # the network, applied then destroyed
        s3.put_object(Bucket=versioned, Key=f"{prefix}/network.tfstate", Body=body)
    s3.put_object(Bucket=versioned, Key=f"{prefix}/old.tfstate", Body=_state())
    s3.delete_object(Bucket=versioned, Key=f"{prefix}/old.tfstate")
    s3.delete_object(Bucket=versioned, Key=f"{prefix}/old.tfstate")  # two markers: a page of markers only
    s3.put_object(Bucket=versioned, Key=f"{prefix}/workload.tfstate.tflock", Body=b"")
    flow, _, lines = _emptying_flow(tmp_path, endpoint, versioned, monkeypatch)

    flow.empty_state_bucket()

    assert _left(s3, versioned) == []
    assert lines[-1] == f"state: emptied bucket {versioned} (6 object versions and delete markers)"
    s3.delete_bucket(Bucket=versioned)  # what the state stack's destroy then does: S3 deletes only an empty bucket


def test_a_state_that_still_tracks_resources_on_any_page_stops_the_emptying(
    tmp_path, monkeypatch, s3, endpoint, versioned
):
    prefix = "isolated-studio/emulator/us-west-2"
    s3.put_object(Bucket=versioned, Key=f"{prefix}/network.tfstate", Body=_state("aws_vpc"))
    s3.put_object(Bucket=versioned, Key=f"{prefix}/other.tfstate", Body=_state("aws_s3_bucket", "aws_iam_role"))
    s3.put_object(Bucket=versioned, Key=f"{prefix}/workload.tfstate", Body=_state("aws_caller_identity", mode="data"))
    flow, _, _ = _emptying_flow(tmp_path, endpoint, versioned, monkeypatch, page=1)

    with pytest.raises(WorkflowError) as error:
        flow.empty_state_bucket()

    assert str(error.value) == (
        f"refusing to empty the state bucket {versioned}: {prefix}/network.tfstate (1 resources), "
        f"{prefix}/other.tfstate (2 resources) still tracked; destroy those stacks first"
    )
    assert len(_left(s3, versioned)) == 3  # nothing deleted


def test_empty_state_files_track_nothing(tmp_path, monkeypatch, s3, endpoint, versioned):
    s3.put_object(Bucket=versioned, Key="a/empty.tfstate", Body=b"")  # written by nobody but possible
    s3.put_object(Bucket=versioned, Key="a/bare.tfstate", Body=b"{}")
    flow, _, lines = _emptying_flow(tmp_path, endpoint, versioned, monkeypatch)

    flow.empty_state_bucket()

    assert _left(s3, versioned) == []
    assert lines[-1] == f"state: emptied bucket {versioned} (2 object versions and delete markers)"


def test_an_empty_bucket_is_emptied_without_a_call_that_fails(tmp_path, monkeypatch, endpoint, versioned):
    flow, _, lines = _emptying_flow(tmp_path, endpoint, versioned, monkeypatch)

    flow.empty_state_bucket()

    assert lines[-1] == f"state: emptied bucket {versioned} (0 object versions and delete markers)"


def test_a_bucket_already_gone_is_not_emptied_and_the_state_stack_still_destroyed(tmp_path, monkeypatch, endpoint):
    gone = f"studio-emu-tfstate-{uuid.uuid4().hex[:8]}"  # deleted by a destroy that failed on the lock table
    flow, tf, lines = _emptying_flow(
        tmp_path, endpoint, gone, monkeypatch, state={"state": ["aws_dynamodb_table.lock"]}
    )

    result = flow.destroy([], assume_yes=True, include_state=True)

    assert f"state: the state bucket {gone} does not exist; nothing to empty" in lines
    assert result.applied == ["state"]


def _locked(s3, count: int) -> str:
    """A bucket with object lock whose ``count`` state versions are under compliance retention."""
    name = f"studio-emu-tfstate-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}, ObjectLockEnabledForBucket=True
    )
    until = datetime.now(UTC) + timedelta(days=1)
    for i in range(count):
        s3.put_object(
            Bucket=name,
            Key=f"s/{i}.tfstate",
            Body=_state(),
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
        )
    return name


def test_versions_s3_did_not_delete_stop_the_destroy_before_the_state_stack(
    tmp_path, monkeypatch, capsys, s3, endpoint
):
    """DeleteObjects answers 200 with per-key Errors: they were once counted as deleted."""
    bucket = _locked(s3, 1)
    s3.put_object(Bucket=bucket, Key="s/unlocked.tfstate", Body=_state())
    flow, tf, lines = _emptying_flow(
        tmp_path,
        endpoint,
        bucket,
        monkeypatch,
        page=10,
        state={"state": ["aws_s3_bucket.state"], "network": ["aws_vpc.vpc"]},
    )

    assert _run_cli(monkeypatch, flow, ["destroy", "--yes", "--include-state", "--stacks", "network"]) == wf.EXIT_FAILED
    assert tf.applied() == ["network"]  # not the state stack
    assert "Destroyed: network" in lines
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: the state bucket {bucket} was not emptied: S3 did not delete 1 object versions: s/0.tfstate "
        "(AccessDenied: Access Denied because object protected by object lock.); 1 were deleted"
    )
    assert _left(s3, bucket) == [("version", "s/0.tfstate")]


@pytest.mark.parametrize(("count", "more"), [(5, ""), (6, " and 1 more"), (7, " and 2 more")])
def test_what_s3_did_not_delete_is_named_five_at_most(tmp_path, monkeypatch, s3, endpoint, count, more):
    bucket = _locked(s3, count)
    s3.put_object(Bucket=bucket, Key="s/unlocked.tfstate", Body=_state())
    flow, _, _ = _emptying_flow(tmp_path, endpoint, bucket, monkeypatch, page=10)

    with pytest.raises(WorkflowError) as error:
        flow.empty_state_bucket()

    locked = ", ".join(
        f"s/{i}.tfstate (AccessDenied: Access Denied because object protected by object lock.)" for i in range(5)
    )
    assert str(error.value) == (
        f"the state bucket {bucket} was not emptied: S3 did not delete {count} object "
        f"versions: {locked}{more}; 1 were deleted"
    )
