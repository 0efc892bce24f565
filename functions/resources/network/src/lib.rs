//! Network tier: a VPC over two availability zones with public subnets (load balancer and
//! Fargate tasks) and isolated subnets (database, no route to the internet), an internet
//! gateway, route tables, and the security-group chain lb → app (3456) → db (3306), plus
//! the probe's group (nothing in; out only to the test listener).
//!
//! [`observe`] is the one finder of every network resource kind; [`diff`] turns spec and
//! findings into plan items and [`Op`]s; [`apply`] carries the operations out.

mod apply;
mod diff;
pub mod ec2;
mod observe;
pub mod retire;
#[cfg(test)]
mod tests;

pub use apply::{apply, ensure, Applied, Patience};
pub use diff::Op;
pub use diff::{diff, Plan};
pub use observe::{observe, observe_interfaces, strangers_in, zones_and_prefix_list};

use aws_sdk_ec2::types::IpPermission;
use vikunja_core::names::{prod_port, CACHE_PORT, CONTAINER_PORT, DB_PORT, NFS_PORT, TEST_PORT};
use vikunja_core::settings::subnet_cidr;
use vikunja_core::{Names, Result};

use resources::found::{Identified, Seen};

/// Public subnets take the first two blocks of the VPC, isolated ones start halfway.
pub const PUBLIC_BLOCKS: [u32; 2] = [0, 1];
pub const ISOLATED_BLOCKS: [u32; 2] = [8, 9];
pub const SUBNET_ROLES: [&str; 2] = ["public", "isolated"];
pub const GROUP_ROLES: [&str; 6] = ["lb", "app", "db", "files", "cache", "probe"];

/// AWS's managed list of CloudFront's origin-facing addresses (it counts as 55 rules
/// against the security group's quota of 60).
pub const CLOUDFRONT_ORIGIN_FACING: &str = "com.amazonaws.global.cloudfront.origin-facing";

// -- the desired state ------------------------------------------------------------------------

/// What `up` wants of the network: plain data from the stack's name and `vpcCidr`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub cidr: String,
    /// For messages about the region (zones, prefix list).
    pub region: String,
    /// With an own domain the production listener is TLS on 443, and the load balancer's
    /// group admits CloudFront there instead of on 80.
    pub tls_listener: bool,
}

/// One subnet `up` wants.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetSpec {
    pub role: &'static str,
    pub index: usize,
    pub name: String,
    pub cidr: String,
}

/// Where a rule admits traffic from (ingress) or to (egress).
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    Cidr(String),
    /// CloudFront's origin-facing prefix list, resolved in the region.
    CloudFront,
    /// Another of the stack's groups, by role.
    Group(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub port: i32,
    pub peer: Peer,
    /// The rule's description on AWS: why it exists.
    pub why: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub role: &'static str,
    pub name: String,
    pub description: &'static str,
    pub ingress: Vec<RuleSpec>,
    /// `Some`: exactly these egress rules (AWS's allow-all is revoked); `None`: AWS's default.
    pub egress: Option<Vec<RuleSpec>>,
}

impl Spec {
    pub fn new(names: Names, cidr: &str, region: &str) -> Self {
        Self {
            names,
            cidr: cidr.to_string(),
            region: region.to_string(),
            tls_listener: false,
        }
    }

    pub fn with_tls_listener(mut self, tls: bool) -> Self {
        self.tls_listener = tls;
        self
    }

    pub fn stack(&self) -> &str {
        self.names.stack()
    }

    pub fn subnets(&self) -> Result<Vec<SubnetSpec>> {
        let mut subnets = Vec::new();
        for (role, blocks) in [("public", PUBLIC_BLOCKS), ("isolated", ISOLATED_BLOCKS)] {
            for (index, block) in blocks.iter().enumerate() {
                subnets.push(SubnetSpec {
                    role,
                    index,
                    name: self.names.subnet(role, index),
                    cidr: subnet_cidr(&self.cidr, *block)?,
                });
            }
        }
        Ok(subnets)
    }

    pub fn gateway_name(&self) -> String {
        self.names.of(vikunja_core::tags::Tier::Network, "igw")
    }

    pub fn route_table_name(&self, role: &str) -> String {
        self.names.of(vikunja_core::tags::Tier::Network, role)
    }

