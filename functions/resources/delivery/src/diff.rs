//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together; and the findings against nothing → what `down` deletes.
//! Pure: unit-tested with made-up findings.

use std::collections::BTreeMap;

use vikunja_core::settings::Engine;
use vikunja_core::teardown::{PlannedTier, Resource};
use vikunja_core::{Error, Names, Result};

use super::observe::{Alarm, DeploymentGroup, Found, Remains};
use super::{DEPLOYMENT_CONFIG, ROLLBACK_EVENTS};
use resources::plan::{create, new, Check, How, Item, Operation};

/// What `up` wants of the tier. The ARNs and ids come from the other tiers: their recorded
/// outputs in `up`, what was found (or what they will be) in `plan`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    /// Under `ecs` the service deploys itself: no CodeDeploy application or group.
    pub engine: Engine,
    pub termination_wait_minutes: i32,
    /// By colour: the alarm's `LoadBalancer` and `TargetGroup` dimensions.
    pub alarm_dimensions: BTreeMap<&'static str, (String, String)>,
    pub prod_listener: String,
    pub test_listener: String,
    /// CodeDeploy's service role (unknown to `plan` without the bootstrap stack).
    pub service_role: Option<String>,
    /// The probe's place in the VPC: the public subnets (sorted) and the probe group.
    pub probe_subnets: Vec<String>,
    pub probe_group: String,
}

/// The CloudWatch dimension of a load balancer: the ARN's tail (`net/<name>/<id>`).
pub fn load_balancer_dimension(arn: &str) -> Result<String> {
    arn.split_once(":loadbalancer/")
        .map(|(_, tail)| tail.to_string())
        .ok_or_else(|| Error::invalid(format!("{arn} is not a load balancer ARN")))
}

/// The CloudWatch dimension of a target group: `targetgroup/<name>/<id>`.
pub fn target_group_dimension(arn: &str) -> Result<String> {
    arn.split_once(":targetgroup/")
        .map(|(_, tail)| format!("targetgroup/{tail}"))
        .ok_or_else(|| Error::invalid(format!("{arn} is not a target group ARN")))
}

/// A dimension from an ARN when there is one, else what it will be.
pub fn dimension_or_new(arn: Option<&str>, of: fn(&str) -> Result<String>, what: &str) -> String {
    arn.and_then(|a| of(a).ok()).unwrap_or_else(|| new(what))
}

/// One change to the tier.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `PutMetricAlarm` creates or replaces the whole alarm.
    PutAlarm {
        colour: &'static str,
    },
    CreateApplication,
    CreateDeploymentGroup,
    /// Into the public subnets with the probe group (the bootstrap stack makes it outside).
    AttachProbe,
    /// Without rollback.
    StopDeployment {
        id: String,
    },
    /// Its deployment groups go with it.
    DeleteApplication,
    /// Out of the VPC: its interfaces would keep the network tier's subnets and group.
    DetachProbe {
        vpc: String,
    },
    DeleteAlarms {
        names: Vec<String>,
    },
}

/// What teardown calls the probe's place in the VPC.
pub const PROBE_ATTACHMENT: &str = "probe's vpc attachment";

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        let names = &spec.names;
        match self {
            Op::PutAlarm { colour } => format!(
                "put alarm {} (unhealthy {colour} targets for 2 minutes)",
                names.alarm(colour)
            ),
            Op::CreateApplication => {
                format!("create CodeDeploy application {} (ECS)", names.codedeploy_application())
            }
            Op::CreateDeploymentGroup => format!(
                "create deployment group {} (blue/green, {DEPLOYMENT_CONFIG}, rollback on failure and alarm, blue kept {} min)",
                names.deployment_group(),
                spec.termination_wait_minutes
            ),
            Op::AttachProbe => format!(
                "attach the probe {} to the public subnets with the probe group",
                names.probe_function()
            ),
            Op::StopDeployment { id } => format!("stop deployment {id} (no rollback)"),
            Op::DeleteApplication => format!(
                "delete CodeDeploy application {} and its deployment groups",
                names.codedeploy_application()
            ),
            Op::DetachProbe { vpc } => {
                format!("detach the probe {} from {vpc}", names.probe_function())
            }
            Op::DeleteAlarms { names } => format!("delete alarms {}", names.join(", ")),
        }
    }
}

