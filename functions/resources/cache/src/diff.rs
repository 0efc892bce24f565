//! Spec + findings → the plan items `plan` prints and the operations `up` carries out; the
//! findings against nothing → what `down` deletes. Pure.

use vikunja_core::teardown::{PlannedTier, Resource};
use vikunja_core::Names;

use crate::observe::Found;
use crate::{replication_group_id, subnet_group_name, ENGINE};
use resources::plan::{create, Check, How, Operation};

/// What `up` wants when `sharedCache` is on: one Valkey node in the isolated subnets, in
/// the `cache` group, encrypted at rest.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    /// The isolated subnets, one per zone, in the network tier's order (a, b).
    pub subnets: Vec<String>,
    /// The `cache` security group, or what it will be.
    pub security_group: String,
    pub node_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateSubnetGroup,
    CreateReplicationGroup,
    DeleteReplicationGroup { id: String },
    DeleteSubnetGroup { name: String },
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        match self {
            Op::CreateSubnetGroup => format!(
                "create cache subnet group {} (the isolated subnets)",
                subnet_group_name(&spec.names)
            ),
            Op::CreateReplicationGroup => format!(
                "create cache {} ({ENGINE}, one {} node, encrypted at rest, in {})",
                replication_group_id(&spec.names),
                spec.node_type,
                spec.security_group
            ),
            Op::DeleteReplicationGroup { id } => format!("delete cache {id}"),
            Op::DeleteSubnetGroup { name } => format!("delete cache subnet group {name}"),
        }
    }
}

pub type Plan = resources::plan::Plan<Op>;

fn sorted(subnets: &[String]) -> Vec<String> {
    let mut subnets = subnets.to_vec();
    subnets.sort();
    subnets
}

pub fn diff(spec: &Spec, found: &Found) -> Plan {
    let mut plan = Plan::default();
    let names = &spec.names;
    let group_name = subnet_group_name(names);
    match &found.subnet_group {
        None => plan.push(
            create(
                "cache-subnet-group",
                &group_name,
                Some(format!("subnets {}", spec.subnets.join(", "))),
            ),
            vec![Op::CreateSubnetGroup],
            spec,
        ),
        Some(group) => {
            let mut check = Check::existing("cache-subnet-group", &group_name, &group.arn);
            check.owner(
                group.ours,
                names.stack(),
                format!("cache subnet group {group_name} has the stack's name but not its tag: delete it (aws elasticache delete-cache-subnet-group) or tag it, then run up"),
            );
            check.compare(
                "subnets",
                group.subnets.join(", "),
                sorted(&spec.subnets).join(", "),
                How::UpStops,
                Some(format!("the cache subnet group is not in the stack's isolated subnets: delete the cache and its subnet group (vikunja-aws down, or aws elasticache delete-replication-group --replication-group-id {} then delete-cache-subnet-group), then run up", replication_group_id(names))),
            );
            plan.push(check.done(), vec![], spec);
        }
    }

    let id = replication_group_id(names);
    let Some(group) = &found.replication_group else {
        plan.push(
            create(
                "cache",
                &id,
                Some(format!(
                    "{ENGINE}, one {} node, encrypted at rest, in {}",
                    spec.node_type, spec.security_group
                )),
            ),
            vec![Op::CreateReplicationGroup],
            spec,
        );
        return plan;
    };
    let mut check = Check::existing("cache", &id, &group.arn);
    check.owner(
        group.ours,
        names.stack(),
        format!("cache {id} has the stack's name but not its tag: delete it (aws elasticache delete-replication-group --replication-group-id {id}) or tag it, then run up"),
    );
    let recreate = Some(format!(
        "ElastiCache sets this only at creation; the cache holds nothing that lasts (sessions and counters): delete it (aws elasticache delete-replication-group --replication-group-id {id}), wait until it is gone, then run up"
    ));
    if group.status == "deleting" || group.status == "create-failed" {
        check.differ(
            "status",
            &group.status,
            "available",
            How::UpStops,
            Some(format!(
                "wait until cache {id} is gone (aws elasticache describe-replication-groups --replication-group-id {id}), then run up"
            )),
        );
    } else {
        check.compared("status");
    }
    check.compare(
        "engine",
        &group.engine,
        ENGINE,
        How::UpLeavesIt,
        recreate.clone(),
    );
    check.compare(
        "atRestEncryption",
        group.at_rest_encryption,
        true,
        How::UpLeavesIt,
        recreate.clone(),
    );
    // Vikunja's Redis client cannot speak TLS (see the crate's documentation).
    check.compare(
        "transitEncryption",
        group.transit_encryption,
        false,
        How::UpLeavesIt,
        Some(format!("Vikunja's Redis client has no TLS, so it cannot reach a cache with transit encryption: {}", recreate.clone().unwrap_or_default())),
    );
    check.compare(
        "nodeType",
        &group.node_type,
        &spec.node_type,
        How::UpLeavesIt,
        Some(format!(
            "change it with aws elasticache modify-replication-group --replication-group-id {id} --cache-node-type {} --apply-immediately",
            spec.node_type
        )),
    );
    if group.status != "available" {
        check.note(format!(
            "cache {id} is {}: up waits until it is available",
            group.status
        ));
    }
    plan.push(check.done(), vec![], spec);
    plan
}

