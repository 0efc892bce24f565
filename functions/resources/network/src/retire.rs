//! The network against nothing: what `down` deletes, keeps or cannot delete yet, and the
//! deletes themselves. A resource's fate follows from what still lives in it — a database
//! that stays keeps its subnets, route table and group; a load balancer or service still
//! standing blocks its side of the network until it is gone.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_sdk_ec2::Client;
use vikunja_core::tags::Tier;
use vikunja_core::teardown::{Failure, Kept, PlannedTier, Resource};
use vikunja_core::{Names, Result, SdkContext};

use resources::found::{delete_outcome, Outcome};

use super::{Found, Interface, SecurityGroup};

/// What stands in the network, found through the other tiers' own finders.
#[derive(Debug, Clone, Default)]
pub struct Tenants {
    pub database: Option<String>,
    pub load_balancer: Option<String>,
    pub service: Option<String>,
    /// The database stays because the operator said `--keep-data`.
    pub keep_data: bool,
}

/// What happens to one network resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    Delete,
    Keep(String),
    /// Cannot go while something outside this tier stands: (reason, hint).
    Blocked(String, String),
}

/// What the database needs, by the names the network tier gives: isolated subnets, their
/// route table and the `db` security group.
fn serves_database(names: &Names, name: &str) -> bool {
    let isolated = names.of(Tier::Network, "isolated");
    name == isolated
        || name.starts_with(&format!("{isolated}-"))
        || name == names.security_group("db")
}

fn serves_load_balancer(names: &Names, name: &str) -> bool {
    name.starts_with(&names.of(Tier::Network, "public-")) || name == names.security_group("lb")
}

fn serves_service(names: &Names, name: &str) -> bool {
    name.starts_with(&names.of(Tier::Network, "public-")) || name == names.security_group("app")
}

/// The fate of a subnet, security group or route table, from what still lives in it.
pub fn fate_of(names: &Names, tenants: &Tenants, name: &str) -> Fate {
    if let Some(db) = tenants
        .database
        .as_ref()
        .filter(|_| serves_database(names, name))
    {
        return Fate::Keep(if tenants.keep_data {
            format!("the kept database {db} lives in it (--keep-data)")
        } else {
            format!("database {db} stays (see the data tier), and lives in it")
        });
    }
    let blocked = |reason: String, what: &str, tier: &str| {
        let hint = format!(
            "once the {what} is deleted (see the {tier} tier), run `vikunja-aws down` again"
        );
        Fate::Blocked(reason, hint)
    };
    if let Some(lb) = tenants
        .load_balancer
        .as_ref()
        .filter(|_| serves_load_balancer(names, name))
    {
        let reason = format!("load balancer {lb} still uses it");
        return blocked(reason, "load balancer", "loadbalancer");
    }
    if let Some(service) = tenants
        .service
        .as_ref()
        .filter(|_| serves_service(names, name))
    {
        let reason = format!("ECS service {service} still runs in it");
        return blocked(reason, "service", "backend");
    }
    Fate::Delete
}

pub fn gateway_fate(tenants: &Tenants) -> Fate {
    match &tenants.load_balancer {
        Some(lb) => Fate::Blocked(
            format!("internet-facing load balancer {lb} still uses it"),
            "once the load balancer is deleted, run `vikunja-aws down` again".into(),
        ),
        None => Fate::Delete,
    }
}

/// A VPC goes only when nothing of ours stays in it; what stays says why.
pub fn vpc_fate(names: &Names, found: &Found, tenants: &Tenants, vpc: &str) -> Fate {
    let subnets = found.subnets.iter().map(|s| (&s.id, &s.name, &s.vpc_id));
    let groups = found.groups.iter().map(|g| (&g.id, &g.name, &g.vpc_id));
    let tables = found
        .route_tables
        .iter()
        .map(|t| (&t.id, &t.name, &t.vpc_id));
    let staying: Vec<(String, Fate)> = subnets
        .chain(groups)
        .chain(tables)
        .filter(|(_, _, in_vpc)| in_vpc.as_str() == vpc)
        .map(|(id, name, _)| (id.clone(), fate_of(names, tenants, name)))
        .filter(|(_, fate)| *fate != Fate::Delete)
        .collect();
    let ids: Vec<&str> = staying.iter().map(|(id, _)| id.as_str()).collect();
    match staying.first() {
        None => Fate::Delete,
        Some((_, Fate::Keep(why))) if staying.iter().all(|(_, f)| matches!(f, Fate::Keep(_))) => {
            Fate::Keep(format!("{} stay in it: {why}", ids.join(", ")))
        }
        Some(_) => Fate::Blocked(
            format!("{} must go first", ids.join(", ")),
            "run `vikunja-aws down` again once they are gone".into(),
        ),
    }
}

