"""Plan, deploy and destroy the stacks in order, from saved plans, with a review report.

    python -m isolated_studio.ops.workflow plan    [--stacks ...] [--no-synth] [--outdir cdktf.out] [--plan-dir DIR]
    python -m isolated_studio.ops.workflow deploy  [--stacks ...] [--yes] ...
    python -m isolated_studio.ops.workflow destroy [--stacks ...] [--yes] [--include-state] ...

Every command synthesizes first (``python main.py`` with the current environment; skip
with ``--no-synth`` to reuse ``--outdir``), then works stack by stack in dependency order
(state, network, workload; destroy in reverse). Each stack is planned into a saved plan
``<plan-dir>/<stack>.tfplan`` plus its ``terraform show -json`` (``<stack>.plan.json``),
and the run ends with ``<plan-dir>/review.md`` from :mod:`isolated_studio.ops.plan_review`.
``deploy`` applies exactly those saved plans, ``destroy`` saved ``-destroy`` plans.

Where the stacks cannot be planned yet the run says why instead of failing: network and
workload keep their state in the bucket the state stack creates, and the workload reads the
network's outputs from the network's state (``terraform_remote_state``).

In emulator mode (``emulator.endpoint`` / ``STUDIO_EMULATOR_ENDPOINT``) every boto3 client
talks to the emulator, the account check is skipped (moto answers for 123456789012 whatever
the configuration says) and the workload is planned but never applied: moto cannot create
SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact. With
``--emulator-scope`` every workload plan (and so its apply and destroy) targets the part
moto can create instead (:mod:`isolated_studio.ops.emulator_scope`: its buckets, objects, KMS
key and IAM roles), and the workload is applied.

Signals: SIGINT, SIGTERM and SIGHUP are forwarded to Terraform (:mod:`isolated_studio.ops.signals`);
it stops cleanly, and the run ends with what it did. Every deploy and destroy ends with the
stacks applied, skipped and failed (also in review.md, "Applied"), and, for a stack whose
apply did not finish, whether its state lock was released.

Exit codes: 0 done, 1 a step failed, 2 refused, aborted or interrupted before anything changed
(configuration, target account/region, confirmation, preconditions), 3 stopped part-way:
aborted or interrupted after something changed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from isolated_studio.base.paths import PROJECT_ROOT, ordered
from isolated_studio.base.paths import stack_dirs as synthesized_stack_dirs
from isolated_studio.base.terraform import TerraformError, terraform_env
from isolated_studio.config import ConfigError, StudioConfig, load_config
from isolated_studio.config.emulator import EmulatorProfile
from isolated_studio.ops import audit, aws, cleanup, day2, drift, guard, plan_review, retention, runlock, vpc_cleanup
from isolated_studio.ops.app import outdir_mismatches, synthesize
from isolated_studio.ops.aws import aws_client, aws_failure, verify_target
from isolated_studio.ops.context import RunContext
from isolated_studio.ops.emulator_scope import emulator_targets
from isolated_studio.ops.errors import Refused, WorkflowError
from isolated_studio.ops.results import PlanFailed, RunResult, Skipped, StackPlan, render_report, write_private
from isolated_studio.ops.runner import DEFAULT_TIMEOUT_S, Terraform, TooOld, check_version
from isolated_studio.ops.signals import Interrupted, Interrupts
from isolated_studio.ops.stack_specs import SPECS, STACK_ORDER

__all__ = [
    "Workflow",
    "WorkflowError",
    "Refused",
    "PlanFailed",
    "RunResult",
    "StackPlan",
    "Skipped",
    "Terraform",
    "aws_client",
    "verify_target",
    "outdir_mismatches",
    "synthesize",
    "main",
]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_STOPPED = 0, 1, 2, 3
# The read-only checks: their 2 means "found something", so they fail with 1.
CHECKS = ("drift", "audit")

Say = Callable[[str], None]


def destroy_refusal(config: StudioConfig, stacks: Sequence[str], include_state: bool) -> str | None:
    """Why a destroy of these stacks must not start, from the configuration alone."""
    if "state" in stacks and not include_state:
        return "the state stack holds every other stack's state: destroy it only with --include-state"
    if include_state and config.state.protect:
        return (
            f"{config.source}: state.protect is true, so the state bucket, lock table and KMS key have "
            "prevent_destroy and Terraform refuses to destroy them; set `protect = false` under [state], "
            "apply that with `deploy --stacks state`, then destroy with --include-state"
        )
    return None


def bare_state_bucket_refusal(config: StudioConfig, stacks: Sequence[str]) -> str | None:
    """Why a deploy must not create the state bucket: never under the bare default name.

    S3 names are global, so ``<name_prefix>-tfstate`` is anyone's who uses the prefix (and
    likely taken). A bucket of that name that exists and is ours is used as before; one that
    belongs to another account is refused by :func:`aws.bucket_exists`.
    """
    if "state" not in stacks or not config.state_bucket_is_generic:
        return None
    if aws.bucket_exists(aws_client(config, "s3"), config.state.bucket, config.region):
        return None
    return (
        f"{config.source}: the state bucket {config.state.bucket} does not exist yet, and deploy does not create it "
        "under this bare default name: S3 bucket names are global, and without project.account_id the name "
        "carries neither account nor region. Set `project.account_id` (the bucket is then "
        f"{config.name_prefix}-tfstate-<account_id>-{config.region}) or `state.bucket` (a name of your own), "
        "then deploy again"
    )


# --------------------------------------------------------------------------- the workflow


@dataclass
class Workflow:
    """The commands over one synthesized app, for one environment.

    Each command reads as its steps, and the steps follow the command in the order it takes
    them; after them come the planning every command shares and the facts about the target
    the steps ask for. ``say`` prints progress, ``ask`` reads a confirmation;
    ``interactive`` says whether anybody can answer (None: whether stdin is a terminal).
    Call :func:`verify_target` before ``deploy`` and ``destroy``; ``main`` does.
    """

    config: StudioConfig
    outdir: Path
    plan_dir: Path
    tf: Terraform
    say: Say = print
    ask: Callable[[str], str] = input
    interactive: bool | None = None
    # Keys a workload destroy keeps for a retained home EFS (isolated_studio.ops.retention).
    kept_keys: list[Any] = field(default_factory=list)
    interrupts: Interrupts = field(default_factory=Interrupts)
    # The current command's result, also when it stopped part-way (main reports it).
    result: RunResult | None = None
    # --emulator-scope: workload plans target what the emulator can create, and deploy applies them.
    emulator_scope: bool = False

    # ------------------------------------------------------------ plan

    def plan(self, stacks: Sequence[str]) -> RunResult:
        """Plan every stack that can be planned now; independent plans run two at a time."""
        result = self.result = RunResult("plan", self.plan_dir)
        runnable = self._unblocked(ordered(stacks), result, self.blocker, "not planned: ")
        self._plan_into(result, runnable)
        self.say(f"Saved plans and review: {result.report}")
        return result

    # ------------------------------------------------------------ deploy

    def deploy(
        self, stacks: Sequence[str], *, assume_yes: bool, allow_replace: bool = False, from_plan_dir: Path | None = None
    ) -> RunResult:
        """Plan and apply stack by stack, in order, each after its own confirmation.

        ``from_plan_dir``: apply the saved plans a reviewer approved there instead of planning
        again (Terraform refuses a plan whose state moved on). ``allow_replace``: let ``--yes``
        apply a plan that destroys or replaces a long-lived resource.
        """
        result = self.result = RunResult("deploy", self.plan_dir, requested=ordered(stacks))
        if from_plan_dir is not None:
            self._check_saved_plans(from_plan_dir, stacks)
        try:
            for stack in ordered(stacks):
                planned = (
                    self._plan_to_deploy(stack, result)
                    if from_plan_dir is None
                    else self._saved_plan(stack, from_plan_dir, result)
                )
                if planned is not None and self._can_apply(planned, result):
                    self._confirm_apply(planned, assume_yes, allow_replace)
                    self._apply(planned, result)
        finally:
            self.write_report(result)
            self.say(f"Plans and review of this deploy: {result.report}")
        return result

    def _plan_to_deploy(self, stack: str, result: RunResult) -> StackPlan | None:
        """Plan ``stack`` for applying; None when the state stack must be left alone."""
        reason = self.blocker(stack)
        if reason and stack == "state":
            result.skipped.append(Skipped(stack, reason))
            self.say(f"state: skipped: {reason}")
            return None
        if reason:
            raise WorkflowError(f"cannot deploy {stack}: {reason}")
        if stack == "state" and not self.state_bucket_exists():
            self.say(
                f"state: bucket {self.config.state.bucket} does not exist: bootstrapping the state stack "
                f"(local state {self.bootstrap_state_file()})"
            )
        planned = self.plan_stack(stack)
        result.planned.append(planned)
        self.say(planned.summary())
        return planned

    def _check_saved_plans(self, directory: Path, stacks: Sequence[str]) -> None:
        """Every stack this deploy would apply has a saved plan in ``directory``, or nothing is applied.

        A reviewer approved the plans of one run as a whole: applying the stacks that have a
        plan and skipping the others would land half of the change. To apply only some,
        name them (``--stacks``): then only those need a plan.
        """
        wanted = ordered(stacks)
        missing = [stack for stack in wanted if not (directory / f"{stack}.tfplan").is_file()]
        if not missing:
            return
        found = [stack for stack in wanted if stack not in missing]
        if not found:
            raise Refused(
                f"{directory} holds no saved plan of {', '.join(wanted)} (<stack>.tfplan); "
                "save and review them with `make plan` (or `workflow plan --plan-dir DIR`) first"
            )
        raise Refused(
            f"{directory} holds no saved plan of {', '.join(missing)} ({', '.join(f'{s}.tfplan' for s in missing)}), "
            f"only of {', '.join(found)}; nothing was applied. Applying the others alone would leave part of the "
            f'reviewed change unapplied. Plan and review every stack again (`make plan ARGS="--plan-dir DIR"`), '
            f"or apply only the stacks that have a plan by naming them: "
            f'`make deploy STACKS="{" ".join(found)}" ARGS="--from-plan-dir {directory}"`'
        )

    def _saved_plan(self, stack: str, directory: Path, result: RunResult) -> StackPlan:
        """A plan saved (and reviewed) earlier, reviewed again from its own JSON.

        :meth:`_check_saved_plans` made sure it exists."""
        plan_file = directory / f"{stack}.tfplan"
        self.tf.init(stack)
        document = json.loads(self.tf.show_json(stack, plan_file))
        review = plan_review.review_plan(stack, document, self.synthesized(stack))
        outputs_change = any(
            change.get("actions") != ["no-op"] for change in document.get("output_changes", {}).values()
        )
        planned = StackPlan(
            stack, plan_file, directory / f"{stack}.plan.json", review, review.has_changes or outputs_change
        )
        result.planned.append(planned)
        self.say(f"{stack}: saved plan {plan_file}: " + planned.summary().split(": ", 1)[1])
        return planned

    def _can_apply(self, planned: StackPlan, result: RunResult) -> bool:
        """Whether the plan changes anything that this target can create."""
        if not planned.has_changes:
            return False
        reason = self.emulator.not_applied(planned.stack, scoped=self.emulator_scope)
        if reason:
            reason += f"; the saved plan is {planned.plan_file} (--emulator-scope applies the part it can)"
            result.skipped.append(Skipped(planned.stack, f"not applied, {reason}"))
            self.say(f"{planned.stack}: {reason}")
            return False
        return True

    def _confirm_apply(self, planned: StackPlan, assume_yes: bool, allow_replace: bool = False) -> None:
        """Show the plan as Terraform does (unless --yes) and the review's warnings, then ask.

        ``--yes`` means "no questions", not "whatever the plan does": a plan that destroys or
        replaces a long-lived resource is applied unattended only with ``--allow-replace``.
        """
        refused = day2.refused_warnings(planned.review.warnings)
        if refused:  # AWS would fail these part-way through the apply: nothing is applied (ops/day2.py)
            raise Refused(
                f"{planned.stack}: the plan {planned.plan_file} is not applied: "
                + "\n  ".join(w.message.removeprefix("REFUSED: ") for w in refused)
            )
        if not assume_yes:
            self.say(self.tf.show_text(planned.stack, planned.plan_file))
        for warning in planned.review.warnings:
            self.say(f"  WARNING: {warning.message}")
        losses = day2.loss_warnings(planned.review.warnings)
        if assume_yes and losses and not allow_replace:
            raise Refused(
                f"{planned.stack}: the plan {planned.plan_file} would "
                + "; ".join(w.message.split(";")[0] for w in losses)
                + ". --yes does not apply destroys or replacements of long-lived resources: review the plan "
                "(review.md), then rerun with --allow-replace, or without --yes to confirm it yourself"
            )
        with self.interrupts.prompting():
            guard.confirm(
                f"Apply this plan to stack {planned.stack!r} of environment {self.config.environment!r}?",
                expected="yes",
                assume_yes=assume_yes,
                input_fn=self.ask,
                interactive=self.interactive,
            )

    def _apply(self, planned: StackPlan, result: RunResult) -> None:
        """Apply one saved plan (a destroy plan destroys); the result says how far it got."""
        self.interrupts.check(f"{planned.stack}: the apply")
        verb = "destroying" if planned.destroy else "applying"
        self.say(f"{planned.stack}: {verb} {planned.plan_file.name}")
        result.started.append(planned.stack)
        try:
            self.tf.apply(planned.stack, planned.plan_file)
        except WorkflowError as error:
            result.failed[planned.stack] = str(error).splitlines()[0].rstrip(":")
            raise
        finally:
            if SPECS[planned.stack].local_state:
                self._protect_bootstrap_state()
        result.applied.append(planned.stack)
        if planned.destroy and planned.stack == "workload":
            self.forget_kept_keys()

    # ------------------------------------------------------------ destroy

    def destroy(self, stacks: Sequence[str], *, assume_yes: bool, include_state: bool) -> RunResult:
        """Plan every destroy, confirm once, then clear and destroy stack by stack in reverse order."""
        refusal = (
            destroy_refusal(self.config, stacks, include_state)
            or (self._deployed_protection() if include_state else None)
            or self._workload_still_tracked(stacks)
        )
        if refusal:
            raise Refused(refusal)
        chosen = ordered([*stacks, *(["state"] if include_state else [])], reverse=True)
        result = self.result = RunResult("destroy", self.plan_dir, requested=chosen)
        runnable = self._unblocked(chosen, result, self._destroy_blocker)
        # Planning reads state only; the plans are applied one by one, in this order, below.
        self._plan_into(result, runnable, destroy=True)
        self.say(f"Destroy plans and review: {result.report}")
        if not result.planned:
            self.say("Nothing to destroy.")
            return result
        studio = self._studio_inventory() if any(p.stack == "workload" for p in result.planned) else None
        self._confirm_destroy(result, assume_yes, studio)
        try:
            for planned in result.planned:
                self._clear_for_destroy(planned.stack)
                self._apply(planned, result)
        finally:
            self.write_report(result)
        return result

    def _deployed_protection(self) -> str | None:
        """Why the deployed state stack cannot be destroyed, from its state (not the configuration).

        ``protect = false`` in the file means nothing until it is applied: the deployed lock
        table keeps its deletion protection, and a destroy would empty the bucket (every state
        version) and then fail on the table. The table's ``deletion_protection_enabled`` in
        the bootstrap state is what is deployed.
        """
        path = self.bootstrap_state_file()
        if not path.exists():
            return None
        protected = [
            instance["attributes"].get("name") or resource["name"]
            for resource in json.loads(path.read_text() or "{}").get("resources", [])
            if resource.get("mode") == "managed" and resource.get("type") == "aws_dynamodb_table"
            for instance in resource.get("instances", [])
            if instance.get("attributes", {}).get("deletion_protection_enabled")
        ]
        if not protected:
            return None
        return (
            f"the deployed state stack is still protected (lock table {', '.join(protected)} has deletion "
            f"protection, per its state in {path}); `protect = false` in {self.config.source} is not applied "
            "yet. Nothing was emptied or destroyed. Apply it first with `deploy --stacks state`, then "
            "destroy with --include-state"
        )

    def _destroy_blocker(self, stack: str) -> str | None:
        local = SPECS[stack].local_state
        if not local and not self.state_bucket_exists():
            return f"nothing to destroy: the state bucket {self.config.state.bucket} does not exist"
        if local and not self.bootstrap_state_file().exists():
            return f"nothing to destroy: no bootstrap state at {self.bootstrap_state_file()}"
        self.tf.init(stack)
        if not self.tf.resources(stack):
            return "nothing to destroy: its state is empty"
        return None

    def _workload_still_tracked(self, stacks: Sequence[str]) -> str | None:
        """Destroying the network under a workload that still exists strands the workload."""
        if "network" not in stacks or "workload" in stacks or "workload" not in self.tf.dirs:
            return None
        if not self.state_bucket_exists():
            return None
        self.tf.init("workload")
        managed = [address for address in self.tf.resources("workload") if not address.startswith("data.")]
        if not managed:
            return None
        return (
            f"the workload's state still tracks {len(managed)} resources (the Studio domain, its EFS and "
            "ENIs live in the network's subnets): destroying the network first would strand them; "
            "destroy both, workload first: `destroy --stacks workload network`"
        )

    def _studio_inventory(self) -> cleanup.DomainInventory | None:
        """What the Studio cleanup will delete; refused when user profiles Terraform did not create exist."""
        domain_id = self.tf.outputs("workload").get("domain_id")
        if not domain_id:
            return None
        studio = cleanup.inventory(aws_client(self.config, "sagemaker"), domain_id)
        foreign = [p for p in (studio.user_profiles if studio else ()) if p not in self.config.workload.user_profiles]
        if foreign:
            commands = "; ".join(
                f"aws sagemaker delete-user-profile --domain-id {domain_id} --user-profile-name {p}" for p in foreign
            )
            raise Refused(
                f"domain {domain_id} has user profiles Terraform did not create, which block its "
                f"deletion: {', '.join(foreign)}. Nothing was destroyed. Keep what their users need, "
                f"delete them (after their apps and spaces: {commands}), then destroy again"
            )
        return studio

    def _confirm_destroy(
        self, result: RunResult, assume_yes: bool, studio: cleanup.DomainInventory | None = None
    ) -> None:
        lines = [f"DESTROY in environment {self.config.environment!r} ({self.config.region}):"]
        lines += [f"  {p.stack}: {p.review.to_destroy} resources" for p in result.planned]
        if studio is not None:
            lines += self._studio_lines(studio)
        with self.interrupts.prompting():
            guard.confirm(
                "\n".join(lines),
                expected=self.config.environment,
                assume_yes=assume_yes,
                input_fn=self.ask,
                interactive=self.interactive,
            )

    def _studio_lines(self, studio: cleanup.DomainInventory) -> list[str]:
        lines = [f"  Studio cleanup first deletes from domain {studio.domain_id} what users made there:"]
        lines += [f"    app {app.label}" for app in studio.apps] or ["    no apps"]
        lines += [
            f"    space {space} (owner {owner or 'shared'}; with its storage volume and every file on it)"
            for space, owner in studio.spaces
        ] or ["    no spaces"]
        lines.append(f"  and the destroy deletes the user profiles {', '.join(studio.user_profiles) or '(none)'}")
        home = (
            "kept (workload.retain_home_efs = true)"
            if self.config.workload.retain_home_efs
            else "DELETED with the domain (workload.retain_home_efs = false)"
        )
        lines.append(f"  the users' home directories on the domain's EFS: {home}")
        return lines

    def _clear_for_destroy(self, stack: str) -> None:
        """Remove what Terraform did not create but would block the stack's destroy."""
        cleanup = SPECS[stack].cleanup_before_destroy
        if cleanup is not None:
            self.interrupts.check(f"{stack}: the cleanup before its destroy")
            getattr(self, cleanup)()

    def cleanup_studio(self) -> None:
        """Delete the apps and spaces users made in Studio; they would block the domain's destroy.

        cleanup_domain's own timeout bounds it (room for a slow app plus the spaces)."""
        domain_id = self.tf.outputs("workload").get("domain_id")
        if not domain_id:
            self.say("workload: no domain_id output; no Studio cleanup needed")
            return
        try:
            cleanup.cleanup_domain(aws_client(self.config, "sagemaker"), domain_id, progress=self._cleanup_progress)
        except cleanup.CleanupError as error:
            raise WorkflowError(
                f"Studio cleanup of domain {domain_id} failed, nothing was destroyed: {error}"
            ) from error

    def cleanup_vpc_leftovers(self, *, timeout_s: float = 1800) -> None:
        """Remove what SageMaker left in the VPC (NFS security groups, ENIs, home EFS mount targets)."""
        vpc_id = self.tf.outputs("network").get("vpc_id")
        if not vpc_id:
            return
        # No SageMaker in the emulator deletes a home EFS: do not wait for it there.
        grace_s = self.emulator.sagemaker_grace_s(vpc_cleanup.SAGEMAKER_GRACE_S)
        try:
            vpc_cleanup.cleanup_vpc(
                aws_client(self.config, "ec2"),
                aws_client(self.config, "efs"),
                vpc_id,
                retain_home_efs=self.config.workload.retain_home_efs,
                timeout_s=timeout_s,
                grace_s=grace_s,
                progress=lambda line: self.say(f"  [vpc cleanup] {line}"),
            )
        except vpc_cleanup.VpcCleanupError as error:
            raise WorkflowError(f"the network was not destroyed: {error}") from error

    def destroy_targets(self, stack: str) -> list[str]:
        """With a retained home EFS, the workload destroy targets everything but its KMS key."""
        if stack != "workload" or not self.config.workload.retain_home_efs:
            return []
        return retention.destroy_targets(self.tf.resources(stack))

    def forget_kept_keys(self) -> None:
        for key in self.kept_keys:
            self.tf.run("workload", ["state", "rm", "-no-color", f"-lock-timeout={self.tf.lock_timeout}", key.address])
            self.say(f"workload: {key.message()}")

    def _cleanup_progress(self, line: str) -> None:
        self.say(f"  [cleanup] {line}")
        self.interrupts.check("the rest of the Studio cleanup")

    def empty_state_bucket(self) -> None:
        """Delete every object version from the state bucket, once no state in it tracks anything.

        The bucket is versioned, so even after network and workload are destroyed it holds their
        (empty) state files and all old versions, and S3 refuses to delete a non-empty bucket.
        A bucket already gone (a destroy that deleted it and then failed on the lock table) has
        nothing to empty: the rest of the state stack can still be destroyed.
        """
        s3, bucket = aws_client(self.config, "s3"), self.config.state.bucket
        if not self.state_bucket_exists():
            self.say(f"state: the state bucket {bucket} does not exist; nothing to empty")
            return
        still_tracked = aws.tracked_states(s3, bucket)
        if still_tracked:
            listing = ", ".join(f"{key} ({count} resources)" for key, count in still_tracked.items())
            raise WorkflowError(
                f"refusing to empty the state bucket {bucket}: {listing} still tracked; destroy those stacks first"
            )
        deleted = aws.delete_all_versions(s3, bucket)
        self.say(f"state: emptied bucket {bucket} ({deleted} object versions and delete markers)")

    # ------------------------------------------------------------ planning, shared by the commands

    def _unblocked(
        self, stacks: Sequence[str], result: RunResult, blocker: Callable[[str], str | None], label: str = ""
    ) -> list[str]:
        """The stacks ``blocker`` lets through; the others go into ``result`` with the reason."""
        runnable = []
        for stack in stacks:
            reason = blocker(stack)
            if reason:
                result.skipped.append(Skipped(stack, reason))
                self.say(f"{stack}: {label}{reason}")
            else:
                runnable.append(stack)
        return runnable

    def _plan_into(self, result: RunResult, stacks: Sequence[str], *, destroy: bool = False) -> None:
        """Plan ``stacks`` into ``result`` and write the report, also when a plan failed."""
        try:
            result.planned = self.plan_concurrently(stacks, destroy=destroy)
        except PlanFailed as failed:
            result.planned = failed.planned
            self.write_report(result)
            raise
        for planned in result.planned:
            self.say(planned.summary())
        self.write_report(result)

    def plan_concurrently(self, stacks: Sequence[str], *, destroy: bool = False) -> list[StackPlan]:
        """Plan two stacks at a time (plans only read state), in the given order.

        When a plan fails the others still finish, so the report covers them; the failures
        are raised together afterwards.
        """
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {stack: pool.submit(self.plan_stack, stack, destroy=destroy) for stack in stacks}
        raised = {stack: future.exception() for stack, future in futures.items()}
        failures = {stack: error for stack, error in raised.items() if error is not None}
        planned = [future.result() for stack, future in futures.items() if stack not in failures]
        if failures:
            raise PlanFailed(planned, failures)
        return planned

    def plan_stack(self, stack: str, *, destroy: bool = False) -> StackPlan:
        self.tf.init(stack)
        suffix = ".destroy" if destroy else ""
        plan_file = self.plan_dir / f"{stack}{suffix}.tfplan"
        json_file = self.plan_dir / f"{stack}{suffix}.plan.json"
        targets = self.destroy_targets(stack) if destroy else []
        keeps_keys = bool(targets)  # a retained home EFS: the destroy keeps the KMS keys
        if self.emulator_scope and stack == "workload":
            targets = self.emulated_targets(stack, within=targets if keeps_keys else None)
        # Only a targeted plan names targets (any runner with plan(stack, file, destroy=...) works).
        has_changes = self.tf.plan(stack, plan_file, destroy=destroy, **({"targets": targets} if targets else {}))
        document = self.tf.show_json(stack, plan_file)
        plan_file.chmod(0o600)
        write_private(json_file, document)
        if keeps_keys:
            self.kept_keys = retention.kept_keys(json.loads(document))
        review = plan_review.review_plan(stack, json.loads(document), self.synthesized(stack))
        return StackPlan(stack, plan_file, json_file, review, has_changes, destroy)

    def synthesized(self, stack: str) -> dict[str, Any] | None:
        """The stack's synthesized cdk.tf.json: the review renders the policies it plans from it."""
        path = self.tf.dirs[stack] / "cdk.tf.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def emulated_targets(self, stack: str, within: Sequence[str] | None = None) -> list[str]:
        """The ``-target``s of ``stack`` the emulator can create (``within`` narrows them further)."""
        scope = emulator_targets(json.loads((self.tf.dirs[stack] / "cdk.tf.json").read_text()))
        targets = scope if within is None else [t for t in within if t in scope]
        if not targets:
            # An empty -target list would plan the whole stack: the part the emulator cannot create too.
            raise WorkflowError(
                f"{stack}: nothing in it is in the emulator's scope (isolated_studio.ops.emulator_scope)"
            )
        self.say(
            f"{stack}: --emulator-scope: planning {len(targets)} resources the emulator can create "
            f"(-target; {', '.join(sorted({t.split('.')[0] for t in targets}))})"
        )
        return targets

    def write_report(self, result: RunResult) -> Path:
        result.report = self.plan_dir / "review.md"
        write_private(result.report, render_report(result, self.config))
        return result.report

    # ------------------------------------------------------------ facts about the target

    def blocker(self, stack: str) -> str | None:
        """Why ``stack`` cannot be planned yet, or None."""
        if stack == "state":
            return self._state_stack_blocker()
        if not self.state_bucket_exists():
            first = f"the state bucket {self.config.state.bucket} does not exist yet"
            if stack == "network":
                return (
                    f"{first}; network can be planned after the state stack is applied "
                    "(`make deploy` bootstraps it first)"
                )
            return (
                f"{first}, so the network is not applied either; workload can be planned after "
                "network is applied (it reads the network's outputs from the network's state): "
                "run `make deploy` first"
            )
        if stack == "workload" and "network" in self.tf.dirs and not self.network_applied():
            return (
                "the network is not applied yet (its state has no outputs); workload can be planned "
                "after network is applied (it reads the network's outputs through "
                "terraform_remote_state): run `make deploy` first"
            )
        return None

    def _state_stack_blocker(self) -> str | None:
        if self.bootstrap_state_file().exists() or not self.state_bucket_exists():
            return None
        return (
            f"the state bucket {self.config.state.bucket} already exists but this checkout has no "
            f"bootstrap state at {self.bootstrap_state_file()}; the state stack is managed from the "
            "machine that bootstrapped it (copy its state file here to manage it from this one)"
        )

    def state_bucket_exists(self) -> bool:
        return aws.bucket_exists(aws_client(self.config, "s3"), self.config.state.bucket, self.config.region)

    def bootstrap_state_file(self) -> Path:
        """The state stack's local state file, as its synthesized backend names it."""
        doc = json.loads((self.tf.dirs["state"] / "cdk.tf.json").read_text())
        relative = doc["terraform"]["backend"]["local"]["path"]
        return (self.tf.dirs["state"] / relative).resolve()

    def lock_status(self, stack: str) -> str:
        """Whether the state of a stack whose apply did not finish is still locked, and what then."""
        key = SPECS[stack].state_key(self.config)
        if key is None:
            return f"{stack}: its local state is locked only while a Terraform runs on it"
        try:
            lock = aws.held_lock(self.config, key)
        except (BotoCoreError, ClientError) as error:
            return f"{stack}: could not check its state lock ({error})"
        if lock is None:
            return f"{stack}: state lock released"
        return (
            f"{stack}: state still LOCKED (lock ID {lock.get('ID')}, {lock.get('Operation', '?')} by "
            f"{lock.get('Who', '?')}); once no Terraform runs on it, release it with "
            f"`terraform -chdir={self.tf.dirs[stack]} force-unlock -force {lock.get('ID')}`"
        )

    def _protect_bootstrap_state(self) -> None:
        """The bootstrap state (and its backups) owner-only, also one written before umask 077."""
        path = self.bootstrap_state_file()
        if path.parent.is_dir():
            path.parent.chmod(0o700)
            for file in path.parent.glob(f"{path.name}*"):
                file.chmod(0o600)

    @property
    def emulator(self) -> EmulatorProfile:
        return EmulatorProfile.of(self.config)

    def network_applied(self) -> bool:
        self.tf.init("network")
        return bool(self.tf.outputs("network"))


