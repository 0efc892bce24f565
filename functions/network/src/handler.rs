use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, PrefixListId, ResourceType, RouteTable,
    SecurityGroup, Subnet, UserIdGroupPair,
};
use aws_sdk_ec2::Client;
use tracing::info;
use vikunja_core::names::{CONTAINER_PORT, DB_PORT, PROD_PORT, TEST_PORT};
use vikunja_core::settings::subnet_cidr;
use vikunja_core::tags::{self, Tier, STACK};
use vikunja_core::{inventory, Error, Names, NetworkOutputs, ProvisionState, Result, SdkContext};

use crate::ec2::{
    at_most_one, filter, missing, tag_filter, tag_spec, ALREADY_ASSOCIATED, DUPLICATE_PERMISSION,
    ROUTE_EXISTS,
};

/// Public subnets take the first two blocks of the VPC, isolated ones start halfway.
pub const PUBLIC_BLOCKS: [u32; 2] = [0, 1];
pub const ISOLATED_BLOCKS: [u32; 2] = [8, 9];

pub async fn handle(
    ec2: &Client,
    ssm: &aws_sdk_ssm::Client,
    state: ProvisionState,
) -> Result<NetworkOutputs> {
    state.settings.validate()?;
    let outputs = ensure_network(ec2, &state.settings.stack, &state.settings.vpc_cidr).await?;
    inventory::record(ssm, &state.settings.stack, Tier::Network, &outputs).await?;
    Ok(outputs)
}

pub async fn ensure_network(ec2: &Client, stack: &str, cidr: &str) -> Result<NetworkOutputs> {
    let names = Names::new(stack);
    let zones = two_zones(ec2).await?;
    let vpc_id = ensure_vpc(ec2, &names, cidr).await?;
    let mut public = Vec::new();
    let mut isolated = Vec::new();
    for (index, zone) in zones.iter().enumerate() {
        let cidr_public = subnet_cidr(cidr, PUBLIC_BLOCKS[index])?;
        let cidr_isolated = subnet_cidr(cidr, ISOLATED_BLOCKS[index])?;
        public.push(
            ensure_subnet(
                ec2,
                &names,
                &vpc_id,
                &names.subnet("public", index),
                &cidr_public,
                zone,
            )
            .await?,
        );
        isolated.push(
            ensure_subnet(
                ec2,
                &names,
                &vpc_id,
                &names.subnet("isolated", index),
                &cidr_isolated,
                zone,
            )
            .await?,
        );
    }
    let igw = ensure_internet_gateway(ec2, &names, &vpc_id).await?;
    let public_rt = ensure_route_table(ec2, &names, &vpc_id, "public").await?;
    ensure_default_route(ec2, &public_rt, &igw).await?;
    let isolated_rt = ensure_route_table(ec2, &names, &vpc_id, "isolated").await?;
    ensure_associations(ec2, &public_rt, &public).await?;
    ensure_associations(ec2, &isolated_rt, &isolated).await?;

    let lb = ensure_security_group(
        ec2,
        &names,
        &vpc_id,
        "lb",
        "vikunja load balancer: production 80 from CloudFront only, test 8080 from the VPC",
    )
    .await?;
    let app = ensure_security_group(
        ec2,
        &names,
        &vpc_id,
        "app",
        "vikunja API tasks: 3456 from the load balancer only",
    )
    .await?;
    let db = ensure_security_group(
        ec2,
        &names,
        &vpc_id,
        "db",
        "vikunja database: 3306 from the API tasks only",
    )
    .await?;
    let probe = ensure_security_group(
        ec2,
        &names,
        &vpc_id,
        "probe",
        "vikunja smoke-test probe: out to the test listener only, nothing in",
    )
    .await?;
    restrict_egress_to(ec2, &probe, TEST_PORT, cidr).await?;
    // The API is served through CloudFront; nobody may reach the load balancer around it.
    let cloudfront = cloudfront_origin_prefix_list(ec2).await?;
    allow_from_prefix_list(
        ec2,
        &lb,
        PROD_PORT,
        &cloudfront,
        "production listener: CloudFront only",
    )
    .await?;
    // The test listener serves green before it takes traffic: never from the internet.
    allow_from_cidr(ec2, &lb, TEST_PORT, cidr, "test listener, VPC only").await?;
    allow_from_group(ec2, &app, CONTAINER_PORT, &lb, "from the load balancer").await?;
    allow_from_group(ec2, &db, DB_PORT, &app, "from the API tasks").await?;

    info!(stack, vpc_id, "network ready");
    Ok(NetworkOutputs {
        vpc_id,
        vpc_cidr: cidr.to_string(),
        availability_zones: zones,
        public_subnet_ids: public,
        isolated_subnet_ids: isolated,
        internet_gateway_id: igw,
        public_route_table_id: public_rt,
        isolated_route_table_id: isolated_rt,
        lb_security_group_id: lb,
        app_security_group_id: app,
        db_security_group_id: db,
        probe_security_group_id: Some(probe),
    })
}

