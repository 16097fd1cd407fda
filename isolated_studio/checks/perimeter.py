"""Perimeter scenarios: every request decided layer by layer, as AWS decides a request.

``policy/perimeter-scenarios.toml`` lists requests by whoever may hold credentials near the
environment: the Studio execution role (Studio, the notebook, @remote jobs, or its credentials
copied elsewhere), the MLflow server's role, a notebook holding another account's credentials
(``foreign``), an anonymous client, an AWS-owned identity (ECR's, presigning its image layers)
and AWS service principals. Each is decided on every layer it crosses:

1. **network** (origin ``vpc``: a Studio app or job in our subnets): is there an endpoint, or the
   S3 gateway's route, for the service at all? Without one the request never leaves the VPC.
   Outside the VPC (``internet``: copied credentials, a laptop, the deployer; ``aws``: AWS's own
   network, the MLflow server, a service on the caller's behalf) there is no endpoint, and no
   ``aws:SourceVpce`` in the request.
2. **endpoint policy** of that endpoint (none = AWS's default, full access): it must allow.
3. **identity** policies of the principal (our roles, AWS's AmazonSageMakerFullAccess v29 in
   managed mode, the managed mode's permissions boundary; the foreign user holds an
   administrator's policy in its own account) and
4. **resource** policies (our bucket and key policies, the roles' trust; another account's
   resources are taken as open to everyone, the worst case): principalmapper decides these two
   together, with AWS's rules for same- and cross-account requests, as in
   :mod:`isolated_studio.checks.access`.

An explicit deny anywhere wins; every layer must allow. The endpoint policy is evaluated here,
as a policy layer of its own, with principalmapper's own action, resource and condition matching
(ForAnyValue corrected as in checks/access/engine.py) and the principal matched as IAM matches it in a
resource-based policy: ``*`` and ``{"AWS": "*"}`` name everyone, anonymous callers included; an
account ID or ``:root`` names its principals. Request context keys are those AWS sets:
``aws:PrincipalAccount`` and ``aws:PrincipalArn`` of an authenticated caller,
``aws:ResourceAccount`` of the resource (absent on ``*``), ``aws:SourceVpce`` and
``aws:SourceVpc`` through an endpoint, ``aws:PrincipalIsAWSService`` for a service principal;
a key a statement tests that the request does not carry must be declared ``absent``, or the
scenario fails as unevaluable.

Each scenario names what decides it (``by``): for an allowed request every statement of ours
that allows it on a layer; for a refused one every layer that refuses it, by statement where a
statement does (``endpoint:<key>/<Sid>``, ``identity:<policy>/<Sid>``, ``resource:<resource>/<Sid>``)
and by layer where nothing allows it (``network``, ``endpoint:<key>``, ``identity``,
``resource:<resource>``).

Usage: ``python -m isolated_studio.checks.perimeter --docs`` rewrites the scenario table of
docs/perimeter.md from the file.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.checks import access
from isolated_studio.checks.access import CaseInsensitiveDict, ScenarioError, Unevaluable, pm_sim
from modules import aws_owned
from modules.endpoint_policies import S3_GATEWAY, endpoint_policies

SCENARIO_FILE = access.ROOT / "policy" / "perimeter-scenarios.toml"
DOCS = access.ROOT / "docs" / "perimeter.md"
ORIGINS = ("vpc", "internet", "aws")
FOREIGN_ACCOUNT = "999988887777"
FOREIGN_USER = f"arn:aws:iam::{FOREIGN_ACCOUNT}:user/mallory"
AWS_OWNED_ACCOUNT = "777788889999"  # stands for the AWS accounts owning ECR's and CodeArtifact's buckets
PRINCIPAL_KINDS = ("execution", "mlflow", "foreign", "anonymous", "aws-owned")
SERVICE_PREFIX = access.SERVICE_PREFIX
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Calls IAM never authorizes: "No permissions are required to perform this operation" (AWS STS
# API Reference, GetCallerIdentity; an explicit deny cannot refuse it either).
NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})
DEFAULT_ENDPOINT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}
SCENARIO_KEYS = {
    "id",
    "story",
    "principal",
    "origin",
    "action",
    "expect",
    "modes",
    "resource",
    "context",
    "absent",
    "covers",
    "endpoint",
    "by",
}
# Actions served by an endpoint other than their service's main one.
ROUTES = {
    "s3": S3_GATEWAY,
    "sts": "sts",
    "sagemaker-mlflow": "experiments",
    "logs": "logs",
    "cloudwatch": "monitoring",
    "ec2": "ec2",
    "kms": "kms",
    "ecr": "ecr.api",
    "codeartifact": "codeartifact.api",
    "sagemaker": "sagemaker.api",
    "ssm": "ssm",
    "elasticfilesystem": "elasticfilesystem",
    "servicecatalog": "servicecatalog",
}
ACTION_ROUTES = {
    "sagemaker:InvokeEndpoint": "sagemaker.runtime",
    "sagemaker:InvokeEndpointAsync": "sagemaker.runtime",
    "sagemaker:InvokeEndpointWithResponseStream": "sagemaker.runtime",
    "codeartifact:ReadFromRepository": "codeartifact.repositories",
    "codeartifact:PublishPackageVersion": "codeartifact.repositories",
}


# --------------------------------------------------------------------------- the scenario file


@dataclass(frozen=True)
class PerimeterScenario:
    id: str
    story: str
    principal: str
    origin: str
    action: str
    expect: str
    modes: tuple[str, ...]
    resource: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    endpoint: str = ""  # the endpoint the request takes, when not its service's (a dependent action)
    by: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.expect == "allow"


def load_scenarios(path: Path = SCENARIO_FILE) -> list[PerimeterScenario]:
    data = tomllib.loads(path.read_text())
    problems, scenarios, seen = [], [], set()
    for index, row in enumerate(data.get("scenario", [])):
        label = row.get("id", f"scenario #{index + 1}")
        unknown = set(row) - SCENARIO_KEYS
        if unknown:
            problems.append(f"{label}: unknown keys {sorted(unknown)}")
        for key in ("id", "story", "principal", "origin", "action", "expect"):
            if not row.get(key):
                problems.append(f"{label}: '{key}' is required")
        if label in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(label)
        if row.get("expect") not in ("allow", "deny"):
            problems.append(f"{label}: expect must be 'allow' or 'deny'")
        principal = row.get("principal", "")
        if principal not in PRINCIPAL_KINDS and not principal.startswith(SERVICE_PREFIX):
            problems.append(
                f"{label}: principal {principal!r} must be one of {list(PRINCIPAL_KINDS)} or service:<name>"
            )
        if row.get("origin") not in ORIGINS:
            problems.append(f"{label}: origin must be one of {list(ORIGINS)}")
        modes = tuple(row.get("modes", access.MODES))
        if not modes or set(modes) - set(access.MODES):
            problems.append(f"{label}: modes {list(modes)} must be a non-empty subset of {list(access.MODES)}")
        scenarios.append(
            PerimeterScenario(
                id=label,
                story=row.get("story", ""),
                principal=principal,
                origin=row.get("origin", ""),
                action=row.get("action", ""),
                expect=row.get("expect", ""),
                modes=modes,
                resource=dict(row.get("resource", {})),
                context=dict(row.get("context", {})),
                absent=tuple(row.get("absent", ())),
                covers=tuple(row.get("covers", ())),
                endpoint=row.get("endpoint", ""),
                by=tuple(row.get("by", ())),
            )
        )
    if problems:
        raise ScenarioError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return scenarios


# --------------------------------------------------------------------------- the perimeter


@dataclass
class Perimeter:
    """What decides a request besides the principal: the endpoints and their policies, the
    roles and resource policies (an :class:`access.Synthesis`)."""

    synthesis: access.Synthesis
    endpoints: Mapping[str, dict | None]  # endpoint key -> its policy (None: AWS's default, full access)

    @property
    def mode(self) -> str:
        return self.synthesis.mode

    @property
    def world(self) -> access.World:
        return self.synthesis.world


def built_endpoint_policies(config: Any, world: access.World) -> dict[str, dict]:
    """The endpoint policies modules/endpoint_policies.py writes for ``config``, with the world's account."""
    policies = endpoint_policies(
        config.network.interface_endpoints,
        account=world.account,
        partition=world.partition,
        region=world.region,
        aws_owned=aws_owned.for_region(world.region),
        trusted_image_accounts=config.workload.docker_trusted_accounts,
    )
    return {key: access.rendered(document) for key, document in policies.items()}


