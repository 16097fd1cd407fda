"""The configuration's JSON Schema and docs/configuration.md's table: written from the declarations, kept current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import config_docs as docs
from isolated_studio.config import CONFIG_DIR, ConfigError, parse_config
from isolated_studio.config.model import SECTIONS

ROOT = Path(__file__).resolve().parents[3]
PAGE = docs.DOC_PATH.read_text(encoding="utf-8")
ENVIRONMENTS = sorted(CONFIG_DIR.glob("*.toml"))


def test_schema_json_is_current():
    assert docs.SCHEMA_PATH.read_text(encoding="utf-8") == docs.schema_text(), (
        "config/schema.json is out of date: run `make schema`"
    )


def test_the_configuration_page_table_is_current():
    assert docs.DOC_PATH == ROOT / "docs" / "configuration.md"
    assert docs.with_table(PAGE) == PAGE, "docs/configuration.md's table is out of date: run `make schema`"


def test_the_configuration_table_documents_every_setting():
    for section, model in SECTIONS.items():
        for key in model.model_fields:
            assert f"| `{section}.{key}` |" in PAGE


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=[p.stem for p in ENVIRONMENTS])
def test_every_environment_file_points_editors_at_the_schema(path):
    assert path.read_text(encoding="utf-8").splitlines()[0] == "#:schema ./schema.json"


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


def test_the_configuration_page_example_of_problems_is_what_the_loader_prints():
    raw = {
        "project": {"name_prefix": "studio-dev"},
        "network": {"vpc_cidr": "10.10.0.0/33", "az_count": 1},
        "workload": {"user_profiles": ["alice", "alice"], "retain_home_ef": True},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env={"AWS_REGION": "us-west-2"}, source="config/dev.toml")
    lines = str(info.value).splitlines()
    assert lines[0] in PAGE
    for line in lines[1:]:
        shown = line.split(" (", 1)[0] if "vpc_cidr" in line else line
        assert shown in PAGE, f"docs/configuration.md's example of configuration problems is out of date:\n{line}"
