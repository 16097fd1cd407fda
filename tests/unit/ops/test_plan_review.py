"""Plan review reports, from plan JSON shaped like `terraform show -json` output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from isolated_studio.ops.plan_review import (
    CATEGORY_IAM,
    CATEGORY_KMS,
    CATEGORY_NETWORK,
    CATEGORY_POLICIES,
    CATEGORY_SECURITY_GROUPS,
    Action,
    EndpointCost,
    RunReview,
    category_of,
    endpoint_cost,
    main,
    render_run_report,
    render_stack_report,
    review_plan,
)

# --------------------------------------------------------------------------
# Builders for plan documents in the real format (format_version 1.2).


def change(
    address: str,
    actions: list[str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    after_unknown: dict[str, Any] | None = None,
    mode: str = "managed",
    **extra: Any,
) -> dict[str, Any]:
    resource_type, name = address.split(".")[-2:]
    name = name.split("[")[0]
    return {
        "address": address,
        "mode": mode,
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown or {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": False if after is None else {},
            **extra.pop("change_extra", {}),
        },
        **extra,
    }


def endpoint(name: str, *, kind: str = "Interface", subnets: int | None = 2) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_name": f"com.amazonaws.us-east-1.{name}",
        "vpc_endpoint_type": kind,
        "private_dns_enabled": kind == "Interface",
    }
    if subnets is not None:
        values["subnet_ids"] = [f"subnet-0{i}aaaaaaaaaaaaaa" for i in range(subnets)] if kind == "Interface" else []
    return {
        "address": f"aws_vpc_endpoint.{name.replace('.', '_')}",
        "mode": "managed",
        "type": "aws_vpc_endpoint",
        "name": name.replace(".", "_"),
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": values,
        "sensitive_values": {},
    }


def plan(*changes: dict[str, Any], planned: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": planned or []}},
        "resource_changes": list(changes),
        "configuration": {"root_module": {}},
        "timestamp": "2025-01-15T10:00:00Z",
        "applyable": bool(changes),
        "complete": True,
        "errored": False,
    }
    document.update(extra)
    return document


BUCKET = {"bucket": "isolated-studio-dev-artifacts", "force_destroy": False}


# --------------------------------------------------------------------------
# Counts and actions


def test_counts_per_action_with_replacements_counted_once() -> None:
    review = review_plan(
        "workload",
        plan(
            change("aws_s3_bucket.artifacts", ["create"], after=BUCKET),
            change("aws_sagemaker_user_profile.alice", ["create"], after={"user_profile_name": "alice"}),
            change(
                "aws_cloudwatch_log_group.studio",
                ["update"],
                before={"retention_in_days": 7},
                after={"retention_in_days": 30},
            ),
            change(
                "aws_security_group_rule.https",
                ["delete", "create"],
                before={"from_port": 443},
                after={"from_port": 443},
            ),
            change("aws_ssm_parameter.mlflow_uri", ["create", "delete"], before={"value": "a"}, after={"value": "b"}),
            change(
                "aws_cloudwatch_log_group.old",
                ["delete"],
                before={"name": "/old"},
                action_reason="delete_because_no_resource_config",
            ),
        ),
    )

    assert (review.to_add, review.to_change, review.to_replace, review.to_destroy) == (2, 1, 2, 1)
    assert "**Plan:** 2 to add, 1 to change, 2 to replace, 1 to destroy." in render_stack_report(review)


@pytest.mark.parametrize(
    ("actions", "label"),
    [
        (["delete", "create"], "replace (destroy then create)"),
        (["create", "delete"], "replace (create before destroy)"),
    ],
)
def test_replace_is_detected_in_both_action_orders(actions: list[str], label: str) -> None:
    review = review_plan(
        "network",
        plan(
            change(
                "aws_subnet.private[0]",
                actions,
                before={"cidr_block": "10.0.0.0/24"},
                after={"cidr_block": "10.0.8.0/24"},
                action_reason="replace_because_cannot_update",
                change_extra={"replace_paths": [["cidr_block"]]},
            )
        ),
    )

    (only,) = review.changes
    assert only.action is Action.REPLACE
    assert review.to_replace == 1 and review.to_add == 0 and review.to_destroy == 0
    assert f"| {label} | `aws_subnet.private[0]` | a changed attribute forces replacement; forced by: cidr_block |" in (
        render_stack_report(review)
    )


def test_no_op_and_read_are_ignored_and_an_unchanged_stack_says_no_changes() -> None:
    review = review_plan(
        "state",
        plan(
            change("aws_s3_bucket.state", ["no-op"], before=BUCKET, after=BUCKET),
            change("data.aws_caller_identity.current", ["read"], after={}, mode="data"),
            change("data.aws_iam_policy_document.tls_only", ["no-op"], before={}, after={}, mode="data"),
        ),
    )

    report = render_stack_report(review)
    assert not review.has_changes
    assert "**No changes.**" in report
    assert "All changes" not in report
    assert "No warnings" in report


def test_empty_plan_without_resource_changes_says_no_changes() -> None:
    document = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "errored": False,
    }

    review = review_plan("state", document)

    assert review.changes == () and review.warnings == ()
    assert "**No changes.**" in render_stack_report(review)
    assert "**No changes.**" in render_run_report(RunReview((review,)))


# --------------------------------------------------------------------------
# Warnings at the top


def test_any_destroy_is_a_warning_at_the_top_of_the_report() -> None:
    review = review_plan(
        "network",
        plan(
            change(
                "aws_cloudwatch_log_group.flow_logs",
                ["delete"],
                before={"name": "/vpc/flow"},
                action_reason="delete_because_no_resource_config",
            ),
            change("aws_sagemaker_user_profile.bob", ["create"], after={"user_profile_name": "bob"}),
        ),
    )

    report = render_run_report(RunReview((review,)))

    assert [w.address for w in review.warnings] == ["aws_cloudwatch_log_group.flow_logs"]
    warning_line = "- `network`: DESTROY `aws_cloudwatch_log_group.flow_logs` (removed from the configuration)"
    assert warning_line in report
    assert report.index("WARNINGS (1)") < report.index("## Summary") < report.index("All changes")


def test_destroying_a_long_lived_resource_says_what_is_lost() -> None:
    review = review_plan(
        "workload",
        plan(change('aws_s3_bucket.data["raw"]', ["delete"], before=BUCKET, action_reason="delete_because_each_key")),
    )

    (warning,) = review.warnings
    assert warning.kind == "destroy"
    assert "its for_each key no longer exists" in warning.message
    assert "loses the S3 bucket: its objects" in warning.message


@pytest.mark.parametrize(
    "address",
    [
        "aws_sagemaker_domain.studio",
        "aws_sagemaker_mlflow_tracking_server.mlflow",
        "aws_efs_file_system.home",
        "aws_s3_bucket.artifacts",
        "aws_dynamodb_table.lock",
        "aws_kms_key.studio",
        "aws_codeartifact_domain.pkgs",
        "aws_codeartifact_repository.pypi",
        "aws_vpc.main",
    ],
)
def test_replacing_a_long_lived_resource_is_a_warning(address: str) -> None:
    review = review_plan(
        "workload",
        plan(
            change(
                address,
                ["delete", "create"],
                before={"name": "x"},
                after={"name": "y"},
                action_reason="replace_because_cannot_update",
                change_extra={"replace_paths": [["name"]]},
            )
        ),
    )

    (warning,) = review.warnings
    assert warning.kind == "replace" and warning.address == address
    assert warning.message.startswith(f"REPLACE long-lived `{address}` (destroy then create; ")
    assert "forced by: name" in warning.message


def test_replacing_or_updating_a_disposable_resource_is_not_a_warning() -> None:
    review = review_plan(
        "workload",
        plan(
            change(
                "aws_security_group_rule.https",
                ["create", "delete"],
                before={"from_port": 443},
                after={"from_port": 443},
            ),
            change("aws_s3_bucket.artifacts", ["update"], before={"tags": {}}, after={"tags": {"team": "ml"}}),
        ),
    )

    assert review.warnings == ()
    assert "**No warnings:**" in render_stack_report(review)


def test_errored_plan_is_a_warning() -> None:
    review = review_plan("workload", plan(errored=True))

    assert [w.kind for w in review.warnings] == ["plan"]
    assert "do not apply it" in render_stack_report(review)


# --------------------------------------------------------------------------
# Security-relevant call-outs


@pytest.mark.parametrize(
    ("resource_type", "category"),
    [
        ("aws_iam_role", CATEGORY_IAM),
        ("aws_iam_role_policy_attachment", CATEGORY_IAM),
        ("aws_security_group", CATEGORY_SECURITY_GROUPS),
        ("aws_security_group_rule", CATEGORY_SECURITY_GROUPS),
        ("aws_vpc_security_group_ingress_rule", CATEGORY_SECURITY_GROUPS),
        ("aws_vpc_security_group_egress_rule", CATEGORY_SECURITY_GROUPS),
        ("aws_s3_bucket_policy", CATEGORY_POLICIES),
        ("aws_vpc_endpoint_policy", CATEGORY_POLICIES),
        ("aws_iam_role_policy", CATEGORY_IAM),
        ("aws_iam_policy", CATEGORY_IAM),
        ("aws_route53_resolver_firewall_rule_group_association", CATEGORY_NETWORK),
        ("aws_route53_resolver_firewall_rule", CATEGORY_NETWORK),
        ("aws_route53_resolver_firewall_domain_list", CATEGORY_NETWORK),
        ("aws_route53_resolver_firewall_config", CATEGORY_NETWORK),
        ("aws_route53_resolver_query_log_config_association", CATEGORY_NETWORK),
        ("aws_kms_key", CATEGORY_KMS),
        ("aws_kms_alias", CATEGORY_KMS),
        ("aws_route", CATEGORY_NETWORK),
        ("aws_route_table", CATEGORY_NETWORK),
        ("aws_route_table_association", CATEGORY_NETWORK),
        ("aws_vpc_endpoint_route_table_association", CATEGORY_NETWORK),
        ("aws_internet_gateway", CATEGORY_NETWORK),
        ("aws_nat_gateway", CATEGORY_NETWORK),
        ("aws_sagemaker_domain", None),
        ("aws_vpc_endpoint", None),
        ("aws_s3_bucket", None),
    ],
)
def test_resource_types_are_sorted_into_the_review_categories(resource_type: str, category: str | None) -> None:
    assert category_of(resource_type) == category


def test_every_security_relevant_change_is_called_out_with_address_and_action() -> None:
    review = review_plan(
        "network",
        plan(
            change(
                "aws_iam_role_policy.execution",
                ["update"],
                before={"name": "exec", "policy": '{"Statement":[]}'},
                after={"name": "exec", "policy": '{"Statement":[{"Effect":"Allow"}]}'},
            ),
            change("aws_vpc_security_group_egress_rule.https_to_endpoints", ["create"], after={"from_port": 443}),
            change("aws_s3_bucket_policy.artifacts", ["update"], before={"policy": "a"}, after={"policy": "b"}),
            change(
                "aws_kms_key.studio",
                ["update"],
                before={"enable_key_rotation": False},
                after={"enable_key_rotation": True},
            ),
            change("aws_nat_gateway.egress", ["create"], after={"connectivity_type": "public"}),
            change("aws_vpc_endpoint_route_table_association.s3", ["delete"], before={"route_table_id": "rtb-1"}),
            change("aws_sagemaker_user_profile.alice", ["create"], after={"user_profile_name": "alice"}),
        ),
    )
    report = render_stack_report(review)

    assert [c.address for c in review.sensitive(CATEGORY_IAM)] == ["aws_iam_role_policy.execution"]
    assert [c.address for c in review.sensitive(CATEGORY_NETWORK)] == [
        "aws_nat_gateway.egress",
        "aws_vpc_endpoint_route_table_association.s3",
    ]
    expected_rows = [
        ("### IAM (1)", "| update in place | `aws_iam_role_policy.execution` | changes: policy |"),
        ("### Security groups (1)", "| create | `aws_vpc_security_group_egress_rule.https_to_endpoints` |  |"),
        (
            "### Bucket and endpoint policies (1)",
            "| update in place | `aws_s3_bucket_policy.artifacts` | changes: policy |",
        ),
        ("### KMS (1)", "| update in place | `aws_kms_key.studio` | changes: enable_key_rotation |"),
        ("### Network routes and gateways (2)", "| DESTROY | `aws_vpc_endpoint_route_table_association.s3` |  |"),
    ]
    for heading, row in expected_rows:
        assert report.index(heading) < report.index(row) < report.index("## All changes")
    security_section = report[report.index("## Security-relevant changes") : report.index("## Interface endpoint cost")]
    assert "aws_sagemaker_user_profile.alice" not in security_section


def test_report_names_changed_attributes_but_never_their_values() -> None:
    review = review_plan(
        "workload",
        plan(
            change(
                "aws_iam_role.execution",
                ["update"],
                before={"name": "exec", "assume_role_policy": "OLD-SECRET-ISH", "arn": "arn:aws:iam::1:role/exec"},
                after={"name": "exec", "assume_role_policy": "NEW-SECRET-ISH", "arn": "arn:aws:iam::1:role/exec"},
                after_unknown={"tags_all": {"env": True}},
            )
        ),
    )

    report = render_stack_report(review)

    assert "changes: assume_role_policy" in report
    assert "SECRET-ISH" not in report


def test_no_security_relevant_change_is_said_explicitly() -> None:
    review = review_plan("workload", plan(change("aws_sagemaker_user_profile.alice", ["create"], after={})))

    assert "None: no change to IAM, security groups" in render_stack_report(review)


# --------------------------------------------------------------------------
# Interface endpoint cost


SERVICES = [
    "sagemaker.api", "sagemaker.runtime", "studio", "sts", "logs", "ecr.api",
    "ecr.dkr", "kms", "ssm", "codeartifact.api", "codeartifact.repositories",
]  # fmt: skip


def test_interface_endpoint_cost_is_endpoints_times_azs_times_price_times_730h() -> None:
    planned = [endpoint(service) for service in SERVICES] + [
        endpoint("s3", kind="Gateway"),
        endpoint("dynamodb", kind="Gateway"),
    ]
    review = review_plan("network", plan(change("aws_vpc_endpoint.sts", ["create"], after={}), planned=planned))

    cost = review.endpoint_cost
    assert (cost.interface_endpoints, cost.endpoint_azs) == (11, 22)
    assert cost.monthly_usd == Decimal("160.60")
    report = render_stack_report(review)
    assert "22 x USD 0.01 per hour x 730 h = **USD 160.60 per month**" in report
    assert "data processing is extra" in report


def test_cost_counts_endpoints_that_exist_after_apply_only() -> None:
    """Unchanged endpoints count, endpoints being destroyed do not."""
    planned = [endpoint("sts", subnets=3), endpoint("logs", subnets=3)]
    prior = {"root_module": {"resources": planned + [endpoint("ssm", subnets=3)]}}
    document = plan(
        change("aws_vpc_endpoint.ssm", ["delete"], before={"vpc_endpoint_type": "Interface"}),
        change("aws_vpc_endpoint.sts", ["no-op"], before={}, after={}),
        planned=planned,
        prior_state={"format_version": "1.0", "terraform_version": "1.11.4", "values": prior},
    )

    review = review_plan("network", document)

    assert review.endpoint_cost.endpoint_azs == 6
    assert review.endpoint_cost.monthly_usd == Decimal("43.80")
    assert review.current_endpoint_cost is not None
    assert review.current_endpoint_cost.monthly_usd == Decimal("65.70")
    assert "this plan changes it by USD -21.90" in render_stack_report(review)


def test_endpoints_whose_subnets_are_unknown_until_apply_are_listed_not_guessed() -> None:
    unknown = endpoint("sts", subnets=None)
    partially_known = endpoint("logs")
    partially_known["values"]["subnet_ids"] = [None, None]
    document = plan(
        change(
            "aws_vpc_endpoint.sts",
            ["create"],
            after={"vpc_endpoint_type": "Interface"},
            after_unknown={"subnet_ids": True},
        ),
        change(
            "aws_vpc_endpoint.logs",
            ["create"],
            after={"subnet_ids": [None, None]},
            after_unknown={"subnet_ids": [True, True]},
        ),
        planned=[unknown, partially_known],
    )

    review = review_plan("network", document)

    assert review.endpoint_cost.interface_endpoints == 2
    assert review.endpoint_cost.endpoint_azs == 2
    assert review.endpoint_cost.unknown_az_endpoints == ("aws_vpc_endpoint.sts",)
    assert "Not priced, subnets unknown until apply: `aws_vpc_endpoint.sts`." in render_stack_report(review)


def _first_deploy(subnet_ids_expression: dict[str, Any], *, module: str | None = None) -> dict[str, Any]:
    """A plan in which the endpoint's subnets are created by the same apply (set unknown)."""
    planned = endpoint("sts", subnets=None)
    address = planned["address"]
    config_resources = [
        {
            "address": address,
            "mode": "managed",
            "type": "aws_vpc_endpoint",
            "name": "sts",
            "expressions": {"subnet_ids": subnet_ids_expression},
        }
    ]
    configuration: dict[str, Any] = {"root_module": {"resources": config_resources}}
    values: dict[str, Any] = {"root_module": {"resources": [planned]}}
    if module:
        planned["address"] = f"module.{module}.{address}"
        configuration = {"root_module": {"module_calls": {module: {"module": {"resources": config_resources}}}}}
        values = {"root_module": {"child_modules": [{"address": f"module.{module}", "resources": [planned]}]}}
    return plan(
        change(
            planned["address"], ["create"], after={"vpc_endpoint_type": "Interface"}, after_unknown={"subnet_ids": True}
        ),
        planned_values=values,
        configuration=configuration,
    )