# --------------------------------------------------------------------------- CLI


def _parser(prog: str = "python -m isolated_studio.ops.workflow") -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stacks",
        nargs="+",
        choices=STACK_ORDER,
        metavar="STACK",
        help=f"stacks to work on, any of {', '.join(STACK_ORDER)} (default: all; destroy: workload and network)",
    )
    common.add_argument(
        "--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out", help="synthesized app directory (default: cdktf.out)"
    )
    common.add_argument("--no-synth", action="store_true", help="reuse --outdir instead of synthesizing")
    common.add_argument(
        "--plan-dir", type=Path, help="where plans and review.md go (default: plans/<UTC time>-<command>/)"
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds one Terraform command may take (default: %(default)s)",
    )
    common.add_argument(
        "--lock-timeout", default="0s", help="how long to wait for a state lock held by someone else (default: 0s)"
    )
    common.add_argument(
        "--emulator-scope",
        action="store_true",
        help="emulator only: plan, apply and destroy the workload's resources the emulator can "
        "create (buckets, objects, KMS key, IAM roles) as -targets",
    )
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Plan, deploy or destroy the isolated-studio stacks for STUDIO_ENV / STUDIO_CONFIG.",
        epilog="Exit codes: 0 done, 1 a step failed, 2 refused, aborted or interrupted before anything "
        "changed, 3 stopped part-way (aborted or interrupted after something changed); "
        "drift: 0 no drift, 2 drift found, 1 error; audit: 0 no breach, 2 breach found, 1 error.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plan", parents=[common], help="save and review a plan of every stack")
    deploy = commands.add_parser(
        "deploy", parents=[common], help="check the target, bootstrap state if needed, plan and apply in order"
    )
    destroy = commands.add_parser(
        "destroy", parents=[common], help="clean up Studio, destroy workload then network (state with --include-state)"
    )
    commands.add_parser(
        "drift",
        parents=[common],
        help="plan every applied stack, audit the live boundary and report drift (exit 0 none, 2 drift, 1 error)",
    )
    commands.add_parser(
        "audit",
        parents=[common],
        help="read the deployed boundary with boto3 and check it against the synthesized stacks "
        "(exit 0 no breach, 2 breach, 1 error)",
    )
    for sub in (deploy, destroy):
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    deploy.add_argument(
        "--allow-replace",
        action="store_true",
        help="with --yes, also apply plans that destroy or replace long-lived resources",
    )
    deploy.add_argument(
        "--from-plan-dir",
        type=Path,
        metavar="DIR",
        help="apply the saved plans in DIR (from `plan --plan-dir DIR`) instead of planning again; "
        "refused unless every stack deployed (all, or those --stacks names) has one",
    )
    destroy.add_argument(
        "--include-state",
        action="store_true",
        help="also destroy the state bucket and lock table (needs state.protect = false)",
    )
    return parser


