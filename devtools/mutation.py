"""Mutation testing of the safety features with mutmut: `make mutation`.

Each target of tests/mutation.toml (one module, optionally some of its functions) is run
by mutmut in a workspace of its own under build/mutation/<target>/, against only the fast
tests that cover it (`pytest --fast`: no synthesis, Terraform or server). The score and
every surviving mutant (with its diff) are written to build/mutation/report.md and
report.json. A survivor must be killed by a test or listed, with the reason it is
equivalent or harmless, in the [[survivor]] entries of tests/mutation.toml.

Exit status: 0 when every target reaches the threshold (90 % killed) and every survivor is
reviewed; 1 otherwise. It takes long (minutes per module) and is not part of `make test`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.base.paths import PROJECT_ROOT

TARGETS_FILE = PROJECT_ROOT / "tests" / "mutation.toml"
WORK_DIR = PROJECT_ROOT / "build" / "mutation"
THRESHOLD = 0.90
# What a mutant workspace needs besides the mutated module (mutmut copies tests/ itself).
PROJECT_ENTRIES = (
    "isolated_studio",
    "devtools",
    "modules",
    "stacks",
    "main.py",
    "config",
    "policy",
    "notebooks",
    "pytest.ini",
    "cdktf.json",
    "docs",
    "README.md",
    "Makefile",
)
# Modules imported from notebooks/ (pytest.ini pythonpath) are mutated as top-level packages.
NOTEBOOK_PACKAGES = ("pm_lab",)
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


class MutationConfigError(ValueError):
    """tests/mutation.toml is wrong (unknown target, missing file, malformed survivor)."""


@dataclass(frozen=True)
class Target:
    name: str
    source: str  # path in the project
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()

    @property
    def workspace_source(self) -> str:
        """The module's path inside the workspace (notebook packages sit at its top)."""
        parts = Path(self.source).parts
        if parts[0] == "notebooks" and parts[1] in NOTEBOOK_PACKAGES:
            return str(Path(*parts[1:]))
        return self.source

    @property
    def module(self) -> str:
        return self.workspace_source.removesuffix(".py").replace("/", ".").removesuffix(".__init__")

    def selects(self, mutant: str) -> bool:
        function = mutant[len(self.module) + 1 :].partition("__mutmut_")[0]
        return not self.functions or any(fnmatch.fnmatch(function, f"x*{p}") for p in self.functions)

    def mutant_globs(self) -> list[str]:
        return [f"{self.module}.x*{p}__mutmut_*" for p in self.functions]


@dataclass(frozen=True)
class Survivor:
    target: str
    mutant: str
    reason: str
    change: str = ""


@dataclass
class Result:
    target: Target
    status: dict[str, str] = field(default_factory=dict)  # mutant -> mutmut status
    diffs: dict[str, str] = field(default_factory=dict)  # surviving mutant -> diff
    commit: str = ""

    @property
    def total(self) -> int:
        return sum(1 for s in self.status.values() if s not in ("not checked", "skipped"))

    @property
    def killed(self) -> int:
        return sum(1 for s in self.status.values() if s in KILLED)

    @property
    def score(self) -> float:
        return self.killed / self.total if self.total else 1.0

    @property
    def survivors(self) -> list[str]:
        return sorted(m for m, s in self.status.items() if s not in KILLED | {"not checked", "skipped"})


def load_targets(path: Path = TARGETS_FILE) -> tuple[dict[str, Target], list[Survivor]]:
    data = tomllib.loads(path.read_text())
    targets, problems = {}, []
    for name, body in data.get("target", {}).items():
        unknown = set(body) - {"source", "tests", "functions"}
        if unknown:
            problems.append(f"target {name}: unknown keys {sorted(unknown)}")
        for file in [body.get("source", ""), *body.get("tests", [])]:
            if not (PROJECT_ROOT / file).is_file():
                problems.append(f"target {name}: {file!r} is not a file")
        targets[name] = Target(
            name, body.get("source", ""), tuple(body.get("tests", ())), tuple(body.get("functions", ()))
        )
    survivors = []
    for index, entry in enumerate(data.get("survivor", [])):
        if entry.get("target") not in targets:
            problems.append(f"survivor {index + 1}: unknown target {entry.get('target')!r}")
        if not str(entry.get("reason", "")).strip():
            problems.append(f"survivor {index + 1} ({entry.get('mutant')}): a reviewed survivor needs a reason")
        survivors.append(
            Survivor(entry.get("target", ""), entry.get("mutant", ""), entry.get("reason", ""), entry.get("change", ""))
        )
    if problems:
        raise MutationConfigError(f"{path}:\n  " + "\n  ".join(problems))
    return targets, survivors


