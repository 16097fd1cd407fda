"""A plan-time refusal of a stack the emulator can hold only in part.

moto cannot create SageMaker domains, user profiles, lifecycle configurations, MLflow tracking
servers or CodeArtifact. `npx cdktf deploy workload` against it waited 9+ minutes on the
CodeArtifact domain before failing, and an interrupt there left the workload's state lock
held. With this guard a plan of the whole stack fails at once, before any apply (so no lock
outlives the plan), saying why and what to run instead. The workflow plans the whole stack
for its review but never applies what moto lacks (only ``--emulator-scope``'s targets, which
leave this resource out): it says so through the variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import DataResource, Precondition, TerraformResourceLifecycle, TerraformVariable
from constructs import Construct

from isolated_studio.config.rules import EMULATOR_PLAN_ONLY_VARIABLE as PLAN_ONLY_VARIABLE
from modules.props import raise_for


@dataclass(frozen=True)
class EmulatorGuardProps:
    """Inputs of :class:`EmulatorGuard`.

    cannot_create: what the emulator cannot hold, as the refusal names it.
    instead: the command that deploys the part the emulator holds.
    """

    stack: str
    cannot_create: str
    instead: str

    def problems(self) -> list[str]:
        found = [f"{key}: must not be empty" for key in ("stack", "cannot_create", "instead") if not getattr(self, key)]
        if self.instead.endswith("."):
            found.append("instead: a command, without a final period (the message adds one)")
        return found

    @property
    def message(self) -> str:
        # Terraform requires an error_message to be a sentence ending in a period.
        return (
            f"The emulator (moto) cannot create {self.cannot_create}: a deploy of the whole {self.stack} "
            "stack there waits minutes on CodeArtifact and then fails. Deploy the part the emulator holds "
            f"instead: {self.instead}."
        )


class EmulatorGuard(Construct):
    """Attributes: ``variable``, ``guard`` (the ``terraform_data`` whose precondition refuses)."""

    def __init__(self, scope: Construct, id: str, *, props: EmulatorGuardProps) -> None:
        raise_for("EmulatorGuard", props.problems())
        super().__init__(scope, id)
        self.variable = TerraformVariable(
            self,
            PLAN_ONLY_VARIABLE,
            type="bool",
            default=False,
            nullable=False,
            description="Emulator only: true when the plan is never applied in full (the workflow's review plans).",
        )
        self.variable.override_logical_id(PLAN_ONLY_VARIABLE)
        self.guard = DataResource(
            self,
            "refuse-whole-stack",
            lifecycle=TerraformResourceLifecycle(
                precondition=[
                    Precondition(condition=self.variable.boolean_value, error_message=props.message),
                ]
            ),
        )
