"""`isolated-studio emulator`: moto's server (local AWS) for STUDIO_ENV=emulator, in the foreground.

moto's server of the interpreter this command runs on (the locked moto[server]), with the two
repeats it answers unlike AWS made AWS's (isolated_studio/ops/emulator_server.py), on loopback
only: nobody else should reach the emulated account. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence

from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=context.usage_name, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(context.environ.get("EMULATOR_PORT", 4566)),
        help="port to listen on (default: EMULATOR_PORT or 4566, config/emulator.toml's)",
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("moto") is None:
        print(f"error: moto[server] is not installed for {sys.executable} (make setup)", file=sys.stderr)
        return 1
    command = [sys.executable, "-m", "isolated_studio.ops.emulator_server", "-H", "127.0.0.1", "-p", str(args.port)]
    os.execv(sys.executable, command)
    return 1  # not reached: execv replaces this process