/// The tier's plan.
pub type Plan = resources::plan::Plan<Op>;

pub fn diff(spec: &Spec, found: &Found) -> Plan {
    let names = &spec.names;
    let mut plan = Plan::default();
    for (colour, dimensions) in &spec.alarm_dimensions {
        let name = names.alarm(colour);
        let put = vec![Op::PutAlarm { colour }];
        match found.alarms.get(*colour) {
            None => plan.push(
                create(
                    "alarm",
                    &name,
                    Some(format!("unhealthy {colour} targets for 2 minutes")),
                ),
                put,
                spec,
            ),
            Some(alarm) => {
                let item = alarm_item(&name, alarm, dimensions);
                let ops = if item.differences.is_empty() {
                    vec![]
                } else {
                    put
                };
                plan.push(item, ops, spec);
            }
        }
    }
    match spec.engine {
        Engine::Codedeploy => codedeploy(spec, found, &mut plan),
        Engine::Ecs => codedeploy_left_over(spec, found, &mut plan),
    }
    if let Some(attached) = &found.probe {
        let (item, ops) = probe_item(spec, attached.as_ref());
        plan.push(item, ops, spec);
    }
    plan
}

/// The CodeDeploy application and deployment group the `codedeploy` engine deploys with.
fn codedeploy(spec: &Spec, found: &Found, plan: &mut Plan) {
    let names = &spec.names;
    let application = names.codedeploy_application();
    if found.application {
        plan.push(
            Check::existing("codedeploy-application", &application, "").done(),
            vec![],
            spec,
        );
    } else {
        plan.push(
            create("codedeploy-application", &application, Some("ECS".into())),
            vec![Op::CreateApplication],
            spec,
        );
    }
    let group = names.deployment_group();
    match &found.deployment_group {
        None => plan.push(
            create(
                "deployment-group",
                &group,
                Some(format!(
                    "blue/green, {DEPLOYMENT_CONFIG}, rollback on failure and alarm, blue kept {} min",
                    spec.termination_wait_minutes
                )),
            ),
            vec![Op::CreateDeploymentGroup],
            spec,
        ),
        Some(found) => plan.push(deployment_group_item(spec, found), vec![], spec),
    }
}

/// Under the `ecs` engine nothing deploys through CodeDeploy: an application (and its group)
/// left from the `codedeploy` engine — a stack moved to `ecs` — is deleted by `up`, after
/// the backend step moved the service.
fn codedeploy_left_over(spec: &Spec, found: &Found, plan: &mut Plan) {
    if !found.application {
        return;
    }
    let names = &spec.names;
    let mut check = Check::existing("codedeploy-application", names.codedeploy_application(), "");
    let group = if found.deployment_group.is_some() {
        format!(" and its deployment group {}", names.deployment_group())
    } else {
        String::new()
    };
    check.differ(
        "engine",
        "codedeploy",
        format!("ecs: up deletes the application{group} (the service deploys itself)"),
        How::InPlace,
        None,
    );
    plan.push(check.done(), vec![Op::DeleteApplication], spec);
}

