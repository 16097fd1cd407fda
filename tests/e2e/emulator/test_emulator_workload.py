"""The workload applied where the emulator can hold it, through the workflow CLI a user runs.

moto creates no SageMaker domain, user profile, MLflow tracking server or CodeArtifact, but it
holds the workload's storage, encryption and IAM. ``--emulator-scope`` makes every workload
plan target those resources (:mod:`isolated_studio.ops.emulator_scope`), so docs/emulator.md's

    STUDIO_ENV=emulator make deploy ARGS="--yes --emulator-scope"
    STUDIO_ENV=emulator make plan ARGS=--emulator-scope
    STUDIO_ENV=emulator make destroy ARGS="--yes --include-state --emulator-scope"

run here as the workflow commands those make targets call (tests/unit/house/test_readme.py checks that
they do), against this module's own moto server. One deployment for the module, built by
module fixtures (whichever test asks first triggers a step; each runs once):

    emu        -> config/emulator.toml with this module's endpoint, synthesized into a tmp cdktf.out
    deployed   -> deploy --yes --emulator-scope: state, network, then the workload's targets
    seen       -> what boto3 reads of the workload's buckets, objects, key and roles
    replanned  -> plan --emulator-scope of every stack, after the deploy
    destroyed  -> destroy --yes --include-state --emulator-scope, only after seen and replanned

Every test reads those fixtures' results, never the live emulator, so they pass in any order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_support import (
    MOTO_ACCOUNT,
    MOTO_NETWORK_DRIFT,
    REGION,
    Emulator,
    MotoServer,
    changed_attributes,
    changes,
    describe,
    start_moto,
    synthesized_emulator,
)
from support import require_terraform

from isolated_studio.config import PROJECT_ROOT
from isolated_studio.ops.emulator_scope import emulator_targets

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

PREFIX = "studio-emu"  # project.name_prefix of config/emulator.toml
BUCKETS = {kind: f"{PREFIX}-{kind}-{MOTO_ACCOUNT}-{REGION}" for kind in ("logs", "notebooks", "mlflow")}
ROLES = {"execution": f"{PREFIX}-studio-execution", "mlflow": f"{PREFIX}-mlflow"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    require_terraform()
    with start_moto(tmp_path_factory.mktemp("moto-workload") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def emu(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Emulator:
    return synthesized_emulator(moto.endpoint, tmp_path_factory.mktemp("emulator-workload"))


@pytest.fixture(scope="module")
def stack(emu: Emulator) -> dict[str, Any]:
    """The synthesized workload (cdk.tf.json): what the deploy must have put in the emulator."""
    return json.loads((emu.stack_dir("workload") / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def targets(stack: dict[str, Any]) -> list[str]:
    return emulator_targets(stack)


@dataclass
class Deployment:
    proc: subprocess.CompletedProcess[str]
    outputs: dict[str, Any]  # the workload's outputs after the apply
    state: list[str]  # `terraform state list` of the workload


@pytest.fixture(scope="module")
def deployed(emu: Emulator) -> Deployment:
    proc = emu.workflow("deploy", "--yes", "--emulator-scope", plans="deploy")
    if proc.returncode != 0:
        pytest.fail(f"deploy failed:\n{describe(proc)}")
    listed = emu.terraform("workload", "state", "list", "-no-color")
    assert listed.returncode == 0, describe(listed)
    return Deployment(proc, emu.outputs("workload"), listed.stdout.split())


def _read(call: Any, **kwargs: Any) -> Any:
    """A boto3 read, or the error code when S3/IAM/KMS answer that the thing does not exist."""
    try:
        response = call(**kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"]
    response.pop("ResponseMetadata", None)
    return response


@dataclass
class Seen:
    buckets: dict[str, dict[str, Any]]  # bucket name -> {get_bucket_encryption: ..., ...}
    objects: dict[str, dict[str, Any]]  # key in the notebooks bucket -> head_object
    bodies: dict[str, bytes]
    roles: dict[str, dict[str, Any]]  # role name -> {trust, inline: {name: document}, attached}
    key: dict[str, Any]


BUCKET_READS = (
    "get_bucket_encryption",
    "get_bucket_versioning",
    "get_bucket_logging",
    "get_bucket_policy",
    "get_public_access_block",
    "get_bucket_ownership_controls",
    "get_bucket_lifecycle_configuration",
)


def _see(emu: Emulator, key_arn: str) -> Seen:
    s3, iam, kms = emu.client("s3"), emu.client("iam"), emu.client("kms")
    buckets = {
        name: {read: _read(getattr(s3, read), Bucket=name) for read in BUCKET_READS} for name in BUCKETS.values()
    }
    notebooks = BUCKETS["notebooks"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=notebooks).get("Contents", [])]
    objects = {key: _read(s3.head_object, Bucket=notebooks, Key=key) for key in keys}
    bodies = {key: s3.get_object(Bucket=notebooks, Key=key)["Body"].read() for key in keys}
    roles = {}
    for name in ROLES.values():
        role = iam.get_role(RoleName=name)["Role"]
        inline = {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        boundary = None
        if role.get("PermissionsBoundary"):
            arn = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            boundary = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        roles[name] = {
            "trust": role["AssumeRolePolicyDocument"],
            "inline": inline,
            "attached": attached,
            "boundary": boundary,
        }
    key = {
        "metadata": kms.describe_key(KeyId=key_arn)["KeyMetadata"],
        "rotation": kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"],
        "aliases": [a["AliasName"] for a in kms.list_aliases(KeyId=key_arn)["Aliases"]],
    }
    return Seen(buckets, objects, bodies, roles, key)


@pytest.fixture(scope="module")
def seen(emu: Emulator, deployed: Deployment) -> Seen:
    return _see(emu, deployed.outputs["kms_key_arn"])


@pytest.fixture(scope="module")
def replanned(emu: Emulator, deployed: Deployment) -> subprocess.CompletedProcess[str]:
    return emu.workflow("plan", "--emulator-scope", plans="replan")


@dataclass
class Destroyed:
    proc: subprocess.CompletedProcess[str]
    buckets: dict[str, Any]  # bucket name -> head_bucket (an error code once it is gone)
    roles: dict[str, Any]
    key: dict[str, Any]
    aliases: list[str]


@dataclass
class Audits:
    clean: subprocess.CompletedProcess[str]
    breached: subprocess.CompletedProcess[str]
    applied: subprocess.CompletedProcess[str]  # the MLflow role's exclusive inline policies, applied
    mlflow_policies: list[str]  # the MLflow role's inline policies after that apply


@pytest.fixture(scope="module")
def audits(emu: Emulator, deployed: Deployment, seen: Seen, targets: list[str]) -> Audits:
    """`audit` of the deployed workload as it is, then with a lab bucket's statement removed, another's
    public access block deleted, an inline policy put on the MLflow role and a guardrail removed from the
    execution role by hand; then the MLflow role's exclusive inline policies applied (what `make deploy`
    does with them). Everything is put back before the fixture returns."""
    clean = emu.workflow("audit", plans="audit-clean")
    s3, iam = emu.client("s3"), emu.client("iam")
    notebooks, mlflow = BUCKETS["notebooks"], BUCKETS["mlflow"]
    policy = s3.get_bucket_policy(Bucket=notebooks)["Policy"]
    block = s3.get_public_access_block(Bucket=mlflow)["PublicAccessBlockConfiguration"]
    guardrails = iam.get_role_policy(RoleName=ROLES["execution"], PolicyName="guardrails")["PolicyDocument"]
    exclusive = next(t for t in targets if t.startswith("aws_iam_role_policies_exclusive.") and "mlflow" in t)
    try:
        kept = [st for st in json.loads(policy)["Statement"] if st.get("Sid") != "LabRolesList"]
        s3.put_bucket_policy(Bucket=notebooks, Policy=json.dumps({"Version": "2012-10-17", "Statement": kept}))
        s3.delete_public_access_block(Bucket=mlflow)
        iam.put_role_policy(
            RoleName=ROLES["mlflow"],
            PolicyName="added-by-hand",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
            ),
        )
        iam.put_role_policy(
            RoleName=ROLES["execution"],
            PolicyName="guardrails",
            PolicyDocument=json.dumps(
                {
                    **guardrails,
                    "Statement": [st for st in guardrails["Statement"] if st["Sid"] != "NoOtherAccountsResources"],
                }
            ),
        )
        breached = emu.workflow("audit", plans="audit-breached")
        applied = emu.terraform(
            "workload", "apply", "-auto-approve", "-input=false", "-no-color", f"-target={exclusive}"
        )
        mlflow_policies = iam.list_role_policies(RoleName=ROLES["mlflow"])["PolicyNames"]
    finally:
        s3.put_bucket_policy(Bucket=notebooks, Policy=policy)
        s3.put_public_access_block(Bucket=mlflow, PublicAccessBlockConfiguration=block)
        iam.put_role_policy(RoleName=ROLES["execution"], PolicyName="guardrails", PolicyDocument=json.dumps(guardrails))
        if "added-by-hand" in iam.list_role_policies(RoleName=ROLES["mlflow"])["PolicyNames"]:
            iam.delete_role_policy(RoleName=ROLES["mlflow"], PolicyName="added-by-hand")
    return Audits(clean, breached, applied, mlflow_policies)


@pytest.fixture(scope="module")
def destroyed(
    emu: Emulator, deployed: Deployment, seen: Seen, replanned: subprocess.CompletedProcess[str], audits: Audits
) -> Destroyed:
    # After seen, replanned and audits: the other tests read what was there before this destroy.
    proc = emu.workflow("destroy", "--yes", "--include-state", "--emulator-scope", plans="destroy")
    s3, iam, kms = emu.client("s3"), emu.client("iam"), emu.client("kms")
    key_arn = deployed.outputs["kms_key_arn"]
    return Destroyed(
        proc,
        {name: _read(s3.head_bucket, Bucket=name) for name in BUCKETS.values()},
        {name: _read(iam.get_role, RoleName=name) for name in ROLES.values()},
        kms.describe_key(KeyId=key_arn)["KeyMetadata"],
        [a["AliasName"] for a in kms.list_aliases()["Aliases"]],
    )


# --------------------------------------------------------------------------- what is applied


def test_deploy_applies_state_network_and_exactly_the_workloads_emulated_resources(emu, deployed, targets):
    out = deployed.proc.stdout
    assert out.index("state: applying") < out.index("network: applying") < out.index("workload: applying"), out
    assert f"workload: --emulator-scope: planning {len(targets)} resources the emulator can create" in out
    assert "Applied: state, network, workload" in out
    managed = sorted(a for a in deployed.state if not a.startswith("data."))
    assert managed == targets
    assert not [a for a in managed if a.startswith(("aws_sagemaker", "aws_codeartifact"))]
    plan = emu.plan_json("deploy", "workload")
    assert sorted(rc["address"] for rc in changes(plan)) == targets
    assert {tuple(rc["change"]["actions"]) for rc in changes(plan)} == {("create",)}


def test_the_scope_command_prints_the_targets_that_were_applied(emu, deployed):
    proc = subprocess.run(
        [sys.executable, "-m", "isolated_studio.ops.emulator_scope", str(emu.stack_dir("workload"))],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, describe(proc)
    printed = [line.removeprefix("-target=") for line in proc.stdout.split()]
    assert printed == sorted(a for a in deployed.state if not a.startswith("data."))


def test_the_workload_outputs_name_what_was_created(deployed):
    out = deployed.outputs
    assert out["kms_key_arn"].startswith(f"arn:aws:kms:{REGION}:{MOTO_ACCOUNT}:key/")
    assert out["execution_role_arn"] == f"arn:aws:iam::{MOTO_ACCOUNT}:role/{ROLES['execution']}"
    assert out["notebooks_bucket_uri"] == f"s3://{BUCKETS['notebooks']}/lab/"
    assert out["data_uri"] == f"s3://{BUCKETS['notebooks']}/data/ai4i2020.csv"
    assert out["mlflow_artifact_store_uri"] == f"s3://{BUCKETS['mlflow']}/mlflow"
    # Outputs of what the emulator cannot create are left out by the targeted apply.
    assert "domain_id" not in out and "mlflow_tracking_server_arn" not in out


# --------------------------------------------------------------------------- buckets


@pytest.mark.parametrize("kind", ["notebooks", "mlflow"])
def test_lab_buckets_are_encrypted_with_the_workload_key_and_bucket_keys(seen, deployed, kind):
    rules = seen.buckets[BUCKETS[kind]]["get_bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [
        {
            "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": deployed.outputs["kms_key_arn"],
            },
            "BucketKeyEnabled": True,
        }
    ]


def test_the_log_bucket_uses_sse_s3_because_access_logging_cannot_deliver_to_sse_kms(seen):
    rules = seen.buckets[BUCKETS["logs"]]["get_bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"] for r in rules] == [{"SSEAlgorithm": "AES256"}]


@pytest.mark.parametrize("kind", ["logs", "notebooks", "mlflow"])
def test_every_bucket_is_versioned_private_owner_enforced_and_expires_old_versions(seen, kind):
    bucket = seen.buckets[BUCKETS[kind]]
    assert bucket["get_bucket_versioning"]["Status"] == "Enabled"
    assert bucket["get_public_access_block"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["get_bucket_ownership_controls"]["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    rules = bucket["get_bucket_lifecycle_configuration"]["Rules"]
    assert [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if r["Status"] == "Enabled"] == [90]


@pytest.mark.parametrize("kind, prefix", [("notebooks", "notebooks/"), ("mlflow", "mlflow/")])
def test_lab_buckets_log_access_to_the_log_bucket(seen, kind, prefix):
    assert seen.buckets[BUCKETS[kind]]["get_bucket_logging"] == {
        "LoggingEnabled": {"TargetBucket": BUCKETS["logs"], "TargetPrefix": prefix}
    }
    assert seen.buckets[BUCKETS["logs"]]["get_bucket_logging"] == {}  # the log bucket does not log into itself


def _statements(policy: Any) -> dict[str, dict[str, Any]]:
    document = json.loads(policy["Policy"]) if isinstance(policy, dict) and "Policy" in policy else policy
    return {s.get("Sid", ""): s for s in document["Statement"]}


@pytest.mark.parametrize("kind", ["notebooks", "mlflow"])
def test_lab_buckets_grant_only_the_execution_and_mlflow_roles(seen, kind):
    bucket = BUCKETS[kind]
    statements = _statements(seen.buckets[bucket]["get_bucket_policy"])
    roles = sorted(f"arn:aws:iam::{MOTO_ACCOUNT}:role/{name}" for name in ROLES.values())
    assert set(statements) == {"LabRolesList", "LabRolesReadWrite"}  # no TLS-only Deny: see the next test
    for sid, resource in (
        ("LabRolesList", f"arn:aws:s3:::{bucket}"),
        ("LabRolesReadWrite", f"arn:aws:s3:::{bucket}/*"),
    ):
        statement = statements[sid]
        assert statement["Effect"] == "Allow" and statement["Resource"] == resource
        assert sorted(statement["Principal"]["AWS"]) == roles


def test_the_log_bucket_admits_only_s3_log_delivery_from_this_account(seen):
    statements = _statements(seen.buckets[BUCKETS["logs"]]["get_bucket_policy"])
    assert list(statements) == ["S3ServerAccessLogDelivery"]
    delivery = statements["S3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject" and delivery["Resource"] == f"arn:aws:s3:::{BUCKETS['logs']}/*"
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": MOTO_ACCOUNT}}


def test_the_tls_only_deny_is_left_out_only_in_the_emulator(seen, emu):
    """Documented emulator difference: moto applies a Deny without evaluating its condition, so
    the TLS-only statement would refuse every request. On AWS each bucket policy starts with it
    (tests/unit/stacks/test_workload_stack.py)."""
    assert emu.config.emulator.enabled
    for bucket in BUCKETS.values():
        statements = _statements(seen.buckets[bucket]["get_bucket_policy"]).values()
        assert not [s for s in statements if s["Effect"] == "Deny"], bucket


# --------------------------------------------------------------------------- the live audit of the buckets


def test_the_audit_of_the_deployed_buckets_roles_and_network_finds_no_breach(emu, audits):
    assert audits.clean.returncode == 0, describe(audits.clean)
    report = (emu.plan_dir("audit-clean") / "audit.md").read_text()
    assert "## Live isolation audit: no breach" in report
    for bucket in BUCKETS.values():
        assert f"- bucket {bucket}" in report
    # The roles as deployed are the synthesized ones, but for what the emulator does not create: said so.
    assert f"- role {ROLES['mlflow']} (2 inline, 0 managed)" in report
    assert f"- role {ROLES['execution']} (4 inline, 0 managed, a permissions boundary)" in report
    assert (
        f"- role {ROLES['execution']}: exclusive attachments, exclusive inline policies, inline policy "
        "studio-domain, managed policy arn:aws:iam::aws:policy/AmazonSageMakerFullAccess: not created in the "
        "emulator (--emulator-scope)"
    ) in report


def test_a_bucket_statement_removed_and_a_public_access_block_deleted_by_hand_are_breaches(emu, audits):
    assert audits.breached.returncode == 2, describe(audits.breached)
    report = (emu.plan_dir("audit-breached") / "audit.md").read_text()
    assert (
        f"| bucket-policies | `{BUCKETS['notebooks']}` | statement LabRolesList of the bucket policy is missing "
        "or changed | `make deploy STACKS=workload` puts it back |"
    ) in report
    assert (
        f"| public-access-block | `{BUCKETS['mlflow']}` | public access block off: BlockPublicAcls, "
        "IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets |"
    ) in report
    assert (
        f"| role-policies | `{ROLES['mlflow']}` | inline policy added-by-hand added outside Terraform "
        "(Allow s3:* on *) | aws iam delete-role-policy --role-name studio-emu-mlflow --policy-name added-by-hand "
        "(or `make deploy STACKS=workload`: the role's inline policies are exclusive) |"
    ) in report
    guardrail = next(
        line
        for line in report.splitlines()
        if line.startswith(f"| role-policies | `{ROLES['execution']}` | inline policy guardrails differs")
    )
    assert "widens access: missing Deny * on * when " in guardrail and "`make deploy STACKS=workload`" in guardrail
    assert "## ISOLATION BREACHES (4)" in report


def test_a_deploy_deletes_an_inline_policy_put_on_a_role_by_hand(audits):
    """The roles' inline policies are exclusive (modules/exclusive_role_policies.py): applying the
    MLflow role's exclusive resource, as `make deploy` does, deletes what was added; moto answers
    the provider's ListRolePolicies and DeleteRolePolicy."""
    assert audits.applied.returncode == 0, describe(audits.applied)
    assert "1 changed" in audits.applied.stdout
    assert sorted(audits.mlflow_policies) == ["artifacts", "model-registry"]


