"""Read back the IAM policies of a synthesized stack, wherever they are written.

Stacks reference ``data.aws_iam_policy_document.<name>.json``; reviewers, linters and tests
want the policy itself. Rendering follows what the provider does with the same blocks.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

POLICY_DOCUMENT_REF = re.compile(r"^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$")


def _single(values: list) -> Any:
    return values[0] if len(values) == 1 else values


def render_policy_document(data_source: Mapping[str, Any]) -> dict:
    """``data.aws_iam_policy_document`` statements (as cdktf synthesizes them) as policy JSON."""
    statements = []
    for st in data_source.get("statement", []) or []:
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect", "Allow")
        principals: dict[str, Any] = {}
        for block in st.get("principals", []) or []:
            principals[block["type"]] = _single(block["identifiers"])
        if principals:
            # The provider writes a lone {"*": "*"} as "*" (internal/service/iam/iam_policy_model.go,
            # IAMPolicyStatementPrincipalSet.MarshalJSON); {"AWS": "*"} stays as it is.
            out["Principal"] = "*" if principals == {"*": "*"} else principals
        for key, name in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if st.get(key):
                out[name] = _single(st[key])
        conditions: dict[str, dict[str, Any]] = {}
        for cond in st.get("condition", []) or []:
            conditions.setdefault(cond["test"], {})[cond["variable"]] = _single(cond.get("values", []))
        if conditions:
            out["Condition"] = conditions
        statements.append(out)
    return {"Version": data_source.get("version", "2012-10-17"), "Statement": statements}


def resolve_policy(stack: Mapping[str, Any], value: Any) -> dict:
    """The policy an attribute holds: a data-document reference or a literal JSON string."""
    if isinstance(value, str):
        ref = POLICY_DOCUMENT_REF.match(value.strip())
        if ref:
            return render_policy_document(stack["data"]["aws_iam_policy_document"][ref.group(1)])
        return json.loads(value)
    raise TypeError(f"not a policy: {value!r}")


def inline_policy_documents(stack: Mapping[str, Any]) -> dict:
    """A copy of the stack whose resources hold their policies as literal JSON strings.

    Scanners such as checkov read resource attributes only; inlining lets their IAM, KMS
    and bucket-policy checks see the real statements.
    """
    documents = stack.get("data", {}).get("aws_iam_policy_document", {})
    result = copy.deepcopy(dict(stack))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            ref = POLICY_DOCUMENT_REF.match(value.strip())
            if ref and ref.group(1) in documents:
                return json.dumps(render_policy_document(documents[ref.group(1)]))
        return value

    if "resource" in result:
        result["resource"] = walk(result["resource"])
    return result
