"""Terraform inits started side by side on a fresh machine all link the provider mirror, and share no directory."""

import os
from pathlib import Path

import pytest
from support import IN_CI, require_terraform

from isolated_studio.base.terraform import write_cli_config

INITS_AT_ONCE = 6
ROUNDS = 3


@pytest.mark.terraform
def test_inits_started_at_once_on_a_fresh_machine_all_link_the_mirror(tmp_path, provider_mirror):
    """Several `terraform init`s at the same instant, with nothing installed yet (a fresh clone's
    test workers after the shared synthesis, the workflow's plans side by side), all succeed;
    each links its provider straight to the mirror, and no directory is shared between them."""
    import threading

    from isolated_studio.base import terraform

    require_terraform()
    if not provider_mirror:
        if IN_CI:
            pytest.fail("CI machines carry the provider mirror (/opt/tf-plugins)")
        pytest.skip("no provider mirror on this machine: inits would download from the registry")
    package = terraform.provider_package_dir(provider_mirror).resolve()
    for round_ in range(ROUNDS):
        root = tmp_path / f"round-{round_}"
        env = terraform.terraform_env(provider_mirror)
        env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(provider_mirror, root / "cli"))  # nothing installed yet
        env.pop("TF_PLUGIN_CACHE_DIR", None)
        dirs = []
        for index in range(INITS_AT_ONCE):  # no lock files: each init installs the provider itself
            stack_dir = root / f"stack-{index}"
            stack_dir.mkdir(parents=True)
            (stack_dir / "main.tf.json").write_text(
                '{"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}}}'
            )
            dirs.append(stack_dir)
        start, results = threading.Barrier(INITS_AT_ONCE), {}

        def init(stack_dir: Path) -> None:
            start.wait()
            results[stack_dir] = terraform.run(
                ["init", "-backend=false", "-input=false", "-no-color"],
                cwd=stack_dir,
                env=env,
                timeout=300,
                check=False,
            )

        threads = [threading.Thread(target=init, args=(d,)) for d in dirs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = {d.name: p.stdout + p.stderr for d, p in results.items() if p.returncode != 0}
        assert failed == {}, f"round {round_}: inits failed side by side: {failed}"
        for stack_dir in dirs:
            (platform,) = (stack_dir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").glob(
                "*/*"
            )
            assert platform.is_symlink(), f"{platform} is a copy of the provider, not a link"
            assert Path(os.readlink(platform)).resolve().parent == package
        assert sorted(p.name for p in (root / "cli").iterdir()) == [Path(env["TF_CLI_CONFIG_FILE"]).name]
