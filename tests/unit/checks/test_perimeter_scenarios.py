"""The data perimeter, decided layer by layer as AWS decides a request, for both IAM modes.

The scenarios are policy/perimeter-scenarios.toml; isolated_studio/checks/perimeter.py decides
each on the network (an endpoint or route in the VPC), the endpoint's policy, the identity and the
resource policies. Like tests/unit/checks/test_access_scenarios.py, the roles and endpoint policies come from
the modules that build them (no synthesis: `make test-fast`), the bucket and key policies from
tests/golden/resource-policies.json; one slow test proves the synthesized endpoint policies are
those evaluated. None is skipped: a scenario the evaluator cannot decide fails.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from isolated_studio.checks import access
from isolated_studio.checks import perimeter as pm

SCENARIOS = pm.load_scenarios()
RESOURCES = json.loads((Path(__file__).parents[2] / "golden" / "resource-policies.json").read_text())


@pytest.fixture
def perimeters(dev_config, variant_config) -> dict[str, pm.Perimeter]:
    return {
        mode: pm.perimeter_for_config(config, RESOURCES[mode])
        for mode, config in (("managed", dev_config), ("least-privilege", variant_config))
    }


def _params():
    for scenario in SCENARIOS:
        for mode in scenario.modes:
            yield pytest.param(scenario, mode, id=f"{mode}:{scenario.id}")


@pytest.mark.parametrize(("scenario", "mode"), list(_params()))
def test_scenario(scenario: pm.PerimeterScenario, mode: str, perimeters):
    decision = pm.decide(scenario, perimeters[mode])
    layers = "; ".join(
        f"{layer.name}: {'allows' if layer.allowed else 'refuses'} {list(layer.labels)}" for layer in decision.layers
    )
    assert decision.as_expected, (
        f"{scenario.story}: {scenario.action} on {decision.resource} from {scenario.origin} "
        f"is {'allowed' if decision.allowed else 'denied'} in {mode} mode, expected "
        f"{scenario.expect} ({layers})"
    )


def test_each_scenario_names_what_decides_it(perimeters):
    """`by` is the reviewer's answer to "what lets this through?" or "what stops it?", on every
    layer: a statement renamed, dropped or widened into another's requests shows up here."""
    wrong = []
    for s in SCENARIOS:
        found = set().union(*(pm.decide(s, perimeters[mode]).deciders for mode in s.modes))
        if found != set(s.by):
            wrong.append(f"{s.id}: decided by {sorted(found)}, the file says by = {list(s.by)}")
    assert not wrong, "\n".join(wrong)


def test_every_endpoint_and_bucket_statement_of_ours_decides_a_scenario(perimeters):
    """Nothing passes an endpoint or a bucket without a scenario saying why: every statement of
    every endpoint policy and of our bucket policies, in both modes, is in some scenario's `by`."""
    named = {label for s in SCENARIOS for label in s.by}
    unexplained = sorted(
        label for perimeter in perimeters.values() for label in pm.our_statements(perimeter) if label not in named
    )
    assert not unexplained, "statements no perimeter scenario is decided by:\n" + "\n".join(unexplained)


def test_every_endpoint_is_the_path_of_an_allowed_request(perimeters):
    """Each endpoint carries a request the lab or Studio makes, in one mode at least (least privilege
    grants no model endpoint: sagemaker.runtime is then Studio's own, for nothing of the lab)."""
    used = {
        label.split("/", 1)[0].removeprefix("endpoint:")
        for s in SCENARIOS
        if s.allowed
        for label in s.by
        if label.startswith("endpoint:")
    }
    for mode, perimeter in perimeters.items():
        assert set(perimeter.endpoints) <= used, (mode, sorted(set(perimeter.endpoints) - used))


def test_every_principal_and_origin_is_there():
    assert {s.principal for s in SCENARIOS} >= {*pm.PRINCIPAL_KINDS, "service:sagemaker.amazonaws.com"}
    assert {s.origin for s in SCENARIOS} == set(pm.ORIGINS)
    for mode in access.MODES:
        assert {s.expect for s in SCENARIOS if mode in s.modes} == {"allow", "deny"}


