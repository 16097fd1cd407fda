"""The configuration's JSON Schema and docs/configuration.md's table: written from the declarations, kept current."""

from __future__ import annotations

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
