"""The whole plan review, byte for byte, for plans that exercise every part of the report.

The other plan-review tests check one fact each; this one pins the complete Markdown a
reviewer reads (headings, tables, warnings, cost, the CLI's files and summary line), so a
change to the report shows up as a diff of tests/golden/*.md to review. Regenerate after an
intended change with: STUDIO_REGENERATE_GOLDEN=1 pytest tests/unit/ops/test_plan_review_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_plan_review import change, endpoint, plan

from isolated_studio.ops.plan_review import main

GOLDEN = Path(__file__).parents[2] / "golden"

NETWORK = plan(
    change("aws_vpc_endpoint.sts", ["create"], after={"service_name": "com.amazonaws.us-east-1.sts"}),
    change("aws_vpc_endpoint.logs", ["create"], after={"service_name": "com.amazonaws.us-east-1.logs"}),
    change(
        "aws_security_group.studio",
        ["update"],
        before={"name": "studio", "ingress": [{"cidr_blocks": ["10.0.0.0/16"]}], "tags": {"a": "1"}},
        after={"name": "studio", "ingress": [{"cidr_blocks": ["10.0.0.0/8"]}], "tags": {"a": "1"}},
        after_unknown={"tags_all": {"a": True}, "name": False},
    ),
    change(
        "aws_route.default",
        ["delete"],
        before={"destination_cidr_block": "10.20.0.0/16"},
        action_reason="delete_because_no_resource_config",
    ),
    change(
        "aws_iam_role_policy.flow",
        ["delete", "create"],
        before={"policy": "{}"},
        after={"policy": "{}"},
        change_extra={"replace_paths": [["policy"], ["statement", 0, "resources"]]},
        action_reason="replace_because_cannot_update",
    ),
    change("aws_kms_key.flow", ["forget"], before={"description": "k"}),
    change("aws_subnet.old", ["delete"], before={"cidr_block": "10.0.9.0/24"}, deposed="0badcafe"),
    change(
        "aws_flow_log.vpc",
        ["update"],
        before={"traffic_type": "REJECT"},
        after={"traffic_type": "ALL"},
        previous_address="aws_flow_log.all",
    ),
    planned=[endpoint("sts"), endpoint("logs", subnets=None), endpoint("s3", kind="Gateway")],
)

WORKLOAD = plan(
    change(
        "aws_sagemaker_domain.studio",
        ["create", "delete"],
        before={"domain_name": "d"},
        after={"domain_name": "d2"},
        change_extra={"replace_paths": [["domain_name"]]},
    ),
    change(
        "aws_sagemaker_user_profile.alice",
        ["delete", "create"],
        before={"user_profile_name": "alice"},
        after={"user_profile_name": "alice"},
        action_reason="a reason Terraform may add | later\non two lines",
    ),
    change("aws_s3_bucket_policy.lab", ["update"], before={"policy": "a"}, after={"policy": "b"}),
    errored=True,
)

STATE = plan()


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STUDIO_REGENERATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; review the diff, then regenerate"


def test_the_cli_writes_the_reviewed_report_and_one_per_stack(tmp_path, capsys):
    files = {}
    for stack, document in (("network", NETWORK), ("workload", WORKLOAD), ("state", STATE)):
        files[stack] = tmp_path / f"{stack}.json"
        files[stack].write_text(json.dumps(document))
    out, stack_dir = tmp_path / "review.md", tmp_path / "nested" / "stacks"

    code = main([f"{s}={p}" for s, p in files.items()] + ["--out", str(out), "--stack-dir", str(stack_dir)])

    assert code == 0
    check("run-report.md", out.read_text(encoding="utf-8"))
    for stack in files:
        check(f"stack-{stack}.md", (stack_dir / f"{stack}.md").read_text(encoding="utf-8"))
    err = capsys.readouterr().err
    assert err == (
        f"review written to {out} (network: +2 ~2 -/+1 -2; workload: +0 ~1 -/+2 -0; state: +0 ~0 -/+0 -0; 5 warnings)\n"
    )


def test_the_cli_writes_to_stdout_without_out(tmp_path, capsys):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(STATE))
    assert main([f"state={path}"]) == 0
    captured = capsys.readouterr()
    check("stdout-state.md", captured.out)
    assert captured.err == "review written to stdout (state: +0 ~0 -/+0 -0; 0 warnings)\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["a=x.json", "a=y.json"], "each stack may be given once, got ['a', 'a']"),
        (["network"], "expected STACK=plan.json, got 'network'"),
        (["network=a=b.json"], "No such file"),
    ],
)
def test_the_cli_names_what_is_wrong_with_its_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


# Real plans of two changes a platform team makes (Terraform 1.11, hashicorp/aws 5.100.0;
# regenerate them with tests/make_review_plans.py): the reviews a reviewer approves from.
PLANS = GOLDEN / "plans"


@pytest.mark.parametrize("name, stack", [("team-change", "workload"), ("cidr-change", "network")])
def test_the_review_of_a_real_change_is_what_a_reviewer_approves_from(name, stack, tmp_path, capsys):
    out = tmp_path / "review.md"
    assert main([f"{stack}={PLANS / f'{name}.{stack}.plan.json'}", "--out", str(out)]) == 0
    check(f"{name}-review.md", out.read_text(encoding="utf-8"))
