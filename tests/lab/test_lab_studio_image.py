"""The lab's requirements against the SageMaker Distribution image Studio runs (4.4.1).

JupyterLab runs in the image's base environment, so the lab must not downgrade anything there:
it installs into a kernel of its own (pm_lab.kernel), whose pins agree with the image except
the packages pm_lab.kernel.HELD_BACK names with their reason. Checked against the image's
committed package list (tests/data/sagemaker-distribution/4.4.1, SOURCE.md says where from).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import InvalidVersion, Version
from pm_lab import kernel
from studio_image import IMAGE_VERSION, PACKAGE_LIST, REPO_ROOT, normalise, python_packages, python_version
from support import require_studio_python

REQUIREMENTS = REPO_ROOT / "notebooks" / "requirements.txt"


def _lower(version: str, than: str) -> bool:
    try:
        return Version(version) < Version(than)
    except InvalidVersion:
        return False


def test_the_image_list_is_the_one_the_lab_targets() -> None:
    image = python_packages()
    assert python_version() == "3.12.13"
    # What makes the lab need a kernel of its own: the image's MLflow 3 and SDK 3.
    assert image["mlflow"] == "3.15.1" and image["sagemaker"] == "3.12.0"
    assert image["jupyterlab"] == "4.5.10" and image["xgboost"] == "2.1.4"
    assert len(image) > 500
    assert IMAGE_VERSION in (PACKAGE_LIST.parent / "SOURCE.md").read_text()


def test_requirements_pin_the_images_versions_except_what_is_held_back() -> None:
    image = python_packages()
    pins = kernel.pinned(REQUIREMENTS)
    problems = []
    for name, version in pins.items():
        shipped = image.get(normalise(name))
        if shipped is None:
            continue
        if name in kernel.HELD_BACK:
            if not _lower(version, shipped):
                problems.append(f"{name}=={version} is held back but the image has {shipped}: drop it from HELD_BACK")
        elif version != shipped:
            problems.append(f"{name}=={version} but the image ships {shipped}")
    assert problems == []
    # Every held-back package is one the image ships (newer): the list stays honest.
    assert [name for name in kernel.HELD_BACK if normalise(name) not in image] == []
    assert {"mlflow", "sagemaker", "sagemaker-mlflow"} <= set(pins) & set(kernel.HELD_BACK)


def _stand_in_for_the_image(root: Path, python: Path) -> Path:
    """A Python 3.12 environment that holds the image's packages as installed distributions.

    Only their metadata (name, version): enough for pip's resolver, which then decides what
    installing requirements.txt there would change, as it would in the image.
    """
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(root)], check=True)
    (site,) = (root / "lib").glob("python3.*/site-packages")
    for name, version in python_packages().items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("conda\n")
        (info / "RECORD").write_text("")
    return root / "bin" / "python"


@pytest.mark.slow
def test_requirements_over_the_image_downgrade_only_what_is_held_back(tmp_path: Path) -> None:
    """pip's real resolution of requirements.txt over the image's package list (a dry run).

    That is what a @remote job does in its container (the SDK installs `dependencies` over
    the image) and what installing into JupyterLab's environment would do: every package the
    image ships that pip would replace by an older version must be one HELD_BACK names.
    """
    studio_python = require_studio_python()
    stand_in = _stand_in_for_the_image(tmp_path / "image", studio_python)
    version = subprocess.run([str(stand_in), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == ".".join(python_version().split(".")[:2])  # the image's Python
    report = tmp_path / "report.json"
    result = subprocess.run(
        [str(studio_python), "-m", "pip", "--python", str(stand_in), "install", "--dry-run", "--quiet",
         "--disable-pip-version-check", "--report", str(report), "-r", str(REQUIREMENTS)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = python_packages()
    changes = {normalise(item["metadata"]["name"]): item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
    downgrades = {name: (image[name], new) for name, new in changes.items()
                  if name in image and _lower(new, image[name])}
    unexpected = {name: f"{old} -> {new}" for name, (old, new) in downgrades.items() if name not in kernel.HELD_BACK}
    assert unexpected == {}, f"requirements.txt would downgrade packages the image ships: {unexpected}"
    assert {"mlflow", "sagemaker"} <= set(downgrades)  # why the lab has a kernel of its own
    # Pins that agree with the image are left as the image has them.
    agreeing = [name for name in kernel.pinned(REQUIREMENTS) if name not in kernel.HELD_BACK and name in image]
    assert agreeing and not set(agreeing) & set(changes), set(agreeing) & set(changes)


def test_the_lab_kernel_never_installs_into_the_images_environment(tmp_path: Path) -> None:
    """pm_lab.kernel.install: venv from the image's Python, pip with the venv's interpreter only."""
    calls: list[list[str]] = []

    def run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    home = tmp_path / "home"
    home.mkdir()
    target = kernel.install(REQUIREMENTS, python="/opt/conda/bin/python", home=home, run=run, echo=lambda _: None)
    assert target == home / ".isolated-studio" / "kernels" / "pm-lab"
    assert calls[0][:3] == ["/opt/conda/bin/python", "-m", "venv"]
    assert all(call[0] == str(target / "bin" / "python") for call in calls[1:])
    assert calls[1][1:4] == ["-m", "pip", "install"] and calls[1][-2:] == ["-r", str(REQUIREMENTS)]
    assert calls[2][-4:] == ["--name", "pm-lab", "--display-name", kernel.KERNEL_DISPLAY_NAME]
    # Reused as long as requirements.txt is unchanged.
    calls.clear()
    kernel.install(REQUIREMENTS, python="/opt/conda/bin/python", home=home, run=run, echo=lambda _: None)
    assert calls == []


def test_a_kernel_without_the_pins_builds_the_lab_kernel_and_asks_to_switch(tmp_path: Path) -> None:
    from pm_lab.errors import KernelSwitchRequired

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("mlflow==2.16.2\nnumpy==0.0.1  # never installed\n")
    built = []
    with pytest.raises(KernelSwitchRequired, match=r"numpy .* \(needs 0.0.1\).*Kernel > Change Kernel > 'Python 3 \(pm-lab"):
        kernel.require_lab_kernel(requirements, build=lambda: built.append(True))
    assert built == [True]
    requirements.write_text(f"pytest=={pytest.__version__}\n")
    kernel.require_lab_kernel(requirements, build=lambda: built.append(False))  # satisfied: nothing to do
    assert built == [True]
    assert sys.version_info >= (3, 11)
