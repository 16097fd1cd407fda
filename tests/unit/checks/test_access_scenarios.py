"""Every AWS request the environment depends on, decided by AWS's rules on the roles' policies.

The scenarios are policy/access-scenarios.toml; principalmapper decides each one for both IAM
modes (managed: the default configuration with AWS's AmazonSageMakerFullAccess v29;
least-privilege: the variant configuration). None is skipped: a scenario the evaluator cannot
decide fails.

The roles come straight from modules/studio_roles.py, without a synthesis, so these tests are
fast (`make test-fast`) and `make mutation` can mutate the IAM policy construction against
them. The buckets' and key's resource policies are those of the last synthesis
(tests/golden/resource-policies.json). One slow test synthesizes both modes and requires that
the synthesized roles are exactly these and that file is current; after an intended change to
a bucket or key policy: STUDIO_REGENERATE_GOLDEN=1 pytest tests/unit/checks/test_access_scenarios.py
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from isolated_studio.checks import access
from isolated_studio.checks.access import render as access_render

SCENARIOS = access.load_scenarios()
RESOURCE_POLICIES = Path(__file__).parents[2] / "golden" / "resource-policies.json"


RESOURCES = json.loads(RESOURCE_POLICIES.read_text())


# Built for each test (a few milliseconds): `make mutation` runs, for a mutant, the tests that
# called the mutated function, and a cached fixture would have called it for the first only.
@pytest.fixture
def syntheses(dev_config, variant_config) -> dict[str, access.Synthesis]:
    result = {}
    for mode, config in (("managed", dev_config), ("least-privilege", variant_config)):
        assert config.workload.iam_mode == mode
        result[mode] = access.synthesis_for_config(config, RESOURCES[mode])
    return result


def test_the_synthesized_roles_are_the_ones_evaluated(synth, synth_variant, syntheses):
    """What the stacks deploy is what the scenarios decide: the same world, the same roles with the
    same trust and permission policies in the same order, and the resource policies of the file."""
    current = {}
    for mode, s in (("managed", synth), ("least-privilege", synth_variant)):
        world = access.world_for(s.stacks)
        assert world == syntheses[mode].world, mode
        synthesized = access.load_synthesis(s.stacks, mode, world)
        for kind, role in syntheses[mode].roles.items():
            deployed = synthesized.roles[kind]
            assert (deployed.name, deployed.arn, deployed.trust) == (role.name, role.arn, role.trust), (mode, kind)
            assert dict(deployed.policies) == dict(role.policies), (mode, kind)
            assert len(deployed.policies) == len(role.policies), (mode, kind)
        assert synthesized.managed_version == syntheses[mode].managed_version, mode
        current[mode] = access.resource_policies(synthesized)
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("STUDIO_REGENERATE_GOLDEN"):
        RESOURCE_POLICIES.write_text(text, encoding="utf-8")
    assert json.loads(text) == json.loads(RESOURCE_POLICIES.read_text()), (
        f"the synthesized bucket or key policies changed: review, then regenerate {RESOURCE_POLICIES.name} "
        "(STUDIO_REGENERATE_GOLDEN=1 pytest tests/unit/checks/test_access_scenarios.py)"
    )


def _params():
    for scenario in SCENARIOS:
        for mode in scenario.modes:
            yield pytest.param(scenario, mode, id=f"{mode}:{scenario.id}")


@pytest.mark.parametrize(("scenario", "mode"), list(_params()))
def test_scenario(scenario: access.Scenario, mode: str, syntheses):
    decision = access.evaluate(scenario, syntheses[mode])
    verdict = "allowed" if decision.allowed else "denied"
    assert decision.as_expected, (
        f"{scenario.story}: {scenario.action} on {decision.resource} is {verdict} in {mode} mode, "
        f"expected {scenario.expect} (context {decision.context})"
    )


def test_both_modes_have_positive_and_negative_scenarios():
    for mode in access.MODES:
        expects = {s.expect for s in SCENARIOS if mode in s.modes}
        assert expects == {"allow", "deny"}, mode


def test_what_must_stay_denied_has_a_denied_scenario():
    """Other buckets and keys, another tracking server, CodeArtifact domain and repository,
    passing other roles, jobs outside the VPC, domain and server administration, IAM writes."""
    denied = {(s.principal, s.action) for s in SCENARIOS if not s.allowed}
    for needed in [
        ("execution", "s3:GetObject"),
        ("execution", "s3:PutObject"),
        ("execution", "kms:Decrypt"),
        ("execution", "sagemaker-mlflow:LogMetric"),
        ("execution", "sagemaker:CreatePresignedMlflowTrackingServerUrl"),
        ("execution", "codeartifact:GetAuthorizationToken"),
        ("execution", "codeartifact:ReadFromRepository"),
        ("execution", "iam:PassRole"),
        ("execution", "sagemaker:CreateTrainingJob"),
        ("execution", "sagemaker:CreateProcessingJob"),
        ("execution", "sagemaker:CreateDomain"),
        ("execution", "sagemaker:DeleteDomain"),
        ("execution", "sagemaker:CreateMlflowTrackingServer"),
        ("execution", "sagemaker:DeleteMlflowTrackingServer"),
        ("execution", "iam:PutRolePolicy"),
        ("execution", "iam:CreateRole"),
    ]:
        assert needed in denied, needed


def test_the_mlflow_plugin_actions_the_lab_needs_are_covered():
    allowed = {s.action for s in SCENARIOS if s.allowed and s.principal == "execution"}
    for action in (
        "CreatePresignedMlflowTrackingServerUrl",
        "DescribeMlflowTrackingServer",
        "ListMlflowTrackingServers",
        "ListTags",
    ):
        assert f"sagemaker:{action}" in allowed
    for action in (
        "SearchExperiments",
        "GetExperimentByName",
        "CreateExperiment",
        "CreateRun",
        "UpdateRun",
        "LogBatch",
        "LogInputs",
        "LogModel",
        "SetTag",
        "CreateRegisteredModel",
        "CreateModelVersion",
        "GetModelVersion",
        "GetDownloadURIForModelVersionArtifacts",
        "SetModelVersionTag",
        "AccessUI",
    ):
        assert f"sagemaker-mlflow:{action}" in allowed


# --------------------------------------------------------------------------- which statement decides


def test_each_scenario_names_the_statements_that_decide_it(syntheses):
    """`by` in the scenario file is the reviewer's answer to "why may the role do this?" (or "what
    stops it?"): our statements ("<inline policy>/<Sid>") that decide the request on their own, in
    any of its modes. A statement or policy renamed (a policy's name is its construct id: a rename
    replaces it), dropped or widened into another's requests shows up here."""
    wrong = []
    for s in SCENARIOS:
        found = set().union(*(access.deciding_statements(s, syntheses[mode]) for mode in s.modes))
        if found != set(s.by):
            wrong.append(f"{s.id}: decided by {sorted(found)}, the file says by = {list(s.by)}")
    assert not wrong, "\n".join(wrong)


