"""Each configuration rule's exact message and its bounds, as the platform engineer reads them.

The message is the whole interface of a rule: it has to name the key and say what is
accepted, and a value at the edge of what AWS accepts must pass while the next one fails.
Every case asserts the complete list of problems, so that a rule that fires too often (or
a second rule that repeats it) fails as well. Written against `parse_config`, as test_config.py.
"""

from __future__ import annotations

import pytest
from support import config_document as raw

from isolated_studio.config import ConfigError, parse_config
from isolated_studio.config.rules import PROJECT_ROOT, lab_mlflow_pin

ENV = {"AWS_REGION": "us-west-2"}
KNOWN_ENDPOINTS = (
    "['codeartifact.api', 'codeartifact.repositories', 'ec2', 'ecr.api', 'ecr.dkr', "
    "'elasticfilesystem', 'experiments', 'kms', 'logs', 'monitoring', 's3', 'sagemaker.api', "
    "'sagemaker.featurestore-runtime', 'sagemaker.runtime', 'servicecatalog', 'ssm', 'sts']"
)


def problems(env=ENV, **sections) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw(**sections), env=env, source="test.toml")
    return info.value.problems


def accepted(env=ENV, **sections):
    return parse_config(raw(**sections), env=env, source="test.toml")


# --------------------------------------------------------------------------- every setting, set explicitly


EXPLICIT = {
    "project": {"name_prefix": "lab-1", "environment": "qa", "account_id": "210987654321", "region": "eu-west-1"},
    "tags": {"Team": "ml", "aws-cost-center": "42"},
    "network": {
        "vpc_cidr": "172.16.0.0/20",
        "az_count": 3,
        "availability_zone_ids": ["euw1-az1", "euw1-az2", "euw1-az3"],
        "subnet_cidrs": ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24"],
        "subnet_prefix_length": 26,
        "interface_endpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "s3", "kms"],
        "flow_log_retention_days": 1,
        "flow_log_traffic_type": "REJECT",
    },
    "state": {
        "bucket": "lab-1-state",
        "lock_table": "lab-1-lock",
        "key_prefix": "studio/qa",
        "locking": "both",
        "protect": False,
        "bootstrap_state_path": "terraform-state/qa/state.tfstate",
    },
    "workload": {
        "iam_mode": "least-privilege",
        "user_profiles": ["alice", "bob-2"],
        "force_destroy_buckets": True,
        "retain_home_efs": True,
        "docker_trusted_accounts": ["123456789012"],
        "jupyterlab_instance_type": "ml.m5.large",
        "attach_lifecycle_config": False,
        "noncurrent_version_expiration_days": 3650,
        "mlflow_server_name": "lab-tracking",
        "mlflow_size": "Large",
        "mlflow_version": "2.16",
        "mlflow_artifact_prefix": "mlflow/runs/",
        "mlflow_automatic_model_registration": False,
        "mlflow_maintenance_window": "Sat:23:59",
        "codeartifact_domain": "lab-domain",
        "codeartifact_repository": "pip-internal",
        "codeartifact_upstream_repository": "pypi.store",
        "data_file": "notebooks/requirements.txt",
        "data_prefix": "data/ai4i",
        "notebooks_prefix": "lab/notebooks",
        "studio_image_version": "4.3.2",
        "studio_image_arn": "arn:aws:sagemaker:eu-west-1:819792524951:image/sagemaker-distribution-cpu",
    },
}


def test_every_setting_set_to_a_valid_value_is_accepted_and_kept_as_given():
    # Defaults are not checked by the rules; this is where each rule meets a value it must accept.
    config = parse_config({section: dict(values) for section, values in EXPLICIT.items()}, env={}, source="qa.toml")
    for section, values in EXPLICIT.items():
        model = getattr(config, section)
        for key, value in values.items():
            got = model[key] if section == "tags" else getattr(model, key)
            assert got == (tuple(value) if isinstance(value, list) else value), f"{section}.{key}"


# --------------------------------------------------------------------------- project


@pytest.mark.parametrize("prefix", ["abc", "a" * 24, "a-b-c"])
def test_a_name_prefix_of_3_to_24_characters_is_accepted(prefix):
    assert accepted(project={"name_prefix": prefix}).name_prefix == prefix


