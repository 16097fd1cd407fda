"""Loading an environment: which file, what the shell overrides, and how problems are reported.

The loader decides things no single rule sees: the file (STUDIO_CONFIG, STUDIO_ENV), the
region and where it came from, the emulator endpoint and provider mirror the shell sets,
the defaults derived from other settings, and which problems are worth reporting (one per
mistake, all of them at once, each under its key path and the file's name).
"""

from __future__ import annotations

import copy

import pytest
from support import config_document as raw

import isolated_studio.config as config_module
from isolated_studio.config import CONFIG_DIR, ConfigError, config_path, load_config, parse_config

ENV = {"AWS_REGION": "us-west-2"}
SECTIONS = "['emulator', 'network', 'project', 'state', 'tags', 'terraform', 'workload']"
EMULATOR = "http://127.0.0.1:4566"


def problems(document, env=ENV, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(document, env=env, source="test.toml", **kwargs)
    return info.value.problems


def without_environment(**sections):
    document = raw(**sections)
    del document["project"]["environment"]
    return document


@pytest.fixture
def shell(monkeypatch):
    """A shell with none of the variables the loader reads, for the calls that read os.environ."""
    for name in (
        "STUDIO_CONFIG",
        "STUDIO_ENV",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "STUDIO_EMULATOR_ENDPOINT",
        "STUDIO_PROVIDER_MIRROR",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --------------------------------------------------------------------------- which file


@pytest.mark.parametrize(
    "env, path",
    [
        ({}, CONFIG_DIR / "dev.toml"),
        ({"STUDIO_ENV": ""}, CONFIG_DIR / "dev.toml"),
        ({"STUDIO_ENV": "emulator"}, CONFIG_DIR / "emulator.toml"),
        ({"STUDIO_ENV": "emulator", "STUDIO_CONFIG": "/elsewhere/qa.toml"}, "/elsewhere/qa.toml"),
        ({"STUDIO_ENV": "emulator", "STUDIO_CONFIG": ""}, CONFIG_DIR / "emulator.toml"),
    ],
)
def test_the_file_is_studio_config_else_the_studio_env_environment_else_dev(env, path):
    assert str(config_path(env)) == str(path)


def test_without_an_explicit_environment_the_shell_is_read(shell, tmp_path):
    path = tmp_path / "qa.toml"
    path.write_text('[project]\nname_prefix = "studio-qa"\n')
    shell.setenv("STUDIO_ENV", "emulator")
    assert config_path() == CONFIG_DIR / "emulator.toml"
    shell.setenv("STUDIO_CONFIG", str(path))
    shell.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    config = load_config()
    assert (config.environment, config.region, config.region_source, config.source) == (
        "qa",
        "eu-north-1",
        "AWS_DEFAULT_REGION",
        str(path),
    )
    unnamed = parse_config(raw())
    assert (unnamed.region, unnamed.source) == ("eu-north-1", "<memory>")


def test_without_any_region_setting_the_region_is_the_default_and_says_so():
    config = parse_config(raw(), env={})
    assert (config.region, config.region_source) == ("us-west-2", "default")


def test_a_missing_file_is_named_with_the_environments_there_are(tmp_path):
    missing = tmp_path / "qa.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing, env=ENV)
    assert info.value.source == str(missing)
    assert str(info.value) == (
        f"{missing}: 1 configuration problem; nothing was synthesized:\n"
        "  - configuration file not found (environments: dev, emulator)"
    )


def test_a_missing_file_in_an_empty_configuration_directory_says_there_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "CONFIG_DIR", tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(env={"STUDIO_ENV": "qa"})
    assert info.value.problems == ["configuration file not found (environments: none)"]


def test_the_problems_of_a_file_are_reported_under_its_name(tmp_path):
    path = tmp_path / "qa.toml"
    path.write_text('[project]\nname_prefix = "studio-qa"\n[network]\naz_count = 1\nvpc_cidr = "8.8.0.0/16"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert info.value.source == str(path)
    assert str(info.value) == (
        f"{path}: 2 configuration problems; nothing was synthesized:\n"
        "  - network.vpc_cidr: '8.8.0.0/16' must be inside a private range (10/8, 172.16/12, 192.168/16)\n"
        "  - network.az_count: 1 is fewer than 2; a SageMaker domain needs subnets in at least two AZs"
    )


def test_an_environment_named_by_a_bad_file_name_is_reported(tmp_path):
    path = tmp_path / "QA_1.toml"
    path.write_text('[project]\nname_prefix = "studio-qa"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert info.value.problems == ["project.environment: 'QA_1' must be 1-16 lowercase letters, digits or hyphens"]


# --------------------------------------------------------------------------- defaults derived from other settings


def test_defaults_follow_the_file_name_when_the_environment_is_not_set():
    config = parse_config(without_environment(), env=ENV, default_environment="sandbox")
    assert config.environment == "sandbox"
    assert config.state_key("network") == "isolated-studio/sandbox/us-west-2/network.tfstate"
    assert config.bootstrap_state_file == "terraform-state/sandbox/us-west-2/state.tfstate"


def test_one_document_parsed_for_two_regions_gets_each_regions_default_bucket():
    # Nothing is written into the caller's document: a default filled in for one region would
    # be read as a bucket the file sets when the same document is parsed for the next region.
    document = raw(project={"account_id": "210987654321"})
    del document["state"]["bucket"]
    before = copy.deepcopy(document)
    west = parse_config(document, env={"AWS_REGION": "us-west-2"})
    east = parse_config(document, env={"AWS_REGION": "eu-west-1"})
    assert (west.state.bucket, east.state.bucket) == (
        "studio-test-tfstate-210987654321-us-west-2",
        "studio-test-tfstate-210987654321-eu-west-1",
    )
    assert document == before


def test_region_in_a_bucket_name_becomes_the_region():
    config = parse_config(raw(state={"bucket": "studio-{region}-tfstate"}), env={"AWS_REGION": "eu-west-1"})
    assert config.state.bucket == "studio-eu-west-1-tfstate"


# --------------------------------------------------------------------------- the emulator


def test_the_emulator_endpoint_variable_overrides_the_files():
    config = parse_config(
        raw(emulator={"endpoint": EMULATOR}), env={**ENV, "STUDIO_EMULATOR_ENDPOINT": "http://127.0.0.1:5000/"}
    )
    assert (config.emulator.enabled, config.emulator.url) == (True, "http://127.0.0.1:5000")


def test_the_emulator_endpoint_variable_is_refused_for_a_file_without_an_emulator_section_naming_the_environment():
    assert problems(
        without_environment(), env={**ENV, "STUDIO_EMULATOR_ENDPOINT": EMULATOR}, default_environment="staging"
    ) == [
        "STUDIO_EMULATOR_ENDPOINT is set, but this configuration ('staging') has no [emulator] section: emulator "
        "mode is only for configurations written for it; unset STUDIO_EMULATOR_ENDPOINT, or use STUDIO_ENV=emulator"
    ]


def test_an_emulator_files_bootstrap_state_is_under_the_emulators_directory_by_default():
    config = parse_config(without_environment(emulator={"endpoint": EMULATOR}), env=ENV, default_environment="sandbox")
    assert config.bootstrap_state_file == "terraform-state/emulator/sandbox/us-west-2/state.tfstate"


def test_bootstrap_states_of_the_emulator_and_of_real_environments_never_mix():
    assert problems(
        raw(emulator={"endpoint": EMULATOR}, state={"bootstrap_state_path": "terraform-state/test/s.tfstate"})
    ) == [
        "state.bootstrap_state_path: 'terraform-state/test/s.tfstate' must be under terraform-state/emulator/ in "
        "emulator mode (apart from every real environment's state)"
    ]
    assert problems(raw(state={"bootstrap_state_path": "terraform-state/emulator/s.tfstate"})) == [
        "state.bootstrap_state_path: 'terraform-state/emulator/s.tfstate' is under terraform-state/emulator/, which "
        "is the emulator's; a real environment keeps its bootstrap state elsewhere"
    ]


# --------------------------------------------------------------------------- the provider mirror


def test_the_files_provider_mirror_is_used(tmp_path):
    assert parse_config(raw(terraform={"provider_mirror": str(tmp_path)}), env=ENV).provider_mirror == str(tmp_path)


def test_the_mirror_variable_overrides_the_files_and_none_means_the_registry(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    document = raw(terraform={"provider_mirror": str(tmp_path)})
    assert parse_config(document, env={**ENV, "STUDIO_PROVIDER_MIRROR": str(other)}).provider_mirror == str(other)
    assert parse_config(document, env={**ENV, "STUDIO_PROVIDER_MIRROR": "none"}).provider_mirror is None
    assert parse_config(raw(), env={**ENV, "STUDIO_PROVIDER_MIRROR": "none"}).provider_mirror is None


def test_a_provider_mirror_that_is_not_a_directory_says_where_it_was_set(tmp_path):
    missing = tmp_path / "missing"
    assert problems(raw(terraform={"provider_mirror": str(missing)})) == [
        f"terraform.provider_mirror: {str(missing)!r} (terraform.provider_mirror or STUDIO_PROVIDER_MIRROR) is not a directory"
    ]


# --------------------------------------------------------------------------- what is reported


@pytest.mark.parametrize("section", ["project", "state", "terraform"])
def test_a_section_that_is_not_a_table_is_reported_alone(section):
    assert problems(raw(**{section: 5})) == [f"{section}: must be a table, got 5"]


def test_a_pinned_region_of_the_wrong_type_is_reported_at_project_region():
    assert problems(raw(project={"region": 5})) == ["project.region: must be a string, got 5"]


def test_problems_found_before_and_during_validation_are_reported_together():
    assert problems(raw(surprise={}, network={"az_count": 1}), env={**ENV, "STUDIO_EMULATOR_ENDPOINT": EMULATOR}) == [
        f"surprise: unknown section (expected one of {SECTIONS})",
        "STUDIO_EMULATOR_ENDPOINT is set, but this configuration ('test') has no [emulator] section: emulator "
        "mode is only for configurations written for it; unset STUDIO_EMULATOR_ENDPOINT, or use STUDIO_ENV=emulator",
        "network.az_count: 1 is fewer than 2; a SageMaker domain needs subnets in at least two AZs",
    ]


def test_a_bad_project_setting_and_a_bad_region_from_the_shell_are_both_reported():
    assert problems(raw(project={"name_prefix": "X"}), env={"AWS_REGION": "US-WEST-2"}) == [
        "project.name_prefix: 'X' must be 3-24 characters of lowercase letters, digits and single hyphens, starting "
        "with a letter (it becomes part of bucket, role and domain names)",
        "region: 'US-WEST-2' (from project.region, AWS_REGION or AWS_DEFAULT_REGION) is not an AWS region name like "
        "us-west-2",
    ]


def test_a_derived_default_that_s3_refuses_is_reported_with_the_other_problems():
    # Valid settings can still derive a bucket name that is too long: then the file has to set one.
    document = raw(project={"name_prefix": "a" * 24, "account_id": "210987654321"}, network={"az_count": 1})
    del document["state"]["bucket"]
    # No real region is long enough for that any more (botocore's regions, at most 14 characters): a
    # made-up one is refused itself, and the bucket name derived from it is not reported again.
    assert problems(document, env={"AWS_REGION": "eu-southwesternmost-1"}) == [
        "network.az_count: 1 is fewer than 2; a SageMaker domain needs subnets in at least two AZs",
        "region: 'eu-southwesternmost-1' is not a region of any AWS partition (botocore 1.35.99); did you mean "
        "eu-south-1 or eu-isoe-west-1?",
    ]


def test_an_unknown_section_with_no_near_name_lists_the_sections():
    assert problems(raw(zzz={})) == [f"zzz: unknown section (expected one of {SECTIONS})"]


def test_a_missing_name_prefix_says_what_it_is_for_in_its_descriptions_words():
    assert problems({"project": {}}) == [
        "project.name_prefix: must be set (3-24 lowercase letters, digits and single hyphens, starting with a "
        "letter; names every resource)"
    ]


def test_a_key_that_is_not_a_string_is_named_as_a_key():
    # TOML keys are strings; a document built in Python can have others.
    assert problems(raw(tags={1: "x"})) == ["tags[1] (a key): must be a string, got 1"]
