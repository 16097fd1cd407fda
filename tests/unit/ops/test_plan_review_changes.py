"""What a reviewer approves from: the settings, policies, tags, costs and warnings of a change.

Most tests read the two real plans in tests/golden/plans (a team change of the workload and a
VPC CIDR change of the network, planned by Terraform; tests/make_review_plans.py); the rest
build the smallest plan that shows one rule.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from test_plan_review import change, plan

from isolated_studio.ops import plan_review
from isolated_studio.ops.permissions import Statement, covers
from isolated_studio.ops.plan_review import (
    GROUP_ACROSS_STACKS,
    GROUP_DATA_LOSS,
    GROUP_DESTROYED,
    ReviewWarning,
    RunReview,
    render_run_report,
    review_plan,
)

PLANS = Path(__file__).parents[2] / "golden" / "plans"
DOMAIN = "aws_sagemaker_domain.studio_domain_F1B3BB3C"
NOTEBOOKS_POLICY = "aws_s3_bucket_policy.notebooks_policy_F2797478"
NOTEBOOKS_DOCUMENT = "notebooks_policy-document_E9FFB367"


@pytest.fixture(scope="module")
def team() -> dict:
    return json.loads((PLANS / "team-change.workload.plan.json").read_text())


@pytest.fixture(scope="module")
def cidr() -> dict:
    return json.loads((PLANS / "cidr-change.network.plan.json").read_text())


# --------------------------------------------------------------------------- the team change


def test_the_settings_that_change_are_shown_old_to_new(team):
    settings = {(c.address.split(".")[0], c.setting): (c.old, c.new) for c in review_plan("workload", team).settings}
    assert settings == {
        ("aws_sagemaker_domain", "JupyterLab instance type (users)"): ("ml.t3.medium", "ml.m5.large"),
        ("aws_sagemaker_domain", "JupyterLab instance type (spaces)"): ("ml.t3.medium", "ml.m5.large"),
        ("aws_sagemaker_domain", "home EFS when the domain is deleted"): ("Delete", "Retain"),
        ("aws_sagemaker_mlflow_tracking_server", "MLflow tracking server size"): ("Small", "Medium"),
        ("aws_sagemaker_user_profile", "user profile"): ("(new)", "analyst"),
    }


def test_a_tag_changed_everywhere_is_one_line_not_a_row_per_resource(team):
    review = review_plan("workload", team)
    report = render_run_report(RunReview((review,)))
    assert len(review.tags_only) == 27
    assert "**27 resources change only their tags** (in place): CostCenter: (none) -> ml-42." in report
    all_changes = report.split("### All changes", 1)[1]
    assert not [c for c in review.tags_only if f"`{c.address}`" in all_changes]
    assert "(27 of the changes touch only tags)" in report


def test_policies_known_only_after_apply_are_rendered_and_the_same_statements_are_not_listed(team):
    """Terraform defers every policy document on a tag change: rendered from the synthesized
    documents with the plan's values, they keep every statement."""
    permissions = review_plan("workload", team).permissions
    assert permissions.documents == ()
    assert NOTEBOOKS_POLICY in permissions.unchanged and len(permissions.unchanged) == 4
    assert "(known after apply)" not in render_run_report(RunReview((review_plan("workload", team),)))


def _synthesized_with(team: dict, statements: list[dict]) -> dict:
    """The workload's synthesized notebooks bucket policy document, with ``statements`` instead."""
    document = next(
        r
        for r in team["configuration"]["root_module"]["resources"]
        if r["address"] == f"data.aws_iam_policy_document.{NOTEBOOKS_DOCUMENT}"
    )
    block = plan_review_constants(document["expressions"])
    block["statement"] = statements
    return {"data": {"aws_iam_policy_document": {NOTEBOOKS_DOCUMENT: block}}}


def plan_review_constants(expressions: dict) -> dict:
    from isolated_studio.ops.permissions import _constants

    return _constants(expressions)


