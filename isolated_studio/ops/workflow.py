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
SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact.

Exit codes: 0 done, 1 a step failed, 2 refused or aborted before the step that would change
something (configuration, target account/region, confirmation, preconditions).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from isolated_studio.config import PROJECT_ROOT, ConfigError, StudioConfig, load_config
from isolated_studio.ops import aws, guard, plan_review
from isolated_studio.ops.app import outdir_mismatches, synthesize
from isolated_studio.ops.aws import aws_client, aws_failure, verify_target
from isolated_studio.ops.errors import Refused, WorkflowError
from isolated_studio.ops.results import PlanFailed, RunResult, Skipped, StackPlan, render_report
from isolated_studio.ops.runner import DEFAULT_TIMEOUT_S, Terraform
from isolated_studio.ops.summary import STACK_ORDER
from isolated_studio.ops.summary import stack_dirs as synthesized_stack_dirs
from isolated_studio.ops.terraform import TerraformError, terraform_env

__all__ = ["Workflow", "WorkflowError", "Refused", "PlanFailed", "RunResult", "StackPlan", "Skipped",
           "Terraform", "aws_client", "verify_target", "outdir_mismatches", "synthesize", "main"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
EMULATOR_CANNOT_CREATE = "SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact"

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


def ordered(stacks: Iterable[str], *, reverse: bool = False) -> list[str]:
    chosen = [s for s in STACK_ORDER if s in set(stacks)]
    return chosen[::-1] if reverse else chosen


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

    # ------------------------------------------------------------ plan

    def plan(self, stacks: Sequence[str]) -> RunResult:
        """Plan every stack that can be planned now; independent plans run two at a time."""
        result = RunResult("plan", self.plan_dir)
        runnable = self._unblocked(ordered(stacks), result, self.blocker, "not planned: ")
        self._plan_into(result, runnable)
        self.say(f"Saved plans and review: {result.report}")
        return result

    # ------------------------------------------------------------ deploy

    def deploy(self, stacks: Sequence[str], *, assume_yes: bool) -> RunResult:
        """Plan and apply stack by stack, in order, each after its own confirmation."""
        result = RunResult("deploy", self.plan_dir)
        try:
            for stack in ordered(stacks):
                planned = self._plan_to_deploy(stack, result)
                if planned is not None and self._can_apply(planned, result):
                    self._confirm_apply(planned, assume_yes)
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
            self.say(f"state: bucket {self.config.state.bucket} does not exist: bootstrapping the state stack "
                     f"(local state {self.bootstrap_state_file()})")
        planned = self.plan_stack(stack)
        result.planned.append(planned)
        self.say(planned.summary())
        return planned

    def _can_apply(self, planned: StackPlan, result: RunResult) -> bool:
        """Whether the plan changes anything that this target can create."""
        if not planned.has_changes:
            return False
        if planned.stack == "workload" and self.config.emulator.enabled:
            reason = (f"planned only: the emulator cannot create {EMULATOR_CANNOT_CREATE}; "
                      f"the saved plan is {planned.plan_file}")
            result.skipped.append(Skipped(planned.stack, f"not applied, {reason}"))
            self.say(f"workload: {reason}")
            return False
        return True

    def _confirm_apply(self, planned: StackPlan, assume_yes: bool) -> None:
        """Show the plan as Terraform does (unless --yes) and the review's warnings, then ask."""
        if not assume_yes:
            self.say(self.tf.show_text(planned.stack, planned.plan_file))
        for warning in planned.review.warnings:
            self.say(f"  WARNING: {warning.message}")
        guard.confirm(
            f"Apply this plan to stack {planned.stack!r} of environment {self.config.environment!r}?",
            expected="yes", assume_yes=assume_yes, input_fn=self.ask, interactive=self.interactive,
        )

    def _apply(self, planned: StackPlan, result: RunResult) -> None:
        self.say(f"{planned.stack}: applying {planned.plan_file.name}")
        self.tf.apply(planned.stack, planned.plan_file)
        result.applied.append(planned.stack)

    # ------------------------------------------------------------ destroy

    def destroy(self, stacks: Sequence[str], *, assume_yes: bool, include_state: bool) -> RunResult:
        """Plan every destroy, confirm once, then clear and destroy stack by stack in reverse order."""
        refusal = destroy_refusal(self.config, stacks, include_state)
        if refusal:
            raise Refused(refusal)
        result = RunResult("destroy", self.plan_dir)
        chosen = ordered([*stacks, *(["state"] if include_state else [])], reverse=True)
        runnable = self._unblocked(chosen, result, self._destroy_blocker)
        # Planning reads state only; the plans are applied one by one, in this order, below.
        self._plan_into(result, runnable, destroy=True)
        self.say(f"Destroy plans and review: {result.report}")
        if not result.planned:
            self.say("Nothing to destroy.")
            return result
        self._confirm_destroy(result, assume_yes)
        for planned in result.planned:
            self._clear_for_destroy(planned.stack)
            self._destroy_stack(planned, result)
        return result

    def _destroy_blocker(self, stack: str) -> str | None:
        if stack != "state" and not self.state_bucket_exists():
            return f"nothing to destroy: the state bucket {self.config.state.bucket} does not exist"
        if stack == "state" and not self.bootstrap_state_file().exists():
            return f"nothing to destroy: no bootstrap state at {self.bootstrap_state_file()}"
        self.tf.init(stack)
        if not self.tf.resources(stack):
            return "nothing to destroy: its state is empty"
        return None

    def _confirm_destroy(self, result: RunResult, assume_yes: bool) -> None:
        lines = [f"DESTROY in environment {self.config.environment!r} ({self.config.region}):"]
        lines += [f"  {p.stack}: {p.review.to_destroy} resources" for p in result.planned]
        guard.confirm("\n".join(lines), expected=self.config.environment,
                      assume_yes=assume_yes, input_fn=self.ask, interactive=self.interactive)

    def _clear_for_destroy(self, stack: str) -> None:
        """Remove what Terraform did not create but would block the stack's destroy."""
        clear = {"workload": self.cleanup_studio, "network": self.cleanup_vpc_leftovers,
                 "state": self.empty_state_bucket}.get(stack)
        if clear is not None:
            clear()

    def _destroy_stack(self, planned: StackPlan, result: RunResult) -> None:
        self.say(f"{planned.stack}: destroying ({planned.plan_file.name})")
        self.tf.apply(planned.stack, planned.plan_file)
        result.applied.append(planned.stack)
        if planned.stack == "workload":
            self.forget_kept_keys()

    def cleanup_studio(self, *, timeout_s: float = 1800) -> None:
        """Delete the apps and spaces users made in Studio; they would block the domain's destroy."""
        from isolated_studio.ops.cleanup import CleanupError, cleanup_domain

        domain_id = self.tf.outputs("workload").get("domain_id")
        if not domain_id:
            self.say("workload: no domain_id output; no Studio cleanup needed")
            return
        try:
            cleanup_domain(aws_client(self.config, "sagemaker"), domain_id, timeout_s=timeout_s,
                           progress=lambda line: self.say(f"  [cleanup] {line}"))
        except CleanupError as error:
            raise WorkflowError(f"Studio cleanup of domain {domain_id} failed, nothing was destroyed: {error}") from error

    def cleanup_vpc_leftovers(self, *, timeout_s: float = 1800) -> None:
        """Remove what SageMaker left in the VPC (NFS security groups, ENIs, home EFS mount targets)."""
        from isolated_studio.ops.vpc_cleanup import SAGEMAKER_GRACE_S, VpcCleanupError, cleanup_vpc

        vpc_id = self.tf.outputs("network").get("vpc_id")
        if not vpc_id:
            return
        # No SageMaker in the emulator deletes a home EFS: do not wait for it there.
        grace_s = 0.0 if self.config.emulator.enabled else SAGEMAKER_GRACE_S
        try:
            cleanup_vpc(aws_client(self.config, "ec2"), aws_client(self.config, "efs"), vpc_id,
                        retain_home_efs=self.config.workload.retain_home_efs, timeout_s=timeout_s, grace_s=grace_s,
                        progress=lambda line: self.say(f"  [vpc cleanup] {line}"))
        except VpcCleanupError as error:
            raise WorkflowError(f"the network was not destroyed: {error}") from error

    def destroy_targets(self, stack: str) -> list[str]:
        """With a retained home EFS, the workload destroy targets everything but its KMS key."""
        if stack != "workload" or not self.config.workload.retain_home_efs:
            return []
        from isolated_studio.ops import retention

        return retention.destroy_targets(self.tf.resources(stack))

    def forget_kept_keys(self) -> None:
        for key in self.kept_keys:
            self.tf.run("workload", ["state", "rm", "-no-color", f"-lock-timeout={self.tf.lock_timeout}", key.address])
            self.say(f"workload: {key.message()}")

    def empty_state_bucket(self) -> None:
        """Delete every object version from the state bucket, once no state in it tracks anything.

        The bucket is versioned, so even after network and workload are destroyed it holds their
        (empty) state files and all old versions, and S3 refuses to delete a non-empty bucket.
        """
        s3, bucket = aws_client(self.config, "s3"), self.config.state.bucket
        still_tracked = aws.tracked_states(s3, bucket)
        if still_tracked:
            listing = ", ".join(f"{key} ({count} resources)" for key, count in still_tracked.items())
            raise WorkflowError(f"refusing to empty the state bucket {bucket}: {listing} still tracked; "
                                "destroy those stacks first")
        deleted = aws.delete_all_versions(s3, bucket)
        self.say(f"state: emptied bucket {bucket} ({deleted} object versions and delete markers)")

    # ------------------------------------------------------------ planning, shared by the commands

    def _unblocked(self, stacks: Sequence[str], result: RunResult,
                   blocker: Callable[[str], str | None], label: str = "") -> list[str]:
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
        failures = {stack: future.exception() for stack, future in futures.items() if future.exception()}
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
        # Only a targeted destroy names targets (any runner with plan(stack, file, destroy=...) works).
        has_changes = self.tf.plan(stack, plan_file, destroy=destroy, **({"targets": targets} if targets else {}))
        document = self.tf.show_json(stack, plan_file)
        json_file.write_text(document, encoding="utf-8")
        if targets:
            from isolated_studio.ops import retention

            self.kept_keys = retention.kept_keys(json.loads(document))
        review = plan_review.review_plan(stack, json.loads(document))
        return StackPlan(stack, plan_file, json_file, review, has_changes, destroy)

    def write_report(self, result: RunResult) -> Path:
        result.report = self.plan_dir / "review.md"
        result.report.write_text(render_report(result, self.config), encoding="utf-8")
        return result.report

    # ------------------------------------------------------------ facts about the target

    def blocker(self, stack: str) -> str | None:
        """Why ``stack`` cannot be planned yet, or None."""
        if stack == "state":
            return self._state_stack_blocker()
        if not self.state_bucket_exists():
            first = f"the state bucket {self.config.state.bucket} does not exist yet"
            if stack == "network":
                return (f"{first}; network can be planned after the state stack is applied "
                        "(`make deploy` bootstraps it first)")
            return (f"{first}, so the network is not applied either; workload can be planned after "
                    "network is applied (it reads the network's outputs from the network's state): "
                    "run `make deploy` first")
        if stack == "workload" and "network" in self.tf.dirs and not self.network_applied():
            return ("the network is not applied yet (its state has no outputs); workload can be planned "
                    "after network is applied (it reads the network's outputs through "
                    "terraform_remote_state): run `make deploy` first")
        return None

    def _state_stack_blocker(self) -> str | None:
        if self.bootstrap_state_file().exists() or not self.state_bucket_exists():
            return None
        return (f"the state bucket {self.config.state.bucket} already exists but this checkout has no "
                f"bootstrap state at {self.bootstrap_state_file()}; the state stack is managed from the "
                "machine that bootstrapped it (copy its state file here to manage it from this one)")

    def state_bucket_exists(self) -> bool:
        return aws.bucket_exists(aws_client(self.config, "s3"), self.config.state.bucket)

    def bootstrap_state_file(self) -> Path:
        """The state stack's local state file, as its synthesized backend names it."""
        doc = json.loads((self.tf.dirs["state"] / "cdk.tf.json").read_text())
        relative = doc["terraform"]["backend"]["local"]["path"]
        return (self.tf.dirs["state"] / relative).resolve()

    def network_applied(self) -> bool:
        self.tf.init("network")
        return bool(self.tf.outputs("network"))


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stacks", nargs="+", choices=STACK_ORDER, metavar="STACK",
                        help=f"stacks to work on, any of {', '.join(STACK_ORDER)} (default: all; "
                             "destroy: workload and network)")
    common.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out",
                        help="synthesized app directory (default: cdktf.out)")
    common.add_argument("--no-synth", action="store_true", help="reuse --outdir instead of synthesizing")
    common.add_argument("--plan-dir", type=Path,
                        help="where plans and review.md go (default: plans/<UTC time>-<command>/)")
    common.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds one Terraform command may take (default: %(default)s)")
    common.add_argument("--lock-timeout", default="0s",
                        help="how long to wait for a state lock held by someone else (default: 0s)")
    parser = argparse.ArgumentParser(
        prog="python -m isolated_studio.ops.workflow",
        description="Plan, deploy or destroy the isolated-studio stacks for STUDIO_ENV / STUDIO_CONFIG.",
        epilog="Exit codes: 0 done, 1 a step failed, 2 refused or aborted; "
               "drift: 0 no drift, 2 drift found, 1 error.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plan", parents=[common], help="save and review a plan of every stack")
    deploy = commands.add_parser("deploy", parents=[common],
                                 help="check the target, bootstrap state if needed, plan and apply in order")
    destroy = commands.add_parser("destroy", parents=[common],
                                  help="clean up Studio, destroy workload then network (state with --include-state)")
    commands.add_parser("drift", parents=[common],
                        help="plan every applied stack and report drift (exit 0 none, 2 drift, 1 error)")
    for sub in (deploy, destroy):
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    destroy.add_argument("--include-state", action="store_true",
                         help="also destroy the state bucket and lock table (needs state.protect = false)")
    return parser


