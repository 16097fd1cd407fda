"""What SageMaker leaves in the VPC is removed before the network destroy (against a moto server).

moto holds the resources SageMaker creates for a domain: the two NFS security groups that
reference each other, the home EFS with a mount target (and its network interface) per
subnet, and app network interfaces. Each test builds them in a fresh VPC. moto does not
refuse to delete a subnet that still has network interfaces (AWS does: DependencyViolation),
so the tests check that nothing but the network's own resources is left in the VPC before
it is deleted. Time is simulated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emulator_support import REGION, MotoServer, start_moto

from isolated_studio.ops.vpc_cleanup import SAGEMAKER_TAG, VpcCleanupError, cleanup_vpc

pytestmark = pytest.mark.emulator

DOMAIN = "d-abc123def456"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with start_moto(tmp_path_factory.mktemp("moto-vpc-cleanup") / "moto.log") as server:
        yield server


def _client(moto: MotoServer, service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, endpoint_url=moto.endpoint, aws_access_key_id="test", aws_secret_access_key="test"
    )


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class Vpc:
    """A VPC with our own security group and what a SageMaker domain leaves behind."""

    def __init__(self, ec2: Any, efs: Any, cidr: str) -> None:
        self.ec2, self.efs = ec2, efs
        self.vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        base = cidr.rsplit(".", 2)[0]
        self.subnets = [
            ec2.create_subnet(VpcId=self.vpc_id, CidrBlock=f"{base}.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
                "Subnet"
            ]["SubnetId"]
            for i, az in ((0, "a"), (1, "b"))
        ]
        self.ours = ec2.create_security_group(GroupName="studio", Description="ours", VpcId=self.vpc_id)["GroupId"]
        self.our_eni = ec2.create_network_interface(SubnetId=self.subnets[0], Groups=[self.ours])["NetworkInterface"][
            "NetworkInterfaceId"
        ]

    def add_sagemaker_leftovers(self, *, attached_app: bool = False) -> dict[str, Any]:
        ec2, efs = self.ec2, self.efs
        inbound = ec2.create_security_group(
            GroupName=f"security-group-for-inbound-nfs-{DOMAIN}",
            Description="[DO NOT DELETE] inbound NFS",
            VpcId=self.vpc_id,
        )["GroupId"]
        outbound = ec2.create_security_group(
            GroupName=f"security-group-for-outbound-nfs-{DOMAIN}",
            Description="[DO NOT DELETE] outbound NFS",
            VpcId=self.vpc_id,
        )["GroupId"]
        nfs = [{"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049}]
        ec2.authorize_security_group_ingress(
            GroupId=inbound, IpPermissions=[{**nfs[0], "UserIdGroupPairs": [{"GroupId": outbound}]}]
        )
        ec2.authorize_security_group_egress(
            GroupId=outbound, IpPermissions=[{**nfs[0], "UserIdGroupPairs": [{"GroupId": inbound}]}]
        )
        fs_id = efs.create_file_system(
            CreationToken=f"home-{self.vpc_id}",
            Encrypted=True,
            Tags=[{"Key": SAGEMAKER_TAG, "Value": f"arn:aws:sagemaker:{REGION}:123456789012:domain/{DOMAIN}"}],
        )["FileSystemId"]
        targets = [
            efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=[inbound])["MountTargetId"]
            for subnet in self.subnets
        ]
        app_eni = ec2.create_network_interface(
            SubnetId=self.subnets[1], Groups=[outbound], Description=f"SageMaker Studio app of {DOMAIN}"
        )["NetworkInterface"]
        if attached_app:
            image = ec2.describe_images()["Images"][0]["ImageId"]
            instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=self.subnets[0])["Instances"][
                0
            ]["InstanceId"]
            ec2.attach_network_interface(
                NetworkInterfaceId=app_eni["NetworkInterfaceId"], InstanceId=instance, DeviceIndex=1
            )
        return {
            "groups": {inbound, outbound},
            "fs": fs_id,
            "targets": targets,
            "app_eni": app_eni["NetworkInterfaceId"],
        }

    def groups(self) -> set[str]:
        found = self.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])
        return {g["GroupId"] for g in found["SecurityGroups"] if g["GroupName"] != "default"}

    def interfaces(self) -> set[str]:
        found = self.ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])
        return {e["NetworkInterfaceId"] for e in found["NetworkInterfaces"]}

    def delete_network(self) -> None:
        """What `terraform destroy` of the network does, as far as moto checks dependencies."""
        self.ec2.delete_network_interface(NetworkInterfaceId=self.our_eni)
        self.ec2.delete_security_group(GroupId=self.ours)
        for subnet in self.subnets:
            self.ec2.delete_subnet(SubnetId=subnet)
        self.ec2.delete_vpc(VpcId=self.vpc_id)


@pytest.fixture
def vpc(moto: MotoServer, request: pytest.FixtureRequest) -> Vpc:
    index = request.node.name.__hash__() % 200 + 10
    return Vpc(_client(moto, "ec2"), _client(moto, "efs"), f"10.{index}.0.0/16")


def _run(vpc: Vpc, *, retain: bool, timeout_s: float = 1800, grace_s: float = 0) -> tuple[Any, list[str], FakeTime]:
    lines: list[str] = []
    fake = FakeTime()
    result = cleanup_vpc(
        vpc.ec2,
        vpc.efs,
        vpc.vpc_id,
        retain_home_efs=retain,
        timeout_s=timeout_s,
        grace_s=grace_s,
        progress=lines.append,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    return result, lines, fake


def test_the_leftovers_block_the_network_destroy_until_they_are_removed(vpc):
    left = vpc.add_sagemaker_leftovers()
    assert vpc.groups() == {vpc.ours, *left["groups"]}
    assert len(vpc.interfaces()) == 4  # ours, two mount targets', the app's

    result, lines, fake = _run(vpc, retain=False, grace_s=60)

    assert set(result.security_groups) == left["groups"]
    assert result.deleted_file_systems == [left["fs"]] and sorted(result.deleted_mount_targets) == sorted(
        left["targets"]
    )
    assert left["app_eni"] in result.network_interfaces
    # Retention Delete: SageMaker was given its grace period first.
    assert any("waiting for SageMaker to delete the home EFS" in line for line in lines)
    assert sum(fake.sleeps) >= 60
    assert vpc.efs.describe_file_systems()["FileSystems"] == [] or left["fs"] not in {
        f["FileSystemId"] for f in vpc.efs.describe_file_systems()["FileSystems"]
    }
    # Our own security group and interface are untouched; then the network can go.
    assert vpc.groups() == {vpc.ours} and vpc.interfaces() == {vpc.our_eni}
    vpc.delete_network()


def test_a_retained_home_efs_is_kept_and_only_leaves_this_vpc(vpc):
    left = vpc.add_sagemaker_leftovers()

    result, lines, _ = _run(vpc, retain=True)

    assert result.retained_file_systems == [left["fs"]] and result.deleted_file_systems == []
    fs = vpc.efs.describe_file_systems(FileSystemId=left["fs"])["FileSystems"][0]
    assert fs["LifeCycleState"] == "available"
    assert vpc.efs.describe_mount_targets(FileSystemId=left["fs"])["MountTargets"] == []
    assert any(f"{left['fs']}: kept (workload.retain_home_efs = true)" in line for line in lines)
    vpc.delete_network()


def test_nothing_left_is_nothing_to_do(vpc):
    result, lines, _ = _run(vpc, retain=False)
    assert not result.found_anything
    assert lines == [f"{vpc.vpc_id}: nothing SageMaker created is left in the VPC"]
    vpc.delete_network()


def test_an_interface_still_in_use_is_named_when_time_runs_out(vpc):
    left = vpc.add_sagemaker_leftovers(attached_app=True)

    with pytest.raises(VpcCleanupError) as error:
        _run(vpc, retain=False, timeout_s=120)

    message = str(error.value)
    assert left["app_eni"] in message and "in-use" in message
    assert "keep the network's subnets and VPC from being deleted" in message
