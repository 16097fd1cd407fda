"""The day-2 matrix's rows (tests/day2_changes.py): every setting is a row or says why it is no day-2 change, and
every row is a configuration or lab edit a user could deploy (the matrix itself: tests/integration/terraform/)."""

from __future__ import annotations

import pytest
from day2_changes import NOT_DAY2, ROWS, base_document, document, edited_lab, parse

from isolated_studio.config.model import SECTIONS


def _settings() -> set[str]:
    return {f"{name}.{key}" for name, model in SECTIONS.items() for key in model.model_fields} | {"tags", "region"}


def test_every_setting_is_a_row_or_says_why_not():
    covered = set().union(*(c.covers for c in ROWS))
    assert _settings() - covered - set(NOT_DAY2) == set(), "add a row to ROWS (one line) or a reason to NOT_DAY2"
    assert set(NOT_DAY2) - _settings() == set() and covered - _settings() == set()
    assert covered & set(NOT_DAY2) == set()


def test_every_row_is_a_valid_configuration_or_lab_edit(tmp_path):
    # A row's value must be one a user could deploy: the same validation as a file's.
    names = [c.name for c in ROWS]
    assert len(names) == len(set(names))
    for change in ROWS:
        with edited_lab([change], tmp_path / f"lab-{ROWS.index(change)}"):
            parse(document([change], tmp_path))


@pytest.mark.parametrize("setting", ["state.bucket", "state.key_prefix"])
def test_a_setting_that_selects_the_state_gives_the_stacks_another_state(setting):
    before = parse(base_document())
    raw = base_document()
    raw["state"][setting.split(".")[1]] = {
        "state.bucket": "studio-dev-tfstate-moved",
        "state.key_prefix": "isolated-studio/moved",
    }[setting]
    after = parse(raw)
    assert (after.state.bucket, after.state_key("workload")) != (before.state.bucket, before.state_key("workload"))
