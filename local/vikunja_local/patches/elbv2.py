"""ELBv2: loopback targets (the data plane's stand-ins) get real health checks; creating a
load balancer is idempotent by name, as on AWS."""

from __future__ import annotations

from typing import Any

from .registry import Finding, probe, replaces, uses


@replaces("moto.elbv2.models.FakeTargetGroup.health_for", "(self, target, ec2_backend)")
@uses(
    "moto.elbv2.models.FakeHealthStatus.__init__",
    "(self, instance_id, port, health_port, status, reason, description)",
)
def target_health_follows_loopback_targets() -> None:
    """moto reports every registered target `healthy`. Targets on a loopback address are
    the local stack's stand-ins (see vikunja_local/dataplane): their health is now the
    target group's real health check against them — HTTP(S): `GET <HealthCheckPath>`
    and the matcher's codes; TCP: a connection — with AWS's reasons
    (`Target.ResponseCodeMismatch`, `Target.Timeout`, `Target.FailedHealthChecks`)."""
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    moto_health_for = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        status = moto_health_for(self, target, ec2_backend)
        if status.status != "healthy" or not _is_loopback(status.instance_id):
            return status
        failure = _health_check_failure(self, status.instance_id, int(status.port))
        if failure is None:
            return status
        reason, description = failure
        return FakeHealthStatus(status.instance_id, status.port, self.health_check_port, "unhealthy", reason, description)

    FakeTargetGroup.health_for = health_for


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _health_check_failure(target_group: Any, ip: str, port: int) -> tuple[str, str] | None:
    """None when healthy, else (reason, description) as ELBv2 words them. The stand-in
    answers everything on its traffic port, so that is where it is checked."""
    import socket
    import urllib.error
    import urllib.request

    protocol = (target_group.health_check_protocol or "TCP").upper()
    timeout = min(float(target_group.health_check_timeout_seconds or 5), 2.0)
    if protocol == "TCP":
        try:
            socket.create_connection((ip, port), timeout=timeout).close()
            return None
        except OSError:
            return "Target.FailedHealthChecks", "Health checks failed"
    url = f"http://{ip}:{port}{target_group.health_check_path or '/'}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            code = answer.status
    except urllib.error.HTTPError as error:
        code = error.code
    except (OSError, ValueError):
        return "Target.Timeout", "Request timed out"
    if _code_matches(code, (getattr(target_group, "matcher", None) or {}).get("HttpCode") or "200-399"):
        return None
    return "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"


def _code_matches(code: int, matcher: str) -> bool:
    """ELBv2 matchers: `200`, `200,202`, `200-399`."""
    for part in str(matcher).split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= code <= int(high or low):
            return True
    return False


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(target_health_follows_loopback_targets)
def _probe_loopback_target_health() -> Finding:
    """A loopback target on a port nothing listens on must not be `healthy`."""
    import socket

    from .probing import client

    with socket.socket() as unused:  # a free port, closed again: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    vpc = client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2 = client("elbv2")
    group = elbv2.create_target_group(Name="probe", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                      HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": port}])
    health = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]["TargetHealth"]
    return Finding(health["State"] == "healthy", f"a target nothing listens on is {health['State']}")


@replaces(
    "moto.elbv2.models.ELBv2Backend.create_load_balancer",
    "(self, name, security_groups, subnet_ids, subnet_mappings, scheme, loadbalancer_type, ip_address_type, tags)",
)
def load_balancer_creation_is_idempotent() -> None:
    """AWS: "This operation is idempotent, which means that it completes at most one time.
    If you attempt to create multiple load balancers with the same settings, each call
    succeeds." moto puts a random id in each ARN, so a second CreateLoadBalancer of one
    name — an SDK retry after an answer was lost — made a second load balancer. Now the
    same name and settings answer the existing one; the same name with other settings is
    `DuplicateLoadBalancerName`, as on AWS."""
    from moto.elbv2.exceptions import DuplicateLoadBalancerName
    from moto.elbv2.models import ELBv2Backend

    moto_create = ELBv2Backend.create_load_balancer

    def create_load_balancer(self, name, security_groups, subnet_ids, subnet_mappings=None,
                             scheme="internet-facing", loadbalancer_type=None, ip_address_type="ipv4",
                             tags=None):
        existing = next((lb for lb in list(self.load_balancers.values()) if lb.name == name), None)
        if existing is None:
            return moto_create(self, name, security_groups, subnet_ids, subnet_mappings, scheme,
                               loadbalancer_type, ip_address_type, tags)
        wanted_subnets = set(subnet_ids or []) | {m["SubnetId"] for m in subnet_mappings or []}
        same = (existing.scheme == scheme
                and (existing.type or "application") == (loadbalancer_type or "application")
                and {subnet.id for subnet in existing.subnets} == wanted_subnets)
        if not same:
            raise DuplicateLoadBalancerName()
        return existing

    ELBv2Backend.create_load_balancer = create_load_balancer


@probe(load_balancer_creation_is_idempotent)
def _probe_idempotent_load_balancer_creation() -> Finding:
    """Two CreateLoadBalancer calls with one name and the same settings: one load balancer."""
    from .probing import client

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    elbv2 = client("elbv2")
    first = elbv2.create_load_balancer(Name="probe-idem", Subnets=[subnet], Type="network")
    second = elbv2.create_load_balancer(Name="probe-idem", Subnets=[subnet], Type="network")
    arns = {first["LoadBalancers"][0]["LoadBalancerArn"], second["LoadBalancers"][0]["LoadBalancerArn"]}
    return Finding(len(arns) > 1, f"two creates of one name made {len(arns)} load balancer(s)")