def perimeter_for_config(config: Any, resources: Mapping[str, Any], world: access.World | None = None) -> Perimeter:
    """The perimeter of ``config`` without a synthesis: roles and endpoint policies from the modules
    that build them, the bucket and key policies from an earlier synthesis (``resources``)."""
    synthesis = access.synthesis_for_config(config, resources, world)
    return Perimeter(synthesis, built_endpoint_policies(config, synthesis.world))


def synthesized_endpoint_policies(stacks: Mapping[str, Mapping], world: access.World) -> dict[str, dict | None]:
    """The endpoint policies of a synthesized network stack, with the world's values."""
    network = stacks["network"]
    resolve = access._resolver({"workload": network, "network": network}, world)
    resources = network.get("resource", {})
    by_name = {
        name: access.endpoint_key(body, world.region) for name, body in resources.get("aws_vpc_endpoint", {}).items()
    }
    found: dict[str, dict | None] = {key: None for key in by_name.values()}
    for body in resources.get("aws_vpc_endpoint", {}).values():
        if body.get("policy"):
            found[access.endpoint_key(body, world.region)] = access._policy(network, body["policy"], resolve)
    for body in resources.get("aws_vpc_endpoint_policy", {}).values():
        name = access.reference(body["vpc_endpoint_id"], "aws_vpc_endpoint", "id")
        found[by_name[name]] = access._policy(network, body["policy"], resolve)
    return found