@pytest.mark.parametrize(
    "expression, module",
    [
        pytest.param(
            {
                "constant_value": ["${aws_subnet.a.id}", "${aws_subnet.b.id}", "${aws_subnet.c.id}"],
                "references": [
                    "aws_subnet.a.id",
                    "aws_subnet.a",
                    "aws_subnet.b.id",
                    "aws_subnet.b",
                    "aws_subnet.c.id",
                    "aws_subnet.c",
                ],
            },
            None,
            id="cdktf-json",
        ),
        pytest.param(
            {
                "references": [
                    "aws_subnet.a.id",
                    "aws_subnet.a",
                    "aws_subnet.b.id",
                    "aws_subnet.b",
                    "aws_subnet.c.id",
                    "aws_subnet.c",
                ]
            },
            None,
            id="hcl-list",
        ),
        pytest.param(
            {
                "references": [
                    "aws_subnet.a.id",
                    "aws_subnet.a",
                    "aws_subnet.b.id",
                    "aws_subnet.b",
                    "aws_subnet.c.id",
                    "aws_subnet.c",
                ]
            },
            "endpoints",
            id="child-module",
        ),
    ],
)
def test_a_first_deploy_prices_endpoints_by_the_subnets_their_configuration_lists(expression, module) -> None:
    review = review_plan("network", _first_deploy(expression, module=module))

    assert review.endpoint_cost.endpoint_azs == 3
    assert review.endpoint_cost.unknown_az_endpoints == ()
    assert review.endpoint_cost.monthly_usd == Decimal("21.90")
    assert "1 of them get subnets created in this apply" in render_stack_report(review)


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param({"references": ["aws_subnet.private"]}, id="splat-over-counted-subnets"),
        pytest.param({"references": ["var.subnet_ids"]}, id="variable"),
        pytest.param({"references": ["aws_subnet.a.id", "aws_subnet.a", "local.more"]}, id="list-plus-local"),
        pytest.param({"references": ["aws_subnet.a[0].id", "aws_subnet.a[0]"]}, id="indexed"),
        pytest.param({}, id="no-expression"),
    ],
)
def test_a_subnet_count_the_configuration_does_not_fix_is_not_guessed(expression) -> None:
    review = review_plan("network", _first_deploy(expression))

    assert review.endpoint_cost.endpoint_azs == 0
    assert review.endpoint_cost.unknown_az_endpoints == ("aws_vpc_endpoint.sts",)