def test_each_escape_path_is_refused_by_the_layer_that_closes_it():
    """Each escape path of the perimeter is a refused scenario, with the layer that closes it."""
    closed = {s.id: set(s.by) for s in SCENARIOS if not s.allowed}
    for scenario, layer in [
        ("foreign-keys-upload-to-their-bucket", "endpoint:s3-gateway"),
        ("foreign-keys-publish-a-package", "endpoint:codeartifact.repositories"),
        ("foreign-keys-write-logs", "endpoint:logs"),
        ("foreign-keys-push-an-image", "endpoint:ecr.dkr"),
        ("foreign-keys-assume-their-role", "endpoint:sts"),
        ("foreign-keys-start-a-job", "endpoint:sagemaker.api"),
        ("anonymous-put-to-a-public-bucket", "endpoint:s3-gateway"),
        ("foreign-keys-presigned-put", "endpoint:s3-gateway"),
        ("role-writes-to-a-foreign-bucket", "identity:guardrails/NoOtherAccountsResources"),
        ("role-starts-a-job-outside-the-vpc", "identity:guardrails/NoSageMakerWithoutOurSubnets"),
        ("role-opens-a-vpc-endpoint", "identity:guardrails/NoNewNetworkPaths"),
        ("role-pushes-to-a-foreign-registry", "identity:guardrails/NoOtherAccountsResources"),
        ("role-copied-reads-the-bucket", "resource:notebooks-bucket/DenyOutsideOurEndpoint"),
        ("role-copied-logs-to-mlflow", "identity:guardrails/MlflowOnlyThroughOurEndpoint"),
    ]:
        assert layer in closed.get(scenario, set()), (scenario, layer)


# --------------------------------------------------------------------------- before the fix


def _without_endpoint_policies(perimeter: pm.Perimeter) -> pm.Perimeter:
    return dataclasses.replace(perimeter, endpoints={key: None for key in perimeter.endpoints})


@pytest.mark.parametrize(
    "scenario_id",
    [
        "foreign-keys-upload-to-their-bucket",
        "foreign-keys-publish-a-package",
        "foreign-keys-write-logs",
        "foreign-keys-push-an-image",
        "foreign-keys-assume-their-role",
        "anonymous-put-to-a-public-bucket",
    ],
)
def test_without_endpoint_policies_other_accounts_get_through(scenario_id, perimeters):
    """AWS's default endpoint policy (no policy) lets another account's keys through: the endpoint
    policy is what closes each of these paths."""
    scenario = next(s for s in SCENARIOS if s.id == scenario_id)
    for mode in scenario.modes:
        assert not pm.decide(scenario, perimeters[mode]).allowed
        assert pm.decide(scenario, _without_endpoint_policies(perimeters[mode])).allowed, (scenario_id, mode)


def test_without_the_bucket_rule_copied_credentials_read_the_data(perimeters):
    scenario = next(s for s in SCENARIOS if s.id == "role-copied-reads-the-bucket")
    for mode, perimeter in perimeters.items():
        before = copy.deepcopy(perimeter)
        for document in before.synthesis.bucket_policies.values():
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "DenyOutsideOurEndpoint"]
        assert not pm.decide(scenario, perimeter).allowed
        assert pm.decide(scenario, before).allowed, mode


def test_a_new_managed_policy_version_cannot_widen_the_role(perimeters):
    """The permissions boundary caps managed mode at the services of the reviewed v29 (and ours):
    a version 30 granting, say, Systems Manager sessions, DynamoDB or a new IAM action grants nothing."""
    managed = perimeters["managed"].synthesis
    role = managed.roles["execution"]
    widened = [(name, copy.deepcopy(doc)) for name, doc in role.policies]
    for name, doc in widened:
        if access.MANAGED_NAME.fullmatch(name):
            doc["Statement"].append(
                {
                    "Sid": "Version30",
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": ["ssm:StartSession", "dynamodb:Scan", "iam:CreateRole"],
                }
            )
    future = dataclasses.replace(
        managed, roles={**managed.roles, "execution": dataclasses.replace(role, policies=widened)}
    )
    unbounded = dataclasses.replace(
        future, roles={**future.roles, "execution": dataclasses.replace(future.roles["execution"], boundary=None)}
    )
    for action, resource in [
        ("ssm:StartSession", {"DocumentName": "AWS-StartPortForwardingSession"}),
        ("iam:CreateRole", {"RoleNameWithPath": "x"}),
        ("dynamodb:Scan", {"TableName": "customers"}),
    ]:
        request = access.Scenario(
            id="v30",
            story="v30",
            principal="execution",
            action=action,
            expect="deny",
            modes=("managed",),
            resource=resource,
            absent=["aws:TagKeys", "aws:RequestTag/Name", "ssm:SessionDocumentAccessCheck"],
        )
        assert not access.evaluate(request, future).allowed, action
        assert access.evaluate(request, unbounded).allowed, action


# --------------------------------------------------------------------------- the evaluator


