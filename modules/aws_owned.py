"""The AWS-owned resources the environment needs (policy/aws-owned-resources.toml), per Region.

The file is the one table of them, each entry with its AWS source; this module reads it and
answers, for one Region, which AWS buckets the S3 gateway endpoint lets our workloads read and
which AWS accounts' ECR repositories they may pull. A Region that a required entry does not
list is a problem, reported with the entry's source, before any resource is created.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from isolated_studio.base.paths import PROJECT_ROOT

TABLE = PROJECT_ROOT / "policy" / "aws-owned-resources.toml"
KINDS = ("s3-bucket", "ecr-registry")
ENTRY_KEYS = {"id", "kind", "name", "regions", "actions", "optional", "needed_by", "source"}


@dataclass(frozen=True)
class AwsOwned:
    """One entry of the table."""

    id: str
    kind: str
    actions: tuple[str, ...]
    needed_by: str
    source: str
    name: str = ""  # the same name in every Region, with {region}
    regions: Mapping[str, str] | None = None
    optional: bool = False

    def value(self, region: str) -> str | None:
        """The bucket name or account ID in ``region``, or None when AWS lists none there."""
        if self.regions is None:
            return self.name.format(region=region)
        return self.regions.get(region)


@dataclass(frozen=True)
class RegionalAwsOwned:
    """The table's values for one Region: what the endpoint policies allow besides our account."""

    region: str
    buckets: Mapping[str, str]  # entry id -> bucket name
    registries: Mapping[str, str]  # entry id -> account ID
    entries: Mapping[str, AwsOwned]

    def bucket_object_arns(self, partition: str) -> list[str]:
        return [f"arn:{partition}:s3:::{name}/*" for name in self.buckets.values()]

    @property
    def registry_accounts(self) -> list[str]:
        return sorted(set(self.registries.values()))

    def actions(self, kind: str) -> list[str]:
        """The actions allowed on the entries of ``kind`` present in the Region (sorted, unique)."""
        present = set(self.buckets) | set(self.registries)
        return sorted({a for e in self.entries.values() if e.kind == kind and e.id in present for a in e.actions})


def parse(data: Mapping, source: str = str(TABLE)) -> tuple[AwsOwned, ...]:
    """The entries of the table's TOML, every problem reported together."""
    problems, entries, seen = [], [], set()
    for index, row in enumerate(data.get("resource", [])):
        label = row.get("id", f"resource #{index + 1}")
        unknown = set(row) - ENTRY_KEYS
        if unknown:
            problems.append(f"{label}: unknown keys {sorted(unknown)}")
        for key in ("id", "kind", "actions", "needed_by", "source"):
            if not row.get(key):
                problems.append(f"{label}: '{key}' is required")
        if row.get("kind") not in KINDS:
            problems.append(f"{label}: kind must be one of {list(KINDS)}")
        if bool(row.get("name")) == bool(row.get("regions")):
            problems.append(f"{label}: give exactly one of 'name' (every Region) and 'regions'")
        if label in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(label)
        entries.append(
            AwsOwned(
                id=label,
                kind=row.get("kind", ""),
                actions=tuple(row.get("actions", ())),
                needed_by=row.get("needed_by", ""),
                source=row.get("source", ""),
                name=row.get("name", ""),
                regions=dict(row["regions"]) if row.get("regions") else None,
                optional=bool(row.get("optional", False)),
            )
        )
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    return tuple(entries)


@cache
def table(path: Path = TABLE) -> tuple[AwsOwned, ...]:
    return parse(tomllib.loads(path.read_text()), str(path))


def region_problems(region: str, entries: tuple[AwsOwned, ...] | None = None) -> list[str]:
    """Why the endpoint policies cannot be written for ``region`` (empty when they can)."""
    return [
        f"AWS documents no {e.id} for {region} ({e.source}); add it to {TABLE.name} with its source"
        for e in entries or table()
        if not e.optional and e.value(region) is None
    ]


def for_region(region: str, entries: tuple[AwsOwned, ...] | None = None) -> RegionalAwsOwned:
    """The table's values for ``region`` (call :func:`region_problems` first: a missing required
    entry is left out here)."""
    entries = entries or table()
    present = {e.id: (e, value) for e in entries if (value := e.value(region)) is not None}
    return RegionalAwsOwned(
        region=region,
        buckets={i: value for i, (e, value) in present.items() if e.kind == "s3-bucket"},
        registries={i: value for i, (e, value) in present.items() if e.kind == "ecr-registry"},
        entries={i: e for i, (e, _) in present.items()},
    )
