"""`drift`: every applied stack planned, the boundary's out-of-band changes and the live audit
reported whether or not a plan acts on them; exit 0/2/1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_workflow import FakeTerraform, World, emulator_config, make_workflow

from isolated_studio.checks.boundary import Finding
from isolated_studio.ops import audit
from isolated_studio.ops import workflow as wf
from isolated_studio.ops.drift import EXIT_DRIFT, EXIT_NO_DRIFT, boundary_changes, check_drift, out_of_band


@pytest.fixture(autouse=True)
def live_audit(monkeypatch) -> list[audit.AuditResult]:
    """The live audit drift runs, with its result chosen by the test (no AWS here)."""
    results = [audit.AuditResult(checked=["VPC vpc-1 (10.20.0.0/16)"])]
    monkeypatch.setattr(audit, "run_audit", lambda workflow, write=True: results[0])
    return results


TAG_DRIFT = {
    "address": "aws_vpc.r0",
    "type": "aws_vpc",
    "mode": "managed",
    "change": {
        "actions": ["update"],
        "before": {"id": "vpc-1", "tags": {"Name": "studio"}},
        "after": {"id": "vpc-1", "tags": {"Name": "studio", "Owner": "someone"}},
    },
}


def test_no_drift_exits_0_and_says_so_at_the_top(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    result = check_drift(flow, ["state", "network", "workload"])

    assert result.exit_code == EXIT_NO_DRIFT and result.drifted == []
    assert [s.stack for s in result.run.skipped] == ["workload"]
    assert "not applied: its state is empty" in result.run.skipped[0].reason
    assert "state: no drift" in lines and "network: no drift" in lines
    report = result.run.report.read_text()
    assert report.index("## Drift: none") < report.index("## Summary")
    assert "Checked `state`, `network`" in report


def test_a_change_outside_terraform_is_drift_with_exit_2_and_named_in_the_report(tmp_path):
    tf = FakeTerraform(
        {},
        changes={"network": [("aws_vpc", ["update"])]},
        state={"network": ["aws_vpc.vpc"]},
        drift={"network": [TAG_DRIFT]},
    )
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.exit_code == EXIT_DRIFT and result.drifted == ["network"]
    assert any(
        line.startswith("network: DRIFT") and "1 resource(s) changed outside Terraform" in line for line in lines
    )
    report = result.run.report.read_text()
    assert "## DRIFT in `network`" in report
    assert "| `aws_vpc.r0` | changed | tags |" in report


def test_refresh_noise_the_plan_leaves_alone_is_neither_drift_nor_listed(tmp_path):
    noise = {**TAG_DRIFT, "address": "aws_s3_bucket.b", "type": "aws_s3_bucket"}
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]}, drift={"network": [noise]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.exit_code == EXIT_NO_DRIFT and result.outside["network"] == []


def test_a_stack_that_was_never_applied_is_not_checked(tmp_path):
    tf = FakeTerraform({})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = check_drift(flow, ["state", "network"])

    assert result.exit_code == EXIT_NO_DRIFT and result.run.planned == []
    reasons = {s.stack: s.reason for s in result.run.skipped}
    assert "no bootstrap state" in reasons["state"] and "does not exist" in reasons["network"]


def test_a_failed_plan_is_an_error_and_still_writes_the_report(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]}, fail_plan={"network"})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(wf.WorkflowError, match="network"):
        check_drift(flow, ["state", "network"])
    assert (flow.plan_dir / "review.md").is_file()


def test_the_cli_maps_a_bad_configuration_to_exit_1_not_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[project]\nname_prefix = "X"\n')
    monkeypatch.setenv("STUDIO_CONFIG", str(bad))
    assert wf.main(["drift", "--no-synth", "--outdir", str(tmp_path / "none")]) == 1
    assert "configuration problem" in capsys.readouterr().err


def test_the_cli_returns_the_drift_exit_code(tmp_path, monkeypatch):
    class Outcome:
        exit_code = EXIT_DRIFT

    monkeypatch.setattr(wf, "prepare", lambda args, config, say, interrupts=None: None)
    monkeypatch.setattr(wf, "execute", lambda args, workflow: Outcome())
    monkeypatch.setenv("STUDIO_CONFIG", str(Path(wf.PROJECT_ROOT) / "config" / "emulator.toml"))
    # Its own output directory: the run lock is taken there, and another worker may hold the checkout's.
    assert wf.main(["drift", "--outdir", str(tmp_path / "cdktf.out")]) == EXIT_DRIFT


def test_a_breach_the_live_audit_finds_is_drift_though_no_plan_changes_anything(tmp_path, live_audit):
    live_audit[0] = audit.AuditResult(
        findings=[
            Finding(
                "no-gateways", "igw-1", "internet gateway in the isolated VPC", "aws ec2 detach-internet-gateway ..."
            )
        ]
    )
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.drifted == [] and result.exit_code == EXIT_DRIFT
    report = result.run.report.read_text()
    assert report.index("## ISOLATION BREACHES (1)") < report.index("## Summary")
    assert (
        "| no-gateways | `igw-1` | internet gateway in the isolated VPC | aws ec2 detach-internet-gateway ... |"
        in report
    )


# --------------------------------------------------------------------------- the boundary, acted on or not

SG = "sg-0studio"


def sg_block(port: int, **peer: Any) -> dict[str, Any]:
    return {
        "cidr_blocks": [],
        "description": "",
        "from_port": port,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "tcp",
        "security_groups": [],
        "self": False,
        "to_port": port,
        **peer,
    }


def drift_plan(
    *drift: dict[str, Any],
    state: list[dict[str, Any]] = (),
    acted: list[str] = (),
    configured: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A plan JSON as Terraform writes it for a refresh that found ``drift``; ``state`` is the refreshed state."""
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {}},
        "resource_drift": list(drift),
        "resource_changes": [
            {
                "address": a,
                "type": a.split(".")[0],
                "mode": "managed",
                "change": {"actions": ["update"], "before": {}, "after": {"ingress": [], "egress": []}},
            }
            for a in acted
        ],
        "prior_state": {"values": {"root_module": {"resources": list(state)}}},
        "configuration": {
            "root_module": {
                "resources": [
                    {"address": a, "expressions": {k: {"constant_value": []} for k in keys}}
                    for a, keys in (configured or {}).items()
                ]
            }
        },
    }


