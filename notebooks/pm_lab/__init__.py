"""Predictive-maintenance lab for the isolated SageMaker Studio.

The package holds the logic behind ``private-mlflow.ipynb`` so that the
notebook stays a thin, readable sequence of steps and the logic can be unit
tested outside Studio. Importing the package is deliberately cheap (no
MLflow, XGBoost or boto3 import here): in Studio the notebook imports
:mod:`pm_lab.studio` *before* the pinned requirements are installed.
"""

__version__ = "0.2.0"
