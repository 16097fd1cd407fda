"""Run Terraform with a CLI configuration the project owns; decide the provider mirror.

Air-gapped users (and our CI) install providers from a filesystem mirror. We never touch
the user's ~/.terraformrc: we write our own CLI config and point TF_CLI_CONFIG_FILE at it.
Without a mirror the file is still ours (empty of provider rules), so Terraform downloads
from the registry as usual and nothing from a home config leaks into a run.

:func:`decide_provider_mirror` is the one place that decides which mirror is used:
the configuration (``StudioConfig.provider_mirror``), hence ``main.py``, the workflow and
the CLI configuration written here, and the tests all take it from there, whether they are
started by ``make``, ``pipenv run`` or ``cdktf``.

The cdktf CLI cannot be handed an environment (it runs ``terraform`` itself), so for it
:func:`prepare_stack_dirs` (called by ``main.py`` after synthesis) gives every stack
directory what Terraform needs without any CLI configuration:

- ``terraform.d/plugins`` -> the mirror: Terraform's implied local mirror directory in
  the working directory, used when no CLI configuration sets ``provider_installation``
  (https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories);
- ``.terraform.lock.hcl`` with the ``h1:`` hash of every platform the mirror holds. cdktf
  runs ``terraform providers lock -platform=linux_amd64`` (which always asks the registry)
  only when a stack has no lock file naming a matching provider version, so with this file
  ``cdktf deploy`` never leaves the machine. The hashes are computed from the mirror, the
  version is the exact pin of the bindings, and ``terraform init`` verifies the installed
  package against them. Without a mirror nothing is written and cdktf locks (and verifies)
  against the registry as usual.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from isolated_studio.base.paths import PROJECT_ROOT

CLI_CONFIG_DIR = PROJECT_ROOT / ".terraform-cli"
MIRROR_ENV = "STUDIO_PROVIDER_MIRROR"
# The provider the bindings (cdktf-cdktf-provider-aws 20.1.0) were generated for, pinned
# exactly in every stack's required_providers.
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
PROVIDER_VERSION = "5.100.0"
# Where a machine usually keeps a filesystem mirror: ours, and Terraform's own implied
# mirror directories on Linux. A candidate counts only if it holds the pinned provider.
MIRROR_CANDIDATES = ("/opt/tf-plugins", "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins")
# STUDIO_PROVIDER_MIRROR=none turns discovery off: use the registry even where a mirror exists.
NO_MIRROR = "none"
LOCK_FILE = ".terraform.lock.hcl"
IMPLIED_MIRROR_DIR = Path("terraform.d") / "plugins"


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its output."""


def find_terraform() -> str | None:
    return shutil.which("terraform")


# --------------------------------------------------------------------------- the mirror


def provider_package_dir(mirror: str | Path) -> Path:
    return Path(mirror) / PROVIDER_SOURCE / PROVIDER_VERSION


def holds_pinned_provider(mirror: str | Path) -> bool:
    return provider_package_dir(mirror).is_dir()


def decide_provider_mirror(
    env: Mapping[str, str] | None = None,
    configured: str | None = None,
    candidates: Iterable[str] | None = None,
) -> str | None:
    """The provider mirror to use, or None for the registry.

    ``STUDIO_PROVIDER_MIRROR`` first (``none`` means the registry), then the environment
    file's ``terraform.provider_mirror``, then the first usual place that holds the pinned
    provider. An explicit setting is returned as given (the configuration reports it when
    it is not a directory); discovery only returns directories with the pinned provider.
    """
    env = os.environ if env is None else env
    explicit = (env.get(MIRROR_ENV) or "").strip()
    if explicit.lower() == NO_MIRROR:
        return None
    if explicit:
        return explicit
    if configured:
        return configured
    return next(
        (c for c in (MIRROR_CANDIDATES if candidates is None else candidates) if holds_pinned_provider(c)), None
    )


