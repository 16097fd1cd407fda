"""Every synthesized stack is valid Terraform for the real hashicorp/aws 5.100.0 provider."""

import pytest
from support import require_terraform

from isolated_studio.checks.validate import validate_outdir

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def results(synth, provider_mirror):
    require_terraform()
    return {r.stack: r for r in validate_outdir(synth.outdir, provider_mirror)}


@pytest.mark.parametrize("stack", ["state", "network", "workload"])
def test_stack_passes_terraform_validate(results, stack):
    assert stack in results, f"stack {stack} was not synthesized"
    assert results[stack].valid, results[stack].describe()


def test_validate_catches_an_invalid_stack(tmp_path, provider_mirror):
    """The gate itself: a stack with a wrong attribute must be reported invalid."""
    require_terraform()
    import json

    from isolated_studio.base.terraform import terraform_env
    from isolated_studio.checks.validate import validate_stack

    stack = tmp_path / "broken"
    stack.mkdir()
    (stack / "cdk.tf.json").write_text(
        json.dumps(
            {
                "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
                "provider": {"aws": [{"region": "us-west-2"}]},
                "resource": {"aws_vpc": {"v": {"cidr_block": "10.0.0.0/16", "enable_dns_supportt": True}}},
            }
        )
    )
    result = validate_stack("broken", stack, terraform_env(provider_mirror))
    assert not result.valid
    assert "enable_dns_supportt" in result.describe()