@pytest.mark.parametrize("prefix", ["ab", "a" * 25, "a--b", "1abc", "abc-"])
def test_a_name_prefix_outside_the_rule_says_the_whole_rule(prefix):
    assert problems(project={"name_prefix": prefix}) == [
        f"project.name_prefix: {prefix!r} must be 3-24 characters of lowercase letters, digits and single hyphens, "
        "starting with a letter (it becomes part of bucket, role and domain names)"
    ]


def test_a_bad_environment_name_is_reported_with_its_rule():
    assert problems(project={"environment": "QA"}) == [
        "project.environment: 'QA' must be 1-16 lowercase letters, digits or hyphens"
    ]


def test_a_pinned_region_that_is_not_a_region_is_reported_once_at_project_region():
    assert problems(project={"region": "mars-1"}) == [
        "project.region: 'mars-1' is not an AWS region name like us-west-2"
    ]


def test_a_region_from_the_shell_that_is_not_a_region_is_reported_once_with_where_it_came_from():
    # The default state bucket carries the region: its problem would only repeat the region's.
    document = raw(project={"account_id": "210987654321"})
    del document["state"]["bucket"]
    with pytest.raises(ConfigError) as info:
        parse_config(document, env={"AWS_REGION": "US-WEST-2"}, source="test.toml")
    assert info.value.problems == [
        "region: 'US-WEST-2' (from project.region, AWS_REGION or AWS_DEFAULT_REGION) is not an AWS region name "
        "like us-west-2"
    ]


def test_an_iso_region_without_a_letter_is_in_the_aws_iso_partition():
    config = accepted(project={"account_id": "210987654321"}).model_copy(update={"region": "us-iso-east-1"})
    assert config.state_kms_key_id == "arn:aws-iso:kms:us-iso-east-1:210987654321:alias/studio-test-tfstate"


ALLOWED = "letters, digits, spaces and _ . : / = + - @ only (IAM, CloudWatch Logs, SageMaker refuse it)"
EVERY_SERVICE = "(CodeArtifact, DynamoDB, IAM, KMS, CloudWatch Logs, SageMaker refuse it)"


@pytest.mark.parametrize(
    "tags, expected",
    [
        ({"AWS:Owner": "me"}, ["tags.AWS:Owner: keys starting with 'aws:' are reserved for AWS"]),
        ({"bad key!": "x"}, [f"tags.bad key!: key 'bad key!' has characters tags may not hold ('!'): {ALLOWED}"]),
        ({"Team": "x" * 257}, [f"tags.Team: value is 257 characters, more than 256 {EVERY_SERVICE}"]),
        (
            {"aws:x": "x" * 257},
            [
                "tags.aws:x: keys starting with 'aws:' are reserved for AWS",
                f"tags.aws:x: value is 257 characters, more than 256 {EVERY_SERVICE}",
            ],
        ),
        (
            {"Owner": "ml (team a), b"},
            [f"tags.Owner: value 'ml (team a), b' has characters tags may not hold ('(' ')' ','): {ALLOWED}"],
        ),
        ({"K" * 129: "v"}, [f"tags.{'K' * 129}: key is 129 characters, more than 128 {EVERY_SERVICE}"]),
    ],
    ids=["aws-prefix-any-case", "bad-character", "long-value", "both", "parentheses-and-comma", "long-key"],
)
def test_a_bad_tag_is_reported_at_its_key(tags, expected):
    assert problems(tags=tags) == expected


# --------------------------------------------------------------------------- network


@pytest.mark.parametrize(
    "vpc_cidr, message",
    [
        ("fd00::/56", "'fd00::/56' must be IPv4"),
        ("10.10.0.0/15", "'10.10.0.0/15' prefix must be between /16 and /28 (AWS VPC limits)"),
        ("10.10.0.0/29", "'10.10.0.0/29' prefix must be between /16 and /28 (AWS VPC limits)"),
        ("172.32.0.0/16", "'172.32.0.0/16' must be inside a private range (10/8, 172.16/12, 192.168/16)"),
        ("10.10.0.1/16", "'10.10.0.1/16' is not a valid IPv4 network CIDR (10.10.0.1/16 has host bits set)"),
    ],
)
def test_a_bad_vpc_cidr_is_reported_with_the_limit_it_breaks(vpc_cidr, message):
    assert problems(network={"vpc_cidr": vpc_cidr}) == [f"network.vpc_cidr: {message}"]


