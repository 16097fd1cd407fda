"""The day-2 change matrix: every everyday change, planned offline by the provider itself.

The default configuration is synthesized before and after each change; each stack gets a
"before" state holding every resource, moto's and not (tests/offline_plan.py), and the after
synthesis is planned with ``terraform plan -refresh=false``: Terraform and the pinned provider
decide what is updated in place and what replaced, and the review (with the day-2 rules of
isolated_studio/ops/day2.py) decides what the workflow does. Each outcome is asserted, and
docs/day-2.md's table is generated from the same rows (STUDIO_REGENERATE_GOLDEN=1 rewrites it).

Cost: one init, the before states (a few plans per stack) and one plan per batch of changes
that touch disjoint resources (their outcomes are told apart by the addresses each touches).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import offline_plan as op
import pytest
from support import require_terraform

from isolated_studio.config import PROJECT_ROOT, StudioConfig
from isolated_studio.ops import day2
from isolated_studio.ops.plan_review import review_plan

pytestmark = pytest.mark.terraform

DOC = PROJECT_ROOT / "docs" / "day-2.md"
TABLE_START = "<!-- day-2 matrix: written by tests/test_day2_matrix.py (STUDIO_REGENERATE_GOLDEN=1) -->"
TABLE_END = "<!-- end of day-2 matrix -->"


@dataclass(frozen=True)
class Change:
    name: str
    edit: Callable[[StudioConfig], StudioConfig] | None = None
    script: bool = False  # an edit of the start script's text
    lab_file: str | None = None  # an edit of this file under notebooks/
    expected: str = ""  # the workflow's outcome (see outcome())
    batch: int = 0  # changes of one batch touch disjoint resources: one plan for all of them
    stacks: tuple[str, ...] = ("workload",)


def w(**values):
    return lambda c: c.model_copy(update={"workload": c.workload.model_copy(update=values)})


def n(**values):
    return lambda c: c.model_copy(update={"network": c.network.model_copy(update=values)})


def tags(c):
    return c.model_copy(update={"tags": {**c.tags, "CostCenter": "4711"}})


CHANGES = [
    Change("start script edited", script=True, expected="applies in place", batch=1),
    Change("notebook edited (notebooks/private-mlflow.ipynb)", lab_file="private-mlflow.ipynb",
           expected="applies in place", batch=1),
    Change("notebooks/requirements.txt edited", lab_file="requirements.txt", expected="applies in place", batch=1),
    Change("workload.jupyterlab_instance_type", w(jupyterlab_instance_type="ml.m5.large"),
           expected="applies in place", batch=2),
    Change("workload.mlflow_size", w(mlflow_size="Medium"), expected="applies in place", batch=2),
    Change("workload.noncurrent_version_expiration_days", w(noncurrent_version_expiration_days=30),
           expected="applies in place", batch=3),
    Change("workload.attach_lifecycle_config", w(attach_lifecycle_config=False), expected="applies in place", batch=4),
    Change("workload.mlflow_maintenance_window", w(mlflow_maintenance_window="Sat:22:00"),
           expected="applies in place", batch=4),
    Change("workload.mlflow_automatic_model_registration", w(mlflow_automatic_model_registration=False),
           expected="applies in place", batch=5),
    Change("workload.user_profiles: one added", w(user_profiles=("data-scientist", "alice")),
           expected="applies in place", batch=5),
    Change("workload.data_prefix", w(data_prefix="datasets"), expected="replaces something harmless", batch=6),
    Change("workload.force_destroy_buckets", w(force_destroy_buckets=False), expected="applies in place", batch=7),
    Change("workload.iam_mode", w(iam_mode="least-privilege"), expected="applies in place", batch=8),
    Change("workload.notebooks_prefix", w(notebooks_prefix="course"), expected="replaces something harmless",
           batch=9),
    Change("tags: one added", tags, expected="applies in place", batch=10),
    Change("workload.user_profiles: one removed", w(user_profiles=("alice",)),
           expected="refused under --yes (data loss)", batch=11),
    Change("workload.docker_trusted_accounts", w(docker_trusted_accounts=("123456789012",)),
           expected="refused (AWS would fail it)", batch=12),
    Change("workload.retain_home_efs", w(retain_home_efs=True), expected="refused (AWS would fail it)", batch=13),
    Change("workload.mlflow_version (with the lab's mlflow pin)", w(mlflow_version="2.20"),
           expected="refused under --yes (data loss)", batch=14),
    Change("workload.codeartifact_repository", w(codeartifact_repository="pip-team"),
           expected="refused under --yes (data loss)", batch=15),
    Change("workload.mlflow_artifact_prefix", w(mlflow_artifact_prefix="runs"),
           expected="refused under --yes (data loss)", batch=16),
    Change("network.interface_endpoints: one added", n(interface_endpoints=(
        "sagemaker.api", "sagemaker.runtime", "experiments", "codeartifact.api", "codeartifact.repositories", "sts",
        "ecr.api", "ecr.dkr", "logs", "monitoring", "ec2", "kms")), expected="applies in place", batch=17,
        stacks=("network",)),
    Change("network.flow_log_retention_days", n(flow_log_retention_days=90), expected="applies in place", batch=17,
           stacks=("network",)),
    Change("network.az_count 2 -> 3", n(az_count=3), expected="refused under --yes (data loss)", batch=18,
           stacks=("network", "workload")),
]


# --------------------------------------------------------------------------- synthesis


def synthesize(config: StudioConfig, outdir: Path, change: Change | None = None) -> dict[str, dict]:
    import stacks.workload as workload
    from main import build_app

    saved = (workload.NOTEBOOKS_DIR, workload.jupyterlab_startup_script)
    try:
        if change is not None and change.lab_file:
            lab = outdir.parent / f"{outdir.name}-notebooks"
            import shutil

            shutil.copytree(workload.NOTEBOOKS_DIR, lab, ignore=shutil.ignore_patterns("__pycache__", ".*"))
            with (lab / change.lab_file).open("a") as edited:
                edited.write("\n" if change.lab_file.endswith(".txt") else " ")
            workload.NOTEBOOKS_DIR = lab
        if change is not None and change.script:
            original = saved[1]
            workload.jupyterlab_startup_script = lambda **kw: original(**kw).replace(
                "exit 0\n", "log edited by the platform team\nexit 0\n")
        build_app(config if change is None or change.edit is None else change.edit(config), outdir).synth()
    finally:
        workload.NOTEBOOKS_DIR, workload.jupyterlab_startup_script = saved
    return {s: json.loads((outdir / "stacks" / s / "cdk.tf.json").read_text()) for s in ("network", "workload")}


def touched(before: dict, after: dict) -> set[str]:
    """Addresses whose configuration differs (assets' paths aside)."""
    def resources(doc):
        return {f"{t}.{n}": re.sub(r"assets/[^\"]+", "asset", json.dumps({k: v for k, v in b.items() if k != "//"}))
                for t, items in doc.get("resource", {}).items() for n, b in items.items()}
    old, new = resources(before), resources(after)
    return {a for a in old.keys() | new.keys() if old.get(a) != new.get(a)}


# --------------------------------------------------------------------------- outcomes


def outcome(plan: dict, stack: str, addresses: set[str]) -> tuple[str, str, list[str]]:
    """(what Terraform does, what the workflow does, the review's messages) for these addresses."""
    review = review_plan(stack, plan)
    mine = [c for c in review.changes if c.address in addresses]
    warnings = [x for x in review.warnings if x.address in addresses]
    if not mine:
        return "no change", "nothing to apply", []
    terraform = "; ".join(sorted({f"{c.action_label}: {c.type}" for c in mine}))
    if any(x.kind == day2.REFUSE for x in warnings):
        return terraform, "refused (AWS would fail it)", [x.message for x in warnings]
    if any(x.kind in ("replace", "destroy") for x in warnings):
        return terraform, "refused under --yes (data loss)", [x.message for x in warnings]
    if any(c.action.value in ("replace", "delete") for c in mine):
        return terraform, "replaces something harmless", []
    return terraform, "applies in place", []


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, dev_config, provider_mirror):
    require_terraform()
    root = tmp_path_factory.mktemp("day2")
    config = dev_config.model_copy(update={"project": dev_config.project.model_copy(update={"account_id": None})})
    before = synthesize(config, root / "before")
    afters = {c.name: synthesize(config, root / f"after-{i}", c) for i, c in enumerate(CHANGES)}
    region = config.region
    tf = op.Terraform(root / "tf", op.env_for(provider_mirror), before["network"])
    net_state, net_plan = op.build_state(tf, root / "network", op.offline_stack(before["network"], region=region,
                                                                                  network_state=None), region)
    outputs = root / "network-outputs.tfstate"
    outputs.write_text(json.dumps(op.outputs_state(net_plan)))
    wl_state, _ = op.build_state(tf, root / "workload", op.offline_stack(before["workload"], region=region,
                                                                          network_state=outputs), region)
    rows: dict[str, tuple[str, str, list[str]]] = {}
    batches: dict[int, list[Change]] = {}
    for change in CHANGES:
        batches.setdefault(change.batch, []).append(change)

    def run(number: int, group: list[Change]) -> None:
        # One after synthesis per batch: the first change's, with the others' edits applied on top.
        docs = afters[group[0].name]
        if len(group) > 1:
            combined = Change("+".join(c.name for c in group), script=any(c.script for c in group),
                              lab_file=None, edit=None)
            edits = [c.edit for c in group if c.edit]
            lab = [c.lab_file for c in group if c.lab_file]
            docs = synthesize_combined(config, root / f"batch-{number}", combined, edits, lab)
        sets = {c.name: {s: touched(before[s], afters[c.name][s]) for s in c.stacks} for c in group}
        for s in {s for c in group for s in c.stacks}:
            claimed = [a for c in group for a in sets[c.name].get(s, ())]
            assert len(claimed) == len(set(claimed)), f"batch {number} changes overlap in {s}: regroup them"
        results = {}
        if any("network" in c.stacks for c in group):
            plan = tf.plan(root / f"plan-{number}-network", op.offline_stack(docs["network"], region=region,
                                                                             network_state=None), net_state)
            results["network"] = plan
            after_outputs = root / f"network-outputs-{number}.tfstate"
            after_outputs.write_text(json.dumps(op.outputs_state(plan)))
        else:
            after_outputs = outputs
        if any("workload" in c.stacks for c in group):
            results["workload"] = tf.plan(root / f"plan-{number}-workload", op.offline_stack(
                docs["workload"], region=region, network_state=after_outputs), wl_state)
        for change in group:
            parts = []
            for s in change.stacks:
                addresses = sets[change.name][s]
                if s == "workload" and change.stacks == ("network", "workload"):
                    # What the network's new outputs change in the workload.
                    addresses = {c.address for c in review_plan(s, results[s]).changes}
                parts.append(outcome(results[s], s, addresses))
            rank = ["nothing to apply", "applies in place", "replaces something harmless",
                    "refused under --yes (data loss)", "refused (AWS would fail it)"]
            worst = max(parts, key=lambda p: rank.index(p[1]))
            terraform = " / ".join(f"{s}: {p[0]}" for s, p in zip(change.stacks, parts) if p[0] != "no change")
            rows[change.name] = (terraform or "no change", worst[1], [m for p in parts for m in p[2]])

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda item: run(*item), batches.items()))
    baseline = tf.plan(root / "baseline", op.offline_stack(before["workload"], region=region, network_state=outputs),
                       wl_state)
    return rows, baseline


