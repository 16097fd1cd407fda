"""Batch scoring with the registered model: a CSV file or an S3 object in, predictions out.

``score("models:/predictive-maintenance-xgboost@champion", "s3://bucket/data/new.csv")``
loads whatever version the ``champion`` alias names and returns the rows with the model's
two output columns appended, ``failure_probability`` and ``failure_expected`` (the decision
at the version's own threshold). ``destination`` writes the result as CSV, locally or to
S3. From a shell:

    python -m pm_lab.scoring models:/predictive-maintenance-xgboost@champion rows.csv scored.csv

Read the rows as the training file is read (pandas' CSV types: rotational speed and tool
wear are integers in the AI4I file), which is what the model's signature expects.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from pm_lab.data import FEATURES, _parse_csv, _read_s3_bytes
from pm_lab.errors import LabDataError


def read_rows(source: str | Path, *, s3_client: Any = None) -> pd.DataFrame:
    """The rows to score, from a local CSV or ``s3://bucket/key.csv``; the feature columns must be there."""
    text = str(source)
    if text.startswith("s3://"):
        frame = _parse_csv(io.BytesIO(_read_s3_bytes(text, s3_client)), text)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise LabDataError(f"File to score not found: {path}")
        frame = _parse_csv(path, str(path))
    missing = [column for column in FEATURES if column not in frame.columns]
    if missing:
        raise LabDataError(f"{text} lacks the model's input column(s) {missing}.")
    return frame


def write_rows(frame: pd.DataFrame, destination: str | Path, *, s3_client: Any = None) -> None:
    text = str(destination)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        s3_client.put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=frame.to_csv(index=False).encode())
    else:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(destination, index=False)


def score(
    model_uri: str, source: str | Path, destination: str | Path | None = None, *, s3_client: Any = None
) -> pd.DataFrame:
    """Score every row of ``source`` with the pyfunc at ``model_uri`` (e.g. ``models:/<name>@champion``)."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    rows = read_rows(source, s3_client=s3_client)
    predictions = pd.DataFrame(model.predict(rows[list(FEATURES)]))
    scored = rows.assign(**{column: predictions[column].to_numpy() for column in predictions.columns})
    if destination is not None:
        write_rows(scored, destination, s3_client=s3_client)
    return scored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pm_lab.scoring", description=__doc__.splitlines()[0])
    parser.add_argument("model_uri", help="e.g. models:/predictive-maintenance-xgboost@champion")
    parser.add_argument("source", help="CSV file or s3:// object with the AI4I feature columns")
    parser.add_argument("destination", help="CSV file or s3:// object to write")
    args = parser.parse_args(argv)
    scored = score(args.model_uri, args.source, args.destination)
    print(f"scored {len(scored)} rows: {int(scored['failure_expected'].sum())} failures expected -> {args.destination}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
