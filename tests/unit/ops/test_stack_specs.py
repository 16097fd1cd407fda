"""The per-stack table the workflow reads instead of stack names: order, cleanups, state keys."""

from __future__ import annotations

from isolated_studio.config import load_config
from isolated_studio.ops.stack_specs import SPECS, STACK_ORDER, STACKS
from isolated_studio.ops.workflow import Workflow


def test_each_stack_needs_only_stacks_deployed_before_it():
    for position, spec in enumerate(STACKS):
        assert set(spec.needs) <= set(STACK_ORDER[:position]), spec


def test_every_cleanup_before_a_destroy_is_a_workflow_step():
    cleanups = [spec.cleanup_before_destroy for spec in STACKS if spec.cleanup_before_destroy]
    assert cleanups and all(callable(getattr(Workflow, name)) for name in cleanups)


def test_only_the_bootstrap_keeps_local_state_and_a_bare_destroy_leaves_it():
    assert [s.name for s in STACKS if s.local_state] == ["state"]
    assert [s.name for s in STACKS if not s.destroyed_by_default] == ["state"]


def test_the_state_keys_are_the_configurations_and_the_bootstrap_has_none():
    config = load_config(env={"STUDIO_ENV": "dev"})
    assert SPECS["state"].state_key(config) is None
    assert SPECS["network"].state_key(config) == config.state_key("network")
