"""`isolated-studio emulator`: moto's server (local AWS) for STUDIO_ENV=emulator, in the foreground.

The moto_server of the environment this command runs from (the locked moto[server]), on
loopback only: the emulator holds state files and credentials nobody else should reach.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=context.prog, description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(context.environ.get("EMULATOR_PORT", 4566)),
                        help="port to listen on (default: EMULATOR_PORT or 4566; config/emulator.toml uses 4566)")
    args = parser.parse_args(argv)
    server = Path(sys.executable).parent / "moto_server"
    if not server.is_file():
        print(f"error: {server} not found: moto[server] is not installed in this environment (make setup)",
              file=sys.stderr)
        return 1
    os.execv(server, [str(server), "-H", "127.0.0.1", "-p", str(args.port)])
    return 1  # not reached: execv replaces this process
