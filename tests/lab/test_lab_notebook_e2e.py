"""The real notebook, executed by a real kernel, against a real ``mlflow server``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import nbformat
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from nbclient.exceptions import CellExecutionError
from pm_lab import synthetic
from pm_lab.data import FEATURES
from pm_lab.steps import LAB_RUN_TAG

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "private-mlflow.ipynb"
RUN_NAMES = ["evaluation", "preprocessing", "training"]
METRICS = ["accuracy", "precision", "recall", "roc_auc"]


def parameters(**overrides: Any) -> dict[str, Any]:
    """Laptop parameters, as a user would set them for a local run."""
    return {"execution_mode": "local", "seed": 42, "n_estimators": 150, **overrides}


def test_parameters_cell_is_tagged_and_declares_every_setting() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    namespace: dict[str, Any] = {}
    exec(tagged[0].source, namespace)  # the cell only assigns literals
    expected = {
        "tracking_uri", "experiment_name", "data_path", "execution_mode", "seed", "model_name",
        "codeartifact_domain", "codeartifact_repository", "codeartifact_domain_owner",
        "tracking_server_arn", "domain_id",
    }
    assert expected <= set(namespace)
    assert namespace["execution_mode"] == "local"
    # Where `make data` writes, seen from the notebook's folder.
    assert namespace["data_path"] == "../data/ai4i2020.csv"
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def _runs_by_name(client: MlflowClient, experiment_name: str) -> dict[str, Any]:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"experiment {experiment_name} was not created"
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in runs) == RUN_NAMES
    return {run.info.run_name: run for run in runs}


def _input_contexts(run: Any) -> dict[str, Any]:
    return {
        next(tag.value for tag in entry.tags if tag.key == "mlflow.data.context"): entry.dataset
        for entry in run.inputs.dataset_inputs
    }


def test_notebook_runs_end_to_end_and_registers_a_working_model(
    mlflow_server: str, ai4i_csv: Path, run_notebook: Callable[[dict[str, Any]], Any]
) -> None:
    notebook = run_notebook(
        parameters(
            tracking_uri=mlflow_server,
            data_path=str(ai4i_csv),
            experiment_name="pm-e2e",
            model_name="pm-e2e-model",
        )
    )
    client = MlflowClient(tracking_uri=mlflow_server)
    runs = _runs_by_name(client, "pm-e2e")
    assert {run.info.status for run in runs.values()} == {"FINISHED"}
    assert len({run.data.tags[LAB_RUN_TAG] for run in runs.values()}) == 1

    preprocessing = runs["preprocessing"]
    assert preprocessing.data.params["seed"] == "42"
    assert preprocessing.data.metrics["train_rows"] == 8000
    assert preprocessing.data.metrics["validation_rows"] == 1000
    assert preprocessing.data.metrics["test_rows"] == 1000
    raw = _input_contexts(preprocessing)["raw"]
    assert raw.name == "ai4i2020"
    assert str(ai4i_csv) in raw.source
    assert '"num_rows": 10000' in raw.profile

    training = runs["training"]
    assert set(_input_contexts(training)) == {"training", "validation"}
    assert training.data.params["n_estimators"] == "150"
    assert all(f"validation_{name}" in training.data.metrics for name in METRICS)
    assert training.data.tags["pm_lab.preprocessing_run_id"] == preprocessing.info.run_id

    evaluation = runs["evaluation"]
    assert set(_input_contexts(evaluation)) == {"test"}
    test_metrics = {name: evaluation.data.metrics[f"test_{name}"] for name in METRICS}
    assert test_metrics["roc_auc"] > 0.9
    assert test_metrics["accuracy"] > 0.9
    assert 0.0 < test_metrics["recall"] <= 1.0

    (version,) = client.search_model_versions("name='pm-e2e-model'")
    assert version.version == "1"
    assert version.run_id == training.info.run_id
    assert float(version.tags["test_roc_auc"]) == pytest.approx(test_metrics["roc_auc"], abs=1e-4)

    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    try:
        model = mlflow.pyfunc.load_model("models:/pm-e2e-model/1")
    finally:
        mlflow.set_tracking_uri(previous_uri)
    assert model.metadata.get_input_schema().input_names() == list(FEATURES)
    assert model.metadata.saved_input_example_info is not None
    new_rows = synthetic.generate(rows=50, seed=7)[list(FEATURES)]
    predictions = model.predict(new_rows)
    assert len(predictions) == 50
    assert set(pd.unique(predictions)) <= {0, 1}

    (shown,) = [out for out in notebook.cells[-1].outputs if out["output_type"] == "execute_result"]
    assert "predicted_failure" in shown["data"]["text/plain"]


def test_bad_data_stops_the_notebook_before_any_run(
    mlflow_server: str,
    tmp_path: Path,
    generated_frame: pd.DataFrame,
    run_notebook: Callable[[dict[str, Any]], Any],
) -> None:
    bad_csv = tmp_path / "no-torque.csv"
    generated_frame.drop(columns=["Torque [Nm]"]).to_csv(bad_csv, index=False)
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(
            parameters(
                tracking_uri=mlflow_server,
                data_path=str(bad_csv),
                experiment_name="pm-bad-data",
                model_name="pm-bad-data-model",
            )
        )
    assert failure.value.ename == "LabDataError"
    assert "missing required column(s) ['Torque [Nm]']" in failure.value.evalue
    client = MlflowClient(tracking_uri=mlflow_server)
    assert client.get_experiment_by_name("pm-bad-data") is None
    assert client.search_registered_models("name='pm-bad-data-model'") == []


def test_unreachable_tracking_server_fails_fast_and_creates_nothing(
    unreachable_tracking_uri: str, ai4i_csv: Path, run_notebook: Callable[[dict[str, Any]], Any]
) -> None:
    workdir: Path = run_notebook.workdir  # type: ignore[attr-defined]
    before = sorted(path.name for path in workdir.iterdir())
    # How quickly it fails is a matter of the settings tracking.connect passes to MLflow
    # (asserted in test_lab_tracking.py), not of a wall clock on a loaded machine.
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(parameters(tracking_uri=unreachable_tracking_uri, data_path=str(ai4i_csv)))
    assert failure.value.ename == "TrackingServerError"
    assert f"Cannot reach the MLflow tracking server at {unreachable_tracking_uri}" in failure.value.evalue
    # Nothing was logged anywhere: no local ./mlruns fallback, no new files.
    assert sorted(path.name for path in workdir.iterdir() if path.name != "__pycache__") == before


def test_remote_mode_without_studio_settings_stops_before_any_aws_call(
    ai4i_csv: Path, run_notebook: Callable[[dict[str, Any]], Any]
) -> None:
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(
            parameters(execution_mode="remote", region="eu-west-1", data_path=str(ai4i_csv))
        )
    assert failure.value.ename == "StudioError"
    assert "CodeArtifact domain, repository not set" in failure.value.evalue
