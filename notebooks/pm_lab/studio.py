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

from pm_lab.errors import KernelRestartRequired, StudioError, TrackingServerError

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
        _require_codeartifact_settings(domain=self.domain, repository=self.repository, owner=self.owner)


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
        raise TrackingServerError(f"Cannot describe MLflow tracking server {name}: {exc}") from exc
    return _usable(
        TrackingServer(
            name=response["TrackingServerName"],
            arn=response["TrackingServerArn"],
            status=response.get("TrackingServerStatus", "Unknown"),
            is_active=response.get("IsActive", "Unknown"),
        )
    )


def resolve_tracking_uri(
    *,
    tracking_uri: str,
    tracking_server_arn: str,
    on_aws: bool,
    sagemaker_client_factory: Callable[[], Any],
) -> str:
    """Decide which MLflow the notebook logs to.

    An explicit ``tracking_uri`` always wins. Outside AWS the default is a
    local ``mlflow server`` on port 5000. On AWS the ``tracking_server_arn``
    (the settings file's, which the start script writes) is checked; the ARN
    itself is the tracking URI (the ``sagemaker-mlflow`` plugin resolves and
    signs it). The client factory is only called on AWS, so laptop runs need
    no AWS credentials.
    """
    if tracking_uri.strip():
        return tracking_uri.strip()
    if not on_aws:
        return DEFAULT_LOCAL_TRACKING_URI
    if not tracking_server_arn.strip():
        raise TrackingServerError(
            "Cannot find the MLflow tracking server: no tracking_uri and no tracking_server_arn. In Studio "
            "the lab settings file (~/.isolated-studio/settings.json, written at each JupyterLab start) "
            "names it; restart the app, or set tracking_server_arn in the parameters cell (the "
            "workload stack's mlflow_tracking_server_arn output)."
        )
    return describe_tracking_server(sagemaker_client_factory(), tracking_server_arn).arn


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


#: Distribution name -> module name, where they differ (requirements.txt's packages).
_MODULE_NAMES = {"scikit-learn": "sklearn", "sagemaker-mlflow": "sagemaker_mlflow"}


def _pinned_requirements(requirements: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (comments and other lines skipped)."""
    pins = {}
    for line in requirements.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def _installed_version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _imported_before(pins: dict[str, str]) -> dict[str, str | None]:
    """The requirements this kernel has already imported, with the version installed now."""
    return {
        name: _installed_version(name)
        for name in pins
        if _MODULE_NAMES.get(name, name.replace("-", "_")) in sys.modules
    }


def pip_install_requirements(
    requirements: Path, run: Callable[..., Any] = subprocess.run, echo: Callable[[str], Any] = print
) -> None:
    """Install the lab's pinned requirements into the kernel's interpreter, showing pip's output.

    pip's whole output is shown (no ``--quiet``): a dependency conflict with
    the image's other packages is printed there and nowhere else. When pip
    replaced a package this kernel had already imported (boto3, say, which
    the old module objects keep using), :class:`KernelRestartRequired` stops
    the notebook: restart the kernel and run it again; that install then
    changes nothing.
    """
    pins = _pinned_requirements(requirements)
    loaded = _imported_before(pins)
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
    )
    output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part and part.strip())
    if output:
        echo(output)
    if result.returncode != 0:
        raise StudioError(f"pip install -r {requirements} failed (exit {result.returncode}); pip's output is above.")
    changed = {
        name: (before, _installed_version(name))
        for name, before in loaded.items()
        if _installed_version(name) != before
    }
    if changed:
        listed = ", ".join(f"{name} {before or '-'} -> {after}" for name, (before, after) in changed.items())
        raise KernelRestartRequired(
            f"pip replaced packages this kernel had already imported ({listed}): restart the "
            "kernel (Kernel > Restart Kernel) and run the notebook again from the top; the "
            "install then finds everything in place."
        )


def caller_account_id(run: Callable[..., Any] = subprocess.run) -> str:
    """The current account, from ``aws sts get-caller-identity`` (the CLI: boto3 is not yet installed)."""
    if shutil.which("aws") is None:
        raise StudioError("The AWS CLI (`aws`) is not on PATH; set codeartifact_domain_owner instead.")
    result = run(
        ["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"],
        capture_output=True,
        text=True,
    )
    account = result.stdout.strip()
    if result.returncode != 0 or not re.fullmatch(r"\d{12}", account):
        raise StudioError(
            "Cannot find the account id for the CodeArtifact domain owner: "
            f"{result.stderr.strip() or account or 'no answer'}. Set codeartifact_domain_owner."
        )
    return account


class _CliSts:
    """The one STS call the notebook needs before boto3 is installed, made with the AWS CLI."""

    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": caller_account_id()}


def cli_sts_client() -> Any:
    """An ``sts_client_factory`` for :func:`codeartifact_repository` that does not import boto3."""
    return _CliSts()


def job_network(
    *,
    subnet_ids: tuple[str, ...],
    security_group_ids: tuple[str, ...],
    domain_id: str,
    sagemaker_client_factory: Callable[[], Any],
) -> DomainNetwork:
    """Where ``@remote`` jobs run: the settings file's subnets and group, else the domain's.

    With the settings file (Studio) no AWS call is needed; without it the
    domain is described (``sagemaker:DescribeDomain``).
    """
    if subnet_ids and security_group_ids:
        return DomainNetwork(
            domain_id=domain_id, vpc_id="", subnets=tuple(subnet_ids), security_groups=tuple(security_group_ids)
        )
    return domain_network(sagemaker_client_factory(), domain_id)


#: How long the presigned MLflow UI link may wait to be opened (AWS allows 5 to 300 s).
UI_URL_EXPIRES_SECONDS = 300
#: How long the UI session it opens lasts (AWS allows 1,800 to 43,200 s).
UI_SESSION_SECONDS = 12 * 3600


def mlflow_ui_url(tracking_uri: str, sagemaker_client_factory: Callable[[], Any]) -> str:
    """A link to the MLflow UI of ``tracking_uri``.

    For a SageMaker tracking server (an ARN) a presigned URL
    (``sagemaker:CreatePresignedMlflowTrackingServerUrl``), to open in the
    browser within five minutes; for an ``http(s)://`` server the URL itself.
    """
    if not tracking_uri.startswith("arn:"):
        return tracking_uri
    name = parse_tracking_server_arn(tracking_uri)["name"]
    from botocore.exceptions import ClientError

    try:
        response = sagemaker_client_factory().create_presigned_mlflow_tracking_server_url(
            TrackingServerName=name,
            ExpiresInSeconds=UI_URL_EXPIRES_SECONDS,
            SessionExpirationDurationInSeconds=UI_SESSION_SECONDS,
        )
    except ClientError as exc:
        raise TrackingServerError(f"Cannot create a link to the MLflow UI of {name}: {exc}") from exc
    return str(response["AuthorizedUrl"])
