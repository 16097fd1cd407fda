"""Lint every IAM permission policy of the synthesized stacks with parliament.

What is linted (identity/permission policies only):

* ``aws_iam_role_policy.policy``, ``aws_iam_policy.policy``, ``aws_iam_user_policy.policy``,
  ``aws_iam_group_policy.policy`` and each ``aws_iam_role.inline_policy[].policy``;
* when such a policy is ``${data.aws_iam_policy_document.<name>.json}``, the data source's
  statements rendered as JSON.

Not linted: trust policies (``aws_iam_role.assume_role_policy``: parliament reports them as
MALFORMED), resource policies (S3 bucket, KMS key: the checkov scan covers those), and managed
policies attached by ARN (``aws_iam_role_policy_attachment``: not ours to lint).

Terraform expressions. A synthesized policy is literal JSON whose strings may hold Terraform
expressions (``"${aws_kms_key.x.arn}"``, ``"arn:${data.aws_partition.p.partition}:s3:::..."``).
parliament would call them invalid ARNs, so before linting every ``${...}`` is replaced by a
plausible value of the right shape (:func:`placeholder`):

* ``.partition`` -> ``aws``; ``.account_id`` -> ``123456789012``; ``aws_region`` -> ``us-west-2``;
* ``<type>.<name>.arn`` -> an ARN of that resource type (``arn:aws:kms:us-west-2:123456789012:
  key/...`` for ``aws_kms_key``...), so parliament still checks that the actions apply to it;
* an ``.arn`` of a type not in :data:`ARN_TEMPLATES`, a remote-state output or any other
  expression that *is* the whole string -> ``*`` (nothing is claimed about it); any other
  expression inside a string -> ``placeholder``.

A policy that is itself an expression parliament cannot see (``${jsonencode(...)}``...) is
reported as an ``UNLINTABLE`` finding rather than skipped: write policies as JSON literals.

parliament runs with its default auditors (no community auditors), like its CLI; every finding,
whatever its severity, is reported.

Usage: ``python -m isolated_studio.checks.policy_lint [cdktf.out ...]`` exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.base.paths import stack_dirs
from isolated_studio.checks.policy_documents import POLICY_DOCUMENT_REF, render_policy_document

ACCOUNT = "123456789012"
REGION = "us-west-2"
PARTITION = "aws"

# ARN of a resource type, for `${<type>.<name>.arn}` (the name is not known: "placeholder").
ARN_TEMPLATES: dict[str, str] = {
    "aws_s3_bucket": "arn:aws:s3:::placeholder-bucket",
    "aws_kms_key": "arn:aws:kms:{region}:{account}:key/11111111-2222-3333-4444-555555555555",
    "aws_kms_alias": "arn:aws:kms:{region}:{account}:alias/placeholder",
    "aws_cloudwatch_log_group": "arn:aws:logs:{region}:{account}:log-group:placeholder",
    "aws_iam_role": "arn:aws:iam::{account}:role/placeholder",
    "aws_iam_policy": "arn:aws:iam::{account}:policy/placeholder",
    "aws_iam_user": "arn:aws:iam::{account}:user/placeholder",
    "aws_dynamodb_table": "arn:aws:dynamodb:{region}:{account}:table/placeholder",
    "aws_sagemaker_domain": "arn:aws:sagemaker:{region}:{account}:domain/d-placeholder",
    "aws_sagemaker_user_profile": "arn:aws:sagemaker:{region}:{account}:user-profile/d-placeholder/placeholder",
    "aws_sagemaker_space": "arn:aws:sagemaker:{region}:{account}:space/d-placeholder/placeholder",
    "aws_sagemaker_mlflow_tracking_server": "arn:aws:sagemaker:{region}:{account}:mlflow-tracking-server/placeholder",
    "aws_sagemaker_model_package_group": "arn:aws:sagemaker:{region}:{account}:model-package-group/placeholder",
    "aws_sagemaker_studio_lifecycle_config": "arn:aws:sagemaker:{region}:{account}:studio-lifecycle-config/placeholder",
    "aws_codeartifact_domain": "arn:aws:codeartifact:{region}:{account}:domain/placeholder",
    "aws_codeartifact_repository": "arn:aws:codeartifact:{region}:{account}:repository/placeholder/placeholder",
    "aws_ecr_repository": "arn:aws:ecr:{region}:{account}:repository/placeholder",
    "aws_sns_topic": "arn:aws:sns:{region}:{account}:placeholder",
    "aws_sqs_queue": "arn:aws:sqs:{region}:{account}:placeholder",
    "aws_lambda_function": "arn:aws:lambda:{region}:{account}:function:placeholder",
    "aws_secretsmanager_secret": "arn:aws:secretsmanager:{region}:{account}:secret:placeholder-AbCdEf",
    "aws_ssm_parameter": "arn:aws:ssm:{region}:{account}:parameter/placeholder",
    "aws_efs_file_system": "arn:aws:elasticfilesystem:{region}:{account}:file-system/fs-placeholder",
}

# Attributes holding identity (permission) policies, by resource type.
POLICY_ATTRIBUTES: dict[str, str] = {
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
}

EXPRESSION = re.compile(r"\$\{([^{}]*)\}")


def placeholder(expression: str, whole: bool) -> str:
    """A plausible literal for the Terraform expression ``${expression}`` (see the module doc).

    ``whole`` says whether the expression is the entire string (an ARN on its own) or a part
    of one (``arn:${...}:s3:::bucket``).
    """
    parts = expression.strip().split(".")
    if parts[0] == "data" and len(parts) > 1:
        rtype = parts[1]
    else:
        rtype = parts[0]
    attribute = parts[-1] if len(parts) > 1 else ""
    if attribute == "partition":
        return PARTITION
    if attribute == "account_id":
        return ACCOUNT
    if rtype in ("aws_region", "aws_regions") or attribute == "region":
        return REGION
    if attribute == "arn" and rtype in ARN_TEMPLATES:
        return ARN_TEMPLATES[rtype].format(region=REGION, account=ACCOUNT)
    return "*" if whole else "placeholder"


def substitute(value: Any) -> Any:
    """``value`` (parsed policy JSON) with every Terraform expression replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v) for v in value]
    if isinstance(value, str) and "${" in value:
        whole = EXPRESSION.fullmatch(value.strip())
        if whole:
            return placeholder(whole.group(1), whole=True)
        return EXPRESSION.sub(lambda m: placeholder(m.group(1), whole=False), value)
    return value


