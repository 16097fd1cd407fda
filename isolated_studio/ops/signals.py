"""Signals to the workflow reach Terraform as an interrupt, and never kill it.

Terraform runs in its own process group (:mod:`isolated_studio.ops.runner`), so neither a
terminal's Ctrl-C nor a ``kill`` of the workflow reaches it directly. SIGINT, SIGTERM and
SIGHUP to the workflow are forwarded to every running Terraform as SIGINT: Terraform then
finishes what is in flight (a Studio domain or MLflow create takes 25-45 min), writes its
state and releases its lock. The workflow keeps streaming its output until it exits and
starts nothing new. There is no kill timer: a second signal is forwarded too, which makes
Terraform stop at once ("data loss may occur"), with a warning.

A handler that does not raise lets Python resume the read it interrupted (PEP 475), which
is what keeps Terraform's output flowing. Only at a confirmation prompt does a signal raise
KeyboardInterrupt, so that the prompt ends (as a "no").
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from isolated_studio.ops.errors import WorkflowError

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(WorkflowError):
    """A signal stopped the run; the message says where, ``stack`` which stack's Terraform."""

    def __init__(self, message: str, *, stack: str | None = None) -> None:
        super().__init__(message)
        self.stack = stack


class Interrupts:
    """The signals this run received, and the Terraform processes they are forwarded to."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self._children: set[subprocess.Popen[Any]] = set()
        self._lock = threading.Lock()
        self._prompting = False
        self._previous: dict[int, Any] = {}

    # ------------------------------------------------------------ installing

    def install(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    # ------------------------------------------------------------ what the runner and the workflow use

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    def check(self, what: str) -> None:
        """Raise Interrupted instead of starting ``what`` once a signal came in."""
        if self.received:
            raise Interrupted(f"{self.received[0]} received: {what} not started")

    @contextmanager
    def child(self, proc: subprocess.Popen[Any]) -> Iterator[None]:
        with self._lock:
            self._children.add(proc)
        try:
            yield
        finally:
            with self._lock:
                self._children.discard(proc)

    @contextmanager
    def prompting(self) -> Iterator[None]:
        """While the operator is asked to confirm, a signal ends the prompt."""
        self.check("the confirmation")
        self._prompting = True
        try:
            yield
        finally:
            self._prompting = False

    def forward(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` to every running Terraform's process group; returns how many."""
        with self._lock:
            children = [p for p in self._children if p.poll() is None]
        for proc in children:
            try:
                os.killpg(proc.pid, signum)
            except ProcessLookupError:
                pass
        return len(children)

    # ------------------------------------------------------------ the handler

    def _handle(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        first = len(self.received) == 1
        running = self.forward(signal.SIGINT)
        if running and first:
            _warn(
                f"\n{name} received: Terraform was asked to stop. It finishes what is in flight, "
                "writes its state and releases its lock; its output follows. A second signal "
                "stops it at once (state may then miss what was in flight).\n"
            )
        elif running:
            _warn(
                f"\nWARNING: {name} again: Terraform stops at once. Resources being created or "
                "deleted right now may be missing from its state, and its lock may stay held; "
                "the run's summary says which.\n"
            )
        elif first:
            _warn(f"\n{name} received: stopping before the next step.\n")
        if self._prompting:
            raise KeyboardInterrupt


def _warn(text: str) -> None:
    # os.write: print() is not safe to reenter from a signal handler.
    os.write(2, text.encode())
