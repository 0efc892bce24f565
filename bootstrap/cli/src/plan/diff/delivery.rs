//! Delivery: the unhealthy-host alarms, the CodeDeploy application and deployment group, and
//! the smoke-test probe's place in the VPC.

use super::*;

pub(super) fn delivery(d: &Desired, o: &Observed) -> Vec<Item> {
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
            .and_then(|l| ::delivery::alarms::load_balancer_dimension(&l.arn).ok())
            .unwrap_or_else(|| new("load balancer"));
        let want_group = lb
            .target_groups
            .get(colour)
            .and_then(|g| ::delivery::alarms::target_group_dimension(&g.arn).ok())
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
                ::delivery::handler::DEPLOYMENT_CONFIG,
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
                ::delivery::handler::DEPLOYMENT_CONFIG,
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
    items.extend(probe_attachment(d, o));
    items
}

/// The hook's probe joins the VPC here (the bootstrap stack makes it outside any VPC).
fn probe_attachment(d: &Desired, o: &Observed) -> Option<Item> {
    let attached = o.delivery.probe.as_ref()?;
    let name = d.names.probe_function();
    let subnets = found_subnets(d, o, "public");
    let group = found_group(o, "probe");
    let Some(attached) = attached else {
        return Some(create(
            "probe-vpc-attachment",
            &name,
            Some("the public subnets, the probe group".into()),
        ));
    };
    let mut check = Check::existing("probe-vpc-attachment", &name, "");
    let mut wanted_subnets = subnets.unwrap_or_else(|| vec![new("public subnets")]);
    wanted_subnets.sort();
    check.compare(
        "subnets",
        attached.subnets.join(", "),
        wanted_subnets.join(", "),
        How::InPlace,
        None,
    );
    check.compare(
        "securityGroups",
        attached.security_groups.join(", "),
        group.unwrap_or_else(|| new("probe group")),
        How::InPlace,
        None,
    );
    Some(check.done())
}
