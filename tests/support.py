"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_terraform() -> str:
    """Terraform tests skip on a laptop without terraform, but never in CI."""
    path = shutil.which("terraform")
    if path is None:
        if IN_CI:
            pytest.fail("terraform is not on PATH, and CI=true forbids skipping Terraform tests")
        pytest.skip("terraform is not on PATH")
    return path


def fake_mirror(root: Path, platform: str = "linux_amd64") -> Path:
    """A provider mirror at ``root`` laid out as /opt/tf-plugins is, with a tiny stand-in package."""
    from isolated_studio.base.terraform import PROVIDER_SOURCE, PROVIDER_VERSION

    package = root / PROVIDER_SOURCE / PROVIDER_VERSION / platform
    package.mkdir(parents=True)
    (package / f"terraform-provider-aws_v{PROVIDER_VERSION}_x5").write_bytes(b"binary")
    (package / "LICENSE.txt").write_text("license")
    return root


STUDIO_PYTHON = Path(__file__).resolve().parents[1] / ".venv-studio" / "bin" / "python"
AWSCLI_PYTHON = Path(__file__).resolve().parents[1] / ".venv-awscli" / "bin" / "python"


def require_interpreter(python: Path, make_target: str) -> Path:
    """An interpreter of the project's side environments; never skipped in CI."""
    if not python.exists():
        if IN_CI:
            pytest.fail(f"{python} is missing, and CI=true forbids skipping: run make {make_target}")
        pytest.skip(f"{python} is missing: run make {make_target}")
    return python


def require_studio_python() -> Path:
    """The lab's Studio-pinned interpreter (`make studio-env`): the real SageMaker SDK."""
    return require_interpreter(STUDIO_PYTHON, "studio-env")


def require_awscli_python() -> Path:
    """The AWS CLI's interpreter (`make awscli-env`)."""
    return require_interpreter(AWSCLI_PYTHON, "awscli-env")


def run_studio_python(code: str, *args: str, env: dict | None = None, timeout: int = 120) -> str:
    """Run ``code`` with the Studio interpreter (the real SageMaker SDK); return its stdout."""
    import subprocess

    result = subprocess.run(
        [str(require_studio_python()), "-c", code, *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"studio interpreter failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout


def port_from_log(log: os.PathLike[str], pattern: str, process, timeout_s: float) -> int:
    """The port a server bound to port 0 announces in its log (race-free: the OS picked it
    and the server holds it), waiting until it appears, the server dies or time runs out."""
    import re
    import time
    from pathlib import Path

    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        match = regex.search(text)
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it listened:\n{text}")
        time.sleep(0.1)
    raise RuntimeError(f"server announced no port within {timeout_s} s:\n{Path(log).read_text(errors='replace')}")


REF = re.compile(r"\$\{((?:data\.)?[A-Za-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}")
REMOTE = "data.terraform_remote_state"


def _paths(synth) -> dict[tuple[str, str, str], str]:
    """(stack, "type" or "data.type", logical name) -> construct path."""
    paths = {}
    for stack, doc in synth.stacks.items():
        for kind, prefix in (("resource", ""), ("data", "data.")):
            for rtype, items in doc.get(kind, {}).items():
                for name, body in items.items():
                    paths[(stack, prefix + rtype, name)] = body.get("//", {}).get("metadata", {}).get("path", "")
    return paths


def resolve(synth, stack: str, value):
    """An output value with every reference replaced by (type, construct path, attribute)."""
    paths = _paths(synth)
    if isinstance(value, list):
        return [resolve(synth, stack, v) for v in value]
    if isinstance(value, dict):
        return {k: resolve(synth, stack, v) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    whole = REF.fullmatch(value)
    if whole:
        rtype, name, attribute = whole.groups()
        if rtype == REMOTE:
            network_output = attribute.removeprefix("outputs.")
            return resolve(synth, "network", synth.stacks["network"]["output"][network_output]["value"])
        return (rtype, paths[(stack, rtype, name)], attribute)

    def text(match: re.Match) -> str:
        target = resolve(synth, stack, match.group(0))
        return "{" + " ".join(target) + "}"

    return REF.sub(text, value)


def config_document(**sections):
    """A valid configuration document with some sections' keys replaced (or whole values set)."""
    base = {
        "project": {"name_prefix": "studio-test", "environment": "test"},
        "network": {},
        "state": {"bucket": "studio-test-tfstate", "lock_table": "studio-test-tflock"},
        "workload": {},
    }
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(base.get(section, {}), dict):
            base.setdefault(section, {}).update(values)
        else:
            base[section] = values
    return base
