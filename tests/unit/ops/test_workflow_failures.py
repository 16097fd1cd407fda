"""The workflow's failure paths: a failing cleanup, a failing plan.

SageMaker is botocore's Stubber (the emulator has no Studio); Terraform is the fake of
test_workflow.py. A state bucket we may not read is in test_state_bucket_checks.py (moto_server:
over HTTP a HEAD answer is bodiless, as AWS's is).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from test_workflow import NETWORK_CHANGES, FakeTerraform, World, dev_config, make_workflow

from isolated_studio.ops import workflow as wf
from isolated_studio.ops.errors import Refused, WorkflowError
from isolated_studio.ops.results import PlanFailed

DOMAIN = "d-abc123"


def sagemaker() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def destroying_flow(tmp_path, client: Any, monkeypatch) -> tuple[wf.Workflow, FakeTerraform]:
    tf = FakeTerraform(
        {},
        outputs_by_stack={"workload": {"domain_id": DOMAIN}},
        state={"workload": ["aws_sagemaker_domain.studio"], "network": ["aws_vpc.vpc"]},
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True))
    monkeypatch.setattr(wf, "aws_client", lambda config, service: client)
    # The destroy prompt's inventory of the domain is tested in test_workflow.py; here the
    # stubbed answers are the cleanup's.
    monkeypatch.setattr("isolated_studio.ops.cleanup.inventory", lambda client, domain_id: None)
    return flow, tf


def test_a_failed_studio_cleanup_stops_the_destroy_before_anything_is_destroyed(tmp_path, monkeypatch):
    client = sagemaker()
    flow, tf = destroying_flow(tmp_path, client, monkeypatch)
    with Stubber(client) as stub:
        stub.add_response("describe_domain", {"DomainId": DOMAIN, "Status": "InService"}, {"DomainId": DOMAIN})
        stub.add_response(
            "list_apps",
            {
                "Apps": [
                    {
                        "DomainId": DOMAIN,
                        "SpaceName": "s",
                        "AppType": "JupyterLab",
                        "AppName": "default",
                        "Status": "Failed",
                    }
                ]
            },
            {"DomainIdEquals": DOMAIN},
        )
        stub.add_client_error(
            "delete_app",
            service_error_code="ValidationException",
            service_message="App is in a state that cannot be deleted",
            http_status_code=400,
        )

        with pytest.raises(ClientError, match="cannot be deleted"):
            flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert tf.applied() == [], "nothing may be destroyed after a failed cleanup"


def test_a_cleanup_that_reports_a_failed_deletion_is_a_workflow_error_naming_the_domain(tmp_path, monkeypatch):
    client = sagemaker()
    flow, tf = destroying_flow(tmp_path, client, monkeypatch)
    app = {"DomainId": DOMAIN, "SpaceName": "s", "AppType": "JupyterLab", "AppName": "default"}
    with Stubber(client) as stub:
        stub.add_response("describe_domain", {"DomainId": DOMAIN, "Status": "InService"}, {"DomainId": DOMAIN})
        stub.add_response("list_apps", {"Apps": [{**app, "Status": "InService"}]}, {"DomainIdEquals": DOMAIN})
        stub.add_response("delete_app", {}, app)
        stub.add_response("list_apps", {"Apps": [{**app, "Status": "Failed"}]}, {"DomainIdEquals": DOMAIN})
        stub.add_response("describe_app", {**app, "Status": "Failed", "FailureReason": "ENI still attached"}, app)
        sleeps: list[float] = []
        monkeypatch.setattr("isolated_studio.ops.cleanup.time.sleep", sleeps.append)

        with pytest.raises(
            WorkflowError,
            match=f"Studio cleanup of domain {DOMAIN} failed, nothing was destroyed: "
            "deletion of app .* failed: ENI still attached",
        ):
            flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert tf.applied() == []
    assert sleeps == [15], "one poll, at the cleanup's 15 s interval, between the delete and the failure"


def test_a_failed_plan_still_writes_the_review_of_the_others_and_names_the_failure(tmp_path):
    tf = FakeTerraform({}, changes={"network": NETWORK_CHANGES, "workload": [("aws_sagemaker_domain", ["create"])]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    tf.outputs_by_stack["network"] = {"vpc_id": "vpc-1"}
    real_plan = tf.plan

    def plan(stack, plan_file, *, destroy=False):
        if stack == "workload":
            raise WorkflowError("terraform plan failed in workload: Error: Invalid reference")
        return real_plan(stack, plan_file, destroy=destroy)

    tf.plan = plan  # type: ignore[method-assign]

    with pytest.raises(
        PlanFailed, match="workload: terraform plan failed in workload: Error: Invalid reference"
    ) as failed:
        flow.plan(["network", "workload"])

    assert [p.stack for p in failed.value.planned] == ["network"]
    review = (flow.plan_dir / "review.md").read_text()
    assert "## Stack `network`" in review and "`network.tfplan`" in review
