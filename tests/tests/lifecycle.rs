//! One lifecycle per resource: what `vikunja-aws plan` lists for a tier is what `up` then
//! does — the same diff produces both. For the tiers built on `resources` (network, load
//! balancer, data, frontend, backend, delivery), each plan item names its operations, and `up` records the operations it
//! carried out in the tier's inventory (`changes`).

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, IpRange};
use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
use aws_sdk_s3::types::NotificationConfiguration;
use serde_json::{json, Value};
use vikunja_aws::follow;
use vikunja_aws::plan::{self, Plan};
use vikunja_aws::target::Target;
use vikunja_tests::{find, Harness};

async fn plan_of(h: &Harness, stack: &str) -> Plan {
    let path = std::env::temp_dir().join(format!("vikunja-lifecycle-{stack}.json"));
    std::fs::write(&path, "{}").unwrap();
    let settings = follow::load_settings(stack, Some(&path), Target::Local).unwrap();
    plan::plan(&h.aws, &settings).await.expect("plan")
}

/// The operations the plan lists for one tier, in order.
fn planned(plan: &Plan, tier: &str) -> Vec<String> {
    plan.tiers
        .iter()
        .filter(|t| t.tier == tier)
        .flat_map(|t| t.items.iter().flat_map(|i| i.actions.clone()))
        .collect()
}

