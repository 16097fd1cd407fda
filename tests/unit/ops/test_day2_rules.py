"""The day-2 rules on plans: what AWS fails part-way through an apply is refused before it starts."""

from __future__ import annotations

import pytest

from isolated_studio.ops import day2
from isolated_studio.ops.errors import Refused
from isolated_studio.ops.plan_review import review_plan
from isolated_studio.ops.results import StackPlan
from isolated_studio.ops.workflow import Workflow

DOMAIN = "aws_sagemaker_domain.studio_domain"
LCC_ARN = "arn:aws:sagemaker:us-west-2:111122223333:studio-lifecycle-config/studio-dev-lab-setup"


def entry(address, actions, before, after, **extra):
    return {
        "address": address,
        "type": address.split(".")[0],
        "name": address.split(".")[1],
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
        **extra,
    }


def plan(*entries):
    return {"format_version": "1.2", "planned_values": {"root_module": {}}, "resource_changes": list(entries)}


VPC_ONLY = {
    "app_network_access_type": "VpcOnly",
    "domain_settings": [{"docker_settings": [{"vpc_only_trusted_accounts": []}]}],
    "tags": {"Name": "studio-dev"},
    "tags_all": {"Name": "studio-dev"},
}


def test_an_in_place_update_of_a_vpc_only_domain_is_refused_naming_the_provider_issue():
    after = {**VPC_ONLY, "domain_settings": [{"docker_settings": [{"vpc_only_trusted_accounts": ["123456789012"]}]}]}
    review = review_plan("workload", plan(entry(DOMAIN, ["update"], VPC_ONLY, after)))
    (warning,) = [w for w in review.warnings if w.kind == day2.REFUSE]
    assert warning.address == DOMAIN
    assert "hashicorp/terraform-provider-aws#45528" in warning.message
    assert "domain_settings; from workload.docker_trusted_accounts" in warning.message
    assert "aws sagemaker update-domain" in warning.message  # the way out


def test_a_retention_change_is_refused_with_a_way_out_that_needs_no_update_domain():
    after = {**VPC_ONLY, "retention_policy": [{"home_efs_file_system": "Retain"}]}
    before = {**VPC_ONLY, "retention_policy": [{"home_efs_file_system": "Delete"}]}
    (message,) = [m for _, m in day2.refusals(plan(entry(DOMAIN, ["update"], before, after)))]
    assert "from workload.retain_home_efs" in message and "revert workload.retain_home_efs" in message


@pytest.mark.parametrize(
    "before, after",
    [
        (VPC_ONLY, {**VPC_ONLY, "tags": {"Name": "studio-dev", "Team": "ml"}, "tags_all": {"Team": "ml"}}),  # tags only
        (
            {**VPC_ONLY, "app_network_access_type": "PublicInternetOnly"},
            {**VPC_ONLY, "app_network_access_type": "PublicInternetOnly", "retention_policy": []},
        ),
    ],
)
def test_a_tag_change_or_a_domain_that_is_not_vpc_only_is_not_refused(before, after):
    assert day2.refusals(plan(entry(DOMAIN, ["update"], before, after))) == []


def test_deleting_a_lifecycle_configuration_a_profile_lists_is_refused():
    lcc = entry("aws_sagemaker_studio_lifecycle_config.lcc", ["delete", "create"], {"arn": LCC_ARN}, {})
    profile = entry(
        "aws_sagemaker_user_profile.alice",
        ["no-op"],
        {"user_settings": [{"jupyter_lab_app_settings": [{"lifecycle_config_arns": [LCC_ARN]}]}]},
        {},
    )
    ((address, message),) = day2.refusals(plan(lcc, profile))
    assert address == "aws_sagemaker_studio_lifecycle_config.lcc"
    assert "ResourceInUse" in message and "`aws_sagemaker_user_profile.alice`" in message
    # Replaced together with everything that lists it (a new domain): nothing keeps it in use.
    gone = entry("aws_sagemaker_user_profile.alice", ["delete", "create"], profile["change"]["before"], {})
    assert day2.refusals(plan(lcc, gone)) == []


def test_a_replaced_tracking_server_says_what_is_lost_and_how_to_upgrade_instead():
    server = entry(
        "aws_sagemaker_mlflow_tracking_server.mlflow",
        ["delete", "create"],
        {"mlflow_version": "2.16"},
        {"mlflow_version": "2.20"},
        action_reason="replace_because_cannot_update",
    )
    (warning,) = review_plan("workload", plan(server)).warnings
    assert warning.kind == "replace"
    assert "Every experiment, run, metric and registered model" in warning.message
    assert "mlflow-export-import" in warning.message and "beside this one" in warning.message


def test_deploy_refuses_a_refused_change_before_showing_or_applying_anything(dev_config, tmp_path):
    after = {**VPC_ONLY, "retention_policy": [{"home_efs_file_system": "Retain"}]}
    review = review_plan("workload", plan(entry(DOMAIN, ["update"], VPC_ONLY, after)))
    planned = StackPlan("workload", tmp_path / "workload.tfplan", tmp_path / "workload.plan.json", review, True)
    workflow = Workflow(dev_config, tmp_path, tmp_path, tf=None, say=lambda line: None)  # no Terraform is reached
    for assume_yes, allow_replace in ((False, False), (True, True)):
        with pytest.raises(
            Refused, match=r"is not applied: `aws_sagemaker_domain.studio_domain`: this in-place update"
        ):
            workflow._confirm_apply(planned, assume_yes, allow_replace)


def test_a_tags_only_domain_update_is_not_refused_for_empty_values_the_provider_plans():
    # The provider plans unset nested arguments as "" or [] where the state holds null (the day-2
    # matrix's tags row, planned by 5.100.0): that sends no UpdateDomain, so nothing is refused.
    settings = {
        "docker_settings": [{"vpc_only_trusted_accounts": None}],
        "execution_role_identity_config": None,
        "security_group_ids": ["sg-1"],
    }
    empty = {
        "docker_settings": [{"vpc_only_trusted_accounts": []}],
        "execution_role_identity_config": "",
        "security_group_ids": ["sg-1"],
    }
    entry = {
        "type": "aws_sagemaker_domain",
        "address": "aws_sagemaker_domain.d",
        "change": {
            "actions": ["update"],
            "before": {
                "app_network_access_type": "VpcOnly",
                "tags": {"CostCenter": "1"},
                "domain_settings": [settings],
            },
            "after": {"app_network_access_type": "VpcOnly", "tags": {"CostCenter": "2"}, "domain_settings": [empty]},
        },
    }
    assert day2.refusals({"resource_changes": [entry]}) == []
    entry["change"]["after"]["domain_settings"][0]["docker_settings"][0]["vpc_only_trusted_accounts"] = ["123456789012"]
    assert [a for a, _ in day2.refusals({"resource_changes": [entry]})] == ["aws_sagemaker_domain.d"]
