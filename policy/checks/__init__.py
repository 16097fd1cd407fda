"""Custom checkov checks for the isolated Studio (ids CKV_STUDIO_<n>).

checkov loads every ``*.py`` file of this directory (which must keep this ``__init__.py``) when run
with ``--external-checks-dir policy/checks``; each module is executed under its file name, so the
files are prefixed ``studio_`` to avoid clashing with other modules. They are terraform (HCL)
resource checks, which is also what ``--framework terraform_json`` runs over cdk.tf.json.
``isolated_studio.checks.policy_scan`` runs them; ``tests/integration/checks/test_policy_checkov.py`` proves each one fails
on a bad stack.
"""