def test_endpoints_in_child_modules_are_priced_but_data_sources_are_not() -> None:
    looked_up = {**endpoint("ssm", subnets=3), "mode": "data", "address": "data.aws_vpc_endpoint.ssm"}
    values = {
        "root_module": {
            "resources": [endpoint("sts"), looked_up],
            "child_modules": [{"address": "module.endpoints", "resources": [endpoint("logs", subnets=3)]}],
        }
    }

    assert endpoint_cost(values).endpoint_azs == 5


# --------------------------------------------------------------------------
# Run report across stacks


def test_run_report_has_one_row_per_stack_totals_and_stack_named_warnings() -> None:
    state = review_plan("state", plan())
    network = review_plan(
        "network",
        plan(
            change("aws_vpc_endpoint.sts", ["create"], after={}),
            change("aws_route.nat", ["delete"], before={}),
            planned=[endpoint("sts"), endpoint("logs")],
        ),
    )
    workload = review_plan(
        "workload",
        plan(
            change(
                "aws_sagemaker_domain.studio",
                ["delete", "create"],
                before={},
                after={},
                action_reason="replace_by_request",
            )
        ),
    )

    report = render_run_report(RunReview((state, network, workload)))

    assert "| `state` | 0 | 0 | 0 | 0 | 0.00 |" in report
    assert "| `network` | 1 | 0 | 0 | 1 | 29.20 |" in report
    assert "| `workload` | 0 | 0 | 1 | 0 | 0.00 |" in report
    assert "| **Total** | 1 | 0 | 1 | 1 | 29.20 |" in report
    assert "- `network`: DESTROY `aws_route.nat`" in report
    assert (
        "- `workload`: REPLACE long-lived `aws_sagemaker_domain.studio` (destroy then create; requested with -replace)"
        in report
    )
    assert report.index("## Stack `state`") < report.index("## Stack `network`") < report.index("## Stack `workload`")


