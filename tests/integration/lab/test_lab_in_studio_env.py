"""The lab's tests again, inside the Studio-pinned environment (``.venv-studio``, `make studio-env`).

That environment is the lab's Studio kernel (pm_lab.kernel): the SageMaker Distribution
image's Python (3.12) with notebooks/requirements.txt exactly (the image's numpy 1.26,
pandas 2.3, scikit-learn 1.7, xgboost 2.1; MLflow 2.16 and SDK 2.232 held back), unlike the
dev environment's Python 3.11 and newer libraries. Its interpreter runs the lab's unit tests
and the notebook end to end (its own kernel, its own real ``mlflow server``): what passes here
is what Studio runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import require_studio_python

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVER_PYTHON_ENV = "PM_LAB_MLFLOW_SERVER_PYTHON"  # read by lab_fixtures.mlflow_server
#: Every lab test module but the ones that need the dev environment's stacks (and this one).
IN_STUDIO_ENV = [
    "unit/lab/test_lab_data.py",
    "unit/lab/test_lab_synthetic.py",
    "unit/lab/test_lab_model.py",
    "unit/lab/test_lab_tracking.py",
    "unit/lab/test_lab_studio.py",
    "integration/lab/test_lab_kernel_restart.py",
    "unit/lab/test_lab_execution.py",
    "unit/lab/test_lab_settings.py",
    "unit/lab/test_lab_notebook_cells.py",
    "e2e/lab/test_lab_notebook_e2e.py",
]


def test_lab_tests_pass_with_the_studio_pins(mlflow_server: str) -> None:
    """The fixture only marks the test lab_e2e (left out of test-fast): the inner run starts its own."""
    python = require_studio_python()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT / "notebooks")]),
        # The MLflow server is AWS's in Studio: the tests' stand-in runs from this environment.
        SERVER_PYTHON_ENV: sys.executable,
        "MOTO_SERVER": str(Path(sys.executable).with_name("moto_server")),  # S3 for the data tests
    }
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            # Not tests/conftest.py (the dev environment's stacks): pytest loads no conftest above
            # the cut, and the lab folders' own conftests (tests/lab_fixtures.py) beside it.
            "--confcutdir",
            str(REPO_ROOT / "tests" / "unit" / "lab"),
            "-q",
            *[str(REPO_ROOT / "tests" / name) for name in IN_STUDIO_ENV],
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{summary}\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    # The interpreter really is the pinned one, and nothing was skipped.
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
    pins = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, numpy, pandas, sklearn, xgboost, mlflow, sagemaker; "
            "print('%d.%d' % sys.version_info[:2], numpy.__version__, pandas.__version__, "
            "sklearn.__version__, xgboost.__version__, mlflow.__version__, sagemaker.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    from studio_image import python_packages, python_version

    image = python_packages()
    expected = [
        ".".join(python_version().split(".")[:2]),
        *(image[name] for name in ("numpy", "pandas", "scikit-learn", "xgboost")),
        "2.16.2",
        "2.232.2",
    ]
    assert pins.stdout.strip().splitlines()[-1].split() == expected  # the SDK logs first
