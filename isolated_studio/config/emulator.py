"""The emulator's differences from AWS, in one place: what a run against moto does otherwise.

moto answers for account 123456789012 whatever the configuration says, and it cannot hold
SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact; so against it the
account check is skipped, the whole workload is planned for the review only (never applied:
the stack's guard refuses such a plan from anyone who would apply it) unless
``--emulator-scope`` narrows it to what moto can create, and nothing waits for SageMaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isolated_studio.config.model import StudioConfig
from isolated_studio.config.rules import EMULATOR_CREDENTIAL, EMULATOR_PLAN_ONLY_VARIABLE

CANNOT_CREATE = "SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact"
# The stacks moto cannot apply as a whole (see CANNOT_CREATE).
PLAN_ONLY_STACKS = frozenset({"workload"})


@dataclass(frozen=True)
class EmulatorProfile:
    """The target a run works against: AWS (``enabled`` False) or the emulator at ``endpoint``."""

    enabled: bool
    endpoint: str = ""  # as configured (emulator.endpoint / STUDIO_EMULATOR_ENDPOINT)

    @classmethod
    def of(cls, config: StudioConfig) -> EmulatorProfile:
        return cls(config.emulator.enabled, config.emulator.endpoint)

    def where(self, region: str) -> str:
        """Where a run works, as reports name it."""
        return f"emulator {self.endpoint}" if self.enabled else region

    def client_settings(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """boto3.client keyword arguments and botocore Config options for this target.

        moto takes any credentials but the fixed ones keep a real session's out of it, and it
        serves S3 on one host: path-style addressing."""
        if not self.enabled:
            return {}, {}
        return (
            {
                "endpoint_url": self.endpoint.rstrip("/"),
                "aws_access_key_id": EMULATOR_CREDENTIAL,
                "aws_secret_access_key": EMULATOR_CREDENTIAL,
            },
            {"s3": {"addressing_style": "path"}},
        )

    def account_to_check(self, configured: str | None) -> str | None:
        """The account the credentials must be in: none against moto (it answers for one fixed account)."""
        return None if self.enabled else configured

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
        return (
            f"--emulator-scope is for the emulator only, and {source} has no [emulator] "
            "section: against AWS the whole workload is planned and applied"
        )

    def sagemaker_grace_s(self, default: float) -> float:
        """How long a cleanup waits for SageMaker to let go: moto holds no SageMaker resources."""
        return 0.0 if self.enabled else default