# --------------------------------------------------------------------------- lab content


def test_every_lab_file_and_the_data_set_are_in_the_bucket_as_synthesized(seen, stack, emu):
    synthesized = {o["key"]: o for o in stack["resource"]["aws_s3_object"].values()}
    assert "data/ai4i2020.csv" in synthesized and "lab/private-mlflow.ipynb" in synthesized
    assert sorted(seen.objects) == sorted(synthesized)
    for key, obj in synthesized.items():
        if "source" not in obj:  # generated in the stack (the start script): its content is an expression
            assert seen.bodies[key], key
            continue
        assert seen.bodies[key] == (emu.stack_dir("workload") / obj["source"]).read_bytes(), key
        assert seen.objects[key]["ContentType"] == obj["content_type"], key


def test_every_object_is_encrypted_with_the_workload_key(seen, deployed):
    for key, head in seen.objects.items():
        assert (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId"), head.get("BucketKeyEnabled")) == (
            "aws:kms",
            deployed.outputs["kms_key_arn"],
            True,
        ), key


# --------------------------------------------------------------------------- key and roles


def test_the_workload_key_is_enabled_rotated_and_aliased(seen):
    assert seen.key["metadata"]["KeyState"] == "Enabled" and seen.key["metadata"]["KeyManager"] == "CUSTOMER"
    assert seen.key["rotation"] is True
    assert seen.key["aliases"] == [f"alias/{PREFIX}-workload"]