def drifted(address: str, before: dict[str, Any], after: dict[str, Any], actions: list[str] = ("update",)) -> dict:
    return {
        "address": address,
        "type": address.split(".")[0],
        "mode": "managed",
        "change": {"actions": list(actions), "before": before, "after": after},
    }


MANAGED_RULES = [
    {
        "address": "aws_vpc_security_group_ingress_rule.nfs",
        "type": "aws_vpc_security_group_ingress_rule",
        "values": {
            "security_group_id": SG,
            "ip_protocol": "tcp",
            "from_port": 2049,
            "to_port": 2049,
            "cidr_ipv4": "10.20.0.0/16",
        },
    },
    {
        "address": "aws_vpc_security_group_ingress_rule.apps",
        "type": "aws_vpc_security_group_ingress_rule",
        "values": {
            "security_group_id": SG,
            "ip_protocol": "tcp",
            "from_port": 8192,
            "to_port": 8192,
            "referenced_security_group_id": SG,
        },
    },
    {
        "address": "aws_vpc_security_group_egress_rule.s3",
        "type": "aws_vpc_security_group_egress_rule",
        "values": {
            "security_group_id": SG,
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "prefix_list_id": "pl-s3",
        },
    },
]
MANAGED_INGRESS = [sg_block(2049, cidr_blocks=["10.20.0.0/16"]), sg_block(8192, self=True)]


