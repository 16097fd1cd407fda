"""Shared validation for module inputs.

Every construct validates its props before creating a single resource and reports all
problems at once, so a caller composing several modules gets one actionable message.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class ModuleInputError(ValueError):
    def __init__(self, module: str, problems: Iterable[str]):
        self.module = module
        self.problems = list(problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{module}: invalid inputs:\n{body}")


def raise_for(module: str, problems: list[str]) -> None:
    if problems:
        raise ModuleInputError(module, problems)


def is_unresolved(value: object) -> bool:
    """True for a cdktf token (a value known only at apply time), which we cannot check here."""
    return isinstance(value, str) and "${" in value


def cidr_problem(label: str, cidr: str) -> str | None:
    if is_unresolved(cidr):
        return None
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return f"{label}: {cidr!r} is not a valid CIDR ({exc})"
    return None


def name_tags(name: str, tags: dict[str, str] | None = None) -> dict[str, str]:
    return {**(tags or {}), "Name": name}