def test_every_statement_of_ours_decides_a_scenario(syntheses):
    """Nothing is granted or denied without a scenario that says why: every statement of our
    policies, in both modes, is the `by` of at least one scenario."""
    named = {(s.principal, statement) for s in SCENARIOS for statement in s.by}
    unexplained = [
        f"{mode}: {role.name} {name}/{statement.get('Sid')}"
        for mode, synthesis in syntheses.items()
        for kind, role in synthesis.roles.items()
        for name, document in role.own_policies()
        for statement in document["Statement"]
        if (kind, f"{name}/{statement.get('Sid')}") not in named
    ]
    assert not unexplained, "statements no scenario is decided by:\n" + "\n".join(unexplained)


# --------------------------------------------------------------------------- the blockers of issue 9


def _undo(synthesis: access.Synthesis, edit) -> access.Synthesis:
    """A copy of the synthesis with one fix reverted by ``edit(role_name, policy_name, document)``."""
    reverted = copy.deepcopy(synthesis)
    for role in reverted.roles.values():
        role.policies = [(name, edit(role.name, name, doc)) for name, doc in role.policies]
        role.trust = edit(role.name, "trust", role.trust)
    return reverted


def _text_edit(old: str, new: str):
    def edit(role: str, name: str, doc: dict) -> dict:
        return json.loads(json.dumps(doc).replace(old, new))

    return edit


def _drop_statements(*sids: str):
    def edit(role: str, name: str, doc: dict) -> dict:
        return {**doc, "Statement": [s for s in doc["Statement"] if s.get("Sid") not in sids]}

    return edit


