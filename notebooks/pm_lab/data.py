"""Loading and validating the AI4I 2020 predictive-maintenance data.

The lab accepts the UCI file ``ai4i2020.csv`` as published, or the file
written by :mod:`pm_lab.synthetic`, from a local path or an ``s3://`` URI
(read with boto3, which in Studio goes through the VPC's S3 gateway
endpoint). Validation runs before any MLflow run is created, so bad input
stops the notebook with a :class:`~pm_lab.errors.LabDataError` and leaves no
half-written runs behind.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from pm_lab.errors import LabDataError

CATEGORICAL_FEATURES: tuple[str, ...] = ("Type",)
NUMERIC_FEATURES: tuple[str, ...] = (
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
)
FEATURES: tuple[str, ...] = CATEGORICAL_FEATURES + NUMERIC_FEATURES
TARGET = "Machine failure"
FAILURE_MODES: tuple[str, ...] = ("TWF", "HDF", "PWF", "OSF", "RNF")
#: Every column of the published file, in its order.
AI4I_COLUMNS: tuple[str, ...] = (
    "UDI",
    "Product ID",
    *FEATURES,
    TARGET,
    *FAILURE_MODES,
)
PRODUCT_TYPES: tuple[str, ...] = ("L", "M", "H")
#: The smaller class needs this many rows so that a stratified 80/10/10
#: split leaves at least one row of each class in validation and test
#: (otherwise ROC AUC is undefined there).
MIN_ROWS_PER_CLASS = 10


def load_dataset(location: str | Path, *, s3_client: Any = None) -> pd.DataFrame:
    """Read the CSV at ``location`` (local path or ``s3://bucket/key``) and validate it.

    ``s3_client`` lets tests and callers pass a configured boto3 S3 client;
    by default one is created from the ambient AWS configuration.
    """
    text_location = str(location)
    if text_location.startswith("s3://"):
        raw = _read_s3_bytes(text_location, s3_client)
        frame = _parse_csv(io.BytesIO(raw), text_location)
    else:
        path = Path(location).expanduser()
        if not path.is_file():
            raise LabDataError(
                f"Data file not found: {path} (resolved to {path.resolve()}). "
                "Generate one with `make data`, or set data_path to the AI4I 2020 CSV "
                "(in Studio: s3://<notebooks bucket>/data/ai4i2020.csv)."
            )
        frame = _parse_csv(path, str(path))
    return validate_dataset(frame, source=text_location)


def _read_s3_bytes(uri: str, s3_client: Any) -> bytes:
    """Fetch an S3 object, turning AWS errors into a LabDataError naming the URI."""
    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise LabDataError(f"Malformed S3 URI {uri!r}: expected s3://bucket/key.csv")
    if key.endswith("/"):
        # The workload's data_uri output is such a prefix: the data set is one object in it.
        raise LabDataError(
            f"{uri} is an S3 prefix (a folder), not a CSV file: set data_path to the object, e.g. {uri}ai4i2020.csv"
        )
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = s3_client.get_object(Bucket=bucket, Key=key)
        return response["Body"].read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise LabDataError(
            f"Cannot read {uri}: {error.get('Code', 'error')}: {error.get('Message', exc)}. "
            "Check that the file was uploaded to the notebooks bucket and that the "
            "execution role may read it."
        ) from exc
    except BotoCoreError as exc:
        raise LabDataError(f"Cannot read {uri}: {exc}") from exc


def _parse_csv(source: Any, label: str) -> pd.DataFrame:
    """Parse CSV content, reporting empty or garbled files as LabDataError."""
    try:
        return pd.read_csv(source)
    except pd.errors.EmptyDataError as exc:
        raise LabDataError(f"Data file {label} is empty: no header and no rows.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LabDataError(f"Data file {label} is not a readable CSV file: {exc}") from exc


def validate_dataset(frame: pd.DataFrame, *, source: str = "data") -> pd.DataFrame:
    """Check that ``frame`` can train the lab's model and return a typed copy.

    The copy keeps every column. ``Type`` becomes a string column, the target
    int64; sensor columns keep the numeric dtype they were read with (in the
    AI4I file speed and tool wear are integers, the rest floats), because the
    registered model's signature is inferred from them and MLflow refuses to
    convert int64 input to a float64 schema column: rows read the same way
    as the training file must be accepted for prediction. Each check raises
    a LabDataError that names the offending column or value.
    """
    if frame.empty:
        raise LabDataError(f"{source} contains no rows; the lab needs the AI4I 2020 data.")
    required = (*FEATURES, TARGET)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise LabDataError(
            f"{source} is missing required column(s) {missing}. "
            f"Expected the AI4I 2020 columns {list(required)}; found {list(frame.columns)}."
        )
    typed = frame.copy()
    for column in required:
        holes = int(typed[column].isna().sum())
        if holes:
            raise LabDataError(f"{source}: column {column!r} has {holes} missing value(s).")
    for column in NUMERIC_FEATURES:
        typed[column] = _as_numeric(typed[column], column, source)
    typed["Type"] = typed["Type"].astype(str).str.strip()
    unknown_types = sorted(set(typed["Type"]) - set(PRODUCT_TYPES))
    if unknown_types:
        raise LabDataError(
            f"{source}: column 'Type' has unexpected value(s) {unknown_types}; allowed are {list(PRODUCT_TYPES)}."
        )
    typed[TARGET] = _as_binary(typed[TARGET], source)
    _check_classes(typed[TARGET], source)
    return typed


def _as_numeric(values: pd.Series, column: str, source: str) -> pd.Series:
    """Return a sensor column as numbers, naming the first non-numeric values."""
    if pd.api.types.is_bool_dtype(values):
        raise LabDataError(f"{source}: column {column!r} must be numeric, found booleans.")
    if pd.api.types.is_numeric_dtype(values):
        return values
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna()]
    if len(bad):
        examples = [str(value) for value in bad.unique()[:3]]
        raise LabDataError(
            f"{source}: column {column!r} must be numeric; found {len(bad)} non-numeric value(s) such as {examples}."
        )
    return converted


def _as_binary(values: pd.Series, source: str) -> pd.Series:
    """Convert the target to int64 0/1, rejecting any other label."""
    converted = pd.to_numeric(values, errors="coerce")
    allowed = converted.isin([0, 1])
    if not allowed.all():
        examples = [str(value) for value in values[~allowed].unique()[:3]]
        raise LabDataError(f"{source}: column {TARGET!r} must hold 0 or 1; found {examples}.")
    return converted.astype("int64")


def _check_classes(target: pd.Series, source: str) -> None:
    """Reject a target a classifier cannot learn from or be scored on."""
    counts = target.value_counts()
    if len(counts) < 2:
        only = int(counts.index[0])
        raise LabDataError(
            f"{source}: column {TARGET!r} has a single class (every row is {only}); "
            "the classifier needs both failures (1) and non-failures (0)."
        )
    smallest = int(counts.min())
    if smallest < MIN_ROWS_PER_CLASS:
        raise LabDataError(
            f"{source}: column {TARGET!r} has only {smallest} row(s) of class "
            f"{int(counts.idxmin())}; at least {MIN_ROWS_PER_CLASS} are needed so that "
            "the validation and test splits each contain both classes."
        )
