"""The access scenarios' data model: scenarios, the world of concrete values, roles, syntheses, decisions.

Frozen values and the errors a scenario can raise; reading them is scenarios.py's and
synthesis.py's, deciding them evaluate.py's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import ENDPOINT_SERVICES

# The checkout: policy/ (the scenarios, AWS's managed policies) and docs/ are read from it.
ROOT = PROJECT_ROOT
MODES = ("managed", "least-privilege")
PRINCIPALS = ("execution", "mlflow")
SERVICE_PREFIX = "service:"
# ${...}: a policy variable, or a placeholder of an ARN format in the Reference.
VARIABLE = re.compile(r"\$\{([^}]+)\}")
# {name}: a scenario's placeholder for one of the World's values.
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


class ScenarioError(ValueError):
    """A scenario that cannot be evaluated as written (unknown action, ARN, placeholder...)."""


class Unevaluable(ScenarioError):
    """The evaluator cannot decide a scenario soundly: it must fail, never pass."""


# --------------------------------------------------------------------------- the scenario file


@dataclass(frozen=True)
class Scenario:
    id: str
    story: str
    principal: str
    action: str
    expect: str
    modes: tuple[str, ...]
    resource: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()  # (service, operation) pairs the lab's code calls, "s3:GetObject"
    blocker: str = ""
    by: tuple[str, ...] = ()  # "<policy>/<Sid>" of our statements that decide it on their own (deciding_statements)

    @property
    def allowed(self) -> bool:
        return self.expect == "allow"


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class World:
    """Concrete values for the Terraform expressions of a synthesis, and for the scenarios."""

    account: str = "111122223333"
    region: str = "us-west-2"
    partition: str = "aws"
    domain_id: str = "d-abcdefghij12"
    user_profile: str = "data-scientist"
    key_id: str = "1234abcd-12ab-34cd-56ef-1234567890ab"
    subnets: tuple[str, ...] = ("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f")
    security_groups: tuple[str, ...] = ("sg-0123456789abcdef0",)
    names: Mapping[str, str] = field(default_factory=dict)  # from the synthesis: buckets, roles, server...

    @property
    def key_arn(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{self.key_id}"

    @staticmethod
    def endpoint_id(key: str) -> str:
        """The VPC endpoint ID of the endpoint ``key`` (``s3-gateway`` or an interface endpoint's
        short name): vpce- and 17 hex digits, as AWS writes them."""
        return "vpce-" + hashlib.sha256(key.encode()).hexdigest()[:17]

    @property
    def vpc_id(self) -> str:
        return "vpc-0a1b2c3d4e5f60718"

    def values(self) -> dict[str, Any]:
        endpoints = {
            f"vpce_{k.replace('.', '_').replace('-', '_')}": self.endpoint_id(k)
            for k in (*ENDPOINT_SERVICES, "s3-gateway")
        }
        return {
            "account": self.account,
            "region": self.region,
            "partition": self.partition,
            "domain_id": self.domain_id,
            "user_profile": self.user_profile,
            "key_id": self.key_id,
            "key_arn": self.key_arn,
            "subnets": list(self.subnets),
            "security_groups": list(self.security_groups),
            "vpc_id": self.vpc_id,
            **endpoints,
            **self.names,
        }

    def fill(self, value: Any) -> Any:
        """``{name}`` placeholders replaced; a string that is one list placeholder becomes the list."""
        values = self.values()
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = PLACEHOLDER.fullmatch(value)
        if whole and isinstance(values.get(whole.group(1)), list):
            return list(values[whole.group(1)])

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name not in values or isinstance(values[name], list):
                raise ScenarioError(f"unknown placeholder {{{name}}} in {value!r} (known: {sorted(values)})")
            return str(values[name])

        return PLACEHOLDER.sub(one, value)


# --------------------------------------------------------------------------- synthesized policies


@dataclass
class Role:
    name: str
    arn: str
    trust: dict
    policies: list[tuple[str, dict]]  # (name, document); an AWS managed one named by managed_name()
    boundary: dict | None = None  # the permissions boundary's document

    def own_policies(self) -> list[tuple[str, dict]]:
        """Our inline policies, without the AWS managed policies attached to the role."""
        return [(name, document) for name, document in self.policies if not MANAGED_NAME.fullmatch(name)]


MANAGED_NAME = re.compile(r"(?P<policy>[A-Za-z0-9+=,.@_-]+) \((?P<version>v\d+)\)")


def managed_name(policy: str, version: str) -> str:
    """How an attached AWS managed policy is listed among a role's policies: "Name (v29)"."""
    return f"{policy} ({version})"


@dataclass
class Synthesis:
    """The workload's roles and resource policies, with every expression resolved."""

    mode: str
    world: World
    roles: dict[str, Role]  # "execution" / "mlflow" -> role
    bucket_policies: dict[str, dict]  # bucket name -> policy
    key_policy: dict
    managed_version: str | None


@dataclass(frozen=True)
class Decision:
    scenario: Scenario
    mode: str
    allowed: bool
    resource: str
    context: Mapping[str, Any]

    @property
    def as_expected(self) -> bool:
        return self.allowed == self.scenario.allowed
