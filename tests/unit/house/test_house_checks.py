"""The house's own checks: ruff (lint and format) and the import contracts pass on the tree, and the contracts
catch what they are for (a layer pointing the wrong way, an import cycle between siblings). mypy over the product
code: tests/integration/house/test_house_type_checks.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PACKAGES = ("isolated_studio", "modules", "stacks")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": str(BIN), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_passes():
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_tree_is_formatted():
    proc = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_import_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the product packages and the contracts, to plant imports in."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "node"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("isolated_studio.checks.validate", "from isolated_studio.ops import workflow", "Layers point one way"),
        ("isolated_studio.config.rules", "import stacks.workload", "Layers point one way"),
        ("isolated_studio.base.paths", "from isolated_studio import config", "The base layer depends on nothing"),
        ("modules.flow_log", "from isolated_studio.config.model import StudioConfig", "Constructs take configuration"),
        ("isolated_studio.ops.drift", "from isolated_studio.ops import workflow", "No import cycles"),
        ("isolated_studio.ops.permissions", "from isolated_studio.ops import plan_review", "No import cycles"),
        (
            "isolated_studio.ops.plan_review.rules",
            "from isolated_studio.ops.plan_review import render",
            "The plan review points one way",
        ),
        (
            "isolated_studio.ops.plan_review.review",
            "from isolated_studio.ops.plan_review.render import list_item",
            "The plan review points one way",
        ),
    ],
    ids=[
        "checks->ops",
        "config->stacks",
        "base->config",
        "modules->config.model",
        "drift<->workflow",
        "permissions<->plan_review",
        "plan_review.rules->render",
        "plan_review.review->render",
    ],
)
def test_a_planted_import_breaks_its_contract(tree, module, line, contract):
    """Hidden in a function too: import-linter reads every import, wherever it sits."""
    plant(tree, module, "def _later():\n    " + line)
    proc = lint_imports(tree)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    broken = [row for row in proc.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(row.startswith(contract) for row in broken), proc.stdout


def test_constructs_import_only_the_constants_they_need():
    """modules/ take constants from isolated_studio.config.rules, never the configuration package's
    loader (import-linter cannot tell a package from its submodules in a forbidden contract)."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "modules").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.lstrip().startswith(("from isolated_studio.config import", "import isolated_studio.config"))
    ]
    assert not found, found
