"""The bootstrap stack: the state bucket and lock table, safe from accidents."""

import json

import pytest
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from matchers import has


@pytest.fixture(scope="module")
def state(synth):
    return synth.texts["state"]


def test_state_uses_a_local_backend_outside_cdktf_out(synth):
    backend = synth.stacks["state"]["terraform"]["backend"]
    assert backend == {"local": {"path": "../../../terraform-state/dev/us-west-2/state.tfstate"}}


def test_bucket_is_versioned_private_and_protected(state):
    assert has(
        state, S3Bucket.TF_RESOURCE_TYPE, {"bucket": "studio-dev-tfstate", "lifecycle": {"prevent_destroy": True}}
    )
    assert has(state, S3BucketVersioningA.TF_RESOURCE_TYPE, {"versioning_configuration": {"status": "Enabled"}})
    assert has(
        state,
        S3BucketPublicAccessBlock.TF_RESOURCE_TYPE,
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )


def test_bucket_is_kms_encrypted_and_tls_only(synth):
    sse = next(iter(synth.resources("state", "aws_s3_bucket_server_side_encryption_configuration").values()))
    rule = sse["rule"][0]["apply_server_side_encryption_by_default"]
    assert rule["sse_algorithm"] == "aws:kms" and rule["kms_master_key_id"].startswith("${aws_kms_key.")
    policy = synth.policy("state", next(iter(synth.resources("state", "aws_s3_bucket_policy").values()))["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lock_table_is_on_demand_recoverable_encrypted_and_protected(state):
    assert has(
        state,
        DynamodbTable.TF_RESOURCE_TYPE,
        {
            "name": "studio-dev-tflock",
            "billing_mode": "PAY_PER_REQUEST",
            "hash_key": "LockID",
            "attribute": [{"name": "LockID", "type": "S"}],
            "point_in_time_recovery": {"enabled": True},
            "deletion_protection_enabled": True,
            "lifecycle": {"prevent_destroy": True},
        },
    )
    table = next(iter(json.loads(state)["resource"]["aws_dynamodb_table"].values()))
    assert table["server_side_encryption"]["enabled"] is True


def test_outputs_name_the_backend(synth):
    assert {"state_bucket", "lock_table"} <= set(synth.stacks["state"]["output"])
