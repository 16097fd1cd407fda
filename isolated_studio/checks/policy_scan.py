"""Policy scan: checkov (pinned, offline) over synthesized stacks, with reviewed suppressions.

One checkov process scans every stack (``--framework terraform_json -f <stack>/cdk.tf.json ...``)
with the project's custom checks (``policy/checks``, ids ``CKV_STUDIO_<n>``). Each failed check
is then either suppressed by an entry of ``policy/suppressions.toml`` -- the one reviewed file of
exceptions, every entry with a written reason -- or reported. The scan fails on:

* a failed check that no suppression covers;
* a *stale* suppression: one that matched nothing although a stack it applies to was scanned
  (the file stays honest: fixed findings lose their exception). A suppression limited with
  ``stacks = [...]`` to stacks that were not scanned is "not applicable", not stale, so
  suppressions for a stack that is not synthesized yet (or not scanned by this run) are kept;
* a checkov parsing error, a skipped check (skips belong in the suppressions file only), or a
  checkov crash.

Offline: ``--skip-download`` plus ``CKV_SKIP_PACKAGE_UPDATE_CHECK=true`` and
``BC_SKIP_MAPPING=TRUE``; Bridgecrew/Prisma credentials are removed from checkov's environment,
and checkov runs with a throw-away HOME and working directory, so no ``.checkov.yaml`` (which
could skip checks outside the reviewed file) is read. Traced with strace on checkov 3.3.30: this
makes no network connection at all (without the variable it calls PyPI; without
``--skip-download`` it retries the Prisma API four times).

Usage: ``python -m isolated_studio.checks.policy_scan [cdktf.out ...]`` prints a report and exits 1 on
any of the failures above, 2 on an invalid suppressions file or a checkov error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.base.paths import PROJECT_ROOT, stack_dirs
from isolated_studio.checks.policy_documents import inline_policy_documents

POLICY_DIR = PROJECT_ROOT / "policy"
CHECKS_DIR = POLICY_DIR / "checks"
SUPPRESSIONS_PATH = POLICY_DIR / "suppressions.toml"
STACK_FILE = "cdk.tf.json"

# Environment that keeps checkov from calling home (see the module docstring).
OFFLINE_ENV = {
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "BC_SKIP_MAPPING": "TRUE",
    "PYTHONWARNINGS": "ignore",
    "LOG_LEVEL": "WARNING",  # checkov's; errors (a crashing check) still reach stderr
}
# Credentials or endpoints that would make checkov upload results or fetch policies.
_DROPPED_ENV_PREFIXES = ("BC_", "PRISMA_", "CKV_", "CHECKOV_")

SUPPRESSION_KEYS = {"check", "resources", "stacks", "reason"}
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
MIN_REASON = 20


class PolicyScanError(RuntimeError):
    """checkov could not run or its output could not be read."""


class SuppressionError(ValueError):
    """The suppressions file is invalid; the message lists every problem."""


# --------------------------------------------------------------------------- suppressions


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters, ``?`` one; everything else (``[0]``...) is literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("^" + "".join(parts) + "$")


@dataclass(frozen=True)
class Suppression:
    index: int  # 1-based position in the file, for messages
    check: str
    resources: tuple[str, ...]
    reason: str
    stacks: tuple[str, ...] | None = None

    def applies_to_stack(self, stack: str) -> bool:
        return self.stacks is None or stack in self.stacks

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check
            and self.applies_to_stack(finding.stack)
            and any(_glob_regex(p).match(finding.resource) for p in self.resources)
        )

    def describe(self) -> str:
        where = f" in stacks {list(self.stacks)}" if self.stacks is not None else ""
        return f"#{self.index} {self.check} on {list(self.resources)}{where}"


def parse_suppressions(data: Mapping[str, Any], source: str = "suppressions") -> list[Suppression]:
    problems: list[str] = []
    unknown_top = set(data) - {"suppression"}
    if unknown_top:
        problems.append(f"unknown top-level keys {sorted(unknown_top)}: use [[suppression]] tables")
    entries = data.get("suppression", [])
    if not isinstance(entries, list):
        problems.append("'suppression' must be an array of tables ([[suppression]])")
        entries = []
    result: list[Suppression] = []
    seen: dict[tuple, int] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"suppression #{i}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        unknown = set(entry) - SUPPRESSION_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(SUPPRESSION_KEYS)})")
        check = entry.get("check")
        if not isinstance(check, str) or not CHECK_ID.match(check):
            problems.append(f"{where}: 'check' must be a checkov id such as CKV_AWS_18 or CKV_STUDIO_1, got {check!r}")
        where = f"{where} ({check})" if isinstance(check, str) else where
        resources = entry.get("resources")
        if (
            not isinstance(resources, list)
            or not resources
            or not all(isinstance(r, str) and r.strip() for r in resources)
        ):
            problems.append(f"{where}: 'resources' must be a non-empty list of resource address globs")
            resources = []
        stacks = entry.get("stacks")
        if stacks is not None and (
            not isinstance(stacks, list) or not stacks or not all(isinstance(s, str) and s.strip() for s in stacks)
        ):
            problems.append(f"{where}: 'stacks', when given, must be a non-empty list of stack names")
            stacks = None
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{where}: 'reason' is mandatory: write why this finding is acceptable")
            reason = ""
        elif len(" ".join(reason.split())) < MIN_REASON:
            problems.append(f"{where}: 'reason' {reason.strip()!r} is too short to explain anything")
        key = (check, tuple(resources), tuple(stacks) if stacks else None)
        if key in seen:
            problems.append(f"{where}: duplicates suppression #{seen[key]}")
        seen[key] = i
        result.append(
            Suppression(
                index=i,
                check=check if isinstance(check, str) else "",
                resources=tuple(resources),
                reason=" ".join(reason.split()),
                stacks=tuple(stacks) if stacks is not None else None,
            )
        )
    if problems:
        raise SuppressionError(f"{source}: invalid suppressions:\n  - " + "\n  - ".join(problems))
    return result


def load_suppressions(path: Path = SUPPRESSIONS_PATH) -> list[Suppression]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SuppressionError(f"{path}: suppressions file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuppressionError(f"{path}: not valid TOML: {exc}") from None
    return parse_suppressions(data, str(path))


# --------------------------------------------------------------------------- scan result


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str  # Terraform address: aws_s3_bucket.state-backend_bucket_6C18FF55
    stack: str
    file: str
    lines: tuple[int, int] | None = None
    details: tuple[str, ...] = ()

    def describe(self, show_file: bool = False) -> str:
        where = f"{self.stack}: {self.file}" if show_file else self.stack
        text = f"{self.check_id:<13} {self.resource}  [{where}]  {self.check_name}"
        for detail in self.details:
            text += f"\n{'':<16}{detail}"
        return text


@dataclass
class ScanResult:
    targets: list[tuple[str, Path]]
    checkov_version: str
    passed: int
    failures: list[Finding]  # failed and not suppressed
    suppressed: list[tuple[Finding, Suppression]]
    stale: list[Suppression]  # applicable to a scanned stack, matched nothing
    not_applicable: list[Suppression]  # limited to stacks this scan did not cover
    skipped: int = 0
    parsing_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)  # every failed check, suppressed or not

    @property
    def failed(self) -> int:
        """Failed checks before suppression."""
        return len(self.failures) + len(self.suppressed)

    @property
    def ok(self) -> bool:
        return not (self.failures or self.stale or self.skipped or self.parsing_errors)

    def __repr__(self) -> str:  # short, for assertion messages
        return (
            f"<ScanResult {len(self.targets)} files, {len(self.failures)} failures, "
            f"{len(self.suppressed)} suppressed, {len(self.stale)} stale, ok={self.ok}>"
        )

    def failed_ids(self, resource: str | None = None) -> set[str]:
        """Ids of unsuppressed failures (optionally for one resource address)."""
        return {f.check_id for f in self.failures if resource is None or f.resource == resource}

    def describe(self, show_suppressed: bool = False) -> str:
        names = [s for s, _ in self.targets]
        stacks = ", ".join(dict.fromkeys(names))
        show_file = len(set(names)) < len(names)  # several configurations: say which file
        lines = [
            f"checkov {self.checkov_version} over {len(self.targets)} stack file(s) ({stacks}) in "
            f"{self.seconds:.1f} s: {self.passed} passed, {self.failed} failed, "
            f"{len(self.suppressed)} suppressed, {len(self.failures)} not suppressed"
        ]
        if self.parsing_errors:
            lines.append("PARSING ERRORS (these files were not scanned):")
            lines += [f"  {p}" for p in self.parsing_errors]
        if self.skipped:
            lines.append(
                f"SKIPPED: checkov skipped {self.skipped} check(s) outside {SUPPRESSIONS_PATH.name}; "
                "skips belong in the reviewed suppressions file"
            )
        if self.failures:
            lines.append(
                "FAILED (not suppressed): fix the stack, or suppress with a reason in policy/suppressions.toml"
            )
            lines += ["  " + f.describe(show_file) for f in self.failures]
        if self.stale:
            lines.append("STALE suppressions (matched no failure in the scanned stacks): remove or correct them")
            lines += ["  " + s.describe() for s in self.stale]
        if show_suppressed and self.suppressed:
            lines.append("Suppressed:")
            lines += [
                f"  {f.check_id:<13} {f.resource}  [{f.stack}]  <- #{s.index}: {s.reason}" for f, s in self.suppressed
            ]
        if show_suppressed and self.not_applicable:
            lines.append("Not applicable (their stacks were not scanned):")
            lines += ["  " + s.describe() for s in self.not_applicable]
        lines.append("policy scan: " + ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


# --------------------------------------------------------------------------- running checkov


def _stack_file(path: Path) -> Path:
    path = Path(path)
    return path / STACK_FILE if path.is_dir() else path


def normalize_targets(targets: Mapping[str, Path] | Iterable[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """(stack name, cdk.tf.json) pairs; a stack may appear more than once (config variants)."""
    items = targets.items() if isinstance(targets, Mapping) else targets
    result = []
    for stack, path in items:
        file = _stack_file(Path(path)).resolve()
        if not file.is_file():
            raise PolicyScanError(f"stack {stack!r}: {file} does not exist")
        if not file.name.endswith(".tf.json"):
            raise PolicyScanError(f"stack {stack!r}: {file} is not a .tf.json file (checkov ignores it)")
        result.append((stack, file))
    if not result:
        raise PolicyScanError("no stacks to scan")
    if len({f for _, f in result}) != len(result):
        raise PolicyScanError("the same stack file is listed twice")
    return result


def checkov_command(files: Sequence[Path], checks_dir: Path = CHECKS_DIR) -> list[str]:
    cmd = [sys.executable, "-W", "ignore", "-m", "checkov.main", "--framework", "terraform_json"]
    for file in files:
        cmd += ["-f", str(file)]
    cmd += [
        "--external-checks-dir",
        str(checks_dir),
        "--output",
        "json",
        "--skip-download",
        "--quiet",  # failed checks only: passed ones are only counted
        "--compact",  # no code blocks in the report
        "--soft-fail",  # exit 0 on failed checks: a non-zero exit is an error of checkov itself
    ]
    return cmd


def checkov_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES)}
    env.update(OFFLINE_ENV)
    env["HOME"] = home  # no ~/.checkov.yaml
    return env


def _json_documents(text: str) -> list[Any]:
    """checkov prints one JSON document, or several concatenated in some modes."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return docs
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)


