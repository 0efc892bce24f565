use super::*;
use serde_json::json;

fn parsed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn target(address: &str, state: &str, reason: Option<&str>) -> TargetHealth {
    TargetHealth {
        target: address.into(),
        state: state.into(),
        reason: reason.map(str::to_string),
    }
}

/// A stack as `up` and one release of each kind leave it: every tier answering.
pub(crate) fn healthy() -> Observed {
    Observed {
        stack: "demo".into(),
        network: Some(parsed(json!({
            "vpcId": "vpc-1", "vpcCidr": "10.42.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"],
            "publicSubnetIds": [], "isolatedSubnetIds": [], "internetGatewayId": "igw",
            "publicRouteTableId": "rtb", "isolatedRouteTableId": "rtb-i", "lbSecurityGroupId": "sg-lb",
            "appSecurityGroupId": "sg-app", "dbSecurityGroupId": "sg-db"
        }))),
        vpc_found: true,
        data: Some(parsed(json!({
            "dbInstanceId": "demo-data-mysql", "status": "available", "dbName": "vikunja",
            "username": "vikunja", "serviceSecretArn": "arn:secret", "subnetGroup": "demo-data",
            "waitingSince": 0
        }))),
        database: Some(Database {
            status: "available".into(),
            engine: "mysql".into(),
            engine_version: "8.0.40".into(),
            class: "db.t4g.micro".into(),
        }),
        load_balancer: Some(parsed(json!({
            "loadBalancerArn": "arn:lb", "dnsName": "demo-nlb.example", "prodListenerArn": "arn:l80",
            "testListenerArn": "arn:l8080", "blueTargetGroupArn": "arn:tg-blue",
            "greenTargetGroupArn": "arn:tg-green", "blueTargetGroupName": "demo-blue",
            "greenTargetGroupName": "demo-green"
        }))),
        live_group: Some("arn:tg-green".into()),
        test_group: Some("arn:tg-green".into()),
        groups: vec![
            ("blue".into(), "arn:tg-blue".into(), Some(vec![])),
            (
                "green".into(),
                "arn:tg-green".into(),
                Some(vec![target("10.0.1.5:3456", "healthy", None)]),
            ),
        ],
        backend: Some(parsed(json!({
            "repositoryName": "demo", "repositoryUri": "1.dkr.ecr/demo", "logGroup": "/ecs/demo",
            "cluster": "demo-backend", "service": "demo-backend", "serviceArn": "arn:svc",
            "taskDefinitionArn": "arn:td:3", "containerName": "vikunja", "containerPort": 3456
        }))),
        service: Some(Service {
            status: "ACTIVE".into(),
            desired: 1,
            running: 1,
            version: "2.5.1".into(),
        }),
        frontend: Some(parsed(json!({
            "siteBucket": "demo-site", "uploadsBucket": "demo-uploads", "distributionId": "E1",
            "distributionArn": "arn:cf", "domainName": "d1.cloudfront.net", "url": "https://d1.cloudfront.net",
            "apiUrl": "https://d1.cloudfront.net/api/v1", "originAccessControlId": "oac",
            "spaFunctionArn": "arn:fn"
        }))),
        distribution: Some(Distribution {
            id: "E1".into(),
            status: "Deployed".into(),
            enabled: true,
        }),
        frontend_version: Some("2.5.1-web".into()),
        delivery: Some(parsed(json!({
            "application": "demo", "deploymentGroup": "demo-backend",
            "deploymentConfig": "CodeDeployDefault.ECSAllAtOnce", "alarms": ["demo-delivery-blue"]
        }))),
        alarms_in_alarm: vec![],
        domain: None,
        releases: vec![Run {
            workflow: "backend".into(),
            execution: "e1".into(),
            version: "2.5.1".into(),
            status: "SUCCEEDED".into(),
            started: "2026-12-02T10:00:00Z".into(),
            seconds: Some(42.0),
            error: None,
        }],
        ..Observed::default()
    }
}

fn verdict<'a>(report: &'a Report, tier: &str) -> &'a Verdict {
    report.tiers.iter().find(|t| t.tier == tier).unwrap()
}

