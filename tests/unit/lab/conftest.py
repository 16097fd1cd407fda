"""The lab's fixtures (tests/lab_fixtures.py), for the lab tests of this tier.

One module for the three tiers: `make studio-env`'s run of the lab tests
(test_lab_in_studio_env.py) loads only these conftests, never tests/conftest.py.
"""

from lab_fixtures import (  # fixtures: pytest finds them by name
    ai4i_csv,
    aws_credentials,
    generated_frame,
    mlflow_server,
    run_notebook,
    unreachable_tracking_uri,
)
