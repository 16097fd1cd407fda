"""The day-2 change matrix: every change a platform team makes, decided by the provider itself.

Each row is one change of the deployed environment: a setting of
isolated_studio/config/model.py given a new value in the TOML document (parsed and validated
as a user's file is), an edit of a lab file or of the start script, a tag, a user added or
removed, or an environment deployed by the previous release. The environment is synthesized
before and after the change; each stack has a "before" state holding every resource, those
moto cannot create included (tests/offline_plan.py builds it with the provider), and the after
synthesis is planned against it with ``terraform plan -refresh=false``: Terraform and the
pinned provider decide update in place or replace; the review with its day-2 rules
(isolated_studio/ops/day2.py) decides what ``make deploy`` does (``day2.deploy_decision``, what
the workflow acts on). Each row's outcome is asserted, and docs/day-2.md's table is written from
the same rows (``STUDIO_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/integration/terraform/test_day2_matrix.py``
rewrites it).

The rows are ROWS of tests/day2_changes.py: a new setting fails
tests/unit/ops/test_day2_matrix_rows.py until it has a row (one line in ROWS) or a reason in
NOT_DAY2.

Cost (`make test` runs this module on one worker): one ``terraform init`` for both stacks; the
before states, keyed by everything they are built from: the ones committed in
tests/data/day2/before-states/ (written with docs/day-2.md by STUDIO_REGENERATE_GOLDEN=1),
else pytest's cache, else built (network and workload overlapping; 65 s CPU of the module's
~270 s), with the syntheses of the changes while they build; changes packed into as few plans as keep their outcomes apart (disjoint
resources, or resources the plan only updates in place), two plans at a time. Progress and
the module's wall and CPU time are printed on stderr ("day-2 [...]").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import offline_plan as op
import pytest
from day2_changes import (
    APPLIES,
    ASKS,
    HARMLESS,
    NOT_DAY2,
    NOTHING,
    REFUSED,
    ROWS,
    Change,
    base_document,
    document,
    edited_lab,
    parse,
)
from support import require_terraform

from isolated_studio.config import PROJECT_ROOT
from isolated_studio.ops import day2
from isolated_studio.ops.plan_review import Action, review_plan

DOC = PROJECT_ROOT / "docs" / "day-2.md"
TABLE_START = (
    "<!-- day-2 matrix: written by tests/integration/terraform/test_day2_matrix.py (STUDIO_REGENERATE_GOLDEN=1) -->"
)
TABLE_END = "<!-- end of day-2 matrix -->"
NOT_DAY2_START = (
    "<!-- settings that are not day-2 changes: written by tests/integration/terraform/test_day2_matrix.py -->"
)
NOT_DAY2_END = "<!-- end of settings that are not day-2 changes -->"
#: The before states of the last regeneration (before_states), named by their key.
COMMITTED_BEFORE_STATES = Path(__file__).resolve().parents[2] / "data" / "day2" / "before-states"
#: The state of an environment deployed by the previous release (tests/day2_previous_release.py).
PREVIOUS_RELEASE = Path(__file__).parents[2] / "data" / "day2" / "previous-release.json"

# --------------------------------------------------------------------------- configuration and synthesis


STACKS = ("network", "workload")


def synthesize(changes: list[Change], outdir: Path) -> dict[str, dict]:
    import stacks.workload
    import stacks.workload_studio
    from main import build_app

    with edited_lab(changes, outdir.parent / f"{outdir.name}-lab", stacks.workload, stacks.workload_studio):
        config = parse(document(changes, outdir.parent))
        build_app(config, outdir).synth()
    return {s: json.loads((outdir / "stacks" / s / "cdk.tf.json").read_text()) for s in STACKS}


# --------------------------------------------------------------------------- the before states


def _cpu() -> float:
    """CPU seconds of this process, its finished children and its live ones (the jsii runtime)."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            for pid in (task / "children").read_text().split():
                with contextlib.suppress(OSError, IndexError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _network_outputs(state: Mapping[str, Any]) -> dict:
    return op.outputs_state(None, state)


def before_states(
    tf: op.Terraform, root: Path, docs: Mapping[str, dict], region: str, cache: Path | None
) -> dict[str, dict]:
    """Both stacks' before states: from the cache, else built (the workload's starts as soon as
    the network's resources have their ids, while the network's build finishes)."""
    offline = {s: op.offline_stack(docs[s], region=region) for s in STACKS}
    key = hashlib.sha256(json.dumps([offline, tf.lock, Path(op.__file__).read_text()], sort_keys=True).encode())
    name = f"{key.hexdigest()[:32]}.json"
    cached = cache / name if cache else None
    # The states committed with the matrix (written when docs/day-2.md is regenerated): the
    # key covers everything they are built from (the offline stacks, the provider's lock, the
    # builder), so a fresh clone of a commit whose stacks have not changed since uses them and
    # any change builds them again here, as before. Building them is a minute or more of
    # Terraform on two cores.
    for source, path in (("committed", COMMITTED_BEFORE_STATES / name), ("pytest's cache", cached)):
        if path and path.is_file():
            op.log(f"before states: {source} ({name})")
            states = json.loads(path.read_text())
            _commit_if_regenerating(states, name)
            return states
    op.log(f"before states: none committed or cached for key {name}: building them")
    started: dict[str, Any] = {}

    def workload(outputs: Mapping[str, Any]) -> None:
        network = _network_outputs(outputs)
        started["outputs"] = network["outputs"]
        thread = threading.Thread(
            target=lambda: started.update(
                built=op.build_state(
                    tf, root / "workload", offline["workload"], region, label="workload", network=network
                )
            )
        )
        started["thread"] = thread
        thread.start()

    network = op.build_state(tf, root / "network", offline["network"], region, label="network", first_fill=workload)
    if "thread" not in started:  # converged at once (a seed): nothing started the workload
        workload(network.state)
    started["thread"].join()
    if "built" not in started:
        raise AssertionError("the workload's before state was not built (its error is above)")
    built = started["built"]
    if started["outputs"] != network.state["outputs"]:  # the network's ids moved after the first round
        built = op.build_state(
            tf,
            root / "workload-again",
            offline["workload"],
            region,
            label="workload",
            network=_network_outputs(network.state),
            seed=built.state,
        )
    states = {"network": network.state, "workload": built.state}
    if cached:
        cached.write_text(json.dumps(states))
    _commit_if_regenerating(states, name)
    return states


def _commit_if_regenerating(states: Mapping[str, Any], name: str) -> None:
    """With STUDIO_REGENERATE_GOLDEN, the states become the committed ones (the only ones)."""
    if not os.environ.get("STUDIO_REGENERATE_GOLDEN"):
        return
    COMMITTED_BEFORE_STATES.mkdir(parents=True, exist_ok=True)
    target = COMMITTED_BEFORE_STATES / name
    for old in COMMITTED_BEFORE_STATES.glob("*.json"):
        if old != target:
            old.unlink()
    target.write_text(json.dumps(states, sort_keys=True, indent=0) + "\n")


# --------------------------------------------------------------------------- batches


NEVER_SHARED = ("aws_sagemaker_domain", "aws_sagemaker_studio_lifecycle_config")  # their rules read the attributes


@dataclass
class Effect:
    """What one change touches: ``stack:block`` of every block it edits and every one that depends on them."""

    change: Change
    docs: dict[str, dict]
    closure: set[str]
    everything: bool  # its closure is every resource (the provider's configuration changed)

    def addresses(self, stack: str) -> set[str]:
        return {node.split(":", 1)[1] for node in self.closure if node.startswith(stack + ":")}

    def stacks(self) -> set[str]:
        return {
            node.split(":", 1)[0]
            for node in self.closure
            if not node.split(":", 1)[1].startswith(("output.", "local.", "data.", "provider."))
        }


def effect_of(change: Change, before: Mapping[str, dict], after: Mapping[str, dict]) -> Effect:
    if change.deployed != "main":
        every = {f"{s}:{a}" for s in STACKS for d in (before[s], after[s]) for a in op.blocks(d)}
        return Effect(change, dict(after), every, True)
    edited = {f"{s}:{a}" for s in STACKS for a in op.changed_blocks(before[s], after[s])}
    edges: dict[str, set[str]] = {}
    for docs in (before, after):
        for node, targets in op.dependents(docs).items():
            edges.setdefault(node, set()).update(targets)
    return Effect(change, dict(after), op.closure(edited, edges), any(n.endswith(":provider.aws") for n in edited))


def _shareable(node: str, exclusive: set[str] = frozenset()) -> bool:
    return not node.split(":", 1)[1].startswith(NEVER_SHARED) and node not in exclusive


def pack(effects: list[Effect], exclusive: set[str] = frozenset()) -> list[list[Effect]]:
    """Batches of changes planned together: each change's blocks apart from the others', but
    for blocks that may be shared (checked after the plan: only updated in place); a change of
    the provider's configuration shares only with changes expected to apply in place; another
    deployment (the previous release) is planned alone; one edit per lab file, one script edit."""
    batches: list[list[Effect]] = []
    for effect in effects:
        home = None
        if effect.change.deployed == "main":
            for batch in batches:
                if any(other.change.deployed != "main" for other in batch):
                    continue
                overlap = {
                    n
                    for o in batch
                    for n in effect.closure & o.closure
                    if not n.split(":", 1)[1].startswith(("output.", "local.", "data.", "provider."))
                }
                if any(not _shareable(n, exclusive) for n in overlap):
                    continue
                if (
                    overlap
                    and (effect.everything or any(o.everything for o in batch))
                    and not all(e.change.expected in (APPLIES, NOTHING) for e in (effect, *batch))
                ):
                    continue
                if {k for o in batch for k in o.change.lab} & set(effect.change.lab):
                    continue
                if effect.change.script and any(o.change.script for o in batch):
                    continue
                # One value per setting in a synthesis; and a change of every resource (the
                # provider's default tags) would own every other change's warnings.
                if {k for o in batch for k in o.change.settings} & set(effect.change.settings):
                    continue
                if effect.everything or any(o.everything for o in batch):
                    continue
                home = batch
                break
        if home is None:
            batches.append([effect])
        else:
            home.append(effect)
    return batches


@dataclass
class Row:
    terraform: str
    outcome: str
    messages: list[str]
    plans: str  # which plan decided it


def _summary(changes) -> str:
    order = {Action.DELETE: 0, Action.REPLACE: 1, Action.FORGET: 2, Action.CREATE: 3, Action.UPDATE: 4}
    counts = Counter((order[c.action], c.action_label, c.type) for c in changes)
    return ", ".join(
        f"{label} {rtype}" + (f" ×{n}" if n > 1 else "") for (_, label, rtype), n in sorted(counts.items())
    )


@dataclass
class Matrix:
    rows: dict[str, Row]
    unexplained: list[str]
    conflicts: list[str]
    plans: int
    seconds: float
    cpu: float


class Runner:
    def __init__(self, tf: op.Terraform, root: Path, region: str, states: Mapping[str, dict[str, dict]]):
        self.tf, self.root, self.region, self.states = tf, root, region, states
        self.unexplained: list[str] = []
        self.conflicts: list[str] = []
        #: stack:address of what a plan did more than update in place: never shared again.
        self.exclusive: set[str] = set()

    def plan(self, label: str, batch: list[Effect], docs: Mapping[str, dict]) -> tuple[dict[str, Row], list[Effect]]:
        """The rows of the batch's changes, and the changes whose outcomes the plan cannot tell
        apart (a shared resource not only updated in place), to be planned again apart."""
        deployed = batch[0].change.deployed
        states = self.states[deployed]
        stacks = set().union(*(e.stacks() for e in batch))
        network_outputs = _network_outputs(states["network"])
        plans: dict[str, dict | None] = {}
        started = time.monotonic()
        if "network" in stacks:
            plans["network"] = self.tf.plan(
                self.root / label / "network", op.offline_stack(docs["network"], region=self.region), states["network"]
            )
            network_outputs = op.outputs_state(plans["network"], states["network"])
        if "workload" in stacks or deployed != "main":
            plans["workload"] = self.tf.plan(
                self.root / label / "workload",
                op.offline_stack(docs["workload"], region=self.region),
                states["workload"],
                network_outputs,
            )
        op.log(f"{label}: {len(plans)} plan(s) of {len(batch)} change(s) in {time.monotonic() - started:.1f} s")
        reviews = {s: review_plan(s, p) for s, p in plans.items() if p is not None}
        conflicted: set[int] = set()
        for stack, review in reviews.items():
            for change in review.changes:
                owners = [i for i, e in enumerate(batch) if f"{stack}:{change.address}" in e.closure]
                if not owners:
                    self.unexplained.append(
                        f"{label}: {stack}: {change.action_label} {change.address} "
                        f"({change.details}): no change of the batch touches it"
                    )
                elif len(owners) > 1 and (
                    change.action is not Action.UPDATE or any(w.address == change.address for w in review.warnings)
                ):
                    conflicted.update(owners)
                    self.exclusive.add(f"{stack}:{change.address}")
                    self.conflicts.append(
                        f"{label}: {change.address} ({change.action_label}) is shared by "
                        + ", ".join(batch[i].change.name for i in owners)
                    )
        rows: dict[str, Row] = {}
        for number, effect in enumerate(batch):
            if number in conflicted:
                continue
            parts, warnings, messages = [], [], []
            for stack, review in reviews.items():
                mine = [c for c in review.changes if f"{stack}:{c.address}" in effect.closure]
                if mine:
                    parts.append(f"{stack}: {_summary(mine)}")
                found = [
                    w
                    for w in review.warnings
                    if f"{stack}:{w.address}" in effect.closure or f"{stack}:output.{w.address}" in effect.closure
                ]
                warnings += found
                messages += [w.message for w in found]
            decision = day2.deploy_decision(warnings)
            changes = [c for s, r in reviews.items() for c in r.changes if f"{s}:{c.address}" in effect.closure]
            if decision == day2.REFUSED:
                outcome = REFUSED
            elif decision == day2.ASKS_FIRST:
                outcome = ASKS
            elif any(c.action in (Action.REPLACE, Action.DELETE) for c in changes):
                outcome = HARMLESS
            else:
                outcome = APPLIES if changes else NOTHING
            rows[effect.change.name] = Row("; ".join(parts) or "no change", outcome, messages, label)
        # The others' outcomes are their own: what they share the plan only updates in place.
        return rows, [batch[i] for i in sorted(conflicted)]


def run_matrix(root: Path, provider_mirror: str | None, cache: Path | None, rows: list[Change]) -> Matrix:
    started, cpu = time.monotonic(), _cpu()
    op.log(f"matrix: {len(rows)} changes")
    base = [Change("base", NOTHING)]
    before = {"main": synthesize(base, root / "before")}
    region = parse(base_document()).region
    tf_ready: dict[str, Any] = {}

    def terraform() -> None:
        try:
            tf = op.Terraform(
                root / "tf", op.env_for(provider_mirror), before["main"]["network"]["terraform"]["required_providers"]
            )
            tf_ready["tf"] = tf
            tf_ready["states"] = {"main": before_states(tf, root / "before-state", before["main"], region, cache)}
        except BaseException as exc:
            tf_ready["error"] = exc

    builder = threading.Thread(target=terraform)
    builder.start()
    effects: list[Effect] = []
    for number, change in enumerate(rows):
        effects.append(effect_of(change, before["main"], synthesize([change], root / f"after-{number}")))
        if number % 10 == 9:
            op.log(f"synthesized {number + 1} of {len(rows)} changes")
    builder.join()
    if "error" in tf_ready:
        raise tf_ready["error"]
    tf = tf_ready["tf"]
    states = tf_ready["states"]
    if any(e.change.deployed == "previous release" for e in effects):
        previous = json.loads(PREVIOUS_RELEASE.read_text())
        states["previous release"] = {s: previous[s] for s in STACKS}
    runner = Runner(tf, root / "plans", region, states)
    batches = pack(effects)
    op.log(f"{len(effects)} changes in {len(batches)} batches")
    results: dict[str, Row] = {}
    lock = threading.Lock()

    def docs_of(batch: list[Effect], label: str) -> dict[str, dict]:
        if len(batch) == 1:
            return batch[0].docs
        return synthesize([e.change for e in batch], root / label)

    def planned(job: tuple[str, list[Effect], dict[str, dict]]) -> list[Effect]:
        label, batch, docs = job
        rows, again = runner.plan(label, batch, docs)
        if again:
            op.log(f"{label}: {len(again)} changes share what the plan does not only update: planned again apart")
        with lock:
            results.update(rows)
        return again

    with ThreadPoolExecutor(max_workers=2) as pool:
        # Synthesis stays in this thread (jsii); each batch is planned as soon as it is synthesized.
        futures = [
            pool.submit(planned, (f"batch-{n}", batch, docs_of(batch, f"batch-{n}"))) for n, batch in enumerate(batches)
        ]
        again = [effect for future in futures for effect in future.result()]
        # Packed again, what the plans did more than update kept apart this time (a batch of one
        # cannot conflict, so this ends).
        for round_ in range(1, len(again) + 1):
            if not again:
                break
            futures = [
                pool.submit(planned, (f"again{round_}-{n}", batch, docs_of(batch, f"again{round_}-{n}")))
                for n, batch in enumerate(pack(again, runner.exclusive))
            ]
            again = [effect for future in futures for effect in future.result()]
    seconds, cpu = time.monotonic() - started, _cpu() - cpu
    op.log(f"matrix done: {len(results)} changes, {tf.plans} plans, {seconds:.0f} s wall, {cpu:.0f} s CPU")
    return Matrix(results, runner.unexplained, runner.conflicts, tf.plans, seconds, cpu)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, provider_mirror, pytestconfig) -> Matrix:
    require_terraform()
    cache = pytestconfig.cache.mkdir("day2-before-states") if getattr(pytestconfig, "cache", None) else None
    root = tmp_path_factory.mktemp("day2")
    result = run_matrix(root, provider_mirror, cache, ROWS)
    # Every row's plan summary and messages, for a failing row's whole story.
    (root / "rows.json").write_text(json.dumps({n: vars(r) for n, r in result.rows.items()}, indent=1))
    op.log(f"rows: {root / 'rows.json'}")
    return result


