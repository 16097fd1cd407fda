"""The workload stack: what data scientists use, secure by default."""

import base64
import json
import re

import pytest
from cdktf_cdktf_provider_aws.codeartifact_domain import CodeartifactDomain
from cdktf_cdktf_provider_aws.codeartifact_repository import CodeartifactRepository
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.sagemaker_domain import SagemakerDomain
from cdktf_cdktf_provider_aws.sagemaker_mlflow_tracking_server import SagemakerMlflowTrackingServer
from matchers import has

from modules.lab_content import lab_files
from modules.studio_domain import START_SCRIPT_KEY
from stacks.workload_data import NOTEBOOKS_DIR

REMOTE = "data.terraform_remote_state.cross-stack-reference-input-network.outputs"


@pytest.fixture(scope="module")
def wl(synth):
    return synth.texts["workload"]


def policies(s, role_fragment):
    return {
        body["name"]: s.policy("workload", body["policy"])
        for name, body in s.resources("workload", "aws_iam_role_policy").items()
        if role_fragment in body["role"]
    }


def ref(s, rtype, prefix, attr):
    """The Terraform reference to the one resource whose logical name starts with prefix."""
    names = [n for n in s.resources("workload", rtype) if n.startswith(prefix)]
    assert len(names) == 1, (rtype, prefix, names)
    return f"${{{rtype}.{names[0]}.{attr}}}"