def test_both_roles_trust_only_sagemaker_the_execution_role_for_this_account_only(seen):
    assume = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    assert seen.roles[ROLES["execution"]]["trust"]["Statement"] == [
        {**assume, "Condition": {"StringEquals": {"aws:SourceAccount": MOTO_ACCOUNT}}}
    ]
    # No condition on the MLflow role: the service is not documented to send aws:SourceAccount (docs/security.md).
    assert seen.roles[ROLES["mlflow"]]["trust"]["Statement"] == [assume]


def test_the_roles_carry_the_inline_policies_the_stack_declares(seen, stack, targets):
    role_names = {
        f"${{aws_iam_role.{rid}.id}}": body["name"] for rid, body in stack["resource"]["aws_iam_role"].items()
    }
    declared: dict[str, set[str]] = {}
    for rid, body in stack["resource"]["aws_iam_role_policy"].items():
        # studio-domain names the domain's ID: with the domain, it is out of the emulator's scope.
        if f"aws_iam_role_policy.{rid}" in targets:
            declared.setdefault(role_names[body["role"]], set()).add(body["name"])
    assert "guardrails" in declared[ROLES["execution"]] and "studio-domain" not in declared[ROLES["execution"]]
    assert {role: set(found["inline"]) for role, found in seen.roles.items()} == declared
    # AmazonSageMakerFullAccess (iam_mode = "managed") is out of scope: moto has no such policy.
    assert all(found["attached"] == [] for found in seen.roles.values())


