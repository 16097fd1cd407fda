"""One list of deliberately bad stacks, run through every gate that should refuse them.

Each ``bad_*`` resource breaks one rule. tests/unit/checks/test_isolation.py runs the isolation gate
(isolated_studio/checks/isolation.py) over these stacks and tests/integration/checks/test_policy_checkov.py runs
checkov with the CKV_STUDIO checks; both read the expectations below, so a rule that one gate
enforces and the other forgets shows up as a failing test. The JSON is what cdktf
synthesizes for these resources (an unset property is left out).
"""

from __future__ import annotations

import json
from pathlib import Path

ANY = "0.0.0.0/0"
REF_SG = "${aws_security_group.studio.id}"


def inline_rule(**overrides) -> dict:
    """A complete inline security group rule, as cdktf synthesizes one."""
    rule = {
        "cidr_blocks": [],
        "description": "",
        "from_port": 443,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "tcp",
        "security_groups": [],
        "self": False,
        "to_port": 443,
    }
    rule.update(overrides)
    return rule


def tls_deny(bucket: str) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [f"${{aws_s3_bucket.{bucket}.arn}}", f"${{aws_s3_bucket.{bucket}.arn}}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def domain(**overrides) -> dict:
    body = {
        "domain_name": "d",
        "auth_mode": "IAM",
        "app_network_access_type": "VpcOnly",
        "kms_key_id": "${aws_kms_key.k.arn}",
        "vpc_id": "${aws_vpc.v.id}",
        "subnet_ids": ["${aws_subnet.s.id}"],
        "default_user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]},
        "default_space_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]},
        "domain_settings": {"security_group_ids": [REF_SG]},
    }
    body.update(overrides)
    return body


ACCOUNT = "${data.aws_caller_identity.account.account_id}"
CALLER = {"aws_caller_identity": {"account": {}}}


def endpoint(service: str, kind: str = "Interface") -> dict:
    body = {
        "vpc_id": "${aws_vpc.v.id}",
        "service_name": f"com.amazonaws.us-west-2.{service}",
        "vpc_endpoint_type": kind,
    }
    if kind == "Interface":
        body.update(private_dns_enabled=True, subnet_ids=["${aws_subnet.s.id}"], security_group_ids=[REF_SG])
    else:
        body["route_table_ids"] = ["${aws_route_table.r.id}"]
    return body


def ours(**extra) -> dict:
    """The endpoint statement of modules/endpoint_policies.py: our principals to our resources."""
    return {
        "Sid": "OurPrincipalsToOurResources",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
            "StringEqualsIfExists": {"aws:ResourceAccount": ACCOUNT},
        },
        **extra,
    }


def endpoint_only(bucket: str, role: str = "${aws_iam_role.exec.arn}", **condition) -> dict:
    return {
        "Sid": "DenyOutsideOurEndpoint",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket*"],
        "Resource": [f"${{aws_s3_bucket.{bucket}.arn}}", f"${{aws_s3_bucket.{bucket}.arn}}/*"],
        "Condition": condition
        or {
            "ArnEquals": {"aws:PrincipalArn": role},
            "StringNotEquals": {"aws:SourceVpce": "${aws_vpc_endpoint.s3.id}"},
        },
    }


def grant(bucket: str, role: str = "${aws_iam_role.exec.arn}") -> dict:
    return {
        "Sid": "LabRolesReadWrite",
        "Effect": "Allow",
        "Principal": {"AWS": role},
        "Action": "s3:GetObject",
        "Resource": f"${{aws_s3_bucket.{bucket}.arn}}/*",
    }


def firewall(vpc: str, group: str = "g") -> dict:
    return {
        "vpc_id": f"${{aws_vpc.{vpc}.id}}",
        "firewall_rule_group_id": f"${{aws_route53_resolver_firewall_rule_group.{group}.id}}",
        "priority": 200,
        "name": vpc,
    }