@pytest.mark.parametrize("vpc_cidr", ["192.168.0.0/16", "172.16.0.0/16", "10.10.0.0/16"])
def test_every_private_range_is_a_valid_vpc(vpc_cidr):
    assert accepted(network={"vpc_cidr": vpc_cidr}).network.vpc_cidr == vpc_cidr


def test_a_vpc_of_28_is_within_the_vpc_limits_but_too_small_for_two_carved_subnets():
    assert problems(network={"vpc_cidr": "10.10.0.0/28", "subnet_prefix_length": 28}) == [
        "network.subnet_prefix_length: 2 subnets of /28 do not fit in 10.10.0.0/28"
    ]


def test_six_azs_are_the_most_accepted():
    assert accepted(network={"az_count": 6}).network.az_count == 6
    assert problems(network={"az_count": 7}) == [
        "network.az_count: 7 is more than 6, the most availability zones any region has (us-east-1): one subnet per zone"
    ]


NOT_AN_ID = (
    "is not an availability zone ID such as 'use1-az4' (AZ names and letters differ between accounts; "
    "IDs do not: `aws ec2 describe-availability-zones` lists both)"
)


@pytest.mark.parametrize(
    "network, expected",
    [
        ({"az_count": 3, "availability_zone_ids": ["usw2-az1", "usw2-az2", "usw2-az2"]}, ["contains duplicates"]),
        ({"availability_zone_ids": ["usw2-az1", "us-west-2b"]}, [f"'us-west-2b' {NOT_AN_ID}"]),
        ({"availability_zone_ids": ["usw2-az1", "b"]}, [f"'b' {NOT_AN_ID}"]),
        ({"availability_zone_ids": ["usw2-az1"]}, ["1 given but az_count is 2"]),
        ({"availability_zone_ids": ["usw2-az1", "usw2-az2", "usw2-az3"]}, ["3 given but az_count is 2"]),
        (
            {"availability_zone_ids": ["usw2-az1", "use1-az2"]},
            ["'use1-az2' is not a zone of us-west-2 (its zone IDs start with usw2-)"],
        ),
    ],
)
def test_bad_availability_zone_ids_are_reported(network, expected):
    assert problems(network=network) == [f"network.availability_zone_ids: {m}" for m in expected]


def test_zone_ids_of_the_region_are_accepted_in_their_order():
    assert accepted(network={"availability_zone_ids": ["usw2-az4", "usw2-az1"]}).network.availability_zone_ids == (
        "usw2-az4",
        "usw2-az1",
    )


def test_az_letters_are_refused_with_the_way_to_pin_zones_by_id():
    (message,) = problems(network={"availability_zones": ["a", "c"]})
    assert message.startswith(
        "network.availability_zones: AZ letters are gone: the letter b names a different zone in every account"
    )
    assert "network.availability_zone_ids" in message and "describe-availability-zones" in message


def test_a_list_that_disagrees_with_a_bad_az_count_only_reports_the_az_count():
    # The count to compare with is unknown: comparing would report a second, invented problem.
    assert problems(
        network={
            "az_count": 7,
            "availability_zone_ids": ["usw2-az1"],
            "subnet_cidrs": ["10.10.0.0/24"],
            "subnet_prefix_length": 24,
        }
    ) == [
        "network.az_count: 7 is more than 6, the most availability zones any region has (us-east-1): one subnet per zone"
    ]


