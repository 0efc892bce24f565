//! Carries a network plan out. Creates that EC2 cannot make idempotent (VPC, gateway, route
//! table) are sent once, without the SDK's own retries: after a fault or an "already exists"
//! the stack's resources are looked up again, and what the earlier attempt made unseen is
//! adopted instead of made twice. Everything else is idempotent by its error class.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, PrefixListId, ResourceType, UserIdGroupPair,
};
use aws_sdk_ec2::Client;
use tracing::info;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, NetworkOutputs, Result, SdkContext};

use super::diff::{diff, Op, Plan};
use super::observe::{observe, zones_and_prefix_list};
use super::{Network, Peer, Region, Rule, RuleSpec, Spec};
use crate::ec2::tag_spec;
use resources::plan::Operation;

/// How long to keep at a call that AWS may answer before it has caught up with itself.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub attempts: u32,
    pub delay: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            attempts: 4,
            delay: Duration::from_secs(1),
        }
    }
}

/// What `up` did to the network: the outputs, and the operations carried out.
#[derive(Debug, Clone)]
pub struct Applied {
    pub outputs: NetworkOutputs,
    pub changes: Vec<String>,
}

/// Observe, diff, stop if the plan says `up` stops, else apply: the network as `plan` said.
pub async fn ensure(ec2: &Client, spec: &Spec, patience: Patience) -> Result<Applied> {
    let region = zones_and_prefix_list(ec2).await?;
    let found = observe(ec2, &spec.names).await?;
    let network = Network::view(&found, &spec.names);
    let plan = diff(spec, &region, &network);
    apply(ec2, spec, &region, &network, plan.runnable()?, patience).await
}

/// The ids of the stack's network, as found and as made by the operations so far.
#[derive(Debug, Default)]
struct Ids {
    vpc: Option<String>,
    subnets: BTreeMap<String, String>,
    gateway: Option<String>,
    tables: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
}

impl Ids {
    fn of(network: &Network) -> Self {
        let mut ids = Ids {
            vpc: network.vpc_id().map(str::to_string),
            gateway: network.internet_gateway.found().map(|g| g.id.clone()),
            ..Ids::default()
        };
        for (name, subnet) in &network.subnets {
            if let Some(subnet) = subnet.found() {
                ids.subnets.insert(name.clone(), subnet.id.clone());
            }
        }
        for (role, table) in &network.route_tables {
            if let Some(table) = table.found() {
                ids.tables.insert(role.clone(), table.id.clone());
            }
        }
        for (role, group) in &network.security_groups {
            if let Some(group) = group.found() {
                ids.groups.insert(role.clone(), group.id.clone());
            }
        }
        ids
    }

    fn vpc(&self) -> Result<&str> {
        self.vpc.as_deref().ok_or_else(|| missing("the VPC"))
    }
    fn gateway(&self) -> Result<&str> {
        self.gateway
            .as_deref()
            .ok_or_else(|| missing("the internet gateway"))
    }
    fn table(&self, role: &str) -> Result<&str> {
        self.tables
            .get(role)
            .map(String::as_str)
            .ok_or_else(|| missing(&format!("the {role} route table")))
    }
    fn subnet(&self, name: &str) -> Result<&str> {
        self.subnets
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| missing(&format!("subnet {name}")))
    }
    fn group(&self, role: &str) -> Result<&str> {
        self.groups
            .get(role)
            .map(String::as_str)
            .ok_or_else(|| missing(&format!("the {role} group")))
    }
}

fn missing(what: &str) -> Error {
    Error::conflict(format!(
        "the network plan needs {what}, which neither exists nor was made"
    ))
}