/// Teardown's plan of the network: every finding with its fate, in the order of deletion.
pub fn retire(
    names: &Names,
    found: &Found,
    interfaces: &[Interface],
    tenants: &Tenants,
) -> PlannedTier {
    let mut tier = PlannedTier {
        tier: "network".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut place = |kind: &str, id: &str, name: &str, fate: Fate| match fate {
        Fate::Delete => tier.delete.push(Resource {
            kind: kind.into(),
            id: if name.is_empty() {
                id.to_string()
            } else {
                format!("{id} ({name})")
            },
        }),
        Fate::Keep(reason) => tier.keep.push(Kept {
            kind: kind.into(),
            id: id.into(),
            reason,
        }),
        Fate::Blocked(reason, hint) => tier.refuse.push(Failure {
            kind: kind.into(),
            id: id.into(),
            reason,
            hint,
        }),
    };
    let fate = |name: &str| fate_of(names, tenants, name);
    for i in interfaces.iter().filter(|i| i.ours && i.available) {
        place("network interface", &i.id, "", Fate::Delete);
    }
    for g in &found.groups {
        place("security group", &g.id, &g.name, fate(&g.name));
    }
    for s in &found.subnets {
        place("subnet", &s.id, &s.name, fate(&s.name));
    }
    for t in &found.route_tables {
        place("route table", &t.id, &t.name, fate(&t.name));
    }
    for g in &found.gateways {
        place("internet gateway", &g.id, "", gateway_fate(tenants));
    }
    for v in &found.vpcs {
        place("vpc", &v.id, "", vpc_fate(names, found, tenants, &v.id));
    }
    tier
}

// -- the deletes: what is already gone counts as deleted ---------------------------------------

pub async fn delete_interface(ec2: &Client, id: &str) -> Result<Outcome> {
    let deleted = ec2.delete_network_interface().network_interface_id(id);
    delete_outcome(
        deleted
            .send()
            .await
            .context(format!("delete network interface {id}")),
    )
}

/// Revokes the ingress rules of `group` that name a group about to be deleted (AWS refuses
/// to delete a group another one refers to).
pub async fn revoke_references(
    ec2: &Client,
    group: &SecurityGroup,
    doomed: &BTreeSet<&str>,
) -> Result<()> {
    let revoke: Vec<IpPermission> = group
        .ingress_permissions
        .iter()
        .filter_map(|permission| {
            let pairs: Vec<UserIdGroupPair> = permission
                .user_id_group_pairs()
                .iter()
                .filter(|p| p.group_id().is_some_and(|id| doomed.contains(id)))
                .map(|p| {
                    let id = p.group_id().map(str::to_string);
                    UserIdGroupPair::builder().set_group_id(id).build()
                })
                .collect();
            (!pairs.is_empty()).then(|| {
                IpPermission::builder()
                    .set_ip_protocol(permission.ip_protocol().map(str::to_string))
                    .set_from_port(permission.from_port())
                    .set_to_port(permission.to_port())
                    .set_user_id_group_pairs(Some(pairs))
                    .build()
            })
        })
        .collect();
    if revoke.is_empty() {
        return Ok(());
    }
    let revoked = ec2
        .revoke_security_group_ingress()
        .group_id(&group.id)
        .set_ip_permissions(Some(revoke))
        .send()
        .await;
    let what = format!("revoke references in security group {}", group.name);
    delete_outcome(revoked.context(what)).map(|_| ())
}

pub async fn delete_security_group(ec2: &Client, group: &SecurityGroup) -> Result<Outcome> {
    let deleted = ec2.delete_security_group().group_id(&group.id).send().await;
    delete_outcome(deleted.context(format!("delete security group {}", group.name)))
}

pub async fn delete_subnet(ec2: &Client, id: &str, name: &str) -> Result<Outcome> {
    let deleted = ec2.delete_subnet().subnet_id(id).send().await;
    delete_outcome(deleted.context(format!("delete subnet {name}")))
}

/// Its associations with `ours` subnets first (another's subnet keeps its association, and
/// the delete then says so).
pub async fn delete_route_table(
    ec2: &Client,
    table: &super::RouteTable,
    ours: impl Fn(&str) -> bool,
) -> Result<Outcome> {
    for (association, subnet) in table.associations.iter().filter(|(_, s)| ours(s)) {
        let released = ec2
            .disassociate_route_table()
            .association_id(association)
            .send()
            .await;
        let what = format!("release route table {} from {subnet}", table.name);
        delete_outcome(released.context(what))?;
    }
    let deleted = ec2
        .delete_route_table()
        .route_table_id(&table.id)
        .send()
        .await;
    delete_outcome(deleted.context(format!("delete route table {}", table.name)))
}

pub async fn detach_gateway(ec2: &Client, id: &str, vpc: &str) -> Result<Outcome> {
    let detached = ec2
        .detach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await;
    delete_outcome(detached.context(format!("detach internet gateway {id} from {vpc}")))
}

pub async fn delete_gateway(ec2: &Client, id: &str) -> Result<Outcome> {
    let deleted = ec2.delete_internet_gateway().internet_gateway_id(id);
    delete_outcome(
        deleted
            .send()
            .await
            .context(format!("delete internet gateway {id}")),
    )
}

pub async fn delete_vpc(ec2: &Client, vpc: &str) -> Result<Outcome> {
    let deleted = ec2.delete_vpc().vpc_id(vpc).send().await;
    delete_outcome(deleted.context(format!("delete VPC {vpc}")))
}

#[cfg(test)]
mod tests {
    use super::super::{Gateway, RouteTable, Subnet, Vpc};
    use super::*;

    fn names() -> Names {
        Names::new("v")
    }

    fn stack() -> Found {
        let vpc_id = || "vpc-1".to_string();
        let subnet = |id: &str, name: &str| Subnet {
            id: id.into(),
            name: name.into(),
            vpc_id: vpc_id(),
            ..Subnet::default()
        };
        let table = |id: &str, name: &str| RouteTable {
            id: id.into(),
            name: name.into(),
            vpc_id: vpc_id(),
            ..RouteTable::default()
        };
        Found {
            vpcs: vec![Vpc {
                id: vpc_id(),
                ..Vpc::default()
            }],
            subnets: vec![
                subnet("subnet-p", "v-network-public-a"),
                subnet("subnet-i", "v-network-isolated-a"),
            ],
            groups: ["lb", "app", "db"]
                .iter()
                .map(|r| SecurityGroup {
                    id: format!("sg-{r}"),
                    name: format!("v-network-{r}"),
                    vpc_id: vpc_id(),
                    ..SecurityGroup::default()
                })
                .collect(),
            route_tables: vec![
                table("rtb-p", "v-network-public"),
                table("rtb-i", "v-network-isolated"),
            ],
            gateways: vec![Gateway {
                id: "igw-1".into(),
                attached_to: vec![vpc_id()],
                ..Gateway::default()
            }],
            ..Found::default()
        }
    }

    fn ids(resources: &[Resource]) -> Vec<String> {
        resources
            .iter()
            .map(|r| r.id.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn an_empty_network_goes_entirely() {
        let plan = retire(&names(), &stack(), &[], &Tenants::default());
        assert_eq!(
            ids(&plan.delete),
            vec![
                "sg-lb", "sg-app", "sg-db", "subnet-p", "subnet-i", "rtb-p", "rtb-i", "igw-1",
                "vpc-1"
            ]
        );
        assert!(plan.keep.is_empty() && plan.refuse.is_empty());
    }

    #[test]
    fn a_kept_database_keeps_what_it_lives_in() {
        let tenants = Tenants {
            database: Some("v-data-mysql".into()),
            keep_data: true,
            ..Tenants::default()
        };
        let plan = retire(&names(), &stack(), &[], &tenants);
        assert_eq!(
            ids(&plan.delete),
            vec!["sg-lb", "sg-app", "subnet-p", "rtb-p", "igw-1"]
        );
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(kept, vec!["sg-db", "subnet-i", "rtb-i", "vpc-1"]);
        assert!(
            plan.keep[3].reason.contains("--keep-data"),
            "{}",
            plan.keep[3].reason
        );
    }

    #[test]
    fn a_load_balancer_left_standing_blocks_its_side_of_the_network() {
        let tenants = Tenants {
            load_balancer: Some("v-nlb".into()),
            ..Tenants::default()
        };
        let plan = retire(&names(), &stack(), &[], &tenants);
        let refused: Vec<&str> = plan.refuse.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(refused, vec!["sg-lb", "subnet-p", "igw-1", "vpc-1"]);
        assert!(ids(&plan.delete).contains(&"subnet-i".to_string()));
    }

    #[test]
    fn only_our_available_interfaces_are_deleted() {
        let interface = |id: &str, ours: bool, available: bool| Interface {
            id: id.into(),
            subnet_id: "subnet-p".into(),
            description: String::new(),
            ours,
            available,
            managed: false,
        };
        let interfaces = [
            interface("eni-ours", true, true),
            interface("eni-busy", true, false),
            interface("eni-theirs", false, true),
        ];
        let plan = retire(&names(), &stack(), &interfaces, &Tenants::default());
        assert_eq!(ids(&plan.delete)[0], "eni-ours");
        assert!(!ids(&plan.delete)
            .iter()
            .any(|i| i == "eni-busy" || i == "eni-theirs"));
    }

    #[test]
    fn service_interfaces_are_recognised() {
        use super::super::observe::is_service_interface;
        assert!(is_service_interface("ELB net/v-nlb/50dc6c495c0c9188"));
        assert!(is_service_interface("RDSNetworkInterface"));
        assert!(!is_service_interface("my own interface"));
    }
}