def test_a_widening_in_the_synthesized_document_is_shown_statement_by_statement_and_called_out_first(team):
    base = plan_review_constants(
        next(
            r
            for r in team["configuration"]["root_module"]["resources"]
            if r["address"] == f"data.aws_iam_policy_document.{NOTEBOOKS_DOCUMENT}"
        )["expressions"]
    )["statement"]
    widened = copy.deepcopy(base)
    read_write = next(s for s in widened if s["sid"] == "LabRolesReadWrite")
    read_write["actions"] = ["s3:*"]
    read_write["resources"] = ["*"]

    review = review_plan("workload", team, _synthesized_with(team, widened))

    (document,) = review.permissions.documents
    assert document.address == NOTEBOOKS_POLICY and document.widens
    assert [s.actions for s in document.granted] == [("s3:*",)]
    assert [s.actions for s in document.removed] == [
        ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject")
    ]
    report = render_run_report(RunReview((review,)))
    callouts = report.split("## Permission call-outs", 1)[1].split("\n## ", 1)[0]
    assert callouts.index(f"WIDENS `{NOTEBOOKS_POLICY}`") < callouts.index("grants wildcard actions s3:*")
    assert report.index("## Permission call-outs") < report.index("## Summary")
    assert (
        f"#### `{NOTEBOOKS_POLICY}`: bucket policy of bucket `studio-emu-notebooks-123456789012-us-west-2`, "
        "update: WIDENS access" in report
    )


def test_a_value_this_apply_creates_stays_a_readable_reference():
    document = {
        "statement": [
            {
                "effect": "Allow",
                "actions": ["s3:GetObject"],
                "resources": ["${aws_s3_bucket.b.arn}/*"],
                "principals": [{"type": "AWS", "identifiers": ["${aws_iam_role.new.arn}"]}],
            }
        ]
    }
    review = review_plan(
        "workload",
        plan(
            change("aws_s3_bucket_policy.p", ["create"], after={"bucket": "b"}, after_unknown={"policy": True}),
            planned=[
                {
                    "address": "aws_s3_bucket.b",
                    "mode": "managed",
                    "type": "aws_s3_bucket",
                    "name": "b",
                    "values": {"arn": "arn:aws:s3:::lab"},
                }
            ],
            configuration={
                "root_module": {
                    "resources": [
                        {
                            "address": "aws_s3_bucket_policy.p",
                            "expressions": {
                                "policy": {
                                    "references": [
                                        "data.aws_iam_policy_document.d.json",
                                        "data.aws_iam_policy_document.d",
                                    ]
                                }
                            },
                        }
                    ]
                }
            },
        ),
        {"data": {"aws_iam_policy_document": {"d": document}}},
    )

    (doc,) = review.permissions.documents
    (statement,) = doc.granted
    assert statement.resources == ("arn:aws:s3:::lab/*",)  # known: the bucket exists
    assert statement.principals == ("AWS: ${aws_iam_role.new.arn}",)  # created in this apply
    assert doc.note == "1 value(s) created in this apply shown as the references the synthesized document makes"


@pytest.mark.parametrize(
    "old, new, widens",
    [
        (["s3:GetObject", "s3:PutObject"], ["s3:GetObject"], False),
        (["s3:GetObject"], ["s3:GetObject", "s3:DeleteObject"], True),
        (["s3:*"], ["s3:GetObject"], False),
    ],
)
def test_a_statement_covered_by_the_one_it_replaces_does_not_widen(old, new, widens):
    assert (
        not covers(
            Statement("Allow", actions=tuple(old), resources=("arn:aws:s3:::b/*",)),
            Statement("Allow", actions=tuple(new), resources=("arn:aws:s3:::b/*",)),
        )
    ) is widens


def test_a_condition_dropped_or_a_deny_removed_widens():
    conditioned = Statement(
        "Allow", actions=("s3:GetObject",), resources=("*",), conditions=("Bool aws:SecureTransport = true",)
    )
    assert covers(Statement("Allow", actions=("s3:GetObject",), resources=("*",)), conditioned)
    assert not covers(conditioned, Statement("Allow", actions=("s3:GetObject",), resources=("*",)))


def test_the_monthly_cost_names_what_the_price_table_does_not_hold(team):
    (server, *instances) = review_plan("workload", team).costs
    assert server.unpriced and server.price == "not in the price table: Small, Medium in us-west-2"
    assert all(line.per_hour for line in instances)


