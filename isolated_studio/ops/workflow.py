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
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from isolated_studio.ops import guard, plan_review
from isolated_studio.config import PROJECT_ROOT, ConfigError, StudioConfig, load_config
from isolated_studio.ops.summary import STACK_ORDER
from isolated_studio.ops.summary import stack_dirs as synthesized_stack_dirs
from isolated_studio.ops.terraform import TerraformError, find_terraform, terraform_env

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
# The credential stacks/base.py gives the provider and the backend in emulator mode.
EMULATOR_CREDENTIAL = "test"
EMULATOR_CANNOT_CREATE = "SageMaker domains, user profiles, MLflow tracking servers or CodeArtifact"
DEFAULT_TIMEOUT_S = 7200.0  # one Terraform command; a Studio domain plus MLflow take ~30 min
INTERRUPT_GRACE_S = 60.0  # after SIGINT Terraform stops cleanly and releases its state lock

Say = Callable[[str], None]


class WorkflowError(RuntimeError):
    """A step failed; the message says which one and what to do."""


class Refused(WorkflowError):
    """Nothing was started: a precondition, the target or the operator said no."""


class PlanFailed(WorkflowError):
    """Some stacks could not be planned; ``planned`` holds the ones that could."""

    def __init__(self, planned: list[StackPlan], failures: Mapping[str, BaseException]) -> None:
        self.planned = planned
        self.failures = dict(failures)
        super().__init__("\n".join(f"{stack}: {error}" for stack, error in self.failures.items()))


# --------------------------------------------------------------------------- AWS


