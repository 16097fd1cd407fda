"""The real notebook, executed by a real kernel, against a real ``mlflow server``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from nbclient.exceptions import CellExecutionError

import pm_lab
from pm_lab import synthetic
from pm_lab.data import FEATURES

#: The notebook's defaults, which the settings-file run keeps.
EXPERIMENT, MODEL = "predictive-maintenance", "predictive-maintenance-xgboost"
CHAMPION = f"models:/{MODEL}@champion"
HISTORIES = ["train_roc_auc", "train_log_loss", "validation_roc_auc", "validation_log_loss"]


def parameters(**overrides: Any) -> dict[str, Any]:
    """Laptop parameters, as a user would set them for a local run."""
    return {"execution_mode": "local", "seed": 42, "n_estimators": 150, **overrides}


CHILD_RUNS = ["baselines", "evaluation", "preprocessing", "training", "tuning"]
BASELINES = ["logistic regression", "majority class"]
TUNING_TRIALS = 8


def _runs(client: MlflowClient, experiment_name: str) -> list[Any]:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"experiment {experiment_name} was not created"
    return client.search_runs([experiment.experiment_id], max_results=500)


def _children(runs: list[Any], parent: Any) -> dict[str, Any]:
    found = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    names = [run.info.run_name for run in found]
    assert len(names) == len(set(names)), names  # readable, unique names
    return {run.info.run_name: run for run in found}


def _input_contexts(run: Any) -> dict[str, Any]:
    return {
        next(tag.value for tag in entry.tags if tag.key == "mlflow.data.context"): entry.dataset
        for entry in run.inputs.dataset_inputs
    }


def _history(client: MlflowClient, run: Any, key: str) -> list[float]:
    return [metric.value for metric in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]


def _artifacts(client: MlflowClient, run: Any, folder: str) -> set[str]:
    return {entry.path for entry in client.list_artifacts(run.info.run_id, folder)}


def _download(client: MlflowClient, run_id: str, path: str) -> Path:
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path))


def check_lab_runs(
    client: MlflowClient, experiment: str, model_name: str, data_file: Path, n_estimators: int, executions: int = 1
) -> dict[str, Any]:
    """What a data scientist expects to find in MLflow after one execution of the notebook."""
    # Proxied artifacts (mlflow-artifacts:/) resolve against the global tracking URI.
    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(client._tracking_client.tracking_uri)
    try:
        return _check_lab_runs(client, experiment, model_name, data_file, n_estimators, executions)
    finally:
        mlflow.set_tracking_uri(previous_uri)


def _check_png(client: MlflowClient, run: Any, path: str) -> None:
    png = _download(client, run.info.run_id, path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, path


def _check_lab_runs(
    client: MlflowClient, experiment: str, model_name: str, data_file: Path, n_estimators: int, executions: int
) -> dict[str, Any]:
    runs = _runs(client, experiment)
    parents = sorted(
        (run for run in runs if "mlflow.parentRunId" not in run.data.tags), key=lambda run: run.info.start_time
    )
    # One parent run per execution, everything else nested under it: 5 steps, 2 baselines, 8 trials.
    assert len(parents) == executions
    assert len(runs) == executions * (1 + len(CHILD_RUNS) + len(BASELINES) + TUNING_TRIALS)
    parent = parents[-1]
    assert parent.info.run_name.startswith(f"{model_name} 20")
    assert {run.info.status for run in runs} == {"FINISHED"}
    for run in runs:
        assert run.data.tags["mlflow.source.name"] == "private-mlflow.ipynb"  # not ipykernel_launcher.py
        assert run.data.tags["pm_lab.version"] == pm_lab.__version__
        assert run.data.tags.get("mlflow.note.content"), run.info.run_name  # a description
    children = _children(runs, parent)
    assert sorted(children) == CHILD_RUNS
    assert sorted(_children(runs, children["baselines"])) == BASELINES
    trials = _children(runs, children["tuning"])
    assert len(trials) == TUNING_TRIALS and "physics features, class-weighted, depth 3" in trials
    assert {run.data.params["features"] for run in trials.values()} == {"raw", "physics"}
    assert all("validation_pr_auc" in run.data.metrics for run in trials.values())

    preprocessing = children["preprocessing"]
    assert preprocessing.data.params["seed"] == "42"
    assert preprocessing.data.metrics["train_rows"] == 8000
    assert preprocessing.data.metrics["test_rows"] == 1000
    assert preprocessing.data.tags["pm_lab.executed_in"] == "notebook-kernel"
    raw = _input_contexts(preprocessing)["raw"]
    assert raw.name == "ai4i2020" and data_file.name in raw.source and '"num_rows": 10000' in raw.profile

    majority = _children(runs, children["baselines"])["majority class"]
    assert majority.data.metrics["test_accuracy_at_0_5"] == pytest.approx(0.965, abs=0.002)

    training = children["training"]
    assert set(_input_contexts(training)) == {"training", "validation"}
    assert training.data.params["n_estimators"] == str(n_estimators)
    assert training.data.tags["pm_lab.executed_in"] == "notebook-kernel"
    for key in HISTORIES:
        assert len(_history(client, training, key)) == n_estimators, key
    threshold = float(training.data.params["decision_threshold"])
    assert 0.0 < threshold < 1.0 and threshold != 0.5
    assert training.data.params["calibration"] in {"none", "sigmoid", "isotonic"}
    brier = {method: training.data.metrics[f"validation_brier_{method}"] for method in ("none", "sigmoid", "isotonic")}
    assert brier[training.data.params["calibration"]] == min(brier.values())  # chosen on validation evidence
    assert training.data.metrics["validation_recall"] >= 0.85
    assert _artifacts(client, training, "training") == {
        "training/feature_importance.json",
        "training/feature_importance.png",
        "training/training_curves.png",
        "training/reliability.png",
    }
    for figure in ("feature_importance", "training_curves", "reliability"):
        _check_png(client, training, f"training/{figure}.png")

    evaluation = children["evaluation"]
    assert set(_input_contexts(evaluation)) == {"test"}
    metrics = evaluation.data.metrics
    assert metrics["test_roc_auc"] > 0.95 and metrics["test_recall"] >= 0.75
    for name in ("recall", "precision", "pr_auc", "roc_auc", "brier"):
        assert metrics[f"test_{name}_ci_low"] <= metrics[f"test_{name}"] <= metrics[f"test_{name}_ci_high"], name
    assert metrics["test_recall_ci_high"] - metrics["test_recall_ci_low"] > 0.05  # ~35 failures: wide
    assert {"test_recall_HDF", "test_recall_PWF", "test_recall_OSF"} <= set(metrics)
    assert _artifacts(client, evaluation, "evaluation") == {
        "evaluation/confusion_matrix.json",
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/precision_recall_curve.png",
        "evaluation/recall_by_failure_mode.json",
    }
    for figure in ("confusion_matrix", "roc_curve", "precision_recall_curve"):
        _check_png(client, evaluation, f"evaluation/{figure}.png")

    version = max(client.search_model_versions(f"name='{model_name}'"), key=lambda v: int(v.version))
    assert version.run_id == training.info.run_id
    assert float(version.tags["decision_threshold"]) == pytest.approx(threshold, abs=1e-6)
    assert f">= {threshold:.3f}" in version.description and "recall" in version.description
    assert client.get_registered_model(model_name).description
    return {"parent": parent, **children, "version": version}


def _decision_check(model_uri: str, rows: pd.DataFrame, threshold: float) -> pd.DataFrame:
    predictions = pd.DataFrame(mlflow.pyfunc.load_model(model_uri).predict(rows))
    assert list(predictions.columns) == ["failure_probability", "failure_expected"]
    expected = (predictions["failure_probability"] >= threshold).astype(int)
    assert predictions["failure_expected"].tolist() == expected.tolist()  # the model applies its threshold
    return predictions


def test_notebook_runs_end_to_end_from_the_settings_file_and_registers_a_model_that_applies_its_threshold(
    mlflow_server: str, ai4i_csv: Path, run_notebook: Callable[..., Any], tmp_path: Path
) -> None:
    """The notebook as a user opens it in Studio: no parameter set, only the settings file the start
    script writes (Terraform's keys, here with a local server and data file). One full execution
    (each takes a minute or more on two cores); the second, weaker one sets parameters."""
    from lab_fixtures import TERRAFORM_SETTINGS

    settings = {**TERRAFORM_SETTINGS, "tracking_uri": mlflow_server, "data_uri": str(ai4i_csv)}
    notebook = run_notebook({}, settings=settings)
    client = MlflowClient(tracking_uri=mlflow_server)
    found = check_lab_runs(client, EXPERIMENT, MODEL, ai4i_csv, n_estimators=150)
    setup_cell = next(cell for cell in notebook.cells if "setup.start(" in cell.source)
    printed = "".join(out.get("text", "") for out in setup_cell.outputs)
    assert f"data_path = {str(ai4i_csv)!r}  (settings data_uri)" in printed
    assert f"tracking_uri = {mlflow_server!r}  (settings tracking_uri)" in printed
    threshold = float(found["version"].tags["decision_threshold"])
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"

    new_rows = synthetic.generate(rows=400, seed=7)
    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    try:
        model = mlflow.pyfunc.load_model(CHAMPION)
        assert model.metadata.get_input_schema().input_names() == list(FEATURES)
        assert model.metadata.get_output_schema().input_names() == ["failure_probability", "failure_expected"]
        assert model.metadata.metadata["decision_threshold"] == pytest.approx(threshold, abs=1e-6)
        predictions = _decision_check(CHAMPION, new_rows[list(FEATURES)], threshold)
        # Batch scoring: a CSV file and an S3 object, read as the training file is read.
        rows_csv = tmp_path / "rows.csv"
        new_rows.to_csv(rows_csv, index=False)
        from pm_lab import scoring

        scored = scoring.score(CHAMPION, rows_csv, tmp_path / "out" / "scored.csv")
        assert scored["failure_expected"].tolist() == predictions["failure_expected"].tolist()
        assert (
            pd.read_csv(tmp_path / "out" / "scored.csv")["failure_expected"].tolist()
            == scored["failure_expected"].tolist()
        )
        import boto3
        from moto import mock_aws

        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="lab-data")
            s3.upload_file(str(rows_csv), "lab-data", "new/rows.csv")
            from_s3 = scoring.score(
                CHAMPION, "s3://lab-data/new/rows.csv", "s3://lab-data/scored/rows.csv", s3_client=s3
            )
            written = pd.read_csv(s3.get_object(Bucket="lab-data", Key="scored/rows.csv")["Body"])
        assert from_s3["failure_expected"].tolist() == predictions["failure_expected"].tolist()
        assert written["failure_expected"].tolist() == predictions["failure_expected"].tolist()
    finally:
        mlflow.set_tracking_uri(previous_uri)
    # `mlflow models predict` on the alias gives the same decisions.
    import os
    import subprocess
    import sys

    cli_out = tmp_path / "cli.json"
    new_rows[list(FEATURES)].to_csv(tmp_path / "features.csv", index=False)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "predict",
            "-m",
            CHAMPION,
            "-i",
            str(tmp_path / "features.csv"),
            "-t",
            "csv",
            "-o",
            str(cli_out),
            "--env-manager",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MLFLOW_TRACKING_URI": mlflow_server},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cli = pd.DataFrame(json.loads(cli_out.read_text())["predictions"])
    assert cli["failure_expected"].tolist() == predictions["failure_expected"].tolist()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    # No INFO lines, progress bars or warnings: the notebook shows results only.
    assert [out["text"] for out in outputs if out["output_type"] == "stream" and out["name"] == "stderr"] == []
    training_cell = next(cell for cell in notebook.cells if "steps.register(" in cell.source)
    evaluation_cell = next(cell for cell in notebook.cells if "run_evaluation" in cell.source)
    assert sum("image/png" in out.get("data", {}) for out in training_cell.outputs) == 3
    assert sum("image/png" in out.get("data", {}) for out in evaluation_cell.outputs) == 3
    (shown,) = [out for out in notebook.cells[-1].outputs if out["output_type"] == "execute_result"]
    assert "failure_expected" in shown["data"]["text/plain"]

    # A second, weaker execution registers version 2 as challenger: the champion stays.
    run_notebook(parameters(tracking_uri=mlflow_server, data_path=str(ai4i_csv), n_estimators=3, max_depth=2))
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert client.get_model_version_by_alias(MODEL, "challenger").version == "2"
    assert "does not beat champion version 1" in client.get_model_version(MODEL, "2").description
    assert len([run for run in _runs(client, EXPERIMENT) if "mlflow.parentRunId" not in run.data.tags]) == 2


def test_bad_data_stops_the_notebook_before_any_run(
    mlflow_server: str,
    tmp_path: Path,
    generated_frame: pd.DataFrame,
    run_notebook: Callable[..., Any],
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
    unreachable_tracking_uri: str, ai4i_csv: Path, run_notebook: Callable[..., Any]
) -> None:
    workdir: Path = run_notebook.workdir  # type: ignore[attr-defined]
    before = sorted(path.name for path in workdir.iterdir())
    # How quickly it fails is a matter of the settings tracking.connect passes to MLflow
    # (asserted in test_lab_tracking.py), not of a wall clock on a loaded machine.
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(parameters(tracking_uri=unreachable_tracking_uri, data_path=str(ai4i_csv)))
    assert failure.value.ename == "TrackingServerError"
    assert f"Cannot reach the MLflow tracking server at {unreachable_tracking_uri}" in failure.value.evalue
    address = unreachable_tracking_uri.removeprefix("http://")
    assert f"(connection refused to {address})" in failure.value.evalue  # the cause, whole
    # The lab's message and a pointer to %tb, not the 250-line traceback through urllib3.
    shown = failure.value.traceback.rsplit("------------------", 1)[1].strip().splitlines()
    assert shown == [f"TrackingServerError: {failure.value.evalue}", "(the full traceback: run %tb in a new cell)"]
    # Nothing was logged anywhere: no local ./mlruns fallback, no new files.
    assert sorted(path.name for path in workdir.iterdir() if path.name != "__pycache__") == before


def test_remote_mode_without_studio_settings_stops_before_any_aws_call(
    ai4i_csv: Path, run_notebook: Callable[..., Any]
) -> None:
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(parameters(execution_mode="remote", region="eu-west-1", data_path=str(ai4i_csv)))
    assert failure.value.ename == "StudioError"
    assert "CodeArtifact domain, repository not set" in failure.value.evalue


def test_an_unknown_server_version_in_the_settings_stops_before_any_run(
    mlflow_server: str, ai4i_csv: Path, run_notebook: Callable[..., Any]
) -> None:
    from lab_fixtures import TERRAFORM_SETTINGS

    settings = {
        **TERRAFORM_SETTINGS,
        "tracking_uri": mlflow_server,
        "data_uri": str(ai4i_csv),
        "mlflow_version": "2.13",
    }
    with pytest.raises(CellExecutionError) as failure:
        run_notebook({"experiment_name": "pm-version"}, settings=settings)
    assert failure.value.ename == "TrackingServerError"
    assert "the tracking server runs MLflow 2.13" in failure.value.evalue
    assert MlflowClient(tracking_uri=mlflow_server).get_experiment_by_name("pm-version") is None