def test_the_guardrails_and_the_boundary_apply_in_the_emulator(seen):
    """moto holds the execution role's explicit denies and, in managed mode, its permissions
    boundary: what the perimeter scenarios decide is what the emulator holds."""
    execution = seen.roles[ROLES["execution"]]
    guardrails = {s["Sid"]: s for s in execution["inline"]["guardrails"]["Statement"]}
    assert {
        "NoOtherAccountsResources",
        "SageMakerOnlyInOurSubnets",
        "NoSageMakerWithoutOurSubnets",
        "NoNewNetworkPaths",
        "NoResourcePoliciesOrSharing",
        "NoDataExports",
        "MlflowOnlyThroughOurEndpoint",
        "NoComputeOutsideOurVpc",
    } <= set(guardrails)
    assert all(s["Effect"] == "Deny" for s in guardrails.values())
    assert (
        guardrails["NoOtherAccountsResources"]["Condition"]["StringNotEquals"]["aws:ResourceAccount"][0] == MOTO_ACCOUNT
    )
    vpce = guardrails["MlflowOnlyThroughOurEndpoint"]["Condition"]["StringNotEquals"]["aws:SourceVpce"]
    assert vpce.startswith("vpce-")  # the network's experiments endpoint, through remote state
    boundary = {s["Sid"]: s for s in execution["boundary"]["Statement"]}
    assert "sagemaker:*" in boundary["ServicesOfTheReviewedPolicies"]["Action"]
    assert "iam:PassRole" in boundary["ActionsOfTheReviewedPolicies"]["Action"]
    assert seen.roles[ROLES["mlflow"]]["boundary"] is None


