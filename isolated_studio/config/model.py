"""Every setting of an environment file, declared once: type, default, constraint, meaning.

Each section of the TOML file is a frozen pydantic model that forbids unknown keys; each
setting's problem finder (isolated_studio/config/rules.py) is attached to its type, and its
description is what the JSON Schema (config/schema.json) and docs/configuration.md's table
show. A setting whose default depends on others (``state.bucket`` on
``project.name_prefix``, ...) says so with :class:`Derived`; the loader fills it in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    JsonValue,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError, core_schema

from isolated_studio.config import aws_constraints, rules
from isolated_studio.config.rules import (
    DEFAULT_INTERFACE_ENDPOINTS,
    ENDPOINT_SERVICES,
    INSTANCE_TYPES_DEFAULT,
    LOG_RETENTION_DAYS,
    STUDIO_IMAGE_VERSION_DEFAULT,
    IamMode,
    LockMode,
    MlflowSize,
    TrafficType,
)

PROBLEM = "studio_config"  # the pydantic error type our own checks raise


def check(finder: Callable[..., list]) -> AfterValidator:
    """Attach a problem finder: ``finder(value)``, or ``finder(value, earlier_settings)``."""
    with_data = len(inspect.signature(finder).parameters) == 2

    def validate(value: Any, info: ValidationInfo) -> Any:
        problems = finder(value, info.data) if with_data else finder(value)
        if problems:
            raise PydanticCustomError(PROBLEM, "{problems}", {"problems": problems})
        return value

    return AfterValidator(validate)


class Aws:
    """The API fields a setting becomes: its value must pass each one's constraints from
    botocore's service models (isolated_studio/config/aws_constraints.py), after the setting's
    own, friendlier checks. ``each``: every item of a list setting is one such field.

    Every setting carries an :class:`Aws` or a :class:`NoShape` (tests/unit/config/test_config_aws_constraints.py
    refuses one with neither), so a new setting cannot skip AWS's constraints unnoticed.
    """

    def __init__(self, *refs: str, each: bool = False):
        self.refs = refs
        self.each = each

    def problems(self, value: Any) -> list[str]:
        if value is None:
            return []
        items = list(value) if self.each else [value]
        return [p for item in items for ref in self.refs for p in aws_constraints.value_problems(item, ref)]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Any:
            problems = self.problems(value)
            if problems:
                raise PydanticCustomError(PROBLEM, "{problems}", {"problems": problems})
            return value

        return core_schema.no_info_after_validator_function(validate, handler(source))


class NoShape:
    """A setting that no AWS API field takes as it is, and why (see :class:`Aws`), and how it is checked instead."""

    def __init__(self, why: str):
        self.why = why

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return handler(source)


class Derived:
    """A default computed from other settings (``doc`` is how docs/configuration.md shows it)."""

    def __init__(self, doc: str, compute: Callable[[Mapping[str, Any]], Any]):
        self.doc = doc
        self.compute = compute


class Shown:
    """How docs/configuration.md shows a default too long for its table."""

    def __init__(self, doc: str):
        self.doc = doc


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def derived(description: str) -> Any:
    """The field of a setting with a :class:`Derived` default (the loader always sets it)."""
    return Field(None, description=description, json_schema_extra=_no_default)


def _enum(values: Collection[str] | Collection[int]) -> list[JsonValue]:
    """A schema ``enum`` of ``values``, sorted (json_schema_extra is pydantic's JsonDict, and
    list is invariant: a list[str] is no list[JsonValue] to a type checker)."""
    return list[JsonValue](sorted(values))


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


Strings = tuple[StrictStr, ...]
OptionalText = Annotated[StrictStr | None, BeforeValidator(_empty_is_none)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, field_title_generator=lambda name, _: name)


class ProjectConfig(Section):
    """[project]: what the environment is called and where it may be deployed."""

    name_prefix: Annotated[StrictStr, check(rules.name_prefix_problems), Aws("sagemaker.DomainName")] = Field(
        description="3-24 lowercase letters, digits and single hyphens, starting with a letter; names every resource.",
        json_schema_extra={"pattern": rules.PREFIX_PATTERN, "minLength": 3, "maxLength": 24},
    )
    environment: Annotated[
        StrictStr,
        Derived("file name", lambda v: v["file_stem"]),
        check(rules.environment_problems),
        NoShape("the Environment tag's value: its pattern is narrower than every service's tag rule"),
    ] = derived("Environment name, in tags and state keys; 1-16 lowercase letters, digits or hyphens.")
    account_id: Annotated[OptionalText, check(rules.account_id_problems), Aws("sagemaker.AccountId")] = Field(
        None,
        description="12 digits; Terraform (allowed_account_ids) and the deploy/destroy workflow refuse any other account.",
        json_schema_extra={"pattern": rules.ACCOUNT_PATTERN},
    )
    region: Annotated[
        OptionalText,
        check(rules.project_region_problems),
        NoShape("a region: botocore's endpoint data (rules.region_problems)"),
    ] = Field(
        None,
        description="Pins the region: AWS_REGION, AWS_DEFAULT_REGION and the AWS profile must then agree; "
        "unset, the region is AWS_REGION, else AWS_DEFAULT_REGION, else us-west-2.",
        json_schema_extra={"pattern": rules.REGION_PATTERN},
    )


class NetworkConfig(Section):
    """[network]: the VPC, its private subnets and endpoints."""

    vpc_cidr: Annotated[
        StrictStr,
        check(rules.vpc_cidr_problems),
        NoShape("EC2's CIDR blocks have no model pattern: RFC 1918, /16 to /28 (VPC user guide)"),
    ] = Field("10.10.0.0/16", description="Private (RFC 1918) IPv4 CIDR of the VPC, /16 to /28.")
    az_count: Annotated[
        StrictInt, check(rules.az_count_problems), NoShape("one subnet per zone; SageMaker's Subnets take up to 16")
    ] = Field(2, description="Private subnets, one per AZ (2 to 6).", json_schema_extra={"minimum": 2, "maximum": 6})
    availability_zone_ids: Annotated[
        Strings,
        Shown("the region's first `az_count` available zones"),
        check(rules.availability_zone_ids_problems),
        NoShape("EC2's zone IDs have no model pattern: AZ_ID_PATTERN and the region's prefix"),
    ] = Field(
        (),
        description='Pins the zones by AZ ID, e.g. ["use1-az4", "use1-az6"], one per subnet (IDs name the same '
        "zones in every account; letters do not). Unset: the first `az_count` zones the account has available, "
        "read at plan time.",
        json_schema_extra={"items": {"type": "string", "pattern": rules.AZ_ID_PATTERN}, "uniqueItems": True},
    )
    subnet_cidrs: Annotated[
        Strings,
        Shown("carved"),
        check(rules.subnet_cidrs_problems),
        NoShape("EC2's CIDR blocks have no model pattern: inside the VPC, not overlapping"),
    ] = Field((), description="Explicit subnet CIDRs, one per AZ, inside the VPC and not overlapping.")
    subnet_prefix_length: Annotated[
        StrictInt, check(rules.subnet_prefix_length_problems), NoShape("a prefix length of the VPC's CIDR")
    ] = Field(
        24,
        description="Prefix length of the subnets carved in order from the VPC CIDR (16 to 28).",
        json_schema_extra={"minimum": 16, "maximum": 28},
    )
    interface_endpoints: Annotated[
        Strings,
        Shown("the 11 the seed needs"),
        check(rules.interface_endpoints_problems),
        NoShape("service names: botocore's endpoint data for the region"),
    ] = Field(
        DEFAULT_INTERFACE_ENDPOINTS,
        description="Interface endpoint short names; sagemaker.api, sagemaker.runtime and sts are required; "
        "also known: kms, ssm, s3, elasticfilesystem, servicecatalog, sagemaker.featurestore-runtime.",
        json_schema_extra={"items": {"type": "string", "enum": _enum(ENDPOINT_SERVICES)}, "uniqueItems": True},
    )
    flow_log_retention_days: Annotated[
        StrictInt,
        check(rules.flow_log_retention_days_problems),
        NoShape("CloudWatch Logs' retention days: PutRetentionPolicy's documented values"),
    ] = Field(
        365,
        description="Days VPC flow logs are kept: a CloudWatch Logs retention value.",
        json_schema_extra={"enum": _enum(LOG_RETENTION_DAYS)},
    )
    flow_log_traffic_type: Annotated[TrafficType, Aws("ec2.TrafficType")] = Field(
        "ALL", description="Traffic the flow logs record."
    )
    dns_firewall: Annotated[StrictBool, NoShape("a switch: whether the network stack creates the firewall")] = Field(
        True,
        description="Route 53 Resolver DNS Firewall on the VPC: only the Region's AWS service names (and "
        "dns_firewall_allowed_domains) resolve, everything else gets NXDOMAIN; every query is logged. "
        "Off only in the emulator, which cannot hold it (docs/perimeter.md).",
    )
    dns_firewall_allowed_domains: Annotated[
        Strings, check(rules.dns_domain_problems), Aws("route53resolver.FirewallDomainName", each=True)
    ] = Field(
        (),
        description='Further names the VPC may resolve, e.g. ["pypi.corp.example.com", "*.corp.example.com"] '
        "(`*.` also allows the subdomains); no top-level or public suffix.",
        json_schema_extra={"items": {"type": "string", "pattern": rules.DNS_DOMAIN_PATTERN}, "uniqueItems": True},
    )
    dns_query_log_retention_days: Annotated[
        StrictInt,
        check(rules.flow_log_retention_days_problems),
        NoShape("CloudWatch Logs' retention days: PutRetentionPolicy's documented values"),
    ] = Field(
        365,
        description="Days the DNS query log is kept: a CloudWatch Logs retention value.",
        json_schema_extra={"enum": _enum(LOG_RETENTION_DAYS)},
    )


def _state_bucket(values: Mapping[str, Any]) -> str:
    """The default state bucket: like every other bucket, named with account and region."""
    generic = f"{values['name_prefix']}-tfstate"
    return f"{generic}-{values['account_id']}-{values['region']}" if values["account_id"] else generic


class StateConfig(Section):
    """[state]: where every stack but the bootstrap keeps its Terraform state."""

    bucket: Annotated[
        StrictStr,
        Derived("`<name_prefix>-tfstate-<account_id>-<region>`", _state_bucket),
        check(rules.bucket_problems),
        NoShape("S3's BucketName has no model pattern: the S3 user guide's naming rules"),
    ] = derived(
        "S3 bucket of the state. S3 names are global, so the default carries project.account_id and the "
        "region; without account_id it is the bare `<name_prefix>-tfstate`, which deploy refuses to "
        "create. {region} in a name you set becomes the region."
    )
    lock_table: Annotated[
        StrictStr,
        Derived("`<name_prefix>-tflock`", lambda v: f"{v['name_prefix']}-tflock"),
        check(rules.lock_table_problems),
        Aws("dynamodb.TableName"),
    ] = derived("DynamoDB lock table (table names are per account and region, so the default needs neither).")
    key_prefix: Annotated[
        StrictStr,
        Derived("`isolated-studio/<environment>`", lambda v: f"isolated-studio/{v['environment']}"),
        check(rules.key_prefix_problems),
        NoShape("S3 object keys have no model pattern"),
    ] = derived("State keys are <key_prefix>/<region>/<stack>.tfstate.")
    locking: Annotated[LockMode, NoShape("how Terraform locks its state")] = Field(
        "dynamodb", description="dynamodb, lockfile (S3 native locking, Terraform >= 1.10) or both."
    )
    protect: Annotated[StrictBool, NoShape("a Terraform lifecycle setting")] = Field(
        True, description="prevent_destroy (and deletion protection) on the state bucket, table and key."
    )
    bootstrap_state_path: Annotated[
        StrictStr,
        Derived(
            "`terraform-state/<environment>/state.tfstate`",
            lambda v: f"terraform-state/{v['environment']}/state.tfstate",
        ),
        check(rules.bootstrap_state_path_problems),
        NoShape("a local path"),
    ] = derived(
        "The state stack's own local state, relative to the project root; the region is added as its last "
        "directory. An emulator file's is under terraform-state/emulator/ (its default), no other's may be."
    )


class WorkloadConfig(Section):
    """[workload]: Studio, MLflow, CodeArtifact and the lab."""

    iam_mode: Annotated[IamMode, NoShape("how the roles are built")] = Field(
        "managed", description="managed (AmazonSageMakerFullAccess) or least-privilege execution role."
    )
    user_profiles: Annotated[
        Strings, check(rules.user_profiles_problems), Aws("sagemaker.UserProfileName", each=True)
    ] = Field(
        ("data-scientist",),
        description="Unique Studio user profile names.",
        json_schema_extra={
            "items": {"type": "string", "pattern": rules.PROFILE_PATTERN},
            "minItems": 1,
            "uniqueItems": True,
        },
    )
    force_destroy_buckets: Annotated[StrictBool, NoShape("a provider setting")] = Field(
        False, description="Let destroy delete non-empty buckets."
    )
    retain_home_efs: Annotated[StrictBool, NoShape("becomes RetentionType Retain or Delete")] = Field(
        False, description="Keep the users' home EFS when the domain is deleted."
    )
    docker_trusted_accounts: Annotated[
        Strings, check(rules.docker_trusted_accounts_problems), Aws("sagemaker.VpcOnlyTrustedAccounts")
    ] = Field(
        (),
        description="Accounts Studio's Docker may pull images from.",
        json_schema_extra={"items": {"type": "string", "pattern": rules.ACCOUNT_PATTERN}},
    )
    jupyterlab_instance_type: Annotated[
        StrictStr, check(rules.instance_type_problems), Aws("sagemaker.AppInstanceType")
    ] = Field(
        INSTANCE_TYPES_DEFAULT,
        description="Default JupyterLab instance type.",
        json_schema_extra={"pattern": rules.INSTANCE_TYPE_PATTERN},
    )
    studio_image_version: Annotated[
        StrictStr, check(rules.studio_image_version_problems), Aws("sagemaker.ImageVersionAlias")
    ] = Field(
        STUDIO_IMAGE_VERSION_DEFAULT,
        description="SageMaker Distribution (CPU) release JupyterLab and the lab's @remote jobs run, major.minor.patch: "
        "set on every user profile (new spaces start with it; docs/studio-image.md). The default is the release the "
        "lab's pins were checked against (tests/data/sagemaker-distribution/).",
        json_schema_extra={"pattern": rules.IMAGE_VERSION_PATTERN},
    )
    studio_image_arn: Annotated[OptionalText, check(rules.studio_image_arn_problems), Aws("sagemaker.ImageArn")] = (
        Field(
            None,
            description="The sagemaker-distribution-cpu image's ARN, for a region whose row AWS's table lacks or "
            "misprints (us-east-2: docs/studio-image.md); unset, it is built from that table "
            "(isolated_studio/config/sagemaker_distribution_images.json).",
        )
    )
    attach_lifecycle_config: Annotated[StrictBool, NoShape("whether the lifecycle configuration's ARN is set")] = Field(
        True, description="Attach the lab setup script to JupyterLab."
    )
    noncurrent_version_expiration_days: Annotated[
        StrictInt, check(rules.noncurrent_days_problems), NoShape("S3's NoncurrentDays has no model bounds")
    ] = Field(
        90,
        description="Days old object versions are kept in the lab buckets (1 to 3650).",
        json_schema_extra={"minimum": 1, "maximum": 3650},
    )
    mlflow_server_name: Annotated[
        StrictStr,
        Derived("`<name_prefix>-mlflow`", lambda v: f"{v['name_prefix']}-mlflow"),
        check(rules.mlflow_server_name_problems),
        Aws("sagemaker.TrackingServerName"),
    ] = derived("MLflow tracking server name.")
    mlflow_size: Annotated[MlflowSize, Aws("sagemaker.TrackingServerSize")] = Field(
        "Small", description="MLflow tracking server size."
    )
    mlflow_version: Annotated[StrictStr, check(rules.mlflow_version_problems), Aws("sagemaker.MlflowVersion")] = Field(
        "2.16",
        description="MLflow version of the tracking server: major.minor (AWS refuses 2.16.2), "
        "the release of the lab's mlflow pin in notebooks/requirements.txt.",
        json_schema_extra={"pattern": rules.MLFLOW_VERSION_PATTERN},
    )
    mlflow_artifact_prefix: Annotated[
        StrictStr,
        check(rules.artifact_prefix_problems),
        NoShape("in ArtifactStoreUri s3://<bucket, at most 63>/<prefix, at most 200>: within its 1024"),
    ] = Field("mlflow", description="Key prefix in the MLflow artifact bucket.")
    mlflow_automatic_model_registration: Annotated[StrictBool, NoShape("a boolean field")] = Field(
        True, description="Mirror models registered in MLflow to the SageMaker Model Registry."
    )
    mlflow_maintenance_window: Annotated[
        StrictStr, check(rules.maintenance_window_problems), Aws("sagemaker.WeeklyMaintenanceWindowStart")
    ] = Field(
        "Sun:03:00",
        description="Weekly maintenance window, Ddd:HH:MM in UTC.",
        json_schema_extra={"pattern": rules.MAINTENANCE_PATTERN},
    )
    codeartifact_domain: Annotated[
        StrictStr,
        Derived("`<name_prefix>`", lambda v: v["name_prefix"]),
        check(rules.codeartifact_domain_problems),
        Aws("codeartifact.DomainName"),
    ] = derived("CodeArtifact domain.")
    codeartifact_repository: Annotated[
        StrictStr, check(rules.codeartifact_repository_problems), Aws("codeartifact.RepositoryName")
    ] = Field("pip", description="The CodeArtifact repository users log in to.")
    codeartifact_upstream_repository: Annotated[
        StrictStr, check(rules.upstream_repository_problems), Aws("codeartifact.RepositoryName")
    ] = Field("pypi-store", description="The upstream repository holding the public:pypi connection.")
    data_file: Annotated[
        StrictStr,
        Shown("`data/ai4i2020.csv`, else generated"),
        check(rules.data_file_problems),
        NoShape("a local file"),
    ] = Field(
        "",
        description="Local AI4I 2020 CSV to upload under the data prefix; unset, the UCI file saved as "
        "data/ai4i2020.csv, else one the generator writes to data/generated/ at synthesis.",
    )
    data_prefix: Annotated[
        StrictStr, check(rules.key_prefix_in_bucket_problems), NoShape("S3 object keys have no model pattern")
    ] = Field("data", description="Key prefix of the data set in the notebooks bucket.")
    notebooks_prefix: Annotated[
        StrictStr, check(rules.key_prefix_in_bucket_problems), NoShape("S3 object keys have no model pattern")
    ] = Field("lab", description="Key prefix of the lab's notebooks in the notebooks bucket.")


class EmulatorConfig(Section):
    """[emulator]: point the provider and the S3 backend at a local AWS emulator (moto)."""

    endpoint: Annotated[StrictStr, Shown("none"), check(rules.endpoint_problems), NoShape("the emulator's URL")] = (
        Field(
            "",
            description="Emulator URL (STUDIO_EMULATOR_ENDPOINT overrides it).",
            json_schema_extra={"pattern": rules.URL_PATTERN},
        )
    )

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)

    @property
    def url(self) -> str:
        return self.endpoint.rstrip("/")


class TerraformConfig(Section):
    """[terraform]: how Terraform itself runs."""

    provider_mirror: Annotated[OptionalText, check(rules.provider_mirror_problems), NoShape("a local directory")] = (
        Field(None, description="Filesystem mirror of the providers (STUDIO_PROVIDER_MIRROR overrides it).")
    )


Tags = Annotated[
    dict[StrictStr, StrictStr],
    check(rules.tags_problems),
    NoShape("each tag against every tagged service's tag shapes, and their count (rules.tags_problems)"),
]


class ConfigFile(Section):
    """One environment's TOML file (config/<environment>.toml)."""

    model_config = ConfigDict(title="isolated-studio environment configuration")

    project: ProjectConfig = Field(description="What the environment is called and where it may be deployed.")
    tags: Tags = Field(default_factory=dict, description="Tags for every resource (provider default tags).")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description=NetworkConfig.__doc__)
    state: StateConfig = Field(default_factory=lambda: StateConfig.model_construct(), description=StateConfig.__doc__)
    workload: WorkloadConfig = Field(
        default_factory=lambda: WorkloadConfig.model_construct(), description=WorkloadConfig.__doc__
    )
    emulator: EmulatorConfig = Field(default_factory=EmulatorConfig, description=EmulatorConfig.__doc__)
    terraform: TerraformConfig = Field(default_factory=TerraformConfig, description=TerraformConfig.__doc__)


