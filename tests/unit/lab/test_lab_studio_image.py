"""The lab's requirements against the SageMaker Distribution image Studio runs (4.4.1).

JupyterLab runs in the image's base environment, so the lab must not downgrade anything there:
it installs into a kernel of its own (pm_lab.kernel), whose pins agree with the image except
the packages pm_lab.kernel.HELD_BACK names with their reason. Checked against the image's
committed package list (tests/data/sagemaker-distribution/4.4.1, SOURCE.md says where from);
pip's real resolution over that list is tests/integration/lab/test_lab_studio_image_resolution.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from studio_image import IMAGE_VERSION, PACKAGE_LIST, REQUIREMENTS, lower, normalise, python_packages, python_version

from pm_lab import kernel


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
            if not lower(version, shipped):
                problems.append(f"{name}=={version} is held back but the image has {shipped}: drop it from HELD_BACK")
        elif version != shipped:
            problems.append(f"{name}=={version} but the image ships {shipped}")
    assert problems == []
    # Every held-back package is one the image ships (newer): the list stays honest.
    assert [name for name in kernel.HELD_BACK if normalise(name) not in image] == []
    assert {"mlflow", "sagemaker", "sagemaker-mlflow"} <= set(pins) & set(kernel.HELD_BACK)


def test_the_lab_kernel_never_installs_into_the_images_environment(tmp_path: Path) -> None:
    """pm_lab.kernel.install: venv from the image's Python, pip with the venv's interpreter only."""
    calls: list[list[str]] = []

    home = tmp_path / "home"
    home.mkdir()
    run = _fake_build(calls)
    image = {"IMAGE_VERSION": "4.4.1-cpu"}
    target = kernel.install(
        REQUIREMENTS, python="/opt/conda/bin/python", home=home, run=run, echo=lambda _: None, environ=image
    )
    assert target == home / ".isolated-studio" / "kernels" / "pm-lab"
    assert calls[0][:3] == ["/opt/conda/bin/python", "-m", "venv"]
    assert all(call[0] == str(target / "bin" / "python") for call in calls[1:])
    assert calls[1][1:4] == ["-m", "pip", "install"] and calls[1][-2:] == ["-r", str(REQUIREMENTS)]
    assert calls[2][-4:] == ["--name", "pm-lab", "--display-name", kernel.KERNEL_DISPLAY_NAME]
    # Reused as long as requirements.txt and the image are unchanged.
    calls.clear()
    kernel.install(REQUIREMENTS, python="/opt/conda/bin/python", home=home, run=run, echo=lambda _: None, environ=image)
    assert calls == []


def _fake_build(calls: list[list[str]]):
    """A stand-in for subprocess.run: records each step; the venv step leaves an interpreter."""

    def run(command, **kwargs):
        calls.append(command)
        if command[1:3] == ["-m", "venv"]:
            python = Path(command[-1]) / "bin" / "python"
            python.parent.mkdir(parents=True, exist_ok=True)
            python.write_text("")
        return subprocess.CompletedProcess(command, 0, "", "")

    return run


def test_a_new_image_release_or_a_lost_interpreter_rebuilds_the_lab_kernel(tmp_path: Path) -> None:
    """A new release may bring another Python: the environment made from the old one is rebuilt."""
    calls: list[list[str]] = []
    run = _fake_build(calls)

    def build(release: str) -> list[str]:
        calls.clear()
        kernel.install(
            REQUIREMENTS,
            python="/opt/conda/bin/python",
            home=tmp_path,
            run=run,
            echo=lambda _: None,
            environ={"IMAGE_VERSION": release},
        )
        return [" ".join(call[1:3]) for call in calls]

    assert build("4.4.1-cpu") == ["-m venv", "-m pip", "-m ipykernel"]
    assert build("4.4.1-cpu") == []
    assert build("4.5.0-cpu") == ["-m venv", "-m pip", "-m ipykernel"]
    (kernel.kernel_dir(tmp_path) / "bin" / "python").unlink()  # the image's Python it pointed to is gone
    assert build("4.5.0-cpu")[0] == "-m venv"


def test_a_second_build_waits_for_the_one_under_way_and_then_reuses_it(tmp_path: Path) -> None:
    """The start script builds in the background while the notebook may ask for the kernel too."""
    import fcntl
    import threading

    calls: list[list[str]] = []
    run = _fake_build(calls)
    kernel.install(
        REQUIREMENTS, python="/opt/conda/bin/python", home=tmp_path, run=run, echo=lambda _: None, environ={}
    )
    calls.clear()
    said: list[str] = []
    lock_path = kernel.kernel_dir(tmp_path).parent / "pm-lab.lock"
    with lock_path.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the start script's build, under way
        waiting = threading.Thread(
            target=kernel.install,
            args=(REQUIREMENTS,),
            kwargs=dict(python="/opt/conda/bin/python", home=tmp_path, run=run, echo=said.append, environ={}),
        )
        waiting.start()
        waiting.join(timeout=1)
        assert waiting.is_alive() and said and "waiting for the build" in said[0] and "kernel-build.log" in said[0]
    waiting.join(timeout=10)
    assert not waiting.is_alive() and calls == [] and "is current" in said[-1]


def test_a_failed_build_says_pips_error_leaves_no_stamp_and_exits_1(tmp_path: Path, monkeypatch, capsys) -> None:
    from pm_lab.errors import StudioError

    def run(command, **kwargs):
        if command[1:3] == ["-m", "pip"]:
            return subprocess.CompletedProcess(
                command, 1, "", "ERROR: No matching distribution found for mlflow==2.16.2"
            )
        return _fake_build([])(command)

    with pytest.raises(StudioError, match=r"failed at `.*pip install .*` \(exit 1\):\nERROR: No matching distribution"):
        kernel.install(REQUIREMENTS, python="/opt/conda/bin/python", home=tmp_path, run=run, echo=lambda _: None)
    assert not (kernel.kernel_dir(tmp_path) / kernel.STAMP).exists()  # the next start builds it again

    def failing(*args, **kwargs):
        raise StudioError("Building the lab's kernel failed at `pip install` (exit 1):\nERROR: no index")

    monkeypatch.setattr(kernel, "install", failing)
    assert kernel.main(["install"]) == 1  # the start script's log shows why, with no traceback
    assert capsys.readouterr().err == "Building the lab's kernel failed at `pip install` (exit 1):\nERROR: no index\n"
