"""A Route 53 Resolver DNS Firewall on the VPC: the AWS names the environment needs, nothing else.

The VPC's resolver (AmazonProvidedDNS) answers every query of Studio apps and jobs, recursing to
the internet for names outside the VPC: a query for ``<data>.attacker.example`` carries data
out even where no packet can leave. The firewall answers NXDOMAIN to every name outside the
allowed list; the allowed list is the Region's AWS service names (the endpoints' private DNS
names, S3 and ECR layer downloads, CodeArtifact, the MLflow tracking server) and the VPC's own
host names, plus what the configuration adds (``network.dns_firewall_allowed_domains``).

Rules (Route 53 Developer Guide, "DNS Firewall rule settings"): priority 100 ALLOW the allowed
list, trusting CNAME redirections from those names (S3 and other AWS names answer with CNAMEs to
AWS names that no customer controls); priority 200 BLOCK ``*`` with NXDOMAIN. The rule group is
associated with the VPC (association priorities must lie strictly between 100 and 9900), the
VPC's firewall fails closed (``firewall_fail_open = DISABLED``: when the firewall cannot answer,
queries are refused, not let through), and every query of the VPC is logged to a KMS-encrypted
log group (Resolver query logging), blocked ones with the firewall's action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.route53_resolver_firewall_config import Route53ResolverFirewallConfig
from cdktf_cdktf_provider_aws.route53_resolver_firewall_domain_list import Route53ResolverFirewallDomainList
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule import Route53ResolverFirewallRule
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule_group import Route53ResolverFirewallRuleGroup
from cdktf_cdktf_provider_aws.route53_resolver_firewall_rule_group_association import (
    Route53ResolverFirewallRuleGroupAssociation,
)
from cdktf_cdktf_provider_aws.route53_resolver_query_log_config import Route53ResolverQueryLogConfig
from cdktf_cdktf_provider_aws.route53_resolver_query_log_config_association import (
    Route53ResolverQueryLogConfigAssociation,
)
from constructs import Construct

from isolated_studio.config.rules import LOG_RETENTION_DAYS, dns_domain_problems, partition
from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.props import name_tags, raise_for

ALLOW_PRIORITY = 100
BLOCK_PRIORITY = 200
ASSOCIATION_PRIORITY = 200  # AWS: greater than 100 and less than 9900
BLOCK_EVERYTHING = "*"
_DNS_SUFFIX = {"aws-cn": "amazonaws.com.cn"}


def aws_service_domains(region: str) -> list[str]:
    """The names the environment resolves, for ``region``.

    * ``*.<region>.<suffix>``: every regional AWS endpoint, so the interface endpoints' private
      DNS names (api.sagemaker..., sts..., logs..., <account>.dkr.ecr..., <domain>-<owner>.d.
      codeartifact...), S3 (``<bucket>.s3.<region>...``, ECR's layer bucket included);
    * ``*.<region>.experiments.sagemaker.aws`` (the MLflow tracking server's URL) and
      ``*.studio.<region>.sagemaker.aws`` (the domain's own URL);
    * the VPC's host names, ``*.compute.internal`` (``*.ec2.internal`` in us-east-1).

    AWS answers these names from its own zones, which no customer controls, so a query for them
    carries nothing to anyone's name server. Global names (``sts.amazonaws.com``,
    ``s3.amazonaws.com``) are left out: no endpoint in the VPC serves them.
    """
    suffix = _DNS_SUFFIX.get(partition(region), "amazonaws.com")
    return [
        f"*.{region}.{suffix}",
        f"*.{region}.experiments.sagemaker.aws",
        f"*.studio.{region}.sagemaker.aws",
        "*.compute.internal",
        "*.ec2.internal",
    ]


@dataclass(frozen=True)
class DnsFirewallProps:
    """Inputs of :class:`DnsFirewall`.

    allowed_domains: every name the VPC may resolve (``*.`` prefix for a name and its
        subdomains); everything else gets NXDOMAIN.
    log_retention_days: the query log's retention (a CloudWatch Logs value).
    account_id / partition: where the query log's key lives (tokens are fine).
    """

    name: str
    vpc_id: str
    region: str
    account_id: str
    partition: str
    allowed_domains: Sequence[str]
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = [f"allowed_domains: {p}" for p in dns_domain_problems(self.allowed_domains)]
        if not self.allowed_domains:
            found.append("allowed_domains: the VPC resolves nothing without the AWS service names")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            found.append(f"log_retention_days: {self.log_retention_days} is not a CloudWatch Logs retention value")
        if not self.name:
            found.append("name: must not be empty")
        return found


class DnsFirewall(Construct):
    """Attributes: ``allowed``, ``everything`` (domain lists), ``rule_group``, ``rules`` (by name),
    ``association``, ``config``, ``log_group``, ``query_log``."""

    def __init__(self, scope: Construct, id: str, *, props: DnsFirewallProps) -> None:
        raise_for("DnsFirewall", props.problems())
        super().__init__(scope, id)
        p, tags = props, dict(props.tags)
        self.allowed = Route53ResolverFirewallDomainList(
            self,
            "allowed-domains",
            name=f"{p.name}-allowed",
            domains=sorted(set(p.allowed_domains)),
            tags=name_tags(f"{p.name}-allowed", tags),
        )
        self.everything = Route53ResolverFirewallDomainList(
            self,
            "all-domains",
            name=f"{p.name}-everything-else",
            domains=[BLOCK_EVERYTHING],
            tags=name_tags(f"{p.name}-everything-else", tags),
        )
        self.rule_group = Route53ResolverFirewallRuleGroup(
            self,
            "rule-group",
            name=f"{p.name}-dns",
            tags=name_tags(f"{p.name}-dns", tags),
        )
        self.rules = {
            "allow-aws": Route53ResolverFirewallRule(
                self,
                "allow-aws",
                name="allow-aws-and-configured",
                action="ALLOW",
                priority=ALLOW_PRIORITY,
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=self.allowed.id,
                firewall_domain_redirection_action="TRUST_REDIRECTION_DOMAIN",
            ),
            "block-everything-else": Route53ResolverFirewallRule(
                self,
                "block-everything-else",
                name="block-everything-else",
                action="BLOCK",
                block_response="NXDOMAIN",
                priority=BLOCK_PRIORITY,
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=self.everything.id,
            ),
        }
        self.association = Route53ResolverFirewallRuleGroupAssociation(
            self,
            "association",
            name=f"{p.name}-dns",
            vpc_id=p.vpc_id,
            priority=ASSOCIATION_PRIORITY,
            firewall_rule_group_id=self.rule_group.id,
            # Not mutation-protected: Terraform could then neither change nor destroy it. Only the
            # platform team may change it: the execution role's guardrails deny route53resolver writes.
            mutation_protection="DISABLED",
            depends_on=list(self.rules.values()),  # never associated before its rules exist
            tags=name_tags(f"{p.name}-dns", tags),
        )
        self.config = Route53ResolverFirewallConfig(
            self,
            "fail-closed",
            resource_id=p.vpc_id,
            firewall_fail_open="DISABLED",
        )
        log_group_name = f"/vpc/{p.name}/dns-queries"
        key = EncryptionKey(
            self,
            "kms",
            props=EncryptionKeyProps(
                name=f"{p.name}-dns-queries",
                description=f"{p.name} Route 53 Resolver query logs",
                account_id=p.account_id,
                partition=p.partition,
                region=p.region,
                log_group_pattern=log_group_name,
                tags=tags,
            ),
        )
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=log_group_name,
            retention_in_days=p.log_retention_days,
            kms_key_id=key.key.arn,
            tags=name_tags(log_group_name, tags),
        )
        self.query_log = Route53ResolverQueryLogConfig(
            self,
            "query-log",
            name=f"{p.name}-dns-queries",
            destination_arn=self.log_group.arn,
            tags=name_tags(f"{p.name}-dns-queries", tags),
        )
        Route53ResolverQueryLogConfigAssociation(
            self,
            "query-log-association",
            resolver_query_log_config_id=self.query_log.id,
            resource_id=p.vpc_id,
        )
