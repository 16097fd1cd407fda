"""The SageMaker Distribution image Studio's JupyterLab and the lab's @remote jobs run: pinned on
the user profiles, from AWS's table of image ARNs, and nowhere a change would fail.

The pin is workload.studio_image_version (a release) and the image's ARN in the region
(isolated_studio/config/sagemaker_distribution_images.json, AWS's table with its source). The
profiles carry both in JupyterLab's default resource spec; the domain carries neither
(UpdateDomain fails on a VpcOnly domain with the pinned provider, #45528), so a new release
is an update of the profiles in place (UpdateUserProfile sends the whole user_settings: the
provider's resourceUserProfileUpdate; user_settings is not ForceNew in its schema).
"""

from __future__ import annotations

import json
import re

import pytest
from support import config_document

from isolated_studio.config import ConfigError, aws_constraints, parse_config, rules
from modules.studio_domain import KERNEL_BUILD_LOG, START_SCRIPT_KEY

DEV_IMAGE = "arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-cpu"
OTHER_RELEASE = "4.5.0"  # tests/conftest.py's synth_other_release


# --------------------------------------------------------------------------- AWS's table


def test_the_table_names_its_source_and_the_image():
    table = rules.studio_images()
    assert table["image"] == "sagemaker-distribution-cpu"
    assert table["source"]["title"] == "Code Editor application instances and images"
    assert table["source"]["guide"] == "Amazon SageMaker AI Developer Guide"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table["source"]["read"])
    assert table["source"]["linked_from"].startswith("https://docs.aws.amazon.com/sagemaker/latest/dg/")


def test_every_region_the_stacks_support_has_a_row_and_sagemaker_accepts_its_arn_but_us_east_2():
    supported = aws_constraints.supported_regions()
    assert len(supported) == 13 and "us-west-2" in supported  # SageMaker and CodeArtifact (botocore's data)
    accounts = rules.studio_images()["accounts"]
    assert [region for region in supported if region not in accounts] == []
    refused = {
        region: aws_constraints.value_problems(rules.documented_studio_image_arn(region), "sagemaker.ImageArn")
        for region in supported
    }
    assert {region for region, problems in refused.items() if problems} == {"us-east-2"}
    assert accounts["us-east-2"] == "37914896644"  # as AWS prints it: 11 digits


def test_the_configuration_refuses_exactly_the_regions_without_a_usable_arn():
    def refused(region: str) -> list[str]:
        try:
            parse_config(config_document(), env={"AWS_REGION": region})
        except ConfigError as error:
            return error.problems
        return []

    results = {region: refused(region) for region in aws_constraints.supported_regions()}
    assert {region for region, problems in results.items() if problems} == {"us-east-2"}
    (problem,) = results["us-east-2"]
    assert problem.startswith("workload.studio_image_arn: must be set in us-east-2")


def test_the_arn_is_built_in_the_regions_partition():
    assert rules.documented_studio_image_arn("cn-north-1") == (
        "arn:aws-cn:sagemaker:cn-north-1:674439102856:image/sagemaker-distribution-cpu"
    )
    assert rules.documented_studio_image_arn("us-gov-west-1").startswith("arn:aws-us-gov:sagemaker:us-gov-west-1:")
    assert rules.documented_studio_image_arn("xx-nowhere-1") is None


def test_the_default_release_is_the_one_whose_package_list_the_lab_is_checked_against():
    default = rules.STUDIO_IMAGE_VERSION_DEFAULT
    assert (rules.PROJECT_ROOT / "tests" / "data" / "sagemaker-distribution" / default / "cpu.env.out").is_file()
    lab_target = (rules.PROJECT_ROOT / "tests" / "studio_image.py").read_text()
    assert f'IMAGE_VERSION = "{default}"' in lab_target  # tests/unit/lab/test_lab_studio_image.py checks the pins there


def test_the_start_script_and_the_kernel_name_the_same_build_log():
    from pm_lab import kernel

    assert KERNEL_BUILD_LOG == kernel.BUILD_LOG == ".isolated-studio/kernel-build.log"


# --------------------------------------------------------------------------- the synthesized stacks


def _profiles(s) -> dict[str, dict]:
    return {
        p["user_profile_name"]: p["user_settings"]["jupyter_lab_app_settings"]["default_resource_spec"]
        for p in s.resources("workload", "aws_sagemaker_user_profile").values()
    }


def test_every_profile_pins_the_release_of_the_image_in_its_region(synth, synth_variant):
    assert {
        name: (spec["sagemaker_image_arn"], spec["sagemaker_image_version_alias"])
        for name, spec in _profiles(synth).items()
    } == {"data-scientist": (DEV_IMAGE, "4.4.1")}
    assert {spec["sagemaker_image_version_alias"] for spec in _profiles(synth_variant).values()} == {"4.4.1"}
    # Never a version ARN: SageMaker would use it and ignore the alias of a later release.
    assert not any("sagemaker_image_version_arn" in spec for spec in _profiles(synth).values())


def test_neither_the_domain_nor_its_shared_spaces_carry_an_image(synth):
    (domain,) = synth.resources("workload", "aws_sagemaker_domain").values()
    text = json.dumps({key: domain[key] for key in ("default_user_settings", "default_space_settings")})
    assert "sagemaker_image" not in text and "jupyter_lab_app_settings" not in text


def test_remote_jobs_take_the_apps_image_not_one_written_into_the_sdk_configuration(synth):
    (script,) = [
        o["content"] for o in synth.resources("workload", "aws_s3_object").values() if o["key"] == START_SCRIPT_KEY
    ]
    assert "ImageUri" not in script  # no ECR URI of the release is known at synthesis
    assert "RemoteFunction:" in script
    assert "x$running != x4.4.1 ]" in script  # a space on another release is named in the app's log


def _differences(before, after, path=""):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (a, b) in enumerate(zip(before, after)):
            yield from _differences(a, b, f"{path}[{index}]")
    elif before != after:
        yield path


def test_a_new_release_changes_only_the_profiles_pin_and_the_start_scripts_check(synth, synth_other_release):
    for stack in ("state", "network"):
        assert synth.stacks[stack] == synth_other_release.stacks[stack], stack
    changed = list(_differences(synth.stacks["workload"], synth_other_release.stacks["workload"]))
    (profile,) = synth.resources("workload", "aws_sagemaker_user_profile")
    (script,) = [
        name for name, o in synth.resources("workload", "aws_s3_object").items() if o["key"] == START_SCRIPT_KEY
    ]
    assert changed == [
        f"resource.aws_s3_object.{script}.content",
        f"resource.aws_sagemaker_user_profile.{profile}.user_settings.jupyter_lab_app_settings.default_resource_spec"
        ".sagemaker_image_version_alias",
    ]
    assert _profiles(synth_other_release)["data-scientist"]["sagemaker_image_version_alias"] == OTHER_RELEASE
    # Both are updates in place: a user profile's user_settings and an S3 object's content are
    # not ForceNew (the provider's schemas), and neither is the domain (not changed at all).


def test_the_pages_way_out_for_us_east_2_is_a_configuration_the_loader_accepts():
    import tomllib

    page = (rules.PROJECT_ROOT / "docs" / "studio-image.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", page, re.S)
    document = tomllib.loads(block.replace("<the image's account>", "123456789012").replace("  ", ""))
    config = parse_config(config_document(**document), env={"AWS_REGION": "us-east-2"})
    assert config.studio_image_arn == "arn:aws:sagemaker:us-east-2:123456789012:image/sagemaker-distribution-cpu"
    assert "37914896644" in page and "2026-12-07" in page  # what the page says matches the table it describes
