"""AWS's constraints come from botocore's models (the locked version), in one place every
setting goes through."""

from __future__ import annotations

import typing

import pytest

from isolated_studio.config import aws_constraints
from isolated_studio.config.model import SECTIONS, Aws, ConfigFile, NoShape, StudioConfig


def test_the_committed_constraints_are_those_of_the_installed_botocore():
    # A botocore upgrade in Pipfile.lock changes them: regenerate with
    # `python -m isolated_studio.config.aws_constraints` and review the diff.
    assert aws_constraints.DATA_PATH.read_text() == aws_constraints.render(aws_constraints.generate())


def _fields():
    for name, model in SECTIONS.items():
        for key, field in model.model_fields.items():
            yield f"{name}.{key}", field
    for key in ("tags", "region"):
        yield key, (ConfigFile if key == "tags" else StudioConfig).model_fields[key]


def test_every_setting_names_its_api_fields_or_says_why_it_has_none():
    unmarked = [
        path for path, field in _fields() if not any(isinstance(meta, (Aws, NoShape)) for meta in field.metadata)
    ]
    assert unmarked == [], "declare Aws(...) or NoShape(why) on these settings in isolated_studio/config/model.py"


def test_every_named_api_field_is_in_the_generated_constraints():
    refs = {ref for _, field in _fields() for meta in field.metadata if isinstance(meta, Aws) for ref in meta.refs}
    assert refs <= set(aws_constraints.constraints()["shapes"]), refs - set(aws_constraints.constraints()["shapes"])


@pytest.mark.parametrize(
    "setting, ref",
    [
        ("workload.mlflow_size", "sagemaker.TrackingServerSize"),
        ("network.flow_log_traffic_type", "ec2.TrafficType"),
    ],
)
def test_a_setting_with_fixed_choices_offers_only_values_the_api_takes(setting, ref):
    section, key = setting.split(".")
    choices = typing.get_args(SECTIONS[section].model_fields[key].annotation)
    assert set(choices) <= set(aws_constraints.enum(ref))


@pytest.mark.parametrize(
    "pattern, value, matches",
    [
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "Équipe ML 2", True),  # letters of any script, spaces, digits
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "a,b", False),
        ("\\P{C}+", "any text ü", True),
        ("\\P{C}+", "tab\there", False),  # a control character
        ("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "a-b", True),
        ("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "a-", False),  # AWS matches the whole value
    ],
)
def test_patterns_are_matched_as_aws_matches_them(pattern, value, matches):
    assert aws_constraints.fullmatch(pattern, value) is matches


def test_every_region_of_the_partition_is_known_with_the_services_it_offers():
    regions = aws_constraints.regions("aws")
    assert {"us-east-1", "us-west-2", "ap-northeast-1", "ca-central-1", "eu-central-1"} <= set(regions)
    assert aws_constraints.partition_of("cn-north-1") == "aws-cn"
    assert aws_constraints.region_problems("us-west-2", list(aws_constraints.ENDPOINT_DATA_SERVICE)) == []
    assert aws_constraints.region_problems("ap-southeast-5", ["sagemaker.runtime", "servicecatalog"])[-1] == (
        "ap-southeast-5 does not offer sagemaker.runtime, servicecatalog (botocore 1.35.99 endpoint data): remove "
        "them from network.interface_endpoints or choose another region"
    )