/// The operations the last `up` recorded for one tier.
async fn performed(h: &Harness, stack: &str, tier: &str) -> Vec<String> {
    let recorded = h
        .clients
        .ssm
        .get_parameter()
        .name(format!("/vikunja/{stack}/{tier}"))
        .send()
        .await
        .expect("the tier's inventory");
    let value: Value =
        serde_json::from_str(recorded.parameter().unwrap().value().unwrap()).unwrap();
    value["changes"]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The tiers whose operations the plan names.
const TIERS: [&str; 6] = [
    "network",
    "loadbalancer",
    "data",
    "frontend",
    "backend",
    "delivery",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_operations_up_performs_are_the_ones_plan_listed() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("life");
    h.bootstrap(&stack).await.expect("bootstrap");

    // A stack never provisioned: every operation of a new network, and exactly those.
    let first = plan_of(&h, &stack).await;
    let before = planned(&first, "network");
    assert!(
        before[0].starts_with(&format!("create VPC {stack}-network-vpc")),
        "{before:#?}"
    );
    assert_eq!(before.len(), 30, "{before:#?}");
    let lb_before = planned(&first, "loadbalancer");
    assert_eq!(
        lb_before[0],
        format!(
            "create Network Load Balancer {stack}-nlb (internet-facing, in the public subnets)"
        )
    );
    assert_eq!(lb_before.len(), 7, "{lb_before:#?}");
    let data_before = planned(&first, "data");
    assert_eq!(data_before.len(), 8, "{data_before:#?}");
    let frontend_before = planned(&first, "frontend");
    assert_eq!(frontend_before.len(), 7, "{frontend_before:#?}");
    let backend_before = planned(&first, "backend");
    assert_eq!(
        backend_before[0],
        format!("create repository {stack}/vikunja (ECR, tags immutable, scan on push)")
    );
    assert_eq!(backend_before.len(), 7, "{backend_before:#?}");
    let delivery_before = planned(&first, "delivery");
    assert_eq!(delivery_before.len(), 5, "{delivery_before:#?}");
    h.provision(&stack, json!({})).await.expect("up");
    assert_eq!(performed(&h, &stack, "frontend").await, frontend_before);
    assert_eq!(performed(&h, &stack, "backend").await, backend_before);
    assert_eq!(performed(&h, &stack, "network").await, before);
    assert_eq!(performed(&h, &stack, "loadbalancer").await, lb_before);
    assert_eq!(performed(&h, &stack, "data").await, data_before);
    assert_eq!(performed(&h, &stack, "delivery").await, delivery_before);

    // Converged: nothing planned, nothing done.
    let converged = plan_of(&h, &stack).await;
    for tier in TIERS {
        assert_eq!(planned(&converged, tier), Vec::<String>::new(), "{tier}");
    }
    h.provision(&stack, json!({})).await.expect("up again");
    for tier in TIERS {
        assert_eq!(
            performed(&h, &stack, tier).await,
            Vec::<String>::new(),
            "{tier}"
        );
    }

    // Drift in three places: a rule revoked, an attribute off, an egress rule added.
    let ec2 = &h.clients.ec2;
    let vpc = find::vpc_id(ec2, &stack).await;
    let lb = find::security_group_id(ec2, &format!("{stack}-network-lb")).await;
    let probe = find::security_group_id(ec2, &format!("{stack}-network-probe")).await;
    let tcp = |port: i32, cidr: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    };
    ec2.revoke_security_group_ingress()
        .group_id(&lb)
        .ip_permissions(tcp(8080, "10.42.0.0/16"))
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&probe)
        .ip_permissions(tcp(443, "0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .unwrap();
    // … and in the load balancer: a health check pointed elsewhere, a delay back at AWS's default.
    let elb = &h.clients.elb;
    let group_arn = |colour: &str| {
        let name = format!("{stack}-{colour}");
        async move { find::target_group_arn(elb, &name).await }
    };
    elb.modify_target_group()
        .target_group_arn(group_arn("blue").await)
        .health_check_path("/")
        .send()
        .await
        .unwrap();
    elb.modify_target_group_attributes()
        .target_group_arn(group_arn("green").await)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("300")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // … and in the data tier: the service secret scheduled for deletion.
    h.clients
        .secrets
        .delete_secret()
        .secret_id(format!("{stack}/backend/service-secret"))
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    // … and in delivery: the green alarm deleted.
    h.clients
        .cloudwatch
        .delete_alarms()
        .alarm_names(format!("{stack}-delivery-green-unhealthy"))
        .send()
        .await
        .unwrap();

    // … and in the frontend: the uploads bucket's tags and its events gone.
    let uploads = format!("{stack}-uploads-123456789012-us-east-1");
    h.clients
        .s3
        .delete_bucket_tagging()
        .bucket(&uploads)
        .send()
        .await
        .unwrap();
    h.clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(&uploads)
        .notification_configuration(NotificationConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    // … and in the backend: the log group's retention off, the scaling bounds moved.
    h.clients
        .logs
        .delete_retention_policy()
        .log_group_name(format!("/vikunja/{stack}/backend"))
        .send()
        .await
        .unwrap();
    h.clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/{stack}/{stack}-backend-api"))
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(9)
        .send()
        .await
        .unwrap();

    let drifted = plan_of(&h, &stack).await;
    let repairs = planned(&drifted, "network");
    assert_eq!(
        repairs,
        [
            format!("enable DNS hostnames on {stack}-network-vpc"),
            format!("allow tcp/8080 into {stack}-network-lb from 10.42.0.0/16"),
            format!("revoke egress tcp 443-443 to 0.0.0.0/0 of {stack}-network-probe"),
        ]
    );
    let lb_repairs = planned(&drifted, "loadbalancer");
    assert_eq!(
        lb_repairs,
        [
            format!("set the health check of {stack}-blue to HTTP /health every 10 s"),
            format!("set the deregistration delay of {stack}-green to 30 s"),
        ]
    );
    let data_repairs = planned(&drifted, "data");
    assert_eq!(
        data_repairs,
        [format!(
            "restore secret {stack}/backend/service-secret from its scheduled deletion"
        )]
    );
    let frontend_repairs = planned(&drifted, "frontend");
    assert_eq!(
        frontend_repairs,
        [
            format!("tag bucket {uploads}"),
            format!("send the events of bucket {uploads} to EventBridge"),
        ]
    );
    let backend_repairs = planned(&drifted, "backend");
    assert_eq!(
        backend_repairs,
        [
            format!("set the retention of /vikunja/{stack}/backend to 30 days"),
            format!("register scalable target service/{stack}/{stack}-backend-api (1–4 tasks)"),
        ]
    );
    let delivery_repairs = planned(&drifted, "delivery");
    assert_eq!(
        delivery_repairs,
        [format!(
            "put alarm {stack}-delivery-green-unhealthy (unhealthy green targets for 2 minutes)"
        )]
    );
    h.provision(&stack, json!({})).await.expect("up repairs");
    assert_eq!(
        performed(&h, &stack, "network").await,
        repairs,
        "up did what plan listed, and only that"
    );
    assert_eq!(performed(&h, &stack, "loadbalancer").await, lb_repairs);
    assert_eq!(performed(&h, &stack, "data").await, data_repairs);
    assert_eq!(performed(&h, &stack, "frontend").await, frontend_repairs);
    assert_eq!(performed(&h, &stack, "backend").await, backend_repairs);
    assert_eq!(performed(&h, &stack, "delivery").await, delivery_repairs);
    let repaired = plan_of(&h, &stack).await;
    for tier in TIERS {
        assert_eq!(planned(&repaired, tier), Vec::<String>::new(), "{tier}");
    }
}
