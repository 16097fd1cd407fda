"""The SageMaker Distribution image the lab targets, read from its committed package list.

``tests/data/sagemaker-distribution/<version>/cpu.env.out`` is the image's conda explicit
list (SOURCE.md there names the repository, path and commit). Its Python packages, under
their PyPI names, are what JupyterLab runs on in Studio and what a ``@remote`` job starts
from.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_VERSION = "4.4.1"
IMAGE_DIR = REPO_ROOT / "tests" / "data" / "sagemaker-distribution" / IMAGE_VERSION
PACKAGE_LIST = IMAGE_DIR / "cpu.env.out"
#: The lab's pins: its kernel's, and what a ``@remote`` job installs over the image.
REQUIREMENTS = REPO_ROOT / "notebooks" / "requirements.txt"
#: conda-forge names whose PyPI distribution is named differently (the ones the lab can meet).
CONDA_TO_PYPI = {
    "py-xgboost": "xgboost",
    "matplotlib-base": "matplotlib",
    "sagemaker-python-sdk": "sagemaker",
    "docker-py": "docker",
    "pytorch": "torch",
    "python-gssapi": "gssapi",
    "importlib_metadata": "importlib-metadata",
    "typing_extensions": "typing-extensions",
    "prompt-toolkit": "prompt-toolkit",
    "pyyaml": "pyyaml",
    "ruamel.yaml": "ruamel-yaml",
    "jupyter_client": "jupyter-client",
    "jupyter_core": "jupyter-core",
}
#: conda packages that are not the PyPI distribution of the same name (or meta packages).
NOT_ON_PYPI = {"python", "xgboost", "libxgboost", "pip-requirements", "mlflow-ui"}
#: Python packages whose conda build string does not say so (meta packages of a Python library).
PYTHON_META_PACKAGES = {"sagemaker-python-sdk"}
_ENTRY = re.compile(r"/(?P<name>[^/]+)-(?P<version>[^-/]+)-(?P<build>[^-/]+)\.(?:conda|tar\.bz2)#")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def conda_packages(path: Path = PACKAGE_LIST) -> dict[str, tuple[str, str]]:
    """Every entry of the explicit list: conda name -> (version, build)."""
    found = {}
    for line in path.read_text().splitlines():
        match = _ENTRY.search(line)
        if match:
            found[match["name"]] = (match["version"], match["build"])
    return found


def python_version(path: Path = PACKAGE_LIST) -> str:
    return conda_packages(path)["python"][0]


def python_packages(path: Path = PACKAGE_LIST) -> dict[str, str]:
    """The image's Python packages under their PyPI names: normalised name -> version.

    A conda Python package has a ``py``/``pyh`` build string (``py312h...``, ``pyhd8ed1ab_0``);
    libraries and tools (openssl, libgcc ...) do not and are left out.
    """
    packages = {}
    for name, (version, build) in conda_packages(path).items():
        if name in NOT_ON_PYPI or ("py" not in build and name not in PYTHON_META_PACKAGES):
            continue
        packages[normalise(CONDA_TO_PYPI.get(name, name))] = version
    return packages


def lower(version: str, than: str) -> bool:
    """Whether ``version`` is lower than ``than`` (never, for a version that is not PEP 440's)."""
    try:
        return Version(version) < Version(than)
    except InvalidVersion:
        return False