@dataclass(frozen=True)
class LintFinding:
    issue: str  # parliament's issue code: UNKNOWN_ACTION, MALFORMED...
    severity: str
    title: str
    detail: str
    location: dict = field(default_factory=dict, hash=False, compare=False)

    def describe(self) -> str:
        where = self.location.get("string") or ""
        text = f"{self.severity:<8} {self.issue}: {self.title}"
        if self.detail:
            text += f" -- {self.detail}"
        if where:
            text += f" ({where})"
        return text


@dataclass
class PolicyDocument:
    stack: str
    address: str  # aws_iam_role_policy.flow-log_role-policy_A6E370A2
    attribute: str  # policy, inline_policy[0].policy
    source: Any  # the policy as synthesized (JSON text or expression)
    linted: str | None = None  # the JSON parliament saw (placeholders substituted)
    findings: list[LintFinding] = field(default_factory=list)
    boundary: bool = False  # a role's permissions boundary (a cap on "*", granting nothing)

    @property
    def label(self) -> str:
        return f"{self.stack}: {self.address} ({self.attribute})"


@dataclass
class LintResult:
    documents: list[PolicyDocument]

    @property
    def ok(self) -> bool:
        return not any(d.findings for d in self.documents)

    def __repr__(self) -> str:  # short, for assertion messages
        return f"<LintResult {len(self.documents)} policies, ok={self.ok}>"

    def findings_by_resource(self) -> dict[str, list[LintFinding]]:
        """``"<stack>: <address>"`` -> its findings (only resources that have some)."""
        result: dict[str, list[LintFinding]] = {}
        for doc in self.documents:
            if doc.findings:
                result.setdefault(f"{doc.stack}: {doc.address}", []).extend(doc.findings)
        return result

    def describe(self) -> str:
        bad = [d for d in self.documents if d.findings]
        lines = [
            f"parliament over {len(self.documents)} IAM permission policies: "
            f"{sum(len(d.findings) for d in bad)} finding(s) in {len(bad)} policies"
        ]
        for doc in bad:
            lines.append(f"  {doc.label}")
            lines += [f"      {f.describe()}" for f in doc.findings]
        lines.append("IAM lint: " + ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


def _parliament():
    with warnings.catch_warnings():
        # Lazy for speed (parliament loads its IAM database) and to silence its import warnings.
        warnings.simplefilter("ignore")  # pkg_resources deprecation, unclosed data files
        import parliament
    return parliament


def lint_policy(policy: Any) -> tuple[str | None, list[LintFinding]]:
    """Lint one identity policy (JSON text or parsed); returns the linted text and the findings."""
    if isinstance(policy, str):
        if policy.strip().startswith("${"):
            return None, [
                LintFinding(
                    "UNLINTABLE",
                    "HIGH",
                    "Policy is a Terraform expression",
                    f"{policy} cannot be linted: synthesize the policy as JSON",
                )
            ]
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            return None, [LintFinding("MALFORMED_JSON", "CRITICAL", "JSON is malformed", str(exc))]
    text = json.dumps(substitute(policy), indent=1)
    parliament = _parliament()
    analyzed = parliament.analyze_policy_string(text)
    findings = []
    for raw in analyzed.findings:
        finding = parliament.enhance_finding(raw)
        # Honour parliament's own config (its ignore_locations), as its CLI does; nothing is below INFO.
        from parliament.cli import is_finding_filtered  # lazy for speed, as in _parliament

        if is_finding_filtered(finding, "INFO"):
            continue
        location = {k: v for k, v in dict(finding.location or {}).items() if k in ("string", "line", "column")}
        findings.append(
            LintFinding(
                issue=finding.issue,
                severity=finding.severity,
                title=finding.title,
                detail=str(finding.detail or ""),
                location=location,
            )
        )
    return text, findings


def extract_policies(stack: str, doc: Mapping[str, Any]) -> list[PolicyDocument]:
    """Every identity policy of one synthesized stack (parsed cdk.tf.json), not yet linted."""
    resources = doc.get("resource", {})
    data_documents = doc.get("data", {}).get("aws_iam_policy_document", {})
    found: list[PolicyDocument] = []

    def add(address: str, attribute: str, policy: Any) -> None:
        item = PolicyDocument(stack, address, attribute, policy)
        ref = POLICY_DOCUMENT_REF.match(policy.strip()) if isinstance(policy, str) else None
        if ref and ref.group(1) in data_documents:
            item.source = render_policy_document(data_documents[ref.group(1)])
            item.attribute += f" = data.aws_iam_policy_document.{ref.group(1)}"
        found.append(item)

    boundaries = {
        ref.group(1)
        for body in resources.get("aws_iam_role", {}).values()
        for ref in [re.fullmatch(r"\$\{aws_iam_policy\.([^.]+)\.arn\}", str(body.get("permissions_boundary", "")))]
        if ref
    }
    for rtype, attribute in POLICY_ATTRIBUTES.items():
        for name, body in sorted(resources.get(rtype, {}).items()):
            if attribute in body:
                add(f"{rtype}.{name}", attribute, body[attribute])
                found[-1].boundary = rtype == "aws_iam_policy" and name in boundaries
    for name, body in sorted(resources.get("aws_iam_role", {}).items()):
        inline = body.get("inline_policy") or []
        for i, block in enumerate(inline if isinstance(inline, list) else [inline]):
            if isinstance(block, dict) and block.get("policy"):
                add(f"aws_iam_role.{name}", f"inline_policy[{i}].policy", block["policy"])
    return found


def lint_documents(documents: Iterable[PolicyDocument]) -> LintResult:
    docs = list(documents)
    for item in docs:
        item.linted, item.findings = lint_policy(item.source)
        if item.boundary:
            # A permissions boundary bounds services on "*" by design: which resources a request may
            # touch is the identity policies' to say, and parliament's RESOURCE_STAR does not apply.
            item.findings = [f for f in item.findings if f.issue != "RESOURCE_STAR"]
    return LintResult(docs)


def lint_stacks(stacks: Mapping[str, Mapping[str, Any]] | Iterable[tuple[str, Mapping[str, Any]]]) -> LintResult:
    """Lint ``{stack name: parsed cdk.tf.json}`` (or ``(name, doc)`` pairs)."""
    items = stacks.items() if isinstance(stacks, Mapping) else stacks
    return lint_documents(p for name, doc in items for p in extract_policies(name, doc))


def lint_outdirs(outdirs: Iterable[Path]) -> LintResult:

    pairs = []
    for outdir in outdirs:
        for name, path in stack_dirs(Path(outdir)).items():
            pairs.append((name, json.loads((path / "cdk.tf.json").read_text())))
    return lint_stacks(pairs)


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.checks.policy_lint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("outdirs", nargs="*", type=Path, default=[Path("cdktf.out")], help="synthesized output dirs")
    parser.add_argument("--show", action="store_true", help="print every linted policy (placeholders substituted)")
    args = parser.parse_args(argv)
    try:
        result = lint_outdirs(args.outdirs)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.show:
        for doc in result.documents:
            print(f"--- {doc.label}\n{doc.linted}")
    print(result.describe())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
