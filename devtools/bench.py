"""`make bench`: synthesis of every stack against the full bare import of the bindings.

A plain `import cdktf, cdktf_cdktf_provider_aws` executes all ~2,100 resource modules of the
provider bindings; main.py loads only those the stacks use (isolated_studio/bindings.py).
The target is relative, so that it holds on any machine: synthesizing every stack must cost
at most 0.35x that bare import. Runs alternate to share the machine's noise fairly; medians
are reported, with the peak memory of the whole process tree (Python plus its Node.js child).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from isolated_studio.base.paths import PROJECT_ROOT

MAX_RATIO = 0.35
BARE_IMPORT = "import cdktf, cdktf_cdktf_provider_aws"


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mb: float


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may contain spaces; the ppid is the second field after ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _tree_rss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo.extend(_children(current))
    return total


def measure(argv: list[str], env: dict[str, str]) -> Sample:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    errors = proc.stderr.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{errors}")
    for line in errors.splitlines():
        if line.startswith("warning:"):  # e.g. the bindings fell back to the full import
            print(line, file=sys.stderr)
    return Sample(elapsed, peak / 1024)


def run(rounds: int) -> int:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    imports, synths = [], []
    with tempfile.TemporaryDirectory() as outdir:
        env["CDKTF_OUTDIR"] = outdir
        for round_ in range(1, rounds + 1):
            imports.append(measure([sys.executable, "-c", BARE_IMPORT], env))
            synths.append(measure([sys.executable, "main.py"], env))
            print(f"round {round_}: import {imports[-1].seconds:.2f} s, synth {synths[-1].seconds:.2f} s", flush=True)
    bare = statistics.median(s.seconds for s in imports)
    synth = statistics.median(s.seconds for s in synths)
    ratio = synth / bare
    print(
        f"full bare import of cdktf + provider bindings: {bare:6.2f} s  peak {max(s.peak_rss_mb for s in imports):6.0f} MB"
    )
    print(
        f"synthesis of every stack (main.py, fast path): {synth:6.2f} s  peak {max(s.peak_rss_mb for s in synths):6.0f} MB"
    )
    print(f"ratio {ratio:.2f} (target <= {MAX_RATIO})")
    if ratio > MAX_RATIO:
        print(f"FAIL: synthesis costs {ratio:.2f}x the bare import", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each (median reported)")
    return run(parser.parse_args(argv).rounds)


if __name__ == "__main__":
    sys.exit(main())