def _grants(document: dict[str, Any]) -> list[tuple[set[str], set[str]]]:
    def listed(value: Any) -> set[str]:
        return {value} if isinstance(value, str) else set(value)

    return [(listed(s["Action"]), listed(s["Resource"])) for s in document["Statement"] if s["Effect"] == "Allow"]


def test_the_execution_role_reaches_both_lab_buckets_and_the_key(seen, deployed):
    lab_data = _grants(seen.roles[ROLES["execution"]]["inline"]["lab-data"])
    objects = {f"arn:aws:s3:::{BUCKETS[k]}/*" for k in ("notebooks", "mlflow")}
    assert any({"s3:GetObject", "s3:PutObject"} <= actions and resources == objects for actions, resources in lab_data)
    assert any(
        {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions and resources == {deployed.outputs["kms_key_arn"]}
        for actions, resources in lab_data
    )
    assert BUCKETS["logs"] not in json.dumps(seen.roles[ROLES["execution"]]["inline"])


def test_the_mlflow_role_reaches_only_its_artifact_bucket_and_the_key(seen, deployed):
    artifacts = _grants(seen.roles[ROLES["mlflow"]]["inline"]["artifacts"])
    resources = set().union(*(r for _, r in artifacts))
    assert resources == {
        f"arn:aws:s3:::{BUCKETS['mlflow']}",
        f"arn:aws:s3:::{BUCKETS['mlflow']}/*",
        deployed.outputs["kms_key_arn"],
    }


# --------------------------------------------------------------------------- plan again


def test_a_second_plan_of_the_targets_changes_nothing(emu, replanned):
    assert replanned.returncode == 0, describe(replanned)
    assert "workload: no changes" in replanned.stdout and "state: no changes" in replanned.stdout
    # No emulator quirk in the workload's resources: its plan is empty, as on AWS.
    assert changes(emu.plan_json("replan", "workload")) == []
    assert changes(emu.plan_json("replan", "state")) == []
    network = {
        (rc["type"], attribute)
        for rc in changes(emu.plan_json("replan", "network"))
        for attribute in changed_attributes(rc)
    }
    assert network <= MOTO_NETWORK_DRIFT  # the one documented quirk (docs/emulator.md)


# --------------------------------------------------------------------------- destroy


def test_destroy_removes_the_workloads_resources_then_the_network_and_state(destroyed):
    proc = destroyed.proc
    assert proc.returncode == 0, describe(proc)
    out = proc.stdout
    assert out.index("workload: destroying") < out.index("network: destroying") < out.index("state: destroying")
    assert "Destroyed: workload, network, state" in out
    assert {name: code for name, code in destroyed.buckets.items()} == {name: "404" for name in BUCKETS.values()}
    assert destroyed.roles == {name: "NoSuchEntity" for name in ROLES.values()}
    assert destroyed.key["KeyState"] == "PendingDeletion"  # KMS keys are scheduled, never deleted at once
    assert f"alias/{PREFIX}-workload" not in destroyed.aliases


def test_the_destroy_plan_targets_the_workloads_emulated_resources_only(emu, destroyed, targets):
    assert destroyed.proc.returncode == 0, describe(destroyed.proc)
    plan = emu.plan_json("destroy", "workload.destroy")
    assert sorted(rc["address"] for rc in changes(plan)) == targets
    assert {tuple(rc["change"]["actions"]) for rc in changes(plan)} == {("delete",)}
