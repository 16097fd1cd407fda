"""Exclusive ownership of a role's inline policies and managed-policy attachments.

Terraform leaves alone what it did not create: an inline policy put on one of our roles, or a
managed policy attached to it, by hand is read into the role by every refresh and then
ignored by every plan. ``aws_iam_role_policies_exclusive`` and
``aws_iam_role_policy_attachments_exclusive`` (hashicorp/aws 5.x) name everything the role
may have; their Read lists what it has (ListRolePolicies, ListAttachedRolePolicies), so the
next plan shows an out-of-band grant as a change to them, and `make deploy` removes it
(DeleteRolePolicy, DetachRolePolicy: internal/service/iam/role_policies_exclusive.go and
role_policy_attachments_exclusive.go). Deleting them removes nothing (their Delete is a no-op).

The names and ARNs are given as references to the resources that make them, so that both
are created after every policy and attachment of the configuration exists: created first,
the inline one would find a configured policy missing and try to put it without a document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role_policies_exclusive import IamRolePoliciesExclusive
from cdktf_cdktf_provider_aws.iam_role_policy_attachments_exclusive import IamRolePolicyAttachmentsExclusive
from constructs import Construct

from modules.props import raise_for


@dataclass(frozen=True)
class ExclusiveRolePoliciesProps:
    """Inputs of :class:`ExclusiveRolePolicies`.

    role_name: the role (a reference to its ``name``).
    policy_names: every inline policy the role may have (references to the aws_iam_role_policy
        resources' ``name``); any other is deleted on deploy.
    policy_arns: every managed policy the role may have attached (references to the
        attachments' ``policy_arn``); empty: any attached one is detached on deploy.
    """

    role_name: str
    policy_names: Sequence[str]
    policy_arns: Sequence[str] = ()

    def problems(self) -> list[str]:
        found = []
        if not self.role_name:
            found.append("role_name: must not be empty")
        for key in ("policy_names", "policy_arns"):
            values = list(getattr(self, key))
            if len(set(values)) != len(values):
                found.append(f"{key}: listed twice: {sorted({v for v in values if values.count(v) > 1})}")
        return found


class ExclusiveRolePolicies(Construct):
    """Attributes: ``inline`` (aws_iam_role_policies_exclusive), ``attachments``
    (aws_iam_role_policy_attachments_exclusive)."""

    def __init__(self, scope: Construct, id: str, *, props: ExclusiveRolePoliciesProps) -> None:
        raise_for("ExclusiveRolePolicies", props.problems())
        super().__init__(scope, id)
        self._names = list(props.policy_names)
        self.inline = IamRolePoliciesExclusive(self, "inline", role_name=props.role_name, policy_names=self._names)
        self.attachments = IamRolePolicyAttachmentsExclusive(
            self, "attachments", role_name=props.role_name, policy_arns=list(props.policy_arns)
        )

    def add_policy_name(self, name: str) -> None:
        """One more inline policy the role may have (one added after the construct, e.g. once a domain exists)."""
        self._names.append(name)
        self.inline.policy_names = list(self._names)