def aws_client(config: StudioConfig, service: str) -> Any:
    """A boto3 client for the configured region; in emulator mode, for the emulator."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": config.region}
    options: dict[str, Any] = {"retries": {"max_attempts": 4, "mode": "standard"}}
    if config.emulator.enabled:
        kwargs.update(
            endpoint_url=config.emulator.endpoint.rstrip("/"),
            aws_access_key_id=EMULATOR_CREDENTIAL,
            aws_secret_access_key=EMULATOR_CREDENTIAL,
        )
        options["s3"] = {"addressing_style": "path"}
    return boto3.client(service, config=Config(**options), **kwargs)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def aws_failure(config: StudioConfig, error: Exception) -> str:
    """An AWS call the workflow needed failed: say which endpoint, and what to check."""
    if config.emulator.enabled:
        return (f"the emulator at {config.emulator.endpoint} did not answer as expected ({error}); "
                f"is it running? (`make emulator`, or moto_server on that port)")
    return f"an AWS request failed ({error}); check your credentials and region {config.region}"


def verify_target(config: StudioConfig, action: str, say: Say) -> guard.Target:
    """guard.check_target for this configuration.

    In emulator mode the account and session-region checks are off: moto answers for one
    fixed account whatever the configuration says, and every client and the provider take
    the region from the configuration, not from the operator's AWS session.
    """
    import boto3

    emulated = config.emulator.enabled
    try:
        target = guard.check_target(
            aws_client(config, "sts"),
            expected_account=None if emulated else config.account_id,
            expected_region=config.region,
            session_region=None if emulated else boto3.session.Session().region_name,
            environment=repr(config.environment),
            action=action,
        )
    except guard.GuardError as error:
        raise Refused(str(error)) from error
    where = f"emulator {config.emulator.endpoint}" if emulated else f"account {target.account}"
    say(f"Target: {where}, region {target.region} (as {target.caller_arn})")
    if not emulated and config.account_id is None:
        say("  note: project.account_id is not set, so any account is accepted; set it to pin this environment")
    return target


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


# --------------------------------------------------------------------------- Terraform


@dataclass
class Terraform:
    """Terraform commands in synthesized stack directories, each bounded by a timeout.

    On timeout (or Ctrl-C) Terraform gets SIGINT first, so that it stops cleanly and
    releases its state lock, and is killed only if it does not stop within a grace period.
    """

    dirs: Mapping[str, Path]
    env: Mapping[str, str]
    say: Say
    timeout_s: float = DEFAULT_TIMEOUT_S
    lock_timeout: str = "0s"
    _initialized: set[str] = field(default_factory=set)

    def run(self, stack: str, args: Sequence[str], *, echo: bool = False,
            ok: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
        binary = find_terraform()
        if binary is None:
            raise WorkflowError("terraform is not on PATH (Terraform >= 1.10 is required)")
        command = [binary, *args]
        proc = subprocess.Popen(
            command, cwd=self.dirs[stack], env=dict(self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if echo else subprocess.PIPE, text=True,
        )
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _interrupt(proc)

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        timer.start()
        try:
            stdout, stderr = self._collect(proc, stack, echo)
        except KeyboardInterrupt:
            # Terraform got the same Ctrl-C from the terminal: a second SIGINT would make it
            # exit at once, lock and all, so only wait for it to stop.
            _wait_or_kill(proc)
            raise
        finally:
            timer.cancel()
        result = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
        what = f"terraform {' '.join(args[:1])} in stack {stack}"
        if timed_out.is_set():
            raise WorkflowError(
                f"{what} did not finish within {self.timeout_s:.0f} s and was interrupted; if its "
                f"state is still locked, `terraform force-unlock` in {self.dirs[stack]} releases it"
            )
        if result.returncode not in tuple(ok):
            raise WorkflowError(f"{what} failed (exit {result.returncode}):\n{_tail(stdout + stderr)}")
        return result

    def _collect(self, proc: subprocess.Popen[str], stack: str, echo: bool) -> tuple[str, str]:
        if not echo:
            stdout, stderr = proc.communicate()
            return stdout, stderr
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            self.say(f"  [{stack}] {line.rstrip()}")
        proc.wait()
        return "".join(lines), ""

    def init(self, stack: str) -> None:
        """``terraform init`` with the stack's real backend (once per run).

        ``-reconfigure``: the backend always comes from the synthesized configuration of the
        selected environment, so a stack directory last used with another endpoint or
        environment switches to this one instead of offering to migrate state into it.
        """
        if stack in self._initialized:
            return
        self.run(stack, ["init", "-input=false", "-no-color", "-reconfigure"])
        self._initialized.add(stack)

    def plan(self, stack: str, plan_file: Path, *, destroy: bool = False) -> bool:
        """Save a plan; True when it changes something (``-detailed-exitcode`` 2)."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode",
                f"-lock-timeout={self.lock_timeout}", f"-out={plan_file}"]
        if destroy:
            args.append("-destroy")
        return self.run(stack, args, ok=(0, 2)).returncode == 2

    def show_json(self, stack: str, plan_file: Path) -> str:
        return self.run(stack, ["show", "-json", "-no-color", str(plan_file)]).stdout

    def show_text(self, stack: str, plan_file: Path) -> str:
        return self.run(stack, ["show", "-no-color", str(plan_file)]).stdout

    def apply(self, stack: str, plan_file: Path) -> None:
        """Apply a saved plan exactly; Terraform refuses it if the state moved on since."""
        self.run(stack, ["apply", "-input=false", "-no-color", f"-lock-timeout={self.lock_timeout}",
                         str(plan_file)], echo=True)

    def outputs(self, stack: str) -> dict[str, Any]:
        raw = json.loads(self.run(stack, ["output", "-json", "-no-color"]).stdout or "{}")
        return {name: item.get("value") for name, item in raw.items()}

    def resources(self, stack: str) -> list[str]:
        """Addresses of everything in the stack's state (managed and data)."""
        proc = self.run(stack, ["state", "list", "-no-color"], ok=(0, 1))
        if proc.returncode == 0:
            return proc.stdout.split()
        if "No state file was found" in proc.stdout + proc.stderr:
            return []  # never applied: the backend has no state object for this stack yet
        raise WorkflowError(f"terraform state list in stack {stack} failed:\n{_tail(proc.stdout + proc.stderr)}")