# --------------------------------------------------------------------------
# Input validation


def test_unknown_action_fails_instead_of_being_silently_skipped() -> None:
    with pytest.raises(ValueError, match="unknown Terraform plan actions"):
        review_plan("network", plan(change("aws_vpc.main", ["transmogrify"], before={}, after={})))


def test_state_json_and_other_format_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="state, not of a plan"):
        review_plan("network", {"format_version": "1.0", "values": {"root_module": {}}})
    with pytest.raises(ValueError, match="format_version '2.0'"):
        review_plan("network", {"format_version": "2.0", "resource_changes": []})


# --------------------------------------------------------------------------
# CLI


def test_cli_writes_the_run_report_and_per_stack_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "network.json").write_text(json.dumps(plan(change("aws_route.nat", ["delete"], before={}))))
    (tmp_path / "workload.json").write_text(json.dumps(plan()))
    out = tmp_path / "review.md"

    code = main(
        [
            f"network={tmp_path / 'network.json'}",
            f"workload={tmp_path / 'workload.json'}",
            "--out",
            str(out),
            "--stack-dir",
            str(tmp_path / "stacks"),
        ]
    )

    assert code == 0
    assert "- `network`: DESTROY `aws_route.nat`" in out.read_text()
    assert (tmp_path / "stacks" / "network.md").read_text().startswith("# Plan review: stack `network`")
    assert (tmp_path / "stacks" / "workload.md").exists()
    assert capsys.readouterr().err.strip() == (
        f"review written to {out} (network: +0 ~0 -/+0 -1; workload: +0 ~0 -/+0 -0; 1 warning)"
    )