# --------------------------------------------------------------------------- one request


@dataclass(frozen=True)
class Caller:
    kind: str  # execution / mlflow / foreign / anonymous / aws-owned / service
    arn: str = ""  # an authenticated principal's ARN
    service: str = ""  # a service principal's name

    @property
    def account(self) -> str | None:
        return self.arn.split(":")[4] if self.arn else None


def _caller(scenario: PerimeterScenario, perimeter: Perimeter) -> Caller:
    p = scenario.principal
    if p in access.PRINCIPALS:
        return Caller(p, arn=perimeter.synthesis.roles[p].arn)
    if p == "foreign":
        return Caller(p, arn=FOREIGN_USER)
    if p == "aws-owned":
        return Caller(p, arn=f"arn:aws:iam::{AWS_OWNED_ACCOUNT}:role/service-presigner")
    if p == "anonymous":
        return Caller(p)
    return Caller("service", service=p.removeprefix(SERVICE_PREFIX))


def route(action: str) -> str | None:
    """The endpoint a request for ``action`` takes from inside the VPC (None: no service endpoint exists)."""
    return ACTION_ROUTES.get(action) or ROUTES.get(action.split(":", 1)[0])


def _principal_matches(statement: Mapping[str, Any], caller: Caller) -> bool:
    """Does a resource-based statement's Principal (or NotPrincipal) name the caller, as IAM reads it?"""

    def names(field_: Any) -> bool:
        if field_ == "*":
            return True
        if not isinstance(field_, Mapping):
            return False
        aws = pm_sim._listify_string(field_.get("AWS", []))
        if "*" in aws:
            return True
        if caller.arn:
            account = caller.account
            if caller.arn in aws or account in aws or f"arn:aws:iam::{account}:root" in aws:
                return True
        return bool(caller.service) and caller.service in pm_sim._listify_string(field_.get("Service", []))

    if "NotPrincipal" in statement:
        return not names(statement["NotPrincipal"])
    return names(statement.get("Principal"))


def _matching(
    document: Mapping[str, Any], caller: Caller, action: str, resource: str, ctx: CaseInsensitiveDict
) -> list[dict]:
    """The statements of a resource-style policy that apply to the request."""
    found = []
    for statement in access._statements(document):
        if not _principal_matches(statement, caller):
            continue
        if not pm_sim._statement_matches_action(statement, action, ctx, True):
            continue
        if not pm_sim._statement_matches_resource(statement, resource, ctx):
            continue
        if "Condition" in statement and not pm_sim._get_condition_match(statement["Condition"], ctx):
            continue
        found.append(statement)
    return found


@dataclass(frozen=True)
class Layer:
    name: str  # network / endpoint / identity+resource
    allowed: bool
    labels: tuple[str, ...]  # what decides the layer's answer (see the module docstring)


