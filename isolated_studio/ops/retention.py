"""With ``workload.retain_home_efs = true``, destroying the workload keeps the KMS key.

The retained home EFS stays encrypted with the workload's key: if ``terraform destroy``
scheduled the key's deletion, the file system would become unreadable when the waiting
period ends. So the workload's destroy plan targets every managed resource but the key
(``-target`` destroys a target and what depends on it; the key depends only on data
sources, so it stays), and afterwards the key is removed from the state: AWS keeps it,
Terraform forgets it, and the operator is told which file system it protects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KEY_TYPE = "aws_kms_key"


@dataclass(frozen=True)
class KeptKey:
    address: str
    arn: str | None
    file_system_id: str | None
    domain_id: str | None

    def message(self) -> str:
        fs = self.file_system_id or "the domain's home EFS"
        domain = f" of domain {self.domain_id}" if self.domain_id else ""
        return (
            f"kept KMS key {self.arn or self.address} ({self.address} is no longer in the workload state): it "
            f"encrypts the retained home EFS {fs}{domain} (workload.retain_home_efs = true). Schedule its "
            f"deletion (aws kms schedule-key-deletion) only after that file system is deleted."
        )


def _managed(addresses: Iterable[str]) -> list[str]:
    return [a for a in addresses if not a.startswith("data.") and ".data." not in a]


def is_key(address: str) -> bool:
    parts = address.split(".")
    return len(parts) >= 2 and parts[-2] == KEY_TYPE


def destroy_targets(addresses: Iterable[str]) -> list[str]:
    """Every managed resource of the state but the KMS keys: what the workload destroy targets."""
    return [a for a in _managed(addresses) if not is_key(a)]


def kept_keys(plan: Mapping[str, Any]) -> list[KeptKey]:
    """The keys a targeted destroy plan keeps, with the domain and home EFS from its prior state."""
    resources = (plan.get("prior_state") or {}).get("values", {}).get("root_module", {}).get("resources", [])
    domains = [r["values"] for r in resources if r.get("type") == "aws_sagemaker_domain" and r.get("mode") == "managed"]
    domain = domains[0] if domains else {}
    return [
        KeptKey(r["address"], r["values"].get("arn"), domain.get("home_efs_file_system_id"), domain.get("id"))
        for r in resources
        if r.get("type") == KEY_TYPE and r.get("mode") == "managed"
    ]
