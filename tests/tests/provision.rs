//! The provision workflow end to end on the local AWS stack, checked through the AWS APIs
//! the way a user would check it.

use aws_sdk_ec2::types::Filter;
use serde_json::json;
use vikunja_tests::find::{self, by_stack};
use vikunja_tests::{Clients, Harness};

/// How many resources of each kind carry the stack's tag: a second run must not change it.
async fn census(h: &Harness, stack: &str) -> Vec<(&'static str, usize)> {
    let Clients {
        elb,
        ecs,
        rds,
        cloudfront,
        secrets,
        ..
    } = &h.clients;
    let network = find::network(&h.clients.ec2, stack).await;
    let lbs = elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
        .iter()
        .filter(|l| {
            l.load_balancer_name()
                .unwrap_or_default()
                .starts_with(&format!("{stack}-"))
        })
        .count();
    let tgs = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
        .iter()
        .filter(|t| {
            t.target_group_name()
                .unwrap_or_default()
                .starts_with(&format!("{stack}-"))
        })
        .count();
    let databases = rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
        .iter()
        .filter(|d| {
            d.db_instance_identifier()
                .unwrap_or_default()
                .starts_with(&format!("{stack}-"))
        })
        .count();
    let distributions = cloudfront
        .list_distributions()
        .send()
        .await
        .unwrap()
        .distribution_list()
        .map(|l| {
            l.items()
                .iter()
                .filter(|d| d.comment() == format!("vikunja-aws stack {stack}"))
                .count()
        })
        .unwrap_or(0);
    let task_definitions = ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-backend-api"))
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .len();
    let services = ecs
        .list_services()
        .cluster(stack)
        .send()
        .await
        .unwrap()
        .service_arns()
        .len();
    let secret_count = secrets
        .list_secrets()
        .send()
        .await
        .unwrap()
        .secret_list()
        .iter()
        .filter(|s| {
            s.name()
                .unwrap_or_default()
                .starts_with(&format!("{stack}/"))
        })
        .count();
    vec![
        ("vpcs", network.vpcs.len()),
        ("subnets", network.subnets.len()),
        ("security groups", network.security_groups.len()),
        ("internet gateways", network.internet_gateways.len()),
        ("route tables", network.route_tables.len()),
        ("load balancers", lbs),
        ("target groups", tgs),
        ("databases", databases),
        ("distributions", distributions),
        ("task definitions", task_definitions),
        ("services", services),
        ("service secrets", secret_count),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_builds_every_tier_and_a_second_run_creates_nothing() {
    let h = Harness::new().await;
    let (stack, outputs) = h.provisioned("prov").await;
    assert_eq!(outputs["stack"], stack);
    let url = outputs["frontendUrl"].as_str().unwrap();
    assert!(
        url.starts_with("https://") && url.ends_with(".cloudfront.net"),
        "{url}"
    );
    assert_eq!(outputs["apiUrl"].as_str().unwrap(), format!("{url}/api/v1"));
    assert!(outputs["databaseEndpoint"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));

    let clients = &h.clients;
    check_network(clients, &stack).await;
    check_data(clients, &stack).await;
    check_load_balancer(clients, &stack).await;
    check_backend(clients, &stack, url).await;
    check_frontend(clients, &stack, &outputs).await;
    check_delivery(clients, &stack).await;
    check_wait_progress(&h, &stack).await;

    let before = census(&h, &stack).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "every kind exists: {before:?}"
    );
    let again = h
        .provision(&stack, json!({}))
        .await
        .expect("second provision");
    assert_eq!(again, outputs, "a re-run reports the same stack");
    assert_eq!(
        census(&h, &stack).await,
        before,
        "a second run creates nothing"
    );
}

/// What `up` shows while the workflow waits, replayed over this run's real history: the
/// local stack's database reports `creating` for a few seconds, so the data branch loops.
async fn check_wait_progress(h: &Harness, stack: &str) {
    let lines = vikunja_tests::waits::replayed(h, stack, "ProvisionStateMachineArn").await;
    println!(
        "the provision's waits, as plain lines:\n  {}",
        lines.join("\n  ")
    );
    assert!(
        lines.first().is_some_and(|l| {
            l.starts_with(&format!("data: waiting for the database {stack}"))
                && l.ends_with("(creating)")
        }),
        "{lines:?}"
    );
    let ended = lines.last().expect("lines");
    assert!(
        ended.starts_with("data: waited ") && ended.ends_with(" for the database and files"),
        "{lines:?}"
    );
}

async fn check_network(clients: &Clients, stack: &str) {
    let ec2 = &clients.ec2;
    let vpcs = find::vpcs(ec2, stack).await;
    assert_eq!(vpcs.len(), 1);
    let vpc = &vpcs[0];
    assert_eq!(vpc.cidr_block(), Some("10.42.0.0/16"));
    let vpc_id = vpc.vpc_id().unwrap();
    assert_eq!(find::dns_hostnames(ec2, vpc_id).await, Some(true));

    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    let named = |role: &str| -> Vec<aws_sdk_ec2::types::Subnet> {
        subnets
            .subnets()
            .iter()
            .filter(|s| {
                s.tags().iter().any(|t| {
                    t.key() == Some("Name")
                        && t.value().unwrap_or_default().contains(&format!("-{role}-"))
                })
            })
            .cloned()
            .collect()
    };
    let (public, isolated) = (named("public"), named("isolated"));
    assert_eq!((public.len(), isolated.len()), (2, 2));
    for pair in [&public, &isolated] {
        assert_ne!(
            pair[0].availability_zone(),
            pair[1].availability_zone(),
            "two zones"
        );
    }

    let tables = ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    let table_of = |subnet: &str| {
        tables
            .route_tables()
            .iter()
            .find(|t| {
                t.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet))
            })
            .unwrap_or_else(|| panic!("subnet {subnet} has an explicit route table"))
            .clone()
    };
    for subnet in &public {
        let routes = table_of(subnet.subnet_id().unwrap());
        assert!(
            routes
                .routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                    && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))),
            "public subnets route to the internet gateway"
        );
    }
    for subnet in &isolated {
        let routes = table_of(subnet.subnet_id().unwrap());
        assert!(
            routes
                .routes()
                .iter()
                .all(|r| !r.gateway_id().is_some_and(|g| g.starts_with("igw-"))),
            "isolated subnets have no route to the internet"
        );
    }

    let groups = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    let group = |role: &str| {
        groups
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some(&format!("{stack}-network-{role}")))
            .unwrap_or_else(|| panic!("security group {role}"))
            .clone()
    };
    let (lb, app, db) = (group("lb"), group("app"), group("db"));
    let sources = |g: &aws_sdk_ec2::types::SecurityGroup| -> Vec<(i32, Vec<String>, Vec<String>)> {
        let mut rules: Vec<_> = g
            .ip_permissions()
            .iter()
            .map(|p| {
                (
                    p.from_port().unwrap_or(-1),
                    p.ip_ranges()
                        .iter()
                        .filter_map(|r| r.cidr_ip().map(str::to_string))
                        .collect(),
                    p.user_id_group_pairs()
                        .iter()
                        .filter_map(|u| u.group_id().map(str::to_string))
                        .collect(),
                )
            })
            .collect();
        rules.sort();
        rules
    };
    assert_eq!(
        sources(&lb),
        vec![
            (80, vec![], vec![]),
            (8080, vec!["10.42.0.0/16".to_string()], vec![])
        ],
        "production from no address range (CloudFront's prefix list below), test listener from the VPC only"
    );
    let prefix_lists: Vec<&str> = lb
        .ip_permissions()
        .iter()
        .filter(|p| p.from_port() == Some(80))
        .flat_map(|p| p.prefix_list_ids())
        .filter_map(|p| p.prefix_list_id())
        .collect();
    let cloudfront = ec2
        .describe_managed_prefix_lists()
        .filters(
            Filter::builder()
                .name("prefix-list-name")
                .values("com.amazonaws.global.cloudfront.origin-facing")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        prefix_lists,
        vec![cloudfront.prefix_lists()[0].prefix_list_id().unwrap()],
        "production only from CloudFront's origin-facing addresses"
    );
    assert_eq!(
        sources(&app),
        vec![(3456, vec![], vec![lb.group_id().unwrap().to_string()])],
        "app only from the load balancer"
    );
    assert_eq!(
        sources(&db),
        vec![(3306, vec![], vec![app.group_id().unwrap().to_string()])],
        "database only from the app"
    );
    let probe = group("probe");
    assert!(
        probe.ip_permissions().is_empty(),
        "nothing may reach the probe"
    );
    let egress: Vec<(String, i32, Vec<String>)> = probe
        .ip_permissions_egress()
        .iter()
        .map(|p| {
            (
                p.ip_protocol().unwrap_or_default().to_string(),
                p.from_port().unwrap_or(-1),
                p.ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip().map(str::to_string))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        egress,
        vec![("tcp".to_string(), 8080, vec!["10.42.0.0/16".to_string()])],
        "the probe may reach the test listener and nothing else"
    );
}

