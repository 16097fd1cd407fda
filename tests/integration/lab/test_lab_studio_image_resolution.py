"""pip's real resolution of the lab's requirements over the Studio image downgrades only what is held back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from studio_image import REQUIREMENTS, lower, normalise, python_packages, python_version
from support import require_studio_python

from pm_lab import kernel


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
    version = subprocess.run(
        [str(stand_in), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == ".".join(python_version().split(".")[:2])  # the image's Python
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            str(studio_python),
            "-m",
            "pip",
            "--python",
            str(stand_in),
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            "-r",
            str(REQUIREMENTS),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = python_packages()
    changes = {
        normalise(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    downgrades = {
        name: (image[name], new) for name, new in changes.items() if name in image and lower(new, image[name])
    }
    unexpected = {name: f"{old} -> {new}" for name, (old, new) in downgrades.items() if name not in kernel.HELD_BACK}
    assert unexpected == {}, f"requirements.txt would downgrade packages the image ships: {unexpected}"
    assert {"mlflow", "sagemaker"} <= set(downgrades)  # why the lab has a kernel of its own
    # Pins that agree with the image are left as the image has them.
    agreeing = [name for name in kernel.pinned(REQUIREMENTS) if name not in kernel.HELD_BACK and name in image]
    assert agreeing and not set(agreeing) & set(changes), set(agreeing) & set(changes)