    /// The groups, in the order they are made (a rule names only groups made before it).
    pub fn groups(&self) -> Vec<GroupSpec> {
        let vpc = || Peer::Cidr(self.cidr.clone());
        let group = |role, description, ingress, egress| GroupSpec {
            role,
            name: self.names.security_group(role),
            description,
            ingress,
            egress,
        };
        vec![
            group(
                "lb",
                "vikunja load balancer: production 80 from CloudFront only, test 8080 from the VPC",
                vec![
                    // The API is served through CloudFront; nobody may reach the load balancer around it.
                    RuleSpec {
                        port: prod_port(self.tls_listener),
                        peer: Peer::CloudFront,
                        why: "production listener: CloudFront only",
                    },
                    // The test listener serves green before it takes traffic: never from the internet.
                    RuleSpec {
                        port: TEST_PORT,
                        peer: vpc(),
                        why: "test listener, VPC only",
                    },
                ],
                None,
            ),
            group(
                "app",
                "vikunja API tasks: 3456 from the load balancer only",
                vec![RuleSpec {
                    port: CONTAINER_PORT,
                    peer: Peer::Group("lb"),
                    why: "from the load balancer",
                }],
                None,
            ),
            group(
                "db",
                "vikunja database: 3306 from the API tasks only",
                vec![RuleSpec {
                    port: DB_PORT,
                    peer: Peer::Group("app"),
                    why: "from the API tasks",
                }],
                None,
            ),
            group(
                "files",
                "vikunja files (EFS mount targets): NFS 2049 from the API tasks only",
                vec![RuleSpec {
                    port: NFS_PORT,
                    peer: Peer::Group("app"),
                    why: "from the API tasks",
                }],
                None,
            ),
            // Made whether or not `sharedCache` is on (a group costs nothing), so the network
            // does not depend on that setting and turning it on later changes no group.
            group(
                "cache",
                "vikunja shared cache (ElastiCache Valkey): 6379 from the API tasks only",
                vec![RuleSpec {
                    port: CACHE_PORT,
                    peer: Peer::Group("app"),
                    why: "from the API tasks",
                }],
                None,
            ),
            // The probe, inside the VPC, may talk to the test listener and nothing else.
            group(
                "probe",
                "vikunja smoke-test probe: out to the test listener only, nothing in",
                vec![],
                Some(vec![RuleSpec {
                    port: TEST_PORT,
                    peer: vpc(),
                    why: "test listener",
                }]),
            ),
        ]
    }
}

// -- what the account has ---------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub cidr: String,
    pub zone: String,
    pub name: String,
    pub vpc_id: String,
}

/// A network interface in the stack's VPCs, whoever made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub id: String,
    pub subnet_id: String,
    pub description: String,
    /// Tagged with the stack.
    pub ours: bool,
    pub available: bool,
    /// Made and released by an AWS service (a load balancer, a task, a database).
    pub managed: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gateway {
    pub id: String,
    /// Attached to the stack's VPC.
    pub attached: bool,
    /// Every VPC it is attached to.
    pub attached_to: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteTable {
    pub id: String,
    /// Where `0.0.0.0/0` goes, if anywhere.
    pub default_route: Option<String>,
    pub name: String,
    pub vpc_id: String,
    /// (association id, subnet id) of its explicit subnet associations.
    pub associations: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub name: String,
    pub vpc_id: String,
    /// The ingress permissions as AWS holds them, for revoking them exactly.
    pub ingress_permissions: Vec<IpPermission>,
}

/// One permission: protocol, ports and one peer (CIDR, prefix list or group id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub protocol: String,
    pub from: i32,
    pub to: i32,
    pub source: String,
}

impl Rule {
    pub fn tcp(port: i32, peer: &str) -> Self {
        Self {
            protocol: "tcp".into(),
            from: port,
            to: port,
            source: peer.to_string(),
        }
    }

    pub fn show(&self) -> String {
        format!(
            "{} {}-{} to {}",
            self.protocol, self.from, self.to, self.source
        )
    }
}

macro_rules! identified {
    ($($t:ty),*) => {$(impl Identified for $t { fn id(&self) -> &str { &self.id } })*};
}
identified!(Vpc, Subnet, Gateway, RouteTable, SecurityGroup);