@pytest.mark.parametrize(
    "subnets, expected",
    [
        (
            ["10.10.0.0/24", "10.10.1.1/24"],
            ["'10.10.1.1/24' is not a valid IPv4 network CIDR (10.10.1.1/24 has host bits set)"],
        ),
        # An unparsable subnet does not stop the check of the next one.
        (
            ["10.10.0.300/24", "10.20.0.0/24"],
            [
                "'10.10.0.300/24' is not a valid IPv4 network CIDR ('10.10.0.300/24' does not appear to be an IPv4 or IPv6 network)",
                "10.20.0.0/24 is not inside the VPC 10.10.0.0/16",
            ],
        ),
        (
            ["10.10.0.0/29", "10.10.0.8/29"],
            ["10.10.0.0/29 prefix must be between /16 and /28", "10.10.0.8/29 prefix must be between /16 and /28"],
        ),
        (
            ["10.0.0.0/15", "10.10.1.0/24"],
            ["10.0.0.0/15 prefix must be between /16 and /28", "10.0.0.0/15 is not inside the VPC 10.10.0.0/16"],
        ),
        (["10.10.0.0/16", "10.10.1.0/24"], ["10.10.0.0/16 and 10.10.1.0/24 overlap"]),  # /16 is a valid subnet size
        (
            ["fd00::/64", "10.10.1.0/24"],
            ["fd00::/64 prefix must be between /16 and /28", "fd00::/64 is not inside the VPC 10.10.0.0/16"],
        ),
    ],
)
def test_bad_subnet_cidrs_are_all_reported(subnets, expected):
    assert problems(network={"subnet_cidrs": subnets}) == [f"network.subnet_cidrs: {m}" for m in expected]


def test_subnets_of_28_are_the_smallest_accepted():
    config = accepted(network={"subnet_cidrs": ["10.10.0.0/28", "10.10.0.16/28"]})
    assert config.subnet_cidrs == ("10.10.0.0/28", "10.10.0.16/28")


def test_subnets_are_not_compared_with_a_bad_vpc():
    assert problems(
        network={"vpc_cidr": "8.8.0.0/16", "subnet_cidrs": ["10.10.0.0/24", "10.10.1.0/24"], "subnet_prefix_length": 24}
    ) == ["network.vpc_cidr: '8.8.0.0/16' must be inside a private range (10/8, 172.16/12, 192.168/16)"]