pub async fn apply(
    ec2: &Client,
    spec: &Spec,
    region: &Region,
    network: &Network,
    plan: &Plan,
    patience: Patience,
) -> Result<Applied> {
    let mut ids = Ids::of(network);
    let mut changes = Vec::new();
    let run = Run {
        ec2,
        spec,
        region,
        patience,
    };
    for op in &plan.ops {
        run.op(&mut ids, op).await?;
        let change = op.describe(&spec.names);
        info!(stack = spec.stack(), change, "applied");
        changes.push(change);
    }
    let names = &spec.names;
    let subnets = |role: &str| -> Result<Vec<String>> {
        (0..2)
            .map(|i| ids.subnet(&names.subnet(role, i)).map(str::to_string))
            .collect()
    };
    let outputs = NetworkOutputs {
        vpc_id: ids.vpc()?.to_string(),
        vpc_cidr: spec.cidr.clone(),
        availability_zones: region.zones.iter().take(2).cloned().collect(),
        public_subnet_ids: subnets("public")?,
        isolated_subnet_ids: subnets("isolated")?,
        internet_gateway_id: ids.gateway()?.to_string(),
        public_route_table_id: ids.table("public")?.to_string(),
        isolated_route_table_id: ids.table("isolated")?.to_string(),
        lb_security_group_id: ids.group("lb")?.to_string(),
        app_security_group_id: ids.group("app")?.to_string(),
        db_security_group_id: ids.group("db")?.to_string(),
        probe_security_group_id: Some(ids.group("probe")?.to_string()),
        files_security_group_id: Some(ids.group("files")?.to_string()),
        cache_security_group_id: Some(ids.group("cache")?.to_string()),
        changes: changes.clone(),
    };
    info!(
        stack = spec.stack(),
        vpc_id = outputs.vpc_id,
        changed = changes.len(),
        "network ready"
    );
    Ok(Applied { outputs, changes })
}

struct Run<'a> {
    ec2: &'a Client,
    spec: &'a Spec,
    region: &'a Region,
    patience: Patience,
}

/// Sends a create once, without the SDK's own retries, and reads the new id from the answer.
macro_rules! create_once {
    ($request:expr, $what:expr, |$out:ident| $id:expr) => {
        $request
            .customize()
            .config_override(once())
            .send()
            .await
            .context($what)
            .and_then(|$out| {
                let id: Option<&str> = $id;
                id.map(str::to_string)
                    .ok_or_else(|| answered_without($what))
            })
    };
}

/// Sends an idempotent request (with the SDK's retries); the answer's body is not needed.
macro_rules! sent {
    ($request:expr, $what:expr) => {
        $request.send().await.context($what).map(drop)
    };
}

