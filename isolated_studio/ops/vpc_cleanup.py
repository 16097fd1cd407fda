"""After the workload is destroyed, remove what SageMaker left in the VPC, before the network goes.

A SageMaker domain creates resources in our VPC that Terraform never knew:

- two security groups, ``security-group-for-inbound-nfs-<domain-id>`` and
  ``security-group-for-outbound-nfs-<domain-id>``, that reference each other;
- the domain's home EFS, tagged ``ManagedByAmazonSageMakerResource`` (the tag the
  AmazonSageMakerNotebooksServiceRolePolicy scopes its EFS permissions to:
  https://docs.aws.amazon.com/sagemaker/latest/dg/security-iam-awsmanpol-notebooks.html),
  with one mount target (and its network interface) per subnet;
- network interfaces of apps, in those security groups, while they are being deleted.

``DeleteDomain`` with ``HomeEfsFileSystem = Delete`` deletes the EFS (and then the groups)
asynchronously, and with ``Retain`` keeps it for good; in both cases ``terraform destroy`` of
the network fails with DependencyViolation on the subnets and the VPC while any of it is
there. :func:`cleanup_vpc` waits for SageMaker's own deletion, removes what it left, and
keeps a retained file system (only its mount targets, which tie it to this VPC, go: the
data stays and it can be mounted again from another VPC).

Time (``sleep``, ``clock``) and output (``progress``) are injected, as in
:mod:`isolated_studio.ops.cleanup`, so tests never really wait.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

Progress = Callable[[str], None]

SAGEMAKER_TAG = "ManagedByAmazonSageMakerResource"
SAGEMAKER_GROUP = re.compile(r"^security-group-for-(?:inbound|outbound)-nfs-(d-[a-z0-9]+)$")
# SageMaker's own deletion of the home EFS takes a few minutes; wait this long before
# deleting what it left (only when the domain's retention is Delete).
SAGEMAKER_GRACE_S = 600.0
POLL_S = 10.0


class VpcCleanupError(RuntimeError):
    """Something still blocks deleting the VPC; the message names it."""


@dataclass
class VpcCleanup:
    """What was found and done, for the caller to report."""

    vpc_id: str
    security_groups: list[str] = field(default_factory=list)
    network_interfaces: list[str] = field(default_factory=list)
    deleted_file_systems: list[str] = field(default_factory=list)
    retained_file_systems: list[str] = field(default_factory=list)
    deleted_mount_targets: list[str] = field(default_factory=list)

    @property
    def found_anything(self) -> bool:
        return bool(
            self.security_groups
            or self.network_interfaces
            or self.deleted_file_systems
            or self.retained_file_systems
            or self.deleted_mount_targets
        )


@dataclass
class _Clock:
    timeout_s: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def expired(self) -> bool:
        return self.elapsed() >= self.timeout_s


def sagemaker_security_groups(ec2: Any, vpc_id: str) -> dict[str, str]:
    """``{group id: name}`` of the security groups SageMaker created in the VPC."""
    groups = {}
    for page in ec2.get_paginator("describe_security_groups").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    ):
        for group in page["SecurityGroups"]:
            tagged = any(t["Key"] == SAGEMAKER_TAG for t in group.get("Tags", []))
            if SAGEMAKER_GROUP.match(group["GroupName"]) or tagged:
                groups[group["GroupId"]] = group["GroupName"]
    return groups


def _subnets(ec2: Any, vpc_id: str) -> set[str]:
    pages = ec2.get_paginator("describe_subnets").paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {s["SubnetId"] for page in pages for s in page["Subnets"]}


def _mount_targets(efs: Any, file_system_id: str) -> list[dict[str, Any]]:
    try:
        return efs.describe_mount_targets(FileSystemId=file_system_id)["MountTargets"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "FileSystemNotFound":
            return []
        raise


def sagemaker_file_systems(efs: Any, subnets: set[str], groups: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """``{file system id: its mount targets in these subnets}`` for SageMaker's home EFSs here.

    A file system counts when SageMaker tagged it or its mount targets use SageMaker's groups.
    """
    groups = set(groups)
    found = {}
    for page in efs.get_paginator("describe_file_systems").paginate():
        for fs in page["FileSystems"]:
            targets = [t for t in _mount_targets(efs, fs["FileSystemId"]) if t["SubnetId"] in subnets]
            if not targets:
                continue
            tagged = any(t["Key"] == SAGEMAKER_TAG for t in fs.get("Tags", []))
            in_groups = groups and any(
                set(efs.describe_mount_target_security_groups(MountTargetId=t["MountTargetId"])["SecurityGroups"])
                & groups
                for t in targets
            )
            if tagged or in_groups:
                found[fs["FileSystemId"]] = targets
    return found


def cleanup_vpc(
    ec2: Any,
    efs: Any,
    vpc_id: str,
    *,
    retain_home_efs: bool,
    timeout_s: float = 1800,
    grace_s: float = SAGEMAKER_GRACE_S,
    progress: Progress = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> VpcCleanup:
    """Remove SageMaker's leftovers from ``vpc_id``; raise VpcCleanupError naming what remains."""
    timer = _Clock(timeout_s, sleep, clock)
    result = VpcCleanup(vpc_id)
    groups = sagemaker_security_groups(ec2, vpc_id)
    subnets = _subnets(ec2, vpc_id)
    file_systems = sagemaker_file_systems(efs, subnets, groups)
    result.security_groups = sorted(groups)
    if not groups and not file_systems:
        progress(f"{vpc_id}: nothing SageMaker created is left in the VPC")
        return result
    progress(
        f"{vpc_id}: SageMaker left {len(groups)} security group(s) "
        f"({', '.join(f'{name} {gid}' for gid, name in sorted(groups.items())) or 'none'}) and "
        f"{len(file_systems)} home EFS file system(s) with mount targets here "
        f"({', '.join(sorted(file_systems)) or 'none'})"
    )

    for fs_id in sorted(file_systems):
        if retain_home_efs:
            progress(
                f"{fs_id}: kept (workload.retain_home_efs = true); deleting its mount targets in "
                f"{vpc_id} so the VPC can go (the data stays; mount it again from another VPC)"
            )
            result.retained_file_systems.append(fs_id)
            _delete_mount_targets(efs, fs_id, subnets, timer, progress, result)
        else:
            _delete_file_system(efs, fs_id, subnets, timer, grace_s, progress, result)

    result.network_interfaces = _delete_interfaces(ec2, vpc_id, set(groups), timer, progress)
    _delete_groups(ec2, groups, timer, progress)
    progress(f"{vpc_id}: SageMaker's leftovers are gone")
    return result