def test_an_ssh_rule_added_by_hand_is_boundary_drift_terraform_leaves_in_place_with_the_command_to_revoke():
    """The issue's case: the plan shows the group under resource_drift and changes nothing."""
    plan = drift_plan(
        drifted(
            "aws_security_group.studio",
            {"id": SG, "ingress": [], "egress": []},
            {
                "id": SG,
                "ingress": [sg_block(22, cidr_blocks=["0.0.0.0/0"]), *MANAGED_INGRESS],
                "egress": [sg_block(443, prefix_list_ids=["pl-s3"])],
            },
        ),
        state=MANAGED_RULES,
    )

    (change,) = boundary_changes("network", plan)

    assert change.what == "rule ingress tcp port 22 from 0.0.0.0/0 added outside Terraform"
    assert not change.terraform_acts
    assert change.fix.endswith(
        "remove it: `aws ec2 revoke-security-group-ingress --group-id sg-0studio "
        "--ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]'`"
    )
    assert out_of_band(plan) == []  # nothing for the plan to act on


def test_the_groups_own_rules_read_back_by_the_refresh_are_no_drift():
    """Every refresh reads the rule resources' rules into the group: that alone is not drift."""
    plan = drift_plan(
        drifted(
            "aws_security_group.studio",
            {"id": SG, "ingress": [], "egress": []},
            {"id": SG, "ingress": MANAGED_INGRESS, "egress": [sg_block(443, prefix_list_ids=["pl-s3"])]},
        ),
        state=MANAGED_RULES,
    )
    assert boundary_changes("network", plan) == []


def test_a_rule_added_to_the_default_group_is_removed_by_terraform_which_owns_its_rules():
    plan = drift_plan(
        drifted(
            "aws_default_security_group.default",
            {"id": "sg-default", "ingress": [], "egress": []},
            {"id": "sg-default", "ingress": [], "egress": [sg_block(0, protocol="-1", cidr_blocks=["0.0.0.0/0"])]},
        ),
        acted=["aws_default_security_group.default"],
        configured={"aws_default_security_group.default": ["ingress", "egress"]},
    )
    (change,) = boundary_changes("network", plan)
    assert change.what == "rule egress all traffic to 0.0.0.0/0 added outside Terraform"
    assert change.terraform_acts and change.fix == "`make deploy STACKS=network` changes it back"


