"""`make schema`: config/schema.json and docs/configuration.md's table, from the declarations.

Editors that read ``#:schema`` comments in TOML (taplo, VS Code's Even Better TOML) complete
and check the environment files against the schema; tests/unit/config/test_config_schema.py keeps both
outputs current.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic.fields import FieldInfo

from isolated_studio.config.model import SECTIONS, ConfigFile, Derived, Shown
from isolated_studio.config.rules import CONFIG_DIR, PROJECT_ROOT

SCHEMA_PATH = CONFIG_DIR / "schema.json"
DOC_PATH = PROJECT_ROOT / "docs" / "configuration.md"
TABLE_START = "<!-- configuration table: written by `make schema` from isolated_studio/config/model.py -->"
TABLE_END = "<!-- end of configuration table -->"


def schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ConfigFile.model_json_schema()}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def _default(field: FieldInfo) -> str:
    for meta in field.metadata:
        if isinstance(meta, (Derived, Shown)):
            return meta.doc
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return f"`{json.dumps(list(value)) if isinstance(value, tuple) else value}`"


def table() -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for name, field in ConfigFile.model_fields.items():
        model = SECTIONS.get(name)
        if model is None:  # a free-form table
            rows.append(f"| `[{name}]` | | {field.description} |")
            continue
        for key, setting in model.model_fields.items():
            rows.append(f"| `{name}.{key}` | {_default(setting)} | {setting.description} |")
    return "\n".join(rows)


def with_table(text: str) -> str:
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    DOC_PATH.write_text(with_table(DOC_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    print(
        f"wrote {SCHEMA_PATH.relative_to(PROJECT_ROOT)} and the configuration table in {DOC_PATH.relative_to(PROJECT_ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
