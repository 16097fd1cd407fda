"""One workflow run at a time per checkout.

Two runs in one checkout share the synthesized app (``cdktf.out``), its ``.terraform``
directories and provider copies: a second synthesis or ``terraform init`` under a running
apply corrupts both. The run holds an exclusive ``flock`` on ``<outdir>.lock`` for its whole
life; the kernel releases it when the process ends however it ends, so a lock is never
stale. The file names the holder, for the message the next run prints.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from isolated_studio.ops.errors import Refused


def lock_path(outdir: Path) -> Path:
    return outdir.with_name(outdir.name + ".lock")


@contextmanager
def hold(outdir: Path, command: str) -> Iterator[Path]:
    """Hold the checkout's run lock, or refuse, naming the run that holds it."""
    path = lock_path(outdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(
                f"another workflow run is using {outdir}: {_holder(fd)}. One run at a time per "
                f"checkout: wait for it to finish ({path} is released when it exits)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "command": command,
                    "user": getpass.getuser(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                }
            ).encode(),
            0,
        )
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        info = {}
    if not info:
        return "a run that has not said who it is yet"
    return (
        f"`{info.get('command')}` (pid {info.get('pid')}) by {info.get('user')}@{info.get('host')} "
        f"since {info.get('since')}"
    )
