"""cdktf's Testing matchers, imported once and kept away from pytest's collector."""

from cdktf import Testing

Testing.__test__ = False  # its name starts with "Test": pytest would try to collect it


def has(text: str, resource_type: str, properties: dict) -> bool:
    return Testing.to_have_resource_with_properties(text, resource_type, properties)


def has_data(text: str, data_type: str, properties: dict) -> bool:
    return Testing.to_have_data_source_with_properties(text, data_type, properties)


def has_provider(text: str, provider_type: str, properties: dict) -> bool:
    return Testing.to_have_provider_with_properties(text, provider_type, properties)