# --------------------------------------------------------------------------- the tests


@pytest.mark.terraform
def test_every_change_of_the_deployed_environment_is_explained_by_the_change(matrix):
    # A plan change no row's edit explains: the before state is not what the before synthesis
    # deploys, or the matrix misses a dependency between resources.
    assert matrix.unexplained == []


@pytest.mark.terraform
@pytest.mark.parametrize("change", ROWS, ids=[c.name for c in ROWS])
def test_each_change_has_its_outcome(matrix, change):
    result = matrix.rows[change.name]
    assert result.outcome == change.expected, (result.terraform, result.messages)


@pytest.mark.terraform
def test_what_deploy_refuses_or_asks_says_what_is_lost_or_why_and_the_way_out(matrix):
    for name, result in matrix.rows.items():
        if result.outcome in (REFUSED, ASKS):
            decisive = [m for m in result.messages if m.startswith(("REFUSED", "DESTROY", "REPLACE"))]
            assert decisive, (name, result.messages)
            for message in decisive:
                if "long-lived" in message or message.startswith("REFUSED"):
                    assert "Way out" in message, (name, message)


@pytest.mark.terraform
def test_the_previous_release_deployed_again_is_refused_until_its_start_script_is_detached(matrix):
    # The previous release's lifecycle configuration held the whole start script; this one's is
    # the small bootstrap under the same name, so the provider replaces it (no update call), and
    # SageMaker refuses to delete one the domain lists: refused before any apply, with the way out.
    result = matrix.rows[ROWS[6].name]
    assert result.outcome == REFUSED, result.messages
    refused = [m for m in result.messages if m.startswith("REFUSED")]
    assert refused and all(
        "aws_sagemaker_studio_lifecycle_config" in m and "ResourceInUse" in m and "Way out: detach it first" in m
        for m in refused
    ), refused
    # Not an in-place UpdateDomain (hashicorp/terraform-provider-aws#45528).
    assert not any(day2.PROVIDER_ISSUE in m for m in result.messages), result.messages