def synthesize_combined(config, outdir, combined, edits, lab_files):
    def edit(c):
        for one in edits:
            c = one(c)
        return c
    change = Change(combined.name, edit=edit if edits else None, script=combined.script,
                    lab_file=lab_files[0] if lab_files else None)
    if len(lab_files) > 1:  # several lab files: apply the others by hand on the copied directory
        import shutil

        import stacks.workload as workload

        lab = outdir.parent / f"{outdir.name}-lab"
        shutil.copytree(workload.NOTEBOOKS_DIR, lab, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        for name in lab_files:
            with (lab / name).open("a") as edited:
                edited.write("\n" if name.endswith(".txt") else " ")
        saved = workload.NOTEBOOKS_DIR
        workload.NOTEBOOKS_DIR = lab
        try:
            return synthesize(config, outdir, Change(combined.name, edit=change.edit, script=combined.script))
        finally:
            workload.NOTEBOOKS_DIR = saved
    return synthesize(config, outdir, change)


# --------------------------------------------------------------------------- the tests


def test_the_before_state_plans_no_change(matrix):
    _, baseline = matrix
    assert [c.address for c in review_plan("workload", baseline).changes] == []


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_each_change_has_its_outcome(matrix, change):
    rows, _ = matrix
    terraform, workflow, messages = rows[change.name]
    assert workflow == change.expected, (terraform, messages)
    if workflow.startswith("refused"):
        assert all("Way out" in m or "way out" in m.lower() for m in messages if "REFUSED" in m), messages


def test_a_start_script_edit_and_a_settings_change_replace_nothing_the_domain_lists(matrix):
    rows, _ = matrix
    for name in ("start script edited", "workload.jupyterlab_instance_type", "workload.data_prefix"):
        terraform, _, _ = rows[name]
        assert "aws_sagemaker_studio_lifecycle_config" not in terraform and "aws_sagemaker_domain" not in terraform, (
            name, terraform)


def render(rows) -> str:
    lines = ["| Change | What Terraform does on AWS (provider 5.100.0) | What the workflow does |", "|---|---|---|"]
    for change in CHANGES:
        terraform, workflow, _ = rows[change.name]
        lines.append(f"| {change.name} | {terraform.replace('|', '/')} | {workflow} |")
    return "\n".join(lines)


def test_docs_day2_shows_the_matrix_as_tested(matrix):
    rows, _ = matrix
    text = DOC.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    current = f"\n{render(rows)}\n"
    if os.environ.get("STUDIO_REGENERATE_GOLDEN"):
        DOC.write_text(text[:start] + current + text[end:])
        return
    assert text[start:end] == current, "docs/day-2.md's matrix changed: rerun with STUDIO_REGENERATE_GOLDEN=1"