def _interrupt(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        _wait_or_kill(proc)


def _wait_or_kill(proc: subprocess.Popen[str]) -> None:
    try:
        proc.wait(timeout=INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(text: str, lines: int = 40) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept)


# --------------------------------------------------------------------------- synthesis


def synthesize(outdir: Path, env: Mapping[str, str], timeout_s: float = 900) -> str:
    """Run ``python main.py`` (the same synthesis as ``make synth``) into ``outdir``."""
    env = {**env, "CDKTF_OUTDIR": str(outdir)}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        proc = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "main.py")], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise WorkflowError(f"synthesis did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise WorkflowError(f"synthesis failed (python main.py, exit {proc.returncode}):\n{_tail(proc.stderr + proc.stdout)}")
    return proc.stdout.strip()


def outdir_mismatches(config: StudioConfig, dirs: Mapping[str, Path]) -> list[str]:
    """Where the synthesized stacks point at other state than this configuration.

    ``--no-synth`` reuses whatever is in the output directory; planning another
    environment's stacks with this environment's checks would be the worst kind of mistake.
    """
    problems = []
    for stack, path in dirs.items():
        backend = json.loads((path / "cdk.tf.json").read_text()).get("terraform", {}).get("backend", {})
        if "local" in backend:
            if not Path(backend["local"].get("path", "")).as_posix().endswith(config.state.bootstrap_state_path):
                problems.append(f"{stack}: local state {backend['local'].get('path')!r}, "
                                f"expected {config.state.bootstrap_state_path!r}")
            continue
        s3 = backend.get("s3", {})
        expected = (config.state.bucket, config.state_key(stack))
        if (s3.get("bucket"), s3.get("key")) != expected:
            problems.append(f"{stack}: state in s3://{s3.get('bucket')}/{s3.get('key')}, "
                            f"expected s3://{expected[0]}/{expected[1]}")
        endpoint = (s3.get("endpoints") or {}).get("s3", "")
        wanted = config.emulator.endpoint.rstrip("/") if config.emulator.enabled else ""
        if endpoint.rstrip("/") != wanted:
            problems.append(f"{stack}: S3 endpoint {endpoint or 'AWS'!r}, expected {wanted or 'AWS'!r}")
    return problems


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StackPlan:
    """One saved plan and what the review made of it."""

    stack: str
    plan_file: Path
    json_file: Path
    review: plan_review.StackReview
    has_changes: bool
    destroy: bool = False

    def summary(self) -> str:
        r = self.review
        if not self.has_changes:
            return f"{self.stack}: no changes"
        text = (f"{self.stack}: {r.to_add} to add, {r.to_change} to change, {r.to_replace} to replace, "
                f"{r.to_destroy} to destroy")
        return text + (f" ({len(r.warnings)} warning(s), see the review)" if r.warnings else "")


@dataclass(frozen=True)
class Skipped:
    stack: str
    reason: str


@dataclass
class RunResult:
    """What one command did, for the CLI to print and for callers (and tests) to inspect."""

    command: str
    plan_dir: Path
    planned: list[StackPlan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    report: Path | None = None


def render_report(result: RunResult, config: StudioConfig) -> str:
    """The plan_review run report plus what was not planned and where the plans are."""
    reviews = tuple(p.review for p in result.planned)
    text = (plan_review.render_run_report(plan_review.RunReview(reviews)) if reviews
            else "# Plan review\n\nNo stack was planned.\n")
    where = f"emulator {config.emulator.endpoint}" if config.emulator.enabled else config.region
    lines = [text.rstrip(), "", "## Run", "",
             f"`{result.command}` of environment `{config.environment}` ({where}), "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.", ""]
    if result.skipped:
        lines += ["### Not planned", ""]
        lines += [f"- `{s.stack}`: {s.reason}" for s in result.skipped] + [""]
    if result.planned:
        lines += ["### Saved plans", "", "| Stack | Plan | JSON |", "|---|---|---|"]
        lines += [f"| `{p.stack}` | `{p.plan_file.name}` | `{p.json_file.name}` |" for p in result.planned]
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the workflow


def ordered(stacks: Iterable[str], *, reverse: bool = False) -> list[str]:
    chosen = [s for s in STACK_ORDER if s in set(stacks)]
    return chosen[::-1] if reverse else chosen


@dataclass
class Workflow:
    """The three commands over one synthesized app, for one environment.

    ``say`` prints progress, ``ask`` reads a confirmation; ``interactive`` says whether
    anybody can answer (None: whether stdin is a terminal). Call :func:`verify_target`
    before ``deploy`` and ``destroy``; ``main`` does.
    """

    config: StudioConfig
    outdir: Path
    plan_dir: Path
    tf: Terraform
    say: Say = print
    ask: Callable[[str], str] = input
    interactive: bool | None = None

    # ------------------------------------------------------------ facts about the target

    def state_bucket_exists(self) -> bool:
        bucket = self.config.state.bucket
        try:
            aws_client(self.config, "s3").head_bucket(Bucket=bucket)
        except ClientError as error:
            code = _error_code(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return False
            if code in ("403", "AccessDenied", "Forbidden"):
                raise Refused(
                    f"the state bucket {bucket} exists but these credentials cannot use it (403): "
                    "S3 bucket names are global, so state.bucket may belong to another account"
                ) from error
            raise
        return True

    def bootstrap_state_file(self) -> Path:
        """The state stack's local state file, as its synthesized backend names it."""
        doc = json.loads((self.tf.dirs["state"] / "cdk.tf.json").read_text())
        relative = doc["terraform"]["backend"]["local"]["path"]
        return (self.tf.dirs["state"] / relative).resolve()

    def network_applied(self) -> bool:
        self.tf.init("network")
        return bool(self.tf.outputs("network"))

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

    # ------------------------------------------------------------ planning

    def plan_stack(self, stack: str, *, destroy: bool = False) -> StackPlan:
        self.tf.init(stack)
        suffix = ".destroy" if destroy else ""
        plan_file = self.plan_dir / f"{stack}{suffix}.tfplan"
        json_file = self.plan_dir / f"{stack}{suffix}.plan.json"
        has_changes = self.tf.plan(stack, plan_file, destroy=destroy)
        document = self.tf.show_json(stack, plan_file)
        json_file.write_text(document, encoding="utf-8")
        review = plan_review.review_plan(stack, json.loads(document))
        return StackPlan(stack, plan_file, json_file, review, has_changes, destroy)

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

    def write_report(self, result: RunResult) -> Path:
        result.report = self.plan_dir / "review.md"
        result.report.write_text(render_report(result, self.config), encoding="utf-8")
        return result.report

    def plan(self, stacks: Sequence[str]) -> RunResult:
        """Plan every stack that can be planned now; independent plans run two at a time."""
        result = RunResult("plan", self.plan_dir)
        runnable = []
        for stack in ordered(stacks):
            reason = self.blocker(stack)
            if reason:
                result.skipped.append(Skipped(stack, reason))
                self.say(f"{stack}: not planned: {reason}")
            else:
                runnable.append(stack)
        self._plan_into(result, runnable)
        self.say(f"Saved plans and review: {result.report}")
        return result

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

    # ------------------------------------------------------------ deploy

    def deploy(self, stacks: Sequence[str], *, assume_yes: bool) -> RunResult:
        """Plan and apply stack by stack; call :func:`verify_target` first."""
        result = RunResult("deploy", self.plan_dir)
        try:
            for stack in ordered(stacks):
                self._deploy_stack(stack, result, assume_yes)
        finally:
            self.write_report(result)
            self.say(f"Plans and review of this deploy: {result.report}")
        return result

    def _deploy_stack(self, stack: str, result: RunResult, assume_yes: bool) -> None:
        reason = self.blocker(stack)
        if reason and stack == "state":
            result.skipped.append(Skipped(stack, reason))
            self.say(f"state: skipped: {reason}")
            return
        if reason:
            raise WorkflowError(f"cannot deploy {stack}: {reason}")
        if stack == "state" and not self.state_bucket_exists():
            self.say(f"state: bucket {self.config.state.bucket} does not exist: bootstrapping the state stack "
                     f"(local state {self.bootstrap_state_file()})")
        planned = self.plan_stack(stack)
        result.planned.append(planned)
        self.say(planned.summary())
        if not planned.has_changes:
            return
        if stack == "workload" and self.config.emulator.enabled:
            reason = (f"planned only: the emulator cannot create {EMULATOR_CANNOT_CREATE}; "
                      f"the saved plan is {planned.plan_file}")
            result.skipped.append(Skipped(stack, f"not applied, {reason}"))
            self.say(f"workload: {reason}")
            return
        self._present(planned, assume_yes)
        guard.confirm(
            f"Apply this plan to stack {stack!r} of environment {self.config.environment!r}?",
            expected="yes", assume_yes=assume_yes, input_fn=self.ask, interactive=self.interactive,
        )
        self.say(f"{stack}: applying {planned.plan_file.name}")
        self.tf.apply(stack, planned.plan_file)
        result.applied.append(stack)

    def _present(self, planned: StackPlan, assume_yes: bool) -> None:
        """The plan as Terraform shows it (unless --yes), then the review's warnings."""
        if not assume_yes:
            self.say(self.tf.show_text(planned.stack, planned.plan_file))
        for warning in planned.review.warnings:
            self.say(f"  WARNING: {warning.message}")

    # ------------------------------------------------------------ destroy

    def destroy(self, stacks: Sequence[str], *, assume_yes: bool, include_state: bool) -> RunResult:
        """Plan every destroy, confirm once, clean up Studio, then destroy in reverse order."""
        refusal = destroy_refusal(self.config, stacks, include_state)
        if refusal:
            raise Refused(refusal)
        result = RunResult("destroy", self.plan_dir)
        runnable = []
        for stack in ordered([*stacks, *(["state"] if include_state else [])], reverse=True):
            reason = self._destroy_blocker(stack)
            if reason:
                result.skipped.append(Skipped(stack, reason))
                self.say(f"{stack}: {reason}")
            else:
                runnable.append(stack)
        # Planning reads state only; the plans are applied one by one, in this order, below.
        self._plan_into(result, runnable, destroy=True)
        self.say(f"Destroy plans and review: {result.report}")
        if not result.planned:
            self.say("Nothing to destroy.")
            return result
        guard.confirm(
            self._destroy_prompt(result), expected=self.config.environment,
            assume_yes=assume_yes, input_fn=self.ask, interactive=self.interactive,
        )
        for planned in result.planned:
            self._destroy_stack(planned)
            result.applied.append(planned.stack)
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

    def _destroy_prompt(self, result: RunResult) -> str:
        lines = [f"DESTROY in environment {self.config.environment!r} ({self.config.region}):"]
        lines += [f"  {p.stack}: {p.review.to_destroy} resources" for p in result.planned]
        return "\n".join(lines)

    def _destroy_stack(self, planned: StackPlan) -> None:
        if planned.stack == "workload":
            self.cleanup_studio()
        if planned.stack == "state":
            self.empty_state_bucket()
        self.say(f"{planned.stack}: destroying ({planned.plan_file.name})")
        self.tf.apply(planned.stack, planned.plan_file)

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

    def empty_state_bucket(self) -> None:
        """Delete every object version from the state bucket, once no state in it tracks anything.

        The bucket is versioned, so even after network and workload are destroyed it holds their
        (empty) state files and all old versions, and S3 refuses to delete a non-empty bucket.
        """
        s3 = aws_client(self.config, "s3")
        bucket = self.config.state.bucket
        still_tracked = {}
        for key in _state_keys(s3, bucket):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            managed = [r for r in json.loads(body or b"{}").get("resources", []) if r.get("mode") == "managed"]
            if managed:
                still_tracked[key] = len(managed)
        if still_tracked:
            listing = ", ".join(f"{key} ({count} resources)" for key, count in still_tracked.items())
            raise WorkflowError(f"refusing to empty the state bucket {bucket}: {listing} still tracked; "
                                "destroy those stacks first")
        deleted = _delete_all_versions(s3, bucket)
        self.say(f"state: emptied bucket {bucket} ({deleted} object versions and delete markers)")


def _state_keys(s3: Any, bucket: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".tfstate")]
    return keys


def _delete_all_versions(s3: Any, bucket: str) -> int:
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if entries:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
            deleted += len(entries)
    return deleted


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
        epilog="Exit codes: 0 done, 1 a step failed, 2 refused or aborted.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plan", parents=[common], help="save and review a plan of every stack")
    deploy = commands.add_parser("deploy", parents=[common],
                                 help="check the target, bootstrap state if needed, plan and apply in order")
    destroy = commands.add_parser("destroy", parents=[common],
                                  help="clean up Studio, destroy workload then network (state with --include-state)")
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


def execute(args: argparse.Namespace, workflow: Workflow) -> RunResult:
    available = list(workflow.tf.dirs)
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

    try:
        config = load_config()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        preflight(args, config)
        if args.command in ("deploy", "destroy"):
            verify_target(config, args.command, say)
        execute(args, prepare(args, config, say))
    except guard.Aborted as error:
        print(f"aborted: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (Refused, guard.GuardError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except WorkflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as error:
        print(f"error: {aws_failure(config, error)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