def run_checkov(files: Sequence[Path], checks_dir: Path = CHECKS_DIR, timeout: float = 300) -> list[dict]:
    """Run checkov once over ``files``; return its terraform_json reports."""
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        try:
            proc = subprocess.run(
                checkov_command(files, checks_dir),
                cwd=scratch,
                env=checkov_env(scratch),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise PolicyScanError(f"checkov did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise PolicyScanError(f"checkov exited with {proc.returncode}:\n{proc.stderr[-4000:]}{proc.stdout[-2000:]}")
    try:
        docs = _json_documents(proc.stdout)
    except ValueError as exc:
        raise PolicyScanError(
            f"checkov printed no readable JSON ({exc}):\n{proc.stdout[:2000]}{proc.stderr[-2000:]}"
        ) from exc
    reports: list[dict] = []
    for doc in docs:
        reports.extend(doc if isinstance(doc, list) else [doc])
    if "Traceback" in proc.stderr:
        # checkov logs (rather than raises) a custom check that cannot be loaded: never pass silently.
        raise PolicyScanError(f"checkov logged a Python error:\n{proc.stderr[-4000:]}")
    return [r for r in reports if r.get("check_type", "terraform_json") == "terraform_json"]


def _resource_index(file: Path) -> dict[str, list[str]]:
    """Resource name -> its types in one stack file, to repair addresses checkov shortens."""
    doc = json.loads(file.read_text())
    index: dict[str, list[str]] = {}
    for rtype, items in doc.get("resource", {}).items():
        for name in items:
            index.setdefault(name, []).append(rtype)
    return index


def _address(resource: str, index: Mapping[str, list[str]]) -> str:
    """Some built-in checks (CKV_AWS_338...) report ``resource.<name>``: restore ``<type>.<name>``."""
    rtype, _, name = resource.partition(".")
    if rtype in ("resource", "") and len(index.get(name, [])) == 1:
        return f"{index[name][0]}.{name}"
    return resource


def stage_with_inlined_policies(pairs: Sequence[tuple[str, Path]], staging: Path) -> list[tuple[str, Path, Path]]:
    """Copies of the stacks with `data.aws_iam_policy_document` references replaced by their JSON.

    checkov reads resource attributes only; without this its IAM, KMS and bucket-policy
    checks (and CKV_STUDIO_9) would see a reference instead of the statements.
    """
    staged = []
    for index, (stack, original) in enumerate(pairs):
        copy = staging / f"{index}-{stack}" / STACK_FILE
        copy.parent.mkdir(parents=True)
        copy.write_text(json.dumps(inline_policy_documents(json.loads(original.read_text())), indent=1))
        staged.append((stack, original, copy))
    return staged


def scan(
    targets: Mapping[str, Path] | Iterable[tuple[str, Path]],
    suppressions: Sequence[Suppression] | Path | None = None,
    checks_dir: Path = CHECKS_DIR,
) -> ScanResult:
    """Scan stacks (``{name: dir or cdk.tf.json}`` or ``[(name, path), ...]``) and apply suppressions."""
    started = time.monotonic()
    pairs = normalize_targets(targets)
    if suppressions is None or isinstance(suppressions, (str, Path)):
        suppressions = load_suppressions(Path(suppressions) if suppressions else SUPPRESSIONS_PATH)
    indexes = {f: _resource_index(f) for _, f in pairs}
    with tempfile.TemporaryDirectory(prefix="policy-scan-") as staging:
        staged = stage_with_inlined_policies(pairs, Path(staging))
        by_file = {os.path.realpath(copy): (stack, original) for stack, original, copy in staged}
        reports = run_checkov([copy for _, _, copy in staged], checks_dir)
    version, passed, skipped, parsing_errors = "?", 0, 0, []
    raw: list[dict] = []
    for report in reports:
        summary = report.get("summary", {})
        version = summary.get("checkov_version", version)
        passed += int(summary.get("passed", 0))
        skipped += int(summary.get("skipped", 0))
        parsing_errors += list(report.get("results", {}).get("parsing_errors", []))
        raw += report.get("results", {}).get("failed_checks", [])

    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for item in raw:
        file_key = os.path.realpath(item.get("file_abs_path") or item.get("file_path", ""))
        if file_key not in by_file:
            raise PolicyScanError(f"checkov reported a file that was not scanned: {item.get('file_abs_path')}")
        stack, file = by_file[file_key]
        resource = _address(item.get("resource", ""), indexes[file])
        key = (item["check_id"], resource, str(file))
        if key in seen:
            continue
        seen.add(key)
        line_range = item.get("file_line_range")
        findings.append(
            Finding(
                check_id=item["check_id"],
                check_name=item.get("check_name", ""),
                resource=resource,
                stack=stack,
                file=str(file),
                lines=tuple(line_range) if line_range else None,
                details=tuple(item.get("details") or ()),
            )
        )
    findings.sort(key=lambda f: (f.stack, f.file, f.resource, f.check_id))

    applied = apply_suppressions(findings, suppressions, {stack for stack, _ in pairs})
    return ScanResult(
        targets=pairs,
        checkov_version=version,
        passed=passed,
        failures=applied.failures,
        suppressed=applied.suppressed,
        stale=applied.stale,
        not_applicable=applied.not_applicable,
        skipped=skipped,
        parsing_errors=parsing_errors,
        seconds=time.monotonic() - started,
        findings=findings,
    )


@dataclass
class Applied:
    failures: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]
    stale: list[Suppression]
    not_applicable: list[Suppression]


def apply_suppressions(
    findings: Iterable[Finding], suppressions: Sequence[Suppression], scanned_stacks: Iterable[str]
) -> Applied:
    """Split findings into unsuppressed failures and suppressed ones (first matching entry wins);
    sort the unused entries into stale (a scanned stack could have matched them) and not
    applicable (limited to stacks that were not scanned)."""
    failures: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    used: set[Suppression] = set()
    for finding in findings:
        match = next((s for s in suppressions if s.matches(finding)), None)
        if match is None:
            failures.append(finding)
        else:
            suppressed.append((finding, match))
            used.add(match)
    scanned = set(scanned_stacks)
    unused = [s for s in suppressions if s not in used]
    stale = [s for s in unused if s.stacks is None or scanned & set(s.stacks)]
    not_applicable = [s for s in unused if s not in stale]
    return Applied(failures, suppressed, stale, not_applicable)


def outdir_targets(outdirs: Iterable[Path]) -> list[tuple[str, Path]]:
    """Every stack of every synthesized output directory (``cdktf.out``...)."""

    targets: list[tuple[str, Path]] = []
    for outdir in outdirs:
        targets += list(stack_dirs(Path(outdir)).items())
    return targets


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.checks.policy_scan", description=__doc__.split("\n")[0]
    )
    parser.add_argument("outdirs", nargs="*", type=Path, default=[Path("cdktf.out")], help="synthesized output dirs")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS_PATH)
    parser.add_argument("--show-suppressed", action="store_true", help="also list suppressed findings")
    args = parser.parse_args(argv)
    try:
        result = scan(outdir_targets(args.outdirs), args.suppressions)
    except (SuppressionError, PolicyScanError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.describe(show_suppressed=args.show_suppressed))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
