"""Policies as `aws_iam_policy_document` data sources, written as plain dicts.

Constructs describe policies as IAM JSON dicts (easy to read and review). This turns one
into a data source and returns its ``json`` attribute. A ``json.dumps`` string would work
in cdk.tf.json, but `cdktf synth --hcl` mangles quoted strings that contain references;
data sources convert cleanly, and Terraform renders the exact JSON at plan time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct

_KNOWN_KEYS = {"Sid", "Effect", "Action", "Resource", "NotResource", "Principal", "Condition"}
_DOCUMENT_KEYS = {"Version", "Statement"}
_EFFECTS = ("Allow", "Deny")


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def document_blocks(document: Mapping[str, Any]) -> dict[str, Any]:
    """The data source's arguments for an IAM policy dict, as cdktf synthesizes them
    (``version``, ``statement`` blocks with ``actions``, ``principals``, ``condition``...).

    Raises ValueError for what the data source would not render as written: an unknown key
    (a misspelt ``Efect`` would otherwise be dropped and default to Allow) or an effect other
    than Allow/Deny (which the provider refuses only at plan time).
    """
    problems = (
        [f"unsupported document keys {sorted(set(document) - _DOCUMENT_KEYS)}"]
        if set(document) - _DOCUMENT_KEYS
        else []
    )
    statements = []
    for index, statement in enumerate(document["Statement"]):
        unknown = set(statement) - _KNOWN_KEYS
        if unknown:
            problems.append(f"statement {index}: unsupported keys {sorted(unknown)}")
        if statement.get("Effect", "Allow") not in _EFFECTS:
            problems.append(f"statement {index}: Effect {statement['Effect']!r} must be one of {list(_EFFECTS)}")
        statements.append(
            {
                "sid": statement.get("Sid"),
                "effect": statement.get("Effect", "Allow"),
                "actions": _as_list(statement["Action"]),
                "resources": _as_list(statement["Resource"]) if "Resource" in statement else None,
                "not_resources": _as_list(statement["NotResource"]) if "NotResource" in statement else None,
                "principals": [
                    {"type": kind, "identifiers": _as_list(ids)}
                    for kind, ids in (statement.get("Principal") or {}).items()
                ]
                or None,
                "condition": [
                    {"test": test, "variable": variable, "values": _as_list(values)}
                    for test, block in (statement.get("Condition") or {}).items()
                    for variable, values in block.items()
                ]
                or None,
            }
        )
    if problems:
        raise ValueError("policy document: " + "; ".join(problems))
    return {"version": document.get("Version", "2012-10-17"), "statement": statements}


def _statement(block: Mapping[str, Any]) -> DataAwsIamPolicyDocumentStatement:
    return DataAwsIamPolicyDocumentStatement(
        sid=block["sid"],
        effect=block["effect"],
        actions=block["actions"],
        resources=block["resources"],
        not_resources=block["not_resources"],
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(**p) for p in block["principals"] or ()] or None,
        condition=[DataAwsIamPolicyDocumentStatementCondition(**c) for c in block["condition"] or ()] or None,
    )


def policy_document(scope: Construct, id: str, document: Mapping[str, Any]) -> str:
    """Create ``data.aws_iam_policy_document.<id>`` from an IAM policy dict; return its JSON."""
    blocks = document_blocks(document)
    return DataAwsIamPolicyDocument(
        scope, id, version=blocks["version"], statement=[_statement(b) for b in blocks["statement"]]
    ).json