@pytest.mark.parametrize(
    "network, expected",
    [
        ({"subnet_prefix_length": 15}, "/15 must be between /16 and /28"),
        ({"subnet_prefix_length": 29}, "/29 must be between /16 and /28"),
        ({"subnet_prefix_length": 16}, "2 subnets of /16 do not fit in 10.10.0.0/16"),  # a valid length, too big here
        ({"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 20}, "/20 is larger than the VPC 10.10.0.0/24"),
        ({"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 24}, "2 subnets of /24 do not fit in 10.10.0.0/24"),
        (
            {"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 25, "az_count": 3},
            "3 subnets of /25 do not fit in 10.10.0.0/24",
        ),
    ],
)
def test_a_subnet_prefix_length_that_cannot_be_carved_says_why(network, expected):
    assert problems(network=network) == [f"network.subnet_prefix_length: {expected}"]


@pytest.mark.parametrize(
    "network, carved",
    [
        ({"subnet_prefix_length": 28}, ("10.10.0.0/28", "10.10.0.16/28")),
        ({"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 25}, ("10.10.0.0/25", "10.10.0.128/25")),  # exactly fits
        (
            {"vpc_cidr": "10.10.0.0/24", "subnet_prefix_length": 26, "az_count": 4},
            ("10.10.0.0/26", "10.10.0.64/26", "10.10.0.128/26", "10.10.0.192/26"),
        ),
    ],
)
def test_subnets_that_just_fit_are_carved(network, carved):
    assert accepted(network=network).subnet_cidrs == carved


def test_explicit_subnets_make_the_prefix_length_moot():
    config = accepted(
        network={
            "vpc_cidr": "10.10.0.0/24",
            "subnet_prefix_length": 24,
            "subnet_cidrs": ["10.10.0.0/25", "10.10.0.128/25"],
        }
    )
    assert config.subnet_cidrs == ("10.10.0.0/25", "10.10.0.128/25")


@pytest.mark.parametrize(
    "network, expected",
    [
        (
            {"vpc_cidr": "8.8.0.0/16", "subnet_prefix_length": 24},
            "network.vpc_cidr: '8.8.0.0/16' must be inside a private range (10/8, 172.16/12, 192.168/16)",
        ),
        (
            {"az_count": 7, "subnet_prefix_length": 24},
            "network.az_count: 7 is more than 6, the most availability zones any region has (us-east-1): one subnet per zone",
        ),
    ],
)
def test_the_prefix_length_is_not_checked_against_a_bad_vpc_or_az_count(network, expected):
    assert problems(network=network) == [expected]


def test_unknown_and_duplicated_endpoints_and_missing_required_ones_are_all_reported():
    assert problems(network={"interface_endpoints": ["sagemaker.api", "sqs", "sqs"]}) == [
        f"network.interface_endpoints: unknown service(s) ['sqs', 'sqs']; known: {KNOWN_ENDPOINTS}",
        "network.interface_endpoints: contains duplicates",
        "network.interface_endpoints: 'sagemaker.runtime' is required for Studio in VpcOnly mode",
        "network.interface_endpoints: 'sts' is required for Studio in VpcOnly mode",
    ]


def test_a_flow_log_retention_names_the_values_cloudwatch_accepts():
    assert problems(network={"flow_log_retention_days": 2}) == [
        "network.flow_log_retention_days: 2 is not a CloudWatch Logs retention value ([1, 3, 5, 7, 14, 30, 60, 90, "
        "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653])"
    ]


# --------------------------------------------------------------------------- state


@pytest.mark.parametrize(
    "bucket, why",
    [
        ("my..bucket", "must not contain adjacent dots or a dot next to a hyphen"),
        ("my.-bucket", "must not contain adjacent dots or a dot next to a hyphen"),
        ("my-.bucket", "must not contain adjacent dots or a dot next to a hyphen"),
        ("10.0.0.1", "must not look like an IP address"),
        ("xn--bucket", "uses a prefix or suffix that S3 reserves"),
        ("sthree-bucket", "uses a prefix or suffix that S3 reserves"),
        ("amzn-s3-demo-bucket", "uses a prefix or suffix that S3 reserves"),
        ("bucket-s3alias", "uses a prefix or suffix that S3 reserves"),
        ("bucket--ol-s3", "uses a prefix or suffix that S3 reserves"),
        ("bucket--x-s3", "uses a prefix or suffix that S3 reserves"),
        ("bucket.mrap", "uses a prefix or suffix that S3 reserves"),
    ],
)
def test_a_bucket_name_s3_refuses_is_refused_with_the_rule(bucket, why):
    assert problems(state={"bucket": bucket}) == [f"state.bucket: {bucket!r} {why}"]


@pytest.mark.parametrize("bucket", ["my.bucket-1", "xn-bucket", "s3alias-bucket", "mrap.bucket"])
def test_a_bucket_name_close_to_a_reserved_one_is_accepted(bucket):
    assert accepted(state={"bucket": bucket}).state.bucket == bucket


@pytest.mark.parametrize("key_prefix", ["/studio", "studio/", "stu dio"])
def test_a_state_key_prefix_with_a_leading_or_trailing_slash_or_a_bad_character_is_refused(key_prefix):
    assert problems(state={"key_prefix": key_prefix}) == [
        f"state.key_prefix: {key_prefix!r} must be an S3 key prefix without leading or trailing '/'"
    ]


@pytest.mark.parametrize("path", ["", "/var/state.tfstate", "../state.tfstate", "terraform-state/../../x.tfstate"])
def test_a_bootstrap_state_path_outside_the_project_is_refused(path):
    assert problems(state={"bootstrap_state_path": path}) == [
        f"state.bootstrap_state_path: {path!r} must be a relative path inside the project"
    ]


def test_a_bootstrap_state_path_with_dots_in_names_is_inside_the_project():
    config = accepted(state={"bootstrap_state_path": "terraform-state/..hidden/state.tfstate"})
    assert config.bootstrap_state_file == "terraform-state/..hidden/us-west-2/state.tfstate"


# --------------------------------------------------------------------------- workload


@pytest.mark.parametrize("days", [1, 3650])
def test_old_versions_are_kept_1_to_3650_days(days):
    assert (
        accepted(workload={"noncurrent_version_expiration_days": days}).workload.noncurrent_version_expiration_days
        == days
    )


@pytest.mark.parametrize("days", [0, 3651])
def test_old_versions_kept_outside_1_to_3650_days_are_refused(days):
    assert problems(workload={"noncurrent_version_expiration_days": days}) == [
        "workload.noncurrent_version_expiration_days: must be between 1 and 3650"
    ]


def test_a_bad_mlflow_server_name_is_refused():
    assert problems(workload={"mlflow_server_name": "lab_tracking"}) == [
        "workload.mlflow_server_name: 'lab_tracking' must be letters, digits and hyphens"
    ]


@pytest.mark.parametrize("prefix", ["/mlflow", "ml flow"])
def test_a_bad_mlflow_artifact_prefix_is_refused(prefix):
    assert problems(workload={"mlflow_artifact_prefix": prefix}) == [
        f"workload.mlflow_artifact_prefix: {prefix!r} is not a valid S3 key prefix"
    ]


@pytest.mark.parametrize("key", ["data_prefix", "notebooks_prefix"])
@pytest.mark.parametrize("prefix", ["/lab", "lab/", "l ab"])
def test_a_bad_prefix_in_the_notebooks_bucket_is_refused(key, prefix):
    assert problems(workload={key: prefix}) == [
        f"workload.{key}: {prefix!r} must be an S3 key prefix without leading or trailing '/'"
    ]


def test_the_upstream_repository_must_differ_from_the_one_users_log_in_to():
    assert problems(workload={"codeartifact_repository": "pypi", "codeartifact_upstream_repository": "pypi"}) == [
        "workload.codeartifact_upstream_repository: must differ from codeartifact_repository"
    ]


def test_a_bad_upstream_repository_is_refused_with_the_repository_rule():
    assert problems(workload={"codeartifact_upstream_repository": "p"}) == [
        "workload.codeartifact_upstream_repository: 'p' must be 2-100 letters, digits, '.', '_' or '-'"
    ]


def test_the_data_file_is_relative_to_the_project_not_to_where_the_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        accepted(workload={"data_file": "notebooks/requirements.txt"}).workload.data_file
        == "notebooks/requirements.txt"
    )
    absolute = tmp_path / "ai4i2020.csv"
    absolute.write_text("UDI\n")
    assert accepted(workload={"data_file": str(absolute)}).workload.data_file == str(absolute)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "here.csv").write_text("UDI\n")  # exists here, not in the project
    assert problems(workload={"data_file": "data/here.csv"}) == [
        "workload.data_file: 'data/here.csv' does not exist (run `make data` or download ai4i2020.csv)"
    ]


# --------------------------------------------------------------------------- the lab's mlflow pin


@pytest.mark.parametrize(
    "text, pin",
    [
        ("numpy==1.26.4\nmlflow==2.17.1\nsagemaker-mlflow==0.1.0\n", "2.17.1"),  # on any line
        ("mlflow==2.17.1   \n", "2.17.1"),
        ("mlflow>=2.17\nsagemaker-mlflow==0.1.0\n", None),  # not a pin
        ("numpy==1.26.4\n", None),
    ],
)
def test_the_labs_mlflow_pin_is_read_from_its_requirements(tmp_path, text, pin):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(text)
    assert lab_mlflow_pin(requirements) == pin


def test_without_requirements_there_is_no_pin(tmp_path):
    assert lab_mlflow_pin(tmp_path / "missing.txt") is None


def test_the_shipped_lab_pin_is_the_one_the_default_tracking_server_matches():
    assert lab_mlflow_pin() == lab_mlflow_pin(PROJECT_ROOT / "notebooks" / "requirements.txt") == "2.16.2"


# --------------------------------------------------------------------------- AWS's own constraints (botocore)


def test_tags_beyond_what_an_s3_object_takes_with_the_default_tags_are_refused():
    eight = {f"Key{i}": "v" for i in range(8)}
    assert accepted(tags=eight).tags == eight
    assert problems(tags={**eight, "Key8": "v"}) == [
        "tags: 9 tags and the provider's default tags Environment and StudioPrefix make 11 on every resource; S3 "
        "takes at most 10 on an object, so every lab upload would fail: keep at most 8 of your own"
    ]
    # Setting a default tag's key yourself replaces it rather than adding one.
    assert accepted(tags={**eight, "Environment": "test"}).tags["Environment"] == "test"


def test_a_user_profile_name_longer_than_sagemaker_takes_is_refused():
    runs = "a" + "-" * 40 + "b" + "-" * 30 + "c"  # the old pattern allowed runs of hyphens of any length
    assert problems(workload={"user_profiles": ["alice", runs]}) == [
        f"workload.user_profiles: {runs!r} is 73 characters; SageMaker's UserProfileName takes at most 63"
    ]
    assert accepted(workload={"user_profiles": ["a" * 63]}).workload.user_profiles == ("a" * 63,)


def test_more_trusted_docker_accounts_than_sagemaker_takes_are_refused():
    accounts = [f"{i:012d}" for i in range(1, 22)]
    assert problems(workload={"docker_trusted_accounts": accounts}) == [
        "workload.docker_trusted_accounts: 21 given; SageMaker's VpcOnlyTrustedAccounts takes at most 20"
    ]
    assert len(accepted(workload={"docker_trusted_accounts": accounts[:20]}).workload.docker_trusted_accounts) == 20


def test_an_instance_type_outside_the_apis_enum_is_refused_with_the_nearest_ones():
    assert problems(workload={"jupyterlab_instance_type": "ml.t3.mediun"}) == [
        "workload.jupyterlab_instance_type: 'ml.t3.mediun' is not one of SageMaker's AppInstanceType; did you mean "
        "ml.t3.medium, ml.t3.micro, ml.t3.small?"
    ]


def test_a_region_that_does_not_exist_is_refused():
    assert problems(project={"region": "us-west-3"}) == [
        "project.region: 'us-west-3' is not a region of any AWS partition (botocore 1.35.99); did you mean "
        "us-west-2 or us-west-1?"
    ]


def test_a_region_without_the_services_the_stacks_need_is_refused_with_each_one():
    assert problems(project={"region": "mx-central-1"}) == [
        "project.region: mx-central-1 has no SageMaker (Studio and MLflow) (botocore 1.35.99 endpoint data); the "
        "stacks need it"
        "; way out: deploy to a region of aws that has every service the stacks need (ap-northeast-1, ap-south-1, "
        "ap-southeast-1, ap-southeast-2, eu-central-1, eu-north-1, eu-south-1, eu-west-1, eu-west-2, eu-west-3, us-east-1, "
        "us-east-2, us-west-2); if AWS has launched it in mx-central-1 since, upgrade botocore in Pipfile.lock and run "
        "`python -m isolated_studio.config.aws_constraints`",
        "project.region: mx-central-1 has no CodeArtifact (pip inside the VPC) (botocore 1.35.99 endpoint data); "
        "the stacks need it"
        "; way out: deploy to a region of aws that has every service the stacks need (ap-northeast-1, ap-south-1, "
        "ap-southeast-1, ap-southeast-2, eu-central-1, eu-north-1, eu-south-1, eu-west-1, eu-west-2, eu-west-3, us-east-1, "
        "us-east-2, us-west-2); if AWS has launched it in mx-central-1 since, upgrade botocore in Pipfile.lock and run "
        "`python -m isolated_studio.config.aws_constraints`",
    ]


def test_a_mlflow_version_longer_than_the_api_takes_is_refused():
    assert problems(workload={"mlflow_version": "2." + "1" * 15}) == [
        f"workload.mlflow_version: {'2.' + '1' * 15!r} does not match the lab's client mlflow==2.16.2 "
        "(notebooks/requirements.txt): use '2.16', or change the lab's mlflow and sagemaker-mlflow pins with it"
    ]


# --------------------------------------------------------------------------- the Studio image

IMAGE_SOURCE = "the SageMaker AI Developer Guide's 'Code Editor application instances and images', read 2026-12-07"
DESCRIBE_APP = (
    "`aws sagemaker describe-app --domain-id <domain> --space-name <space> --app-type JupyterLab "
    "--app-name default --query ResourceSpec.SageMakerImageArn`"
)


@pytest.mark.parametrize("version", ["0.0.0", "4.4.1", "10.20.30"])
def test_a_sagemaker_distribution_release_is_accepted(version):
    config = accepted(workload={"studio_image_version": version})
    assert config.workload.studio_image_version == version
    assert config.studio_image_arn == "arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-cpu"


@pytest.mark.parametrize("alias", ["4", "4.4", "v4.4.1", "4.4.1-cpu", "04.4.1", "4.4.1.0", ""])
def test_an_image_alias_that_names_no_single_release_is_refused(alias):
    assert problems(workload={"studio_image_version": alias}) == [
        f"workload.studio_image_version: {alias!r} is not one SageMaker Distribution release: give major.minor.patch, "
        "such as '4.4.1' (a major or major.minor alias names no single release, and the lab's pins are checked "
        "against one release's packages)"
    ]


def test_an_image_release_longer_than_sagemakers_alias_takes_is_refused_by_its_shape():
    release = "4.4." + "1" * 125  # 129 characters; ImageVersionAlias takes at most 128
    assert problems(workload={"studio_image_version": release}) == [
        f"workload.studio_image_version: {release!r} is 129 characters; SageMaker's ImageVersionAlias takes at most 128"
    ]
    assert accepted(workload={"studio_image_version": release[:-1]}).workload.studio_image_version == release[:-1]


def test_us_east_2_is_refused_until_its_image_arn_is_given_because_awss_table_prints_11_digits():
    arn = "arn:aws:sagemaker:us-east-2:37914896644:image/sagemaker-distribution-cpu"
    assert problems(env={"AWS_REGION": "us-east-2"}) == [
        f"workload.studio_image_arn: must be set in us-east-2: AWS's table of SageMaker Distribution images "
        f"({IMAGE_SOURCE}) prints the account there as '37914896644' (11 digits, an account ID has 12), and SageMaker "
        f"would refuse the ARN it makes: {arn!r} does not match SageMaker's ImageArn pattern "
        r"^arn:aws(-[\w]+)*:sagemaker:.+:[0-9]{12}:image/[a-zA-Z0-9]([-.]?[a-zA-Z0-9])*$; set it to the image's ARN "
        f"there, which any JupyterLab app in us-east-2 shows ({DESCRIBE_APP}), as will the page once it prints 12 "
        "digits; or deploy to another region"
    ]
    given = "arn:aws:sagemaker:us-east-2:123456789012:image/sagemaker-distribution-cpu"
    config = accepted(env={"AWS_REGION": "us-east-2"}, workload={"studio_image_arn": given})
    assert config.studio_image_arn == given


def test_a_region_awss_table_has_no_row_for_is_refused_before_terraform(monkeypatch):
    from isolated_studio.config import rules

    table = rules.studio_images()
    monkeypatch.setattr(
        rules,
        "studio_images",
        lambda: {
            **table,
            "accounts": {region: account for region, account in table["accounts"].items() if region != "eu-south-1"},
        },
    )
    assert problems(env={"AWS_REGION": "eu-south-1"}) == [
        f"workload.studio_image_arn: must be set in eu-south-1: AWS's table of SageMaker Distribution images "
        f"({IMAGE_SOURCE}) has no row for eu-south-1; set it to the image's ARN there, which any JupyterLab app in "
        f"eu-south-1 shows ({DESCRIBE_APP}), or deploy to a region the table lists"
    ]


@pytest.mark.parametrize(
    "arn, problem",
    [
        (
            "arn:aws:sagemaker:us-east-1:885854791233:image/sagemaker-distribution-cpu",
            "'arn:aws:sagemaker:us-east-1:885854791233:image/sagemaker-distribution-cpu' is an image in us-east-1, not in "
            "us-west-2: a JupyterLab app runs an image of its own region",
        ),
        (
            "arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-gpu",
            "'arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-gpu' is not the "
            "sagemaker-distribution-cpu image's ARN (arn:<partition>:sagemaker:<region>:<account>:image/"
            "sagemaker-distribution-cpu): the lab's kernel and pins are built for the SageMaker Distribution CPU image",
        ),
        (
            "arn:aws:sagemaker:us-west-2:54291844694:image/sagemaker-distribution-cpu",
            "'arn:aws:sagemaker:us-west-2:54291844694:image/sagemaker-distribution-cpu' does not match SageMaker's "
            r"ImageArn pattern ^arn:aws(-[\w]+)*:sagemaker:.+:[0-9]{12}:image/[a-zA-Z0-9]([-.]?[a-zA-Z0-9])*$",
        ),
    ],
)
def test_an_image_arn_of_another_region_image_or_account_shape_is_refused(arn, problem):
    assert problems(workload={"studio_image_arn": arn}) == [f"workload.studio_image_arn: {problem}"]


@pytest.mark.parametrize("key", ["data_prefix", "notebooks_prefix"])
def test_the_deploys_own_prefix_in_the_notebooks_bucket_is_refused_for_lab_files(key):
    assert problems(workload={key: "isolated-studio/lab"}) == [
        f"workload.{key}: 'isolated-studio/lab' is the deploy's own prefix in the notebooks bucket (the JupyterLab "
        "start script): choose another"
    ]
