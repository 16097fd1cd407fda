"""Every output of every stack points at the resource it names, not only at something.

An output is resolved the way Terraform resolves it: a `${type.name.attr}` reference is
matched to the resource (or data source) by its construct path (stable ids), and a
reference to the network's remote state is followed into the network stack's output.
An output wired to the wrong resource, or to the right one's wrong attribute, fails here.
"""

from __future__ import annotations

import pytest
from support import resolve

# (stack, output) -> what it must reference, as (type, construct path, attribute), a list of
# those, or a literal with the references in it written as {type path attribute}.
EXPECTED: dict[tuple[str, str], object] = {
    ("state", "state_bucket"): ("aws_s3_bucket", "state/state-backend/state-bucket/bucket", "bucket"),
    ("state", "lock_table"): ("aws_dynamodb_table", "state/state-backend/lock-table", "name"),
    ("state", "state_kms_key_arn"): ("aws_kms_key", "state/state-backend/kms/key", "arn"),
    ("network", "vpc_id"): ("aws_vpc", "network/vpc/vpc", "id"),
    ("network", "vpc_cidr"): ("aws_vpc", "network/vpc/vpc", "cidr_block"),
    ("network", "private_subnet_ids"): [("aws_subnet", f"network/vpc/private-subnet-{i}", "id") for i in (0, 1)],
    ("network", "private_route_table_ids"): [
        ("aws_route_table", f"network/vpc/private-route-table-{i}", "id") for i in (0, 1)
    ],
    ("network", "studio_security_group_id"): (
        "aws_security_group",
        "network/studio-security-group/security-group",
        "id",
    ),
    ("network", "endpoint_security_group_id"): ("aws_security_group", "network/endpoints/security-group", "id"),
    ("network", "s3_prefix_list_id"): ("aws_vpc_endpoint", "network/endpoints/s3-gateway", "prefix_list_id"),
    ("network", "flow_log_group_name"): ("aws_cloudwatch_log_group", "network/flow-log/log-group", "name"),
    ("network", "dns_query_log_group_name"): ("aws_cloudwatch_log_group", "network/dns-firewall/log-group", "name"),
    ("network", "vpc_endpoint_ids"): {
        "s3-gateway": ("aws_vpc_endpoint", "network/endpoints/s3-gateway", "id"),
        **{
            key: ("aws_vpc_endpoint", f"network/endpoints/endpoint-{key.replace('.', '-')}", "id")
            for key in (
                "sagemaker.api",
                "sagemaker.runtime",
                "experiments",
                "codeartifact.api",
                "codeartifact.repositories",
                "sts",
                "ecr.api",
                "ecr.dkr",
                "logs",
                "monitoring",
                "ec2",
            )
        },
    },
    ("workload", "vpc_id"): ("aws_vpc", "network/vpc/vpc", "id"),
    ("workload", "subnet_ids"): [("aws_subnet", f"network/vpc/private-subnet-{i}", "id") for i in (0, 1)],
    ("workload", "security_group_id"): ("aws_security_group", "network/studio-security-group/security-group", "id"),
    ("workload", "domain_id"): ("aws_sagemaker_domain", "workload/studio/domain", "id"),
    ("workload", "domain_url"): ("aws_sagemaker_domain", "workload/studio/domain", "url"),
    ("workload", "execution_role_arn"): ("aws_iam_role", "workload/iam/execution-role", "arn"),
    ("workload", "kms_key_arn"): ("aws_kms_key", "workload/kms/key", "arn"),
    ("workload", "mlflow_tracking_server_arn"): (
        "aws_sagemaker_mlflow_tracking_server",
        "workload/mlflow/server",
        "arn",
    ),
    ("workload", "mlflow_tracking_server_url"): (
        "aws_sagemaker_mlflow_tracking_server",
        "workload/mlflow/server",
        "tracking_server_url",
    ),
    ("workload", "codeartifact_repository_endpoint"): (
        "data.aws_codeartifact_repository_endpoint",
        "workload/codeartifact/endpoint",
        "repository_endpoint",
    ),
    ("workload", "notebooks_bucket_uri"): "s3://{aws_s3_bucket workload/notebooks/bucket bucket}/lab/",
    ("workload", "data_uri"): "s3://{aws_s3_bucket workload/notebooks/bucket bucket}/data/ai4i2020.csv",
    ("workload", "mlflow_artifact_store_uri"): "s3://{aws_s3_bucket workload/mlflow-artifacts/bucket bucket}/mlflow",
}
# Outputs checked by the tests of what they carry (data, or the subnets' zones).
LITERAL_OUTPUTS = {
    ("network", "availability_zones"),
    ("workload", "user_profile_names"),
    ("workload", "codeartifact_login_command"),
}


def test_every_output_of_every_stack_is_checked(synth):
    outputs = {
        (stack, name)
        for stack, doc in synth.stacks.items()
        for name in doc.get("output", {})
        if not name.startswith("cross-stack-output-")
    }
    assert outputs == set(EXPECTED) | LITERAL_OUTPUTS


@pytest.mark.parametrize("stack, name", sorted(EXPECTED), ids=[f"{s}.{n}" for s, n in sorted(EXPECTED)])
def test_output_references_the_resource_it_names(synth, stack, name):
    output = synth.stacks[stack]["output"][name]
    assert output.get("description")
    expected = EXPECTED[(stack, name)]
    if isinstance(expected, list):
        expected = [tuple(e) for e in expected]
    assert resolve(synth, stack, output["value"]) == expected


def test_cross_stack_outputs_point_at_network_resources_only(synth):
    """The generated outputs the workload reads through remote state are plain references."""
    for name, output in synth.stacks["network"]["output"].items():
        if name.startswith("cross-stack-output-"):
            rtype, path, attribute = resolve(synth, "network", output["value"])
            assert path.startswith("network/") and attribute == "id", (name, path)


def test_literal_outputs_carry_the_configuration(synth):
    outputs = {stack: doc.get("output", {}) for stack, doc in synth.stacks.items()}
    # The zones are the subnets' own: the account's available zones, known once the subnets exist.
    assert outputs["network"]["availability_zones"]["value"] == [
        "${aws_subnet.vpc_private-subnet-0_72D2B47A.availability_zone}",
        "${aws_subnet.vpc_private-subnet-1_FA2DCB12.availability_zone}",
    ]
    assert outputs["workload"]["user_profile_names"]["value"] == list(synth.config.workload.user_profiles)