# stack name -> resources ("data": its data sources); the "bad_*" resources must fail the expected
# check, the "good_*" ones not.
BAD_STACKS: dict[str, dict] = {
    "internet-path": {
        "aws_internet_gateway": {"bad_igw": {"vpc_id": "${aws_vpc.v.id}"}},
        "aws_internet_gateway_attachment": {
            "bad_igw_attachment": {"vpc_id": "${aws_vpc.v.id}", "internet_gateway_id": "igw-1"}
        },
        "aws_eip_association": {
            "bad_eip_association": {"allocation_id": "eipalloc-1", "network_interface_id": "eni-1"}
        },
        "aws_vpn_gateway": {"bad_vgw": {"vpc_id": "${aws_vpc.v.id}"}},
        "aws_customer_gateway": {"bad_cgw": {"bgp_asn": "65000", "ip_address": "198.51.100.1", "type": "ipsec.1"}},
        "aws_egress_only_internet_gateway": {"bad_eigw": {"vpc_id": "${aws_vpc.v.id}"}},
        "aws_nat_gateway": {"bad_nat": {"subnet_id": "${aws_subnet.s.id}", "allocation_id": "${aws_eip.bad_eip.id}"}},
        "aws_eip": {"bad_eip": {"domain": "vpc"}},
    },
    "routes": {
        "aws_route": {
            "bad_default": {
                "route_table_id": "${aws_route_table.good_local.id}",
                "destination_cidr_block": ANY,
                "gateway_id": "${aws_internet_gateway.igw.id}",
            },
            "bad_default_v6": {
                "route_table_id": "${aws_route_table.good_local.id}",
                "destination_ipv6_cidr_block": "::/0",
                "gateway_id": "${aws_vpc_endpoint.e.id}",
            },
            "good_peer": {
                "route_table_id": "${aws_route_table.good_local.id}",
                "destination_cidr_block": "10.20.0.0/16",
                "vpc_peering_connection_id": "${aws_vpc_peering_connection.p.id}",
            },
        },
        "aws_route_table": {
            "bad_inline": {
                "vpc_id": "${aws_vpc.v.id}",
                "route": [{"cidr_block": ANY, "gateway_id": "${aws_internet_gateway.igw.id}"}],
            },
            "good_local": {"vpc_id": "${aws_vpc.v.id}"},
            "good_inline_peer": {
                "vpc_id": "${aws_vpc.v.id}",
                "route": [
                    {"cidr_block": "10.20.0.0/16", "vpc_peering_connection_id": "${aws_vpc_peering_connection.p.id}"}
                ],
            },
        },
        "aws_default_route_table": {
            "bad_default_table": {
                "default_route_table_id": "${aws_vpc.v.default_route_table_id}",
                "route": [{"ipv6_cidr_block": "::/0", "egress_only_gateway_id": "eigw-1"}],
            },
        },
    },
    "security-groups": {
        "aws_vpc_security_group_egress_rule": {
            "bad_open_egress": {"security_group_id": REF_SG, "cidr_ipv4": ANY, "ip_protocol": "-1"},
            "good_vpc_egress": {
                "security_group_id": REF_SG,
                "cidr_ipv4": "10.10.0.0/16",
                "ip_protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
            },
        },
        "aws_vpc_security_group_ingress_rule": {
            "bad_open_ingress_v6": {
                "security_group_id": REF_SG,
                "cidr_ipv6": "::/0",
                "ip_protocol": "tcp",
                "from_port": 8192,
                "to_port": 65535,
            },
        },
        "aws_security_group_rule": {
            "bad_rule": {
                "type": "egress",
                "security_group_id": REF_SG,
                "cidr_blocks": ["10.0.0.0/8", ANY],
                "protocol": "-1",
                "from_port": 0,
                "to_port": 0,
            },
        },
        "aws_security_group": {
            "bad_inline": {
                "vpc_id": "${aws_vpc.v.id}",
                "description": "open egress",
                "egress": [inline_rule(cidr_blocks=[ANY], protocol="-1", from_port=0, to_port=0)],
            },
            "bad_inline_ingress_v6": {
                "vpc_id": "${aws_vpc.v.id}",
                "description": "open ingress",
                "ingress": [inline_rule(ipv6_cidr_blocks=["::/0"])],
                "egress": [],
            },
            "good_inline": {
                "vpc_id": "${aws_vpc.v.id}",
                "description": "vpc only",
                "ingress": [inline_rule(cidr_blocks=["10.10.0.0/16"])],
                "egress": [],
            },
        },
        "aws_default_security_group": {
            # A VPC's default security group allows all egress unless Terraform manages it.
            "bad_default_sg": {
                "vpc_id": "${aws_vpc.v.id}",
                "egress": [inline_rule(cidr_blocks=[ANY], protocol="-1", from_port=0, to_port=0)],
            },
        },
    },
    "subnets": {
        "aws_subnet": {
            "bad_public_ips": {
                "vpc_id": "${aws_vpc.v.id}",
                "cidr_block": "10.10.0.0/24",
                "map_public_ip_on_launch": True,
            },
            "good_private": {
                "vpc_id": "${aws_vpc.v.id}",
                "cidr_block": "10.10.1.0/24",
                "map_public_ip_on_launch": False,
            },
        },
    },
    "endpoints": {
        # Inline endpoint policies (the endpoint's `policy` argument), ours: only private DNS is at fault here.
        "data": CALLER,
        "aws_vpc_endpoint": {
            "bad_no_private_dns": {
                "vpc_id": "${aws_vpc.v.id}",
                "service_name": "com.amazonaws.us-west-2.sts",
                "vpc_endpoint_type": "Interface",
                "private_dns_enabled": False,
                "subnet_ids": ["${aws_subnet.s.id}"],
                "security_group_ids": [REF_SG],
                "policy": policy(ours()),
            },
            "bad_private_dns_unset": {
                "vpc_id": "${aws_vpc.v.id}",
                "service_name": "com.amazonaws.us-west-2.logs",
                "vpc_endpoint_type": "Interface",
                "subnet_ids": ["${aws_subnet.s.id}"],
                "security_group_ids": [REF_SG],
                "policy": policy(ours()),
            },
            "good_private_dns": {
                "vpc_id": "${aws_vpc.v.id}",
                "service_name": "com.amazonaws.us-west-2.ec2",
                "vpc_endpoint_type": "Interface",
                "private_dns_enabled": True,
                "subnet_ids": ["${aws_subnet.s.id}"],
                "security_group_ids": [REF_SG],
                "policy": policy(ours()),
            },
            "good_gateway": {
                "vpc_id": "${aws_vpc.v.id}",
                "service_name": "com.amazonaws.us-west-2.s3",
                "vpc_endpoint_type": "Gateway",
                "route_table_ids": ["${aws_route_table.r.id}"],
                "policy": policy(ours()),
            },
        },
    },
    "sagemaker": {
        "aws_sagemaker_domain": {
            "bad_public": domain(
                app_network_access_type="PublicInternetOnly",
                kms_key_id=None,
                default_space_settings=None,
                domain_settings=None,
            ),
            "bad_access_type_unset": domain(app_network_access_type=None),
            "bad_user_sg_only": domain(
                default_space_settings={"execution_role": "${aws_iam_role.r.arn}"},
                domain_settings={"security_group_ids": []},
            ),
            "good_isolated": domain(),
        },
        "aws_sagemaker_user_profile": {
            "bad_cleared_sgs": {
                "domain_id": "${aws_sagemaker_domain.good_isolated.id}",
                "user_profile_name": "a",
                "user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": []},
            },
            "good_own_sgs": {
                "domain_id": "${aws_sagemaker_domain.good_isolated.id}",
                "user_profile_name": "b",
                "user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]},
            },
            "good_inherits": {"domain_id": "${aws_sagemaker_domain.good_isolated.id}", "user_profile_name": "c"},
        },
        "aws_sagemaker_mlflow_tracking_server": {
            "bad_http_store": {
                "tracking_server_name": "a",
                "artifact_store_uri": "https://example.com/mlflow",
                "role_arn": "${aws_iam_role.r.arn}",
            },
            "bad_no_role": {"tracking_server_name": "b", "artifact_store_uri": "s3://bucket/mlflow"},
            "good_s3": {
                "tracking_server_name": "c",
                "artifact_store_uri": "s3://${aws_s3_bucket.b.bucket}/mlflow",
                "role_arn": "${aws_iam_role.r.arn}",
            },
        },
    },
    "bucket-policies": {
        "aws_s3_bucket_policy": {
            "bad_allow_only": {
                "bucket": "${aws_s3_bucket.b.id}",
                "policy": policy(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "${aws_iam_role.r.arn}"},
                        "Action": "s3:GetObject",
                        "Resource": "${aws_s3_bucket.b.arn}/*",
                    }
                ),
            },
            "bad_wrong_condition": {
                "bucket": "${aws_s3_bucket.b.id}",
                "policy": policy({**tls_deny("b"), "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
            },
            "bad_expression": {"bucket": "${aws_s3_bucket.b.id}", "policy": "${data.aws_iam_policy_document.p.json}"},
            "good_tls_only": {"bucket": "${aws_s3_bucket.b.id}", "policy": policy(tls_deny("b"))},
        },
    },
    "perimeter-endpoints": {
        "data": CALLER,
        "aws_vpc_endpoint": {
            "bad_no_policy": endpoint("sts"),
            "bad_open_policy": endpoint("logs"),
            "bad_any_resource_account": endpoint("ecr.dkr"),
            "bad_open_gateway": endpoint("s3", "Gateway"),
            "good_ours": endpoint("ec2"),
            "good_gateway_aws_owned": endpoint("s3", "Gateway"),
        },
        "aws_vpc_endpoint_policy": {
            # AWS's default policy, written out: anyone's credentials, anyone's resources.
            "bad_open": {
                "vpc_endpoint_id": "${aws_vpc_endpoint.bad_open_policy.id}",
                "policy": policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
            },
            # Our principals, but to any account's resources (their own bucket, their own registry).
            "bad_resources": {
                "vpc_endpoint_id": "${aws_vpc_endpoint.bad_any_resource_account.id}",
                "policy": policy({**ours(), "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}),
            },
            # Anonymous and foreign writes: an AWS-owned-looking exception that allows PutObject anywhere.
            "bad_gateway": {
                "vpc_endpoint_id": "${aws_vpc_endpoint.bad_open_gateway.id}",
                "policy": policy(
                    ours(),
                    {
                        "Sid": "AwsOwnedBuckets",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": "arn:aws:s3:::*/*",
                    },
                ),
            },
            "good_policy": {"vpc_endpoint_id": "${aws_vpc_endpoint.good_ours.id}", "policy": policy(ours())},
            "good_gateway_policy": {
                "vpc_endpoint_id": "${aws_vpc_endpoint.good_gateway_aws_owned.id}",
                "policy": policy(
                    ours(),
                    {
                        "Sid": "AwsOwnedBuckets",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
                    },
                ),
            },
        },
    },
    "perimeter-buckets": {
        "aws_sagemaker_domain": {
            "good_domain": domain(
                default_user_settings={"execution_role": "${aws_iam_role.exec.arn}", "security_groups": [REF_SG]}
            )
        },
        "aws_s3_bucket_policy": {
            "bad_anywhere": {"bucket": "${aws_s3_bucket.open.id}", "policy": policy(tls_deny("open"), grant("open"))},
            # Refuses requests from outside *some* endpoint only if they say so: IfExists-free
            # StringEquals is false without the key, so a request from the internet passes.
            "bad_wrong_operator": {
                "bucket": "${aws_s3_bucket.wrong.id}",
                "policy": policy(
                    tls_deny("wrong"),
                    grant("wrong"),
                    endpoint_only(
                        "wrong",
                        ArnEquals={"aws:PrincipalArn": "${aws_iam_role.exec.arn}"},
                        StringEquals={"aws:SourceVpc": "${aws_vpc.v.id}"},
                    ),
                ),
            },
            "good_endpoint_only": {
                "bucket": "${aws_s3_bucket.lab.id}",
                "policy": policy(tls_deny("lab"), grant("lab"), endpoint_only("lab")),
            },
        },
    },
    "perimeter-dns": {
        "aws_vpc": {
            "bad_no_firewall": {"cidr_block": "10.30.0.0/16"},
            "good_firewalled": {"cidr_block": "10.31.0.0/16"},
        },
        "aws_route53_resolver_firewall_domain_list": {
            "allowed": {"name": "allowed", "domains": ["*.us-west-2.amazonaws.com"]},
            "everything": {"name": "everything", "domains": ["*"]},
        },
        "aws_route53_resolver_firewall_rule_group": {"g": {"name": "g"}},
        "aws_route53_resolver_firewall_rule": {
            "allow": {
                "name": "allow",
                "action": "ALLOW",
                "priority": 100,
                "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.g.id}",
                "firewall_domain_list_id": "${aws_route53_resolver_firewall_domain_list.allowed.id}",
            },
            "block": {
                "name": "block",
                "action": "BLOCK",
                "block_response": "NXDOMAIN",
                "priority": 200,
                "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.g.id}",
                "firewall_domain_list_id": "${aws_route53_resolver_firewall_domain_list.everything.id}",
            },
        },
        "aws_route53_resolver_firewall_rule_group_association": {"good_association": firewall("good_firewalled")},
        "aws_route53_resolver_firewall_config": {
            "bad_fail_open": {"resource_id": "${aws_vpc.bad_no_firewall.id}", "firewall_fail_open": "ENABLED"},
            "good_fail_closed": {"resource_id": "${aws_vpc.good_firewalled.id}", "firewall_fail_open": "DISABLED"},
        },
    },
    "built-in": {
        # No encryption, no public access block, no versioning...: built-in checks fail it.
        "aws_s3_bucket": {"bad_plain": {"bucket": "plain-bucket"}},
    },
}

# (stack, resource address) -> the check that must fail on it
EXPECTED_FAILURES: list[tuple[str, str, str]] = [
    ("internet-path", "aws_internet_gateway.bad_igw", "CKV_STUDIO_1"),
    ("internet-path", "aws_egress_only_internet_gateway.bad_eigw", "CKV_STUDIO_1"),
    ("internet-path", "aws_nat_gateway.bad_nat", "CKV_STUDIO_1"),
    ("internet-path", "aws_eip.bad_eip", "CKV_STUDIO_1"),
    ("internet-path", "aws_internet_gateway_attachment.bad_igw_attachment", "CKV_STUDIO_1"),
    ("internet-path", "aws_eip_association.bad_eip_association", "CKV_STUDIO_1"),
    ("internet-path", "aws_vpn_gateway.bad_vgw", "CKV_STUDIO_1"),
    ("internet-path", "aws_customer_gateway.bad_cgw", "CKV_STUDIO_1"),
    ("routes", "aws_route.bad_default", "CKV_STUDIO_2"),
    ("routes", "aws_route.bad_default_v6", "CKV_STUDIO_2"),
    ("routes", "aws_route_table.bad_inline", "CKV_STUDIO_2"),
    ("routes", "aws_default_route_table.bad_default_table", "CKV_STUDIO_2"),
    ("security-groups", "aws_vpc_security_group_egress_rule.bad_open_egress", "CKV_STUDIO_3"),
    ("security-groups", "aws_vpc_security_group_ingress_rule.bad_open_ingress_v6", "CKV_STUDIO_3"),
    ("security-groups", "aws_security_group_rule.bad_rule", "CKV_STUDIO_3"),
    ("security-groups", "aws_security_group.bad_inline", "CKV_STUDIO_3"),
    ("security-groups", "aws_security_group.bad_inline_ingress_v6", "CKV_STUDIO_3"),
    ("security-groups", "aws_default_security_group.bad_default_sg", "CKV_STUDIO_3"),
    ("subnets", "aws_subnet.bad_public_ips", "CKV_AWS_130"),  # built-in: subnet assigns public IPs
    ("endpoints", "aws_vpc_endpoint.bad_no_private_dns", "CKV_STUDIO_4"),
    ("endpoints", "aws_vpc_endpoint.bad_private_dns_unset", "CKV_STUDIO_4"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_STUDIO_5"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_STUDIO_6"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_AWS_187"),  # built-in: no KMS key
    ("sagemaker", "aws_sagemaker_domain.bad_access_type_unset", "CKV_STUDIO_5"),
    ("sagemaker", "aws_sagemaker_domain.bad_user_sg_only", "CKV_STUDIO_6"),
    ("sagemaker", "aws_sagemaker_user_profile.bad_cleared_sgs", "CKV_STUDIO_7"),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.bad_http_store", "CKV_STUDIO_8"),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.bad_no_role", "CKV_STUDIO_8"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_allow_only", "CKV_STUDIO_9"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_wrong_condition", "CKV_STUDIO_9"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_expression", "CKV_STUDIO_9"),
    ("built-in", "aws_s3_bucket.bad_plain", "CKV_AWS_145"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_allow_only", "CKV_STUDIO_10"),
    ("perimeter-endpoints", "aws_vpc_endpoint.bad_no_policy", "CKV2_STUDIO_1"),
    ("perimeter-endpoints", "aws_vpc_endpoint_policy.bad_open", "CKV_STUDIO_11"),
    ("perimeter-endpoints", "aws_vpc_endpoint_policy.bad_resources", "CKV_STUDIO_11"),
    ("perimeter-endpoints", "aws_vpc_endpoint_policy.bad_gateway", "CKV_STUDIO_11"),
    ("perimeter-buckets", "aws_s3_bucket_policy.bad_anywhere", "CKV_STUDIO_10"),
    ("perimeter-buckets", "aws_s3_bucket_policy.bad_wrong_operator", "CKV_STUDIO_10"),
    ("perimeter-dns", "aws_vpc.bad_no_firewall", "CKV2_STUDIO_2"),
    ("perimeter-dns", "aws_route53_resolver_firewall_config.bad_fail_open", "CKV_STUDIO_12"),
]

# Checks that must NOT fail on the good counterparts (same resource types as the bad ones).
GOOD_RESOURCES: list[tuple[str, str, tuple[str, ...]]] = [
    ("routes", "aws_route.good_peer", ("CKV_STUDIO_2",)),
    ("routes", "aws_route_table.good_local", ("CKV_STUDIO_2",)),
    ("routes", "aws_route_table.good_inline_peer", ("CKV_STUDIO_2",)),
    ("subnets", "aws_subnet.good_private", ("CKV_AWS_130",)),
    ("security-groups", "aws_vpc_security_group_egress_rule.good_vpc_egress", ("CKV_STUDIO_3",)),
    ("security-groups", "aws_security_group.good_inline", ("CKV_STUDIO_3",)),
    ("endpoints", "aws_vpc_endpoint.good_private_dns", ("CKV_STUDIO_4",)),
    ("endpoints", "aws_vpc_endpoint.good_gateway", ("CKV_STUDIO_4",)),
    ("sagemaker", "aws_sagemaker_domain.good_isolated", ("CKV_STUDIO_5", "CKV_STUDIO_6", "CKV_AWS_187")),
    ("sagemaker", "aws_sagemaker_domain.bad_user_sg_only", ("CKV_STUDIO_5",)),
    ("sagemaker", "aws_sagemaker_user_profile.good_own_sgs", ("CKV_STUDIO_7",)),
    ("sagemaker", "aws_sagemaker_user_profile.good_inherits", ("CKV_STUDIO_7",)),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.good_s3", ("CKV_STUDIO_8",)),
    ("bucket-policies", "aws_s3_bucket_policy.good_tls_only", ("CKV_STUDIO_9", "CKV_STUDIO_10")),
    ("perimeter-endpoints", "aws_vpc_endpoint.good_ours", ("CKV2_STUDIO_1",)),
    ("perimeter-endpoints", "aws_vpc_endpoint_policy.good_policy", ("CKV_STUDIO_11",)),
    ("perimeter-endpoints", "aws_vpc_endpoint_policy.good_gateway_policy", ("CKV_STUDIO_11",)),
    ("perimeter-buckets", "aws_s3_bucket_policy.good_endpoint_only", ("CKV_STUDIO_9", "CKV_STUDIO_10")),
    ("perimeter-dns", "aws_vpc.good_firewalled", ("CKV2_STUDIO_2",)),
    ("perimeter-dns", "aws_route53_resolver_firewall_config.good_fail_closed", ("CKV_STUDIO_12",)),
]


def stack_document(resources: dict) -> dict:
    """A minimal cdk.tf.json; attributes set to None are left out (like an unset cdktf property)."""

    def prune(value):
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    resources = dict(resources)
    data = resources.pop("data", None)
    doc = {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
        "provider": {"aws": [{"region": "us-west-2"}]},
        "resource": prune(resources),
    }
    if data:
        doc["data"] = data
    return doc


def write_stack(directory: Path, resources: dict) -> Path:
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(stack_document(resources), indent=2))
    return directory


# (stack, resource address) -> what the isolation gate says about it. Every bad resource that
# opens a path to or from the internet is here; the other bad resources (bucket policies,
# MLflow, user profiles) break rules that only the policy gate checks.
ISOLATION_FAILURES: list[tuple[str, str, str]] = [
    ("internet-path", "aws_internet_gateway.bad_igw", "internet gateway is never allowed"),
    (
        "internet-path",
        "aws_internet_gateway_attachment.bad_igw_attachment",
        "internet gateway attachment is never allowed",
    ),
    ("internet-path", "aws_egress_only_internet_gateway.bad_eigw", "egress-only internet gateway is never allowed"),
    ("internet-path", "aws_nat_gateway.bad_nat", "NAT gateway is never allowed"),
    ("internet-path", "aws_eip.bad_eip", "elastic IP is never allowed"),
    ("internet-path", "aws_eip_association.bad_eip_association", "elastic IP association is never allowed"),
    ("internet-path", "aws_vpn_gateway.bad_vgw", "VPN gateway is never allowed"),
    ("internet-path", "aws_customer_gateway.bad_cgw", "customer gateway is never allowed"),
    ("routes", "aws_route.bad_default", "default route to ['0.0.0.0/0']"),
    ("routes", "aws_route.bad_default_v6", "default route to ['::/0']"),
    ("routes", "aws_route_table.bad_inline", "inline default route to ['0.0.0.0/0']"),
    ("routes", "aws_default_route_table.bad_default_table", "inline default route to ['::/0']"),
    ("security-groups", "aws_vpc_security_group_egress_rule.bad_open_egress", "rule open to ['0.0.0.0/0']"),
    ("security-groups", "aws_vpc_security_group_ingress_rule.bad_open_ingress_v6", "rule open to ['::/0']"),
    ("security-groups", "aws_security_group_rule.bad_rule", "rule open to ['0.0.0.0/0']"),
    ("security-groups", "aws_security_group.bad_inline", "egress rule open to ['0.0.0.0/0']"),
    ("security-groups", "aws_security_group.bad_inline_ingress_v6", "ingress rule open to ['::/0']"),
    ("security-groups", "aws_default_security_group.bad_default_sg", "egress rule open to ['0.0.0.0/0']"),
    ("subnets", "aws_subnet.bad_public_ips", "subnet assigns public IPs"),
    ("endpoints", "aws_vpc_endpoint.bad_no_private_dns", "interface endpoint without private DNS"),
    ("endpoints", "aws_vpc_endpoint.bad_private_dns_unset", "interface endpoint without private DNS"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "domain is not VpcOnly"),
    ("sagemaker", "aws_sagemaker_domain.bad_access_type_unset", "domain is not VpcOnly"),
    (
        "perimeter-endpoints",
        "aws_vpc_endpoint.bad_no_policy",
        "no endpoint policy: AWS's default policy gives every principal full access through it",
    ),
    (
        "perimeter-endpoints",
        "aws_vpc_endpoint_policy.bad_open",
        "statement 0: allows principals of any account ['*'] on ['*']; only reads of named AWS-owned resources may be open to them",
    ),
    (
        "perimeter-endpoints",
        "aws_vpc_endpoint_policy.bad_resources",
        "statement OurPrincipalsToOurResources: lets our principals reach any account's resources (no aws:ResourceAccount)",
    ),
    (
        "perimeter-endpoints",
        "aws_vpc_endpoint_policy.bad_gateway",
        "statement AwsOwnedBuckets: allows principals of any account ['s3:GetObject', 's3:PutObject'] on ['arn:aws:s3:::*/*']; "
        "only reads of named AWS-owned resources may be open to them",
    ),
    (
        "perimeter-buckets",
        "aws_s3_bucket_policy.bad_anywhere",
        "does not refuse ['${aws_iam_role.exec.arn}'] outside a VPC endpoint (a Deny of the data actions under "
        "StringNotEquals aws:SourceVpce): copied credentials read it from anywhere",
    ),
    (
        "perimeter-buckets",
        "aws_s3_bucket_policy.bad_wrong_operator",
        "does not refuse ['${aws_iam_role.exec.arn}'] outside a VPC endpoint (a Deny of the data actions under "
        "StringNotEquals aws:SourceVpce): copied credentials read it from anywhere",
    ),
    (
        "perimeter-dns",
        "aws_vpc.bad_no_firewall",
        "no DNS firewall rule group is associated (queries reach any name server)",
    ),
    (
        "perimeter-dns",
        "aws_route53_resolver_firewall_config.bad_fail_open",
        "the DNS firewall fails open (firewall_fail_open = ENABLED): when it cannot answer, every query passes",
    ),
]


def good_addresses() -> list[tuple[str, str]]:
    """Every good_* resource of the bad stacks: no gate may refuse it for isolation."""
    return [
        (stack, f"{rtype}.{name}")
        for stack, resources in BAD_STACKS.items()
        for rtype, items in resources.items()
        if rtype != "data"
        for name in items
        if name.startswith("good_")
    ]