def default_plan_dir(command: str) -> Path:
    return PROJECT_ROOT / "plans" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{command}"


def preflight(args: argparse.Namespace, config: StudioConfig) -> None:
    """Refusals that need neither AWS nor Terraform, before anything slow happens."""
    scope_refusal = EmulatorProfile.of(config).scope_refusal(config.source) if args.emulator_scope else None
    if scope_refusal:
        raise Refused(scope_refusal)
    if args.command == "destroy":
        refusal = destroy_refusal(config, args.stacks or (), args.include_state)
        if refusal:
            raise Refused(refusal)
    if args.command in ("deploy", "destroy") and not args.yes and not sys.stdin.isatty():
        raise Refused(
            f"{args.command} asks for confirmation, but stdin is not a terminal; pass --yes to proceed without asking"
        )
    aws.check_region(config, args.command, os.environ)


def prepare(args: argparse.Namespace, config: StudioConfig, say: Say, interrupts: Interrupts | None = None) -> Workflow:
    """Synthesize (or check the reused output), and set up the plan directory and Terraform."""
    outdir = args.outdir.resolve()
    try:
        env = terraform_env(config.provider_mirror)
    except TerraformError as error:
        raise Refused(str(error)) from error
    # Our emulator plans of the whole workload are for the review only (never applied, see
    # _can_apply): the stack's guard refuses such plans from anyone who would apply them.
    env.update(EmulatorProfile.of(config).terraform_variables())
    try:
        check_version(env)
    except TooOld as error:
        raise Refused(str(error)) from error
    if not args.no_synth:
        say(f"Synthesizing {config.environment!r} into {outdir} ...")
        say(synthesize(outdir, os.environ, timeout_s=min(args.timeout, 900)))
    if not (outdir / "manifest.json").is_file():
        raise Refused(f"{outdir} holds no synthesized app; run without --no-synth (or `make synth`)")
    dirs = synthesized_stack_dirs(outdir)
    problems = outdir_mismatches(config, dirs)
    if problems:
        raise Refused(
            f"{outdir} was synthesized for another environment or endpoint; run without "
            "--no-synth:\n  - " + "\n  - ".join(problems)
        )
    missing = [s for s in (args.stacks or ()) if s not in dirs]
    if missing:
        raise Refused(f"stack(s) {', '.join(missing)} not in {outdir} (it has: {', '.join(dirs)})")
    plan_dir = args.plan_dir.resolve() if args.plan_dir else default_plan_dir(args.command)
    plan_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    plan_dir.chmod(0o700)
    interrupts = interrupts or Interrupts()
    tf = Terraform(dirs, env, say, timeout_s=args.timeout, lock_timeout=args.lock_timeout, interrupts=interrupts)
    return Workflow(config, outdir, plan_dir, tf, say=say, interrupts=interrupts, emulator_scope=args.emulator_scope)


