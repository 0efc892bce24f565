//! The pure half of `plan`: what each provisioning function would do with what was found.
//! No AWS here — the desired state comes from the settings, the stack's names and the tiers'
//! own code (subnet carving, the distribution config, the task definition's inputs, the
//! site bucket's policy, the alarms' dimensions), so it is unit-tested with made-up findings.
//!
//! Every comparison states how `up` treats a difference: it changes it in place on its next
//! run, it leaves the resource as it is (it sets that field only when it creates the
//! resource, or AWS refuses the change in place), or it stops with an error there.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde_json::{json, Value};
use vikunja_core::names::{
    CONTAINER_NAME, CONTAINER_PORT, DB_NAME, DB_PORT, DB_USER, PROD_PORT, TEST_PORT,
};
use vikunja_core::settings::subnet_cidr;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{DataOutputs, FrontendOutputs, Names, Settings};

use super::observe::{Observed, Rule, Seen};
use super::{Action, Difference, How, Item, TierPlan};

/// Alarm, scaling and log settings the tiers hard-code; `up` converges them on every run.
const LOG_RETENTION_DAYS: i32 = 30;
const SCALE_OUT_COOLDOWN: i32 = 60;
const SCALE_IN_COOLDOWN: i32 = 300;
const CPU_METRIC: &str = "ECSServiceAverageCPUUtilization";

/// What a value will be once `up` has created the thing it names.
fn new(what: &str) -> String {
    format!("(the new {what})")
}

/// Builds one item: each comparison is recorded as compared, each difference with how `up`
/// treats it.
struct Check {
    item: Item,
}

impl Check {
    fn existing(kind: &'static str, name: impl Into<String>, id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            item: Item {
                kind,
                name: name.into(),
                id: (!id.is_empty()).then_some(id),
                action: Action::Keep,
                detail: None,
                differences: Vec::new(),
                compared: Vec::new(),
                notes: Vec::new(),
            },
        }
    }

    fn compare(
        &mut self,
        field: &'static str,
        current: impl Display,
        desired: impl Display,
        how: How,
        fix: Option<String>,
    ) {
        let (current, desired) = (current.to_string(), desired.to_string());
        self.compared(field);
        if current != desired {
            self.differ(field, current, desired, how, fix);
        }
    }

    fn compared(&mut self, field: &'static str) {
        if !self.item.compared.contains(&field) {
            self.item.compared.push(field);
        }
    }

    fn differ(
        &mut self,
        field: impl Into<String>,
        current: impl Display,
        desired: impl Display,
        how: How,
        fix: Option<String>,
    ) {
        self.item.differences.push(Difference {
            field: field.into(),
            current: current.to_string(),
            desired: desired.to_string(),
            how,
            fix,
        });
    }

    fn note(&mut self, note: impl Into<String>) {
        self.item.notes.push(note.into());
    }

    fn done(mut self) -> Item {
        let hows: Vec<How> = self.item.differences.iter().map(|d| d.how).collect();
        self.item.action = if hows.iter().any(|h| *h != How::InPlace) {
            Action::CannotChangeInPlace
        } else if hows.is_empty() {
            Action::Keep
        } else {
            Action::Change
        };
        self.item
    }
}

fn create(kind: &'static str, name: impl Into<String>, detail: Option<String>) -> Item {
    Item {
        kind,
        name: name.into(),
        id: None,
        action: Action::Create,
        detail,
        differences: Vec::new(),
        compared: Vec::new(),
        notes: Vec::new(),
    }
}

/// Several resources answer to one name or tag: the tier refuses to guess.
fn ambiguous(kind: &'static str, name: impl Into<String>, count: usize, what: &str) -> Item {
    let mut check = Check::existing(kind, name, "");
    check.differ(
        "matches",
        format!("{count} {what}"),
        "one",
        How::UpStops,
        Some(format!(
            "up refuses to choose between {count} {what}: delete or untag the ones that are not this stack's"
        )),
    );
    check.done()
}

/// Everything the diff needs besides the findings.
pub struct Desired<'a> {
    pub settings: &'a Settings,
    pub names: Names,
    pub account: &'a str,
    pub region: &'a str,
}

pub fn tiers(desired: &Desired, observed: &Observed) -> Vec<TierPlan> {
    let mut plans = vec![
        TierPlan::new(Tier::Network, network(desired, observed)),
        TierPlan::new(Tier::Data, data(desired, observed)),
        TierPlan::new(Tier::LoadBalancer, loadbalancer(desired, observed)),
        TierPlan::new(Tier::Frontend, frontend(desired, observed)),
        TierPlan::new(Tier::Backend, backend(desired, observed)),
        TierPlan::new(Tier::Delivery, delivery(desired, observed)),
    ];
    for plan in &mut plans {
        let record = inventory(desired, observed, plan);
        plan.items.push(record);
    }
    plans
}

// ---------------------------------------------------------------------------------------
// network

fn vpc_cidr_fix(current: &str) -> String {
    format!(
        "AWS cannot change a VPC's range, and up stops at the network tier. Keep vpcCidr at {current}; \
         a new range means a new network: provision another stack (--stack) and move the data, or tear \
         this one down (`vikunja-aws down --delete-data`, after a snapshot) and run up again"
    )
}

