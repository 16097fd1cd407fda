#!/usr/bin/env python
"""The isolated-studio CDKTF app: `python main.py` (or `cdktf synth`) writes cdktf.out/.

The configuration is loaded and validated before cdktf is imported: a bad file fails in a
fraction of a second with every problem listed, and no Terraform is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from isolated_studio.base.paths import stack_dirs
from isolated_studio.base.terraform import TerraformError, prepare_stack_dirs
from isolated_studio.config import ConfigError, StudioConfig, load_config
from isolated_studio.ops.summary import describe_outdir


def build_app(config: StudioConfig, outdir: str | Path = "cdktf.out"):
    """Build (but do not synthesize) the app with all stacks wired through outputs."""
    # Lazy for speed: a bad configuration fails before cdktf and the provider bindings load (seconds).
    from isolated_studio import bindings

    bindings.install()  # before the stacks import the provider: see isolated_studio/bindings.py

    from cdktf import App

    from stacks.network import NetworkStack
    from stacks.state import StateStack
    from stacks.workload import WorkloadStack

    app = App(outdir=str(outdir), stack_traces=False)
    StateStack(app, "state", config=config)
    network = NetworkStack(app, "network", config=config)
    workload = WorkloadStack(app, "workload", config=config, network=network)
    workload.add_dependency(network)
    return app


def main(argv: list[str] | None = None) -> int:
    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = build_app(config, outdir)
    app.synth()
    try:
        # The cdktf CLI runs Terraform in these directories with no environment of ours.
        prepare_stack_dirs(stack_dirs(outdir).values(), config.provider_mirror)
    except TerraformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe_outdir(outdir, config))
    if config.provider_mirror:
        print(f"Provider mirror: {config.provider_mirror} (linked into every stack directory, with its lock file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