fn alarm_item(name: &str, alarm: &Alarm, (lb, group): &(String, String)) -> Item {
    let mut check = Check::existing("alarm", name, "");
    let compare = |check: &mut Check, field: &str, have: String, want: &str| {
        check.compare(field, have, want, How::InPlace, None)
    };
    compare(
        &mut check,
        "namespace",
        alarm.namespace.clone(),
        "AWS/NetworkELB",
    );
    compare(
        &mut check,
        "metric",
        alarm.metric.clone(),
        "UnHealthyHostCount",
    );
    compare(&mut check, "statistic", alarm.statistic.clone(), "Maximum");
    compare(
        &mut check,
        "period",
        alarm.period.unwrap_or_default().to_string(),
        "60",
    );
    let periods = alarm.evaluation_periods.unwrap_or_default().to_string();
    compare(&mut check, "evaluationPeriods", periods, "2");
    let threshold = alarm.threshold.unwrap_or(-1.0).to_string();
    compare(&mut check, "threshold", threshold, &0.0_f64.to_string());
    compare(
        &mut check,
        "comparison",
        alarm.comparison.clone(),
        "GreaterThanThreshold",
    );
    compare(
        &mut check,
        "treatMissingData",
        alarm.treat_missing_data.clone(),
        "notBreaching",
    );
    let have: Vec<String> = alarm
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let want = format!("LoadBalancer={lb}, TargetGroup={group}");
    compare(&mut check, "dimensions", have.join(", "), &want);
    check.done()
}

/// An existing deployment group: `up` creates it and never updates it.
fn deployment_group_item(spec: &Spec, found: &DeploymentGroup) -> Item {
    let names = &spec.names;
    let (application, group) = (names.codedeploy_application(), names.deployment_group());
    let mut check = Check::existing("deployment-group", &group, "");
    let fix = |what: &str| {
        Some(format!(
            "up creates the deployment group and never updates it: aws deploy update-deployment-group \
             --application-name {application} --current-deployment-group-name {group} ({what}), between releases"
        ))
    };
    let mut leave = |field: &str, have: String, want: String, what: &str| {
        check.compare(field, have, want, How::UpLeavesIt, fix(what))
    };
    let wait = found.termination_wait_minutes.map(|m| m.to_string());
    leave(
        "terminationWaitMinutes (terminationWaitMinutes)",
        wait.unwrap_or_else(|| "none".into()),
        spec.termination_wait_minutes.to_string(),
        &format!(
            "--blue-green-deployment-configuration with terminationWaitTimeInMinutes={}",
            spec.termination_wait_minutes
        ),
    );
    leave(
        "deploymentConfig",
        found.deployment_config.clone(),
        DEPLOYMENT_CONFIG.into(),
        "--deployment-config-name",
    );
    let groups = format!(
        "{}, {}",
        names.target_group("blue"),
        names.target_group("green")
    );
    leave(
        "targetGroups",
        found.target_groups.join(", "),
        groups,
        "--load-balancer-info",
    );
    leave(
        "productionListener",
        found.prod_listeners.join(", "),
        spec.prod_listener.clone(),
        "--load-balancer-info",
    );
    leave(
        "testListener",
        found.test_listeners.join(", "),
        spec.test_listener.clone(),
        "--load-balancer-info",
    );
    let services: Vec<String> = found
        .services
        .iter()
        .map(|(c, s)| format!("{c}/{s}"))
        .collect();
    let service = format!("{}/{}", names.cluster(), names.service());
    leave("ecsService", services.join(", "), service, "--ecs-services");
    if let Some(role) = &spec.service_role {
        leave(
            "serviceRole",
            found.service_role.clone(),
            role.clone(),
            "--service-role-arn",
        );
    }
    let rollback = |enabled: bool, events: &[String]| {
        if enabled {
            format!("on: {}", events.join(", "))
        } else {
            "off".into()
        }
    };
    let want: Vec<String> = ROLLBACK_EVENTS.iter().map(|e| e.to_string()).collect();
    leave(
        "autoRollback",
        rollback(found.rollback_enabled, &found.rollback_events),
        rollback(true, &want),
        "--auto-rollback-configuration",
    );
    check.done()
}

/// The hook's probe joins the VPC here.
fn probe_item(spec: &Spec, attached: Option<&super::ProbeAttachment>) -> (Item, Vec<Op>) {
    let name = spec.names.probe_function();
    let Some(attached) = attached else {
        let detail = Some("the public subnets, the probe group".to_string());
        return (
            create("probe-vpc-attachment", &name, detail),
            vec![Op::AttachProbe],
        );
    };
    let mut check = Check::existing("probe-vpc-attachment", &name, "");
    let (subnets, groups) = (
        attached.subnets.join(", "),
        attached.security_groups.join(", "),
    );
    check.compare(
        "subnets",
        subnets,
        spec.probe_subnets.join(", "),
        How::InPlace,
        None,
    );
    check.compare(
        "securityGroups",
        groups,
        &spec.probe_group,
        How::InPlace,
        None,
    );
    let item = check.done();
    let ops = if item.differences.is_empty() {
        vec![]
    } else {
        vec![Op::AttachProbe]
    };
    (item, ops)
}

