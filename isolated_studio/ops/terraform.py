"""Run Terraform with a CLI configuration the project owns.

Air-gapped users (and our CI) install providers from a filesystem mirror. We never touch
the user's ~/.terraformrc: we write our own CLI config and point TF_CLI_CONFIG_FILE at it.
Without a mirror the file is still ours (empty of provider rules), so Terraform downloads
from the registry as usual and nothing from a home config leaks into a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

from isolated_studio.config import PROJECT_ROOT

CLI_CONFIG_DIR = PROJECT_ROOT / ".terraform-cli"
MIRROR_ENV = "STUDIO_PROVIDER_MIRROR"


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its output."""


def find_terraform() -> str | None:
    return shutil.which("terraform")


PLUGIN_CACHE = "plugin-cache"


def _plugin_cache_text(cache_dir: Path) -> str:
    # One provider installation for every stack directory and test run: `terraform init`
    # links .terraform/providers/... to the cache instead of unpacking the ~675 MB provider
    # again. Terraform >= 1.4 reuses a cached provider only when a lock file already holds
    # its checksum; we keep no lock files (each init computes one from the provider it
    # installs, and a mirror gives only local checksums anyway), so without the second
    # setting every init from the registry would download again. With an unpacked
    # filesystem mirror Terraform 1.11 links the cache entry to the mirror itself.
    return (f"plugin_cache_dir = {json.dumps(str(cache_dir))}\n"
            "plugin_cache_may_break_dependency_lock_file = true\n")


def cli_config_text(mirror: str | None, cache_dir: Path | None = None) -> str:
    cache = _plugin_cache_text(cache_dir) if cache_dir else ""
    if not mirror:
        return "# Written by isolated-studio: no provider mirror, Terraform uses the registry.\n" + cache
    mirror_path = json.dumps(str(Path(mirror).resolve()))
    return (
        "# Written by isolated-studio from STUDIO_PROVIDER_MIRROR / terraform.provider_mirror.\n"
        + cache +
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {mirror_path}\n"
        '    include = ["registry.terraform.io/*/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )


def write_cli_config(mirror: str | None, directory: Path = CLI_CONFIG_DIR) -> Path:
    """Write (once) the CLI config for this mirror setting and return its path.

    The file is named by its content, so runs with different mirrors (a developer's shell
    and a test, say) never rewrite each other's configuration mid-run.
    """
    if mirror and not Path(mirror).is_dir():
        raise TerraformError(f"provider mirror {mirror!r} ({MIRROR_ENV}) is not a directory")
    cache_dir = (directory / PLUGIN_CACHE).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)  # Terraform ignores a cache dir that is missing
    text = cli_config_text(mirror, cache_dir)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = directory / f"terraformrc-{digest}"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def terraform_env(mirror: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a Terraform subprocess: our CLI config, no prompts, no colour codes."""
    env = dict(os.environ if base is None else base)
    env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(mirror))
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env.setdefault("CHECKPOINT_DISABLE", "1")
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    terraform = find_terraform()
    if terraform is None:
        raise TerraformError("terraform is not on PATH (Terraform >= 1.10 is required)")
    proc = subprocess.run(
        [terraform, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise TerraformError(
            f"terraform {' '.join(args)} failed in {cwd} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def main() -> int:
    """Print the path of the CLI config for $STUDIO_PROVIDER_MIRROR (for TF_CLI_CONFIG_FILE)."""
    print(write_cli_config(os.environ.get(MIRROR_ENV) or None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