def _mlflow_trust_with_source_account(role: str, name: str, doc: dict) -> dict:
    if name != "trust" or not role.endswith("-mlflow"):
        return doc
    return {
        **doc,
        "Statement": [
            {**s, "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}} for s in doc["Statement"]
        ],
    }


# (blocker text in the scenario file, modes, the code before the fix)
BEFORE_THE_FIX = {
    "least-privilege app grant": (("least-privilege",), _text_edit("app/*/*/*/*", "app/*/*/*/*/*")),
    "no kms:CreateGrant": (access.MODES, _drop_statements("AwsServicesGrantOnLabKey")),
    "@remote's Session.default_bucket()": (("managed",), _drop_statements("NoBucketsOutsideTerraform")),
    "the MLflow role's trust requires aws:SourceAccount": (access.MODES, _mlflow_trust_with_source_account),
    "lineage actions": (access.MODES, _drop_statements("RecordRegistrationLineage", "LinkRegistrationLineage")),
}


@pytest.mark.parametrize("blocker", list(BEFORE_THE_FIX))
def test_each_blocker_has_a_scenario_that_fails_before_the_fix(blocker, syntheses):
    modes, revert = BEFORE_THE_FIX[blocker]
    scenarios = [s for s in SCENARIOS if blocker in s.blocker]
    assert scenarios, f"no scenario names the blocker {blocker!r}"
    for mode in modes:
        fixed = syntheses[mode]
        before = _undo(fixed, revert)
        for scenario in scenarios:
            if mode not in scenario.modes:
                continue
            assert access.evaluate(scenario, fixed).as_expected, (scenario.id, mode)
            assert not access.evaluate(scenario, before).as_expected, (
                f"{scenario.id} passes in {mode} mode on the code before the fix: it proves nothing"
            )


def test_every_blocker_in_the_file_is_checked_before_the_fix():
    named = {s.blocker for s in SCENARIOS if s.blocker}
    for blocker in named:
        assert any(key in blocker for key in BEFORE_THE_FIX), blocker


# --------------------------------------------------------------------------- the evaluator fails loudly


@pytest.fixture
def managed(syntheses) -> access.Synthesis:
    return syntheses["managed"]


def scenario(**fields) -> access.Scenario:
    base = dict(id="t", story="t", principal="execution", action="s3:GetObject", expect="deny", modes=access.MODES)
    return access.Scenario(**{**base, **fields})


def test_a_condition_key_nobody_thought_about_fails_the_scenario(managed):
    """AmazonSageMakerFullAccess reads any object tagged SageMaker=true: a negative scenario that
    does not say whether the object carries that tag must not pass by accident."""
    other = scenario(
        resource={"BucketName": "other-bucket", "ObjectName": "x.csv"}, context={"aws:ResourceAccount": "{account}"}
    )
    with pytest.raises(access.Unevaluable, match="s3:ExistingObjectTag/SageMaker"):
        access.evaluate(other, managed)
    tagged = scenario(
        resource={"BucketName": "other-bucket", "ObjectName": "x.csv"},
        context={"s3:ExistingObjectTag/SageMaker": "true", "aws:ResourceAccount": "{account}"},
        absent=["s3:ExistingObjectTag/servicecatalog:provisioning"],
    )
    assert access.evaluate(tagged, managed).allowed  # AWS's managed policy really allows it


def test_an_unknown_policy_variable_fails_the_scenario(managed):
    """The managed policy's space apps are scoped by ${sagemaker:DomainId}: without it in the
    request context principalmapper would compare the literal text."""
    app = scenario(
        action="sagemaker:CreateApp",
        expect="allow",
        resource={"DomainId": "d-1", "UserProfileName": "u", "AppType": "JupyterLab", "AppName": "default"},
        absent=["sagemaker:OwnerUserProfileArn", "sagemaker:SpaceSharingType"],
    )
    with pytest.raises(access.Unevaluable, match=r"\$\{sagemaker:DomainId\}"):
        access.evaluate(app, managed)


def test_an_operator_principalmapper_gets_wrong_for_absent_keys_fails(managed):
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringNotLike": {"s3:prefix": "a*"}},
            }
        ],
    }
    ctx = access.CaseInsensitiveDict({})
    with pytest.raises(access.Unevaluable, match="StringNotLike"):
        access.prepare_policy(document, "t", "s3:GetObject", "arn:aws:s3:::b/k", ctx, ["s3:prefix"], None)
    unknown = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringMatches": {"x:y": "z"}}}
        ],
    }
    with pytest.raises(access.Unevaluable, match="not implemented"):
        access.prepare_policy(
            unknown, "t", "s3:GetObject", "arn:aws:s3:::b/k", access.CaseInsensitiveDict({"x:y": "z"}), [], None
        )


