"""`terraform init -backend=false` + `terraform validate` for synthesized stacks, offline."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from isolated_studio.base.paths import stack_dirs
from isolated_studio.base.terraform import MIRROR_ENV, run, terraform_env
from isolated_studio.config import load_config


@dataclass(frozen=True)
class ValidateResult:
    stack: str
    valid: bool
    diagnostics: list[dict]

    def describe(self) -> str:
        if self.valid:
            return f"{self.stack}: valid"
        lines = [f"{self.stack}: INVALID"]
        for d in self.diagnostics:
            where = d.get("range", {}).get("filename", "")
            lines.append(f"  {d.get('severity')}: {d.get('summary')} {d.get('detail', '')} {where}".rstrip())
        return "\n".join(lines)


def validate_stack(name: str, path: Path, env: dict[str, str]) -> ValidateResult:
    init = run(["init", "-backend=false", "-input=false", "-no-color"], cwd=path, env=env, check=False)
    if init.returncode != 0:
        detail = init.stdout + init.stderr
        if "could not connect to registry.terraform.io" in detail:
            detail += (
                f"\nHint: without internet access, set {MIRROR_ENV} to a filesystem mirror of the "
                "providers (see docs/air-gapped.md, 'The provider mirror')."
            )
        return ValidateResult(
            name, False, [{"severity": "error", "summary": "terraform init failed", "detail": detail}]
        )
    proc = run(["validate", "-json", "-no-color"], cwd=path, env=env, check=False)
    report = json.loads(proc.stdout)
    return ValidateResult(name, bool(report["valid"]), report.get("diagnostics", []))


def validate_outdir(outdir: Path, mirror: str | None) -> list[ValidateResult]:
    env = terraform_env(mirror)
    dirs = stack_dirs(outdir)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda item: validate_stack(item[0], item[1], env), dirs.items()))


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.checks.validate",
        description="terraform init -backend=false + validate every synthesized stack",
    )
    parser.add_argument("outdir", nargs="?", default="cdktf.out", type=Path, help="the synthesized app")
    outdir = parser.parse_args(argv).outdir
    results = validate_outdir(outdir, load_config().provider_mirror)
    for result in results:
        print(result.describe())
    return 0 if all(r.valid for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