def test_the_endpoint_principal_is_matched_as_iam_matches_it():
    star, aws_star = {"Principal": "*"}, {"Principal": {"AWS": "*"}}
    account = {"Principal": {"AWS": "111122223333"}}
    root = {"Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
    service = {"Principal": {"Service": "logging.s3.amazonaws.com"}}
    ours = pm.Caller("execution", arn="arn:aws:iam::111122223333:role/r")
    anonymous, logging = pm.Caller("anonymous"), pm.Caller("service", service="logging.s3.amazonaws.com")
    assert pm._principal_matches(star, anonymous) and pm._principal_matches(aws_star, anonymous)
    assert pm._principal_matches(account, ours) and pm._principal_matches(root, ours)
    assert not pm._principal_matches(account, anonymous) and not pm._principal_matches(account, logging)
    assert pm._principal_matches(service, logging) and not pm._principal_matches(service, ours)
    assert not pm._principal_matches({"NotPrincipal": {"AWS": "111122223333"}}, ours)


def test_for_any_value_is_decided_value_by_value():
    """principalmapper 1.1.5 compares ForAnyValue with the whole request set at once; the fix in
    checks/access/engine.py decides it as IAM does: one of our subnets and a foreign one is a foreign one."""
    condition = {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": ["subnet-a", "subnet-b"]}}
    ctx = access.CaseInsensitiveDict
    assert access.pm_sim._get_condition_match(condition, ctx({"sagemaker:VpcSubnets": ["subnet-a", "subnet-x"]}))
    assert not access.pm_sim._get_condition_match(condition, ctx({"sagemaker:VpcSubnets": ["subnet-a", "subnet-b"]}))
    assert not access.pm_sim._get_condition_match(condition, ctx({}))


def test_a_key_nobody_declared_fails_the_scenario(perimeters):
    """The TLS-only rule tests aws:SecureTransport; the S3 endpoint-only rule aws:SourceVpce, which
    the evaluator sets from the origin. A condition key neither set nor declared absent fails."""
    base = next(s for s in SCENARIOS if s.id == "lab-reads-data-through-the-s3-endpoint")
    undeclared = dataclasses.replace(base, absent=())
    with pytest.raises(access.Unevaluable, match="s3:ExistingObjectTag/SageMaker"):
        pm.decide(undeclared, perimeters["managed"])


def test_a_request_without_a_route_never_reaches_a_policy(perimeters):
    scenario = next(s for s in SCENARIOS if s.id == "role-calls-kms-directly")
    decision = pm.decide(scenario, perimeters["managed"])
    assert [layer.name for layer in decision.layers] == ["network"] and not decision.allowed


def test_scenario_file_problems_are_reported_together(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[[scenario]]\nid = "a"\nstory = "s"\nprincipal = "nobody"\norigin = "moon"\n'
        'action = "s3:GetObject"\nexpect = "maybe"\ncolour = 1\n'
    )
    with pytest.raises(access.ScenarioError) as error:
        pm.load_scenarios(path)
    for part in ("expect must be", "principal 'nobody'", "origin must be", "unknown keys ['colour']"):
        assert part in str(error.value)


# --------------------------------------------------------------------------- the synthesis, docs


def test_the_synthesized_endpoint_policies_are_the_ones_evaluated(synth, synth_variant, perimeters):
    """What the network stack deploys is what the scenarios decide: every endpoint with a policy,
    the one modules/endpoint_policies.py builds."""
    for mode, s in (("managed", synth), ("least-privilege", synth_variant)):
        world = access.world_for(s.stacks)
        deployed = pm.synthesized_endpoint_policies(s.stacks, world)
        assert deployed == perimeters[mode].endpoints, mode
        assert all(deployed.values()), mode


def test_the_docs_table_is_the_scenario_file():
    """`python -m isolated_studio.checks.perimeter --docs` writes it; it must not drift."""
    text = pm.DOCS.read_text()
    assert pm.docs_with_table(text, SCENARIOS) == text, (
        "docs/perimeter.md's scenario table differs from policy/perimeter-scenarios.toml: "
        "run `python -m isolated_studio.checks.perimeter --docs`"
    )


def test_the_docs_command_rewrites_the_table(tmp_path, monkeypatch):
    """The command docs/perimeter.md shows, run as written (on a copy)."""
    copy_ = tmp_path / "perimeter.md"
    copy_.write_text(pm.DOCS.read_text().replace("| execution role |", "| someone else |", 1))
    monkeypatch.setattr(pm, "DOCS", copy_)
    assert pm.main(["--docs"]) == 0
    assert copy_.read_text() == pm.docs_with_table(copy_.read_text(), SCENARIOS)
    assert "| someone else |" not in copy_.read_text()