def all_actions(documents):
    return {
        a
        for doc in documents
        for st in doc["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }


# --- cross-stack wiring ------------------------------------------------------------------


def test_network_arrives_through_remote_state_of_the_network_s3_state(synth):
    remote = synth.stacks["workload"]["data"]["terraform_remote_state"]["cross-stack-reference-input-network"]
    assert remote["backend"] == "s3"
    assert remote["config"]["key"] == "isolated-studio/dev/us-west-2/network.tfstate"
    assert remote["config"]["bucket"] == "studio-dev-tfstate"
    # The same key as the network's backend writes with (cdktf copies the backend's arguments).
    assert remote["config"]["kms_key_id"] == synth.stacks["network"]["terraform"]["backend"]["s3"]["kms_key_id"]
    domain = next(iter(synth.resources("workload", "aws_sagemaker_domain").values()))
    assert domain["vpc_id"].startswith("${" + REMOTE)
    assert all(s.startswith("${" + REMOTE) for s in domain["subnet_ids"])


def test_network_exports_what_the_workload_reads(synth):
    text = json.dumps(synth.stacks["workload"])
    wanted = set(re.findall(r"terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)", text))
    assert wanted
    assert wanted <= set(synth.stacks["network"]["output"])


def test_nothing_is_looked_up_by_name_or_tag(synth):
    data_types = set(synth.stacks["workload"]["data"])
    # Policy documents are rendered locally by the provider; the rest read our own identity
    # and the repository endpoint of the CodeArtifact repository this stack creates.
    assert data_types <= {
        "terraform_remote_state",
        "aws_caller_identity",
        "aws_partition",
        "aws_codeartifact_repository_endpoint",
        "aws_iam_policy_document",
    }


# --- encryption ----------------------------------------------------------------------------


def test_customer_managed_key_rotates_and_lets_services_use_it(synth, wl):
    assert has(wl, KmsKey.TF_RESOURCE_TYPE, {"enable_key_rotation": True})
    policy = synth.policy("workload", next(iter(synth.resources("workload", "aws_kms_key").values()))["policy"])
    services = next(s for s in policy["Statement"] if s["Sid"] == "ServicesUseKeyForThisAccount")
    via = services["Condition"]["StringEquals"]["kms:ViaService"]
    assert {
        "s3.us-west-2.amazonaws.com",
        "elasticfilesystem.us-west-2.amazonaws.com",
        "codeartifact.us-west-2.amazonaws.com",
    } <= set(via)
    logs = next(s for s in policy["Statement"] if s["Sid"] == "LogGroupsEncrypt")
    assert logs["Principal"] == {"Service": "logs.us-west-2.amazonaws.com"}


# --- buckets -------------------------------------------------------------------------------

BUCKETS = ("access-logs", "notebooks", "mlflow-artifacts")


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_has_all_guards(synth, bucket):
    def one(rtype):
        matches = [b for n, b in synth.resources("workload", rtype).items() if n.startswith(f"{bucket}_")]
        assert len(matches) == 1, (rtype, bucket)
        return matches[0]

    pab = one("aws_s3_bucket_public_access_block")
    assert all(
        pab[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert one("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    assert one("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    rule = one("aws_s3_bucket_lifecycle_configuration")["rule"][0]
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 90
    policy = synth.policy("workload", one("aws_s3_bucket_policy")["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    sse = one("aws_s3_bucket_server_side_encryption_configuration")["rule"][0][
        "apply_server_side_encryption_by_default"
    ]
    if bucket == "access-logs":
        assert sse["sse_algorithm"] == "AES256"  # log delivery cannot write to SSE-KMS buckets
    else:
        assert sse["sse_algorithm"] == "aws:kms" and "aws_kms_key.kms_key" in sse["kms_master_key_id"]
        logging = one("aws_s3_bucket_logging")
        assert "access-logs_bucket" in logging["target_bucket"]
        # S3 refuses logging into a bucket that does not yet grant log delivery
        # (InvalidTargetBucketForLogging): the grant, in the log bucket's policy, comes first.
        log_policy = next(
            n for n in synth.resources("workload", "aws_s3_bucket_policy") if n.startswith("access-logs_")
        )
        assert logging["depends_on"] == [f"aws_s3_bucket_policy.{log_policy}"]


@pytest.mark.parametrize("bucket", ["notebooks", "mlflow-artifacts"])
def test_lab_buckets_grant_read_write_only_to_the_two_roles(synth, bucket):
    body = next(b for n, b in synth.resources("workload", "aws_s3_bucket_policy").items() if n.startswith(f"{bucket}_"))
    allows = [s for s in synth.policy("workload", body["policy"])["Statement"] if s["Effect"] == "Allow"]
    principals = {p for s in allows for p in s["Principal"]["AWS"]}
    assert principals == {
        ref(synth, "aws_iam_role", "iam_execution-role", "arn"),
        ref(synth, "aws_iam_role", "iam_mlflow-role", "arn"),
    }


def test_mlflow_bucket_cors_admits_only_the_studio_domain(synth):
    cors = list(synth.resources("workload", "aws_s3_bucket_cors_configuration").values())
    assert len(cors) == 1 and "mlflow-artifacts_bucket" in cors[0]["bucket"]
    assert cors[0]["cors_rule"][0]["allowed_origins"] == [ref(synth, "aws_sagemaker_domain", "studio_domain", "url")]


def test_force_destroy_follows_the_environment(synth, synth_variant):
    assert all(b["force_destroy"] is True for b in synth.resources("workload", "aws_s3_bucket").values())  # dev says so
    assert all(b["force_destroy"] is False for b in synth_variant.resources("workload", "aws_s3_bucket").values())


# --- lab content ---------------------------------------------------------------------------


def test_every_notebook_file_is_uploaded_with_a_content_hash(synth):
    objects = {o["key"]: o for o in synth.resources("workload", "aws_s3_object").values() if "content" not in o}
    expected = {f"lab/{rel.as_posix()}" for rel in lab_files(NOTEBOOKS_DIR)}
    assert "lab/private-mlflow.ipynb" in expected
    assert set(objects) == expected | {"data/ai4i2020.csv"}  # a default deploy carries the data set
    for key, obj in objects.items():
        assert len(obj["source_hash"]) == 32, key
        assert (synth.dirs["workload"] / obj["source"]).is_file(), key
    assert not any("__pycache__" in k or k.endswith(".pyc") for k in objects)


@pytest.mark.parametrize(
    "setting",
    [
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
    ],
)
def test_lab_objects_are_written_only_once_their_bucket_is_configured(synth, setting):
    """On a first deploy nothing else orders them: an object written before the bucket's SSE-KMS
    default exists stays SSE-S3 (S3 does not re-encrypt existing objects)."""
    configured = {body["bucket"]: f"{setting}.{name}" for name, body in synth.resources("workload", setting).items()}
    objects = synth.resources("workload", "aws_s3_object")
    assert objects
    for name, obj in objects.items():
        assert configured[obj["bucket"]] in obj.get("depends_on", []), name


def test_editing_a_notebook_changes_only_its_object(tmp_path):
    """Change detection by content: a new hash and asset path for the edited file only."""
    from cdktf import App, TerraformStack, Testing

    from modules.lab_content import LabContent, LabContentProps

    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "a.ipynb").write_text("{}")
    (tmp_path / "lab" / "b.py").write_text("x = 1")

    def objects():
        stack = TerraformStack(App(outdir=str(tmp_path / "out")), "s")
        LabContent(stack, "lab", props=LabContentProps(bucket="b", directory=tmp_path / "lab", prefix="lab"))
        return {
            o["key"]: (o["source_hash"], o["source"])
            for o in json.loads(Testing.synth(stack))["resource"]["aws_s3_object"].values()
        }

    before = objects()
    (tmp_path / "lab" / "a.ipynb").write_text('{"cells": []}')
    after = objects()
    assert after["lab/a.ipynb"] != before["lab/a.ipynb"]
    assert after["lab/b.py"] == before["lab/b.py"]


def test_data_file_is_uploaded_under_the_data_prefix_when_configured(tmp_path, variant_config):
    from dataclasses import replace

    from cdktf import App, TerraformStack, Testing

    from modules.lab_content import LabContent, LabContentProps

    csv = tmp_path / "ai4i2020.csv"
    csv.write_text("UDI,Product ID\n1,M14860\n")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "x.ipynb").write_text("{}")
    stack = TerraformStack(App(outdir=str(tmp_path / "out")), "s")
    LabContent(
        stack,
        "lab",
        props=LabContentProps(bucket="b", directory=tmp_path / "lab", prefix="lab", data_file=csv, data_prefix="data"),
    )
    keys = {o["key"] for o in json.loads(Testing.synth(stack))["resource"]["aws_s3_object"].values()}
    assert keys == {"lab/x.ipynb", "data/ai4i2020.csv"}


def test_default_deploy_uploads_the_uci_file_when_saved_else_a_generated_one(tmp_path, monkeypatch):
    import pandas as pd

    from stacks import workload_data as workload

    uci, generated = tmp_path / "ai4i2020.csv", tmp_path / "generated" / "ai4i2020.csv"
    monkeypatch.setattr(workload, "DEFAULT_DATA_FILE", uci)
    monkeypatch.setattr(workload, "GENERATED_DATA_FILE", generated)
    assert workload.lab_data_file("") == generated  # nothing saved: deploy runs the generator
    frame = pd.read_csv(generated)
    assert len(frame) == 10_000 and "Machine failure" in frame.columns
    first = generated.read_bytes()
    generated.unlink()
    workload.lab_data_file("")
    assert generated.read_bytes() == first  # deterministic: no plan change from one synth to the next
    uci.write_text("UDI,Product ID\n")
    assert workload.lab_data_file("") == uci  # the user's UCI file wins
    assert workload.lab_data_file(str(tmp_path / "mine.csv")) == tmp_path / "mine.csv"


# --- IAM -----------------------------------------------------------------------------------


def test_roles_are_assumable_only_by_sagemaker_and_the_execution_role_only_for_this_account(synth):
    roles = {body["name"]: body for body in synth.resources("workload", "aws_iam_role").values()}
    assert set(roles) == {"studio-dev-studio-execution", "studio-dev-mlflow"}
    trusts = {name: synth.policy("workload", role["assume_role_policy"])["Statement"] for name, role in roles.items()}
    for statements in trusts.values():
        assert [s["Principal"] for s in statements] == [{"Service": "sagemaker.amazonaws.com"}]
    assert "aws:SourceAccount" in trusts["studio-dev-studio-execution"][0]["Condition"]["StringEquals"]
    # The MLflow service is not documented to send aws:SourceAccount: with it, no server could start.
    assert "Condition" not in trusts["studio-dev-mlflow"][0]


def test_managed_mode_attaches_sagemaker_full_access_to_the_execution_role_only(synth):
    attachments = list(synth.resources("workload", "aws_iam_role_policy_attachment").values())
    assert [a["policy_arn"].split("/")[-1] for a in attachments] == ["AmazonSageMakerFullAccess"]
    assert "execution-role" in attachments[0]["role"]


@pytest.mark.parametrize("which", ["synth", "synth_variant"])
def test_every_role_has_exactly_its_policies_so_a_deploy_removes_what_was_added_by_hand(request, which):
    """modules/exclusive_role_policies.py: each role's inline policies and attachments are exclusive,
    named by reference (so created after each of them), in both IAM modes and for the network's role."""
    synth = request.getfixturevalue(which)
    for stack in ("network", "workload"):
        roles = {
            f"${{aws_iam_role.{rid}.name}}": f"${{aws_iam_role.{rid}.id}}"
            for rid in synth.resources(stack, "aws_iam_role")
        }
        inline = {
            role: sorted(
                f"${{aws_iam_role_policy.{pid}.name}}"
                for pid, body in synth.resources(stack, "aws_iam_role_policy").items()
                if body["role"] == role_id
            )
            for role, role_id in roles.items()
        }
        attached = {
            role: sorted(
                f"${{aws_iam_role_policy_attachment.{aid}.policy_arn}}"
                for aid, body in synth.resources(stack, "aws_iam_role_policy_attachment").items()
                if body["role"] == role
            )
            for role in roles
        }
        exclusive = {
            body["role_name"]: sorted(body["policy_names"])
            for body in synth.resources(stack, "aws_iam_role_policies_exclusive").values()
        }
        exclusive_arns = {
            body["role_name"]: sorted(body["policy_arns"])
            for body in synth.resources(stack, "aws_iam_role_policy_attachments_exclusive").values()
        }
        assert exclusive == inline and exclusive_arns == attached, stack
    managed = synth.config.workload.iam_mode == "managed"
    assert sum(len(v) for v in exclusive_arns.values()) == (1 if managed else 0)


def test_least_privilege_mode_attaches_no_aws_managed_policy(synth_variant):
    assert synth_variant.resources("workload", "aws_iam_role_policy_attachment") == {}
    execution = policies(synth_variant, "execution-role")
    assert set(execution) == {"lab-data", "mlflow", "codeartifact", "guardrails", "studio-domain", "studio", "jobs"}
    actions = all_actions(execution.values())
    granted = {
        a
        for doc in execution.values()
        for st in doc["Statement"]
        if st["Effect"] == "Allow"
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert not any(a.endswith(":*") for a in granted)  # no whole service is granted (the guardrails deny some)
    assert {"sagemaker:CreateTrainingJob", "sagemaker:CreateApp", "iam:PassRole", "ecr:BatchGetImage"} <= actions


def test_least_privilege_jobs_must_run_in_our_vpc_and_pass_only_our_role(synth_variant):
    jobs = policies(synth_variant, "execution-role")["jobs"]["Statement"]
    create = next(s for s in jobs if s["Sid"] == "RemoteJobsInOurVpc")
    vpc = create["Condition"]["ForAllValues:StringEquals"]
    subnets, groups = vpc["sagemaker:VpcSubnets"], vpc["sagemaker:VpcSecurityGroupIds"]
    assert len(subnets) == 2 and REMOTE in groups  # both subnets; the one Studio security group
    assert all(REMOTE in s for s in subnets)
    assert create["Condition"]["Null"] == {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"}
    passrole = next(s for s in jobs if s["Sid"] == "PassOnlyThisRole")
    assert passrole["Resource"].endswith(":role/studio-dev-studio-execution")
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


@pytest.mark.parametrize("which", ["synth", "synth_variant"])
def test_mlflow_and_codeartifact_grants_are_scoped_in_both_modes(request, which):
    s = request.getfixturevalue(which)
    execution = policies(s, "execution-role")
    statements = {st["Sid"]: st for st in execution["mlflow"]["Statement"]}
    server = statements["UseOurTrackingServer"]
    assert server["Resource"].endswith(":mlflow-tracking-server/studio-dev-mlflow")
    assert {"sagemaker-mlflow:Log*", "sagemaker-mlflow:Create*", "sagemaker-mlflow:Search*"} <= set(server["Action"])
    # AccessUI supports no resource-level permission; it alone is granted on "*".
    assert statements["OpenMlflowUi"] == {
        "Sid": "OpenMlflowUi",
        "Effect": "Allow",
        "Action": "sagemaker-mlflow:AccessUI",
        "Resource": "*",
    }
    mlflow_actions = [
        a
        for st in execution["mlflow"]["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
        if a.startswith("sagemaker-mlflow:")
    ]
    assert "sagemaker-mlflow:*" not in mlflow_actions
    ca = {st["Sid"]: st for st in execution["codeartifact"]["Statement"]}
    assert ca["PipLoginToken"]["Action"] == "codeartifact:GetAuthorizationToken"
    assert ca["PipLoginToken"]["Resource"].endswith(":domain/studio-dev")
    assert sorted(ca["PipReadRepository"]["Action"]) == [
        "codeartifact:GetRepositoryEndpoint",
        "codeartifact:ReadFromRepository",
    ]
    assert ca["PipReadRepository"]["Resource"].endswith(":repository/studio-dev/pip")
    assert ca["PipBearerToken"]["Condition"] == {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}
    assert "codeartifact:*" not in all_actions(execution.values())


def test_mlflow_role_reaches_only_its_bucket_and_the_model_registry(synth):
    mlflow = policies(synth, "mlflow-role")
    assert set(mlflow) == {"artifacts", "model-registry"}
    resources = json.dumps(mlflow["artifacts"])
    assert "studio-dev-mlflow-" in resources and "studio-dev-notebooks-" not in resources


# --- domain, profiles, lifecycle -------------------------------------------------------------


def test_domain_is_vpc_only_with_iam_auth_and_encrypted_home(synth, wl):
    assert has(
        wl,
        SagemakerDomain.TF_RESOURCE_TYPE,
        {
            "app_network_access_type": "VpcOnly",
            "auth_mode": "IAM",
            "domain_name": "studio-dev",
            "retention_policy": {"home_efs_file_system": "Delete"},
        },
    )
    domain = next(iter(synth.resources("workload", "aws_sagemaker_domain").values()))
    assert "aws_kms_key.kms_key" in domain["kms_key_id"]


def test_studio_security_group_is_in_all_three_domain_settings(synth):
    from support import resolve

    domain = next(iter(synth.resources("workload", "aws_sagemaker_domain").values()))
    sg = [("aws_security_group", "network/studio-security-group/security-group", "id")]
    assert resolve(synth, "workload", domain["domain_settings"]["security_group_ids"]) == sg
    assert resolve(synth, "workload", domain["default_user_settings"]["security_groups"]) == sg
    assert resolve(synth, "workload", domain["default_space_settings"]["security_groups"]) == sg


def test_docker_access_with_trusted_accounts_from_configuration(synth, synth_variant):
    def docker(s):
        return next(iter(s.resources("workload", "aws_sagemaker_domain").values()))["domain_settings"][
            "docker_settings"
        ]

    assert docker(synth) == {"enable_docker_access": "ENABLED", "vpc_only_trusted_accounts": []}
    assert docker(synth_variant)["vpc_only_trusted_accounts"] == ["123456789012"]


def test_home_efs_is_retained_only_when_configured(synth_variant):
    domain = next(iter(synth_variant.resources("workload", "aws_sagemaker_domain").values()))
    assert domain["retention_policy"] == {"home_efs_file_system": "Retain"}


def start_script(s) -> str:
    """The start script as the deploy uploads it (modules/studio_domain.py)."""
    (obj,) = [o for o in s.resources("workload", "aws_s3_object").values() if o["key"] == START_SCRIPT_KEY]
    assert obj["bucket"].startswith("${aws_s3_bucket.notebooks_bucket")
    return obj["content"]


def test_the_lifecycle_configuration_is_a_bootstrap_that_names_only_the_region_and_bucket(synth, synth_variant):
    def content(s):
        (lcc,) = s.resources("workload", "aws_sagemaker_studio_lifecycle_config").values()
        assert lcc["studio_lifecycle_config_app_type"] == "JupyterLab"
        return lcc["studio_lifecycle_config_content"]

    text = content(synth)
    bucket = "studio-dev-notebooks-${data.aws_caller_identity.account.account_id}-us-west-2"
    assert f"s3 cp --only-show-errors --region us-west-2 s3://{bucket}/isolated-studio/jupyterlab-start.sh" in text
    # Nothing a team changes on day 2 is in it: not even the other configuration's settings change it.
    assert content(synth_variant) == text
    for setting in ("codeartifact", "--repository", "lab/", "settings", "mlflow"):
        assert setting not in text.replace("settings.json", ""), setting


def test_the_start_script_logs_pip_in_and_copies_the_lab(synth):
    script = start_script(synth)
    assert "aws --cli-connect-timeout 10 --cli-read-timeout 30 codeartifact login --tool pip" in script
    assert "--domain studio-dev" in script and "--repository pip" in script
    assert "s3://studio-dev-notebooks-${data.aws_caller_identity.account.account_id}-us-west-2/lab/" in script
    assert "lab.md5" in script and "kept your edited" in script  # never overwrites what the user changed
    assert "$HOME" not in script  # an unset HOME must not abort the script (set -u)


def test_only_deploys_write_the_start_script(synth):
    (bucket,) = [b for b in synth.resources("workload", "aws_s3_bucket").values() if "-notebooks-" in b["bucket"]]
    policies = [
        synth.policy("workload", p["policy"]) for p in synth.resources("workload", "aws_s3_bucket_policy").values()
    ]
    (guard,) = [st for doc in policies for st in doc["Statement"] if st.get("Sid") == "OnlyDeploysWriteTheStartScript"]
    assert guard["Effect"] == "Deny" and "s3:PutObject" in guard["Action"] and "s3:DeleteObject" in guard["Action"]
    assert guard["Resource"].endswith(
        f"-notebooks-${{data.aws_caller_identity.account.account_id}}-us-west-2/{START_SCRIPT_KEY}"
    )
    roles = guard["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert any("execution-role" in r for r in roles) and any("mlflow-role" in r for r in roles)


def test_the_start_script_writes_the_lab_settings_from_deployed_values(synth):
    script = start_script(synth)
    assert "echo ${local.lab_settings} | base64 -d > $state/settings.json.tmp" in script
    locals_ = synth.stacks["workload"]["locals"]
    # One reference inside the functions: cdktf warns about (and may mangle) strings that
    # interpolate references within a built-in function's arguments.
    assert locals_["lab_settings"] == "${base64encode(jsonencode(local.lab_settings_values))}"
    settings = locals_["lab_settings_values"]
    account = "${data.aws_caller_identity.account.account_id}"
    notebooks = f"studio-dev-notebooks-{account}-us-west-2"
    assert {
        key: settings[key]
        for key in (
            "schema_version",
            "region",
            "account_id",
            "codeartifact_domain",
            "codeartifact_domain_owner",
            "codeartifact_repository",
            "tracking_server_arn",
            "mlflow_version",
            "notebooks_bucket",
            "data_uri",
            "remote_s3_root_uri",
        )
    } == {
        "schema_version": 1,
        "region": "us-west-2",
        "account_id": account,
        "codeartifact_domain": "studio-dev",
        "codeartifact_domain_owner": account,
        "codeartifact_repository": "pip",
        "tracking_server_arn": "arn:${data.aws_partition.partition.partition}:sagemaker:us-west-2:"
        f"{account}:mlflow-tracking-server/studio-dev-mlflow",
        "mlflow_version": "2.16",
        "notebooks_bucket": notebooks,
        "data_uri": f"s3://{notebooks}/data/ai4i2020.csv",
        "remote_s3_root_uri": f"s3://{notebooks}/remote-functions",
    }
    assert settings["kms_key_arn"].startswith("${aws_kms_key.kms_key")
    assert settings["execution_role_arn"].startswith("${aws_iam_role.iam_execution-role")
    for key in ("subnet_ids", "security_group_ids"):
        assert all(v.startswith("${data.terraform_remote_state.") for v in settings[key]), key
    # The data object the settings name is the one the deploy uploads.
    (data,) = [o for o in synth.resources("workload", "aws_s3_object").values() if o["key"].startswith("data/")]
    assert data["key"] == "data/ai4i2020.csv"


def test_the_start_script_writes_the_sdk_defaults_with_our_bucket_key_and_network(synth):
    script = start_script(synth)
    assert "cat > $home/.config/sagemaker/config.yaml" in script
    notebooks = "studio-dev-notebooks-${data.aws_caller_identity.account.account_id}-us-west-2"
    assert f"DefaultS3Bucket: '{notebooks}'" in script
    assert f"S3RootUri: 's3://{notebooks}/remote-functions'" in script
    assert "VolumeKmsKeyId: '${aws_kms_key.kms_key_28C05A0F.arn}'" in script
    assert "cross-stack-output-aws_security_groupstudio-security-group_145E1DBBid" in script
    assert (
        "aws --cli-connect-timeout 10 --cli-read-timeout 30 configure set default.sts_regional_endpoints regional"
        in script
    )


def test_the_domain_holds_no_setting_a_team_changes(synth):
    (domain,) = synth.resources("workload", "aws_sagemaker_domain").values()
    # UpdateDomain fails on VpcOnly domains with the pinned provider (#45528): JupyterLab's settings
    # are on the user profiles.
    assert "jupyter_lab_app_settings" not in domain["default_user_settings"]
    assert "jupyter_lab_app_settings" not in domain["default_space_settings"]


def test_the_start_script_is_attached_on_the_profiles_by_default_and_can_be_detached(synth, synth_variant):
    def jupyter(s):
        return [
            p["user_settings"]["jupyter_lab_app_settings"]
            for p in s.resources("workload", "aws_sagemaker_user_profile").values()
        ]

    lcc = ref(synth, "aws_sagemaker_studio_lifecycle_config", "studio_jupyterlab-lifecycle", "arn")
    assert jupyter(synth) == [
        {
            "lifecycle_config_arns": [lcc],
            "default_resource_spec": {
                "instance_type": "ml.t3.medium",
                "lifecycle_config_arn": lcc,
                "sagemaker_image_arn": "arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-cpu",
                "sagemaker_image_version_alias": "4.4.1",
            },
        }
    ]
    assert all(
        "lifecycle_config_arns" not in j and "lifecycle_config_arn" not in j["default_resource_spec"]
        for j in jupyter(synth_variant)
    )


def test_user_profiles_follow_configuration(synth, synth_variant):
    def profiles(s):
        return {p["user_profile_name"]: p for p in s.resources("workload", "aws_sagemaker_user_profile").values()}

    assert set(profiles(synth)) == {"data-scientist"}
    variant = profiles(synth_variant)
    assert set(variant) == {"alice", "bob"}
    for profile in variant.values():
        assert profile["domain_id"] == ref(synth_variant, "aws_sagemaker_domain", "studio_domain", "id")
        assert profile["user_settings"]["security_groups"][0].startswith("${" + REMOTE)


# --- MLflow and CodeArtifact -----------------------------------------------------------------


def test_mlflow_tracking_server_settings(synth, wl):
    assert has(
        wl,
        SagemakerMlflowTrackingServer.TF_RESOURCE_TYPE,
        {
            "tracking_server_name": "studio-dev-mlflow",
            "tracking_server_size": "Small",
            "mlflow_version": "2.16",
            "automatic_model_registration": True,
            "weekly_maintenance_window_start": "Sun:03:00",
        },
    )
    server = next(iter(synth.resources("workload", "aws_sagemaker_mlflow_tracking_server").values()))
    bucket = ref(synth, "aws_s3_bucket", "mlflow-artifacts_bucket", "bucket")
    assert server["artifact_store_uri"] == f"s3://{bucket}/mlflow"
    assert "mlflow-role" in server["role_arn"]
    # No domain-id tag: AWS documents none, and it made the 25-45 minute creation wait for the domain.
    assert "tags" not in server


def test_mlflow_server_waits_only_for_what_it_needs(synth):
    server = next(iter(synth.resources("workload", "aws_sagemaker_mlflow_tracking_server").values()))
    deps = server.get("depends_on", [])
    assert all(d.startswith("aws_iam_role_policy.iam_mlflow-") for d in deps) and len(deps) == 2
    # Everything the server waits for, directly or not: its 25-45 minutes start with the roles and bucket.
    doc = synth.stacks["workload"]
    waits, todo = (
        set(),
        [("aws_sagemaker_mlflow_tracking_server", next(iter(doc["resource"]["aws_sagemaker_mlflow_tracking_server"])))],
    )
    while todo:
        rtype, name = todo.pop()
        body = doc["resource"][rtype][name]
        found = re.findall(
            r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)", json.dumps({k: v for k, v in body.items() if k != "//"})
        )
        for step in found:
            if step not in waits and step[0] in doc["resource"] and step[1] in doc["resource"][step[0]]:
                waits.add(step)
                todo.append(step)
    kinds = {rtype for rtype, _ in waits}
    for unneeded in (
        "aws_sagemaker_domain",
        "aws_sagemaker_user_profile",
        "aws_codeartifact_domain",
        "aws_codeartifact_repository",
        "aws_s3_object",
        "aws_sagemaker_studio_lifecycle_config",
    ):
        assert unneeded not in kinds


def test_codeartifact_domain_upstream_and_team_repository(synth, wl):
    assert has(wl, CodeartifactDomain.TF_RESOURCE_TYPE, {"domain": "studio-dev"})
    domain = next(iter(synth.resources("workload", "aws_codeartifact_domain").values()))
    assert "aws_kms_key.kms_key" in domain["encryption_key"]
    assert has(
        wl,
        CodeartifactRepository.TF_RESOURCE_TYPE,
        {"repository": "pypi-store", "external_connections": {"external_connection_name": "public:pypi"}},
    )
    team = next(
        r for r in synth.resources("workload", "aws_codeartifact_repository").values() if r["repository"] == "pip"
    )
    upstream = ref(synth, "aws_codeartifact_repository", "codeartifact_upstream", "repository")
    assert team["upstream"] == [{"repository_name": upstream}]


# --- outputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "vpc_id",
        "domain_id",
        "domain_url",
        "user_profile_names",
        "security_group_id",
        "subnet_ids",
        "notebooks_bucket_uri",
        "mlflow_tracking_server_arn",
        "mlflow_tracking_server_url",
        "codeartifact_repository_endpoint",
        "codeartifact_login_command",
    ],
)
def test_seed_parity_outputs_with_descriptions(synth, name):
    output = synth.stacks["workload"]["output"][name]
    assert output["description"] and output["value"]


def test_login_command_is_the_exact_pip_command(synth):
    command = synth.stacks["workload"]["output"]["codeartifact_login_command"]["value"]
    assert command == (
        "aws codeartifact login --tool pip --region us-west-2 --domain studio-dev "
        "--domain-owner ${data.aws_caller_identity.account.account_id} --repository pip"
    )
