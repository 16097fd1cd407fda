"""check-jsonschema with config/schema.json: every environment file is valid, and it refuses what the loader refuses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import config_docs as docs
from isolated_studio.config import CONFIG_DIR

ENVIRONMENTS = sorted(CONFIG_DIR.glob("*.toml"))


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool, "check-jsonschema is a dev package (Pipfile)"
    return subprocess.run(
        [tool, "--schemafile", str(docs.SCHEMA_PATH), *map(str, files)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow  # check-jsonschema
def test_every_environment_file_is_valid_against_the_schema():
    proc = _check_jsonschema(*ENVIRONMENTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow  # check-jsonschema
def test_the_schema_rejects_what_the_loader_rejects(tmp_path):
    # What an editor flags as you type: a misspelled key, a wrong type, a value outside a choice.
    typo = tmp_path / "typo.toml"
    typo.write_text(
        '#:schema ./schema.json\n[project]\nname_prefix = "studio-x"\n'
        '[workload]\nretain_home_ef = true\niam_mode = "admin"\n[network]\naz_count = "two"\n'
    )
    proc = _check_jsonschema(typo)
    assert proc.returncode == 1
    for fragment in ("'retain_home_ef' was unexpected", "'admin' is not one of", "'two' is not of type 'integer'"):
        assert fragment in proc.stdout, proc.stdout
