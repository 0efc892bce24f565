"""ElastiCache on the local stack (moto 5.2.5 with vikunja_local/patches/elasticache.py)
through boto3: what the shared cache's lifecycle needs — a deleted replication group goes,
cache subnet groups can be deleted, once nothing uses them."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def elasticache(stack):
    return stack.client("elasticache")


@pytest.fixture
def subnets(stack):
    ec2 = stack.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    return [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24")["Subnet"]["SubnetId"]
            for i in range(2)]


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def test_a_replication_group_is_deleting_then_gone_and_its_subnet_group_can_go(elasticache, subnets):
    name = f"t-{uuid.uuid4().hex[:8]}-cache"
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=name, CacheSubnetGroupDescription="t", SubnetIds=subnets,
        Tags=[{"Key": "vikunja:stack", "Value": "t"}])
    group = elasticache.create_replication_group(
        ReplicationGroupId=name, ReplicationGroupDescription="t", Engine="valkey",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=1, CacheSubnetGroupName=name,
        AtRestEncryptionEnabled=True, TransitEncryptionEnabled=False,
        Tags=[{"Key": "vikunja:stack", "Value": "t"}])["ReplicationGroup"]
    assert group["AtRestEncryptionEnabled"] is True
    assert group["TransitEncryptionEnabled"] is False

    # Still used by the replication group: AWS refuses, and so does the local stack.
    with pytest.raises(ClientError) as in_use:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    assert _code(in_use.value) == "CacheSubnetGroupInUse"

    deleted = elasticache.delete_replication_group(ReplicationGroupId=name)["ReplicationGroup"]
    assert deleted["Status"] == "deleting"
    with pytest.raises(ClientError) as again:
        elasticache.delete_replication_group(ReplicationGroupId=name)
    assert _code(again.value) == "InvalidReplicationGroupState"
    described = elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"]
    assert [g["Status"] for g in described] == ["deleting"]
    with pytest.raises(ClientError) as gone:
        elasticache.describe_replication_groups(ReplicationGroupId=name)
    assert _code(gone.value) == "ReplicationGroupNotFoundFault"
    with pytest.raises(ClientError) as gone:
        elasticache.delete_replication_group(ReplicationGroupId=name)
    assert _code(gone.value) == "ReplicationGroupNotFoundFault"

    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    with pytest.raises(ClientError) as gone:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)
    assert _code(gone.value) == "CacheSubnetGroupNotFoundFault"
    with pytest.raises(ClientError) as gone:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    assert _code(gone.value) == "CacheSubnetGroupNotFoundFault"