class StudioConfig(ConfigFile):
    """Everything that differs between environments, in one typed, immutable object."""

    region: Annotated[
        StrictStr, check(rules.region_problems), NoShape("botocore's endpoint data (rules.region_problems)")
    ] = Field(description="project.region, else AWS_REGION, else AWS_DEFAULT_REGION.")
    source: str = "<memory>"
    # Where ``region`` came from: "project.region", "AWS_REGION", "AWS_DEFAULT_REGION" or "default".
    region_source: str = "default"
    # The settings the file left unset, given their Derived defaults ("state.bucket", ...).
    defaulted: frozenset[str] = frozenset()

    @property
    def environment(self) -> str:
        return self.project.environment

    @property
    def name_prefix(self) -> str:
        return self.project.name_prefix

    @property
    def account_id(self) -> str | None:
        return self.project.account_id

    @property
    def provider_mirror(self) -> str | None:
        return self.terraform.provider_mirror

    # Derived values live here so that every stack computes them the same way.
    @property
    def subnet_cidrs(self) -> tuple[str, ...]:
        return self.network.subnet_cidrs or rules.carve_subnets(
            self.network.vpc_cidr, self.network.subnet_prefix_length, self.network.az_count
        )

    def endpoint_service_name(self, short_name: str) -> str:
        return ENDPOINT_SERVICES[short_name].format(region=self.region)

    def state_key(self, stack: str) -> str:
        # The region is in the key: one file deployed to two regions must never share state.
        return f"{self.state.key_prefix}/{self.region}/{stack}.tfstate"

    @property
    def state_bucket_is_generic(self) -> bool:
        """The state bucket is the bare ``<name_prefix>-tfstate``: neither set in the file nor
        named with the account, so anyone using the same prefix (S3 names are global) gets it."""
        return "state.bucket" in self.defaulted and not self.account_id

    @property
    def state_key_alias(self) -> str:
        """The alias of the state stack's KMS key (modules/state_backend.py names it so)."""
        return f"alias/{self.name_prefix}-tfstate"

    @property
    def state_kms_key_id(self) -> str:
        """How every S3 backend and remote-state read names the state key (``kms_key_id``).

        A backend block cannot take a value from another stack, and the key's ARN is only known
        once the state stack is applied; its alias is known at synthesis. With the account
        known it is the alias ARN, which S3 resolves in that account; without it, the alias
        name, which S3 resolves in the account of the credentials that write the state: the
        one the state stack created the key in. Terraform >= 1.6.1 accepts both forms.
        """
        if not self.account_id:
            return self.state_key_alias
        return f"arn:{rules.partition(self.region)}:kms:{self.region}:{self.account_id}:{self.state_key_alias}"

    @property
    def bootstrap_state_file(self) -> str:
        """The state stack's local state, relative to the project root: the configured
        ``state.bootstrap_state_path`` with the region as the last directory."""
        path = PurePosixPath(self.state.bootstrap_state_path)
        return str(path.parent / self.region / path.name)

    @property
    def mlflow_server_name(self) -> str:
        return self.workload.mlflow_server_name

    @property
    def studio_image_arn(self) -> str:
        """The SageMaker Distribution image the profiles pin: ``workload.studio_image_arn``, else
        AWS's table for the region (validation refused a region where neither gives one)."""
        arn = self.workload.studio_image_arn or rules.documented_studio_image_arn(self.region)
        if arn is None:
            raise ValueError(f"no SageMaker Distribution image ARN for {self.region}; set workload.studio_image_arn")
        return arn

    @property
    def codeartifact_domain(self) -> str:
        return self.workload.codeartifact_domain


SECTIONS: dict[str, type[Section]] = {
    "project": ProjectConfig,
    "network": NetworkConfig,
    "state": StateConfig,
    "workload": WorkloadConfig,
    "emulator": EmulatorConfig,
    "terraform": TerraformConfig,
}