def test_a_route_added_by_hand_is_boundary_drift_with_the_command_to_delete_it():
    route = {"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "ipv6_cidr_block": "", "nat_gateway_id": ""}
    plan = drift_plan(
        drifted("aws_route_table.private", {"id": "rtb-1", "route": []}, {"id": "rtb-1", "route": [route]})
    )
    (change,) = boundary_changes("network", plan)
    assert change.what == "route to 0.0.0.0/0 through gateway_id=igw-1 added outside Terraform"
    assert "`aws ec2 delete-route --route-table-id rtb-1 --destination-cidr-block 0.0.0.0/0`" in change.fix


def test_an_endpoint_policy_edited_in_the_console_shows_its_statements_and_the_reset():
    default = json.dumps({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
    edited = json.dumps({"Statement": [{"Action": "s3:*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
    plan = drift_plan(
        drifted("aws_vpc_endpoint.sts", {"id": "vpce-1", "policy": default}, {"id": "vpce-1", "policy": edited})
    )
    (change,) = boundary_changes("network", plan)
    assert change.what == "policy: added Allow s3:* on * for *; missing Allow * on * for *"
    assert "`aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-1 --reset-policy`" in change.fix


def test_an_endpoint_policy_the_stacks_set_is_reported_once_on_its_own_resource_which_deploy_puts_back():
    default = json.dumps({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
    edited = json.dumps({"Statement": [{"Action": "s3:*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
    state = [
        {
            "address": "aws_vpc_endpoint_policy.sts",
            "type": "aws_vpc_endpoint_policy",
            "values": {"vpc_endpoint_id": "vpce-1", "policy": edited},
        }
    ]
    plan = drift_plan(
        drifted("aws_vpc_endpoint.sts", {"id": "vpce-1", "policy": default}, {"id": "vpce-1", "policy": edited}),
        drifted(
            "aws_vpc_endpoint_policy.sts",
            {"vpc_endpoint_id": "vpce-1", "policy": default},
            {"vpc_endpoint_id": "vpce-1", "policy": edited},
        ),
        state=state,
        acted=["aws_vpc_endpoint_policy.sts"],
    )
    (change,) = boundary_changes("network", plan)
    assert (change.address, change.what, change.terraform_acts) == (
        "aws_vpc_endpoint_policy.sts",
        "policy: added Allow s3:* on * for *; missing Allow * on * for *",
        True,
    )
    assert change.fix == "`make deploy STACKS=network` changes it back"


def test_inline_policies_and_attachments_added_to_a_role_by_hand_are_named_with_the_commands():
    role = {"name": "studio-exec", "inline_policy": [], "managed_policy_arns": []}
    refreshed = {
        "name": "studio-exec",
        "managed_policy_arns": [
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        ],
        "inline_policy": [
            {"name": "lab", "policy": "{}"},
            {
                "name": "extra",
                "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
            },
        ],
    }
    state = [
        {
            "address": "aws_iam_role_policy.lab",
            "type": "aws_iam_role_policy",
            "values": {"role": "studio-exec", "name": "lab"},
        },
        {
            "address": "aws_iam_role_policy_attachment.full",
            "type": "aws_iam_role_policy_attachment",
            "values": {"role": "studio-exec", "policy_arn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
        },
    ]
    changes = boundary_changes("workload", drift_plan(drifted("aws_iam_role.exec", role, refreshed), state=state))
    assert [(c.what, c.terraform_acts) for c in changes] == [
        ("inline policy extra added outside Terraform (Allow s3:* on *)", False),
        ("policy arn:aws:iam::aws:policy/AdministratorAccess attached outside Terraform", False),
    ]
    assert "`aws iam delete-role-policy --role-name studio-exec --policy-name extra`" in changes[0].fix
    assert (
        "`aws iam detach-role-policy --role-name studio-exec --policy-arn arn:aws:iam::aws:policy/AdministratorAccess`"
    ) in changes[1].fix


def test_a_role_whose_policies_are_exclusive_gets_them_removed_by_the_next_deploy():
    """modules/exclusive_role_policies.py: the plan changes the exclusive resources, and deploy removes
    what was added; the exclusive resources' own refresh is reported on the role, once."""
    role = {"name": "studio-exec", "inline_policy": [], "managed_policy_arns": []}
    refreshed = {
        "name": "studio-exec",
        "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
        "inline_policy": [{"name": "extra", "policy": "{}"}],
    }
    state = [
        {
            "address": "aws_iam_role_policies_exclusive.exec",
            "type": "aws_iam_role_policies_exclusive",
            "values": {"role_name": "studio-exec", "policy_names": ["extra"]},
        },
        {
            "address": "aws_iam_role_policy_attachments_exclusive.exec",
            "type": "aws_iam_role_policy_attachments_exclusive",
            "values": {"role_name": "studio-exec", "policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        },
    ]
    exclusive = drifted(
        "aws_iam_role_policies_exclusive.exec",
        {"role_name": "studio-exec", "policy_names": []},
        {"role_name": "studio-exec", "policy_names": ["extra"]},
    )
    plan = drift_plan(
        drifted("aws_iam_role.exec", role, refreshed),
        exclusive,
        state=state,
        acted=["aws_iam_role_policies_exclusive.exec", "aws_iam_role_policy_attachments_exclusive.exec"],
    )
    changes = boundary_changes("workload", plan)
    assert [(c.address, c.what, c.terraform_acts) for c in changes] == [
        ("aws_iam_role.exec", "inline policy extra added outside Terraform ()", True),
        ("aws_iam_role.exec", "policy arn:aws:iam::aws:policy/AdministratorAccess attached outside Terraform", True),
    ]
    assert changes[0].fix == (
        "`make deploy STACKS=workload` deletes it (the role's inline policies are exclusive: "
        "`aws_iam_role_policies_exclusive.exec`), or now: "
        "`aws iam delete-role-policy --role-name studio-exec --policy-name extra`"
    )
    assert changes[1].fix.startswith("`make deploy STACKS=workload` detaches it")


def test_a_group_and_a_role_of_one_stack_changed_by_hand_are_both_reported_with_the_roles_own_fix():
    """The network stack holds both: its default group sorts before the flow-log role in
    resource_drift, and the group's row must not change how the role's exclusive policies are read."""
    group = drifted(
        "aws_default_security_group.default",
        {"id": "sg-default", "ingress": [], "egress": []},
        {"id": "sg-default", "ingress": [], "egress": [sg_block(0, protocol="-1", cidr_blocks=["0.0.0.0/0"])]},
    )
    role = drifted(
        "aws_iam_role.flow_logs",
        {"name": "studio-flow-logs", "inline_policy": [], "managed_policy_arns": []},
        {"name": "studio-flow-logs", "inline_policy": [{"name": "extra", "policy": "{}"}], "managed_policy_arns": []},
    )
    state = [
        {
            "address": "aws_iam_role_policies_exclusive.flow_logs",
            "type": "aws_iam_role_policies_exclusive",
            "values": {"role_name": "studio-flow-logs", "policy_names": ["extra"]},
        }
    ]
    plan = drift_plan(
        group,
        role,
        state=state,
        acted=["aws_default_security_group.default", "aws_iam_role_policies_exclusive.flow_logs"],
        configured={"aws_default_security_group.default": ["ingress", "egress"]},
    )
    changes = boundary_changes("network", plan)
    assert [(c.address, c.what, c.terraform_acts) for c in changes] == [
        ("aws_default_security_group.default", "rule egress all traffic to 0.0.0.0/0 added outside Terraform", True),
        ("aws_iam_role.flow_logs", "inline policy extra added outside Terraform ()", True),
    ]
    assert "(the role's inline policies are exclusive: `aws_iam_role_policies_exclusive.flow_logs`)" in changes[1].fix


def test_the_domains_network_settings_bucket_policy_and_public_access_block_changed_by_hand():
    domain = drifted(
        "aws_sagemaker_domain.studio",
        {"app_network_access_type": "VpcOnly", "subnet_ids": ["subnet-1"], "default_landing_uri": "a"},
        {"app_network_access_type": "PublicInternetOnly", "subnet_ids": ["subnet-1"], "default_landing_uri": "b"},
    )
    block = drifted(
        "aws_s3_bucket_public_access_block.lab", {"block_public_policy": True}, {"block_public_policy": False}
    )
    policy = drifted(
        "aws_s3_bucket_policy.lab",
        {
            "policy": json.dumps(
                {"Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
            )
        },
        {"policy": json.dumps({"Statement": []})},
    )
    firewall = drifted(
        "aws_route53_resolver_firewall_rule_group_association.vpc", {"id": "rslvr-frgassoc-1"}, None, actions=["delete"]
    )
    plan = drift_plan(domain, block, policy, firewall, acted=[d["address"] for d in (domain, block, policy, firewall)])

    changes = {c.address: c for c in boundary_changes("workload", plan)}

    # Only the domain's network settings: its landing page is not the boundary's.
    assert changes["aws_sagemaker_domain.studio"].what == "app_network_access_type: VpcOnly -> PublicInternetOnly"
    assert changes["aws_s3_bucket_public_access_block.lab"].what == "block_public_policy: true -> false"
    assert changes["aws_s3_bucket_policy.lab"].what == "policy: missing Deny s3:* on *"
    assert changes["aws_route53_resolver_firewall_rule_group_association.vpc"].what == "deleted outside Terraform"
    assert all(c.terraform_acts for c in changes.values())


def test_boundary_drift_alone_makes_the_stack_drifted_and_the_report_says_what_a_plan_leaves(tmp_path):
    refreshed = {"id": SG, "ingress": [sg_block(22, cidr_blocks=["0.0.0.0/0"])], "egress": []}
    tf = FakeTerraform(
        {},
        state={"network": ["aws_vpc.vpc"]},
        drift={"network": [drifted("aws_security_group.studio", {"id": SG, "ingress": []}, refreshed)]},
    )
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.exit_code == EXIT_DRIFT and result.drifted == ["network"]
    assert any("1 change(s) to the isolation boundary outside Terraform" in line for line in lines)
    report = result.run.report.read_text()
    assert "The isolation boundary was changed outside Terraform (1; 1 of them a plan leaves in place)" in report
    row = next(line for line in report.splitlines() if line.startswith("| `aws_security_group.studio`"))
    assert "**leaves it in place**" in row and "revoke-security-group-ingress" in row
