"""The VPC endpoint policies: what may pass through each endpoint, as plain IAM dicts.

Without a policy an endpoint has AWS's default, full access: anyone's credentials to anyone's
resources. These follow AWS's data-perimeter examples (aws-samples/data-perimeter-policy-examples,
vpc_endpoint_policies/): an endpoint policy grants nothing, it bounds what identity and resource
policies may allow through the endpoint, so every endpoint allows

* ``OurPrincipalsToOurResources``: principals of our account (``aws:PrincipalAccount``) to
  resources of our account (``aws:ResourceAccount``). A request without a resource account (a
  ``*`` resource: ``sts:GetCallerIdentity``, ``ecr:GetAuthorizationToken``, List calls...)
  passes through the ``IfExists`` form. ``Action`` is ``*`` as in AWS's examples: the endpoint
  policy also decides actions a service checks on the caller's behalf through the same request
  (CodeArtifact's own example lists ``sts:GetServiceBearerToken`` in its endpoint policy);

and only the endpoints that need it allow, besides, the AWS-owned resources of
policy/aws-owned-resources.toml (read-only):

* S3 gateway, ``AwsOwnedBuckets``: ECR's image-layer bucket (layers come through presigned URLs
  signed by an ECR account: no principal condition can hold) and CodeArtifact's asset bucket;
* ECR API and Docker, ``AwsImageRegistries``: pulls by our principals from the SageMaker image
  accounts, and ``TrustedImageRegistries`` from the accounts the configuration trusts for
  Studio's Docker (``workload.docker_trusted_accounts``).

Anonymous requests (no principal account), other accounts' credentials and our credentials to
other accounts' resources are refused at the endpoint. The same functions build the policies
the network stack deploys and the ones the perimeter scenarios evaluate.
"""

from __future__ import annotations

from collections.abc import Sequence

from modules.aws_owned import RegionalAwsOwned

ANY_PRINCIPAL = {"AWS": "*"}  # as "*" for AWS; written so, like the bucket policies (see secure_bucket.py)
ECR_KEYS = ("ecr.api", "ecr.dkr")
S3_GATEWAY = "s3-gateway"  # the gateway endpoint's key among the endpoints


def _doc(*statements: dict | None) -> dict:
    """The policy document of ``statements``; None is a statement left out (nothing to allow)."""
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s]}


def ours_statement(account: str) -> dict:
    return {
        "Sid": "OurPrincipalsToOurResources",
        "Effect": "Allow",
        "Principal": ANY_PRINCIPAL,
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalAccount": account},
            "StringEqualsIfExists": {"aws:ResourceAccount": account},
        },
    }


def _registries(
    sid: str, account: str, registries: Sequence[str], actions: Sequence[str], partition: str, region: str
) -> dict | None:
    if not registries:
        return None
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": ANY_PRINCIPAL,
        "Action": list(actions),
        "Resource": [f"arn:{partition}:ecr:{region}:{registry}:repository/*" for registry in sorted(set(registries))],
        "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
    }


def endpoint_policy(
    key: str,
    *,
    account: str,
    partition: str,
    region: str,
    aws_owned: RegionalAwsOwned,
    trusted_image_accounts: Sequence[str] = (),
) -> dict:
    """The policy of the endpoint ``key`` (an interface endpoint's short name, or ``s3-gateway``)."""
    statements: list[dict | None] = [ours_statement(account)]
    if key == S3_GATEWAY and aws_owned.buckets:
        statements.append(
            {
                "Sid": "AwsOwnedBuckets",
                "Effect": "Allow",
                "Principal": ANY_PRINCIPAL,
                "Action": aws_owned.actions("s3-bucket"),
                "Resource": aws_owned.bucket_object_arns(partition),
            }
        )
    if key in ECR_KEYS:
        read = aws_owned.actions("ecr-registry")
        statements.append(
            _registries("AwsImageRegistries", account, aws_owned.registry_accounts, read, partition, region)
        )
        trusted = [a for a in trusted_image_accounts if a != account]
        statements.append(_registries("TrustedImageRegistries", account, trusted, read, partition, region))
    return _doc(*statements)


def endpoint_policies(
    keys: Sequence[str],
    *,
    account: str,
    partition: str,
    region: str,
    aws_owned: RegionalAwsOwned,
    trusted_image_accounts: Sequence[str] = (),
) -> dict[str, dict]:
    """Every endpoint's policy: the S3 gateway's and one per interface endpoint key."""
    return {
        key: endpoint_policy(
            key,
            account=account,
            partition=partition,
            region=region,
            aws_owned=aws_owned,
            trusted_image_accounts=trusted_image_accounts,
        )
        for key in (S3_GATEWAY, *keys)
    }
