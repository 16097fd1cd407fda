"""`python -m isolated_studio.ops.terraform`: print the path of the project's Terraform CLI
configuration for the decided provider mirror (export it as TF_CLI_CONFIG_FILE).

The CLI wrapper itself is isolated_studio.base.terraform; this command sits in ops/ because
it loads the configuration (the base layer may not)."""

from __future__ import annotations

import sys

from isolated_studio.base.terraform import write_cli_config
from isolated_studio.config import ConfigError, load_config


def main() -> int:
    try:
        mirror = load_config().provider_mirror
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(write_cli_config(mirror))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