def test_a_priced_change_is_costed_per_month_with_its_source():
    eu = {"provider_config": {"aws": {"expressions": {"region": {"constant_value": "eu-west-2"}}}}, "root_module": {}}
    server = {
        "address": "aws_sagemaker_mlflow_tracking_server.m",
        "mode": "managed",
        "type": "aws_sagemaker_mlflow_tracking_server",
        "name": "m",
        "values": {"tracking_server_size": "Small"},
    }
    review = review_plan(
        "workload",
        plan(change(server["address"], ["create"], after=server["values"]), planned=[server], configuration=eu),
    )
    (line,) = review.costs
    assert (line.now_usd, line.after_usd, line.change_usd) == (None, Decimal("468.660"), Decimal("468.660"))
    assert line.price == (
        "Small: USD 0.642 per hour (aws.amazon.com/sagemaker-ai/pricing, as quoted in "
        "github.com/londonaicentre/FLIP/issues/745, 2026-07-09)"
    )
    assert "| +468.66 |" in render_run_report(RunReview((review,)))


# --------------------------------------------------------------------------- the CIDR change


def test_a_cidr_change_warns_that_the_workloads_next_plan_replaces_the_domain(cidr):
    review = review_plan("network", cidr)
    across = [w for w in review.warnings if w.group == GROUP_ACROSS_STACKS]
    assert [w.message.split(":")[0] for w in across] == [
        "the workload's next plan REPLACES the Studio domain and its user profiles",
        "the workload's next plan changes the security groups of the domain, its users and spaces (in place)",
    ]
    assert "`vpc_id`" in across[0].message and "`private_subnet_ids`" in across[0].message
    report = render_run_report(RunReview((review,)))
    assert report.index("### Data lost (1)") < report.index(f"### {GROUP_ACROSS_STACKS} (2)")
    assert {(c.setting, c.old, c.new) for c in review.settings if c.address.startswith("aws_vpc.")} == {
        ("CIDR", "10.20.0.0/16", "10.30.0.0/16")
    }


def test_the_workloads_own_outputs_are_no_cross_stack_warning(team):
    assert not [w for w in review_plan("workload", team).warnings if w.group == GROUP_ACROSS_STACKS]


def test_endpoints_replaced_with_aws_default_policy_are_not_listed_as_policy_changes(cidr):
    """Their policy is not configured (AWS's default, computed): nothing of ours to review."""
    assert review_plan("network", cidr).permissions.documents == ()


# --------------------------------------------------------------------------- warnings


def test_destroy_warnings_are_grouped_data_loss_first_and_the_rest_collapsed_per_type():
    objects = [change(f"aws_s3_object.lab_{i}", ["delete"], before={"key": f"k{i}"}) for i in range(3)]
    review = review_plan(
        "workload",
        plan(
            change("aws_route.r", ["delete"], before={}),
            *objects,
            change("aws_s3_bucket.lab", ["delete"], before={"bucket": "lab"}),
        ),
    )
    report = render_run_report(RunReview((review,)))
    block = report.split("## WARNINGS (5): read before applying", 1)[1].split("\n## ", 1)[0]
    assert block.index(f"### {GROUP_DATA_LOSS} (1)") < block.index(f"### {GROUP_DESTROYED} (4)")
    assert "- `workload`: DESTROY `aws_s3_bucket.lab`; loses the S3 bucket: its objects" in block
    assert "- `workload`: DESTROY 3 `aws_s3_object`: `lab_0`, `lab_1`, `lab_2`" in block
    assert "- `workload`: DESTROY `aws_route.r`" in block


def test_a_new_warning_rule_is_one_more_function_and_its_group_comes_after_ours(monkeypatch):
    def refuse_domain_updates(stack, plan_json, changes):
        for c in changes:
            if c.type == "aws_sagemaker_domain" and c.action is plan_review.Action.UPDATE:
                yield ReviewWarning(stack, c.address, "refuse", "the domain cannot be updated in place", "Refused")

    monkeypatch.setattr(plan_review.rules, "WARNING_RULES", [*plan_review.rules.WARNING_RULES, refuse_domain_updates])
    review = review_plan(
        "workload",
        plan(
            change(DOMAIN, ["update"], before={"a": 1}, after={"a": 2}),
            change("aws_s3_bucket.lab", ["delete"], before={"bucket": "lab"}),
        ),
    )
    report = render_run_report(RunReview((review,)))
    assert report.index(f"### {GROUP_DATA_LOSS} (1)") < report.index("### Refused (1)")
