"""Terraform runs with a CLI configuration the project writes, never the user's."""

import os
import subprocess
from pathlib import Path

import pytest
from support import fake_mirror

from isolated_studio.base.terraform import PLUGIN_CACHE, TerraformError, terraform_env, write_cli_config


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


def test_without_a_mirror_the_config_names_a_plugin_cache_that_may_serve_inits_without_a_lock_file(tmp_path):
    path = write_cli_config(None, tmp_path / "cli")
    cache = (tmp_path / "cli" / "plugin-cache").resolve()
    assert f'plugin_cache_dir = "{cache}"' in path.read_text()
    assert "plugin_cache_may_break_dependency_lock_file = true" in path.read_text()
    assert cache.is_dir()


def test_with_a_mirror_the_config_names_no_plugin_cache(tmp_path):
    """Terraform documents the plugin cache as unsafe for concurrent inits (the race that failed a
    fresh-clone `make test`); with a mirror each init links the mirror itself instead."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    text = write_cli_config(str(mirror), tmp_path / "cli").read_text()
    assert "plugin_cache_dir" not in text
    assert not (tmp_path / "cli" / PLUGIN_CACHE).exists()


# --------------------------------------------------------------------------- the one mirror decision

from isolated_studio.base.terraform import (  # noqa: E402
    LOCK_FILE,
    PROVIDER_SOURCE,
    PROVIDER_VERSION,
    decide_provider_mirror,
    lock_file_text,
    mirror_hashes,
    package_hash_v1,
    prepare_stack_dirs,
)


def test_the_environment_wins_then_the_file_then_the_usual_places(tmp_path):
    usual = fake_mirror(tmp_path / "usual")
    empty = tmp_path / "empty"
    empty.mkdir()
    candidates = [str(tmp_path / "absent"), str(empty), str(usual)]
    assert decide_provider_mirror({}, None, candidates) == str(usual)  # first one with the provider
    assert decide_provider_mirror({}, "/from/file", candidates) == "/from/file"
    assert decide_provider_mirror({"STUDIO_PROVIDER_MIRROR": "/from/env"}, "/from/file", candidates) == "/from/env"
    assert decide_provider_mirror({"STUDIO_PROVIDER_MIRROR": "none"}, "/from/file", candidates) is None
    assert decide_provider_mirror({}, None, [str(empty)]) is None  # no mirror: the registry


def test_configuration_takes_the_discovered_mirror(monkeypatch, tmp_path):
    """`pipenv run pytest` or `python main.py` without STUDIO_PROVIDER_MIRROR behave as make does."""
    import isolated_studio.base.terraform as terraform
    from isolated_studio.config import CONFIG_DIR, load_config

    usual = fake_mirror(tmp_path / "usual")
    monkeypatch.setattr(terraform, "MIRROR_CANDIDATES", (str(usual),))
    assert load_config(CONFIG_DIR / "dev.toml", env={"AWS_REGION": "us-west-2"}).provider_mirror == str(usual)


def test_h1_hash_is_terraforms_dirhash(tmp_path):
    # Go's dirhash.Hash1 over the two files, computed independently.
    import base64
    import hashlib

    package = fake_mirror(tmp_path / "m") / PROVIDER_SOURCE / PROVIDER_VERSION / "linux_amd64"
    lines = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted(
            [("LICENSE.txt", b"license"), (f"terraform-provider-aws_v{PROVIDER_VERSION}_x5", b"binary")]
        )
    )
    expected = "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
    assert package_hash_v1(package) == expected


def test_stack_dirs_get_the_implied_mirror_and_a_lock_file(tmp_path):
    mirror = fake_mirror(tmp_path / "mirror", "linux_amd64")
    fake_mirror(tmp_path / "mirror2", "darwin_arm64")
    (mirror / PROVIDER_SOURCE / PROVIDER_VERSION / "darwin_arm64").symlink_to(
        tmp_path / "mirror2" / PROVIDER_SOURCE / PROVIDER_VERSION / "darwin_arm64"
    )
    stacks = [tmp_path / "out" / name for name in ("state", "network")]
    for stack in stacks:
        stack.mkdir(parents=True)
    (stacks[1] / LOCK_FILE).write_text("# terraform wrote this\n")

    written = prepare_stack_dirs(stacks, str(mirror))

    for stack in stacks:
        assert (stack / "terraform.d" / "plugins").resolve() == mirror.resolve()
    lock = (stacks[0] / LOCK_FILE).read_text()
    hashes = mirror_hashes(mirror, tmp_path / "cache")
    assert set(hashes) == {"linux_amd64", "darwin_arm64"}
    assert lock == lock_file_text(hashes)
    assert all(h in lock for h in hashes.values()) and f'constraints = "{PROVIDER_VERSION}"' in lock
    assert (stacks[1] / LOCK_FILE).read_text() == "# terraform wrote this\n"  # kept
    assert stacks[1] / LOCK_FILE not in written
    assert prepare_stack_dirs(stacks, str(mirror)) == []  # idempotent
    assert prepare_stack_dirs(stacks, None) == []


def test_a_mirror_without_the_pinned_provider_is_a_clear_error(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(TerraformError, match=f"has no unpacked {PROVIDER_SOURCE} {PROVIDER_VERSION}"):
        prepare_stack_dirs([tmp_path], str(tmp_path / "m"))