@pytest.mark.terraform
def test_a_start_script_edit_and_a_settings_change_replace_nothing_the_domain_lists(matrix):
    for name in (
        ROWS[0].name,
        "workload.jupyterlab_instance_type = ml.m5.large",
        "workload.data_prefix = datasets",
        "workload.mlflow_maintenance_window = Sat:22:00",
    ):
        terraform = matrix.rows[name].terraform
        assert "aws_sagemaker_studio_lifecycle_config" not in terraform and "aws_sagemaker_domain" not in terraform, (
            name,
            terraform,
        )


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def render(rows: Mapping[str, Row]) -> str:
    lines = ["| Change | What Terraform does on AWS (provider 5.100.0) | What `make deploy` does |", "|---|---|---|"]
    for change in ROWS:
        result = rows[change.name]
        lines.append(f"| {_cell(change.name)} | {_cell(result.terraform)} | {result.outcome} |")
    return "\n".join(lines)


def render_not_day2() -> str:
    lines = ["| Setting | Why it is not a change of the deployed stacks |", "|---|---|"]
    lines += [f"| `{key}` | {why} |" for key, why in sorted(NOT_DAY2.items())]
    return "\n".join(lines)


def _replace_between(text: str, start: str, end: str, body: str) -> str:
    head, tail = text.index(start) + len(start), text.index(end)
    return text[:head] + f"\n{body}\n" + text[tail:]


@pytest.mark.terraform
def test_docs_day2_shows_the_matrix_as_tested(matrix):
    text = DOC.read_text()
    current = _replace_between(text, TABLE_START, TABLE_END, render(matrix.rows))
    current = _replace_between(current, NOT_DAY2_START, NOT_DAY2_END, render_not_day2())
    if os.environ.get("STUDIO_REGENERATE_GOLDEN"):
        DOC.write_text(current)
        return
    assert text == current, "docs/day-2.md's tables changed: rerun with STUDIO_REGENERATE_GOLDEN=1"
