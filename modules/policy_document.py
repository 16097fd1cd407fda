"""Policies as `aws_iam_policy_document` data sources, written as plain dicts.

Constructs describe policies as IAM JSON dicts (easy to read and review). This turns one
into a data source and returns its ``json`` attribute. A ``json.dumps`` string would work
in cdk.tf.json, but `cdktf synth --hcl` mangles quoted strings that contain references;
data sources convert cleanly, and Terraform renders the exact JSON at plan time.
"""

from __future__ import annotations

from typing import Any, Mapping

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct

_KNOWN_KEYS = {"Sid", "Effect", "Action", "Resource", "NotResource", "Principal", "Condition"}


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _statement(index: int, statement: Mapping[str, Any]) -> DataAwsIamPolicyDocumentStatement:
    unknown = set(statement) - _KNOWN_KEYS
    if unknown:
        raise ValueError(f"policy statement {index}: unsupported keys {sorted(unknown)}")
    principals = [
        DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=_as_list(ids))
        for kind, ids in (statement.get("Principal") or {}).items()
    ]
    conditions = [
        DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=_as_list(values))
        for test, block in (statement.get("Condition") or {}).items()
        for variable, values in block.items()
    ]
    return DataAwsIamPolicyDocumentStatement(
        sid=statement.get("Sid"),
        effect=statement.get("Effect", "Allow"),
        actions=_as_list(statement["Action"]),
        resources=_as_list(statement["Resource"]) if "Resource" in statement else None,
        not_resources=_as_list(statement["NotResource"]) if "NotResource" in statement else None,
        principals=principals or None,
        condition=conditions or None,
    )


def policy_document(scope: Construct, id: str, document: Mapping[str, Any]) -> str:
    """Create ``data.aws_iam_policy_document.<id>`` from an IAM policy dict; return its JSON."""
    statements = [_statement(i, s) for i, s in enumerate(document["Statement"])]
    return DataAwsIamPolicyDocument(scope, id, version=document.get("Version", "2012-10-17"),
                                    statement=statements).json