def _wait(timer: _Clock, what: str, remaining: Callable[[], list[str]], progress: Progress) -> None:
    """Poll ``remaining`` until it is empty; on timeout raise naming what is left."""
    while True:
        left = remaining()
        if not left:
            return
        if timer.expired():
            raise VpcCleanupError(
                f"after {timer.elapsed():.0f} s still waiting for {what}: {', '.join(left)}; "
                "they keep the network's subnets and VPC from being deleted"
            )
        progress(f"waiting for {what} ({len(left)} left: {', '.join(left)}; {timer.elapsed():.0f} s)")
        timer.sleep(min(POLL_S, max(timer.timeout_s - timer.elapsed(), 0.1)))


def _file_system_state(efs: Any, fs_id: str) -> str | None:
    try:
        systems = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "FileSystemNotFound":
            return None
        raise
    return systems[0]["LifeCycleState"] if systems else None


def _delete_mount_targets(
    efs: Any, fs_id: str, subnets: set[str], timer: _Clock, progress: Progress, result: VpcCleanup
) -> None:
    for target in _mount_targets(efs, fs_id):
        if target["SubnetId"] in subnets and target.get("LifeCycleState") not in ("deleting", "deleted"):
            progress(f"{fs_id}: deleting mount target {target['MountTargetId']} in {target['SubnetId']}")
            efs.delete_mount_target(MountTargetId=target["MountTargetId"])
            result.deleted_mount_targets.append(target["MountTargetId"])
    _wait(
        timer,
        f"the mount targets of {fs_id}",
        lambda: [t["MountTargetId"] for t in _mount_targets(efs, fs_id) if t["SubnetId"] in subnets],
        progress,
    )