@dataclass(frozen=True)
class PerimeterDecision:
    scenario: PerimeterScenario
    mode: str
    resource: str
    context: Mapping[str, Any]
    layers: tuple[Layer, ...]

    @property
    def allowed(self) -> bool:
        return all(layer.allowed for layer in self.layers)

    @property
    def as_expected(self) -> bool:
        return self.allowed == self.scenario.allowed

    @property
    def deciders(self) -> set[str]:
        """What decides the request: every allowing label if allowed, every refusing layer's if not."""
        layers = [layer for layer in self.layers if layer.allowed == self.allowed]
        return {label for layer in layers for label in layer.labels}


def _resource_name(perimeter: Perimeter, arn: str, action: str) -> str:
    world = perimeter.world
    if arn.startswith(f"arn:{world.partition}:s3:::"):
        bucket = arn.split(":::", 1)[1].split("/", 1)[0]
        for key, value in world.names.items():
            if key.endswith("_bucket") and value == bucket:
                return f"{key.removesuffix('_bucket')}-bucket"
        return bucket
    if arn == world.key_arn:
        return "key"
    if action == "sts:AssumeRole":
        return "trust:" + arn.rsplit("/", 1)[-1]
    return arn


def _context(
    scenario: PerimeterScenario, perimeter: Perimeter, caller: Caller, arn: str, endpoint: str | None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The request context AWS builds for the scenario (see the module docstring)."""
    world = perimeter.world
    base = access.Scenario(
        id=scenario.id,
        story=scenario.story,
        principal="execution",
        action=scenario.action,
        expect=scenario.expect,
        modes=scenario.modes,
        resource=scenario.resource,
        context=scenario.context,
        absent=scenario.absent,
    )
    context, absent = access.request_context(base, arn, world)
    added: dict[str, Any] = {}
    if caller.arn:
        added |= {"aws:PrincipalAccount": caller.account, "aws:PrincipalArn": caller.arn}
    else:
        absent += ("aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID")
    if caller.kind == "service":
        added |= {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": caller.service}
    if endpoint:
        added |= {"aws:SourceVpce": world.endpoint_id(endpoint), "aws:SourceVpc": world.vpc_id}
    else:
        absent += ("aws:SourceVpce", "aws:SourceVpc")
    for key, value in added.items():
        context.setdefault(key, value)
    absent = tuple(k for k in dict.fromkeys(absent) if k not in context)
    return context, absent


def _endpoint_layer(
    scenario: PerimeterScenario,
    perimeter: Perimeter,
    key: str,
    caller: Caller,
    arn: str,
    context: Mapping[str, Any],
    absent: Sequence[str],
) -> Layer:
    where = f"{scenario.id} [{perimeter.mode}] endpoint policy of {key}"
    document = perimeter.endpoints.get(key) or DEFAULT_ENDPOINT_POLICY
    ctx = CaseInsensitiveDict({"aws:SecureTransport": "true", **context})
    prepared = access.prepare_policy(document, where, scenario.action, arn, ctx, absent, None)
    matched = _matching(prepared, caller, scenario.action, arn, ctx)
    denies = [s for s in matched if s["Effect"] == "Deny"]
    allows = [s for s in matched if s["Effect"] == "Allow"]
    sid = lambda s: (
        f"endpoint:{key}/{s.get('Sid', '')}"
        if perimeter.endpoints.get(key)
        else f"endpoint:{key} (AWS's default policy)"
    )
    if denies:
        return Layer("endpoint", False, tuple(sorted({sid(s) for s in denies})))
    if allows:
        return Layer("endpoint", True, tuple(sorted({sid(s) for s in allows})))
    return Layer("endpoint", False, (f"endpoint:{key}",))


def _role_layer(
    scenario: PerimeterScenario, perimeter: Perimeter, arn: str, context: Mapping[str, Any], absent: Sequence[str]
) -> Layer:
    """Our roles: identity and resource policies, principalmapper's decision (access.evaluate)."""
    synthesis, world = perimeter.synthesis, perimeter.world
    role = synthesis.roles[scenario.principal]
    request = access.Scenario(
        id=scenario.id,
        story=scenario.story,
        principal=scenario.principal,
        action=scenario.action,
        expect=scenario.expect,
        modes=scenario.modes,
        resource=scenario.resource,
        context=context,
        absent=tuple(absent),
    )
    allowed = access.evaluate(request, synthesis).allowed
    labels = {f"identity:{s}" for s in access.deciding_statements(request, synthesis)}
    resource_policy, owner = access._resource_policy(synthesis, scenario.action, arn, context)
    name = _resource_name(perimeter, arn, scenario.action)
    if owner == world.account and resource_policy is not None and not scenario.action.startswith("kms:"):
        ctx = CaseInsensitiveDict({"aws:SecureTransport": "true", **access._inferred(access._node(role)), **context})
        matched = _matching(resource_policy, Caller(scenario.principal, arn=role.arn), scenario.action, arn, ctx)
        effect = "Allow" if allowed else "Deny"
        labels |= {f"resource:{name}/{s.get('Sid', '')}" for s in matched if s["Effect"] == effect}
    if not allowed and not labels:
        alone = access.evaluate(
            request,
            dataclasses.replace(
                synthesis,
                bucket_policies={},
                key_policy=json.loads(json.dumps(access.AWS_DEFAULT_KEY_POLICY).replace("{account}", world.account)),
            ),
        )
        labels.add("identity" if not alone.allowed else f"resource:{name}")
    if allowed and not any(label.startswith("identity:") for label in labels):
        labels.add("identity:AWS managed policy" if synthesis.managed_version else "identity")
    return Layer("identity+resource", allowed, tuple(sorted(labels)))


def _other_layer(
    scenario: PerimeterScenario,
    perimeter: Perimeter,
    caller: Caller,
    arn: str,
    context: Mapping[str, Any],
    absent: Sequence[str],
) -> Layer:
    """Principals that are not our roles: their own identity (an administrator's for a foreign user,
    AWS's for an AWS-owned identity, none for anonymous callers and services), and the resource's policy."""
    synthesis, world = perimeter.synthesis, perimeter.world
    owner = context.get("aws:ResourceAccount")
    if owner is None and arn != "*":
        raise Unevaluable(f"{scenario.id}: whose is {arn}? give aws:ResourceAccount")
    name = _resource_name(perimeter, arn, scenario.action)
    if owner == world.account:
        resource_policy, _ = access._resource_policy(synthesis, scenario.action, arn, context)
    elif owner == AWS_OWNED_ACCOUNT:
        # AWS's buckets and registries: open to AWS's own presigning identities, not to anyone.
        resource_policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AwsOwnsIt",
                    "Effect": "Allow",
                    "Principal": {"AWS": AWS_OWNED_ACCOUNT},
                    "Action": "*",
                    "Resource": "*",
                }
            ],
        }
    else:
        resource_policy = copy.deepcopy(access.OPEN_RESOURCE_POLICY)
    ctx = CaseInsensitiveDict({"aws:SecureTransport": "true", **context})
    where = f"{scenario.id} [{perimeter.mode}] resource policy of {arn}"
    prepared = (
        access.prepare_policy(resource_policy, where, scenario.action, arn, ctx, absent, None)
        if resource_policy
        else None
    )
    matched = _matching(prepared, caller, scenario.action, arn, ctx) if prepared else []
    label = lambda s: f"resource:{name}/{s.get('Sid', '')}" if owner == world.account else f"resource:{name}"
    denies = {label(s) for s in matched if s["Effect"] == "Deny"}
    allows = {label(s) for s in matched if s["Effect"] == "Allow"}
    if denies:
        return Layer("identity+resource", False, tuple(sorted(denies)))
    same_account = caller.account is not None and caller.account == owner
    if caller.kind in ("foreign", "aws-owned") and (same_account or allows):
        return Layer("identity+resource", True, tuple(sorted(allows)) or ("identity:its own account",))
    if allows:
        return Layer("identity+resource", True, tuple(sorted(allows)))
    return Layer("identity+resource", False, (f"resource:{name}",))


