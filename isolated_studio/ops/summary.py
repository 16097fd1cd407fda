"""What a synthesis wrote: stacks, their resources and outputs, for people and for tests."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from isolated_studio.base.paths import stack_dirs
from isolated_studio.config import StudioConfig


@dataclass(frozen=True)
class StackSummary:
    name: str
    path: Path
    resources: int
    data_sources: int
    outputs: int
    backend: str
    by_type: dict[str, int]


def summarize(outdir: Path) -> list[StackSummary]:
    summaries = []
    for name, path in stack_dirs(outdir).items():
        if not (path / "cdk.tf.json").exists() and (path / "cdk.tf").exists():
            summaries.append(_summarize_hcl(name, path))
            continue
        doc = json.loads((path / "cdk.tf.json").read_text())
        by_type = Counter({rtype: len(items) for rtype, items in doc.get("resource", {}).items()})
        summaries.append(
            StackSummary(
                name=name,
                path=path,
                resources=sum(by_type.values()),
                data_sources=sum(len(v) for v in doc.get("data", {}).values()),
                outputs=len(doc.get("output", {})),
                backend=next(iter(doc.get("terraform", {}).get("backend", {"local": {}}))),
                by_type=dict(sorted(by_type.items())),
            )
        )
    return summaries


def _summarize_hcl(name: str, path: Path) -> StackSummary:
    """`cdktf synth --hcl` writes cdk.tf instead of cdk.tf.json: count its top-level blocks."""
    text = (path / "cdk.tf").read_text()
    by_type = Counter(re.findall(r'^resource "([^"]+)"', text, flags=re.M))
    backend = re.search(r'^\s*backend "([^"]+)"', text, flags=re.M)
    return StackSummary(
        name=name,
        path=path,
        resources=sum(by_type.values()),
        data_sources=len(re.findall(r'^data "', text, flags=re.M)),
        outputs=len(re.findall(r'^output "', text, flags=re.M)),
        backend=backend.group(1) if backend else "local",
        by_type=dict(sorted(by_type.items())),
    )


def _shown(path: str | Path) -> str:
    """``path`` relative to the working directory when it is below it, as people typed it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def describe_outdir(outdir: Path, config: StudioConfig) -> str:
    lines = [
        f"Synthesized environment {config.environment!r} ({_shown(config.source)}) for {config.region} into {_shown(outdir)}/:"
    ]
    for s in summarize(outdir):
        lines.append(
            f"  {s.name:<9} {s.resources:>3} resources, {s.data_sources:>2} data sources, "
            f"{s.outputs:>2} outputs, {s.backend} backend"
        )
    return "\n".join(lines)
