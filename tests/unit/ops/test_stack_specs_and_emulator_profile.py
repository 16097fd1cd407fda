"""The per-stack table and the emulator's profile the workflow reads instead of stack names and
`if emulator` branches."""

from __future__ import annotations

from isolated_studio.config import EMULATOR_CREDENTIAL, EMULATOR_PLAN_ONLY_VARIABLE, load_config
from isolated_studio.config.emulator import EmulatorProfile
from isolated_studio.ops.stack_specs import SPECS, STACK_ORDER, STACKS
from isolated_studio.ops.workflow import Workflow

AWS = EmulatorProfile(False)
MOTO = EmulatorProfile(True, "http://127.0.0.1:4566/")


def test_each_stack_needs_only_stacks_deployed_before_it():
    for position, spec in enumerate(STACKS):
        assert set(spec.needs) <= set(STACK_ORDER[:position]), spec


def test_every_cleanup_before_a_destroy_is_a_workflow_step():
    cleanups = [spec.cleanup_before_destroy for spec in STACKS if spec.cleanup_before_destroy]
    assert cleanups and all(callable(getattr(Workflow, name)) for name in cleanups)


def test_only_the_bootstrap_keeps_local_state_and_a_bare_destroy_leaves_it():
    assert [s.name for s in STACKS if s.local_state] == ["state"]
    assert [s.name for s in STACKS if not s.destroyed_by_default] == ["state"]


def test_the_state_keys_are_the_configurations_and_the_bootstrap_has_none():
    config = load_config(env={"STUDIO_ENV": "dev"})
    assert SPECS["state"].state_key(config) is None
    assert SPECS["network"].state_key(config) == config.state_key("network")


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
