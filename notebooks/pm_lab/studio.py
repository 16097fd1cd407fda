"""AWS helpers the notebook needs inside the network-isolated SageMaker Studio.

Studio here has no internet: packages come from CodeArtifact, the MLflow
tracking server is reached through the ``aws.sagemaker.<region>.experiments``
endpoint, and ``@remote`` jobs must run in the domain's private subnets with
its security group. Every helper takes its boto3 client as an argument so
that tests can drive it with ``botocore.stub.Stubber``; none of them imports
MLflow, so the notebook can use this module before the pinned requirements
are installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pm_lab.errors import StudioError, TrackingServerError

#: Tag key the infrastructure puts on the MLflow tracking server; its value is
#: the SageMaker domain id. Studio uses the same association to show the
#: server to the domain's users; the notebook uses it to find the server.
TRACKING_SERVER_DOMAIN_TAG = "domain-id"
#: Written by SageMaker into every Studio app; holds the domain id.
STUDIO_METADATA_PATH = Path("/opt/ml/metadata/resource-metadata.json")
#: Where a laptop run looks for MLflow when no tracking URI is given.
DEFAULT_LOCAL_TRACKING_URI = "http://127.0.0.1:5000"

_TRACKING_SERVER_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"mlflow-tracking-server/(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))$"
)


@dataclass(frozen=True)
class TrackingServer:
    """The parts of a SageMaker MLflow tracking server the notebook uses."""

    name: str
    arn: str
    status: str
    is_active: str


@dataclass(frozen=True)
class DomainNetwork:
    """Where ``@remote`` jobs must run so they can reach the VPC endpoints."""

    domain_id: str
    vpc_id: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class CodeArtifactRepository:
    """The CodeArtifact repository that proxies PyPI for the isolated VPC."""

    domain: str
    repository: str
    owner: str
    region: str | None = None

    def __post_init__(self) -> None:
        _require_codeartifact_settings(
            domain=self.domain, repository=self.repository, owner=self.owner
        )


def _require_codeartifact_settings(**settings: str) -> None:
    """Name the CodeArtifact settings left empty in the parameters cell."""
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise StudioError(
            f"CodeArtifact {', '.join(missing)} not set: fill codeartifact_domain, "
            "codeartifact_repository (and optionally codeartifact_domain_owner) "
            "in the parameters cell."
        )


def read_studio_metadata(path: Path = STUDIO_METADATA_PATH) -> dict[str, Any] | None:
    """The Studio app's resource metadata, or None when not running in Studio."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def running_in_studio(path: Path = STUDIO_METADATA_PATH) -> bool:
    """True inside a SageMaker Studio app (its metadata file exists and parses)."""
    return read_studio_metadata(path) is not None


def studio_domain_id(path: Path = STUDIO_METADATA_PATH) -> str | None:
    """The domain id of the Studio app the kernel runs in, if any."""
    metadata = read_studio_metadata(path) or {}
    domain_id = metadata.get("DomainId")
    return str(domain_id) if domain_id else None


def parse_tracking_server_arn(arn: str) -> dict[str, str]:
    """Split a tracking server ARN into region, account and name, or raise."""
    match = _TRACKING_SERVER_ARN.match(arn.strip())
    if not match:
        raise TrackingServerError(
            f"{arn!r} is not a SageMaker MLflow tracking server ARN "
            "(arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>)."
        )
    return match.groupdict()


def _usable(server: TrackingServer) -> TrackingServer:
    """Return the server if it accepts requests, else explain how to fix it."""
    if server.is_active != "Active":
        raise TrackingServerError(
            f"MLflow tracking server {server.name} is {server.is_active} "
            f"(status {server.status}). Start it with `aws sagemaker "
            f"start-mlflow-tracking-server --tracking-server-name {server.name}` "
            "and wait until it is Active."
        )
    return server


def describe_tracking_server(sagemaker_client: Any, arn: str) -> TrackingServer:
    """Look up the configured tracking server by ARN and check it is active."""
    name = parse_tracking_server_arn(arn)["name"]
    from botocore.exceptions import ClientError

    try:
        response = sagemaker_client.describe_mlflow_tracking_server(TrackingServerName=name)
    except ClientError as exc:
        raise TrackingServerError(
            f"Cannot describe MLflow tracking server {name}: {exc}"
        ) from exc
    return _usable(
        TrackingServer(
            name=response["TrackingServerName"],
            arn=response["TrackingServerArn"],
            status=response.get("TrackingServerStatus", "Unknown"),
            is_active=response.get("IsActive", "Unknown"),
        )
    )