def test_cli_explains_a_binary_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "plan.tfplan"
    binary.write_bytes(b"PK\x03\x04\x14\x00\x08\x00\xff\xfe")

    with pytest.raises(SystemExit) as excinfo:
        main([f"network={binary}"])

    assert excinfo.value.code == 2
    assert "terraform show -json plan.tfplan" in capsys.readouterr().err


@pytest.mark.parametrize("argument", ["network.json", "=network.json", "network="])
def test_cli_rejects_arguments_without_stack_and_path(argument: str) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main([argument])

    assert excinfo.value.code == 2


# --------------------------------------------------------------------------
# A plan produced by the real Terraform binary (terraform_data needs no provider).


def _terraform(workdir: Path, *args: str) -> str:
    cli_config = workdir / "empty.tfrc"
    cli_config.touch()
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1"}
    result = subprocess.run(
        ["terraform", *args, "-no-color"], cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _write_config(workdir: Path, resources: dict[str, Any]) -> None:
    (workdir / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": resources}}))


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform binary not on PATH")
def test_real_terraform_plan_json_is_understood(tmp_path: Path) -> None:
    cbd = [{"create_before_destroy": True}]
    _write_config(
        tmp_path,
        {
            "gone": {"input": "a"},
            "rebuilt": {"input": "b", "triggers_replace": ["v1"]},
            "rebuilt_first": {"input": "c", "triggers_replace": ["v1"], "lifecycle": cbd},
            "kept": {"input": "d"},
        },
    )
    _terraform(tmp_path, "init", "-input=false")
    _terraform(tmp_path, "apply", "-input=false", "-auto-approve")
    _write_config(
        tmp_path,
        {
            "rebuilt": {"input": "b", "triggers_replace": ["v2"]},
            "rebuilt_first": {"input": "c", "triggers_replace": ["v2"], "lifecycle": cbd},
            "kept": {"input": "d"},
            "new": {"input": "e"},
        },
    )
    _terraform(tmp_path, "plan", "-input=false", "-out=plan.tfplan")
    document = json.loads(_terraform(tmp_path, "show", "-json", "plan.tfplan"))

    review = review_plan("lab", document)

    assert (review.to_add, review.to_change, review.to_replace, review.to_destroy) == (1, 0, 2, 1)
    labels = {c.address: c.action_label for c in review.changes}
    assert labels == {
        "terraform_data.gone": "DESTROY",
        "terraform_data.new": "create",
        "terraform_data.rebuilt": "replace (destroy then create)",
        "terraform_data.rebuilt_first": "replace (create before destroy)",
    }
    assert [w.message for w in review.warnings] == ["DESTROY `terraform_data.gone` (removed from the configuration)"]
    assert "forced by: triggers_replace" in render_stack_report(review)


def test_a_warning_on_several_lines_stays_one_item_of_the_warning_list() -> None:
    """A message with newlines (a Terraform detail, a reason quoting output) must not end the
    Markdown list or turn its second line into a paragraph, a heading or a table of its own."""
    from markdown_it import MarkdownIt  # rich's Markdown parser, in the dev packages' lock

    from isolated_studio.ops.plan_review import ReviewWarning, StackReview

    warnings = (
        ReviewWarning(
            "network", "aws_vpc.main", "destroy", "DESTROY `aws_vpc.main`\n\n# not a heading\n| not | a table |"
        ),
        ReviewWarning("network", "aws_subnet.a", "destroy", "DESTROY `aws_subnet.a`"),
    )
    report = render_run_report(RunReview((StackReview("network", warnings=warnings),)))

    block = report.split("## WARNINGS (2): read before applying", 1)[1].split("\n## ", 1)[0]
    tokens = MarkdownIt("commonmark").enable("table").parse(block)
    # One group heading, then one list: the lines of each warning stay in its item.
    assert [t.type for t in tokens if t.level == 0] == [
        "heading_open",
        "heading_close",
        "bullet_list_open",
        "bullet_list_close",
    ]
    assert sum(t.type == "list_item_open" for t in tokens) == 2
    assert [t.type for t in tokens if t.type in ("heading_open", "table_open")] == ["heading_open"]
    html = MarkdownIt("commonmark").enable("table").render(block)
    first_item = html.split("<li>")[1]
    assert first_item.splitlines() == [
        "<code>network</code>: DESTROY <code>aws_vpc.main</code>",
        "# not a heading",
        "| not | a table |</li>",
    ]


# --------------------------------------------------------------------------
# What each warning and change row says, exactly (found by mutation testing: checking for
# a substring let a stray "()" or a dropped sentence through).


@pytest.mark.parametrize(
    ("resource_type", "lost"),
    [
        ("aws_sagemaker_domain", "Studio domain: a new domain gets a new home EFS; users lose their files and spaces"),
        ("aws_sagemaker_user_profile", "user profile: the home directory on EFS is tied to the profile"),
        (
            "aws_sagemaker_mlflow_tracking_server",
            "MLflow tracking server: tracking URIs change for every notebook and pipeline",
        ),
        ("aws_efs_file_system", "EFS file system: the users' home directories"),
        ("aws_s3_bucket", "S3 bucket: its objects"),
        ("aws_dynamodb_table", "DynamoDB table: its items"),
        ("aws_kms_key", "KMS key: data encrypted with it is unreadable once the old key is deleted"),
        ("aws_codeartifact_domain", "CodeArtifact domain: cached and published packages"),
        ("aws_codeartifact_repository", "CodeArtifact repository: cached and published packages"),
        ("aws_vpc", "VPC: every subnet, endpoint and ENI in it is recreated"),
    ],
)
def test_a_destroy_without_a_reason_names_the_resource_and_what_is_lost(resource_type: str, lost: str) -> None:
    # `terraform plan -destroy` gives no action_reason: the warning has no empty "()".
    review = review_plan("workload", plan(change(f"{resource_type}.main", ["delete"], before={"name": "x"})))

    assert [(w.kind, w.message.split(". ")[0]) for w in review.warnings] == [
        ("destroy", f"DESTROY `{resource_type}.main`; loses the {lost}")
    ]


def test_a_destroy_of_a_disposable_resource_without_a_reason_is_the_bare_address() -> None:
    review = review_plan("network", plan(change("aws_route.nat", ["delete"], before={"route_table_id": "rtb-1"})))

    assert [w.message for w in review.warnings] == ["DESTROY `aws_route.nat`"]
    assert "- DESTROY `aws_route.nat`\n" in render_stack_report(review)


def test_a_long_lived_replacement_without_details_still_says_its_order_and_loss() -> None:
    # Replaced by a provider's CustomizeDiff, Terraform may give neither reason nor paths.
    review = review_plan(
        "workload",
        plan(
            change("aws_kms_key.studio", ["create", "delete"], before={"description": "a"}, after={"description": "a"}),
            change(
                "aws_efs_file_system.home", ["delete", "create"], before={"encrypted": True}, after={"encrypted": True}
            ),
        ),
    )

    assert [w.message for w in review.warnings] == [
        "REPLACE long-lived `aws_kms_key.studio` (create before destroy); loses the KMS key: data encrypted with it "
        "is unreadable once the old key is deleted",
        "REPLACE long-lived `aws_efs_file_system.home` (destroy then create); loses the EFS file system: the users' "
        "home directories",
    ]


@pytest.mark.parametrize(
    ("actions", "reason", "text"),
    [
        (["delete", "create"], "replace_because_tainted", "the object is tainted"),
        (["delete", "create"], "replace_because_cannot_update", "a changed attribute forces replacement"),
        (["delete", "create"], "replace_by_request", "requested with -replace"),
        (["delete", "create"], "replace_by_triggers", "replace_triggered_by"),
        (["delete"], "delete_because_no_resource_config", "removed from the configuration"),
        (["delete"], "delete_because_no_module", "its module was removed"),
        (["delete"], "delete_because_wrong_repetition", "count/for_each was added or removed"),
        (["delete"], "delete_because_count_index", "its count index no longer exists"),
        (["delete"], "delete_because_each_key", "its for_each key no longer exists"),
        (["delete"], "delete_because_no_move_target", "its moved target does not exist"),
    ],
)
def test_every_action_reason_terraform_gives_is_said_in_words(actions: list[str], reason: str, text: str) -> None:
    review = review_plan(
        "network",
        plan(
            change(
                "aws_subnet.private[1]",
                actions,
                before={"cidr_block": "10.0.1.0/24"},
                after=None if actions == ["delete"] else {"cidr_block": "10.0.1.0/24"},
                action_reason=reason,
            )
        ),
    )

    label = "DESTROY" if actions == ["delete"] else "replace (destroy then create)"
    assert f"| {label} | `aws_subnet.private[1]` | {text} |" in render_stack_report(review)


def test_an_attribute_known_only_after_apply_is_named_among_the_changes() -> None:
    """Terraform leaves unknown values out of `after` and marks them in after_unknown: a log
    group getting a KMS key created in the same apply, and a tag whose value is another new
    resource's id, look unchanged in before/after alone."""
    before = {
        "name": "/aws/sagemaker/studio",
        "kms_key_id": None,
        "retention_in_days": 30,
        "tags": {"env": "dev"},
        "tags_all": {"env": "dev"},
    }
    after = {
        "name": "/aws/sagemaker/studio",
        "retention_in_days": 30,
        "tags": {"env": "dev"},
        "tags_all": {"env": "dev"},
    }
    review = review_plan(
        "workload",
        plan(
            change(
                "aws_cloudwatch_log_group.studio",
                ["update"],
                before=before,
                after=after,
                after_unknown={
                    "kms_key_id": True,
                    "tags": {"domain": True},
                    "tags_all": {"domain": True},
                    "arn": False,
                },
            )
        ),
    )

    assert "| update in place | `aws_cloudwatch_log_group.studio` | changes: kms_key_id, tags, tags_all |" in (
        render_stack_report(review)
    )


def test_a_resource_change_without_actions_is_refused_not_taken_for_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = plan(change("aws_vpc.main", ["delete"], before={}))
    del broken["resource_changes"][0]["change"]  # a truncated or hand-edited document
    (tmp_path / "network.json").write_text(json.dumps(broken))

    with pytest.raises(SystemExit) as excinfo:
        main([f"network={tmp_path / 'network.json'}"])

    assert excinfo.value.code == 2
    assert "error: unknown Terraform plan actions []" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"format_version": "1.0", "terraform_version": "1.11.4", "values": {"root_module": {}}},
            "this is `terraform show -json` of a state, not of a plan",
            id="state",
        ),
        pytest.param(
            {"format_version": "1.0"},
            "this is not `terraform show -json` of a plan: it has no planned_values (an empty state shows as "
            "only a format_version)",
            id="empty-state",
        ),
        pytest.param(
            {"format_version": "1.0", "provider_schemas": {}},
            "this is not `terraform show -json` of a plan: it has no planned_values (an empty state shows as "
            "only a format_version)",
            id="providers-schema",
        ),
        pytest.param(
            {"terraform_version": "1.11.4", "planned_values": {"root_module": {}}},
            "unsupported plan JSON format_version ''; expected 1.x",
            id="no-format-version",
        ),
    ],
)
def test_a_document_that_is_not_a_plan_is_refused_with_what_it_is(document: dict[str, Any], message: str) -> None:
    # An empty state or a provider schema reviewed as a plan would read "No changes".
    with pytest.raises(ValueError) as excinfo:
        review_plan("network", document)

    assert str(excinfo.value) == message