#[test]
fn a_stack_with_every_tier_answering_is_healthy_with_the_live_colour_and_versions() {
    let report = judge(&healthy());
    assert!(report.healthy, "{report:#?}");
    assert!(report.tiers.iter().all(|t| t.hint.is_none()));
    assert_eq!(report.live_colour.as_deref(), Some("green"));
    assert_eq!(report.backend_version.as_deref(), Some("2.5.1"));
    assert_eq!(
        verdict(&report, "loadbalancer").summary,
        "green live, 1 of 1 targets healthy; demo-nlb.example"
    );
    assert_eq!(
        verdict(&report, "backend").summary,
        "vikunja 2.5.1 on green, 1 of 1 tasks running"
    );
    let groups: Vec<(&str, bool, usize)> = report
        .target_groups
        .iter()
        .map(|g| (g.colour.as_str(), g.live, g.healthy))
        .collect();
    assert_eq!(groups, [("blue", false, 0), ("green", true, 1)]);
    let text = render(&report);
    assert!(text.starts_with("stack demo: healthy\n"), "{text}");
    assert!(text.contains("✓ data"), "{text}");
    assert!(!text.contains('✗'), "{text}");
}

#[test]
fn an_unhealthy_live_target_makes_the_stack_unhealthy_and_names_the_command_that_shows_more() {
    let mut o = healthy();
    o.groups[1].2 = Some(vec![target(
        "10.0.1.5:3456",
        "unhealthy",
        Some("Target.Timeout: Request timed out"),
    )]);
    let report = judge(&o);
    assert!(!report.healthy);
    let lb = verdict(&report, "loadbalancer");
    assert!(!lb.healthy);
    assert_eq!(
        lb.summary,
        "green (live): 0 of 1 targets healthy: 10.0.1.5:3456 unhealthy (Target.Timeout: Request timed out)"
    );
    assert_eq!(
        lb.hint.as_deref(),
        Some("aws elbv2 describe-target-health --target-group-arn arn:tg-green")
    );
    let text = render(&report);
    assert!(text.starts_with("stack demo: NOT healthy"), "{text}");
    assert!(text.contains("✗ loadbalancer"), "{text}");
}

#[test]
fn one_of_two_live_targets_unhealthy_is_wrong_but_an_idle_colour_is_not_judged() {
    let mut o = healthy();
    o.groups[1].2 = Some(vec![
        target("10.0.1.5:3456", "healthy", None),
        target(
            "10.0.2.5:3456",
            "unhealthy",
            Some("Target.FailedHealthChecks"),
        ),
    ]);
    let lb = judge(&o).tiers[2].clone();
    assert!(!lb.healthy);
    assert!(
        lb.summary.contains("1 of 2 targets healthy"),
        "{}",
        lb.summary
    );

    let mut o = healthy();
    o.groups[0].2 = Some(vec![target("10.0.9.9:3456", "unhealthy", None)]);
    assert!(judge(&o).healthy, "the idle colour serves no one");
}

#[test]
fn no_targets_in_the_live_group_or_a_listener_forwarding_nowhere_is_wrong() {
    let mut o = healthy();
    o.groups[1].2 = Some(vec![]);
    let lb = judge(&o).tiers[2].clone();
    assert!(!lb.healthy);
    assert!(
        lb.summary.ends_with("no targets registered"),
        "{}",
        lb.summary
    );

    o.live_group = None;
    let report = judge(&o);
    assert_eq!(report.live_colour, None);
    let lb = verdict(&report, "loadbalancer");
    assert_eq!(
        lb.summary,
        "the production listener forwards to neither target group"
    );
    assert_eq!(
        lb.hint.as_deref(),
        Some("aws elbv2 describe-listeners --listener-arns arn:l80")
    );
}

#[test]
fn a_database_not_available_says_its_status_and_where_its_events_are() {
    let mut o = healthy();
    o.database.as_mut().unwrap().status = "storage-full".into();
    let data = judge(&o).tiers[1].clone();
    assert!(!data.healthy);
    assert_eq!(data.summary, "database demo-data-mysql is storage-full");
    assert!(data.hint.unwrap().starts_with(
        "aws rds describe-events --source-type db-instance --source-identifier demo-data-mysql"
    ));

    o.database = None;
    let data = judge(&o).tiers[1].clone();
    assert_eq!(
        data.summary,
        "database demo-data-mysql is recorded but gone"
    );
    assert_eq!(data.hint.as_deref(), Some("vikunja-aws plan --stack demo"));
}

#[test]
fn fewer_tasks_running_than_desired_points_at_the_logs() {
    let mut o = healthy();
    o.service.as_mut().unwrap().desired = 2;
    let backend = judge(&o).tiers[3].clone();
    assert!(!backend.healthy);
    assert_eq!(backend.summary, "vikunja 2.5.1: 1 of 2 tasks running");
    assert_eq!(
        backend.hint.as_deref(),
        Some("aws logs tail /ecs/demo --since 30m")
    );
    o.service.as_mut().unwrap().status = "DRAINING".into();
    assert_eq!(
        judge(&o).tiers[3].summary,
        "service demo-backend is DRAINING"
    );
}

