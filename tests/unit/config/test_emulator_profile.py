"""The emulator's differences from AWS, behind one object: what the stacks synthesize and what a
run does otherwise against moto, and that nothing else asks whether a run is emulated."""

from __future__ import annotations

import ast
from pathlib import Path

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import EMULATOR_CREDENTIAL, EMULATOR_PLAN_ONLY_VARIABLE, load_config
from isolated_studio.config.emulator import AWS, EMULATED_SERVICES, EmulatorProfile

MOTO = EmulatorProfile(True, "http://127.0.0.1:4566/")


def test_against_aws_nothing_differs():
    assert AWS.client_settings() == ({}, {})
    assert AWS.terraform_variables() == {}
    assert AWS.account_to_check("111122223333") == "111122223333"
    assert AWS.not_applied("workload", scoped=False) is None
    assert AWS.where("eu-west-1") == "eu-west-1"
    assert AWS.sagemaker_grace_s(600) == 600
    assert "emulator only" in AWS.scope_refusal("config/dev.toml")


def test_against_moto_the_workload_is_plan_only_unless_scoped_and_nothing_waits_for_sagemaker():
    assert "cannot create SageMaker domains" in MOTO.not_applied("workload", scoped=False)
    assert MOTO.not_applied("workload", scoped=True) is None
    assert MOTO.not_applied("network", scoped=False) is None
    assert MOTO.terraform_variables() == {f"TF_VAR_{EMULATOR_PLAN_ONLY_VARIABLE}": "true"}
    assert MOTO.account_to_check("111122223333") is None
    assert MOTO.sagemaker_grace_s(600) == 0.0
    assert MOTO.scope_refusal("config/emulator.toml") is None


def test_boto3_clients_go_to_moto_with_its_credentials_and_path_style_s3():
    kwargs, options = MOTO.client_settings()
    assert kwargs == {
        "endpoint_url": "http://127.0.0.1:4566",
        "aws_access_key_id": EMULATOR_CREDENTIAL,
        "aws_secret_access_key": EMULATOR_CREDENTIAL,
    }
    assert options == {"s3": {"addressing_style": "path"}}


def test_the_profile_is_read_from_the_environments_configuration():
    assert EmulatorProfile.of(load_config(env={"STUDIO_ENV": "dev"})).enabled is False
    emulator = load_config(env={"STUDIO_ENV": "emulator"})
    assert EmulatorProfile.of(emulator) == EmulatorProfile(True, emulator.emulator.endpoint)


def test_against_aws_the_provider_may_touch_only_the_configured_account_and_keeps_every_deny():
    assert AWS.provider_arguments("111122223333") == {"allowed_account_ids": ["111122223333"]}
    assert AWS.provider_arguments(None) == {}
    assert AWS.backend_arguments() == {}
    assert AWS.applies_deny_conditions and AWS.has_dns_firewall
    assert not AWS.plan_only("workload")
    assert AWS.url == ""


def test_against_moto_the_provider_and_backend_reach_every_service_at_its_endpoint_with_its_credentials():
    provider = MOTO.provider_arguments("111122223333")
    assert "allowed_account_ids" not in provider  # moto answers for its own account
    assert provider["endpoints"] == {service: "http://127.0.0.1:4566" for service in EMULATED_SERVICES}
    assert (provider["access_key"], provider["secret_key"]) == (EMULATOR_CREDENTIAL, EMULATOR_CREDENTIAL)
    # The account is read from moto's GetCallerIdentity: without it, references to our own
    # security groups read back as "<account>/sg-..." and every plan shows a change.
    assert "skip_requesting_account_id" not in provider
    backend = MOTO.backend_arguments()
    assert set(backend["endpoints"]) == {"s3", "dynamodb", "sts", "iam"}
    assert set(backend["endpoints"].values()) == {"http://127.0.0.1:4566"}
    assert backend["use_path_style"] and backend["skip_requesting_account_id"]


def test_against_moto_conditional_denies_are_left_out_and_the_workload_is_guarded():
    assert MOTO.applies_deny_conditions is False  # moto applies a Deny without its condition
    assert MOTO.has_dns_firewall is False
    assert MOTO.plan_only("workload") and not MOTO.plan_only("network") and not MOTO.plan_only("state")


def test_a_run_says_where_it_works_and_what_to_do_when_the_target_fails():
    assert AWS.who("111122223333") == "account 111122223333"
    assert MOTO.who("123456789012") == "emulator http://127.0.0.1:4566/"
    assert "project.account_id is not set" in AWS.unpinned_account_note(None)
    assert AWS.unpinned_account_note("111122223333") is None and MOTO.unpinned_account_note(None) is None
    assert "check your credentials and region eu-west-1" in AWS.request_failed(OSError("boom"), "eu-west-1")
    assert "make emulator" in MOTO.request_failed(OSError("boom"), "eu-west-1")
    assert AWS.not_answering() is None
    assert "STUDIO_EMULATOR_ENDPOINT" in MOTO.not_answering()


# The configuration may read its own [emulator] section; everything else asks the profile.
ASKS_THE_CONFIGURATION = {"isolated_studio/config/__init__.py", "isolated_studio/config/emulator.py"}


def _reads_of_the_emulator_section(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """`<anything>.emulator.enabled` / `.endpoint` in a module's code (not its docstrings)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("enabled", "endpoint")
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "emulator"
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_but_the_profile_asks_whether_a_run_is_emulated():
    sources = [
        path
        for folder in ("isolated_studio", "stacks", "modules")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path.relative_to(PROJECT_ROOT).as_posix() not in ASKS_THE_CONFIGURATION
    ] + [PROJECT_ROOT / "main.py"]
    assert len(sources) > 50
    assert [read for path in sources for read in _reads_of_the_emulator_section(path)] == []


def test_the_emulator_section_check_finds_a_planted_branch(tmp_path):
    planted = tmp_path / "stacks" / "planted.py"
    planted.parent.mkdir()
    planted.write_text(
        '"""config.emulator.enabled in a docstring is prose."""\n\n\ndef f(config):\n    return 1 if config.emulator.enabled else 2\n'
    )
    assert _reads_of_the_emulator_section(planted, tmp_path) == ["stacks/planted.py:5: config.emulator.enabled"]