def execute(args: argparse.Namespace, workflow: Workflow) -> Any:
    available = list(workflow.tf.dirs)
    if args.command == "drift":
        return drift.check_drift(workflow, args.stacks or available)
    if args.command == "audit":
        return audit.run_audit(workflow)
    if args.command == "plan":
        return workflow.plan(args.stacks or available)
    if args.command == "deploy":
        return workflow.deploy(
            args.stacks or available,
            assume_yes=args.yes,
            allow_replace=args.allow_replace,
            from_plan_dir=args.from_plan_dir.resolve() if args.from_plan_dir else None,
        )
    default = [s for s in available if SPECS[s].destroyed_by_default]
    return workflow.destroy(args.stacks or default, assume_yes=args.yes, include_state=args.include_state)


def main(argv: Sequence[str] | None = None, *, context: RunContext | None = None) -> int:
    """``python -m isolated_studio.ops.workflow``, and ``isolated-studio <command>`` with its ``context``."""
    args = (_parser(context.prog) if context else _parser()).parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    # drift and audit answer "is there drift?" / "is there a breach?": 2 means yes, so a check
    # that cannot run is an error (1).
    refused_exit = EXIT_FAILED if args.command in CHECKS else EXIT_REFUSED
    try:
        config = context.load_config() if context else load_config()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return refused_exit
    interrupts = Interrupts().install()
    # Saved plans embed the prior state, and the bootstrap state is a state: owner-only, also
    # what Terraform writes.
    umask = os.umask(0o077)
    try:
        return run(args, config, say, interrupts)
    finally:
        os.umask(umask)
        interrupts.restore()


