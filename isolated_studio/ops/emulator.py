"""The emulator's differences from AWS, in one place: what a run against moto does otherwise.

moto answers for account 123456789012 whatever the configuration says, and it cannot hold
SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact; so against it the
account check is skipped, the whole workload is planned for the review only (never applied:
the stack's guard refuses such a plan from anyone who would apply it) unless
``--emulator-scope`` narrows it to what moto can create, and nothing waits for SageMaker.
"""

from __future__ import annotations

from dataclasses import dataclass

from isolated_studio.config import EMULATOR_PLAN_ONLY_VARIABLE, StudioConfig

CANNOT_CREATE = "SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact"
# The stacks moto cannot apply as a whole (see CANNOT_CREATE).
PLAN_ONLY_STACKS = frozenset({"workload"})


@dataclass(frozen=True)
class EmulatorProfile:
    """The target a run works against: AWS (``enabled`` False) or the emulator at ``endpoint``."""

    enabled: bool
    endpoint: str = ""

    @classmethod
    def of(cls, config: StudioConfig) -> EmulatorProfile:
        return cls(config.emulator.enabled, config.emulator.url)

    @property
    def where(self) -> str:
        return f"emulator {self.endpoint}"

    def terraform_variables(self) -> dict[str, str]:
        """The environment Terraform runs with: whole-workload plans marked plan-only."""
        return {f"TF_VAR_{EMULATOR_PLAN_ONLY_VARIABLE}": "true"} if self.enabled else {}

    def not_applied(self, stack: str, *, scoped: bool) -> str | None:
        """Why a plan of ``stack`` with changes is saved but not applied here, or None."""
        if not self.enabled or scoped or stack not in PLAN_ONLY_STACKS:
            return None
        return f"planned only: the emulator cannot create {CANNOT_CREATE}"

    def scope_refusal(self, source: str) -> str | None:
        """Why ``--emulator-scope`` is refused (against AWS the whole workload is applied)."""
        if self.enabled:
            return None
        return (f"--emulator-scope is for the emulator only, and {source} has no [emulator] "
                "section: against AWS the whole workload is planned and applied")

    def sagemaker_grace_s(self, default: float) -> float:
        """How long a cleanup waits for SageMaker to let go: moto holds no SageMaker resources."""
        return 0.0 if self.enabled else default