# --------------------------------------------------------------------------
# Endpoint pricing on a first deploy, whatever the endpoint's address looks like


def _first_deploy_at(
    address: str, module_path: tuple[str, ...], expression: dict[str, Any], config_address: str = "aws_vpc_endpoint.sts"
) -> dict[str, Any]:
    """An endpoint instance at ``address`` (in the modules of ``module_path``) whose subnets are
    created by the same apply; its configuration is at ``config_address`` (no index)."""
    planned = {**endpoint("sts", subnets=None), "address": address}
    name = config_address.split(".")[1]
    module: dict[str, Any] = {
        "resources": [
            {
                "address": config_address,
                "mode": "managed",
                "type": "aws_vpc_endpoint",
                "name": name,
                "expressions": {"subnet_ids": expression},
            }
        ]
    }
    for call in reversed(module_path):
        module = {"module_calls": {call: {"source": f"./{call}", "module": module}}}
    return plan(
        change(
            address,
            ["create"],
            after={"vpc_endpoint_type": "Interface"},
            after_unknown={"subnet_ids": True},
            type="aws_vpc_endpoint",
            name=name,
        ),
        planned=[planned],
        configuration={"root_module": module},
    )


THREE_SUBNETS = {
    "references": [
        "aws_subnet.a.id",
        "aws_subnet.a",
        "aws_subnet.b.id",
        "aws_subnet.b",
        "aws_subnet.c.id",
        "aws_subnet.c",
    ]
}