def find_tracking_server_for_domain(
    sagemaker_client: Any, domain_id: str, tag_key: str = TRACKING_SERVER_DOMAIN_TAG
) -> TrackingServer:
    """Find the one tracking server tagged ``tag_key = domain_id`` and check it is active.

    Used when no ARN is configured: the infrastructure tags the server with
    the domain id, so a user in that domain needs no configuration at all.
    """
    from botocore.exceptions import ClientError

    try:
        servers = _servers_with_tags(sagemaker_client)
    except ClientError as exc:
        raise TrackingServerError(
            f"Cannot look up the MLflow tracking server tagged {tag_key}={domain_id}: {exc}. "
            "Set tracking_server_arn in the parameters cell, or allow "
            "sagemaker:ListMlflowTrackingServers and sagemaker:ListTags on the server."
        ) from exc
    matches = [server for server, tags in servers if tags.get(tag_key) == domain_id]
    if not matches:
        seen = [server.name for server, _ in servers] or "none"
        raise TrackingServerError(
            f"No MLflow tracking server is tagged {tag_key}={domain_id} "
            f"(servers in this account and region: {seen}). "
            "Set tracking_server_arn or tracking_uri in the parameters cell."
        )
    if len(matches) > 1:
        raise TrackingServerError(
            f"Several MLflow tracking servers are tagged {tag_key}={domain_id}: "
            f"{[server.arn for server in matches]}. Set tracking_server_arn to choose one."
        )
    return _usable(matches[0])


def _servers_with_tags(sagemaker_client: Any) -> list[tuple[TrackingServer, dict[str, str]]]:
    """Every tracking server of the account and region, with its tags."""
    found = []
    for page in sagemaker_client.get_paginator("list_mlflow_tracking_servers").paginate():
        for summary in page.get("TrackingServerSummaries", []):
            server = TrackingServer(
                name=summary["TrackingServerName"],
                arn=summary["TrackingServerArn"],
                status=summary.get("TrackingServerStatus", "Unknown"),
                is_active=summary.get("IsActive", "Unknown"),
            )
            tags: dict[str, str] = {}
            for tag_page in sagemaker_client.get_paginator("list_tags").paginate(ResourceArn=server.arn):
                tags.update({tag["Key"]: tag["Value"] for tag in tag_page.get("Tags", [])})
            found.append((server, tags))
    return found


def resolve_tracking_uri(
    *,
    tracking_uri: str,
    tracking_server_arn: str,
    domain_id: str | None,
    on_aws: bool,
    sagemaker_client_factory: Callable[[], Any],
) -> str:
    """Decide which MLflow the notebook logs to.

    An explicit ``tracking_uri`` always wins. Outside AWS the default is a
    local ``mlflow server`` on port 5000. On AWS the configured
    ``tracking_server_arn`` is checked, else the server tagged for the
    domain is looked up; the ARN itself is the tracking URI (the
    ``sagemaker-mlflow`` plugin resolves and signs it). The client factory is
    only called on AWS, so laptop runs need no AWS credentials.
    """
    if tracking_uri.strip():
        return tracking_uri.strip()
    if not on_aws:
        return DEFAULT_LOCAL_TRACKING_URI
    client = sagemaker_client_factory()
    if tracking_server_arn.strip():
        return describe_tracking_server(client, tracking_server_arn).arn
    if not domain_id:
        raise TrackingServerError(
            "Cannot find the MLflow tracking server: no tracking_uri, no "
            "tracking_server_arn and no domain id (set domain_id in the parameters cell)."
        )
    return find_tracking_server_for_domain(client, domain_id).arn