fn network(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let cidr = &d.settings.vpc_cidr;
    let seen = &o.network;
    let mut items = Vec::new();
    if o.zones.len() < 2 {
        let mut check = Check::existing("availability-zones", d.region, "");
        check.differ(
            "available zones",
            o.zones.len(),
            2,
            How::UpStops,
            Some(format!(
                "the network tier needs two available zones and {} offers {}: use another region",
                d.region,
                o.zones.len()
            )),
        );
        items.push(check.done());
    }

    let vpc = match &seen.vpc {
        Seen::Absent => {
            items.push(create("vpc", names.vpc(), Some(cidr.clone())));
            None
        }
        Seen::Many(n) => {
            items.push(ambiguous(
                "vpc",
                names.vpc(),
                *n,
                &format!("VPCs tagged {}={}", tags::STACK, names.stack()),
            ));
            None
        }
        Seen::Found(vpc) => {
            let mut check = Check::existing("vpc", names.vpc(), &vpc.id);
            check.compare(
                "cidr (vpcCidr)",
                &vpc.cidr,
                cidr,
                How::UpStops,
                Some(vpc_cidr_fix(&vpc.cidr)),
            );
            check.compare(
                "enableDnsSupport",
                vpc.dns_support,
                true,
                How::InPlace,
                None,
            );
            check.compare(
                "enableDnsHostnames",
                vpc.dns_hostnames,
                true,
                How::InPlace,
                None,
            );
            items.push(check.done());
            Some(vpc)
        }
    };

    // Subnets: two public, two isolated, one of each per zone.
    let mut subnet_ids: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    for (role, blocks) in [
        ("public", network::handler::PUBLIC_BLOCKS),
        ("isolated", network::handler::ISOLATED_BLOCKS),
    ] {
        for (index, block) in blocks.iter().enumerate() {
            let name = names.subnet(role, index);
            let want_cidr = subnet_cidr(cidr, *block).unwrap_or_else(|e| e.to_string());
            let want_zone = o.zones.get(index).cloned().unwrap_or_else(|| "?".into());
            let found = if vpc.is_some() {
                seen.subnets.get(&name).cloned().unwrap_or_default()
            } else {
                Seen::Absent
            };
            let id = match found {
                Seen::Absent => {
                    items.push(create(
                        "subnet",
                        &name,
                        Some(format!("{want_cidr} in {want_zone}")),
                    ));
                    None
                }
                Seen::Many(n) => {
                    items.push(ambiguous(
                        "subnet",
                        &name,
                        n,
                        &format!("subnets named {name}"),
                    ));
                    None
                }
                Seen::Found(subnet) => {
                    let mut check = Check::existing("subnet", &name, &subnet.id);
                    let fix = format!(
                        "AWS cannot change a subnet's range or zone, and up stops at the network tier: \
                         keep the settings that made {} ({} in {}), or delete it (and what runs in it) and run up",
                        subnet.id, subnet.cidr, subnet.zone
                    );
                    check.compare(
                        "cidr",
                        &subnet.cidr,
                        &want_cidr,
                        How::UpStops,
                        Some(fix.clone()),
                    );
                    check.compare("zone", &subnet.zone, &want_zone, How::UpStops, Some(fix));
                    items.push(check.done());
                    Some(subnet.id.clone())
                }
            };
            subnet_ids.entry(role).or_default().push(id);
        }
    }

    let gateway_name = names.of(Tier::Network, "igw");
    let gateway = match (vpc, &seen.internet_gateway) {
        (None, _) | (_, Seen::Absent) => {
            items.push(create("internet-gateway", &gateway_name, None));
            None
        }
        (_, Seen::Many(n)) => {
            items.push(ambiguous(
                "internet-gateway",
                &gateway_name,
                *n,
                &format!("internet gateways named {gateway_name}"),
            ));
            None
        }
        (Some(vpc), Seen::Found(gateway)) => {
            let mut check = Check::existing("internet-gateway", &gateway_name, &gateway.id);
            let attached = |yes: bool| {
                if yes {
                    format!("attached to {}", vpc.id)
                } else {
                    "detached".to_string()
                }
            };
            check.compare(
                "attachment",
                attached(gateway.attached),
                attached(true),
                How::InPlace,
                None,
            );
            items.push(check.done());
            Some(gateway.id.clone())
        }
    };

    for role in ["public", "isolated"] {
        let name = names.of(Tier::Network, role);
        let table = if vpc.is_some() {
            seen.route_tables.get(role).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        match table {
            Seen::Absent => items.push(create(
                "route-table",
                &name,
                Some(if role == "public" {
                    "0.0.0.0/0 → the internet gateway; the public subnets".into()
                } else {
                    "no route to the internet; the isolated subnets".into()
                }),
            )),
            Seen::Many(n) => items.push(ambiguous(
                "route-table",
                &name,
                n,
                &format!("route tables named {name}"),
            )),
            Seen::Found(table) => {
                let mut check = Check::existing("route-table", &name, &table.id);
                let current = table.default_route.clone().unwrap_or_else(|| "none".into());
                if role == "public" {
                    let want = gateway.clone().unwrap_or_else(|| new("internet gateway"));
                    let how = if table.default_route.is_none() {
                        How::InPlace
                    } else {
                        How::UpLeavesIt
                    };
                    check.compare(
                        "route 0.0.0.0/0",
                        &current,
                        &want,
                        how,
                        Some(format!(
                            "up adds the route only when there is none: aws ec2 replace-route --route-table-id {} \
                             --destination-cidr-block 0.0.0.0/0 --gateway-id {want}",
                            table.id
                        )),
                    );
                } else {
                    check.compare(
                        "route 0.0.0.0/0",
                        &current,
                        "none",
                        How::UpLeavesIt,
                        Some(format!(
                            "the database's subnets must not reach the internet, and up never removes a route: \
                             aws ec2 delete-route --route-table-id {} --destination-cidr-block 0.0.0.0/0",
                            table.id
                        )),
                    );
                }
                for (index, subnet) in subnet_ids.get(role).into_iter().flatten().enumerate() {
                    let subnet_name = names.subnet(role, index);
                    let field = "association";
                    check.compared(field);
                    match subnet.as_ref().map(|id| (id, seen.subnet_route_tables.get(id))) {
                        None => check.differ(
                            format!("association {subnet_name}"),
                            "none",
                            new("subnet"),
                            How::InPlace,
                            None,
                        ),
                        Some((_, Some(current))) if *current == table.id => {}
                        Some((_, None)) => check.differ(
                            format!("association {subnet_name}"),
                            "the VPC's main table",
                            &table.id,
                            How::InPlace,
                            None,
                        ),
                        Some((id, Some(other))) => check.differ(
                            format!("association {subnet_name}"),
                            other,
                            &table.id,
                            How::UpLeavesIt,
                            Some(format!(
                                "a subnet has one route table and up does not move it: \
                                 aws ec2 replace-route-table-association (the association of {id} with {other})"
                            )),
                        ),
                    }
                }
                items.push(check.done());
            }
        }
    }

    let group_id = |role: &str| match seen.security_groups.get(role) {
        Some(Seen::Found(group)) if vpc.is_some() => Some(group.id.clone()),
        _ => None,
    };
    let (lb_group, app_group) = (group_id("lb"), group_id("app"));
    // Past the VPC, its range is the setting's: a different one stops up before the rules.
    let vpc_range = vpc.map(|v| v.cidr.clone()).unwrap_or_else(|| cidr.clone());
    for role in ["lb", "app", "db"] {
        let name = names.security_group(role);
        let wanted: Vec<(i32, Option<String>, String)> = match role {
            "lb" => vec![
                (
                    PROD_PORT,
                    o.cloudfront_prefix_list.clone(),
                    "CloudFront's origin-facing prefix list".into(),
                ),
                (TEST_PORT, Some(vpc_range.clone()), vpc_range.clone()),
            ],
            "app" => vec![(
                CONTAINER_PORT,
                Some(lb_group.clone().unwrap_or_else(|| new("lb group"))),
                "the lb group".into(),
            )],
            _ => vec![(
                DB_PORT,
                Some(app_group.clone().unwrap_or_else(|| new("app group"))),
                "the app group".into(),
            )],
        };
        let found = if vpc.is_some() {
            seen.security_groups.get(role).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        match found {
            Seen::Absent => {
                let rules: Vec<String> = wanted
                    .iter()
                    .map(|(port, _, from)| format!("tcp/{port} from {from}"))
                    .collect();
                let mut item = create("security-group", &name, Some(rules.join("; ")));
                if wanted.iter().any(|(_, source, _)| source.is_none()) {
                    item.action = Action::CannotChangeInPlace;
                    item.differences.push(no_prefix_list(d.region));
                }
                items.push(item);
            }
            Seen::Many(n) => items.push(ambiguous(
                "security-group",
                &name,
                n,
                &format!("security groups named {name}"),
            )),
            Seen::Found(group) => {
                let mut check = Check::existing("security-group", &name, &group.id);
                check.compared("ingress");
                for (port, source, _) in &wanted {
                    let Some(source) = source else {
                        let missing = no_prefix_list(d.region);
                        check.item.differences.push(missing);
                        continue;
                    };
                    let rule = Rule {
                        protocol: "tcp".into(),
                        from: *port,
                        to: *port,
                        source: source.clone(),
                    };
                    if !group.ingress.contains(&rule) {
                        check.differ(
                            format!("ingress tcp/{port}"),
                            "absent",
                            format!("from {source}"),
                            How::InPlace,
                            None,
                        );
                    }
                }
                items.push(check.done());
            }
        }
    }
    items
}

fn no_prefix_list(region: &str) -> Difference {
    Difference {
        field: "ingress tcp/80".into(),
        current: "absent".into(),
        desired: format!("from {}", network::handler::CLOUDFRONT_ORIGIN_FACING),
        how: How::UpStops,
        fix: Some(format!(
            "{region} has no managed prefix list {}: the production listener could not be limited to CloudFront; use another region",
            network::handler::CLOUDFRONT_ORIGIN_FACING
        )),
    }
}

fn found_subnets(d: &Desired, o: &Observed, role: &str) -> Option<Vec<String>> {
    o.network.vpc.found()?;
    (0..2)
        .map(|i| {
            o.network
                .subnets
                .get(&d.names.subnet(role, i))
                .and_then(|s| s.found())
                .map(|s| s.id.clone())
        })
        .collect()
}

fn found_group(o: &Observed, role: &str) -> Option<String> {
    o.network.vpc.found()?;
    o.network
        .security_groups
        .get(role)?
        .found()
        .map(|g| g.id.clone())
}

// ---------------------------------------------------------------------------------------
// data

fn data(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let settings = d.settings;
    let seen = &o.data;
    let mut items = Vec::new();

    let group = names.db_subnet_group();
    match &seen.subnet_group {
        None => items.push(create(
            "db-subnet-group",
            &group,
            Some("the isolated subnets".into()),
        )),
        Some(subnets) => {
            let mut check = Check::existing("db-subnet-group", &group, "");
            let want = match found_subnets(d, o, "isolated") {
                Some(mut ids) => {
                    ids.sort();
                    ids.join(", ")
                }
                None => new("isolated subnets"),
            };
            check.compare("subnets", subnets.join(", "), want, How::InPlace, None);
            items.push(check.done());
        }
    }

    let secret = names.service_secret();
    match &seen.service_secret {
        None => items.push(create(
            "secret",
            &secret,
            Some("generated VIKUNJA_SERVICE_SECRET".into()),
        )),
        Some(found) => {
            let mut check = Check::existing("secret", &secret, &found.arn);
            let state = |scheduled: bool| {
                if scheduled {
                    "scheduled for deletion"
                } else {
                    "active"
                }
            };
            check.compare(
                "deletion",
                state(found.scheduled_for_deletion),
                state(false),
                How::InPlace,
                None,
            );
            items.push(check.done());
        }
    }

    let id = names.db_instance();
    let protection = |on: bool| if on { "on" } else { "off" };
    match &seen.database {
        None => items.push(create(
            "database",
            &id,
            Some(format!(
                "mysql {}, {} GiB gp3, encrypted, private, deletion protection {}",
                settings.db_instance_class,
                settings.db_allocated_storage,
                protection(settings.db_deletion_protection)
            )),
        )),
        Some(db) => {
            let mut check = Check::existing("database", &id, &id);
            check.compare(
                "tag vikunja:stack",
                if db.ours { names.stack() } else { "(not this stack's)" },
                names.stack(),
                How::UpStops,
                Some(format!("up refuses to adopt database {id}: it is not tagged {}={}; rename or remove it", tags::STACK, names.stack())),
            );
            check.compare(
                "publiclyAccessible",
                db.public,
                false,
                How::UpStops,
                Some(format!("up refuses a public database: aws rds modify-db-instance --db-instance-identifier {id} --no-publicly-accessible --apply-immediately")),
            );
            check.compare(
                "storageEncrypted",
                db.encrypted,
                true,
                How::UpStops,
                Some("AWS cannot encrypt a database in place, and up refuses an unencrypted one: snapshot it, copy the snapshot with encryption, restore it under this name".into()),
            );
            check.compared("status");
            if FAILED_DATABASE_STATUSES.contains(&db.status.as_str()) {
                check.differ(
                    "status",
                    &db.status,
                    "available",
                    How::UpStops,
                    Some(format!(
                        "database {id} needs attention in the RDS console before up can continue"
                    )),
                );
            }
            check.compare(
                "engine",
                &db.engine,
                "mysql",
                How::UpLeavesIt,
                Some("AWS cannot change a database's engine: dump the data and restore it into a new MySQL database".into()),
            );
            check.compare(
                "class (dbInstanceClass)",
                &db.class,
                &settings.db_instance_class,
                How::UpLeavesIt,
                Some(format!(
                    "up sets the class only when it creates the database. AWS changes it in place (a restart, minutes of downtime): \
                     aws rds modify-db-instance --db-instance-identifier {id} --db-instance-class {} --apply-immediately",
                    settings.db_instance_class
                )),
            );
            let storage_fix = if settings.db_allocated_storage < db.storage {
                format!(
                    "AWS cannot shrink a database's storage: keep dbAllocatedStorage at {} or more, or dump and restore into a new database",
                    db.storage
                )
            } else {
                format!(
                    "up sets the storage only when it creates the database. AWS grows it in place: \
                     aws rds modify-db-instance --db-instance-identifier {id} --allocated-storage {} --apply-immediately",
                    settings.db_allocated_storage
                )
            };
            check.compare(
                "allocatedStorage GiB (dbAllocatedStorage)",
                db.storage,
                settings.db_allocated_storage,
                How::UpLeavesIt,
                Some(storage_fix),
            );
            check.compare(
                "deletionProtection (dbDeletionProtection)",
                protection(db.deletion_protection),
                protection(settings.db_deletion_protection),
                How::UpLeavesIt,
                Some(format!(
                    "up sets it only when it creates the database: aws rds modify-db-instance --db-instance-identifier {id} --{}deletion-protection",
                    if settings.db_deletion_protection { "" } else { "no-" }
                )),
            );
            items.push(check.done());
        }
    }
    items
}

/// Statuses from which the database will not become available without someone acting
/// (the data tier's list).
const FAILED_DATABASE_STATUSES: &[&str] = &[
    "failed",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
    "storage-full",
    "deleting",
];

// ---------------------------------------------------------------------------------------
// load balancer

fn loadbalancer(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let seen = &o.loadbalancer;
    let mut items = Vec::new();
    let name = names.load_balancer();
    match &seen.nlb {
        None => items.push(create(
            "load-balancer",
            &name,
            Some("Network Load Balancer, internet-facing, in the public subnets".into()),
        )),
        Some(lb) => {
            let mut check = Check::existing("load-balancer", &name, &lb.arn);
            let fix = format!("up adopts only this stack's Network Load Balancer under the name {name}: rename or remove the one there");
            check.compare(
                "tag vikunja:stack",
                if lb.ours {
                    names.stack()
                } else {
                    "(not this stack's)"
                },
                names.stack(),
                How::UpStops,
                Some(fix.clone()),
            );
            check.compare(
                "type",
                if lb.network { "network" } else { "not network" },
                "network",
                How::UpStops,
                Some(fix),
            );
            items.push(check.done());
        }
    }
    let vpc = o
        .network
        .vpc
        .found()
        .map(|v| v.id.clone())
        .unwrap_or_else(|| new("VPC"));
    for colour in ["blue", "green"] {
        let name = names.target_group(colour);
        match seen.target_groups.get(colour) {
            None => items.push(create(
                "target-group",
                &name,
                Some(format!(
                    "TCP {CONTAINER_PORT}, target type ip, health check HTTP /health"
                )),
            )),
            Some(group) => {
                let mut check = Check::existing("target-group", &name, &group.arn);
                check.compare(
                    "tag vikunja:stack",
                    if group.ours { names.stack() } else { "(not this stack's)" },
                    names.stack(),
                    How::UpStops,
                    Some(format!("target group {name} exists but is not tagged for this stack, and up refuses it: rename or remove it")),
                );
                let fix = Some(format!(
                    "AWS cannot change a target group's port, protocol, target type or VPC, and up adopts {name} as it is: \
                     replacing it means replacing what uses it (listeners, service, deployment group) — in practice \
                     `vikunja-aws down` and `up`"
                ));
                check.compare(
                    "port",
                    group.port.map(|p| p.to_string()).unwrap_or_default(),
                    CONTAINER_PORT,
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare(
                    "protocol",
                    &group.protocol,
                    "TCP",
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare(
                    "targetType",
                    &group.target_type,
                    "ip",
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare("vpc", &group.vpc_id, &vpc, How::UpLeavesIt, fix);
                items.push(check.done());
            }
        }
    }
    for port in [PROD_PORT, TEST_PORT] {
        let name = format!("{}:{port}", names.load_balancer());
        let role = if port == PROD_PORT {
            "production"
        } else {
            "test"
        };
        match seen.listeners.get(&port) {
            Some(arn) if seen.nlb.is_some() => {
                let mut check = Check::existing("listener", &name, arn);
                check.note(format!("the {role} listener's target group (blue or green) is CodeDeploy's to switch: not compared"));
                items.push(check.done());
            }
            _ => items.push(create(
                "listener",
                &name,
                Some(format!("{role}, TCP, forwards to blue")),
            )),
        }
    }
    items
}

// ---------------------------------------------------------------------------------------
// frontend

fn frontend(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let seen = &o.frontend;
    let mut items = Vec::new();
    let site = names.site_bucket(d.account, d.region);
    let uploads = names.uploads_bucket(d.account, d.region);
    let standard_tags: Vec<String> = tags::standard(names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for (role, bucket) in [("site", &site), ("uploads", &uploads)] {
        let Some(found) = seen.buckets.get(role) else {
            items.push(create(
                "bucket",
                bucket,
                Some(if role == "site" {
                    "private, encrypted, readable only by the distribution".into()
                } else {
                    "private, encrypted, uploads sent to EventBridge".into()
                }),
            ));
            continue;
        };
        let mut check = Check::existing("bucket", bucket, "");
        if found.foreign {
            check.differ(
                "owner",
                "another account",
                d.account,
                How::UpStops,
                Some("bucket names are global and another account has this one: use another stack name".into()),
            );
            items.push(check.done());
            continue;
        }
        let block = |b: Option<[bool; 4]>| match b {
            None => "none".to_string(),
            Some(flags) if flags.iter().all(|f| *f) => "all four on".to_string(),
            Some(flags) => {
                let labels = [
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ];
                let off: Vec<&str> = labels
                    .iter()
                    .zip(flags)
                    .filter(|(_, on)| !on)
                    .map(|(l, _)| *l)
                    .collect();
                format!("off: {}", off.join(", "))
            }
        };
        check.compare(
            "publicAccessBlock",
            block(found.public_access_block),
            block(Some([true; 4])),
            How::InPlace,
            None,
        );
        check.compare(
            "objectOwnership",
            found.ownership.as_deref().unwrap_or("none"),
            "BucketOwnerEnforced",
            How::InPlace,
            None,
        );
        check.compare(
            "encryption",
            found.encryption.as_deref().unwrap_or("none"),
            "AES256",
            How::InPlace,
            None,
        );
        check.compare(
            "bucketKey",
            found.bucket_key.unwrap_or(false),
            true,
            How::InPlace,
            None,
        );
        let current_tags: Vec<String> =
            found.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let shown = |tags: &[String]| {
            if tags.is_empty() {
                "none".to_string()
            } else {
                tags.join(", ")
            }
        };
        check.compare(
            "tags",
            shown(&current_tags),
            shown(&standard_tags),
            How::InPlace,
            None,
        );
        if role == "uploads" {
            check.compare("eventBridge", found.eventbridge, true, How::InPlace, None);
        } else {
            check.compared("policy");
            match &seen.distribution {
                Some(dist) => {
                    let want = frontend::buckets::site_policy(bucket, &dist.arn);
                    if found.policy.as_ref() != Some(&want) {
                        check.differ(
                            "policy",
                            describe_policy(found.policy.as_ref()),
                            describe_policy(Some(&want)),
                            How::InPlace,
                            None,
                        );
                    }
                }
                None => check.differ(
                    "policy",
                    describe_policy(found.policy.as_ref()),
                    "readable by the new distribution",
                    How::InPlace,
                    None,
                ),
            }
        }
        items.push(check.done());
    }

    let oac_name = names.origin_access_control();
    match &seen.origin_access_control {
        None => items.push(create(
            "origin-access-control",
            &oac_name,
            Some("S3, SigV4, always sign".into()),
        )),
        Some(oac) => {
            let mut check = Check::existing("origin-access-control", &oac_name, &oac.id);
            let fix = Some(format!(
                "up adopts the origin access control named {oac_name} as it is and never updates it: \
                 aws cloudfront update-origin-access-control --id {} (type s3, signing always, sigv4), or delete it and run up",
                oac.id
            ));
            check.compare(
                "originType",
                &oac.origin_type,
                "s3",
                How::UpLeavesIt,
                fix.clone(),
            );
            check.compare(
                "signingBehavior",
                &oac.signing_behavior,
                "always",
                How::UpLeavesIt,
                fix.clone(),
            );
            check.compare(
                "signingProtocol",
                &oac.signing_protocol,
                "sigv4",
                How::UpLeavesIt,
                fix,
            );
            items.push(check.done());
        }
    }

    let function_name = names.spa_function();
    match &seen.function {
        None => items.push(create(
            "cloudfront-function",
            &function_name,
            Some("SPA fallback, viewer request, published".into()),
        )),
        Some(function) => {
            let mut check = Check::existing("cloudfront-function", &function_name, &function.arn);
            check.compare(
                "stage",
                if function.live {
                    "LIVE"
                } else {
                    "DEVELOPMENT only"
                },
                "LIVE",
                How::InPlace,
                None,
            );
            if let Some(code) = &function.code {
                check.compare(
                    "code",
                    if code.trim() == frontend::distribution::SPA_FALLBACK_JS.trim() { "this version's" } else { "another version" },
                    "this version's",
                    How::UpLeavesIt,
                    Some(format!(
                        "up never updates an existing function's code: aws cloudfront update-function --name {function_name} \
                         (code from functions/frontend/src/spa_fallback.js), then aws cloudfront publish-function"
                    )),
                );
            }
            items.push(check.done());
        }
    }

    let comment = names.distribution_comment();
    match &seen.distribution {
        None => items.push(create(
            "distribution",
            &comment,
            Some("the site bucket through OAC; /api/* → the load balancer".into()),
        )),
        Some(dist) => {
            let mut check = Check::existing("distribution", &comment, &dist.id);
            let origins = frontend::distribution::Origins {
                site_domain: frontend::buckets::regional_domain(&site, d.region),
                api_domain: o
                    .loadbalancer
                    .nlb
                    .as_ref()
                    .map(|l| l.dns_name.clone())
                    .unwrap_or_else(|| new("load balancer")),
                origin_access_control_id: seen
                    .origin_access_control
                    .as_ref()
                    .map(|o| o.id.clone())
                    .unwrap_or_else(|| new("origin access control")),
                spa_function_arn: seen
                    .function
                    .as_ref()
                    .map(|f| f.arn.clone())
                    .unwrap_or_else(|| new("function")),
            };
            let fix = Some(format!(
                "up never updates an existing distribution: change it with `aws cloudfront update-distribution --id {}` \
                 (or the console), or delete it and run up (the site gets a new domain name)",
                dist.id
            ));
            match frontend::distribution::distribution_config(names, &origins) {
                Ok(want) => {
                    let want_origins: BTreeMap<String, (String, String)> = want
                        .origins()
                        .map(|o| o.items())
                        .unwrap_or_default()
                        .iter()
                        .map(|o| {
                            (
                                o.id().to_string(),
                                (
                                    o.domain_name().to_string(),
                                    o.origin_access_control_id().unwrap_or_default().to_string(),
                                ),
                            )
                        })
                        .collect();
                    for (id, (domain, oac)) in &want_origins {
                        let (have_domain, have_oac) = dist
                            .origins
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| ("none".into(), String::new()));
                        check.compare(
                            origin_field(id, "domain"),
                            have_domain,
                            domain,
                            How::UpLeavesIt,
                            fix.clone(),
                        );
                        check.compare(
                            origin_field(id, "originAccessControl"),
                            have_oac,
                            oac,
                            How::UpLeavesIt,
                            fix.clone(),
                        );
                    }
                    let want_functions: Vec<String> = want
                        .default_cache_behavior()
                        .and_then(|b| b.function_associations())
                        .map(|f| f.items())
                        .unwrap_or_default()
                        .iter()
                        .map(|f| f.function_arn().to_string())
                        .collect();
                    check.compare(
                        "default behaviour viewer-request function",
                        dist.default_functions.join(", "),
                        want_functions.join(", "),
                        How::UpLeavesIt,
                        fix.clone(),
                    );
                    let want_behaviours: Vec<String> = want
                        .cache_behaviors()
                        .map(|b| b.items())
                        .unwrap_or_default()
                        .iter()
                        .map(|b| format!("{} → {}", b.path_pattern(), b.target_origin_id()))
                        .collect();
                    let have_behaviours: Vec<String> = dist
                        .behaviours
                        .iter()
                        .map(|(p, o)| format!("{p} → {o}"))
                        .collect();
                    check.compare(
                        "behaviours",
                        have_behaviours.join(", "),
                        want_behaviours.join(", "),
                        How::UpLeavesIt,
                        fix,
                    );
                }
                Err(error) => check.note(format!(
                    "the desired distribution could not be built: {error}"
                )),
            }
            items.push(check.done());
        }
    }
    items
}

fn origin_field(id: &str, what: &str) -> &'static str {
    match (id, what) {
        ("site", "domain") => "origin site domain",
        ("site", _) => "origin site originAccessControl",
        ("api", "domain") => "origin api domain",
        ("api", _) => "origin api originAccessControl",
        (_, "domain") => "origin domain",
        _ => "origin originAccessControl",
    }
}

/// A bucket policy as a person reads it: which distribution it admits.
fn describe_policy(policy: Option<&Value>) -> String {
    let Some(policy) = policy else {
        return "none".into();
    };
    let admitted = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|s| s["Condition"]["StringEquals"]["AWS:SourceArn"].as_str());
    match admitted {
        Some(arn) => format!("readable by {arn}"),
        None => "another policy".into(),
    }
}

// ---------------------------------------------------------------------------------------
// backend

/// What a task definition's fix says: a `CODE_DEPLOY` service takes a new one only through a
/// CodeDeploy deployment, and releases copy everything but the image from the live one.
fn task_definition_fix(what: &str) -> String {
    format!(
        "the service is deployed by CodeDeploy (CODE_DEPLOY): ECS refuses a new task definition through UpdateService, \
         up never registers one for a running service, and `vikunja-aws release backend` copies the live revision's {what}. \
         Register a revision with the new value (aws ecs register-task-definition) and deploy it with CodeDeploy \
         (aws deploy create-deployment, an ECS AppSpec naming it)"
    )
}

/// The task definition the backend function would register, when every input is known.
fn desired_task_inputs(d: &Desired, o: &Observed) -> Option<backend::task::TaskInputs> {
    let db = o.data.database.as_ref()?;
    let secret = o.data.service_secret.as_ref()?;
    let dist = o.frontend.distribution.as_ref()?;
    let roles = o.bootstrap.as_ref()?.task_roles.as_ref()?;
    let data = DataOutputs {
        db_instance_id: d.names.db_instance(),
        status: db.status.clone(),
        endpoint: db.endpoint.clone(),
        port: db.port,
        db_name: DB_NAME.into(),
        username: DB_USER.into(),
        master_secret_arn: db.master_secret_arn.clone(),
        service_secret_arn: secret.arn.clone(),
        subnet_group: d.names.db_subnet_group(),
        waiting_since: 0,
    };
    let url = format!("https://{}", dist.domain_name);
    let frontend = FrontendOutputs {
        site_bucket: String::new(),
        uploads_bucket: String::new(),
        distribution_id: dist.id.clone(),
        distribution_arn: dist.arn.clone(),
        domain_name: dist.domain_name.clone(),
        api_url: format!("{url}/api/v1"),
        url,
        origin_access_control_id: String::new(),
        spa_function_arn: String::new(),
    };
    let roles = backend::Roles {
        task_execution: roles.execution.clone(),
        task: roles.task.clone(),
    };
    backend::task::TaskInputs::new(
        d.settings,
        &data,
        &frontend,
        &roles,
        &d.names.log_group(),
        d.region,
    )
    .ok()
}

fn pairs(list: &[(String, String)]) -> BTreeMap<&str, &str> {
    list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn backend(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let settings = d.settings;
    let seen = &o.backend;
    let mut items = Vec::new();

    let repository = names.repository();
    match &seen.repository {
        None => items.push(create(
            "repository",
            &repository,
            Some("ECR, tags immutable, scan on push".into()),
        )),
        Some(uri) => items.push(Check::existing("repository", &repository, uri).done()),
    }
    let log_group = names.log_group();
    match &seen.log_group {
        None => items.push(create(
            "log-group",
            &log_group,
            Some(format!("{LOG_RETENTION_DAYS} days")),
        )),
        Some(retention) => {
            let mut check = Check::existing("log-group", &log_group, "");
            check.compare(
                "retentionInDays",
                retention
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "never expire".into()),
                LOG_RETENTION_DAYS,
                How::InPlace,
                None,
            );
            items.push(check.done());
        }
    }
    let cluster = names.cluster();
    if seen.cluster_active {
        items.push(Check::existing("cluster", &cluster, "").done());
    } else {
        items.push(create(
            "cluster",
            &cluster,
            Some("Fargate, Container Insights".into()),
        ));
    }

    let family = names.task_family();
    let inputs = desired_task_inputs(d, o);
    match (&seen.service, &seen.task_definition) {
        (Some(_), Some(live)) => {
            let mut check = Check::existing("task-definition", &family, &live.arn);
            check.compare(
                "cpu (taskCpu)",
                live.cpu.as_deref().unwrap_or("none"),
                &settings.task_cpu,
                How::UpLeavesIt,
                Some(task_definition_fix("cpu and memory")),
            );
            check.compare(
                "memory (taskMemory)",
                live.memory.as_deref().unwrap_or("none"),
                &settings.task_memory,
                How::UpLeavesIt,
                Some(task_definition_fix("cpu and memory")),
            );
            if let Some(inputs) = &inputs {
                let fix = Some(task_definition_fix("environment, secrets and roles"));
                check.compared("environment");
                let (have, want) = (pairs(&live.environment), pairs(&inputs.environment));
                for key in have
                    .keys()
                    .chain(want.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    let (h, w) = (
                        have.get(key).copied().unwrap_or("unset"),
                        want.get(key).copied().unwrap_or("unset"),
                    );
                    if h != w {
                        check.differ(
                            format!("environment {key}"),
                            h,
                            w,
                            How::UpLeavesIt,
                            fix.clone(),
                        );
                    }
                }
                check.compared("secrets");
                let (have, want) = (pairs(&live.secrets), pairs(&inputs.secrets));
                for key in have
                    .keys()
                    .chain(want.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    let (h, w) = (
                        have.get(key).copied().unwrap_or("unset"),
                        want.get(key).copied().unwrap_or("unset"),
                    );
                    if h != w {
                        check.differ(format!("secret {key}"), h, w, How::UpLeavesIt, fix.clone());
                    }
                }
                check.compare(
                    "executionRoleArn",
                    live.execution_role.as_deref().unwrap_or("none"),
                    &inputs.execution_role,
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare(
                    "taskRoleArn",
                    live.task_role.as_deref().unwrap_or("none"),
                    &inputs.task_role,
                    How::UpLeavesIt,
                    fix,
                );
            }
            let image = live.image.as_deref().unwrap_or("none");
            if image != settings.image {
                check.note(format!(
                    "runs {image}; the image setting ({}) names only the first revision — releases change the image (`vikunja-aws release backend`)",
                    settings.image
                ));
            }
            items.push(check.done());
        }
        (_, latest) => {
            // No service yet: the backend function reuses the family's latest revision when it
            // matches everything, and registers a new one otherwise.
            let differing = match (latest, &inputs) {
                (Some(latest), Some(inputs)) => {
                    let mut fields = Vec::new();
                    let checks = [
                        (
                            "image",
                            latest.image.as_deref() == Some(inputs.image.as_str()),
                        ),
                        ("environment", latest.environment == inputs.environment),
                        ("secrets", latest.secrets == inputs.secrets),
                        ("cpu", latest.cpu.as_deref() == Some(inputs.cpu.as_str())),
                        (
                            "memory",
                            latest.memory.as_deref() == Some(inputs.memory.as_str()),
                        ),
                        (
                            "executionRoleArn",
                            latest.execution_role.as_deref()
                                == Some(inputs.execution_role.as_str()),
                        ),
                        (
                            "taskRoleArn",
                            latest.task_role.as_deref() == Some(inputs.task_role.as_str()),
                        ),
                    ];
                    for (field, same) in checks {
                        if !same {
                            fields.push(field);
                        }
                    }
                    Some(fields)
                }
                _ => None,
            };
            match (latest, differing) {
                (Some(latest), Some(fields)) if fields.is_empty() => {
                    let mut check = Check::existing("task-definition", &family, &latest.arn);
                    for field in [
                        "image",
                        "environment",
                        "secrets",
                        "cpu",
                        "memory",
                        "executionRoleArn",
                        "taskRoleArn",
                    ] {
                        check.compared(field);
                    }
                    items.push(check.done());
                }
                (_, differing) => {
                    let mut detail = format!(
                        "image {}, cpu {}, memory {}",
                        settings.image, settings.task_cpu, settings.task_memory
                    );
                    if let Some(fields) = differing.filter(|f| !f.is_empty()) {
                        detail.push_str(&format!(
                            "; a new revision: the latest differs in {}",
                            fields.join(", ")
                        ));
                    }
                    items.push(create("task-definition", &family, Some(detail)));
                }
            }
        }
    }

    let service = names.service();
    match &seen.service {
        None => items.push(create(
            "service",
            &service,
            Some(format!(
                "Fargate, CODE_DEPLOY controller, {} task(s) behind blue",
                settings.min_tasks
            )),
        )),
        Some(found) => {
            let mut check = Check::existing("service", &service, &found.arn);
            check.compare(
                "deploymentController",
                found.controller.as_deref().unwrap_or("ECS"),
                "CODE_DEPLOY",
                How::UpStops,
                Some(format!(
                    "AWS cannot change a service's deployment controller, and up refuses a service CodeDeploy does not deploy: \
                     delete it (aws ecs delete-service --cluster {cluster} --service {service} --force) and run up"
                )),
            );
            let fix = Some(format!(
                "a CODE_DEPLOY service takes load balancers and network configuration only through a CodeDeploy deployment, \
                 and up never changes an existing service: recreate it (aws ecs delete-service --cluster {cluster} --service {service} --force, \
                 then up; the API is down meanwhile)"
            ));
            let groups: Vec<&str> = ["blue", "green"]
                .iter()
                .filter_map(|c| o.loadbalancer.target_groups.get(*c).map(|g| g.arn.as_str()))
                .collect();
            let shown: Vec<String> = found
                .load_balancers
                .iter()
                .map(|(group, container, port)| {
                    let name = group
                        .split(':')
                        .next_back()
                        .unwrap_or(group)
                        .trim_start_matches("targetgroup/");
                    let name = name.split('/').next().unwrap_or(name);
                    let colour = if groups.contains(&group.as_str()) {
                        ""
                    } else {
                        " (not this stack's blue or green)"
                    };
                    format!("{name}{colour} → {container}:{port}")
                })
                .collect();
            let right = found.load_balancers.len() == 1
                && found.load_balancers.iter().all(|(group, container, port)| {
                    (groups.is_empty() || groups.contains(&group.as_str()))
                        && container == CONTAINER_NAME
                        && *port == CONTAINER_PORT
                });
            check.compare(
                "loadBalancers",
                if right {
                    "blue or green → vikunja:3456".to_string()
                } else {
                    shown.join(", ")
                },
                "blue or green → vikunja:3456",
                How::UpLeavesIt,
                fix.clone(),
            );
            if let Some(mut subnets) = found_subnets(d, o, "public") {
                subnets.sort();
                check.compare(
                    "subnets",
                    found.subnets.join(", "),
                    subnets.join(", "),
                    How::UpLeavesIt,
                    fix.clone(),
                );
            }
            if let Some(group) = found_group(o, "app") {
                check.compare(
                    "securityGroups",
                    found.security_groups.join(", "),
                    group,
                    How::UpLeavesIt,
                    fix,
                );
            }
            items.push(check.done());
        }
    }

    let resource = format!("service/{cluster}/{service}");
    match seen.scalable_target {
        None => items.push(create(
            "scalable-target",
            &resource,
            Some(format!(
                "{}–{} tasks",
                settings.min_tasks, settings.max_tasks
            )),
        )),
        Some((min, max)) => {
            let mut check = Check::existing("scalable-target", &resource, "");
            check.compare(
                "minCapacity (minTasks)",
                min,
                settings.min_tasks,
                How::InPlace,
                None,
            );
            check.compare(
                "maxCapacity (maxTasks)",
                max,
                settings.max_tasks,
                How::InPlace,
                None,
            );
            items.push(check.done());
        }
    }
    let policy = names.of(Tier::Backend, "cpu");
    match &seen.scaling_policy {
        None => items.push(create(
            "scaling-policy",
            &policy,
            Some(format!(
                "target tracking, average CPU {}%",
                settings.cpu_target_percent
            )),
        )),
        Some(found) => {
            let mut check = Check::existing("scaling-policy", &policy, "");
            let shown = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            check.compare(
                "targetValue (cpuTargetPercent)",
                shown(found.target.map(|t| t.to_string())),
                settings.cpu_target_percent,
                How::InPlace,
                None,
            );
            check.compare(
                "metric",
                shown(found.metric.clone()),
                CPU_METRIC,
                How::InPlace,
                None,
            );
            check.compare(
                "scaleOutCooldown",
                shown(found.scale_out_cooldown.map(|c| c.to_string())),
                SCALE_OUT_COOLDOWN,
                How::InPlace,
                None,
            );
            check.compare(
                "scaleInCooldown",
                shown(found.scale_in_cooldown.map(|c| c.to_string())),
                SCALE_IN_COOLDOWN,
                How::InPlace,
                None,
            );
            items.push(check.done());
        }
    }
    items
}

// ---------------------------------------------------------------------------------------
// delivery

fn delivery(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let settings = d.settings;
    let seen = &o.delivery;
    let lb = &o.loadbalancer;
    let mut items = Vec::new();
    for colour in ["blue", "green"] {
        let name = names.alarm(colour);
        let Some(alarm) = seen.alarms.get(colour) else {
            items.push(create(
                "alarm",
                &name,
                Some(format!("unhealthy {colour} targets for 2 minutes")),
            ));
            continue;
        };
        let mut check = Check::existing("alarm", &name, "");
        check.compare(
            "namespace",
            &alarm.namespace,
            "AWS/NetworkELB",
            How::InPlace,
            None,
        );
        check.compare(
            "metric",
            &alarm.metric,
            "UnHealthyHostCount",
            How::InPlace,
            None,
        );
        check.compare("statistic", &alarm.statistic, "Maximum", How::InPlace, None);
        check.compare(
            "period",
            alarm.period.unwrap_or_default(),
            60,
            How::InPlace,
            None,
        );
        check.compare(
            "evaluationPeriods",
            alarm.evaluation_periods.unwrap_or_default(),
            2,
            How::InPlace,
            None,
        );
        check.compare(
            "threshold",
            alarm.threshold.unwrap_or(-1.0),
            0.0,
            How::InPlace,
            None,
        );
        check.compare(
            "comparison",
            &alarm.comparison,
            "GreaterThanThreshold",
            How::InPlace,
            None,
        );
        check.compare(
            "treatMissingData",
            &alarm.treat_missing_data,
            "notBreaching",
            How::InPlace,
            None,
        );
        let want_lb = lb
            .nlb
            .as_ref()
            .and_then(|l| delivery::alarms::load_balancer_dimension(&l.arn).ok())
            .unwrap_or_else(|| new("load balancer"));
        let want_group = lb
            .target_groups
            .get(colour)
            .and_then(|g| delivery::alarms::target_group_dimension(&g.arn).ok())
            .unwrap_or_else(|| new("target group"));
        let want = format!("LoadBalancer={want_lb}, TargetGroup={want_group}");
        let have: Vec<String> = alarm
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        check.compare("dimensions", have.join(", "), want, How::InPlace, None);
        items.push(check.done());
    }

    let application = names.codedeploy_application();
    if seen.application {
        items.push(Check::existing("codedeploy-application", &application, "").done());
    } else {
        items.push(create(
            "codedeploy-application",
            &application,
            Some("ECS".into()),
        ));
    }
    let group = names.deployment_group();
    match &seen.deployment_group {
        None => items.push(create(
            "deployment-group",
            &group,
            Some(format!(
                "blue/green, {}, rollback on failure and alarm, blue kept {} min",
                delivery::handler::DEPLOYMENT_CONFIG,
                settings.termination_wait_minutes
            )),
        )),
        Some(found) => {
            let mut check = Check::existing("deployment-group", &group, "");
            let fix = |what: &str| {
                Some(format!(
                    "up creates the deployment group and never updates it: aws deploy update-deployment-group \
                     --application-name {application} --current-deployment-group-name {group} ({what}), between releases"
                ))
            };
            check.compare(
                "terminationWaitMinutes (terminationWaitMinutes)",
                found
                    .termination_wait_minutes
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "none".into()),
                settings.termination_wait_minutes,
                How::UpLeavesIt,
                fix(&format!(
                    "--blue-green-deployment-configuration with terminationWaitTimeInMinutes={}",
                    settings.termination_wait_minutes
                )),
            );
            check.compare(
                "deploymentConfig",
                &found.deployment_config,
                delivery::handler::DEPLOYMENT_CONFIG,
                How::UpLeavesIt,
                fix("--deployment-config-name"),
            );
            check.compare(
                "targetGroups",
                found.target_groups.join(", "),
                format!(
                    "{}, {}",
                    names.target_group("blue"),
                    names.target_group("green")
                ),
                How::UpLeavesIt,
                fix("--load-balancer-info"),
            );
            let listener = |port: i32| {
                lb.listeners
                    .get(&port)
                    .filter(|_| lb.nlb.is_some())
                    .cloned()
                    .unwrap_or_else(|| new("listener"))
            };
            check.compare(
                "productionListener",
                found.prod_listeners.join(", "),
                listener(PROD_PORT),
                How::UpLeavesIt,
                fix("--load-balancer-info"),
            );
            check.compare(
                "testListener",
                found.test_listeners.join(", "),
                listener(TEST_PORT),
                How::UpLeavesIt,
                fix("--load-balancer-info"),
            );
            let services: Vec<String> = found
                .services
                .iter()
                .map(|(c, s)| format!("{c}/{s}"))
                .collect();
            check.compare(
                "ecsService",
                services.join(", "),
                format!("{}/{}", names.cluster(), names.service()),
                How::UpLeavesIt,
                fix("--ecs-services"),
            );
            if let Some(role) = o
                .bootstrap
                .as_ref()
                .and_then(|b| b.outputs.get("CodeDeployRoleArn"))
            {
                check.compare(
                    "serviceRole",
                    &found.service_role,
                    role,
                    How::UpLeavesIt,
                    fix("--service-role-arn"),
                );
            }
            let rollback = |enabled: bool, events: &[String]| {
                if enabled {
                    format!("on: {}", events.join(", "))
                } else {
                    "off".into()
                }
            };
            check.compare(
                "autoRollback",
                rollback(found.rollback_enabled, &found.rollback_events),
                rollback(
                    true,
                    &[
                        "DEPLOYMENT_FAILURE".into(),
                        "DEPLOYMENT_STOP_ON_ALARM".into(),
                    ],
                ),
                How::UpLeavesIt,
                fix("--auto-rollback-configuration"),
            );
            items.push(check.done());
        }
    }
    items
}

// ---------------------------------------------------------------------------------------
// inventory

/// The recorded outputs `up` writes at the end of each tier: each known value is compared
/// with what was found; a tier that creates anything records new values.
fn inventory(d: &Desired, o: &Observed, tier: &TierPlan) -> Item {
    let name = d.names.inventory_parameter(tier_of(&tier.tier));
    let Some(recorded) = o.inventory.get(&tier.tier) else {
        return create(
            "inventory",
            &name,
            Some("the tier's outputs (SSM parameter)".into()),
        );
    };
    let mut check = Check::existing("inventory", &name, "");
    for (key, want) in expected_outputs(d, o, &tier.tier) {
        let have = recorded.get(key).cloned().unwrap_or(Value::Null);
        check.compare(key, show(&have), show(&want), How::InPlace, None);
    }
    let creates = tier
        .items
        .iter()
        .filter(|i| i.action == Action::Create)
        .count();
    if creates > 0 {
        check.differ(
            "outputs",
            "as recorded",
            format!("with the {creates} new resource(s)"),
            How::InPlace,
            None,
        );
    }
    check.done()
}

fn tier_of(name: &str) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| t.as_str() == name)
        .unwrap_or(Tier::Network)
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The outputs a tier would record, as far as the findings tell them.
fn expected_outputs(d: &Desired, o: &Observed, tier: &str) -> Vec<(&'static str, Value)> {
    let names = &d.names;
    let mut out: Vec<(&'static str, Option<Value>)> = Vec::new();
    match tier {
        "network" => {
            let n = &o.network;
            let vpc = n.vpc.found();
            let group = |role: &str| found_group(o, role).map(Value::from);
            out.push(("vpcId", vpc.map(|v| json!(v.id))));
            out.push(("vpcCidr", vpc.map(|v| json!(v.cidr))));
            out.push((
                "availabilityZones",
                (o.zones.len() >= 2).then(|| json!(o.zones[..2])),
            ));
            out.push((
                "publicSubnetIds",
                found_subnets(d, o, "public").map(Value::from),
            ));
            out.push((
                "isolatedSubnetIds",
                found_subnets(d, o, "isolated").map(Value::from),
            ));
            out.push((
                "internetGatewayId",
                vpc.and(n.internet_gateway.found()).map(|g| json!(g.id)),
            ));
            for (key, role) in [
                ("publicRouteTableId", "public"),
                ("isolatedRouteTableId", "isolated"),
            ] {
                out.push((
                    key,
                    vpc.and(n.route_tables.get(role).and_then(|t| t.found()))
                        .map(|t| json!(t.id)),
                ));
            }
            out.push(("lbSecurityGroupId", group("lb")));
            out.push(("appSecurityGroupId", group("app")));
            out.push(("dbSecurityGroupId", group("db")));
        }
        "data" => {
            let db = o.data.database.as_ref();
            out.push(("dbInstanceId", Some(json!(names.db_instance()))));
            out.push((
                "endpoint",
                db.and_then(|db| db.endpoint.clone()).map(Value::from),
            ));
            out.push(("port", db.and_then(|db| db.port).map(Value::from)));
            out.push(("dbName", Some(json!(DB_NAME))));
            out.push(("username", Some(json!(DB_USER))));
            out.push((
                "masterSecretArn",
                db.and_then(|db| db.master_secret_arn.clone())
                    .map(Value::from),
            ));
            out.push((
                "serviceSecretArn",
                o.data.service_secret.as_ref().map(|s| json!(s.arn)),
            ));
            out.push(("subnetGroup", Some(json!(names.db_subnet_group()))));
        }
        "loadbalancer" => {
            let lb = &o.loadbalancer;
            let nlb = lb.nlb.as_ref();
            out.push(("loadBalancerArn", nlb.map(|l| json!(l.arn))));
            out.push(("dnsName", nlb.map(|l| json!(l.dns_name))));
            out.push((
                "prodListenerArn",
                nlb.and(lb.listeners.get(&PROD_PORT)).map(|a| json!(a)),
            ));
            out.push((
                "testListenerArn",
                nlb.and(lb.listeners.get(&TEST_PORT)).map(|a| json!(a)),
            ));
            out.push((
                "blueTargetGroupArn",
                lb.target_groups.get("blue").map(|g| json!(g.arn)),
            ));
            out.push((
                "greenTargetGroupArn",
                lb.target_groups.get("green").map(|g| json!(g.arn)),
            ));
            out.push((
                "blueTargetGroupName",
                Some(json!(names.target_group("blue"))),
            ));
            out.push((
                "greenTargetGroupName",
                Some(json!(names.target_group("green"))),
            ));
        }
        "frontend" => {
            let f = &o.frontend;
            let dist = f.distribution.as_ref();
            out.push((
                "siteBucket",
                Some(json!(names.site_bucket(d.account, d.region))),
            ));
            out.push((
                "uploadsBucket",
                Some(json!(names.uploads_bucket(d.account, d.region))),
            ));
            out.push(("distributionId", dist.map(|x| json!(x.id))));
            out.push(("distributionArn", dist.map(|x| json!(x.arn))));
            out.push(("domainName", dist.map(|x| json!(x.domain_name))));
            out.push((
                "url",
                dist.map(|x| json!(format!("https://{}", x.domain_name))),
            ));
            out.push((
                "apiUrl",
                dist.map(|x| json!(format!("https://{}/api/v1", x.domain_name))),
            ));
            out.push((
                "originAccessControlId",
                f.origin_access_control.as_ref().map(|x| json!(x.id)),
            ));
            out.push(("spaFunctionArn", f.function.as_ref().map(|x| json!(x.arn))));
        }
        "backend" => {
            let b = &o.backend;
            out.push(("repositoryName", Some(json!(names.repository()))));
            out.push(("repositoryUri", b.repository.clone().map(Value::from)));
            out.push(("logGroup", Some(json!(names.log_group()))));
            out.push(("cluster", Some(json!(names.cluster()))));
            out.push(("service", Some(json!(names.service()))));
            out.push(("serviceArn", b.service.as_ref().map(|s| json!(s.arn))));
            out.push((
                "taskDefinitionArn",
                b.service.as_ref().map(|s| json!(s.task_definition)),
            ));
            out.push(("containerName", Some(json!(CONTAINER_NAME))));
            out.push(("containerPort", Some(json!(CONTAINER_PORT))));
        }
        _ => {
            out.push(("application", Some(json!(names.codedeploy_application()))));
            out.push(("deploymentGroup", Some(json!(names.deployment_group()))));
            out.push((
                "deploymentConfig",
                Some(json!(delivery::handler::DEPLOYMENT_CONFIG)),
            ));
            out.push((
                "alarms",
                Some(json!([names.alarm("blue"), names.alarm("green")])),
            ));
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}
