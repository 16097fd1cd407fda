"""`isolated-studio <command>`: the one command line, a thin layer over the product's tools.

One module per command under :mod:`isolated_studio.cli.commands`, each ``run(context, argv)``
over the :class:`~isolated_studio.ops.context.RunContext` built here once per invocation (AWS
SAM CLI's shape). A command's options, messages and exit codes are its tool's: the table
below only routes. Only the chosen command's module is imported, so `--help` and the writers
of generated files start without the Terraform, boto3 and cdktf imports of the workflow.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from isolated_studio.ops.context import RunContext

# name: (module under isolated_studio.cli.commands, one line for --help). The tools' own
# `python -m isolated_studio...` entry points keep working: they are what these call.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("plan", "save and review a plan of every stack (plans/<time>-plan/review.md)"),
    "deploy": ("deploy", "check the target, bootstrap state if needed, plan and apply stack by stack"),
    "destroy": ("destroy", "clean up Studio, destroy workload then network (state with --include-state)"),
    "drift": ("drift", "plan every applied stack and audit the live boundary (0 none, 2 drift, 1 error)"),
    "audit": ("audit", "check the deployed boundary with boto3 against the stacks (0 clean, 2 breach, 1 error)"),
    "review": ("review", "write review.md from saved plans (terraform show -json output)"),
    "validate": ("validate", "terraform init -backend=false + validate every synthesized stack"),
    "checkov": ("checkov", "checkov (pinned, offline) + the CKV_STUDIO checks over the synthesized stacks"),
    "lint-iam": ("lint_iam", "lint every IAM permission policy of the synthesized stacks with parliament"),
    "access": ("access", "evaluate policy/access-scenarios.toml against the stacks (--readme: rewrite its table)"),
    "perimeter": ("perimeter", "--docs: rewrite docs/perimeter.md's scenario table"),
    "aws-constraints": ("aws_constraints", "write the AWS name/length constraints from the installed botocore"),
    "emulator": ("emulator", "run moto (local AWS) for STUDIO_ENV=emulator in the foreground"),
    "emulator-scope": ("emulator_scope", "print the workload's -targets the emulator can create"),
    "tf-config": ("tf_config", "print the Terraform CLI config of the provider mirror (for TF_CLI_CONFIG_FILE)"),
}
PROG = "isolated-studio"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {PROG} <command> [options]   ({PROG} <command> --help: its options)",
        "",
        "Plan, deploy, check and destroy the isolated SageMaker Studio of STUDIO_ENV / STUDIO_CONFIG.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += [
        "",
        "Exit codes: 0 done, 1 a step failed, 2 refused or bad usage (nothing changed), 3 stopped part-way; "
        "drift/audit: 0 none found, 2 found, 1 error.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _route(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()  # a closed pipe shows here (argparse's --help exits too), not at interpreter exit
    except BrokenPipeError:
        # The reader went away (`isolated-studio access | head`): no traceback. Python's signal
        # documentation ("Note on SIGPIPE"): point stdout at devnull so the exit's flush is quiet,
        # and exit 1, as a command whose output was cut short.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _route(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"{PROG}: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"isolated_studio.cli.commands.{COMMANDS[name][0]}")
    return module.run(RunContext(command=name, prog=PROG), rest)