async fn check_data(clients: &Clients, stack: &str) {
    let db = &find::database(&clients.rds, stack).await;
    assert_eq!(db.engine(), Some("mysql"));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert!(
        db.backup_retention_period().unwrap_or(0) > 0,
        "backups kept"
    );
    assert_eq!(
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(format!("{stack}-data-subnets").as_str())
    );
    let secret_arn = db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("RDS manages the master password");
    let secrets = &clients.secrets;
    secrets
        .describe_secret()
        .secret_id(secret_arn)
        .send()
        .await
        .expect("the managed secret exists");
    let service = find::service_secret(secrets, stack).await;
    assert!(service
        .tags()
        .iter()
        .any(|t| t.key() == Some("vikunja:stack") && t.value() == Some(stack)));
}

async fn check_load_balancer(clients: &Clients, stack: &str) {
    let elb = &clients.elb;
    let lb = &find::load_balancer(elb, stack).await;
    assert_eq!(
        lb.r#type(),
        Some(&aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
    );
    let ports = find::listener_ports(elb, lb.load_balancer_arn().unwrap()).await;
    assert_eq!(ports, vec![80, 8080], "production and test listeners");
    for colour in ["blue", "green"] {
        let groups = elb
            .describe_target_groups()
            .names(format!("{stack}-{colour}"))
            .send()
            .await
            .unwrap();
        let group = &groups.target_groups()[0];
        assert_eq!(
            group.target_type(),
            Some(&aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        );
        assert_eq!(group.port(), Some(3456));
        assert_eq!(group.health_check_path(), Some("/health"));
    }
}

async fn check_backend(clients: &Clients, stack: &str, url: &str) {
    let ecs = &clients.ecs;
    let service = &find::backend_service(ecs, stack).await;
    assert_eq!(
        service.deployment_controller().map(|c| c.r#type().as_str()),
        Some("CODE_DEPLOY"),
        "releases go through CodeDeploy"
    );
    assert!(
        service.load_balancers()[0]
            .target_group_arn()
            .unwrap()
            .contains(&format!("{stack}-blue")),
        "first task set behind blue"
    );
    let task = ecs
        .describe_task_definition()
        .task_definition(service.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let container = &task.task_definition().unwrap().container_definitions()[0];
    assert_eq!(container.image(), Some("vikunja/vikunja:2.5.0"));
    assert_eq!(container.port_mappings()[0].container_port(), Some(3456));
    let env: Vec<(&str, &str)> = container
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert!(
        env.contains(&("VIKUNJA_SERVICE_PUBLICURL", format!("{url}/").as_str())),
        "{env:?}"
    );
    assert!(
        env.iter()
            .all(|(k, _)| !k.contains("PASSWORD") && !k.contains("SECRET")),
        "no secret in plain env: {env:?}"
    );
    let secrets: Vec<&str> = container.secrets().iter().map(|s| s.name()).collect();
    assert_eq!(
        secrets,
        vec!["VIKUNJA_DATABASE_PASSWORD", "VIKUNJA_SERVICE_SECRET"]
    );

    let autoscaling = &clients.autoscaling;
    let targets = autoscaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_ids(format!("service/{stack}/{stack}-backend-api"))
        .send()
        .await
        .unwrap();
    let target = &targets.scalable_targets()[0];
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 4));
    let policies = autoscaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!("service/{stack}/{stack}-backend-api"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        policies.scaling_policies()[0].policy_type().as_str(),
        "TargetTrackingScaling"
    );
}

async fn check_frontend(clients: &Clients, stack: &str, outputs: &serde_json::Value) {
    let s3 = &clients.s3;
    let site = outputs["siteBucket"].as_str().unwrap();
    assert_eq!(
        find::public_access_block(s3, site).await,
        (Some(true), Some(true), Some(true), Some(true))
    );
    let cloudfront = &clients.cloudfront;
    let id = outputs["distributionId"].as_str().unwrap();
    let distribution = cloudfront.get_distribution().id(id).send().await.unwrap();
    let distribution = distribution.distribution().unwrap();
    let policy = s3.get_bucket_policy().bucket(site).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"],
        distribution.arn(),
        "bucket readable by this distribution only"
    );
    let uploads = outputs["uploadsBucket"].as_str().unwrap();
    let notifications = s3
        .get_bucket_notification_configuration()
        .bucket(uploads)
        .send()
        .await
        .unwrap();
    assert!(
        notifications.event_bridge_configuration().is_some(),
        "uploads reach EventBridge"
    );

    let config = distribution.distribution_config().unwrap();
    assert_eq!(config.default_root_object(), Some("index.html"));
    let origins = config.origins().unwrap().items();
    assert_eq!(origins.len(), 2);
    let site_origin = origins.iter().find(|o| o.id() == "site").unwrap();
    assert!(site_origin.domain_name().starts_with(site));
    assert!(
        site_origin
            .origin_access_control_id()
            .is_some_and(|o| !o.is_empty()),
        "site read through Origin Access Control"
    );
    let api_origin = origins.iter().find(|o| o.id() == "api").unwrap();
    assert!(
        api_origin.domain_name().contains(&format!("{stack}-nlb")),
        "/api/* goes to the load balancer: {}",
        api_origin.domain_name()
    );
    let behaviours = config.cache_behaviors().unwrap().items();
    assert_eq!(behaviours.len(), 1);
    assert_eq!(
        (
            behaviours[0].path_pattern(),
            behaviours[0].target_origin_id()
        ),
        ("/api/*", "api")
    );
    assert_eq!(
        behaviours[0]
            .function_associations()
            .map(|f| f.quantity())
            .unwrap_or(0),
        0,
        "API errors are never rewritten"
    );
    let default = config.default_cache_behavior().unwrap();
    assert_eq!(
        default.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );
    let fallback = &default.function_associations().unwrap().items()[0];
    assert_eq!(fallback.event_type().as_str(), "viewer-request");
    assert!(fallback
        .function_arn()
        .ends_with(&format!("{stack}-frontend-spa-fallback")));
}

async fn check_delivery(clients: &Clients, stack: &str) {
    let codedeploy = &clients.codedeploy;
    let group = codedeploy
        .get_deployment_group()
        .application_name(stack)
        .deployment_group_name(format!("{stack}-delivery-api"))
        .send()
        .await
        .unwrap();
    let group = group.deployment_group_info().unwrap();
    assert_eq!(
        group.deployment_config_name(),
        Some("CodeDeployDefault.ECSAllAtOnce")
    );
    let style = group.deployment_style().unwrap();
    assert_eq!(
        style.deployment_type().map(|t| t.as_str()),
        Some("BLUE_GREEN")
    );
    assert_eq!(
        style.deployment_option().map(|t| t.as_str()),
        Some("WITH_TRAFFIC_CONTROL")
    );
    let rollback = group.auto_rollback_configuration().unwrap();
    assert!(rollback.enabled());
    let events: Vec<&str> = rollback.events().iter().map(|e| e.as_str()).collect();
    assert!(
        events.contains(&"DEPLOYMENT_FAILURE") && events.contains(&"DEPLOYMENT_STOP_ON_ALARM"),
        "{events:?}"
    );
    let pair = &group
        .load_balancer_info()
        .unwrap()
        .target_group_pair_info_list()[0];
    let names: Vec<&str> = pair
        .target_groups()
        .iter()
        .filter_map(|t| t.name())
        .collect();
    assert_eq!(
        names,
        vec![format!("{stack}-blue"), format!("{stack}-green")]
    );
    assert!(pair.prod_traffic_route().unwrap().listener_arns()[0].contains(&format!("{stack}-nlb")));
    assert!(pair
        .test_traffic_route()
        .is_some_and(|r| !r.listener_arns().is_empty()));
    let service = &group.ecs_services()[0];
    assert_eq!(
        service.service_name(),
        Some(format!("{stack}-backend-api").as_str())
    );

    // The hook's probe sits in the public subnets with its own group, so it can reach the
    // test listener that admits the VPC only.
    let ec2 = &clients.ec2;
    let named = |name: String| find::tag("Name", &name);
    let mut public: Vec<String> = ec2
        .describe_subnets()
        .filters(named(format!("{stack}-network-public-a")))
        .filters(by_stack(stack))
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .chain(
            ec2.describe_subnets()
                .filters(named(format!("{stack}-network-public-b")))
                .send()
                .await
                .unwrap()
                .subnets(),
        )
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    public.sort();
    let probe_group = find::security_group_id(ec2, &format!("{stack}-network-probe")).await;
    let probe = clients
        .lambda
        .get_function_configuration()
        .function_name(format!("{stack}-probe"))
        .send()
        .await
        .unwrap();
    let vpc = probe
        .vpc_config()
        .expect("the probe is attached to the VPC");
    let mut subnets = vpc.subnet_ids().to_vec();
    subnets.sort();
    assert_eq!(subnets, public, "the probe lives in the public subnets");
    assert_eq!(vpc.security_group_ids(), [probe_group]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_fails_at_the_first_step_with_a_clear_error() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("bad").await;
    // The CLI refuses it before starting anything …
    let refused = h
        .provision(&stack, json!({"vpcCidr": "10.42.0.1/33"}))
        .await
        .unwrap_err();
    assert!(format!("{refused:#}").contains("vpcCidr"), "{refused:#}");
    // … and a caller that bypasses it gets the same answer from the workflow's first function.
    let input = json!({"settings": {"stack": "Not A Name"}});
    let failed = h.provision_raw(&stack, &input).await.unwrap_err();
    let message = format!("{failed:#}");
    assert!(
        message.contains("InvalidInput") && message.contains("stack name \"Not A Name\""),
        "{message}"
    );
    let vpcs = find::vpcs(&h.clients.ec2, "Not A Name").await;
    assert!(vpcs.is_empty(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_recovered_by_the_next_one() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("rec").await;
    // Someone else's target group already has the name the stack needs.
    let squatter = h.squat_target_group(&stack, "10.99.0.0/16").await;
    let failed = h.provision(&stack, json!({})).await.unwrap_err();
    let message = format!("{failed:#}");
    assert!(
        message.contains(&format!(
            "target group {stack}-green exists but is not tagged"
        )),
        "{message}"
    );

    let vpcs_after_failure = find::vpcs(&h.clients.ec2, &stack).await.len();
    assert_eq!(
        vpcs_after_failure, 1,
        "what the failed run made is kept, tagged"
    );
    h.clients
        .elb
        .delete_target_group()
        .target_group_arn(&squatter.target_group_arn)
        .send()
        .await
        .unwrap();
    h.provision(&stack, json!({}))
        .await
        .expect("the next run finishes the job");
    let vpcs = find::vpcs(&h.clients.ec2, &stack).await.len();
    assert_eq!(vpcs, 1, "and adopts what the failed run made");
}