/// The first two available zones, in name order so every run picks the same two.
async fn two_zones(ec2: &Client) -> Result<Vec<String>> {
    let out = ec2
        .describe_availability_zones()
        .filters(filter("state", "available"))
        .filters(filter("zone-type", "availability-zone"))
        .send()
        .await
        .context("describe availability zones")?;
    let mut zones: Vec<String> = out
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    if zones.len() < 2 {
        return Err(Error::invalid(format!(
            "this region offers {} available zone(s); the stack needs two",
            zones.len()
        )));
    }
    zones.truncate(2);
    Ok(zones)
}

async fn ensure_vpc(ec2: &Client, names: &Names, cidr: &str) -> Result<String> {
    let stack = names.stack();
    let found = ec2
        .describe_vpcs()
        .filters(tag_filter(STACK, stack))
        .filters(tag_filter(tags::TIER, Tier::Network.as_str()))
        .send()
        .await
        .context(format!("find VPC of stack {stack}"))?;
    let vpc_id = match at_most_one(
        found.vpcs().to_vec(),
        &format!("VPCs tagged {STACK}={stack}"),
    )? {
        Some(vpc) => {
            let existing = vpc.cidr_block().unwrap_or_default();
            if existing != cidr {
                return Err(Error::conflict(format!(
                    "VPC {} of stack {stack} has CIDR {existing}, not {cidr}; a VPC's CIDR cannot change in place",
                    vpc.vpc_id().unwrap_or_default()
                )));
            }
            let id = vpc.vpc_id().ok_or_else(|| missing("a VPC id"))?.to_string();
            info!(vpc_id = id, "adopted VPC");
            id
        }
        None => {
            let created = ec2
                .create_vpc()
                .cidr_block(cidr)
                .tag_specifications(tag_spec(
                    ResourceType::Vpc,
                    tags::named(stack, Tier::Network, &names.vpc()),
                ))
                .send()
                .await
                .context(format!("create VPC {}", names.vpc()))?;
            let id = created
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| missing("the new VPC's id"))?
                .to_string();
            info!(vpc_id = id, "created VPC");
            id
        }
    };
    // Both attributes are set on every run: a crash between create and modify heals here.
    for hostnames in [false, true] {
        let on = AttributeBooleanValue::builder().value(true).build();
        let request = ec2.modify_vpc_attribute().vpc_id(&vpc_id);
        let request = if hostnames {
            request.enable_dns_hostnames(on)
        } else {
            request.enable_dns_support(on)
        };
        request
            .send()
            .await
            .context(format!("enable DNS on VPC {vpc_id}"))?;
    }
    Ok(vpc_id)
}

async fn ensure_subnet(
    ec2: &Client,
    names: &Names,
    vpc_id: &str,
    name: &str,
    cidr: &str,
    zone: &str,
) -> Result<String> {
    let found = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .filters(tag_filter(tags::NAME, name))
        .send()
        .await
        .context(format!("find subnet {name}"))?;
    if let Some(subnet) = at_most_one(found.subnets().to_vec(), &format!("subnets named {name}"))? {
        return adopt_subnet(subnet, name, cidr, zone);
    }
    let created = ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .availability_zone(zone)
        .tag_specifications(tag_spec(
            ResourceType::Subnet,
            tags::named(names.stack(), Tier::Network, name),
        ))
        .send()
        .await
        .context(format!("create subnet {name} ({cidr} in {zone})"))?;
    let id = created
        .subnet()
        .and_then(|s| s.subnet_id())
        .ok_or_else(|| missing("the new subnet's id"))?;
    info!(subnet_id = id, name, cidr, zone, "created subnet");
    Ok(id.to_string())
}

