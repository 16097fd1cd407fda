"""Helpers shared by the CKV_STUDIO checks (no check lives here).

checkov hands a resource check the resource's configuration in its HCL shape: every attribute
value is wrapped in a one-element list (``"private_dns_enabled": [True]``), list attributes are
lists in that list (``"security_groups": [["sg-1"]]``) and nested blocks are lists of dicts whose
values are wrapped the same way. These helpers unwrap that, so the checks read like the JSON.

Values synthesized by cdktf may be Terraform expressions (``"${aws_kms_key.x.arn}"``): such a
value is *set*, but its content is unknown until apply.
"""

from __future__ import annotations

import ipaddress
from typing import Any

MISSING = object()


def is_ref(value: Any) -> bool:
    """A Terraform expression (reference, function call...) rather than a literal."""
    return isinstance(value, str) and "${" in value


def attr(conf: dict, key: str, default: Any = MISSING) -> Any:
    """The attribute's value with checkov's one-element wrapping removed."""
    if not isinstance(conf, dict) or key not in conf:
        return default
    value = conf[key]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(conf: dict, key: str) -> list[dict]:
    """Every nested block (or object in a list attribute) under ``key``, however it is wrapped."""
    found: list[dict] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if isinstance(conf, dict):
        walk(conf.get(key))
    return found


def leaves(value: Any) -> list[Any]:
    """The scalar values of a (possibly nested) list attribute."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(leaves(item))
        return out
    return [value]


def is_true(value: Any) -> bool:
    """True, "true", or an expression (set, content unknown until apply)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true" or is_ref(value)
    return False


def is_set(value: Any) -> bool:
    """Present and not empty: a non-empty string/list or an expression."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, list):
        return any(is_set(item) for item in value)
    return True


def is_world_cidr(value: Any) -> bool:
    """0.0.0.0/0, ::/0 or any other prefix of length 0 (a literal; expressions are not judged)."""
    if not isinstance(value, str) or is_ref(value):
        return False
    try:
        return ipaddress.ip_network(value.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False
