"""The lab's own Jupyter kernel in Studio, so that nothing JupyterLab runs on is downgraded.

SageMaker Distribution runs JupyterLab in the image's base environment (``/opt/conda``).
Image 4.4 ships MLflow 3.15 and the SageMaker Python SDK 3.12 there; the lab needs MLflow
2.16 (the tracking server's version: an MLflow 3 client logs models through endpoints a 2.16
server does not have) with its matching ``sagemaker-mlflow`` plugin, and the SDK 2.x
``@remote``. Installing ``requirements.txt`` into the base environment, as the lab once
did, would downgrade those and what they pull (see :data:`HELD_BACK`) under the running
JupyterLab. So the lab installs into a virtual environment of its own, created from the
image's own Python (the ``@remote`` job runs that same Python: the SDK refuses a job whose
Python major.minor differs from the kernel's), and registers it as the Jupyter kernel
``pm-lab``. Every package ``requirements.txt`` pins that the image ships is pinned at the
image's version unless it is held back below, and resolving ``requirements.txt`` over the
image's package list changes nothing else the image ships (both checked against the
committed list: tests/unit/lab/test_lab_studio_image.py, and for the resolution
tests/integration/lab/test_lab_studio_image_resolution.py): a ``@remote`` job, which installs
``requirements.txt`` over the image in its own throwaway container, changes only those.

The environment lives in the user's home (``~/.isolated-studio/kernels/pm-lab``, on the
domain's EFS volume, so it survives app restarts) and is rebuilt only when
``requirements.txt`` or the image (its ``IMAGE_VERSION``, e.g. ``4.4.1-cpu``: a new release
may bring another Python) changes. The JupyterLab start script builds it at every app start,
in the background (``python -m pm_lab.kernel install`` from the lab's folder, after the
CodeArtifact login; modules/studio_domain.py), which finds it current in a moment after the
first time; the notebook builds it when it is missing and asks to switch to it. One build
runs at a time: a second one waits for it (a lock beside the environment), then finds it
current.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pm_lab.errors import KernelSwitchRequired, StudioError

KERNEL_NAME = "pm-lab"
KERNEL_DISPLAY_NAME = "Python 3 (pm-lab: MLflow 2.16)"
KERNEL_RELATIVE_DIR = Path(".isolated-studio") / "kernels" / KERNEL_NAME
STAMP = "requirements.sha256"
#: The start script's log of its build, relative to the home (modules/studio_domain.py writes it).
BUILD_LOG = ".isolated-studio/kernel-build.log"
#: Set by SageMaker Distribution images to their release and flavour (``4.4.1-cpu``).
IMAGE_VERSION_ENV = "IMAGE_VERSION"

#: Packages the image ships at a newer version than the lab can use, with the reason. Only
#: these differ between the lab's kernel and the image (tests/unit/lab/test_lab_studio_image.py,
#: tests/integration/lab/test_lab_studio_image_resolution.py).
HELD_BACK: dict[str, str] = {
    "mlflow": "the tracking server runs MLflow 2.16; the client must have its major.minor",
    "mlflow-skinny": "part of mlflow 2.16",
    "sagemaker-mlflow": "0.1.0 is the plugin release for mlflow 2.16 (0.5 needs mlflow 3)",
    "sagemaker": "the lab's @remote is SageMaker SDK 2.x (sagemaker.remote_function); the image has SDK 3",
    "sagemaker-core": "SDK 2.232 requires sagemaker-core 1.x",
    "cloudpickle": "SDK 2.232 pins cloudpickle 2.2.1 (its job serialization format)",
    "protobuf": "SDK 2.232 and mlflow 2.16 require protobuf < 5",
    "pyarrow": "mlflow 2.16 requires pyarrow < 18",
    "packaging": "mlflow 2.16 requires packaging < 25",
    "cachetools": "mlflow 2.16 requires cachetools < 6",
    "gunicorn": "mlflow 2.16 requires gunicorn < 24",
    "attrs": "SDK 2.232 requires attrs < 24",
}


def requirements_digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def build_identity(requirements: Path, environ: Mapping[str, str] | None = None) -> str:
    """What a built environment stands for: requirements.txt's digest and the image's release."""
    environ = os.environ if environ is None else environ
    image = environ.get(IMAGE_VERSION_ENV, "").strip()
    return requirements_digest(requirements) + (f" image {image}" if image else "")


def pinned(requirements: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, names normalised (comments skipped)."""
    pins = {}
    for line in requirements.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def unmet_pins(
    requirements: Path, version_of: Callable[[str], str | None] | None = None
) -> dict[str, tuple[str | None, str]]:
    """The pins this interpreter does not satisfy: ``{name: (installed or None, pinned)}``."""
    from importlib import metadata

    def installed(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    version_of = version_of or installed
    return {
        name: (version_of(name), version)
        for name, version in pinned(requirements).items()
        if version_of(name) != version
    }


def kernel_dir(home: Path | None = None) -> Path:
    return (home or Path.home()) / KERNEL_RELATIVE_DIR


def install(
    requirements: Path,
    *,
    python: str = sys.executable,
    home: Path | None = None,
    run: Callable[..., Any] = subprocess.run,
    echo: Callable[[str], Any] = print,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Create (or reuse) the lab's environment from ``python`` and register it as kernel ``pm-lab``.

    ``python`` is the image's interpreter (the base environment's). Nothing is installed
    into that environment: pip runs with the new environment's interpreter. Reused as is
    when its stamp matches ``requirements.txt`` and the image (:func:`build_identity`) and its
    interpreter is still there. A build under way elsewhere (the start script's, in the
    background) is waited for. Returns the environment's folder.
    """
    target = kernel_dir(home)
    identity = build_identity(requirements, environ)
    stamp = target / STAMP
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{KERNEL_NAME}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"waiting for the build of kernel {KERNEL_NAME!r} under way (the start script's log: ~/{BUILD_LOG})")
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the other build's process ends
        if stamp.is_file() and stamp.read_text().strip() == identity and (target / "bin" / "python").exists():
            echo(f"kernel {KERNEL_NAME!r} is current in {target}")
            return target
        stamp.unlink(missing_ok=True)  # a build cut short leaves no stamp: the next one starts over
        steps = [
            [python, "-m", "venv", "--clear", str(target)],
            [
                str(target / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
                "-r",
                str(requirements),
            ],
            [
                str(target / "bin" / "python"),
                "-m",
                "ipykernel",
                "install",
                "--user",
                "--name",
                KERNEL_NAME,
                "--display-name",
                KERNEL_DISPLAY_NAME,
            ],
        ]
        for command in steps:
            result = run(command, capture_output=True, text=True)
            if result.returncode != 0:
                output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part and part.strip())
                raise StudioError(
                    f"Building the lab's kernel failed at `{' '.join(command[:4])} ...` "
                    f"(exit {result.returncode}):\n{output[-4000:]}"
                )
        target.mkdir(parents=True, exist_ok=True)
        stamp.write_text(identity + "\n")
    echo(f"kernel {KERNEL_NAME!r} ready in {target} ({len(pinned(requirements))} pinned packages)")
    return target


def require_lab_kernel(requirements: Path, *, build: Callable[[], Path]) -> None:
    """In Studio: stop unless this kernel satisfies every pin; build the lab's kernel first if needed.

    The check is the pins themselves, not the kernel's name: a kernel that has exactly the
    pinned libraries is fine whatever it is called.
    """
    unmet = unmet_pins(requirements)
    if not unmet:
        return
    build()
    listed = ", ".join(f"{name} {have or '-'} (needs {want})" for name, (have, want) in sorted(unmet.items())[:6])
    raise KernelSwitchRequired(
        f"This kernel is not the lab's ({listed}{', ...' if len(unmet) > 6 else ''}). The lab's "
        f"libraries live in a kernel of their own, so that JupyterLab's environment keeps its "
        f"versions: choose Kernel > Change Kernel > '{KERNEL_DISPLAY_NAME}', then run all cells."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pm_lab.kernel", description="The lab's own Jupyter kernel.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("install", help="create or reuse the lab's environment and register its kernel")
    build.add_argument("--requirements", type=Path, default=Path(__file__).resolve().parents[1] / "requirements.txt")
    build.add_argument("--python", default=sys.executable, help="the image's interpreter (default: this one)")
    check = sub.add_parser("check", help="list the pins this interpreter does not satisfy (exit 1 if any)")
    check.add_argument("--requirements", type=Path, default=Path(__file__).resolve().parents[1] / "requirements.txt")
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            install(args.requirements, python=args.python)
        except StudioError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    unmet = unmet_pins(args.requirements)
    print(json.dumps({name: {"installed": have, "pinned": want} for name, (have, want) in unmet.items()}, indent=1))
    return 1 if unmet else 0


if __name__ == "__main__":
    raise SystemExit(main())