fn adopt_subnet(subnet: Subnet, name: &str, cidr: &str, zone: &str) -> Result<String> {
    let id = subnet.subnet_id().ok_or_else(|| missing("a subnet id"))?;
    if subnet.cidr_block() != Some(cidr) || subnet.availability_zone() != Some(zone) {
        return Err(Error::conflict(format!(
            "subnet {id} ({name}) is {} in {}, expected {cidr} in {zone}",
            subnet.cidr_block().unwrap_or("?"),
            subnet.availability_zone().unwrap_or("?")
        )));
    }
    Ok(id.to_string())
}

async fn ensure_internet_gateway(ec2: &Client, names: &Names, vpc_id: &str) -> Result<String> {
    let name = names.of(Tier::Network, "igw");
    let attached = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .context(format!("find internet gateway of {vpc_id}"))?;
    if let Some(igw) = attached.internet_gateways().first() {
        return Ok(igw
            .internet_gateway_id()
            .ok_or_else(|| missing("a gateway id"))?
            .to_string());
    }
    // A gateway created by a run that crashed before attaching it is adopted, not doubled.
    let tagged = ec2
        .describe_internet_gateways()
        .filters(tag_filter(STACK, names.stack()))
        .filters(tag_filter(tags::NAME, &name))
        .send()
        .await
        .context(format!("find internet gateway {name}"))?;
    let id = match at_most_one(
        tagged.internet_gateways().to_vec(),
        &format!("internet gateways named {name}"),
    )? {
        Some(igw) => igw
            .internet_gateway_id()
            .ok_or_else(|| missing("a gateway id"))?
            .to_string(),
        None => ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(
                ResourceType::InternetGateway,
                tags::named(names.stack(), Tier::Network, &name),
            ))
            .send()
            .await
            .context(format!("create internet gateway {name}"))?
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| missing("the new gateway's id"))?
            .to_string(),
    };
    ec2.attach_internet_gateway()
        .internet_gateway_id(&id)
        .vpc_id(vpc_id)
        .send()
        .await
        .context(format!("attach internet gateway {id} to {vpc_id}"))?;
    info!(
        internet_gateway_id = id,
        vpc_id, "internet gateway attached"
    );
    Ok(id)
}

async fn find_route_table(ec2: &Client, vpc_id: &str, name: &str) -> Result<Option<RouteTable>> {
    let found = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .filters(tag_filter(tags::NAME, name))
        .send()
        .await
        .context(format!("find route table {name}"))?;
    at_most_one(
        found.route_tables().to_vec(),
        &format!("route tables named {name}"),
    )
}

async fn ensure_route_table(
    ec2: &Client,
    names: &Names,
    vpc_id: &str,
    role: &str,
) -> Result<String> {
    let name = names.of(Tier::Network, role);
    if let Some(table) = find_route_table(ec2, vpc_id, &name).await? {
        return Ok(table
            .route_table_id()
            .ok_or_else(|| missing("a route table id"))?
            .to_string());
    }
    let created = ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .tag_specifications(tag_spec(
            ResourceType::RouteTable,
            tags::named(names.stack(), Tier::Network, &name),
        ))
        .send()
        .await
        .context(format!("create route table {name}"))?;
    let id = created
        .route_table()
        .and_then(|t| t.route_table_id())
        .ok_or_else(|| missing("the new route table's id"))?;
    info!(route_table_id = id, name, "created route table");
    Ok(id.to_string())
}

async fn ensure_default_route(ec2: &Client, route_table_id: &str, igw: &str) -> Result<()> {
    let result = ec2
        .create_route()
        .route_table_id(route_table_id)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(igw)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(ROUTE_EXISTS) => Ok(()),
        Err(e) => Err(e).context(format!("route 0.0.0.0/0 of {route_table_id} to {igw}")),
    }
}

async fn ensure_associations(ec2: &Client, route_table_id: &str, subnets: &[String]) -> Result<()> {
    let tables = ec2
        .describe_route_tables()
        .route_table_ids(route_table_id)
        .send()
        .await
        .context(format!("describe route table {route_table_id}"))?;
    let associated: Vec<&str> = tables
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .filter_map(|a| a.subnet_id())
        .collect();
    for subnet in subnets.iter().filter(|s| !associated.contains(&s.as_str())) {
        match ec2
            .associate_route_table()
            .route_table_id(route_table_id)
            .subnet_id(subnet)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some(ALREADY_ASSOCIATED) => {}
            Err(e) => return Err(e).context(format!("associate {subnet} with {route_table_id}")),
        }
    }
    Ok(())
}