impl Run<'_> {
    async fn op(&self, ids: &mut Ids, op: &Op) -> Result<()> {
        let ec2 = self.ec2;
        let stack = self.spec.stack();
        let what = op.describe(&self.spec.names);
        let what = what.as_str();
        let tagged =
            |resource, name: &str| tag_spec(resource, tags::named(stack, Tier::Network, name));
        match op {
            Op::CreateVpc { name, cidr } => {
                let create = || async {
                    let request = ec2
                        .create_vpc()
                        .cidr_block(cidr)
                        .tag_specifications(tagged(ResourceType::Vpc, name));
                    create_once!(request, what, |o| o.vpc().and_then(|v| v.vpc_id()))
                };
                let adopt = || async {
                    let found = observe(ec2, &self.spec.names).await?;
                    let seen = resources::Seen::from_matches(found.vpcs);
                    Ok(seen.at_most_one("VPCs of the stack")?.map(|v| v.id.clone()))
                };
                ids.vpc = Some(self.create_or_adopt(what, create, adopt).await?);
            }
            Op::EnableDns { hostnames } => {
                let vpc = ids.vpc()?;
                let on = || AttributeBooleanValue::builder().value(true).build();
                self.settle(what, || async {
                    let request = ec2.modify_vpc_attribute().vpc_id(vpc);
                    let request = if *hostnames {
                        request.enable_dns_hostnames(on())
                    } else {
                        request.enable_dns_support(on())
                    };
                    sent!(request, what)
                })
                .await?;
            }
            Op::CreateSubnet { name, cidr, zone } => {
                let vpc = ids.vpc()?;
                let create = || async {
                    let request = ec2
                        .create_subnet()
                        .vpc_id(vpc)
                        .cidr_block(cidr)
                        .availability_zone(zone)
                        .tag_specifications(tagged(ResourceType::Subnet, name));
                    create_once!(request, what, |o| o.subnet().and_then(|s| s.subnet_id()))
                };
                let adopt = || async {
                    let view = self.view().await?;
                    let seen = view.subnets.get(name).cloned().unwrap_or_default();
                    Ok(seen
                        .at_most_one(&format!("subnets named {name}"))?
                        .filter(|s| s.cidr == *cidr && s.zone == *zone)
                        .map(|s| s.id.clone()))
                };
                let id = self.create_or_adopt(what, create, adopt).await?;
                ids.subnets.insert(name.clone(), id);
            }
            Op::CreateGateway { name } => {
                let create = || async {
                    let request = ec2
                        .create_internet_gateway()
                        .tag_specifications(tagged(ResourceType::InternetGateway, name));
                    create_once!(request, what, |o| o
                        .internet_gateway()
                        .and_then(|g| g.internet_gateway_id()))
                };
                let adopt = || async {
                    let view = self.view().await?;
                    let what = format!("internet gateways named {name}");
                    Ok(view
                        .internet_gateway
                        .at_most_one(&what)?
                        .map(|g| g.id.clone()))
                };
                ids.gateway = Some(self.create_or_adopt(what, create, adopt).await?);
            }
            Op::AttachGateway => {
                let (gateway, vpc) = (ids.gateway()?, ids.vpc()?);
                let request = || {
                    ec2.attach_internet_gateway()
                        .internet_gateway_id(gateway)
                        .vpc_id(vpc)
                };
                self.settle(what, || async { sent!(request(), what) })
                    .await?;
            }
            Op::CreateRouteTable { role, name } => {
                let vpc = ids.vpc()?;
                let create = || async {
                    let request = ec2
                        .create_route_table()
                        .vpc_id(vpc)
                        .tag_specifications(tagged(ResourceType::RouteTable, name));
                    create_once!(request, what, |o| o
                        .route_table()
                        .and_then(|t| t.route_table_id()))
                };
                let adopt = || async {
                    let view = self.view().await?;
                    let seen = view.route_tables.get(*role).cloned().unwrap_or_default();
                    Ok(seen
                        .at_most_one(&format!("route tables named {name}"))?
                        .map(|t| t.id.clone()))
                };
                let id = self.create_or_adopt(what, create, adopt).await?;
                ids.tables.insert(role.to_string(), id);
            }
            Op::AddDefaultRoute => {
                let (table, gateway) = (ids.table("public")?, ids.gateway()?);
                let request = || {
                    ec2.create_route()
                        .route_table_id(table)
                        .destination_cidr_block("0.0.0.0/0")
                        .gateway_id(gateway)
                };
                self.settle(what, || async { sent!(request(), what) })
                    .await?;
            }
            Op::Associate { table, subnet } => {
                let (table, subnet) = (ids.table(table)?, ids.subnet(subnet)?);
                let request = || {
                    ec2.associate_route_table()
                        .route_table_id(table)
                        .subnet_id(subnet)
                };
                self.settle(what, || async { sent!(request(), what) })
                    .await?;
            }
            Op::CreateGroup {
                role,
                name,
                description,
            } => {
                let vpc = ids.vpc()?;
                let create = || async {
                    let request = ec2
                        .create_security_group()
                        .group_name(name)
                        .description(*description)
                        .vpc_id(vpc)
                        .tag_specifications(tagged(ResourceType::SecurityGroup, name));
                    create_once!(request, what, |o| o.group_id())
                };
                let adopt = || async {
                    let view = self.view().await?;
                    let seen = view.security_groups.get(*role).cloned().unwrap_or_default();
                    Ok(seen
                        .at_most_one(&format!("security groups named {name}"))?
                        .map(|g| g.id.clone()))
                };
                let id = self.create_or_adopt(what, create, adopt).await?;
                ids.groups.insert(role.to_string(), id);
            }
            Op::AllowIn { group, rule } => {
                let (group, permission) = (ids.group(group)?, self.permission(ids, rule)?);
                let request = || {
                    ec2.authorize_security_group_ingress()
                        .group_id(group)
                        .ip_permissions(permission.clone())
                };
                self.settle(what, || async { sent!(request(), what) })
                    .await?;
            }
            Op::AllowOut { group, rule } => {
                let (group, permission) = (ids.group(group)?, self.permission(ids, rule)?);
                let request = || {
                    ec2.authorize_security_group_egress()
                        .group_id(group)
                        .ip_permissions(permission.clone())
                };
                self.settle(what, || async { sent!(request(), what) })
                    .await?;
            }
            Op::RevokeOut { group, rule } => {
                let group = ids.group(group)?;
                let request = ec2
                    .revoke_security_group_egress()
                    .group_id(group)
                    .ip_permissions(observed_permission(rule));
                // Already gone (an earlier attempt, or never there) is what was wanted.
                match sent!(request, what) {
                    Err(e) if e.is(ErrorClass::NotFound) => {}
                    other => other?,
                }
            }
        }
        Ok(())
    }

    async fn view(&self) -> Result<Network> {
        let found = observe(self.ec2, &self.spec.names).await?;
        Ok(Network::view(&found, &self.spec.names))
    }

    /// Sends a create once; after a fault or an "already exists", what the stack has now
    /// is adopted when it answers to the same tags and name, and the create is tried again
    /// (after a fault) when nothing does.
    async fn create_or_adopt<C, CF, A, AF>(&self, what: &str, create: C, adopt: A) -> Result<String>
    where
        C: Fn() -> CF,
        CF: Future<Output = Result<String>>,
        A: Fn() -> AF,
        AF: Future<Output = Result<Option<String>>>,
    {
        let mut attempt = 1;
        loop {
            let error = match create().await {
                Ok(id) => return Ok(id),
                Err(e) if e.is(ErrorClass::AlreadyExists) || e.is_transient() => e,
                Err(e) => return Err(e),
            };
            if error.is_transient() {
                // AWS may have carried the create out; give its reads a moment to show it.
                tokio::time::sleep(self.patience.delay * attempt).await;
            }
            if let Some(id) = adopt().await? {
                info!(what, id, "adopted what an earlier attempt made");
                return Ok(id);
            }
            if !error.is_transient() || attempt >= self.patience.attempts {
                return Err(error);
            }
            attempt += 1;
        }
    }

    /// An idempotent call: "already exists" means done; "not found" right after the thing
    /// was made is AWS catching up, asked again a few times.
    async fn settle<F, Fut>(&self, what: &str, call: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is(ErrorClass::AlreadyExists) => return Ok(()),
                Err(e) if e.is(ErrorClass::NotFound) && attempt < self.patience.attempts => {
                    info!(what, attempt, "not visible yet; asking again");
                    tokio::time::sleep(self.patience.delay * attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn permission(&self, ids: &Ids, rule: &RuleSpec) -> Result<IpPermission> {
        let builder = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(rule.port)
            .to_port(rule.port);
        Ok(match &rule.peer {
            Peer::Cidr(cidr) => builder.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description(rule.why)
                    .build(),
            ),
            Peer::CloudFront => {
                let list = self
                    .region
                    .cloudfront_prefix_list
                    .as_deref()
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "this region has no managed prefix list {}",
                            super::CLOUDFRONT_ORIGIN_FACING
                        ))
                    })?;
                builder.prefix_list_ids(
                    PrefixListId::builder()
                        .prefix_list_id(list)
                        .description(rule.why)
                        .build(),
                )
            }
            Peer::Group(role) => builder.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(ids.group(role)?)
                    .description(rule.why)
                    .build(),
            ),
        }
        .build())
    }
}

/// A found rule as the permission that revokes exactly it.
fn observed_permission(rule: &Rule) -> IpPermission {
    let mut builder = IpPermission::builder().ip_protocol(&rule.protocol);
    if rule.protocol != "-1" {
        builder = builder.from_port(rule.from).to_port(rule.to);
    }
    let peer = rule.source.as_str();
    if peer.starts_with("pl-") {
        builder = builder.prefix_list_ids(PrefixListId::builder().prefix_list_id(peer).build());
    } else if peer.starts_with("sg-") {
        builder = builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(peer).build());
    } else {
        builder = builder.ip_ranges(IpRange::builder().cidr_ip(peer).build());
    }
    builder.build()
}

/// One attempt, no SDK retry: the caller looks before it tries again.
fn once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

fn answered_without(what: &str) -> Error {
    Error::aws(
        ErrorClass::Other,
        "EC2",
        format!("AWS answered without {what}"),
    )
}