@pytest.mark.parametrize(
    ("address", "module_path"),
    [
        pytest.param('aws_vpc_endpoint.sts["com.amazonaws.us-east-1.sts"]', (), id="for_each-over-service-names"),
        pytest.param("aws_vpc_endpoint.sts[0]", (), id="count"),
        pytest.param("module.endpoints[0].aws_vpc_endpoint.sts", ("endpoints",), id="counted-module"),
        pytest.param('module.az["us-east-1.a"].aws_vpc_endpoint.sts', ("az",), id="module-key-with-dots"),
        pytest.param(
            "module.network.module.endpoints.aws_vpc_endpoint.sts", ("network", "endpoints"), id="nested-modules"
        ),
    ],
)
def test_a_first_deploy_finds_the_endpoint_configuration_behind_any_instance_address(address, module_path) -> None:
    review = review_plan("network", _first_deploy_at(address, module_path, THREE_SUBNETS))

    assert review.endpoint_cost.endpoint_azs == 3
    assert review.endpoint_cost.configured_az_endpoints == (address,)
    assert review.endpoint_cost.unknown_az_endpoints == ()


def test_cdktf_subnets_of_a_counted_resource_are_counted_from_the_listed_constant() -> None:
    """cdktf writes the list as JSON: its constant_value has one interpolation per subnet even
    when the references (indexed) could not say how many there are."""
    expression = {
        "constant_value": ["${aws_subnet.private[0].id}", "${aws_subnet.private[1].id}"],
        "references": [
            "aws_subnet.private[0].id",
            "aws_subnet.private[0]",
            "aws_subnet.private[1].id",
            "aws_subnet.private[1]",
            "aws_subnet.private",
        ],
    }

    review = review_plan("network", _first_deploy_at("aws_vpc_endpoint.sts", (), expression))

    assert review.endpoint_cost.endpoint_azs == 2
    assert review.endpoint_cost.monthly_usd == Decimal("14.60")


def test_the_cost_section_says_how_each_endpoint_was_priced_and_the_change_in_cost() -> None:
    # planned_values lists resources by address, as Terraform does: the gateway endpoint first.
    kms, sagemaker_api, sts = endpoint("kms"), endpoint("sagemaker_api", subnets=None), endpoint("sts", subnets=None)
    planned = [
        endpoint("dynamodb", kind="Gateway"),
        kms,
        endpoint("logs", subnets=None),
        sagemaker_api,
        endpoint("ssm", subnets=None),
        sts,
    ]
    listed = {
        "sagemaker_api": ["${aws_subnet.a.id}", "${aws_subnet.b.id}", "${aws_subnet.c.id}"],
        "sts": ["${aws_subnet.a.id}", "${aws_subnet.b.id}"],
    }
    configuration = {
        "root_module": {
            "resources": [
                {
                    "address": f"aws_vpc_endpoint.{name}",
                    "mode": "managed",
                    "type": "aws_vpc_endpoint",
                    "name": name,
                    "expressions": {"subnet_ids": {"constant_value": subnets}},
                }
                for name, subnets in listed.items()
            ]
            + [
                {
                    "address": "aws_vpc_endpoint.logs",
                    "mode": "managed",
                    "type": "aws_vpc_endpoint",
                    "name": "logs",
                    "expressions": {"subnet_ids": {"references": ["var.subnet_ids"]}},
                }
            ]
        }
    }
    document = plan(
        *[
            change(
                f"aws_vpc_endpoint.{name}",
                ["create"],
                after={"vpc_endpoint_type": "Interface"},
                after_unknown={"subnet_ids": True},
            )
            for name in ("logs", "sagemaker_api", "ssm", "sts")
        ],
        planned=planned,
        configuration=configuration,
        prior_state={
            "format_version": "1.0",
            "terraform_version": "1.11.4",
            "values": {"root_module": {"resources": [kms]}},
        },
    )

    review = review_plan("network", document)

    assert review.endpoint_cost.configured_az_endpoints == ("aws_vpc_endpoint.sagemaker_api", "aws_vpc_endpoint.sts")
    report = render_stack_report(review)
    section = report[report.index("## Interface endpoint cost\n") : report.index("## All changes")]
    assert section == (
        "## Interface endpoint cost\n\n"
        "5 interface endpoints, 7 endpoint-AZs in total (one per subnet): 7 x USD 0.01 per hour x 730 h = "
        "**USD 51.10 per month** (fixed charge; data processing is extra, USD 0.01 per GB; price is the "
        "us-east-1/us-west-2 list price: aws.amazon.com/privatelink/pricing, as quoted by awsnegotiations.com, "
        "2026-05).\n\n"
        "2 of them get subnets created in this apply: their AZs are counted from the subnets their configuration "
        "lists.\n\n"
        "Not priced, subnets unknown until apply: `aws_vpc_endpoint.logs`, `aws_vpc_endpoint.ssm`.\n\n"
        "Currently USD 14.60 per month; this plan changes it by USD +36.50.\n\n"
    )


