"""The review shows what IAM, bucket and key policies grant, from the plan's resolved documents."""

from __future__ import annotations

import json
from typing import Any

from isolated_studio.ops.permissions import UNKNOWN, review_permissions
from isolated_studio.ops.plan_review import RunReview, render_run_report, review_plan

ROLE_ARN = "arn:aws:iam::111111111111:role/studio-exec"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def change(
    address: str,
    actions: list[str],
    before: dict | None,
    after: dict | None,
    after_unknown: dict | None = None,
    mode: str = "managed",
) -> dict[str, Any]:
    rtype = address.split(".")[-2] if mode == "managed" else address.split(".")[1]
    return {
        "address": address,
        "type": rtype,
        "name": address.split(".")[-1],
        "mode": mode,
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": after_unknown or {}},
    }


def plan(
    *changes: dict[str, Any], prior: list[dict[str, Any]] | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "prior_state": {"values": {"root_module": {"resources": prior or []}}},
        "configuration": configuration or {"root_module": {}},
    }


S3_READ = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::lab", "arn:aws:s3:::lab/*"],
}


def test_a_new_inline_policy_lists_every_statement_and_calls_out_wildcards_and_new_services():
    policy = doc(S3_READ, {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})
    review = review_permissions(
        plan(change("aws_iam_role_policy.exec", ["create"], None, {"role": "studio-exec", "policy": policy}))
    )

    [document] = review.documents
    assert (document.kind, document.action, document.subject) == ("inline policy", "create", "role `studio-exec`")
    assert [s.actions for s in document.granted] == [("s3:GetObject", "s3:ListBucket"), ("sagemaker:*",)]
    messages = [c.message for c in review.callouts]
    assert any("grants wildcard actions sagemaker:*" in m for m in messages)
    assert any("grants on wildcard resources *" in m for m in messages)
    assert any("arn:aws:s3:::lab/*" in m for m in messages)  # a wildcard in an ARN counts too
    assert any(m.startswith("new service `s3`") for m in messages)
    assert any(m.startswith("new service `sagemaker`") for m in messages)


def test_a_changed_bucket_policy_shows_granted_and_removed_statements_and_principal_star():
    tls_only = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::lab/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    public = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab/*"}
    review = review_permissions(
        plan(
            change(
                "aws_s3_bucket_policy.lab",
                ["update"],
                {"bucket": "lab", "policy": doc(tls_only)},
                {"bucket": "lab", "policy": doc(public)},
            )
        )
    )

    [document] = review.documents
    assert [s.effect for s in document.granted] == ["Allow"] and [s.effect for s in document.removed] == ["Deny"]
    assert document.removed[0].conditions == ("Bool aws:SecureTransport = false",)
    assert any("allows Principal * s3:GetObject with no condition" in c.message for c in review.callouts)
    # A bucket policy grants to principals, not to a role: no "new service" noise for it.
    assert not any(c.message.startswith("new service") for c in review.callouts)


def test_an_unchanged_document_is_not_listed():
    same = doc(S3_READ)
    review = review_permissions(
        plan(
            change(
                "aws_iam_policy.p",
                ["update"],
                {"name": "p", "policy": same, "tags": {}},
                {"name": "p", "policy": same, "tags": {"a": "b"}},
            )
        )
    )
    assert review.documents == ()


def test_services_the_state_already_grants_are_not_new():
    prior = [
        {
            "address": "aws_iam_role_policy.old",
            "type": "aws_iam_role_policy",
            "mode": "managed",
            "values": {"policy": doc(S3_READ)},
        }
    ]
    review = review_permissions(
        plan(
            change(
                "aws_iam_role_policy.exec",
                ["create"],
                None,
                {"role": "r", "policy": doc({**S3_READ, "Action": "s3:PutObject"})},
            ),
            prior=prior,
        )
    )
    assert not any(c.message.startswith("new service") for c in review.callouts)


def test_a_document_known_only_after_apply_comes_from_its_policy_document_data_source():
    data = change(
        "data.aws_iam_policy_document.exec",
        ["read"],
        None,
        {
            "statement": [
                {
                    "effect": "Allow",
                    "actions": ["iam:PassRole"],
                    "resources": [None],
                    "condition": [
                        {
                            "test": "StringEquals",
                            "variable": "iam:PassedToService",
                            "values": ["sagemaker.amazonaws.com"],
                        }
                    ],
                }
            ]
        },
        {"json": True, "statement": [{"resources": [True]}]},
        mode="data",
    )
    configuration = {
        "root_module": {
            "resources": [
                {
                    "address": "aws_iam_role_policy.exec",
                    "expressions": {
                        "policy": {
                            "references": [
                                "data.aws_iam_policy_document.exec.json",
                                "data.aws_iam_policy_document.exec",
                            ]
                        }
                    },
                }
            ]
        }
    }
    review = review_permissions(
        plan(
            change("aws_iam_role_policy.exec", ["create"], None, {"role": "studio-exec"}, {"policy": True}),
            data,
            configuration=configuration,
        )
    )

    [document] = review.documents
    [statement] = document.granted
    assert statement.actions == ("iam:PassRole",) and statement.resources == (UNKNOWN,)
    assert "from `data.aws_iam_policy_document.exec`" in document.note
    assert any(
        f"grants iam:PassRole on {UNKNOWN} when StringEquals iam:PassedToService = sagemaker.amazonaws.com" in c.message
        for c in review.callouts
    )


def test_role_trust_and_inline_policies_and_managed_attachments():
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}},
        }
    )
    role = change(
        "aws_iam_role.exec",
        ["create"],
        None,
        {
            "name": "studio-exec",
            "assume_role_policy": trust,
            "inline_policy": [{"name": "lab", "policy": doc(S3_READ)}],
        },
    )
    attach = change(
        "aws_iam_role_policy_attachment.full",
        ["create"],
        None,
        {"role": "studio-exec", "policy_arn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
    )
    review = review_permissions(plan(role, attach))

    kinds = [(d.address, d.kind) for d in review.documents]
    assert kinds == [
        ("aws_iam_role.exec", "trust policy"),
        ("aws_iam_role.exec", "inline policy `lab`"),
        ("aws_iam_role_policy_attachment.full", "policy attachment"),
    ]
    assert review.documents[0].granted[0].principals == ("Service: sagemaker.amazonaws.com",)
    assert any(
        "attaches the AWS managed policy `arn:aws:iam::aws:policy/AmazonSageMakerFullAccess` to role "
        "`studio-exec`" in c.message
        for c in review.callouts
    )


def test_a_destroyed_key_policy_lists_what_is_removed():
    key_policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}
    )
    review = review_permissions(plan(change("aws_kms_key.k", ["delete"], {"policy": key_policy}, None)))
    [document] = review.documents
    assert document.granted == () and document.removed[0].actions == ("kms:*",)
    assert review.callouts == ()  # nothing is granted by a destroy


def test_the_report_puts_permission_callouts_at_the_top_and_statements_per_stack():
    policy = doc({"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE_ARN})
    review = review_plan(
        "workload",
        plan(change("aws_iam_role_policy.exec", ["create"], None, {"role": "studio-exec", "policy": policy})),
    )
    report = render_run_report(RunReview((review,)))

    callouts = report.index("## Permission call-outs")
    assert callouts < report.index("## Summary") < report.index("### Permissions (1 policy documents)")
    assert f"`workload`: `aws_iam_role_policy.exec` (inline policy) grants iam:PassRole on {ROLE_ARN}" in report
    row = next(line for line in report.splitlines() if line.startswith("| granted |"))
    assert row == f"| granted | Allow | `iam:PassRole` | `{ROLE_ARN}` |  |  |"