def package_hash_v1(package_dir: Path) -> str:
    """Terraform's ``h1:`` hash of an unpacked provider package (Go's dirhash.Hash1).

    sha256 over the sorted lines "<sha256 of file>  <path relative to the package>\n";
    this is what ``terraform providers lock -fs-mirror`` and ``terraform init`` record.
    """
    files = sorted(p.relative_to(package_dir).as_posix() for p in package_dir.rglob("*") if p.is_file())
    summary = hashlib.sha256()
    for name in files:
        digest = hashlib.sha256()
        with (package_dir / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        summary.update(f"{digest.hexdigest()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def mirror_hashes(mirror: str | Path, cache_dir: Path = CLI_CONFIG_DIR) -> dict[str, str]:
    """``{platform: h1 hash}`` for every unpacked platform of the pinned provider in the mirror.

    Hashing reads the whole provider (~675 MB per platform), so the result is cached, keyed
    by the files' paths, sizes and modification times.
    """
    package = provider_package_dir(mirror)
    platforms = sorted(p for p in package.iterdir() if p.is_dir()) if package.is_dir() else []
    if not platforms:
        raise TerraformError(
            f"provider mirror {str(mirror)!r} has no unpacked {PROVIDER_SOURCE} "
            f"{PROVIDER_VERSION} (expected {package}/<os>_<arch>/)"
        )
    hashes = {}
    for platform in platforms:
        stamp = hashlib.sha256(
            json.dumps(
                sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in platform.rglob("*") if p.is_file())
            ).encode()
        ).hexdigest()[:16]
        cached = cache_dir / f"h1-{platform.name}-{stamp}"
        if cached.is_file():
            hashes[platform.name] = cached.read_text().strip()
            continue
        hashes[platform.name] = package_hash_v1(platform)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(hashes[platform.name] + "\n")
        tmp.replace(cached)
    return hashes


def lock_file_text(hashes: Mapping[str, str]) -> str:
    """A dependency lock file for the pinned provider, as ``terraform init`` writes it."""
    lines = "".join(f'    "{h}",\n' for h in sorted(set(hashes.values())))
    return (
        "# Written by isolated-studio from the provider mirror (h1 hashes of its packages:\n"
        f"# {', '.join(sorted(hashes))}). terraform init verifies the provider against them.\n\n"
        f'provider "{PROVIDER_SOURCE}" {{\n'
        f'  version     = "{PROVIDER_VERSION}"\n'
        f'  constraints = "{PROVIDER_VERSION}"\n'
        "  hashes = [\n"
        f"{lines}"
        "  ]\n"
        "}\n"
    )


def prepare_stack_dirs(stack_dirs: Iterable[Path], mirror: str | None) -> list[Path]:
    """Make the cdktf CLI (and plain Terraform) in each stack directory use ``mirror``.

    Writes the implied mirror link and the lock file (module docstring) and returns the
    files it wrote. A lock file Terraform or a user already wrote is kept: it records
    what was installed. Without a mirror nothing is written.
    """
    if not mirror:
        return []
    mirror_path = Path(mirror).resolve()
    lock = lock_file_text(mirror_hashes(mirror_path))
    written = []
    for stack_dir in stack_dirs:
        link = stack_dir / IMPLIED_MIRROR_DIR
        if not (link.is_symlink() and Path(os.readlink(link)) == mirror_path):
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(mirror_path, target_is_directory=True)
            written.append(link)
        lock_path = stack_dir / LOCK_FILE
        if not lock_path.exists():
            lock_path.write_text(lock)
            written.append(lock_path)
    return written


PLUGIN_CACHE = "plugin-cache"


def _plugin_cache_text(cache_dir: Path) -> str:
    # One provider download for every stack directory and test run: `terraform init` links
    # .terraform/providers/... to the cache instead of downloading the ~675 MB provider again.
    # Terraform >= 1.4 reuses a cached provider only when a lock file already holds its
    # checksum; we commit no lock files (each init computes one from the provider it
    # installs), so without the second setting every init would download again.
    return f"plugin_cache_dir = {json.dumps(str(cache_dir))}\nplugin_cache_may_break_dependency_lock_file = true\n"


def cli_config_text(mirror: str | None, cache_dir: Path | None = None) -> str:
    """The CLI configuration: the mirror, or the registry with a plugin cache.

    With an (unpacked) filesystem mirror there is no plugin cache, on purpose. Each init then
    links its own .terraform/providers/... straight to the mirror (Terraform's
    installFromLocalDir symlinks a local directory package), so nothing is copied and no
    directory is shared. A cache gave nothing more (its entry was itself a link to the mirror)
    and it raced: Terraform documents the cache as unsafe for concurrent use, and two inits
    that both found it empty each removed the entry and symlinked it, the loser falling back to
    `mkdir`, which fails with "failed to create directory .../linux_amd64: file exists"
    (internal/providercache/package_install.go). A loaded machine widens that microsecond
    window to a scheduler slice: the fresh-clone `make test` hit it.
    """
    if not mirror:
        cache = _plugin_cache_text(cache_dir) if cache_dir else ""
        # Registry installs into the cache unpack into a temporary directory and rename each
        # file into place (installFromLocalArchive), so inits side by side cannot half-see one.
        return "# Written by isolated-studio: no provider mirror, Terraform uses the registry.\n" + cache
    mirror_path = json.dumps(str(Path(mirror).resolve()))
    return (
        "# Written by isolated-studio from STUDIO_PROVIDER_MIRROR / terraform.provider_mirror.\n"
        "# No plugin cache: every init links the provider straight to the mirror.\n"
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
    cache_dir = None
    if not mirror:
        cache_dir = (directory / PLUGIN_CACHE).resolve()
        cache_dir.mkdir(parents=True, exist_ok=True)  # Terraform ignores a cache dir that is missing
    directory.mkdir(parents=True, exist_ok=True)
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