#[test]
fn a_frontend_without_a_build_tells_how_to_publish_one() {
    let mut o = healthy();
    o.frontend_version = None;
    let frontend = judge(&o).tiers[4].clone();
    assert!(!frontend.healthy);
    assert_eq!(
        frontend.summary,
        "https://d1.cloudfront.net serves no build yet"
    );
    assert_eq!(
        frontend.hint.as_deref(),
        Some("vikunja-aws release frontend --stack demo <build dir or zip>")
    );
    let mut o = healthy();
    o.distribution.as_mut().unwrap().status = "InProgress".into();
    let frontend = judge(&o).tiers[4].clone();
    assert!(frontend.healthy, "InProgress still serves");
    assert!(frontend.summary.ends_with("(distribution InProgress)"));
}

#[test]
fn an_alarm_in_alarm_is_named_with_its_reason_and_history() {
    let mut o = healthy();
    o.alarms_in_alarm = vec![Alarm {
        name: "demo-delivery-green-unhealthy".into(),
        reason: "Threshold Crossed: 1 datapoint [1.0] was >= 1.0".into(),
    }];
    let delivery = judge(&o).tiers[5].clone();
    assert!(!delivery.healthy);
    assert!(delivery
        .summary
        .starts_with("in ALARM: demo-delivery-green-unhealthy (Threshold Crossed"));
    assert_eq!(
        delivery.hint.as_deref(),
        Some("aws cloudwatch describe-alarm-history --alarm-name demo-delivery-green-unhealthy --max-records 5")
    );
}

#[test]
fn a_rolled_back_last_release_is_reported_but_production_stays_healthy() {
    let mut o = healthy();
    o.releases.insert(
        0,
        Run {
            workflow: "backend".into(),
            execution: "e2".into(),
            version: "2.5.2-broken".into(),
            status: "FAILED".into(),
            started: "2026-12-02T11:00:00Z".into(),
            seconds: Some(61.0),
            error: Some("ReleaseRolledBack: green failed the smoke test\nmore".into()),
        },
    );
    let report = judge(&o);
    assert!(report.healthy);
    assert!(verdict(&report, "delivery")
        .summary
        .ends_with("last release 2.5.2-broken failed (rolled back)"));
    let text = render(&report);
    assert!(
        text.contains("2.5.2-broken") && text.contains("FAILED") && text.contains(" in 61 s"),
        "{text}"
    );
    assert!(
        text.contains(": ReleaseRolledBack: green failed the smoke test\n"),
        "only the first line: {text}"
    );
}

#[test]
fn nothing_provisioned_says_so_per_tier_and_points_at_up() {
    let report = judge(&Observed {
        stack: "demo".into(),
        ..Observed::default()
    });
    assert!(!report.healthy);
    assert_eq!(report.tiers.len(), 6);
    for tier in &report.tiers {
        assert_eq!(tier.summary, "not provisioned", "{tier:?}");
        assert_eq!(tier.hint.as_deref(), Some("vikunja-aws up --stack demo"));
    }
}

#[test]
fn an_own_domain_is_judged_only_when_configured() {
    let mut o = healthy();
    o.domain = Some(DomainOutputs::default());
    assert_eq!(judge(&o).tiers.len(), 6);
    o.domain = Some(DomainOutputs {
        domain: Some("todo.example.com".into()),
        site_certificate_status: Some("PENDING_VALIDATION".into()),
        origin_certificate_status: Some("ISSUED".into()),
        ..DomainOutputs::default()
    });
    let report = judge(&o);
    let domain = verdict(&report, "domain");
    assert!(!domain.healthy);
    assert_eq!(
        domain.summary,
        "todo.example.com: certificates not issued (site PENDING_VALIDATION, origin ISSUED)"
    );
}

#[test]
fn the_released_version_comes_from_the_event_that_started_the_release() {
    let push =
        json!({"detail": {"action-type": "PUSH", "image-tag": "2.5.1", "repository-name": "demo"}});
    assert_eq!(released_version(&push), "2.5.1");
    let upload = json!({"detail": {"bucket": {"name": "demo-uploads"}, "object": {"key": "frontend/2.5.1-web.zip"}}});
    assert_eq!(released_version(&upload), "2.5.1-web");
    assert_eq!(released_version(&json!({})), "?");
}
