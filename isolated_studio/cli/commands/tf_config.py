"""`isolated-studio tf-config`: print the path of the Terraform CLI config for the decided provider
mirror (``export TF_CLI_CONFIG_FILE=$(isolated-studio tf-config)``), as
``python -m isolated_studio.ops.terraform`` does."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from isolated_studio.config import ConfigError
from isolated_studio.ops.context import RunContext
from isolated_studio.ops.terraform import write_cli_config


def run(context: RunContext, argv: Sequence[str]) -> int:
    argparse.ArgumentParser(prog=context.usage_name, description=__doc__.splitlines()[0]).parse_args(argv)
    try:
        mirror = context.load_config().provider_mirror
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(write_cli_config(mirror))
    return 0