def test_the_run_total_adds_every_stack_and_says_when_endpoints_are_left_out() -> None:
    network = review_plan("network", plan(planned=[endpoint("sts"), endpoint("logs", subnets=None)]))
    first = _first_deploy_at("aws_vpc_endpoint.sts", (), THREE_SUBNETS)
    first["planned_values"]["root_module"]["resources"].append(endpoint("ssm", subnets=None))
    lab = review_plan("lab", first)
    run = RunReview((network, lab))

    assert run.endpoint_cost == EndpointCost(
        interface_endpoints=4,
        endpoint_azs=5,
        unknown_az_endpoints=("aws_vpc_endpoint.logs", "aws_vpc_endpoint.ssm"),
        configured_az_endpoints=("aws_vpc_endpoint.sts",),
    )
    report = render_run_report(run)
    assert "| **Total** | 1 | 0 | 0 | 0 | 36.50 |" in report
    assert (
        "The endpoint total leaves out 2 interface endpoints whose subnets are unknown until apply "
        "(listed under their stack)."
    ) in report
    priced = render_run_report(RunReview((review_plan("network", plan(planned=[endpoint("sts")])),)))
    assert "The endpoint total leaves out" not in priced


# --------------------------------------------------------------------------
# Permission call-outs in both reports


def _passrole(stack: str) -> Any:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": f"arn:aws:iam::111111111111:role/{stack}-exec",
                }
            ],
        }
    )
    return review_plan(
        stack, plan(change("aws_iam_role_policy.exec", ["create"], after={"role": f"{stack}-exec", "policy": policy}))
    )


def test_the_run_report_lists_every_stacks_permission_callouts_by_stack() -> None:
    report = render_run_report(RunReview((_passrole("network"), review_plan("state", plan()), _passrole("workload"))))

    block = report[report.index("## Permission call-outs") : report.index("## Summary")]
    assert block == (
        "## Permission call-outs (4): wildcards, new services, iam:PassRole, Principal *\n\n"
        "- `network`: `aws_iam_role_policy.exec` (inline policy) grants iam:PassRole on "
        "arn:aws:iam::111111111111:role/network-exec\n"
        "- `network`: new service `iam` granted by `aws_iam_role_policy.exec`\n"
        "- `workload`: `aws_iam_role_policy.exec` (inline policy) grants iam:PassRole on "
        "arn:aws:iam::111111111111:role/workload-exec\n"
        "- `workload`: new service `iam` granted by `aws_iam_role_policy.exec`\n\n"
        "Every statement granted or removed is listed per stack under Permissions.\n\n"
    )


def test_a_stack_report_lists_its_permission_callouts_without_the_stack_name() -> None:
    report = render_stack_report(_passrole("workload"))

    assert report.startswith(
        "# Plan review: stack `workload`\n\n"
        "**No warnings:** nothing is destroyed, no long-lived resource is replaced and no other stack's next plan "
        "is affected.\n\n"
        "## Permission call-outs (2): wildcards, new services, iam:PassRole, Principal *\n\n"
        "- `aws_iam_role_policy.exec` (inline policy) grants iam:PassRole on arn:aws:iam::111111111111:role/workload-exec\n"
        "- new service `iam` granted by `aws_iam_role_policy.exec`\n\n"
        "Every statement granted or removed is listed per stack under Permissions.\n\n"
        "**Plan:** 1 to add"
    )


# --------------------------------------------------------------------------
# CLI arguments and help


def test_cli_help_says_how_to_name_plans_and_where_reports_go(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])

    assert excinfo.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert text.startswith(
        "usage: python -m isolated_studio.ops.plan_review [-h] [--out OUT] [--stack-dir STACK_DIR] "
        "[--synthesized OUTDIR] STACK=plan.json [STACK=plan.json ...] "
        "Write a Markdown review of Terraform plans (terraform show -json output)."
    )
    assert "--out OUT write the run report here (default: stdout)" in text
    assert "--stack-dir STACK_DIR also write one report per stack as DIR/STACK.md" in text


@pytest.mark.parametrize("argument", ["network.json", "=network.json", "network="])
def test_cli_names_the_argument_without_stack_or_path(argument: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([argument])

    assert stopped.value.code == 2  # argparse's usage error
    assert f"expected STACK=plan.json, got {argument!r}" in capsys.readouterr().err


def test_cli_splits_stack_from_path_at_the_first_equals_sign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run=2025-01-15" / "network.json"  # a directory named key=value, as CI artifacts often are
    path.parent.mkdir()
    path.write_text(json.dumps(plan(change("aws_route.nat", ["delete"], before={}))))

    assert main([f"network={path}"]) == 0

    assert "## Stack `network`" in capsys.readouterr().out


def test_cli_rewrites_the_stack_reports_of_an_earlier_run(tmp_path: Path) -> None:
    (tmp_path / "network.json").write_text(json.dumps(plan(change("aws_route.nat", ["delete"], before={}))))
    stack_dir = tmp_path / "reviews"
    arguments = [
        f"network={tmp_path / 'network.json'}",
        "--out",
        str(tmp_path / "review.md"),
        "--stack-dir",
        str(stack_dir),
    ]
    assert main(arguments) == 0
    (tmp_path / "network.json").write_text(json.dumps(plan()))

    assert main(arguments) == 0

    assert "**No changes.**" in (stack_dir / "network.md").read_text()


def test_cli_explains_a_json_file_that_is_not_an_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "resources.json"
    listing.write_text(json.dumps([{"address": "aws_vpc.main"}]))  # e.g. a jq selection instead of the plan

    with pytest.raises(SystemExit) as excinfo:
        main([f"network={listing}"])

    assert excinfo.value.code == 2
    assert f"error: {listing} is not a Terraform plan JSON object" in capsys.readouterr().err
