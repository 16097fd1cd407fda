"""Configuration: one typed object per environment, every problem reported before synthesis."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import config_document

from isolated_studio.config import (
    CONFIG_DIR,
    DEFAULT_INTERFACE_ENDPOINTS,
    ConfigError,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[3]
ENV = {"AWS_REGION": "us-west-2"}


raw = config_document


def problems_of(document, env=ENV):
    with pytest.raises(ConfigError) as info:
        parse_config(document, env=env, source="test.toml")
    return info.value.problems, str(info.value)


def test_default_environment_loads_with_the_seed_defaults():
    config = load_config(CONFIG_DIR / "dev.toml", env=ENV)
    assert config.region == "us-west-2"
    assert config.network.vpc_cidr == "10.10.0.0/16"
    assert config.network.availability_zone_ids == ()  # the account's available zones, at plan time
    assert config.subnet_cidrs == ("10.10.0.0/24", "10.10.1.0/24")
    assert set(DEFAULT_INTERFACE_ENDPOINTS) <= set(config.network.interface_endpoints)
    assert config.workload.user_profiles == ("data-scientist",)
    assert config.workload.mlflow_version == "2.16"
    assert config.state_key("network") == "isolated-studio/dev/us-west-2/network.tfstate"
    assert config.bootstrap_state_file == "terraform-state/dev/us-west-2/state.tfstate"


def test_environment_is_chosen_by_variable_and_region_by_aws_region(tmp_path):
    (tmp_path / "staging.toml").write_text('[project]\nname_prefix = "studio-stg"\n')
    config = load_config(env={"STUDIO_CONFIG": str(tmp_path / "staging.toml"), "AWS_REGION": "eu-central-1"})
    assert (config.environment, config.region) == ("staging", "eu-central-1")
    assert config.endpoint_service_name("experiments") == "aws.sagemaker.eu-central-1.experiments"
    assert config.state.bucket == "studio-stg-tfstate"


def test_unknown_environment_names_the_available_ones():
    with pytest.raises(ConfigError, match=r"configuration file not found \(environments: .*dev"):
        load_config(env={"STUDIO_ENV": "nope"})


def test_a_toml_syntax_error_is_reported_with_its_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[project\nname_prefix = 1")
    with pytest.raises(
        ConfigError, match=r"broken.toml(.|\n)*not valid TOML: Expected ']' at the end of a table declaration"
    ):
        load_config(bad, env=ENV)


BAD_INPUTS = [
    # (sections, expected message fragment)
    ({"network": {"vpc_cidr": "10.10.0.0/33"}}, "network.vpc_cidr: '10.10.0.0/33' is not a valid IPv4 network CIDR"),
    ({"network": {"vpc_cidr": "10.10.0.1/16"}}, "network.vpc_cidr: '10.10.0.1/16' is not a valid IPv4 network CIDR"),
    ({"network": {"vpc_cidr": "8.8.0.0/16"}}, "must be inside a private range"),
    ({"network": {"vpc_cidr": "10.0.0.0/8"}}, "prefix must be between /16 and /28"),
    ({"network": {"subnet_cidrs": ["10.10.0.0/24", "10.10.0.128/25"]}}, "10.10.0.0/24 and 10.10.0.128/25 overlap"),
    (
        {"network": {"subnet_cidrs": ["10.10.0.0/24", "10.20.0.0/24"]}},
        "10.20.0.0/24 is not inside the VPC 10.10.0.0/16",
    ),
    (
        {"network": {"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 25, "az_count": 3}},
        "3 subnets of /25 do not fit in 10.10.0.0/24",
    ),
    ({"network": {"az_count": 1}}, "network.az_count: 1 is fewer than 2"),
    (
        {"network": {"interface_endpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "sqs"]}},
        "unknown service(s) ['sqs']",
    ),
    ({"network": {"interface_endpoints": ["logs"]}}, "'sagemaker.api' is required for Studio in VpcOnly mode"),
    (
        {"network": {"flow_log_retention_days": 10}},
        "network.flow_log_retention_days: 10 is not a CloudWatch Logs retention value",
    ),
    ({"network": {"az_count": "two"}}, "network.az_count: must be an integer, got 'two'"),
    ({"project": {"name_prefix": ""}}, "project.name_prefix: must not be empty"),
    ({"project": {"name_prefix": "Studio_Dev"}}, "project.name_prefix: 'Studio_Dev' must be 3-24 characters"),
    ({"project": {"region": "us-west-2", "account_id": "1234"}}, "project.account_id: '1234' must be 12 digits"),
    ({"state": {"bucket": "My_State_Bucket"}}, "state.bucket: 'My_State_Bucket' must be 3-63 characters"),
    ({"state": {"bucket": "192.168.1.1"}}, "state.bucket: '192.168.1.1' must not look like an IP address"),
    ({"state": {"lock_table": "x"}}, "state.lock_table: 'x' must be 3-255 characters"),
    ({"state": {"locking": "redis"}}, "state.locking: 'redis' must be one of ['dynamodb', 'lockfile', 'both']"),
    ({"state": {"key_prefix": "/abs/"}}, "state.key_prefix: '/abs/' must be an S3 key prefix"),
    ({"tags": {"aws:owner": "me"}}, "tags.aws:owner: keys starting with 'aws:' are reserved for AWS"),
    ({"surprise": {}}, "surprise: unknown section"),
    # workload options
    (
        {"workload": {"user_profiles": ["alice", "bad_name!"]}},
        "workload.user_profiles: 'bad_name!' must be 1-63 letters",
    ),
    ({"workload": {"user_profiles": ["alice", "alice"]}}, "workload.user_profiles: duplicate name(s) ['alice']"),
    ({"workload": {"user_profiles": []}}, "workload.user_profiles: at least one user profile is needed"),
    ({"workload": {"mlflow_size": "Huge"}}, "workload.mlflow_size: 'Huge' must be one of ['Small', 'Medium', 'Large']"),
    ({"workload": {"mlflow_version": "latest"}}, "workload.mlflow_version: 'latest' must look like 2.16"),
    (
        {"workload": {"mlflow_version": "2.16.2"}},
        "workload.mlflow_version: '2.16.2' is a patch version; SageMaker accepts major.minor only (it answers 'The provided MLflow version is not supported'): use '2.16'",
    ),
    (
        {"workload": {"mlflow_version": "2.20"}},
        "workload.mlflow_version: '2.20' does not match the lab's client mlflow==2.16.2 (notebooks/requirements.txt): use '2.16'",
    ),
    (
        {"workload": {"mlflow_maintenance_window": "Sunday 3am"}},
        "workload.mlflow_maintenance_window: 'Sunday 3am' must be Ddd:HH:MM",
    ),
    ({"workload": {"mlflow_maintenance_window": "Sun:25:00"}}, "must be Ddd:HH:MM"),
    (
        {"workload": {"codeartifact_domain": "Bad.Domain"}},
        "workload.codeartifact_domain: 'Bad.Domain' must be 2-50 lowercase",
    ),
    ({"workload": {"codeartifact_repository": "p"}}, "workload.codeartifact_repository: 'p' must be 2-100"),
    ({"workload": {"codeartifact_upstream_repository": "pip"}}, "must differ from codeartifact_repository"),
    (
        {"workload": {"data_file": "data/does-not-exist.csv"}},
        "workload.data_file: 'data/does-not-exist.csv' does not exist",
    ),
    ({"workload": {"iam_mode": "admin"}}, "workload.iam_mode: 'admin' must be one of ['managed', 'least-privilege']"),
    (
        {"workload": {"docker_trusted_accounts": ["12345"]}},
        "workload.docker_trusted_accounts: '12345' must be a 12-digit",
    ),
    ({"workload": {"jupyterlab_instance_type": "t3.medium"}}, "is not a SageMaker instance type"),
    ({"workload": {"force_destroy_buckets": "yes"}}, "workload.force_destroy_buckets: must be true or false"),
]


@pytest.mark.parametrize("sections, message", BAD_INPUTS, ids=[m[:40] for _, m in BAD_INPUTS])
def test_bad_configuration_is_rejected_with_a_specific_message(sections, message):
    problems, text = problems_of(raw(**sections))
    assert any(message in p for p in problems), problems
    assert text.startswith("test.toml:") and "nothing was synthesized" in text


def test_bad_region_from_the_environment_is_reported():
    problems, _ = problems_of(raw(), env={"AWS_REGION": "uswest2"})
    assert problems == [
        "region: 'uswest2' (from project.region, AWS_REGION or AWS_DEFAULT_REGION) is not an AWS region name like us-west-2"
    ]


def test_all_problems_are_reported_together():
    problems, text = problems_of(
        raw(
            project={"name_prefix": ""},
            network={"vpc_cidr": "300.0.0.0/16", "az_count": 1},
            workload={"mlflow_size": "Huge", "user_profiles": ["a", "a"]},
        )
    )
    assert len(problems) >= 5
    assert "configuration problems" in text
    for fragment in ("name_prefix", "vpc_cidr", "az_count", "mlflow_size", "duplicate"):
        assert fragment in text


def test_provider_mirror_must_exist(tmp_path):
    problems, _ = problems_of(raw(), env={**ENV, "STUDIO_PROVIDER_MIRROR": str(tmp_path / "missing")})
    assert any("is not a directory" in p for p in problems)


def test_main_refuses_a_bad_configuration_before_writing_anything(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[project]\nname_prefix = "X"\n[network]\naz_count = 1\n')
    outdir = tmp_path / "out"
    env = {**os.environ, "STUDIO_CONFIG": str(bad), "CDKTF_OUTDIR": str(outdir), "AWS_REGION": "us-west-2"}
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "project.name_prefix" in proc.stderr and "network.az_count" in proc.stderr
    assert not outdir.exists()


def test_a_misspelled_key_is_rejected_not_silently_defaulted():
    # retain_home_efs misspelled kept the default (false): the users' home EFS was deleted with the domain.
    problems, _ = problems_of(raw(workload={"retain_home_ef": True}))
    assert problems == ["workload.retain_home_ef: unknown key; did you mean 'workload.retain_home_efs'?"]


def _misspellings():
    from isolated_studio.config.model import SECTIONS

    for section, model in SECTIONS.items():
        for key in model.model_fields:
            yield section, key, key[:-1] if len(key) > 4 else key + "s"


@pytest.mark.parametrize("section, key, typo", list(_misspellings()), ids=lambda v: str(v))
def test_every_setting_misspelled_is_rejected_with_the_right_suggestion(section, key, typo):
    problems, _ = problems_of(raw(**{section: {typo: "x"}}))
    assert f"{section}.{typo}: unknown key; did you mean '{section}.{key}'?" in problems


@pytest.mark.parametrize(
    "document, message",
    [
        (
            {"network": {"locking": "both"}},
            "network.locking: unknown key; 'locking' belongs in [state] (state.locking)",
        ),
        (
            {"name_prefix": "studio-x"},
            "name_prefix: not a section; did you mean project.name_prefix (under [project])?",
        ),
        ({"wrkload": {}}, "wrkload: unknown section; did you mean [workload]?"),
        ({"network": {"zzz": 1}}, "network.zzz: unknown key (known: vpc_cidr, az_count,"),
    ],
)
def test_keys_in_the_wrong_place_are_rejected_with_where_they_belong(document, message):
    problems, _ = problems_of(raw(**document))
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize(
    "document, message",
    [
        ({"network": 5}, "network: must be a table, got 5"),
        ({"workload": {"user_profiles": ["alice", 3]}}, "workload.user_profiles[1]: must be a string, got 3"),
        ({"workload": {"user_profiles": "alice"}}, "workload.user_profiles: must be a list of strings, got 'alice'"),
        ({"network": {"az_count": 2.0}}, "network.az_count: must be an integer, got 2.0"),
        ({"network": {"az_count": True}}, "network.az_count: must be an integer, got True"),
        ({"tags": {"Owner": 1}}, "tags.Owner: must be a string, got 1"),
        (
            {"project": {"environment": "test", "name_prefix": "studio-test", "account_id": 123456789012}},
            "project.account_id: must be a string, got 123456789012",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_its_key_path_and_value(document, message):
    problems, _ = problems_of(raw(**document))
    assert message in problems, problems


def test_a_missing_name_prefix_says_what_it_is_for():
    problems, _ = problems_of({"project": {}})
    assert problems[0].startswith("project.name_prefix: must be set (3-24 lowercase letters")
    assert not any(p.startswith("state.") for p in problems), "defaults derived from the prefix repeat the problem"


def test_configuration_objects_are_immutable():
    config = load_config(CONFIG_DIR / "dev.toml", env=ENV)
    with pytest.raises(Exception, match="frozen"):
        config.workload.retain_home_efs = True  # type: ignore[misc]
    assert isinstance(config.workload.user_profiles, tuple)


# --------------------------------------------------------------------------- regions and the emulator


def test_a_pinned_region_wins_over_the_shell_and_says_where_it_came_from():
    pinned = parse_config(raw(project={"region": "eu-west-1"}), env={"AWS_REGION": "us-east-1"})
    assert (pinned.region, pinned.region_source) == ("eu-west-1", "project.region")
    unpinned = parse_config(raw(), env={"AWS_DEFAULT_REGION": "eu-central-1"})
    assert (unpinned.region, unpinned.region_source) == ("eu-central-1", "AWS_DEFAULT_REGION")


def test_the_region_is_in_every_state_key_and_the_bootstrap_state_path():
    west = parse_config(raw(), env={"AWS_REGION": "us-west-2"})
    east = parse_config(raw(), env={"AWS_REGION": "us-east-1"})
    for stack in ("network", "workload"):
        assert west.state_key(stack) != east.state_key(stack)
        assert west.state_key(stack) == f"isolated-studio/test/us-west-2/{stack}.tfstate"
    assert (west.bootstrap_state_file, east.bootstrap_state_file) == (
        "terraform-state/test/us-west-2/state.tfstate",
        "terraform-state/test/us-east-1/state.tfstate",
    )


def _without_state_names(**sections):
    document = raw(**sections)
    document["state"] = {k: v for k, v in document["state"].items() if k not in ("bucket", "lock_table")}
    return document


def test_the_default_state_bucket_carries_account_and_region_like_every_other_bucket():
    known = parse_config(_without_state_names(project={"account_id": "210987654321"}), env={"AWS_REGION": "eu-west-1"})
    assert known.state.bucket == "studio-test-tfstate-210987654321-eu-west-1"
    assert not known.state_bucket_is_generic
    # Table names are per account and region already.
    assert known.state.lock_table == "studio-test-tflock"
    # Without the account: the bare name (synthesis works; deploy refuses to create it).
    bare = parse_config(_without_state_names(), env=ENV)
    assert bare.state.bucket == "studio-test-tfstate" and bare.state_bucket_is_generic
    # A name the file gives is used as given, whatever it is.
    given = parse_config(raw(state={"bucket": "studio-test-tfstate"}), env=ENV)
    assert given.state.bucket == "studio-test-tfstate" and not given.state_bucket_is_generic


@pytest.mark.parametrize(
    "region, partition",
    [
        ("us-west-2", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_the_state_key_is_named_by_its_alias_arn_in_the_regions_partition_once_the_account_is_known(region, partition):
    # Only the aws partition's regions offer CodeArtifact (botocore's endpoint data), so the others are
    # refused as a whole; the key's ARN is still named in the region's partition.
    known = parse_config(raw(project={"account_id": "210987654321"}), env=ENV).model_copy(update={"region": region})
    assert known.state_kms_key_id == f"arn:{partition}:kms:{region}:210987654321:alias/studio-test-tfstate"
    # Without the account: the alias name, which S3 resolves in the credentials' account.
    assert parse_config(raw(), env=ENV).model_copy(update={"region": region}).state_kms_key_id == (
        "alias/studio-test-tfstate"
    )


def test_the_emulator_endpoint_variable_is_refused_for_a_configuration_without_an_emulator_section():
    problems, _ = problems_of(raw(), env={**ENV, "STUDIO_EMULATOR_ENDPOINT": "http://127.0.0.1:4566"})
    assert any(
        "STUDIO_EMULATOR_ENDPOINT is set, but this configuration ('test') has no [emulator] section" in p
        for p in problems
    ), problems
    # The shipped dev file (the real dev environment) is refused the same way.
    with pytest.raises(ConfigError, match="has no \\[emulator\\] section"):
        load_config(CONFIG_DIR / "dev.toml", env={**ENV, "STUDIO_EMULATOR_ENDPOINT": "http://127.0.0.1:4566"})


def test_the_emulators_bootstrap_state_lives_apart_from_every_real_environments():
    emulated = parse_config(raw(emulator={"endpoint": "http://127.0.0.1:4566"}), env=ENV)
    assert emulated.bootstrap_state_file == "terraform-state/emulator/test/us-west-2/state.tfstate"
    real = parse_config(raw(), env=ENV)
    assert not real.bootstrap_state_file.startswith("terraform-state/emulator/")

    problems, _ = problems_of(
        raw(
            emulator={"endpoint": "http://127.0.0.1:4566"},
            state={"bootstrap_state_path": "terraform-state/dev/state.tfstate"},
        )
    )
    assert any("must be under terraform-state/emulator/ in emulator mode" in p for p in problems), problems
    problems, _ = problems_of(raw(state={"bootstrap_state_path": "terraform-state/emulator/state.tfstate"}))
    assert any("which is the emulator's" in p for p in problems), problems
