"""Where the project and a synthesis put things: the project root, the stacks' deploy order and
cdktf.out's layout (manifest.json -> stacks/<name>/)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Dependency (and deploy) order of the stacks main.py builds.
STACK_ORDER = ("state", "network", "workload")


def ordered(stacks: Iterable[str], *, reverse: bool = False) -> list[str]:
    """``stacks`` in deploy order (``reverse``: destroy order); names main.py does not build are dropped."""
    chosen = [s for s in STACK_ORDER if s in set(stacks)]
    return chosen[::-1] if reverse else chosen


def stack_dirs(outdir: Path) -> dict[str, Path]:
    """Each synthesized stack's working directory, in deploy order, as cdktf's manifest names it."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    dirs = {name: outdir / info["workingDirectory"] for name, info in manifest["stacks"].items()}
    order = {name: i for i, name in enumerate(STACK_ORDER)}
    return dict(sorted(dirs.items(), key=lambda item: order.get(item[0], len(order))))
