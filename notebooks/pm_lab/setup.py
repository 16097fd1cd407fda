"""The notebook's platform steps in one call: settings, kernel, MLflow, data, where jobs run.

``lab = setup.start(globals())`` in the notebook's setup cell does, in this order, and
stops at the first problem with one of :mod:`pm_lab.errors`' messages (shown without the
library traceback, ``%tb`` has it), before any MLflow run exists:

1. fills the parameters left empty from ``~/.isolated-studio/settings.json``
   (:mod:`pm_lab.settings`);
2. on AWS: CodeArtifact login for pip and the lab's own kernel (:mod:`pm_lab.kernel`):
   if this kernel lacks the pinned libraries, the ``pm-lab`` kernel is built and the
   notebook asks to switch to it;
3. connects to MLflow (an explicit URI, else the settings' tracking server ARN) and checks
   it answers and has the client's major.minor;
4. reads and validates the data (local CSV or S3);
5. builds the ``job`` decorator: the functions run in the kernel, or as SageMaker
   ``@remote`` jobs in the VPC.

Nothing the lab pins (MLflow, boto3, pandas ...) is imported before the kernel check, so a
kernel that is not the lab's never loads the image's versions of them first. It also keeps
the notebook's output to what a reader needs: no MLflow INFO lines or
artifact progress bars.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_lab import errors, execution, settings, studio

if TYPE_CHECKING:  # pandas is one of the pinned requirements: not imported before the kernel check
    import pandas as pd

#: The parameters cell's names that setup reads.
PARAMETERS: tuple[str, ...] = (
    "execution_mode",
    "tracking_uri",
    "experiment_name",
    "data_path",
    "seed",
    "model_name",
    "codeartifact_domain",
    "codeartifact_repository",
    "codeartifact_domain_owner",
    "tracking_server_arn",
    "domain_id",
    "region",
    "install_requirements",
    "remote_instance_type",
    "remote_image_uri",
    "remote_keep_alive_period_in_seconds",
    "remote_s3_root_uri",
)
REQUIREMENTS = Path("requirements.txt")


def quiet() -> None:
    """No artifact progress bars, no INFO lines from MLflow (warnings and errors still show)."""
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    for name in ("mlflow", "alembic", "botocore.credentials", "sagemaker"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class Lab:
    """What the setup found, for the notebook's ML steps."""

    parameters: dict[str, Any]
    settings: settings.LabSettings | None
    in_studio: bool
    on_aws: bool
    tracking_uri: str
    ui_url: str
    frame: pd.DataFrame
    data_source: str
    job: execution.Runner
    session: Any = None

    def __getattr__(self, name: str) -> Any:  # lab.seed, lab.model_name ...
        parameters = self.__dict__.get("parameters", {})
        if name in parameters:
            return parameters[name]
        raise AttributeError(name)

    def summary(self) -> str:
        from pm_lab.data import TARGET

        failures = int(self.frame[TARGET].sum())
        where = "SageMaker jobs in the VPC" if self.parameters["execution_mode"] == "remote" else "this kernel"
        return "\n".join(
            [
                f"data:    {self.parameters['data_path']}: {len(self.frame):,} rows, {failures} failures "
                f"({failures / len(self.frame):.2%})",
                f"MLflow:  {self.tracking_uri}, experiment {self.parameters['experiment_name']!r}",
                f"MLflow UI: {self.ui_url}",
                f"jobs run in {where}",
            ]
        )


def start(namespace: dict[str, Any], *, echo: Any = print) -> Lab:
    """Run the platform steps for the parameters in ``namespace`` (the notebook's globals)."""
    errors.install_short_tracebacks()
    parameters = {name: namespace[name] for name in PARAMETERS}
    execution.check_mode(parameters["execution_mode"])
    lab_settings = settings.load()
    filled = settings.fill(lab_settings, **{name: parameters[name] for name in settings.PARAMETER_SOURCES})
    parameters.update(filled)
    echo(settings.describe(lab_settings, filled))
    in_studio = studio.running_in_studio()
    on_aws = in_studio or parameters["execution_mode"] == "remote"
    parameters["domain_id"] = parameters["domain_id"] or studio.studio_domain_id() or ""

    repository = None
    if on_aws:
        repository = studio.codeartifact_repository(
            domain=parameters["codeartifact_domain"],
            repository=parameters["codeartifact_repository"],
            owner=parameters["codeartifact_domain_owner"],
            region=parameters["region"] or None,
            sts_client_factory=studio.cli_sts_client,
        )
        if parameters["install_requirements"]:
            from pm_lab import kernel

            studio.pip_login(repository)
            kernel.require_lab_kernel(REQUIREMENTS, build=lambda: kernel.install(REQUIREMENTS, echo=echo))

    import mlflow

    from pm_lab import tracking

    quiet()  # after mlflow's import, which sets its loggers to INFO

    session = None
    if on_aws:
        import boto3

        session = boto3.session.Session(region_name=parameters["region"] or None)
    tracking_uri = studio.resolve_tracking_uri(
        tracking_uri=parameters["tracking_uri"],
        tracking_server_arn=parameters["tracking_server_arn"],
        on_aws=on_aws,
        sagemaker_client_factory=lambda: session.client("sagemaker"),
    )
    tracking.connect(tracking_uri)
    tracking.check_client_version(lab_settings.mlflow_version if lab_settings else "", mlflow.__version__)
    ui_url = studio.mlflow_ui_url(tracking_uri, lambda: session.client("sagemaker"))

    from pm_lab.data import load_dataset

    data_path = parameters["data_path"]
    frame = load_dataset(data_path, s3_client=session.client("s3") if session else None)
    from pm_lab.steps import dataset_source

    if parameters["execution_mode"] == "remote":
        remote = remote_settings(parameters, lab_settings, repository, session)
        echo(f"jobs: {remote.instance_type}, image {remote.image_uri}, subnets {list(remote.subnets)}")
        job = execution.make_runner("remote", remote, session=execution.sagemaker_session(session))
    else:
        job = execution.make_runner("local")
    lab = Lab(
        parameters,
        lab_settings,
        in_studio,
        on_aws,
        tracking_uri,
        ui_url,
        frame,
        dataset_source(data_path),
        job,
        session,
    )
    echo(lab.summary())
    return lab


def remote_settings(
    parameters: dict[str, Any],
    lab_settings: settings.LabSettings | None,
    repository: studio.CodeArtifactRepository | None,
    session: Any,
) -> execution.RemoteSettings:
    """``@remote``'s settings: the settings file's network, role and key; the parameters' image and instance."""
    network = studio.job_network(
        subnet_ids=lab_settings.subnet_ids if lab_settings else (),
        security_group_ids=lab_settings.security_group_ids if lab_settings else (),
        domain_id=parameters["domain_id"],
        sagemaker_client_factory=lambda: session.client("sagemaker"),
    )
    return execution.RemoteSettings(
        subnets=network.subnets,
        security_group_ids=network.security_groups,
        dependencies=str(REQUIREMENTS.resolve()),
        pre_execution_commands=(studio.codeartifact_login_shell(repository),) if repository else (),
        instance_type=parameters["remote_instance_type"],
        s3_root_uri=parameters["remote_s3_root_uri"] or execution.default_s3_root_uri(parameters["data_path"]),
        role=(lab_settings.execution_role_arn if lab_settings else "") or None,
        image_uri=execution.job_image_uri(parameters["remote_image_uri"]),
        kms_key_arn=(lab_settings.kms_key_arn if lab_settings else "") or None,
        keep_alive_period_in_seconds=parameters["remote_keep_alive_period_in_seconds"],
    )
