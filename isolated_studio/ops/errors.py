"""The workflow's failures, by what the operator should make of them (and the exit code)."""

from __future__ import annotations


class WorkflowError(RuntimeError):
    """A step failed; the message says which one and what to do."""


class Refused(WorkflowError):
    """Nothing was started: a precondition, the target or the operator said no."""