def default_plan_dir(command: str) -> Path:
    return PROJECT_ROOT / "plans" / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{command}"


def preflight(args: argparse.Namespace, config: StudioConfig) -> None:
    """Refusals that need neither AWS nor Terraform, before anything slow happens."""
    if args.command == "destroy":
        refusal = destroy_refusal(config, args.stacks or (), args.include_state)
        if refusal:
            raise Refused(refusal)
    if args.command in ("deploy", "destroy") and not args.yes and not sys.stdin.isatty():
        raise Refused(f"{args.command} asks for confirmation, but stdin is not a terminal; "
                      "pass --yes to proceed without asking")


def prepare(args: argparse.Namespace, config: StudioConfig, say: Say) -> Workflow:
    """Synthesize (or check the reused output), and set up the plan directory and Terraform."""
    outdir = args.outdir.resolve()
    if not args.no_synth:
        say(f"Synthesizing {config.environment!r} into {outdir} ...")
        say(synthesize(outdir, os.environ, timeout_s=min(args.timeout, 900)))
    if not (outdir / "manifest.json").is_file():
        raise Refused(f"{outdir} holds no synthesized app; run without --no-synth (or `make synth`)")
    dirs = synthesized_stack_dirs(outdir)
    problems = outdir_mismatches(config, dirs)
    if problems:
        raise Refused(f"{outdir} was synthesized for another environment or endpoint; run without "
                      "--no-synth:\n  - " + "\n  - ".join(problems))
    missing = [s for s in (args.stacks or ()) if s not in dirs]
    if missing:
        raise Refused(f"stack(s) {', '.join(missing)} not in {outdir} (it has: {', '.join(dirs)})")
    plan_dir = (args.plan_dir.resolve() if args.plan_dir else default_plan_dir(args.command))
    plan_dir.mkdir(parents=True, exist_ok=True)
    try:
        env = terraform_env(config.provider_mirror)
    except TerraformError as error:
        raise Refused(str(error)) from error
    tf = Terraform(dirs, env, say, timeout_s=args.timeout, lock_timeout=args.lock_timeout)
    return Workflow(config, outdir, plan_dir, tf, say=say)


def execute(args: argparse.Namespace, workflow: Workflow) -> Any:
    available = list(workflow.tf.dirs)
    if args.command == "drift":
        from isolated_studio.ops.drift import check_drift

        return check_drift(workflow, args.stacks or available)
    if args.command == "plan":
        return workflow.plan(args.stacks or available)
    if args.command == "deploy":
        return workflow.deploy(args.stacks or available, assume_yes=args.yes)
    default = [s for s in available if s != "state"]
    return workflow.destroy(args.stacks or default, assume_yes=args.yes, include_state=args.include_state)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    # drift answers "is there drift?": 2 means yes, so a check that cannot run is an error (1).
    refused_exit = EXIT_FAILED if args.command == "drift" else EXIT_REFUSED
    try:
        config = load_config()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return refused_exit
    try:
        preflight(args, config)
        if args.command in ("deploy", "destroy"):
            verify_target(config, args.command, say)
        outcome = execute(args, prepare(args, config, say))
    except guard.Aborted as error:
        print(f"aborted: {error}", file=sys.stderr)
        return refused_exit
    except (Refused, guard.GuardError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return refused_exit
    except WorkflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as error:
        print(f"error: {aws_failure(config, error)}", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "drift":
        return outcome.exit_code
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