def run(args: argparse.Namespace, config: StudioConfig, say: Say, interrupts: Interrupts) -> int:
    """One command, then what it did (whatever stopped it) and its exit code."""
    workflow: Workflow | None = None
    outcome: Any = None
    stopped: str | None = None  # None: done; else "failed", "refused" or "stopped"
    try:
        preflight(args, config)
        if args.command in ("deploy", "destroy"):
            verify_target(config, args.command, say)
        if args.command == "deploy":
            refusal = bare_state_bucket_refusal(config, args.stacks or STACK_ORDER)
            if refusal:
                raise Refused(refusal)
        with runlock.hold(args.outdir.resolve(), " ".join(sys.argv[1:]) or args.command):
            workflow = prepare(args, config, say, interrupts)
            outcome = execute(args, workflow)
    except guard.Aborted as error:
        stopped = _stop("stopped" if _changed(workflow) else "refused", f"aborted: {error}")
    except Interrupted as error:
        stopped = _stop("stopped" if _changed(workflow) else "refused", f"interrupted: {error}")
    except (Refused, guard.GuardError) as error:
        stopped = _stop("stopped" if _changed(workflow) else "refused", f"refused: {error}")
    except WorkflowError as error:
        if interrupts.interrupted:  # a plan or the synthesis that the signal stopped
            stopped = _stop("stopped" if _changed(workflow) else "refused", f"interrupted: {error}")
        else:
            stopped = _stop("failed", f"error: {error}")
    except (BotoCoreError, ClientError) as error:
        stopped = _stop("failed", f"error: {aws_failure(config, error)}")
    if workflow is not None and workflow.result is not None:
        report(workflow, workflow.result, say, args, finished=stopped is None)
    if args.command in CHECKS:
        return outcome.exit_code if stopped is None and outcome is not None else EXIT_FAILED
    return EXIT_CODES[stopped]