def setup_cfg(target: Target, pytest_args: list[str]) -> str:
    lines = [
        "[mutmut]",
        f"source_paths = {target.workspace_source}",
        "also_copy =",
        *[f"    {e}" for e in PROJECT_ENTRIES if e != "notebooks"],
        "    notebooks",
        *[f"    {p}" for p in NOTEBOOK_PACKAGES],
        "pytest_add_cli_args_test_selection =",
        *[f"    {t}" for t in target.tests],
        "pytest_add_cli_args =",
        *[f"    {a}" for a in pytest_args],
        # Runs of one target are fresh; nothing is carried over from an older tree.
        "use_git_change_detection = false",
        "track_dependencies = false",
        "",
    ]
    return "\n".join(lines)


def prepare_workspace(target: Target, root: Path = WORK_DIR) -> Path:
    """A fresh directory that looks like the project to mutmut, with the module to mutate."""
    workspace = root / target.name
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    for entry in PROJECT_ENTRIES + ("tests",):
        if entry == "notebooks":
            continue
        if (PROJECT_ROOT / entry).exists():
            (workspace / entry).symlink_to(PROJECT_ROOT / entry)
    # notebooks/ without its packages: pm_lab is imported from the workspace top, where
    # mutmut puts the mutated copy, never from the original tree.
    notebooks = workspace / "notebooks"
    notebooks.mkdir()
    for entry in (PROJECT_ROOT / "notebooks").iterdir():
        if entry.name in NOTEBOOK_PACKAGES:
            (workspace / entry.name).symlink_to(entry)
        elif entry.name != "__pycache__":
            (notebooks / entry.name).symlink_to(entry)
    fast = ["--fast", "-p", "no:cacheprovider", "-p", "no:xdist"]
    (workspace / "setup.cfg").write_text(setup_cfg(target, fast))
    return workspace


_COLLECT = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
path = sys.argv[1]
meta = SourceFileMutationData(path=path)
meta.load()
status = {k: status_by_exit_code[v] for k, v in meta.exit_code_by_key.items()}
diffs = {}
for name, s in status.items():
    if s in ("survived", "no tests", "suspicious"):
        try:
            diffs[name] = get_diff_for_mutant(name, path=path)
        except Exception as error:  # a diff is for reading; never lose the status over it
            diffs[name] = f"(no diff: {error})"
