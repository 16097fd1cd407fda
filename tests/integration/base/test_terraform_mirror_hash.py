"""The lock file's h1: hash we write for the mirror is the one real `terraform providers lock` records."""

import subprocess

import pytest
from support import fake_mirror, require_terraform

from isolated_studio.base.terraform import LOCK_FILE, PROVIDER_VERSION, mirror_hashes, terraform_env


@pytest.mark.terraform
def test_h1_hash_is_what_terraform_records_for_a_mirror(tmp_path):
    """`terraform providers lock -fs-mirror` computes the same hash for the same package."""
    require_terraform()
    mirror = fake_mirror(tmp_path / "mirror")
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf.json").write_text(
        '{"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "%s"}}}}'
        % PROVIDER_VERSION
    )
    proc = subprocess.run(
        ["terraform", "providers", "lock", f"-fs-mirror={mirror}", "-platform=linux_amd64", "-no-color"],
        cwd=work,
        env=terraform_env(None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recorded = (work / LOCK_FILE).read_text()
    assert mirror_hashes(mirror, tmp_path / "cache")["linux_amd64"] in recorded
