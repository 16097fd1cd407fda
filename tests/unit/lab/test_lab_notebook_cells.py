"""The notebook's cells as committed: one tagged parameters cell declaring every setting, and the @job functions."""

from __future__ import annotations

from typing import Any

import nbformat
from lab_fixtures import NOTEBOOK


def test_parameters_cell_is_tagged_and_declares_every_setting() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    namespace: dict[str, Any] = {}
    exec(tagged[0].source, namespace)  # the cell only assigns literals
    expected = {
        "tracking_uri",
        "experiment_name",
        "data_path",
        "execution_mode",
        "seed",
        "model_name",
        "codeartifact_domain",
        "codeartifact_repository",
        "codeartifact_domain_owner",
        "tracking_server_arn",
        "domain_id",
        "recall_target",
        "remote_image_uri",
        "remote_keep_alive_period_in_seconds",
        "remote_instance_type",
    }
    assert expected <= set(namespace)
    assert namespace["execution_mode"] == "local"
    # Everything that differs between a laptop and Studio is left empty, for the settings file.
    from pm_lab.settings import PARAMETER_SOURCES

    assert {name: namespace[name] for name in PARAMETER_SOURCES} == dict.fromkeys(PARAMETER_SOURCES, "")
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_job_functions_are_decorated_in_the_notebook_and_log_from_inside() -> None:
    """What the notebook shows: the @job functions, their MLflow calls, positional parameters only."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    jobs = [cell.source for cell in notebook.cells if "job-function" in cell.metadata.get("tags", [])]
    assert len(jobs) == 3  # preprocessing, tuning, training
    for source in jobs:
        assert source.count("@job\n") == 1 and "with jobs.resume(run):" in source
        assert "mlflow.log_" in source
        assert "*," not in source  # SDK 2.232's @remote fails on keyword-only parameters
