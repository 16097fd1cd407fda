"""The plan review on plans Terraform itself wrote: replace orders, moved, forget, deposed.

`terraform_data` is built into Terraform (no provider to install), so these plans are made
in a few seconds: apply a first configuration, change it, and review `terraform show -json`
of the plan, the same JSON `workflow plan` reviews.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support import require_terraform

from isolated_studio.ops.plan_review import Action, render_stack_report, review_plan

pytestmark = pytest.mark.terraform

FIRST = """
resource "terraform_data" "cbd" {
  triggers_replace = ["1"]
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "dtc" { triggers_replace = ["1"] }
resource "terraform_data" "old" { input = "kept" }
resource "terraform_data" "gone" { input = "forgotten" }
resource "terraform_data" "doomed" { input = "deleted" }
resource "terraform_data" "before_rename" { input = "a" }
"""

SECOND = """
resource "terraform_data" "cbd" {
  triggers_replace = ["2"]
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "dtc" { triggers_replace = ["2"] }
resource "terraform_data" "new" { input = "kept" }
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
resource "terraform_data" "after_rename" { input = "b" }
moved {
  from = terraform_data.before_rename
  to   = terraform_data.after_rename
}
removed {
  from = terraform_data.gone
  lifecycle { destroy = false }
}
"""

# A create-before-destroy replacement whose destroy failed leaves the old object deposed.
# (Terraform 1.11 runs no destroy provisioner on a deposed object, so a failing destroy
# cannot be staged with terraform_data: the state gets the deposed instance such an apply
# leaves behind, in Terraform's state format, and Terraform plans from it.)
DEPOSING = """
resource "terraform_data" "server" {
  triggers_replace = ["1"]
  lifecycle { create_before_destroy = true }
}
"""


def terraform(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["terraform", *args, "-no-color"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "HOME": str(directory),
        },
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"terraform {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def planned(directory: Path) -> dict:
    terraform(directory, "plan", "-input=false", "-out=plan.tfplan")
    return json.loads(terraform(directory, "show", "-json", "plan.tfplan").stdout)


@pytest.fixture(scope="module")
def second_plan(tmp_path_factory) -> dict:
    require_terraform()
    work = tmp_path_factory.mktemp("plan-review-tf")
    (work / "main.tf").write_text(FIRST)
    terraform(work, "init", "-input=false")
    terraform(work, "apply", "-input=false", "-auto-approve")
    (work / "main.tf").write_text(SECOND)
    return planned(work)


@pytest.fixture(scope="module")
def deposed_plan(tmp_path_factory) -> dict:
    require_terraform()
    work = tmp_path_factory.mktemp("plan-review-deposed")
    (work / "main.tf").write_text(DEPOSING)
    terraform(work, "init", "-input=false")
    terraform(work, "apply", "-input=false", "-auto-approve")
    state = json.loads((work / "terraform.tfstate").read_text())
    instances = state["resources"][0]["instances"]
    instances.append(
        {**instances[0], "deposed": "deadbeef", "attributes": {**instances[0]["attributes"], "id": "the-old-object"}}
    )
    state["serial"] += 1
    (work / "terraform.tfstate").write_text(json.dumps(state))
    return planned(work)


def by_address(plan: dict):
    return {c.address: c for c in review_plan("lab", plan).changes}


def test_create_before_destroy_is_described_in_that_order(second_plan):
    change = by_address(second_plan)["terraform_data.cbd"]
    assert change.action is Action.REPLACE and change.create_before_destroy
    assert change.action_label == "replace (create before destroy)"
    assert change.details == "a changed attribute forces replacement; forced by: triggers_replace"


def test_destroy_then_create_is_described_in_that_order(second_plan):
    change = by_address(second_plan)["terraform_data.dtc"]
    assert change.action is Action.REPLACE and not change.create_before_destroy
    assert change.action_label == "replace (destroy then create)"


def test_a_moved_resource_names_where_it_came_from_and_changes_nothing(second_plan):
    changes = by_address(second_plan)
    assert "terraform_data.new" not in changes  # a pure move is no change...
    moved = {
        rc["address"]: rc["previous_address"] for rc in second_plan["resource_changes"] if rc.get("previous_address")
    }
    assert moved["terraform_data.new"] == "terraform_data.old"


def test_a_moved_and_changed_resource_shows_its_old_address(second_plan):
    change = by_address(second_plan)["terraform_data.after_rename"]
    assert change.action is Action.UPDATE
    assert change.details == "moved from terraform_data.before_rename; changes: input, output"


def test_forget_is_counted_apart_from_destroy_and_not_a_warning(second_plan):
    review = review_plan("lab", second_plan)
    change = by_address(second_plan)["terraform_data.gone"]
    assert change.action is Action.FORGET
    assert change.action_label == "forget (remove from state, keep the object)"
    assert review.to_forget == 1
    assert not [w for w in review.warnings if w.address == "terraform_data.gone"]


def test_a_resource_removed_from_the_configuration_is_a_destroy_warning_with_the_reason(second_plan):
    review = review_plan("lab", second_plan)
    assert review.to_destroy == 1
    (warning,) = [w for w in review.warnings if w.address == "terraform_data.doomed"]
    assert warning.message == "DESTROY `terraform_data.doomed` (removed from the configuration)"
    report = render_stack_report(review)
    assert "DESTROY `terraform_data.doomed`" in report


def test_a_deposed_object_is_named_in_its_destroy_warning(deposed_plan):
    review = review_plan("lab", deposed_plan)
    (deleted,) = [c for c in review.changes if c.action is Action.DELETE]
    assert (deleted.address, deleted.deposed) == ("terraform_data.server", "deadbeef")
    (warning,) = review.warnings
    assert warning.message == "DESTROY `terraform_data.server` (deposed object deadbeef)"