/// Everything of the stack's network, as found: every resource tagged with the stack and
/// the tier (several of a kind are all kept: teardown deletes them, `up` refuses them).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub gateways: Vec<Gateway>,
    pub route_tables: Vec<RouteTable>,
    pub groups: Vec<SecurityGroup>,
    /// Which route table each subnet of the stack's VPC is explicitly associated with
    /// (whoever owns the table).
    pub subnet_route_tables: std::collections::BTreeMap<String, String>,
}

/// The findings as the diff reads them: the one VPC, and what lives in it by name and role.
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub vpc: Seen<Vpc>,
    /// By name (`<stack>-network-public-a` …).
    pub subnets: std::collections::BTreeMap<String, Seen<Subnet>>,
    pub internet_gateway: Seen<Gateway>,
    /// By role: `public`, `isolated`.
    pub route_tables: std::collections::BTreeMap<String, Seen<RouteTable>>,
    /// Which route table each subnet of the VPC is explicitly associated with.
    pub subnet_route_tables: std::collections::BTreeMap<String, String>,
    /// By role: `lb`, `app`, `db`, `probe`.
    pub security_groups: std::collections::BTreeMap<String, Seen<SecurityGroup>>,
}

impl Network {
    /// The view of `found` for the spec's names: within the one VPC, each resource by name.
    pub fn view(found: &Found, names: &Names) -> Self {
        let vpc = Seen::from_matches(found.vpcs.clone());
        let Some(the_vpc) = vpc.found().cloned() else {
            return Network {
                vpc,
                ..Network::default()
            };
        };
        let in_vpc = |vpc_id: &str| vpc_id == the_vpc.id;
        let mut network = Network {
            vpc,
            subnet_route_tables: found.subnet_route_tables.clone(),
            ..Network::default()
        };
        for role in SUBNET_ROLES {
            for index in 0..2 {
                let name = names.subnet(role, index);
                let matches = found
                    .subnets
                    .iter()
                    .filter(|s| in_vpc(&s.vpc_id) && s.name == name)
                    .cloned()
                    .collect();
                network.subnets.insert(name, Seen::from_matches(matches));
            }
            let name = names.of(vikunja_core::tags::Tier::Network, role);
            let tables = found
                .route_tables
                .iter()
                .filter(|t| in_vpc(&t.vpc_id) && t.name == name)
                .cloned()
                .collect();
            network
                .route_tables
                .insert(role.to_string(), Seen::from_matches(tables));
        }
        // A gateway attached to the VPC is the one; else one made but never attached.
        let gateways: Vec<Gateway> = found
            .gateways
            .iter()
            .map(|g| Gateway {
                attached: g.attached_to.iter().any(|v| in_vpc(v)),
                ..g.clone()
            })
            .collect();
        let attached: Vec<Gateway> = gateways.iter().filter(|g| g.attached).cloned().collect();
        let loose: Vec<Gateway> = gateways
            .into_iter()
            .filter(|g| g.attached_to.is_empty())
            .collect();
        network.internet_gateway = if attached.is_empty() {
            Seen::from_matches(loose)
        } else {
            Seen::from_matches(attached)
        };
        for role in GROUP_ROLES {
            let name = names.security_group(role);
            let groups = found
                .groups
                .iter()
                .filter(|g| in_vpc(&g.vpc_id) && g.name == name)
                .cloned()
                .collect();
            network
                .security_groups
                .insert(role.to_string(), Seen::from_matches(groups));
        }
        network
    }

    /// The id of the one VPC, when there is exactly one.
    pub fn vpc_id(&self) -> Option<&str> {
        self.vpc.found().map(|v| v.id.as_str())
    }

    /// The subnets of `role`, when both exist.
    pub fn subnet_ids(&self, names: &Names, role: &str) -> Option<Vec<String>> {
        self.vpc.found()?;
        (0..2)
            .map(|i| {
                self.subnets
                    .get(&names.subnet(role, i))
                    .and_then(|s| s.found())
                    .map(|s| s.id.clone())
            })
            .collect()
    }

    pub fn group_id(&self, role: &str) -> Option<String> {
        self.vpc.found()?;
        self.security_groups
            .get(role)?
            .found()
            .map(|g| g.id.clone())
    }
}

/// The zones and prefix list of the region, as the network tier uses them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Region {
    /// Available zones, sorted by name (the tier takes the first two).
    pub zones: Vec<String>,
    pub cloudfront_prefix_list: Option<String>,
}
