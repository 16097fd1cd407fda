"""The JupyterLab start script, run with bash: the SageMaker SDK configuration it writes keeps the SDK in the
lab's bucket, and it logs pip in before copying the lab (the real SDK and botocore reading what it writes:
tests/integration/modules/test_studio_startup_sdk.py). No provider bindings are imported here.
"""

from __future__ import annotations

from studio_startup import BUCKET, KEY, LOGIN, SGS, SUBNETS, fake_aws, run_script, sdk_config  # fake_aws: a fixture

from modules.studio_domain import to_yaml


def test_sdk_configuration_keeps_the_sdk_out_of_its_own_default_bucket():
    modules = sdk_config()["SageMaker"]["PythonSDK"]["Modules"]
    assert modules["Session"]["DefaultS3Bucket"] == BUCKET
    remote = modules["RemoteFunction"]
    assert remote["S3RootUri"] == f"s3://{BUCKET}/remote-functions"
    assert remote["S3KmsKeyId"] == remote["VolumeKmsKeyId"] == KEY
    assert remote["VpcConfig"] == {"Subnets": SUBNETS, "SecurityGroupIds": SGS}
    assert remote["PreExecutionCommands"] == [LOGIN]
    assert modules["TelemetryOptOut"] is True  # no usage reports from the isolated network


def test_yaml_quotes_every_string_without_double_quotes():
    text = to_yaml({"a": "it's", "b": ["x: y", "#z"], "c": True, "d": {}})
    assert '"' not in text
    assert text == "a: 'it''s'\nb:\n  - 'x: y'\n  - '#z'\nc: true\nd: {}"


def test_startup_script_logs_pip_in_before_copying_the_lab(tmp_path, fake_aws):
    _, calls = run_script(tmp_path, fake_aws)
    commands = [" ".join(call[:2]) for call in calls]
    assert commands.index("codeartifact login") < commands.index("s3 cp")
    assert ["codeartifact", "login", *LOGIN.split()[3:]] in calls