/// What `down` does with the cache: all of it, `--keep-data` or not — it holds sessions,
/// counters and caches, nothing Vikunja cannot rebuild. The replication group first; the
/// subnet group once the group no longer uses it.
pub fn retire(found: &Found) -> (PlannedTier, Vec<Op>) {
    let mut tier = PlannedTier {
        tier: "data".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    if let Some(group) = found.replication_group.as_ref().filter(|g| g.ours) {
        tier.delete.push(Resource {
            kind: "elasticache replication group".into(),
            id: group.id.clone(),
        });
        ops.push(Op::DeleteReplicationGroup {
            id: group.id.clone(),
        });
    }
    if let Some(group) = found.subnet_group.as_ref().filter(|g| g.ours) {
        tier.delete.push(Resource {
            kind: "elasticache subnet group".into(),
            id: group.name.clone(),
        });
        ops.push(Op::DeleteSubnetGroup {
            name: group.name.clone(),
        });
    }
    (tier, ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{ReplicationGroup, SubnetGroup};
    use resources::Action;

    fn spec() -> Spec {
        Spec {
            names: Names::new("v"),
            subnets: vec!["subnet-ib".into(), "subnet-ia".into()],
            security_group: "sg-cache".into(),
            node_type: "cache.t4g.micro".into(),
        }
    }

    fn found() -> Found {
        Found {
            subnet_group: Some(SubnetGroup {
                name: "v-data-cache".into(),
                arn: "arn:aws:elasticache:us-east-1:1:subnetgroup:v-data-cache".into(),
                subnets: vec!["subnet-ia".into(), "subnet-ib".into()],
                ours: true,
            }),
            replication_group: Some(ReplicationGroup {
                id: "v-data-cache".into(),
                arn: "arn:aws:elasticache:us-east-1:1:replicationgroup:v-data-cache".into(),
                status: "available".into(),
                engine: "valkey".into(),
                node_type: "cache.t4g.micro".into(),
                nodes: 1,
                at_rest_encryption: true,
                transit_encryption: false,
                endpoint: Some(("master.v-data-cache.x.cache.amazonaws.com".into(), 6379)),
                ours: true,
            }),
        }
    }

    #[test]
    fn nothing_there_creates_both_and_what_is_there_is_kept() {
        let plan = diff(&spec(), &Found::default());
        assert_eq!(
            plan.ops,
            vec![Op::CreateSubnetGroup, Op::CreateReplicationGroup]
        );
        assert!(plan.items[1].actions[0].contains("encrypted at rest"));
        let plan = diff(&spec(), &found());
        assert!(plan.ops.is_empty());
        assert!(
            plan.items.iter().all(|i| i.action == Action::Keep),
            "{:?}",
            plan.items
        );
    }

    #[test]
    fn what_up_cannot_fix_is_said_with_what_to_do() {
        let mut changed = found();
        let group = changed.replication_group.as_mut().unwrap();
        group.at_rest_encryption = false;
        group.node_type = "cache.t4g.small".into();
        let plan = diff(&spec(), &changed);
        let item = &plan.items[1];
        assert_eq!(item.action, Action::CannotChangeInPlace);
        let fields: Vec<_> = item.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["atRestEncryption", "nodeType"]);
        assert!(plan.runnable().is_ok(), "up leaves them and goes on");

        let mut strange = found();
        strange.replication_group.as_mut().unwrap().ours = false;
        let stop = diff(&spec(), &strange).runnable().unwrap_err().to_string();
        assert!(stop.contains("not its tag"), "{stop}");

        let mut going = found();
        going.replication_group.as_mut().unwrap().status = "deleting".into();
        let stop = diff(&spec(), &going).runnable().unwrap_err().to_string();
        assert!(
            stop.contains("wait until cache v-data-cache is gone"),
            "{stop}"
        );
    }

    #[test]
    fn teardown_deletes_all_of_it_and_only_what_is_the_stacks() {
        let (tier, ops) = retire(&found());
        assert!(tier.keep.is_empty());
        assert_eq!(
            ops,
            vec![
                Op::DeleteReplicationGroup {
                    id: "v-data-cache".into()
                },
                Op::DeleteSubnetGroup {
                    name: "v-data-cache".into()
                }
            ]
        );
        let mut strangers = found();
        strangers.replication_group.as_mut().unwrap().ours = false;
        strangers.subnet_group.as_mut().unwrap().ours = false;
        assert!(retire(&strangers).1.is_empty());
    }
}
