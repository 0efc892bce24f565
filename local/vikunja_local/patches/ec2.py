"""EC2: what a deleted subnet leaves behind."""

from __future__ import annotations

from .registry import Finding, probe, replaces


@replaces("moto.ec2.models.subnets.SubnetBackend.delete_subnet", "(self, subnet_id)")
def deleting_a_subnet_drops_its_route_table_associations() -> None:
    """On AWS a subnet's route table association goes with the subnet. moto kept it, so a
    route table whose subnets were deleted answered DependencyViolation to DeleteRouteTable
    for ever, and nothing could release it (DescribeRouteTables named a subnet that no
    longer exists). Found by crashing teardown between its subnet and route table deletes."""
    from moto.ec2.models.subnets import SubnetBackend

    moto_delete_subnet = SubnetBackend.delete_subnet

    def delete_subnet(self, subnet_id):
        subnet = moto_delete_subnet(self, subnet_id)
        for table in getattr(self, "route_tables", {}).values():
            for association_id, target in list(table._associations.items()):
                if target == subnet_id:
                    table._associations.pop(association_id)
        return subnet

    SubnetBackend.delete_subnet = delete_subnet


@probe(deleting_a_subnet_drops_its_route_table_associations)
def _probe_route_table_after_its_subnet() -> Finding:
    from botocore.exceptions import ClientError

    from .probing import client

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.78.0.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    ec2.delete_subnet(SubnetId=subnet)
    try:
        ec2.delete_route_table(RouteTableId=table)
    except ClientError as error:
        return Finding(True, f"the route table of a deleted subnet answers {error.response['Error']['Code']}")
    return Finding(False, "the route table of a deleted subnet is deleted")