def _delete_file_system(
    efs: Any, fs_id: str, subnets: set[str], timer: _Clock, grace_s: float, progress: Progress, result: VpcCleanup
) -> None:
    """Retention Delete: SageMaker deletes the EFS itself; delete what is left after the grace period."""
    deadline = min(grace_s, timer.timeout_s)
    state = _file_system_state(efs, fs_id)
    while state is not None and (state == "deleting" or timer.elapsed() < deadline) and not timer.expired():
        progress(f"{fs_id}: waiting for SageMaker to delete the home EFS ({state}, {timer.elapsed():.0f} s)")
        limit = timer.timeout_s if state == "deleting" else deadline
        timer.sleep(min(POLL_S, max(limit - timer.elapsed(), 0.1)))
        state = _file_system_state(efs, fs_id)
    if state is None:
        progress(f"{fs_id}: deleted by SageMaker")
        return
    if state == "deleting":
        raise VpcCleanupError(
            f"after {timer.elapsed():.0f} s the home EFS {fs_id} is still being deleted; "
            f"its mount targets keep the subnets of {result.vpc_id} from being deleted"
        )
    progress(f"{fs_id}: still there after {timer.elapsed():.0f} s; deleting it (workload.retain_home_efs = false)")
    _delete_mount_targets(efs, fs_id, subnets, timer, progress, result)
    if any(True for _ in _mount_targets(efs, fs_id)):
        raise VpcCleanupError(f"{fs_id} still has mount targets outside {result.vpc_id}; not deleting it")
    efs.delete_file_system(FileSystemId=fs_id)
    _wait(timer, f"the deletion of {fs_id}", lambda: [fs_id] if _file_system_state(efs, fs_id) else [], progress)
    result.deleted_file_systems.append(fs_id)


def _interfaces(ec2: Any, vpc_id: str, groups: set[str]) -> list[dict[str, Any]]:
    if not groups:
        return []
    pages = ec2.get_paginator("describe_network_interfaces").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-id", "Values": sorted(groups)}]
    )
    return [eni for page in pages for eni in page["NetworkInterfaces"]]


def _delete_interfaces(ec2: Any, vpc_id: str, groups: set[str], timer: _Clock, progress: Progress) -> list[str]:
    """Delete detached interfaces in SageMaker's groups; wait for attached ones to be released."""
    seen: list[str] = []

    def remaining() -> list[str]:
        left = []
        for eni in _interfaces(ec2, vpc_id, groups):
            eni_id = eni["NetworkInterfaceId"]
            if eni_id not in seen:
                seen.append(eni_id)
            if eni.get("Status") == "available" and not eni.get("RequesterManaged"):
                try:
                    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
                    progress(f"deleted network interface {eni_id} ({eni.get('Description') or 'no description'})")
                    continue
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") == "InvalidNetworkInterfaceID.NotFound":
                        continue
                    left.append(f"{eni_id} ({error.response.get('Error', {}).get('Code')})")
                    continue
            left.append(f"{eni_id} ({eni.get('Status')}, {eni.get('Description') or 'no description'})")
        return left

    _wait(timer, "network interfaces in SageMaker's security groups", remaining, progress)
    return seen


def _delete_groups(ec2: Any, groups: dict[str, str], timer: _Clock, progress: Progress) -> None:
    """The inbound and outbound NFS groups reference each other: drop their rules, then the groups."""
    for group in ec2.describe_security_groups(GroupIds=sorted(groups))["SecurityGroups"] if groups else []:
        if group.get("IpPermissions"):
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        if group.get("IpPermissionsEgress"):
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    pending = dict(groups)

    def remaining() -> list[str]:
        for group_id, name in list(pending.items()):
            try:
                ec2.delete_security_group(GroupId=group_id)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code != "InvalidGroup.NotFound":
                    continue  # DependencyViolation: something still uses it; try again
            progress(f"deleted security group {name} ({group_id})")
            del pending[group_id]
        return [f"{name} ({gid})" for gid, name in pending.items()]

    _wait(timer, "SageMaker's security groups", remaining, progress)
