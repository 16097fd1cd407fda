"""Exception classes the lab raises for problems a user can fix.

Each one carries a message saying what is wrong and what to do; the notebook
lets them propagate so that the failing cell shows that message and nothing
else has been written to MLflow.
"""

from typing import Any


class LabError(Exception):
    """Base class of every error the lab raises on purpose."""


class LabDataError(LabError, ValueError):
    """The input data is missing, unreadable or not shaped like AI4I 2020."""


class TrackingServerError(LabError):
    """The MLflow tracking server cannot be found, reached or used."""


class StudioError(LabError):
    """A SageMaker Studio resource (domain, CodeArtifact, ...) is not usable."""


class RemoteExecutionError(LabError):
    """``execution_mode='remote'`` cannot run (SDK missing, no network settings)."""


class KernelRestartRequired(LabError):
    """pip replaced a package the kernel had already imported: restart the kernel and run again."""


class KernelSwitchRequired(LabError):
    """The notebook runs in the image's base environment: switch to the lab's own kernel."""


def short_traceback(shell: Any, etype: type, value: BaseException, tb: object, tb_offset: object = None) -> list[str]:
    """IPython custom exception handler for the lab's errors: the message, whole, and no traceback.

    The lab's exceptions carry a message that says what is wrong and what to do; the
    traceback through MLflow, requests and urllib3 under it (over 250 lines for a dead
    server) hides that message. The full traceback stays available: ``%tb`` in a new cell
    prints it. An MLflow run left open by the failing cell is ended as FAILED, so the
    experiment shows what happened instead of a run "running" forever.
    """
    import sys

    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        while mlflow.active_run() is not None:
            mlflow.end_run("FAILED")
    # What %tb shows (IPython's custom-exception path does not record it), then the short form.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    shell._showtraceback(etype, value, [f"{etype.__name__}: {value}", "(the full traceback: run %tb in a new cell)"])
    return None


def install_short_tracebacks() -> None:
    """Show :class:`LabError` s in this IPython kernel as :func:`short_traceback` does (no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), short_traceback)