use aws_sdk_ec2::error::ProvideErrorMetadata;

async fn find_security_group(
    ec2: &Client,
    vpc_id: &str,
    name: &str,
) -> Result<Option<SecurityGroup>> {
    let found = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", name))
        .send()
        .await
        .context(format!("find security group {name}"))?;
    at_most_one(
        found.security_groups().to_vec(),
        &format!("security groups named {name}"),
    )
}

async fn ensure_security_group(
    ec2: &Client,
    names: &Names,
    vpc_id: &str,
    role: &str,
    description: &str,
) -> Result<String> {
    let name = names.security_group(role);
    if let Some(group) = find_security_group(ec2, vpc_id, &name).await? {
        return Ok(group
            .group_id()
            .ok_or_else(|| missing("a security group id"))?
            .to_string());
    }
    let created = ec2
        .create_security_group()
        .group_name(&name)
        .description(description)
        .vpc_id(vpc_id)
        .tag_specifications(tag_spec(
            ResourceType::SecurityGroup,
            tags::named(names.stack(), Tier::Network, &name),
        ))
        .send()
        .await
        .context(format!("create security group {name}"))?;
    let id = created
        .group_id()
        .ok_or_else(|| missing("the new security group's id"))?;
    info!(group_id = id, name, "created security group");
    Ok(id.to_string())
}

async fn allow(ec2: &Client, group_id: &str, permission: IpPermission, what: String) -> Result<()> {
    match ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(DUPLICATE_PERMISSION) => Ok(()),
        Err(e) => Err(e).context(what),
    }
}

/// Replaces a new group's allow-all egress with one port to the VPC: the probe, inside the
/// VPC, may talk to the test listener and nothing else (no AWS API, no internet).
async fn restrict_egress_to(ec2: &Client, group_id: &str, port: i32, cidr: &str) -> Result<()> {
    let only = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .description("test listener")
                .build(),
        )
        .build();
    match ec2
        .authorize_security_group_egress()
        .group_id(group_id)
        .ip_permissions(only)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some(DUPLICATE_PERMISSION) => {}
        Err(e) => return Err(e).context(format!("allow tcp/{port} to {cidr} out of {group_id}")),
    }
    let everything = IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    match ec2
        .revoke_security_group_egress()
        .group_id(group_id)
        .ip_permissions(everything)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("InvalidPermission.NotFound") => Ok(()),
        Err(e) => Err(e).context(format!("revoke the allow-all egress of {group_id}")),
    }
}

/// AWS's managed list of CloudFront's origin-facing addresses (it counts as 55 rules
/// against the security group's quota of 60).
pub const CLOUDFRONT_ORIGIN_FACING: &str = "com.amazonaws.global.cloudfront.origin-facing";

async fn cloudfront_origin_prefix_list(ec2: &Client) -> Result<String> {
    let found = ec2
        .describe_managed_prefix_lists()
        .filters(filter("prefix-list-name", CLOUDFRONT_ORIGIN_FACING))
        .send()
        .await
        .context("find CloudFront's origin-facing prefix list")?;
    found
        .prefix_lists()
        .first()
        .and_then(|p| p.prefix_list_id())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid(format!(
                "this region has no managed prefix list {CLOUDFRONT_ORIGIN_FACING}"
            ))
        })
}

async fn allow_from_prefix_list(
    ec2: &Client,
    group_id: &str,
    port: i32,
    prefix_list: &str,
    why: &str,
) -> Result<()> {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(prefix_list)
                .description(why)
                .build(),
        )
        .build();
    allow(
        ec2,
        group_id,
        permission,
        format!("allow tcp/{port} from {prefix_list} into {group_id}"),
    )
    .await
}

async fn allow_from_cidr(
    ec2: &Client,
    group_id: &str,
    port: i32,
    cidr: &str,
    why: &str,
) -> Result<()> {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).description(why).build())
        .build();
    allow(
        ec2,
        group_id,
        permission,
        format!("allow tcp/{port} from {cidr} into {group_id}"),
    )
    .await
}

async fn allow_from_group(
    ec2: &Client,
    group_id: &str,
    port: i32,
    source: &str,
    why: &str,
) -> Result<()> {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(source)
                .description(why)
                .build(),
        )
        .build();
    allow(
        ec2,
        group_id,
        permission,
        format!("allow tcp/{port} from {source} into {group_id}"),
    )
    .await
}
