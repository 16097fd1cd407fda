"""What each stack needs around its plan, apply and destroy, declared once per stack.

The workflow reads these instead of naming stacks: where a stack's state lives, which stacks
must be applied before it can be planned (it reads their outputs), whether a destroy without
``--stacks`` takes it, and the cleanup that removes what Terraform did not create but that
would block its destroy (a Workflow method, by name).
"""

from __future__ import annotations

from dataclasses import dataclass

from isolated_studio.config import StudioConfig


@dataclass(frozen=True)
class StackSpec:
    name: str
    # The state stack keeps its state in a local file (terraform-state/): it creates the bucket
    # every other stack's S3 backend uses.
    local_state: bool = False
    needs: tuple[str, ...] = ()
    destroyed_by_default: bool = True
    cleanup_before_destroy: str | None = None

    def state_key(self, config: StudioConfig) -> str | None:
        """Its key in the state bucket, None for the bootstrap's local state."""
        return None if self.local_state else config.state_key(self.name)


# Dependency (and deploy) order of the stacks main.py builds; destroy goes in reverse.
STACKS: tuple[StackSpec, ...] = (
    StackSpec("state", local_state=True, destroyed_by_default=False, cleanup_before_destroy="empty_state_bucket"),
    StackSpec("network", needs=("state",), cleanup_before_destroy="cleanup_vpc_leftovers"),
    StackSpec("workload", needs=("state", "network"), cleanup_before_destroy="cleanup_studio"),
)
SPECS = {spec.name: spec for spec in STACKS}
STACK_ORDER = tuple(spec.name for spec in STACKS)
