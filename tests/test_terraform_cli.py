"""Terraform runs with a CLI configuration the project writes, never the user's."""

import os

import pytest

from isolated_studio.ops.terraform import TerraformError, terraform_env, write_cli_config


def test_mirror_config_takes_registry_providers_from_the_mirror_only(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    text = write_cli_config(str(mirror), tmp_path / "cli").read_text()
    assert f'path    = "{mirror}"' in text
    assert 'include = ["registry.terraform.io/*/*"]' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text


def test_without_a_mirror_terraform_uses_the_registry(tmp_path):
    text = write_cli_config(None, tmp_path / "cli").read_text()
    assert "provider_installation" not in text


def test_different_mirrors_never_share_a_file(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with_mirror = write_cli_config(str(mirror), tmp_path / "cli")
    without = write_cli_config(None, tmp_path / "cli")
    assert with_mirror != without and with_mirror.exists() and without.exists()
    assert write_cli_config(str(mirror), tmp_path / "cli") == with_mirror


def test_a_missing_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(TerraformError, match="is not a directory"):
        write_cli_config(str(tmp_path / "nope"), tmp_path / "cli")


def test_environment_points_terraform_at_our_config_and_disables_prompts(monkeypatch):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", os.path.expanduser("~/.terraformrc"))
    env = terraform_env(None)
    assert ".terraform-cli/terraformrc-" in env["TF_CLI_CONFIG_FILE"]
    assert env["TF_INPUT"] == "0" and env["TF_IN_AUTOMATION"] == "1"


def test_config_names_a_plugin_cache_that_exists_and_that_may_serve_inits_without_a_lock_file(tmp_path):
    path = write_cli_config(None, tmp_path / "cli")
    cache = (tmp_path / "cli" / "plugin-cache").resolve()
    assert f'plugin_cache_dir = "{cache}"' in path.read_text()
    assert "plugin_cache_may_break_dependency_lock_file = true" in path.read_text()
    assert cache.is_dir()


@pytest.mark.terraform
def test_inits_link_the_provider_from_the_cache_instead_of_copying_it(tmp_path, provider_mirror):
    from isolated_studio.ops import terraform

    env = terraform.terraform_env(provider_mirror)
    env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(provider_mirror, tmp_path / "cli"))
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    cache = (tmp_path / "cli" / "plugin-cache").resolve()
    installed = []
    for stack in ("one", "two"):  # two stacks, neither with a lock file
        stack_dir = tmp_path / stack
        stack_dir.mkdir()
        (stack_dir / "main.tf.json").write_text('{"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws"}}}}')
        terraform.run(["init", "-backend=false", "-input=false", "-no-color"], cwd=stack_dir, env=env, timeout=300)
        (platform,) = (stack_dir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").glob("*/*")
        installed.append(platform)
    for platform in installed:
        assert platform.is_symlink(), f"{platform} is a copy of the provider, not a link"
        assert os.readlink(platform).startswith(str(cache))
        assert any(platform.resolve().glob("terraform-provider-aws*"))