print(json.dumps({"status": status, "diffs": diffs}))
"""


def run_target(
    target: Target, *, max_children: int, root: Path = WORK_DIR, previous: dict[str, Any] | None = None
) -> Result:
    """Run mutmut on ``target``; with ``previous`` (its entry in an earlier report.json), only
    that run's survivors are tried again: tests were added, the module is unchanged, so what
    was killed then is still killed (the module's commit is checked by the caller)."""
    commit = _commit(target.source)  # before the run: the tree may move on while it runs
    workspace = prepare_workspace(target, root)
    names = list(previous["survivors"]) if previous else target.mutant_globs()
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("CI", None)  # the no-skip-in-CI rule is for `make test`; --fast deselects on purpose
    log = root / f"{target.name}.log"
    with log.open("w") as out:
        proc = subprocess.run(
            [mutmut, "run", "--max-children", str(max_children), *names],
            cwd=workspace,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    _stop_leftovers(workspace)
    if proc.returncode != 0:
        raise RuntimeError(f"mutmut failed on {target.name} (exit {proc.returncode}); see {log}")
    collected = subprocess.run(
        [sys.executable, "-c", _COLLECT, target.workspace_source],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(collected.stdout)
    result = Result(target, commit=commit)
    result.status = {m: s for m, s in data["status"].items() if target.selects(m)}
    if previous:
        rerun = {m: result.status.get(m, "survived") for m in previous["survivors"]}
        result.status = {f"(killed earlier) {i}": "killed" for i in range(previous["killed"])} | rerun
        result.commit = f"{previous['commit']} + survivors rerun at {commit}"
    result.diffs = {m: d for m, d in data["diffs"].items() if m in result.status}
    return result


def _stop_leftovers(workspace: Path) -> None:
    """Stop servers (moto) that tests started in the workspace and a killed mutant left behind:
    mutmut kills a mutant on timeout before its fixtures can stop what they started."""
    import signal

    root = str(workspace.resolve())
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc_dir / "cwd").startswith(root):
                os.kill(int(proc_dir.name), signal.SIGTERM)
        except (OSError, ValueError):
            continue


def _commit(source: str) -> str:
    """HEAD, and whether the module or the tests differ from it (measured on uncommitted code)."""
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", source, "tests"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return proc.stdout.strip() + ("+changes" if dirty else "")


def _unchanged_since(commit: str, source: str) -> bool:
    base = commit.split("+")[0].split(" ")[0]
    proc = subprocess.run(["git", "diff", "--quiet", base, "--", source], cwd=PROJECT_ROOT)
    return proc.returncode == 0


def review(results: list[Result], survivors: list[Survivor]) -> tuple[list[str], list[Survivor]]:
    """Survivors nobody reviewed, and reviewed entries that no longer survive (stale)."""
    reviewed = {(s.target, s.mutant) for s in survivors}
    unreviewed = [f"{r.target.name}: {m}" for r in results for m in r.survivors if (r.target.name, m) not in reviewed]
    ran = {r.target.name: set(r.survivors) for r in results}
    stale = [s for s in survivors if s.target in ran and s.mutant not in ran[s.target]]
    return unreviewed, stale


def render(results: list[Result], survivors: list[Survivor]) -> str:
    reasons = {(s.target, s.mutant): s.reason for s in survivors}
    lines = [
        "# Mutation testing (mutmut)",
        "",
        "| target | module | commit | mutants | killed | score |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.target.name} | {r.target.source} | {r.commit} | {r.total} | {r.killed} | {r.score:.1%} |")
    total = sum(r.total for r in results)
    killed = sum(r.killed for r in results)
    lines += ["", f"Overall: {killed}/{total} killed ({killed / total if total else 1:.1%}).", ""]
    for r in results:
        if not r.survivors:
            continue
        lines += [f"## Survivors of {r.target.name}", ""]
        for m in r.survivors:
            reason = reasons.get((r.target.name, m), "NOT REVIEWED")
            lines += [
                f"### {m} ({r.status[m]})",
                "",
                f"Reviewed: {reason}",
                "",
                "```diff",
                r.diffs.get(m, ""),
                "```",
                "",
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="targets of tests/mutation.toml (default: all)")
    parser.add_argument(
        "--max-children", type=int, default=1, help="mutants tested side by side (default 1: the machine is shared)"
    )
    parser.add_argument("--out", type=Path, default=WORK_DIR, help="where workspaces and the report go")
    parser.add_argument(
        "--survivors-of",
        type=Path,
        metavar="REPORT_JSON",
        help="rerun only the survivors of an earlier run's report.json (after adding tests)",
    )
    args = parser.parse_args(argv)
    try:
        targets, survivors = load_targets()
    except MutationConfigError as error:
        print(error, file=sys.stderr)
        return 2
    unknown = [t for t in args.targets if t not in targets]
    if unknown:
        print(f"unknown mutation targets {unknown}; known: {sorted(targets)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results, failed = [], []
    for name in args.targets or list(targets):
        print(f"mutation: {name} ...", flush=True)
        previous = json.loads(args.survivors_of.read_text()).get(name) if args.survivors_of else None
        if previous and not _unchanged_since(previous["commit"], targets[name].source):
            print(
                f"mutation: {name}: {targets[name].source} changed since {previous['commit']}; run it in full",
                file=sys.stderr,
            )
            failed.append(name)
            continue
        try:
            result = run_target(targets[name], max_children=args.max_children, root=args.out, previous=previous)
        except RuntimeError as error:  # one broken target never hides the others' scores
            print(f"mutation: {name}: {error}", file=sys.stderr)
            failed.append(name)
            continue
        print(
            f"mutation: {name}: {result.killed}/{result.total} killed ({result.score:.1%}) at {result.commit}",
            flush=True,
        )
        results.append(result)
        # Written after every target, so a long run that is stopped keeps what it measured.
        (args.out / "report.md").write_text(render(results, survivors))
        (args.out / "report.json").write_text(
            json.dumps(
                {
                    r.target.name: {
                        "source": r.target.source,
                        "commit": r.commit,
                        "total": r.total,
                        "killed": r.killed,
                        "score": round(r.score, 4),
                        "survivors": r.survivors,
                    }
                    for r in results
                },
                indent=2,
            )
        )
    unreviewed, stale = review(results, survivors)
    low = [r for r in results if r.score < THRESHOLD]
    for r in low:
        print(f"mutation: {r.target.name} scores {r.score:.1%}, below {THRESHOLD:.0%}", file=sys.stderr)
    for line in unreviewed:
        print(f"mutation: survivor not reviewed in tests/mutation.toml: {line}", file=sys.stderr)
    for s in stale:
        print(f"mutation: reviewed survivor no longer survives (remove it): {s.target}: {s.mutant}", file=sys.stderr)
    print(f"mutation: report in {args.out / 'report.md'}")
    return 1 if low or unreviewed or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