def decide(scenario: PerimeterScenario, perimeter: Perimeter) -> PerimeterDecision:
    """AWS's decision on the scenario's request, layer by layer."""
    world = perimeter.world
    arn = access.resource_arn(scenario.action, {k: world.fill(v) for k, v in scenario.resource.items()}, world)
    caller = _caller(scenario, perimeter)
    key = (scenario.endpoint or route(scenario.action)) if scenario.origin == "vpc" else None
    layers: list[Layer] = []
    if scenario.origin == "vpc":
        if key is None or key not in perimeter.endpoints:
            layers.append(Layer("network", False, ("network",)))
            return PerimeterDecision(scenario, perimeter.mode, arn, {}, tuple(layers))
        layers.append(Layer("network", True, ()))
    context, absent = _context(scenario, perimeter, caller, arn, key)
    if key:
        layers.append(_endpoint_layer(scenario, perimeter, key, caller, arn, context, absent))
    if scenario.action in NO_PERMISSION_NEEDED and caller.arn:
        layers.append(Layer("identity+resource", True, ("identity:no permission needed",)))
    elif caller.kind in access.PRINCIPALS:
        layers.append(_role_layer(scenario, perimeter, arn, context, absent))
    elif caller.kind == "service" and scenario.action == "sts:AssumeRole":
        request = access.Scenario(
            id=scenario.id,
            story=scenario.story,
            principal=scenario.principal,
            action=scenario.action,
            expect=scenario.expect,
            modes=scenario.modes,
            resource=scenario.resource,
            context=context,
            absent=tuple(absent),
        )
        allowed = access.evaluate(request, perimeter.synthesis).allowed
        layers.append(
            Layer("identity+resource", allowed, (f"resource:{_resource_name(perimeter, arn, scenario.action)}",))
        )
    else:
        layers.append(_other_layer(scenario, perimeter, caller, arn, context, absent))
    return PerimeterDecision(scenario, perimeter.mode, arn, context, tuple(layers))


