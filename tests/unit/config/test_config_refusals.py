"""Each bad value is refused by name: network lists, booleans and integers of the wrong type,
the longest tag value, the emulator endpoint, and the count of problems in words.

Written against `parse_config` (TOML data in, ConfigError out), not against how the rules are
implemented, so they hold for any implementation of the configuration.
"""

import pytest
from support import config_document

from isolated_studio.config import DEFAULT_INTERFACE_ENDPOINTS, ConfigError, parse_config

DUPLICATED_ENDPOINTS = [*DEFAULT_INTERFACE_ENDPOINTS, DEFAULT_INTERFACE_ENDPOINTS[0]]

ENV = {"AWS_REGION": "us-west-2"}


raw = config_document


def problems(document) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(document, env=ENV, source="test.toml")
    return str(info.value)


@pytest.mark.parametrize(
    "network, key, words",
    [
        ({"availability_zone_ids": ["usw2-az1", "usw2-az1"]}, "network.availability_zone_ids", "duplicates"),
        ({"az_count": 2, "availability_zone_ids": ["usw2-az1"]}, "network.availability_zone_ids", "az_count"),
        ({"az_count": 2, "subnet_cidrs": ["10.10.0.0/24"]}, "network.subnet_cidrs", "az_count"),
        ({"interface_endpoints": DUPLICATED_ENDPOINTS}, "network.interface_endpoints", "duplicates"),
    ],
)
def test_a_bad_network_list_is_refused_by_name(network, key, words):
    message = problems(raw(network=network))
    assert key in message and words in message, message


def test_a_matching_list_is_accepted():
    config = parse_config(
        raw(
            network={
                "az_count": 2,
                "availability_zone_ids": ["usw2-az1", "usw2-az3"],
                "subnet_cidrs": ["10.10.0.0/24", "10.10.1.0/24"],
            }
        ),
        env=ENV,
        source="t.toml",
    )
    assert config.network.availability_zone_ids == ("usw2-az1", "usw2-az3")


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("network", "az_count", True),  # TOML true is not the integer 1
        ("network", "flow_log_retention_days", False),
    ],
)
def test_a_boolean_where_an_integer_belongs_is_refused(section, key, value):
    message = problems(raw(**{section: {key: value}}))
    assert f"{section}.{key}" in message, message


@pytest.mark.parametrize(
    "section, key",
    [
        ("state", "protect"),
        ("workload", "force_destroy_buckets"),
        ("workload", "retain_home_efs"),
        ("workload", "attach_lifecycle_config"),
    ],
)
def test_an_integer_where_a_boolean_belongs_is_refused(section, key):
    message = problems(raw(**{section: {key: 1}}))
    assert f"{section}.{key}" in message and "true or false" in message, message


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("state", "protect", False),
        ("workload", "force_destroy_buckets", True),
        ("workload", "retain_home_efs", True),
        ("workload", "attach_lifecycle_config", False),
    ],
)
def test_a_boolean_setting_is_read_from_its_own_key(section, key, value):
    config = parse_config(raw(**{section: {key: value}}), env=ENV, source="t.toml")
    assert getattr(getattr(config, section), key) is value


def test_a_tag_value_of_256_characters_is_the_longest_accepted():
    parse_config(raw(tags={"Team": "x" * 256}), env=ENV, source="t.toml")
    assert "tags.Team" in problems(raw(tags={"Team": "x" * 257}))


@pytest.mark.parametrize("endpoint", ["127.0.0.1:4566", "ftp://127.0.0.1:4566", "http://127.0.0.1:4566/path"])
def test_an_emulator_endpoint_that_is_not_an_http_url_is_refused(endpoint):
    assert "emulator.endpoint" in problems(raw(emulator={"endpoint": endpoint}))


def test_one_problem_and_several_problems_are_counted_in_words():
    one = problems(raw(network={"availability_zones": ["a", "a"]}))
    two = problems(raw(network={"availability_zones": ["a", "a"], "interface_endpoints": DUPLICATED_ENDPOINTS}))
    assert "1 configuration problem;" in one and "2 configuration problems;" in two, (one, two)
