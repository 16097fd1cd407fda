"""The emulator's differences from AWS, in one place: what the stacks and a run do otherwise against moto.

moto answers for account 123456789012 whatever the configuration says, it cannot hold
SageMaker domains, user profiles, lifecycle configurations, MLflow tracking servers or
CodeArtifact, and it applies a Deny statement without its condition. So against it the
provider and the state backend talk to its endpoint with fixed credentials and no account
check, the buckets leave out the conditional Deny statements (they would refuse every
request), the workload stack carries a guard and is planned for the review only (never
applied) unless ``--emulator-scope`` narrows it to what moto can create, and nothing waits
for SageMaker. Nothing outside this module asks whether a run is emulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isolated_studio.config.model import StudioConfig
from isolated_studio.config.rules import EMULATOR_CREDENTIAL, EMULATOR_PLAN_ONLY_VARIABLE

CANNOT_CREATE = "SageMaker domains, user profiles, lifecycle configurations, MLflow tracking servers or CodeArtifact"
# The stacks moto cannot apply as a whole (see CANNOT_CREATE).
PLAN_ONLY_STACKS = frozenset({"workload"})
# The services the provider reaches at the emulator's endpoint (moto serves every one of them).
EMULATED_SERVICES = ("s3", "dynamodb", "ec2", "iam", "sts", "kms", "logs", "sagemaker", "codeartifact")
# What a guarded stack tells whoever applies it in the emulator to run instead.
SCOPED_DEPLOY = 'STUDIO_ENV=emulator make deploy ARGS="--yes --emulator-scope"'


@dataclass(frozen=True)
class EmulatorProfile:
    """The target a run works against: AWS (``enabled`` False) or the emulator at ``endpoint``."""

    enabled: bool
    endpoint: str = ""  # as configured (emulator.endpoint / STUDIO_EMULATOR_ENDPOINT)

    @classmethod
    def of(cls, config: StudioConfig) -> EmulatorProfile:
        return cls(config.emulator.enabled, config.emulator.endpoint)

    @property
    def url(self) -> str:
        """The endpoint as clients and the provider take it ("" against AWS)."""
        return self.endpoint.rstrip("/") if self.enabled else ""

    # ------------------------------------------------------------------ the synthesized stacks

    def provider_arguments(self, account_id: str | None) -> dict[str, Any]:
        """The AWS provider's arguments for this target; ``endpoints`` maps service to URL.

        Against AWS, Terraform itself refuses any account but the configured one. Against moto
        the account check is skipped (it answers for its own), and knowing the account from
        GetCallerIdentity keeps the provider from reading references to our own security groups
        back as "<account>/sg-...", so skip_requesting_account_id stays off."""
        if not self.enabled:
            return {"allowed_account_ids": [account_id]} if account_id else {}
        return {
            "access_key": EMULATOR_CREDENTIAL,
            "secret_key": EMULATOR_CREDENTIAL,
            "s3_use_path_style": True,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": "true",
            "skip_region_validation": True,
            "endpoints": {service: self.url for service in EMULATED_SERVICES},
        }

    def backend_arguments(self) -> dict[str, Any]:
        """The S3 backend's arguments for this target; ``endpoints`` maps service to URL.

        Backend arguments, not overrides: cdktf copies them into the terraform_remote_state
        through which a consuming stack reads the state."""
        if not self.enabled:
            return {}
        return {
            "endpoints": {service: self.url for service in ("s3", "dynamodb", "sts", "iam")},
            "use_path_style": True,
            "access_key": EMULATOR_CREDENTIAL,
            "secret_key": EMULATOR_CREDENTIAL,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
        }

    @property
    def applies_deny_conditions(self) -> bool:
        """Whether a bucket's conditional Deny statements can be kept: moto applies a Deny
        without its condition, so the TLS-only, endpoint-only and start-script Denies would
        refuse every request there, the deploy's own included (docs/perimeter.md)."""
        return not self.enabled

    def plan_only(self, stack: str) -> bool:
        """Whether ``stack`` carries a guard that refuses to apply a whole plan of it here."""
        return self.enabled and stack in PLAN_ONLY_STACKS

    # ------------------------------------------------------------------ a run

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
                "endpoint_url": self.url,
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

    def who(self, account: str) -> str:
        """Whom a run works against, as its first line names it."""
        return f"emulator {self.endpoint}" if self.enabled else f"account {account}"

    def unpinned_account_note(self, configured: str | None) -> str | None:
        """What to say when the configuration pins no account (against AWS only: moto has one)."""
        if self.enabled or configured:
            return None
        return "project.account_id is not set, so any account is accepted; set it to pin this environment"

    def request_failed(self, error: Exception, region: str) -> str:
        """An AWS call a run needed failed: which endpoint, and what to check."""
        if self.enabled:
            return (
                f"the emulator at {self.endpoint} did not answer as expected ({error}); "
                "is it running? (`make emulator`, or moto_server on that port)"
            )
        return f"an AWS request failed ({error}); check your credentials and region {region}"

    def not_answering(self) -> str | None:
        """What to do when nothing answers at the endpoint (None against AWS: the SDK's own error says it)."""
        if not self.enabled:
            return None
        return (
            f"the emulator at {self.endpoint} does not answer: start it (`make emulator` "
            "in another terminal), or point STUDIO_EMULATOR_ENDPOINT at the one running"
        )

    @property
    def has_dns_firewall(self) -> bool:
        """Whether Route 53 Resolver DNS Firewall can be read back (moto has none)."""
        return not self.enabled


#: The target of every configuration without an [emulator] section.
AWS = EmulatorProfile(False)
