"""What AWS (and the stacks) accept for each setting: constants and problem finders.

Each finder takes a value (and, for a setting that depends on earlier ones of its section,
those validated values) and returns the problems with it, worded for the person editing the
file; isolated_studio/config/model.py attaches them to the settings they check.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import aws_constraints

CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_ENV = "dev"
DEFAULT_REGION = "us-west-2"

# The fixed credential the provider, the S3 backend and our own clients present to the
# emulator (moto accepts any; "test" is what its documentation uses).
EMULATOR_CREDENTIAL = "test"
#: Terraform variable by which the workflow tells the emulator's workload guard (modules/emulator_guard.py)
#: that its whole-stack plan is for the review only and never applied.
EMULATOR_PLAN_ONLY_VARIABLE = "emulator_whole_stack_plan_only"

# Interface endpoints Studio in VpcOnly mode can use. The value is the service name
# template; "experiments" (SageMaker managed MLflow) lives under a different namespace.
ENDPOINT_SERVICES: dict[str, str] = {
    "sagemaker.api": "com.amazonaws.{region}.sagemaker.api",
    "sagemaker.runtime": "com.amazonaws.{region}.sagemaker.runtime",
    "experiments": "aws.sagemaker.{region}.experiments",
    "codeartifact.api": "com.amazonaws.{region}.codeartifact.api",
    "codeartifact.repositories": "com.amazonaws.{region}.codeartifact.repositories",
    "sts": "com.amazonaws.{region}.sts",
    "ecr.api": "com.amazonaws.{region}.ecr.api",
    "ecr.dkr": "com.amazonaws.{region}.ecr.dkr",
    "logs": "com.amazonaws.{region}.logs",
    "monitoring": "com.amazonaws.{region}.monitoring",
    "ec2": "com.amazonaws.{region}.ec2",
    "kms": "com.amazonaws.{region}.kms",
    "ssm": "com.amazonaws.{region}.ssm",
    "sagemaker.featurestore-runtime": "com.amazonaws.{region}.sagemaker.featurestore-runtime",
    "servicecatalog": "com.amazonaws.{region}.servicecatalog",
    "elasticfilesystem": "com.amazonaws.{region}.elasticfilesystem",
    "s3": "com.amazonaws.{region}.s3",
}

# The seed's list (../shared/seed/FACTS.md): what Studio, MLflow, @remote jobs and pip need.
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "sagemaker.api",
    "sagemaker.runtime",
    "experiments",
    "codeartifact.api",
    "codeartifact.repositories",
    "sts",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "monitoring",
    "ec2",
)
REQUIRED_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts")

# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
LockMode = Literal["dynamodb", "lockfile", "both"]
IamMode = Literal["managed", "least-privilege"]
MlflowSize = Literal["Small", "Medium", "Large"]
TrafficType = Literal["ALL", "ACCEPT", "REJECT"]
LOCK_MODES: tuple[str, ...] = get_args(LockMode)
IAM_MODES: tuple[str, ...] = get_args(IamMode)
MLFLOW_SIZES: tuple[str, ...] = get_args(MlflowSize)
TRAFFIC_TYPES: tuple[str, ...] = get_args(TrafficType)
INSTANCE_TYPES_DEFAULT = "ml.t3.medium"

# Patterns that are also exported in the JSON Schema: plain syntax both Python and the
# editors' (ECMAScript) regular expressions read the same way.
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"
PREFIX_PATTERN = r"^[a-z](-?[a-z0-9])+$"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
PROFILE_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
MLFLOW_VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"
MAINTENANCE_PATTERN = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01][0-9]|2[0-3]):[0-5][0-9]$"
IMAGE_VERSION_PATTERN = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"
CA_DOMAIN_PATTERN = r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$"
CA_REPO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$"
URL_PATTERN = r"^https?://[^/\s]+/?$"

ACCOUNT_ID_RE = re.compile(ACCOUNT_PATTERN)

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_STATE_KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,512}$")
_MLFLOW_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_S3_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,200}$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

Problems = list  # of messages, or (absolute key path, message) for a problem another key shows


def _matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


def carve_subnets(vpc_cidr: str, prefix_length: int, count: int) -> tuple[str, ...]:
    network = ipaddress.ip_network(vpc_cidr)
    subnets = network.subnets(new_prefix=prefix_length)
    return tuple(str(next(subnets)) for _ in range(count))


# --------------------------------------------------------------------------- project


def environment_problems(value: str) -> Problems:
    if not _matches(ENVIRONMENT_PATTERN, value):
        return [f"{value!r} must be 1-16 lowercase letters, digits or hyphens"]
    return []


def name_prefix_problems(value: str) -> Problems:
    if not value:
        return ["must not be empty (it names every resource)"]
    if not (3 <= len(value) <= 24 and _matches(PREFIX_PATTERN, value)):
        return [
            f"{value!r} must be 3-24 characters of lowercase letters, digits and single hyphens, starting "
            "with a letter (it becomes part of bucket, role and domain names)"
        ]
    return []


def account_id_problems(value: str | None) -> Problems:
    if value is not None and not _matches(ACCOUNT_PATTERN, value):
        return [f"{value!r} must be 12 digits"]
    return []


def region_problems(value: str) -> Problems:
    if not _matches(REGION_PATTERN, value):
        return [
            f"{value!r} (from project.region, AWS_REGION or AWS_DEFAULT_REGION) is not an AWS region name like us-west-2"
        ]
    return aws_constraints.region_problems(value, ())


def partition(region: str) -> str:
    """The ARN partition of a region (what ``data.aws_partition`` answers there): botocore's
    endpoint data, else (a region newer than the lock) what its name says."""
    known = aws_constraints.partition_of(region)
    if known:
        return known
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    iso = re.match(r"^[a-z]{2}-iso([a-z]?)-", region)
    if iso:
        return f"aws-iso-{iso.group(1)}" if iso.group(1) else "aws-iso"
    return "aws"


def project_region_problems(value: str | None) -> Problems:
    if value is not None and not _matches(REGION_PATTERN, value):
        return [f"{value!r} is not an AWS region name like us-west-2"]
    return aws_constraints.region_problems(value, ()) if value is not None else []


#: The tags the stacks add to every resource through the provider's default_tags (stacks/base.py).
DEFAULT_TAG_KEYS = ("Environment", "StudioPrefix")


def tags_problems(tags: Mapping[str, str]) -> Problems:
    """Each tag as every service the stacks tag accepts it (botocore's tag shapes), and no more
    than an S3 object takes with the provider's default tags: every lab upload carries them all."""
    problems: Problems = [
        (f"tags.{key}", problem) for key, value in tags.items() for problem in aws_constraints.tag_problems(key, value)
    ]
    total = len(set(tags) | set(DEFAULT_TAG_KEYS))
    limit = aws_constraints.S3_OBJECT_MAX_TAGS
    if total > limit:
        own = limit - len(set(DEFAULT_TAG_KEYS) - set(tags))
        problems.append(
            f"{len(tags)} tags and the provider's default tags {' and '.join(DEFAULT_TAG_KEYS)} make "
            f"{total} on every resource; S3 takes at most {limit} on an object, so every lab upload "
            f"would fail: keep at most {own} of your own"
        )
    return problems


# --------------------------------------------------------------------------- network


def _vpc(data: Mapping[str, Any]) -> ipaddress.IPv4Network | None:
    """The validated VPC network of this section, when it is valid."""
    try:
        return ipaddress.IPv4Network(data["vpc_cidr"], strict=True)
    except (KeyError, ValueError):
        return None


def vpc_cidr_problems(value: str) -> Problems:
    try:
        vpc = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return [f"{value!r} is not a valid IPv4 network CIDR ({exc})"]
    if not isinstance(vpc, ipaddress.IPv4Network):
        return [f"{value!r} must be IPv4"]
    if not 16 <= vpc.prefixlen <= 28:
        return [f"{value!r} prefix must be between /16 and /28 (AWS VPC limits)"]
    if not any(vpc.subnet_of(r) for r in _RFC1918):
        return [f"{value!r} must be inside a private range (10/8, 172.16/12, 192.168/16)"]
    return []


def az_count_problems(value: int) -> Problems:
    if value < 2:
        return [f"{value} is fewer than 2; a SageMaker domain needs subnets in at least two AZs"]
    if value > 6:
        return [f"{value} is more than 6, the most availability zones any region has (us-east-1): one subnet per zone"]
    return []


#: An availability zone ID (the same physical zone in every account, unlike its name): the
#: region's short code, "-az" and a number, e.g. use1-az4, apne1-az1, cac1-az2 (EC2 user guide,
#: "AZ IDs"). Local and Wavelength Zone IDs (use1-bos1-az1) are not for a domain's subnets.
AZ_ID_PATTERN = r"^[a-z]{2,}[0-9]-az[0-9]+$"
_DIRECTIONS = {
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
}


def zone_id_prefix(region: str) -> str | None:
    """The prefix of the region's AZ IDs (ap-northeast-1 -> apne1, us-gov-west-1 -> usgw1)."""
    parts = region.split("-")
    if len(parts) < 3 or not parts[-1].isdigit():
        return None
    words = [("g" if p == "gov" else _DIRECTIONS.get(p)) for p in parts[1:-1]]
    return None if None in words else parts[0] + "".join(words) + parts[-1]  # type: ignore[arg-type]


def availability_zone_ids_problems(value: Sequence[str], data: Mapping[str, Any]) -> Problems:
    if not value:
        return []
    problems: Problems = []
    if "az_count" in data and len(value) != data["az_count"]:
        problems.append(f"{len(value)} given but az_count is {data['az_count']}")
    problems += [
        f"{az!r} is not an availability zone ID such as 'use1-az4' (AZ names and letters differ "
        "between accounts; IDs do not: `aws ec2 describe-availability-zones` lists both)"
        for az in value
        if not _matches(AZ_ID_PATTERN, az)
    ]
    if len(set(value)) != len(value):
        problems.append("contains duplicates")
    return problems


def subnet_cidrs_problems(value: Sequence[str], data: Mapping[str, Any]) -> Problems:
    if not value:
        return []
    problems: Problems = []
    if "az_count" in data and len(value) != data["az_count"]:
        problems.append(f"{len(value)} given but az_count is {data['az_count']}")
    vpc = _vpc(data)
    parsed = []
    for cidr in value:
        try:
            sub = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            problems.append(f"{cidr!r} is not a valid IPv4 network CIDR ({exc})")
            continue
        if not 16 <= sub.prefixlen <= 28:
            problems.append(f"{cidr} prefix must be between /16 and /28")
        if vpc is not None and (sub.version != 4 or not sub.subnet_of(vpc)):
            problems.append(f"{cidr} is not inside the VPC {data['vpc_cidr']}")
        parsed.append(sub)
    for i, a in enumerate(parsed):
        for b in parsed[i + 1 :]:
            if a.version == b.version and a.overlaps(b):
                problems.append(f"{a} and {b} overlap")
    return problems


def subnet_prefix_length_problems(value: int, data: Mapping[str, Any]) -> Problems:
    if not 16 <= value <= 28:
        return [f"/{value} must be between /16 and /28"]
    vpc = _vpc(data)
    if vpc is None or data.get("subnet_cidrs") or "az_count" not in data:
        return []  # explicit subnets (or a bad VPC CIDR, reported there) make the length moot
    if value < vpc.prefixlen:
        return [f"/{value} is larger than the VPC {data['vpc_cidr']}"]
    if 2 ** (value - vpc.prefixlen) < data["az_count"]:
        return [f"{data['az_count']} subnets of /{value} do not fit in {data['vpc_cidr']}"]
    return []


def interface_endpoints_problems(value: Sequence[str]) -> Problems:
    problems: Problems = []
    unknown = [e for e in value if e not in ENDPOINT_SERVICES]
    if unknown:
        problems.append(f"unknown service(s) {unknown}; known: {sorted(ENDPOINT_SERVICES)}")
    if len(set(value)) != len(value):
        problems.append("contains duplicates")
    problems += [
        f"{needed!r} is required for Studio in VpcOnly mode" for needed in REQUIRED_ENDPOINTS if needed not in value
    ]
    return problems


def flow_log_retention_days_problems(value: int) -> Problems:
    if value not in LOG_RETENTION_DAYS:
        return [f"{value} is not a CloudWatch Logs retention value ({sorted(LOG_RETENTION_DAYS)})"]
    return []


# A DNS Firewall domain (Route 53 Developer Guide, "Managing your own domain lists"): a name,
# or "*." and a name for its subdomains; 1-255 characters (botocore: FirewallDomainName).
_DNS_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
DNS_DOMAIN_PATTERN = rf"^(\*\.)?({_DNS_LABEL}\.)+{_DNS_LABEL}$"


def dns_domain_problems(value: Sequence[str]) -> Problems:
    """Names the DNS Firewall allows: each a valid domain, specific enough not to reopen DNS."""
    problems: Problems = []
    for domain in value:
        name = domain.rstrip(".").lower()
        bare = name.removeprefix("*.")
        if domain != domain.lower():
            problems.append(f"{domain!r} must be lower case (DNS Firewall compares names as written)")
        elif name == "*" or re.fullmatch(_DNS_LABEL, bare) or bare in _PUBLIC_SUFFIXES:
            problems.append(
                f"{domain!r} is a whole top-level or public domain: it would let DNS queries carry data to "
                "any name server under it; name your own domain"
            )
        elif len(name) > 255 or not re.match(DNS_DOMAIN_PATTERN, name):
            problems.append(
                f"{domain!r} is not a domain name like 'pypi.example.com' or '*.corp.example.com' "
                "(letters, digits, '-' and '_' in dot-separated labels; '*.' only in front)"
            )
    dupes = sorted({d for d in value if value.count(d) > 1})
    if dupes:
        problems.append(f"duplicate domain(s) {dupes}")
    return problems


# Suffixes under which anyone can register a name (a few common ones: a tunnel needs only one).
_PUBLIC_SUFFIXES = frozenset({"co.uk", "com.au", "co.jp", "com.br", "com.cn", "co.in", "github.io", "herokuapp.com"})


# --------------------------------------------------------------------------- state


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would reject this bucket name, or None."""
    if not _BUCKET_RE.match(name):
        return "must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain adjacent dots or a dot next to a hyphen"
    if _IPV4_RE.match(name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", "--x-s3", ".mrap")
    ):
        return "uses a prefix or suffix that S3 reserves"
    return None


def bucket_problems(value: str) -> Problems:
    why = bucket_name_problem(value)
    return [f"{value!r} {why}"] if why else []


def lock_table_problems(value: str) -> Problems:
    if not _TABLE_RE.match(value):
        return [f"{value!r} must be 3-255 characters of letters, digits, '_', '-' and '.'"]
    return []


def key_prefix_problems(value: str) -> Problems:
    if not _STATE_KEY_RE.match(value) or value.startswith("/") or value.endswith("/"):
        return [f"{value!r} must be an S3 key prefix without leading or trailing '/'"]
    return []


def bootstrap_state_path_problems(value: str) -> Problems:
    if not value or Path(value).is_absolute() or ".." in Path(value).parts:
        return [f"{value!r} must be a relative path inside the project"]
    return []


# --------------------------------------------------------------------------- workload


def user_profiles_problems(value: Sequence[str]) -> Problems:
    if not value:
        return ["at least one user profile is needed"]
    problems: Problems = [
        f"{name!r} must be 1-63 letters, digits and hyphens, starting with a letter or digit"
        for name in value
        if not _matches(PROFILE_PATTERN, name)
    ]
    dupes = sorted({n for n in value if value.count(n) > 1})
    if dupes:
        problems.append(f"duplicate name(s) {dupes}")
    return problems


def docker_trusted_accounts_problems(value: Sequence[str]) -> Problems:
    return [f"{a!r} must be a 12-digit account id" for a in value if not _matches(ACCOUNT_PATTERN, a)]


def instance_type_problems(value: str) -> Problems:
    if not _matches(INSTANCE_TYPE_PATTERN, value):
        return [f"{value!r} is not a SageMaker instance type like ml.t3.medium"]
    return []


def noncurrent_days_problems(value: int) -> Problems:
    return [] if 1 <= value <= 3650 else ["must be between 1 and 3650"]


def mlflow_server_name_problems(value: str) -> Problems:
    return [] if _MLFLOW_NAME_RE.match(value) else [f"{value!r} must be letters, digits and hyphens"]


#: The lab's pinned client libraries; the tracking server's version must match its mlflow pin.
LAB_REQUIREMENTS = PROJECT_ROOT / "notebooks" / "requirements.txt"


def lab_mlflow_pin(requirements: Path = LAB_REQUIREMENTS) -> str | None:
    """The ``mlflow==X.Y.Z`` version the lab's requirements pin, if any."""
    try:
        match = re.search(r"^mlflow==(\d+\.\d+\.\d+)\s*$", requirements.read_text(), re.M)
    except OSError:
        return None
    return match.group(1) if match else None


def mlflow_version_problems(value: str) -> Problems:
    """SageMaker takes major.minor only: CreateMlflowTrackingServer answers "The provided MLflow
    version is not supported" to "2.16.2". The lab's client (notebooks/requirements.txt) must be
    of the same minor release, or its calls may fail against the server."""
    if re.match(r"^\d+\.\d+\.\d+$", value):
        minor = value.rsplit(".", 1)[0]
        return [
            f"{value!r} is a patch version; SageMaker accepts major.minor only "
            f"(it answers 'The provided MLflow version is not supported'): use {minor!r}"
        ]
    if not _matches(MLFLOW_VERSION_PATTERN, value):
        return [f"{value!r} must look like 2.16 (major.minor)"]
    pin = lab_mlflow_pin()
    if pin and not pin.startswith(value + "."):
        return [
            f"{value!r} does not match the lab's client mlflow=={pin} (notebooks/requirements.txt): "
            f"use {pin.rsplit('.', 1)[0]!r}, or change the lab's mlflow and sagemaker-mlflow pins with it"
        ]
    return []


# --------------------------------------------------------------------------- the Studio image

#: The SageMaker Distribution image JupyterLab runs, and the accounts that own it in each region
#: (AWS's table, with its source: sagemaker_distribution_images.json).
STUDIO_IMAGES_PATH = Path(__file__).with_name("sagemaker_distribution_images.json")
#: The image version the lab's pins were verified against (tests/data/sagemaker-distribution/).
STUDIO_IMAGE_VERSION_DEFAULT = "4.4.1"


@functools.cache
def studio_images() -> dict[str, Any]:
    return json.loads(STUDIO_IMAGES_PATH.read_text())


def studio_images_source() -> str:
    source = studio_images()["source"]
    return f"the SageMaker AI Developer Guide's {source['title']!r}, read {source['read']}"


def documented_studio_image_arn(region: str) -> str | None:
    """The image's ARN in ``region`` as AWS's table gives it (None: the table has no row for it).

    Not checked here: :func:`studio_image_region_problems` says whether SageMaker accepts it.
    """
    account = studio_images()["accounts"].get(region)
    if account is None:
        return None
    return f"arn:{partition(region)}:sagemaker:{region}:{account}:image/{studio_images()['image']}"


def studio_image_version_problems(value: str) -> Problems:
    """One release, major.minor.patch: the lab's kernel and pins are checked against one image's
    package list. SageMaker's ImageVersionAlias also takes a major or major.minor alias ("4",
    "4.4"), which names no single release: the image could change under the lab without a deploy."""
    if not _matches(IMAGE_VERSION_PATTERN, value):
        return [
            f"{value!r} is not one SageMaker Distribution release: give major.minor.patch, such as "
            f"{STUDIO_IMAGE_VERSION_DEFAULT!r} (a major or major.minor alias names no single release, and the "
            "lab's pins are checked against one release's packages)"
        ]
    return []


def studio_image_arn_problems(value: str | None) -> Problems:
    image = studio_images()["image"]
    if value is not None and not value.endswith(f":image/{image}"):
        return [
            f"{value!r} is not the {image} image's ARN (arn:<partition>:sagemaker:<region>:<account>:image/{image}): "
            "the lab's kernel and pins are built for the SageMaker Distribution CPU image"
        ]
    return []


def studio_image_region_problems(region: str, override: str | None) -> Problems:
    """Why no image ARN can be set on the profiles in ``region``: the override is another
    region's, or AWS's table has no row for the region, or prints an account SageMaker refuses."""
    if override is not None:
        named = override.split(":")[3] if override.count(":") >= 5 else ""
        if named != region:
            return [
                f"{override!r} is an image in {named or 'no region'}, not in {region}: a JupyterLab app "
                "runs an image of its own region"
            ]
        return []
    arn = documented_studio_image_arn(region)
    shows = (
        f"any JupyterLab app in {region} shows (`aws sagemaker describe-app --domain-id <domain> --space-name "
        "<space> --app-type JupyterLab --app-name default --query ResourceSpec.SageMakerImageArn`)"
    )
    if arn is None:
        return [
            f"must be set in {region}: AWS's table of SageMaker Distribution images ({studio_images_source()}) "
            f"has no row for {region}; set it to the image's ARN there, which {shows}, or deploy to a region "
            "the table lists"
        ]
    refused = aws_constraints.value_problems(arn, "sagemaker.ImageArn")
    if refused:
        account = studio_images()["accounts"][region]
        return [
            f"must be set in {region}: AWS's table of SageMaker Distribution images ({studio_images_source()}) "
            f"prints the account there as {account!r} ({len(account)} digits, an account ID has 12), and SageMaker "
            f"would refuse the ARN it makes: {'; '.join(refused)}; set it to the image's ARN there, which {shows}, "
            "as will the page once it prints 12 digits; or deploy to another region"
        ]
    return []


def maintenance_window_problems(value: str) -> Problems:
    if not _matches(MAINTENANCE_PATTERN, value):
        return [f"{value!r} must be Ddd:HH:MM in UTC, e.g. Sun:03:00"]
    return []


def artifact_prefix_problems(value: str) -> Problems:
    if not _S3_PREFIX_RE.match(value) or value.startswith("/"):
        return [f"{value!r} is not a valid S3 key prefix"]
    return []


#: The notebooks bucket's prefix of the deploy's own objects (the JupyterLab start script).
RESERVED_PREFIX = "isolated-studio"


def key_prefix_in_bucket_problems(value: str) -> Problems:
    if not _S3_PREFIX_RE.match(value) or value.startswith("/") or value.endswith("/"):
        return [f"{value!r} must be an S3 key prefix without leading or trailing '/'"]
    if value == RESERVED_PREFIX or value.startswith(RESERVED_PREFIX + "/"):
        return [
            f"{value!r} is the deploy's own prefix in the notebooks bucket (the JupyterLab start script): "
            "choose another"
        ]
    return []


def codeartifact_domain_problems(value: str) -> Problems:
    if not _matches(CA_DOMAIN_PATTERN, value):
        return [f"{value!r} must be 2-50 lowercase letters, digits and hyphens, starting with a letter"]
    return []


def codeartifact_repository_problems(value: str) -> Problems:
    return [] if _matches(CA_REPO_PATTERN, value) else [f"{value!r} must be 2-100 letters, digits, '.', '_' or '-'"]


def upstream_repository_problems(value: str, data: Mapping[str, Any]) -> Problems:
    problems = codeartifact_repository_problems(value)
    if value == data.get("codeartifact_repository"):
        problems.append("must differ from codeartifact_repository")
    return problems


def data_file_problems(value: str) -> Problems:
    if not value:
        return []
    data = Path(value)
    data = data if data.is_absolute() else PROJECT_ROOT / data
    if not data.is_file():
        return [f"{value!r} does not exist (run `make data` or download ai4i2020.csv)"]
    return []


# --------------------------------------------------------------------------- emulator, terraform


def endpoint_problems(value: str) -> Problems:
    if value and not _matches(URL_PATTERN, value):
        return [f"{value!r} must be an http(s) URL like http://127.0.0.1:5000"]
    return []


def provider_mirror_problems(value: str | None) -> Problems:
    if value and not Path(value).is_dir():
        return [f"{value!r} (terraform.provider_mirror or STUDIO_PROVIDER_MIRROR) is not a directory"]
    return []