def test_actions_and_arns_come_from_the_service_authorization_reference(managed):
    world = managed.world
    assert (
        access.resource_arn(
            "sagemaker:CreateApp",
            {"DomainId": "d-1", "UserProfileName": "u", "AppType": "JupyterLab", "AppName": "default"},
            world,
        )
        == f"arn:aws:sagemaker:{world.region}:{world.account}:app/d-1/u/JupyterLab/default"
    )
    with pytest.raises(access.ScenarioError, match="not an action"):
        access.resource_arn("sagemaker:CreateAppp", {"DomainId": "d-1"}, world)
    with pytest.raises(access.ScenarioError, match="no single resource format"):
        access.resource_arn("sagemaker:CreateApp", {"DomainId": "d-1"}, world)
    with pytest.raises(access.ScenarioError, match="name the resource"):
        access.resource_arn("s3:GetObject", {}, world)


def test_every_scenario_action_exists_and_builds_its_arn(managed):
    for s in SCENARIOS:
        access.resource_arn(s.action, {k: managed.world.fill(v) for k, v in s.resource.items()}, managed.world)


def test_an_explicit_deny_in_a_bucket_policy_wins(managed):
    """The TLS-only Deny of our buckets decides a plain-HTTP request, whatever the roles may do."""
    read = scenario(
        resource={"BucketName": managed.world.names["notebooks_bucket"], "ObjectName": "data/x.csv"},
        context={"aws:SecureTransport": "false", "aws:SourceVpce": "{vpce_s3_gateway}"},
        absent=["s3:ExistingObjectTag/SageMaker", "s3:ExistingObjectTag/servicecatalog:provisioning"],
    )
    assert not access.evaluate(read, managed).allowed
    secure = scenario(resource=read.resource, absent=read.absent, context={"aws:SourceVpce": "{vpce_s3_gateway}"})
    assert access.evaluate(secure, managed).allowed


def test_scenario_file_problems_are_reported_together(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[[scenario]]\nid = "a"\nstory = "s"\nprincipal = "nobody"\naction = "s3:GetObject"\n'
        'expect = "maybe"\nmodes = ["cloud"]\ncolour = 1\n'
    )
    with pytest.raises(access.ScenarioError) as error:
        access.load_scenarios(path)
    for part in ("expect must be", "principal 'nobody'", "modes ['cloud']", "unknown keys ['colour']"):
        assert part in str(error.value)


# --------------------------------------------------------------------------- docs/security.md


def test_the_docs_table_of_what_each_role_may_do_is_the_scenario_file():
    """`python -m isolated_studio.checks.access --docs` writes it; it must not drift."""
    text = access.DOCS.read_text()
    assert access.DOCS_BEGIN in text and access.DOCS_END in text
    assert access.docs_with_table(text, SCENARIOS) == text, (
        "docs/security.md's 'What each role may do' table differs from policy/access-scenarios.toml: "
        "run `python -m isolated_studio.checks.access --docs`"
    )


def test_the_docs_command_rewrites_the_access_table(tmp_path, monkeypatch):
    """The command docs/security.md shows, run as written (on a copy), and its old name."""
    for flag in ("--docs", "--readme"):
        copy_ = tmp_path / "security.md"
        copy_.write_text(access.DOCS.read_text().replace("| Studio execution role |", "| someone else |", 1))
        monkeypatch.setattr(access_render, "DOCS", copy_)
        assert access.main([flag]) == 0
        assert copy_.read_text() == access.docs_with_table(copy_.read_text(), SCENARIOS)
        assert "| someone else |" not in copy_.read_text()


def test_the_docs_table_has_one_row_per_scenario():
    table = access.role_table(SCENARIOS).splitlines()
    assert len(table) == 2 + len(SCENARIOS)
    assert any("| **denied** |" in row and "`iam:PassRole`" in row for row in table)
