"""CodeArtifact: the only way to `pip install` from inside the isolated VPC."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.codeartifact_domain import CodeartifactDomain
from cdktf_cdktf_provider_aws.codeartifact_repository import (
    CodeartifactRepository,
    CodeartifactRepositoryExternalConnections,
    CodeartifactRepositoryUpstream,
)
from cdktf_cdktf_provider_aws.data_aws_codeartifact_repository_endpoint import (
    DataAwsCodeartifactRepositoryEndpoint,
)
from constructs import Construct

from modules.props import raise_for

_DOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")


@dataclass(frozen=True)
class PypiMirrorProps:
    """Inputs of :class:`PypiMirror`.

    A repository takes one external connection, so ``upstream_repository`` holds
    ``public:pypi`` and ``repository`` (what users log in to) uses it as upstream.
    """

    domain_name: str
    repository: str
    upstream_repository: str
    kms_key_arn: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not _DOMAIN_RE.match(self.domain_name):
            found.append(f"domain_name: {self.domain_name!r} must be 2-50 lowercase letters, digits and hyphens")
        for key in ("repository", "upstream_repository"):
            if not _REPO_RE.match(getattr(self, key)):
                found.append(f"{key}: {getattr(self, key)!r} must be 2-100 letters, digits, '.', '_' or '-'")
        if self.repository == self.upstream_repository:
            found.append("upstream_repository: must differ from repository")
        return found


class PypiMirror(Construct):
    """Attributes: ``domain``, ``upstream``, ``repository``, ``endpoint`` (the pip index URL)."""

    def __init__(self, scope: Construct, id: str, *, props: PypiMirrorProps) -> None:
        raise_for("PypiMirror", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        self.domain = CodeartifactDomain(
            self, "domain", domain=props.domain_name, encryption_key=props.kms_key_arn, tags=tags
        )
        self.upstream = CodeartifactRepository(
            self,
            "upstream",
            domain=self.domain.domain,
            repository=props.upstream_repository,
            description="Public PyPI, fetched by CodeArtifact on behalf of the isolated VPC",
            external_connections=CodeartifactRepositoryExternalConnections(external_connection_name="public:pypi"),
            tags=tags,
        )
        self.repository = CodeartifactRepository(
            self,
            "repository",
            domain=self.domain.domain,
            repository=props.repository,
            description="The lab's pip index (upstream: public PyPI)",
            upstream=[CodeartifactRepositoryUpstream(repository_name=self.upstream.repository)],
            tags=tags,
        )
        self.endpoint = DataAwsCodeartifactRepositoryEndpoint(
            self, "endpoint", domain=self.domain.domain, repository=self.repository.repository, format="pypi"
        ).repository_endpoint