def decide_all(scenarios: Sequence[PerimeterScenario], perimeter: Perimeter) -> list[PerimeterDecision]:
    return [decide(s, perimeter) for s in scenarios if perimeter.mode in s.modes]


def our_statements(perimeter: Perimeter) -> set[str]:
    """Every statement of ours outside the roles, as the labels name them: the endpoint policies'
    and our bucket policies' (the roles' own are the access scenarios')."""
    found = {
        f"endpoint:{key}/{s.get('Sid', '')}"
        for key, doc in perimeter.endpoints.items()
        if doc
        for s in access._statements(doc)
    }
    world = perimeter.world
    for bucket, doc in perimeter.synthesis.bucket_policies.items():
        name = _resource_name(perimeter, f"arn:{world.partition}:s3:::{bucket}", "s3:GetObject")
        found |= {f"resource:{name}/{s.get('Sid', '')}" for s in access._statements(doc)}
    return found


# --------------------------------------------------------------------------- docs/perimeter.md


DOCS_BEGIN = "<!-- perimeter table: written by `python -m isolated_studio.checks.perimeter --docs` from policy/perimeter-scenarios.toml -->"
DOCS_END = "<!-- end of perimeter table -->"
WHO = {
    "execution": "execution role",
    "mlflow": "MLflow server role",
    "foreign": "another account's credentials",
    "anonymous": "anonymous",
    "aws-owned": "an AWS-owned identity",
}
FROM = {"vpc": "the VPC", "internet": "outside", "aws": "AWS's network"}


def scenario_table(scenarios: Sequence[PerimeterScenario]) -> str:
    def modes(s: PerimeterScenario) -> str:
        return "both" if set(s.modes) == set(access.MODES) else " ".join(s.modes)

    lines = ["| who | from | what | request | AWS decides | decided by | IAM modes |", "|---|---|---|---|---|---|---|"]
    for s in sorted(
        scenarios,
        key=lambda s: (
            not s.allowed,
            PRINCIPAL_KINDS.index(s.principal) if s.principal in PRINCIPAL_KINDS else len(PRINCIPAL_KINDS),
        ),
    ):
        who = WHO.get(s.principal, f"`{s.principal.removeprefix(SERVICE_PREFIX)}`")
        decided = ", ".join(f"`{b}`" for b in s.by)
        lines.append(
            f"| {who} | {FROM[s.origin]} | {s.story} | `{s.action}` | "
            f"{'allowed' if s.allowed else '**denied**'} | {decided} | {modes(s)} |"
        )
    return "\n".join(lines)


def docs_with_table(text: str, scenarios: Sequence[PerimeterScenario]) -> str:
    start, end = text.index(DOCS_BEGIN) + len(DOCS_BEGIN), text.index(DOCS_END)
    return text[:start] + "\n" + scenario_table(scenarios) + "\n" + text[end:]


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.checks.perimeter", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--docs", action="store_true", help="rewrite docs/perimeter.md's scenario table")
    args = parser.parse_args(argv)
    if args.docs:
        DOCS.write_text(docs_with_table(DOCS.read_text(), load_scenarios()))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