/// The findings against nothing: what `down` deletes, as `plan` lists it, and the operations
/// in the order they run. Running deployments are stopped first; the application waits
/// until none runs.
pub fn retire(names: &Names, found: &Found, remains: &Remains) -> (PlannedTier, Vec<Op>) {
    let (mut delete, mut ops) = (Vec::new(), Vec::new());
    let mut add = |kind: &str, id: &str| {
        delete.push(Resource {
            kind: kind.into(),
            id: id.into(),
        })
    };
    for id in &remains.running_deployments {
        add("codedeploy deployment (stopped)", id);
        ops.push(Op::StopDeployment { id: id.clone() });
    }
    if remains.application {
        add("codedeploy application", &names.codedeploy_application());
        for group in &remains.deployment_groups {
            add("codedeploy deployment group", group);
        }
        if remains.running_deployments.is_empty() {
            ops.push(Op::DeleteApplication);
        }
    }
    for alarm in &remains.alarms {
        add("cloudwatch alarm", alarm);
    }
    if let Some(probe) = found.probe.iter().flatten().find(|p| !p.vpc_id.is_empty()) {
        add(PROBE_ATTACHMENT, &probe.vpc_id);
        let vpc = probe.vpc_id.clone();
        ops.push(Op::DetachProbe { vpc });
    }
    if !remains.alarms.is_empty() {
        let names = remains.alarms.clone();
        ops.push(Op::DeleteAlarms { names });
    }
    let tier = PlannedTier {
        tier: "delivery".into(),
        delete,
        keep: vec![],
        refuse: vec![],
    };
    (tier, ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProbeAttachment;
    use resources::plan::Action;

    fn spec() -> Spec {
        let dimensions = |colour: &str| {
            (
                "net/v-nlb/1".to_string(),
                format!("targetgroup/v-{colour}/2"),
            )
        };
        Spec {
            names: Names::new("v"),
            engine: Engine::Codedeploy,
            termination_wait_minutes: 5,
            alarm_dimensions: [("blue", dimensions("blue")), ("green", dimensions("green"))].into(),
            prod_listener: "arn:l80".into(),
            test_listener: "arn:l8080".into(),
            service_role: Some("arn:role".into()),
            probe_subnets: vec!["subnet-a".into(), "subnet-b".into()],
            probe_group: "sg-probe".into(),
        }
    }

    fn converged(spec: &Spec) -> Found {
        let alarm = |colour: &str| Alarm {
            namespace: "AWS/NetworkELB".into(),
            metric: "UnHealthyHostCount".into(),
            statistic: "Maximum".into(),
            period: Some(60),
            evaluation_periods: Some(2),
            threshold: Some(0.0),
            comparison: "GreaterThanThreshold".into(),
            treat_missing_data: "notBreaching".into(),
            dimensions: vec![
                ("LoadBalancer".into(), "net/v-nlb/1".into()),
                ("TargetGroup".into(), format!("targetgroup/v-{colour}/2")),
            ],
        };
        Found {
            alarms: [
                ("blue".into(), alarm("blue")),
                ("green".into(), alarm("green")),
            ]
            .into(),
            application: true,
            deployment_group: Some(DeploymentGroup {
                termination_wait_minutes: Some(spec.termination_wait_minutes),
                deployment_config: DEPLOYMENT_CONFIG.into(),
                target_groups: vec!["v-blue".into(), "v-green".into()],
                prod_listeners: vec!["arn:l80".into()],
                test_listeners: vec!["arn:l8080".into()],
                services: vec![(spec.names.cluster(), spec.names.service())],
                service_role: "arn:role".into(),
                rollback_enabled: true,
                rollback_events: ROLLBACK_EVENTS.iter().map(|e| e.to_string()).collect(),
            }),
            probe: Some(Some(ProbeAttachment {
                vpc_id: "vpc-1".into(),
                subnets: spec.probe_subnets.clone(),
                security_groups: vec![spec.probe_group.clone()],
            })),
        }
    }

    #[test]
    fn under_the_ecs_engine_nothing_is_made_in_codedeploy_and_what_is_left_of_it_goes() {
        let spec = Spec {
            engine: Engine::Ecs,
            ..spec()
        };
        let new = Found {
            probe: Some(None),
            ..Found::default()
        };
        assert_eq!(
            diff(&spec, &new).ops,
            vec![
                Op::PutAlarm { colour: "blue" },
                Op::PutAlarm { colour: "green" },
                Op::AttachProbe,
            ]
        );
        let left_over = diff(&spec, &converged(&spec));
        assert_eq!(left_over.ops, vec![Op::DeleteApplication]);
        let application = left_over
            .items
            .iter()
            .find(|i| i.kind == "codedeploy-application")
            .expect("the left-over application is listed");
        assert_eq!(application.action, Action::Change, "{application:#?}");
    }

    #[test]
    fn a_converged_tier_plans_nothing_and_a_new_one_everything() {
        let spec = spec();
        let plan = diff(&spec, &converged(&spec));
        assert_eq!(plan.ops, vec![]);
        assert!(
            plan.items.iter().all(|i| i.action == Action::Keep),
            "{:#?}",
            plan.items
        );
        let new = Found {
            probe: Some(None),
            ..Found::default()
        };
        assert_eq!(
            diff(&spec, &new).ops,
            vec![
                Op::PutAlarm { colour: "blue" },
                Op::PutAlarm { colour: "green" },
                Op::CreateApplication,
                Op::CreateDeploymentGroup,
                Op::AttachProbe,
            ]
        );
    }

    #[test]
    fn a_drifted_alarm_and_a_moved_probe_are_put_back_and_a_changed_group_is_left() {
        let spec = spec();
        let mut found = converged(&spec);
        found.alarms.get_mut("green").unwrap().threshold = Some(3.0);
        found.probe = Some(Some(ProbeAttachment::default()));
        found
            .deployment_group
            .as_mut()
            .unwrap()
            .termination_wait_minutes = Some(60);
        let plan = diff(&spec, &found);
        assert_eq!(
            plan.ops,
            vec![Op::PutAlarm { colour: "green" }, Op::AttachProbe]
        );
        let group = plan
            .items
            .iter()
            .find(|i| i.kind == "deployment-group")
            .unwrap();
        assert_eq!(group.action, Action::CannotChangeInPlace);
    }

    #[test]
    fn teardown_stops_running_deployments_before_the_application_goes() {
        let (found, names) = (converged(&spec()), Names::new("v"));
        let mut remains = Remains {
            application: true,
            deployment_groups: vec![names.deployment_group()],
            running_deployments: vec!["d-1".into()],
            alarms: vec![names.alarm("blue")],
        };
        let (tier, ops) = retire(&names, &found, &remains);
        let kinds: Vec<&str> = tier.delete.iter().map(|r| r.kind.as_str()).collect();
        let first = ["codedeploy deployment (stopped)", "codedeploy application"];
        assert_eq!(kinds[..2], first);
        assert_eq!(kinds[3..], ["cloudwatch alarm", PROBE_ATTACHMENT]);
        let vpc = "vpc-1".to_string();
        let (detach, alarms) = (
            Op::DetachProbe { vpc },
            Op::DeleteAlarms {
                names: remains.alarms.clone(),
            },
        );
        let stop = Op::StopDeployment { id: "d-1".into() };
        assert_eq!(ops, [stop, detach.clone(), alarms.clone()]);
        remains.running_deployments.clear();
        let ops = retire(&names, &found, &remains).1;
        assert_eq!(ops, [Op::DeleteApplication, detach, alarms]);
    }
}
