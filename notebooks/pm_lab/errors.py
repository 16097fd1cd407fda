"""Exception classes the lab raises for problems a user can fix.

Each one carries a message saying what is wrong and what to do; the notebook
lets them propagate so that the failing cell shows that message and nothing
else has been written to MLflow.
"""


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