def _stop(kind: str, message: str) -> str:
    print(message, file=sys.stderr, flush=True)
    return kind


def _changed(workflow: Workflow | None) -> bool:
    return workflow is not None and workflow.result is not None and workflow.result.changed


def report(
    workflow: Workflow, result: RunResult, say: Say, args: argparse.Namespace | None = None, *, finished: bool = True
) -> None:
    """What the run did: the stacks applied, skipped and failed, locks left held, and, after a
    run that changed something and stopped part-way, what to run next."""
    if result.command in ("plan", *CHECKS):
        return
    for line in result.outcome_lines():
        say(line)
    held = []
    for stack in [s for s in result.started if s not in result.applied]:
        status = workflow.lock_status(stack)
        say(status)
        if "LOCKED" in status:
            held.append(stack)
    if not finished and result.changed:
        result.next_steps = next_steps(result, args, held=held)
        say("Next:")
        for number, step in enumerate(result.next_steps, 1):
            say(f"  {number}. {step}")
    workflow.write_report(result)


def make_command(
    target: str, stacks: Sequence[str] = (), options: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> str:
    """The ``make`` command line that runs ``target`` for the environment this run used."""
    env = os.environ if env is None else env
    parts = [f"{name}={env[name]}" for name in ("STUDIO_CONFIG", "STUDIO_ENV") if env.get(name)][:1]
    parts += ["make", target]
    if stacks:
        parts.append(f'STACKS="{" ".join(stacks)}"')
    if options:
        parts.append(f'ARGS="{" ".join(options)}"' if len(options) > 1 else f"ARGS={options[0]}")
    return " ".join(parts)


def next_steps(
    result: RunResult,
    args: argparse.Namespace | None,
    *,
    held: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """What to run after a deploy or destroy that changed something and did not finish.

    An apply that was interrupted or failed may have created (or deleted) objects its state
    does not show yet, and saved plans of a stack whose state moved on are refused: the way
    on is always a fresh plan of what is left, reviewed, then the command again.
    """
    scope = ["--emulator-scope"] if getattr(args, "emulator_scope", False) else []
    skipped = {s.stack for s in result.skipped}
    left = [s for s in result.requested if s not in result.applied and s not in skipped]
    steps = []
    if held:
        steps.append(
            f"release the state lock of {', '.join(held)} with the `terraform force-unlock` command above, "
            "once no Terraform runs on it"
        )
    if result.command == "destroy":
        stacks = [s for s in ordered(left) if SPECS[s].destroyed_by_default]
        options = [*(["--include-state"] if "state" in left else []), *scope]
        steps.append(
            f"`{make_command('destroy', stacks, options, env)}`: it plans again what is left and "
            "destroys it, after the Studio and VPC cleanups"
        )
        return steps
    partial = [s for s in result.started if s not in result.applied]
    why = (
        f" (the unfinished apply of {', '.join(partial)} may have created resources its state does not track yet)"
        if partial
        else ""
    )
    steps.append(
        f"`{make_command('plan', left, scope, env)}`: see what is deployed now and what is left to change{why}"
    )
    steps.append(
        f"review that plan's review.md, then `{make_command('deploy', left, scope, env)}`"
        + (
            " (the saved plans of this run are used up: Terraform refuses a saved plan once its stack's state moved on)"
            if getattr(args, "from_plan_dir", None)
            else ""
        )
    )
    return steps


EXIT_CODES = {None: EXIT_OK, "failed": EXIT_FAILED, "refused": EXIT_REFUSED, "stopped": EXIT_STOPPED}


if __name__ == "__main__":
    sys.exit(main())
