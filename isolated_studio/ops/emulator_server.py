"""moto's server with two of its answers made AWS's: the emulator `make emulator` and the tests run.

Terraform's AWS provider sends a request again when the SDK retries it (a connection error, a
slow answer), and counts on AWS to answer a repeat as AWS documents. moto answers two repeats
otherwise, and once in CI each left the emulator unlike any AWS account:

- CreateVpcEndpoint with a ClientToken already used: AWS returns the endpoint that token
  created ("ClientToken: Unique, case-sensitive identifier that you provide to ensure the
  idempotency of the request", EC2 API Reference, CreateVpcEndpoint); moto created a second
  endpoint, which no state holds and which has the default full-access policy (the audit found
  it as a breach).
- RevokeSecurityGroupIngress/Egress naming a SecurityGroupRuleId that no longer exists: AWS
  answers InvalidSecurityGroupRuleId.NotFound, which the provider takes as "already deleted"
  (vpc_security_group_ingress_rule.go, Delete); moto answered InvalidPermission.NotFound, and
  the destroy failed.

Nothing else of moto changes. ``python -m isolated_studio.ops.emulator_server`` takes
moto_server's arguments (-H, -p).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

_lock = threading.Lock()


def make_moto_answer_as_aws() -> None:
    """Patch moto's EC2 backend in this process (before its server starts)."""
    from moto.ec2.exceptions import InvalidSecurityGroupRuleIdNotFoundError
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.ec2.models.vpcs import VPCBackend

    create_vpc_endpoint = VPCBackend.create_vpc_endpoint

    def idempotent_create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        client_token = kwargs.get("client_token")
        with _lock:  # a repeat arrives after the first answer, but two at once must not both create
            if client_token:
                for endpoint in list(self.vpc_end_points.values()):
                    if endpoint.client_token == client_token and endpoint.state != "deleted":
                        return endpoint
            return create_vpc_endpoint(self, *args, **kwargs)

    VPCBackend.create_vpc_endpoint = idempotent_create_vpc_endpoint  # type: ignore[method-assign]

    for direction in ("ingress", "egress"):
        revoke = getattr(SecurityGroupBackend, f"revoke_security_group_{direction}")

        def revoke_by_rule_id(
            self: Any,
            group_name_or_id: str,
            *args: Any,
            _revoke: Any = revoke,
            _direction: str = direction,
            **kwargs: Any,
        ) -> Any:
            rule_ids = kwargs.get("security_rule_ids")
            group = self.get_security_group_by_name_or_id(group_name_or_id, kwargs.get("vpc_id"))
            if rule_ids and group is not None:
                known = {rule.id for rule in getattr(group, f"{_direction}_rules")}
                unknown = [rule_id for rule_id in rule_ids if rule_id not in known]
                if unknown:
                    raise InvalidSecurityGroupRuleIdNotFoundError(unknown[0])
            return _revoke(self, group_name_or_id, *args, **kwargs)

        setattr(SecurityGroupBackend, f"revoke_security_group_{direction}", revoke_by_rule_id)


def main(argv: Sequence[str] | None = None) -> None:
    make_moto_answer_as_aws()
    from moto.server import main as moto_server

    moto_server(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
