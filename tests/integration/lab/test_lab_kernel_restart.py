"""Installing the lab's requirements with real pip: replacing a package the kernel has imported asks for a restart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pm_lab import studio
from pm_lab.errors import KernelRestartRequired


def _wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel of module ``name`` that records its own version."""
    import base64
    import hashlib
    import zipfile

    files = {
        f"{name}/__init__.py": f"__version__ = {version!r}\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = f"{name}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    files[record] = "\n".join([*lines, f"{record},,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.mark.slow  # real pip, three installs
def test_replacing_an_imported_package_asks_for_a_kernel_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real pip, offline, into a target folder on sys.path, with two versions of a tiny package."""
    import importlib

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "pmlabprobe", "1.0")
    _wheel(wheels, "pmlabprobe", "2.0")
    target = tmp_path / "site"
    monkeypatch.setenv("PIP_TARGET", str(target))
    monkeypatch.setenv("PIP_UPGRADE", "1")
    monkeypatch.syspath_prepend(str(target))
    requirements = tmp_path / "requirements.txt"
    shown: list[str] = []

    requirements.write_text(f"--no-index\n--find-links {wheels}\npmlabprobe==1.0\n")
    studio.pip_install_requirements(requirements, echo=shown.append)  # not imported yet: fine
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "pmlabprobe", raising=False)
    assert importlib.import_module("pmlabprobe").__version__ == "1.0"

    studio.pip_install_requirements(requirements, echo=shown.append)  # same version: nothing to restart for
    requirements.write_text(f"--no-index\n--find-links {wheels}\npmlabprobe==2.0\n")
    with pytest.raises(KernelRestartRequired, match=r"pmlabprobe 1.0 -> 2.0.*restart the kernel"):
        studio.pip_install_requirements(requirements, echo=shown.append)
    assert any("Successfully installed pmlabprobe-2.0" in text for text in shown)