def domain_network(sagemaker_client: Any, domain_id: str) -> DomainNetwork:
    """Subnets and security groups of the Studio domain, for ``@remote`` jobs.

    The security group is taken from the default user settings (what Studio
    apps use), falling back to the domain-level settings.
    """
    if not domain_id:
        raise StudioError(
            "Remote jobs need the SageMaker domain id to find its subnets and security "
            "groups: set domain_id in the parameters cell (Studio fills it in by itself)."
        )
    from botocore.exceptions import ClientError

    try:
        domain = sagemaker_client.describe_domain(DomainId=domain_id)
    except ClientError as exc:
        raise StudioError(f"Cannot describe SageMaker domain {domain_id}: {exc}") from exc
    subnets = tuple(domain.get("SubnetIds", []))
    groups = tuple(domain.get("DefaultUserSettings", {}).get("SecurityGroups", [])) or tuple(
        domain.get("DomainSettings", {}).get("SecurityGroupIds", [])
    )
    if not subnets or not groups:
        raise StudioError(
            f"SageMaker domain {domain_id} has subnets {list(subnets)} and security groups "
            f"{list(groups)}; remote jobs need both to run inside the VPC."
        )
    return DomainNetwork(
        domain_id=domain_id,
        vpc_id=domain.get("VpcId", ""),
        subnets=subnets,
        security_groups=groups,
    )


def resolve_domain_owner(sts_client: Any) -> str:
    """The current account id: the CodeArtifact domain owner when none is configured."""
    return str(sts_client.get_caller_identity()["Account"])


def codeartifact_repository(
    *,
    domain: str,
    repository: str,
    owner: str,
    region: str | None,
    sts_client_factory: Callable[[], Any],
) -> CodeArtifactRepository:
    """Build the repository settings from the parameters cell.

    Domain and repository are checked before any AWS call, so a forgotten
    setting fails at once; an empty owner means the current account.
    """
    _require_codeartifact_settings(domain=domain, repository=repository)
    return CodeArtifactRepository(
        domain=domain,
        repository=repository,
        owner=owner or resolve_domain_owner(sts_client_factory()),
        region=region,
    )


def codeartifact_login_command(repository: CodeArtifactRepository) -> list[str]:
    """``aws codeartifact login --tool pip`` for the repository, as an argv list.

    The same command runs in the kernel and, as a ``pre_execution_commands``
    entry, at the start of every ``@remote`` job, so each fetches its own
    short-lived token with its own role instead of shipping one.
    """
    command = [
        "aws",
        "codeartifact",
        "login",
        "--tool",
        "pip",
        "--domain",
        repository.domain,
        "--domain-owner",
        repository.owner,
        "--repository",
        repository.repository,
    ]
    if repository.region:
        command += ["--region", repository.region]
    return command


def codeartifact_login_shell(repository: CodeArtifactRepository) -> str:
    """The login command as one shell-quoted string (``pre_execution_commands`` format)."""
    return shlex.join(codeartifact_login_command(repository))


def codeartifact_pypi_endpoint(codeartifact_client: Any, repository: CodeArtifactRepository) -> str:
    """The repository's PyPI endpoint; fails early, with the reason, if it is unusable."""
    from botocore.exceptions import ClientError

    try:
        response = codeartifact_client.get_repository_endpoint(
            domain=repository.domain,
            domainOwner=repository.owner,
            repository=repository.repository,
            format="pypi",
        )
    except ClientError as exc:
        raise StudioError(
            f"CodeArtifact repository {repository.domain}/{repository.repository} "
            f"(owner {repository.owner}) is not usable: {exc}"
        ) from exc
    return str(response["repositoryEndpoint"])


def pip_login(repository: CodeArtifactRepository, run: Callable[..., Any] = subprocess.run) -> None:
    """Point pip at CodeArtifact for this kernel's environment (needs the AWS CLI)."""
    if shutil.which("aws") is None:
        raise StudioError("The AWS CLI (`aws`) is not on PATH; it is needed for CodeArtifact login.")
    result = run(codeartifact_login_command(repository), capture_output=True, text=True)
    if result.returncode != 0:
        raise StudioError(f"CodeArtifact login failed: {result.stderr.strip() or result.stdout.strip()}")


def pip_install_requirements(
    requirements: Path, run: Callable[..., Any] = subprocess.run
) -> None:
    """Install the lab's pinned requirements into the kernel's interpreter."""
    result = run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise StudioError(
            f"pip install -r {requirements} failed:\n{result.stderr.strip()[-2000:]}"
        )
