//! `vikunja-aws plan` on the local AWS stack: before `up` everything is to create, after it
//! everything is kept, changed settings come out as `change` or `cannot-change-in-place` the
//! way `up` then really behaves, and plan itself changes nothing — checked on the wire (every
//! request it sends is a read) and by a census of the stack before and after.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde_json::{json, Value};
use vikunja_aws::follow;
use vikunja_aws::plan::{self, Action, How, Item, Plan};
use vikunja_aws::target::{Aws, Target};
use vikunja_tests::{find, Clients, Harness};

/// Every request plan sends, as "<service> <operation>" (or "<METHOD> <path>" for REST APIs).
#[derive(Clone, Default)]
struct Wire(Arc<Mutex<Vec<String>>>);

#[derive(Debug)]
struct Recording {
    inner: SharedHttpConnector,
    wire: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wire")
    }
}

impl HttpConnector for Recording {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.wire.lock().unwrap().push(operation(&request));
        self.inner.call(request)
    }
}

/// The operation a request asks for: JSON protocols name it in `X-Amz-Target`, query
/// protocols (EC2, RDS, ELB, CloudWatch, CloudFormation) in the form's `Action`, REST
/// protocols (S3, CloudFront, Lambda) by method and path.
fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return format!("json {target}");
    }
    let body = request
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    // Smithy RPC v2 (CloudWatch): POST /service/<service>/operation/<operation>.
    if let Some(name) = request.uri().split("/operation/").nth(1) {
        return format!("rpc {name}");
    }
    if let Some(action) = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("query {action}");
    }
    format!("rest {} {}", request.method(), request.uri())
}

/// Whether an operation only reads.
fn reads_only(operation: &str) -> bool {
    let name = match operation.split_once(' ') {
        Some(("json", target)) => target.rsplit('.').next().unwrap_or(target),
        Some(("rpc", name)) => name,
        Some(("query", action)) => action,
        Some(("rest", rest)) => return rest.starts_with("GET ") || rest.starts_with("HEAD "),
        _ => return false,
    };
    ["Describe", "List", "Get", "BatchGet"]
        .iter()
        .any(|verb| name.starts_with(verb))
}

/// The harness's connection, with every request recorded.
fn recorded(h: &Harness) -> (Aws, Wire) {
    let wire = Wire::default();
    // The SDK picks its default client per service client; the local stack speaks plain HTTP.
    let base = h
        .aws
        .config
        .http_client()
        .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
    let log = wire.0.clone();
    let client = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Recording {
            inner: base.http_connector(settings, components),
            wire: log.clone(),
        })
    });
    let aws = Aws {
        target: Target::Local,
        config: h.aws.config.to_builder().http_client(client).build(),
        account: h.aws.account.clone(),
        region: h.aws.region.clone(),
    };
    (aws, wire)
}

fn settings_file(stack: &str, tag: &str, settings: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("vikunja-plan-{stack}-{tag}.json"));
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

async fn plan_with(aws: &Aws, stack: &str, settings: Value) -> Plan {
    let path = settings_file(stack, "plan", &settings);
    let settings = follow::load_settings(stack, Some(&path), Target::Local).unwrap();
    plan::plan(aws, &settings).await.expect("plan")
}

fn item<'a>(plan: &'a Plan, kind: &str, name: &str) -> &'a Item {
    plan.items()
        .map(|(_, i)| i)
        .find(|i| i.kind == kind && i.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in\n{}", plan::render(plan)))
}

fn field<'a>(item: &'a Item, field: &str) -> (&'a str, &'a str, How) {
    let d = item
        .differences
        .iter()
        .find(|d| d.field == field)
        .unwrap_or_else(|| panic!("no difference {field} in {item:#?}"));
    (d.current.as_str(), d.desired.as_str(), d.how)
}

/// Everything that is not kept, as "tier kind name action".
fn not_kept(plan: &Plan) -> Vec<String> {
    plan.items()
        .filter(|(_, i)| i.action != Action::Keep)
        .map(|(t, i)| format!("{t} {} {} {}", i.kind, i.name, i.action.as_str()))
        .collect()
}

/// What the stack has, with the values `up` can change in place: a plan must leave it as it was.
async fn census(h: &Harness, stack: &str) -> Vec<String> {
    let Clients {
        autoscaling: scaling,
        cloudfront,
        cloudwatch,
        codedeploy,
        ec2,
        ecr,
        ecs,
        elb,
        logs,
        rds,
        s3,
        secrets,
        ssm,
        ..
    } = &h.clients;
    let network = find::network(ec2, stack).await;
    let ours = |name: &str| {
        name.starts_with(&format!("{stack}-")) || name.starts_with(&format!("{stack}/"))
    };
    let mut seen = Vec::new();

    for vpc in &network.vpcs {
        let id = vpc.vpc_id().unwrap();
        seen.push(format!(
            "vpc {id} {} dns-hostnames {:?}",
            vpc.cidr_block().unwrap_or_default(),
            find::dns_hostnames(ec2, id).await
        ));
    }
    for subnet in &network.subnets {
        seen.push(format!(
            "subnet {} {}",
            subnet.subnet_id().unwrap(),
            subnet.cidr_block().unwrap_or_default()
        ));
    }
    for group in &network.security_groups {
        seen.push(format!(
            "security group {} {:?}",
            group.group_id().unwrap(),
            group.ip_permissions()
        ));
    }
    for gateway in &network.internet_gateways {
        seen.push(format!(
            "internet gateway {} {:?}",
            gateway.internet_gateway_id().unwrap(),
            gateway.attachments()
        ));
    }
    for table in &network.route_tables {
        let mut associations: Vec<&str> = table
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .collect();
        associations.sort();
        let routes: Vec<String> = table
            .routes()
            .iter()
            .map(|r| format!("{:?}->{:?}", r.destination_cidr_block(), r.gateway_id()))
            .collect();
        seen.push(format!(
            "route table {} {associations:?} {routes:?}",
            table.route_table_id().unwrap()
        ));
    }
    for lb in elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
    {
        if ours(lb.load_balancer_name().unwrap_or_default()) {
            let ports = find::listener_ports(elb, lb.load_balancer_arn().unwrap()).await;
            seen.push(format!(
                "load balancer {} listeners {ports:?}",
                lb.load_balancer_name().unwrap()
            ));
        }
    }
    for group in elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
    {
        if ours(group.target_group_name().unwrap_or_default()) {
            seen.push(format!(
                "target group {} {:?}",
                group.target_group_name().unwrap(),
                group.port()
            ));
        }
    }
    for db in rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        if ours(db.db_instance_identifier().unwrap_or_default()) {
            seen.push(format!(
                "database {} {:?} {:?} {:?}",
                db.db_instance_identifier().unwrap(),
                db.db_instance_class(),
                db.allocated_storage(),
                db.deletion_protection()
            ));
        }
    }
    for group in rds
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap()
        .db_subnet_groups()
    {
        if ours(group.db_subnet_group_name().unwrap_or_default()) {
            seen.push(format!(
                "db subnet group {}",
                group.db_subnet_group_name().unwrap()
            ));
        }
    }
    for secret in secrets.list_secrets().send().await.unwrap().secret_list() {
        if ours(secret.name().unwrap_or_default()) {
            seen.push(format!(
                "secret {} deleted {:?}",
                secret.name().unwrap(),
                secret.deleted_date()
            ));
        }
    }
    for bucket in s3.list_buckets().send().await.unwrap().buckets() {
        let name = bucket.name().unwrap_or_default();
        if ours(name) {
            let tags = s3
                .get_bucket_tagging()
                .bucket(name)
                .send()
                .await
                .map(|t| t.tag_set().len())
                .unwrap_or(0);
            let policy = s3
                .get_bucket_policy()
                .bucket(name)
                .send()
                .await
                .ok()
                .and_then(|p| p.policy().map(str::to_string));
            seen.push(format!("bucket {name} tags {tags} policy {policy:?}"));
        }
    }
    if let Some(list) = cloudfront
        .list_distributions()
        .send()
        .await
        .unwrap()
        .distribution_list()
    {
        for dist in list.items() {
            if dist.comment() == format!("vikunja-aws stack {stack}") {
                seen.push(format!("distribution {} {}", dist.id(), dist.domain_name()));
            }
        }
    }
    if let Some(list) = cloudfront
        .list_origin_access_controls()
        .send()
        .await
        .unwrap()
        .origin_access_control_list()
    {
        for oac in list.items() {
            if ours(oac.name()) {
                seen.push(format!("origin access control {} {}", oac.name(), oac.id()));
            }
        }
    }
    if let Some(list) = cloudfront
        .list_functions()
        .send()
        .await
        .unwrap()
        .function_list()
    {
        for function in list.items() {
            if ours(function.name()) {
                seen.push(format!(
                    "function {} {:?}",
                    function.name(),
                    function.function_metadata().and_then(|m| m.stage())
                ));
            }
        }
    }
    for repository in ecr
        .describe_repositories()
        .send()
        .await
        .unwrap()
        .repositories()
    {
        if ours(repository.repository_name().unwrap_or_default()) {
            seen.push(format!(
                "repository {}",
                repository.repository_name().unwrap()
            ));
        }
    }
    for group in logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/vikunja/{stack}/"))
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        seen.push(format!(
            "log group {} retention {:?}",
            group.log_group_name().unwrap(),
            group.retention_in_days()
        ));
    }
    for cluster in ecs
        .describe_clusters()
        .clusters(stack)
        .send()
        .await
        .unwrap()
        .clusters()
    {
        seen.push(format!(
            "cluster {:?} {:?}",
            cluster.cluster_name(),
            cluster.status()
        ));
    }
    let services = ecs
        .list_services()
        .cluster(stack)
        .send()
        .await
        .map(|s| s.service_arns().to_vec())
        .unwrap_or_default();
    seen.push(format!("services {services:?}"));
    let definitions = ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-backend-api"))
        .send()
        .await
        .unwrap();
    seen.push(format!(
        "task definitions {:?}",
        definitions.task_definition_arns()
    ));
    let resource = format!("service/{stack}/{stack}-backend-api");
    let ns = aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs;
    for target in scaling
        .describe_scalable_targets()
        .service_namespace(ns.clone())
        .resource_ids(&resource)
        .send()
        .await
        .unwrap()
        .scalable_targets()
    {
        seen.push(format!(
            "scalable target {} {}–{}",
            target.resource_id(),
            target.min_capacity(),
            target.max_capacity()
        ));
    }
    for policy in scaling
        .describe_scaling_policies()
        .service_namespace(ns)
        .resource_id(&resource)
        .send()
        .await
        .unwrap()
        .scaling_policies()
    {
        seen.push(format!(
            "scaling policy {} {:?}",
            policy.policy_name(),
            policy
                .target_tracking_scaling_policy_configuration()
                .map(|t| t.target_value())
        ));
    }
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names(format!("{stack}-delivery-blue-unhealthy"))
        .alarm_names(format!("{stack}-delivery-green-unhealthy"))
        .send()
        .await
        .unwrap();
    for alarm in alarms.metric_alarms() {
        seen.push(format!(
            "alarm {:?} {:?}",
            alarm.alarm_name(),
            alarm.threshold()
        ));
    }
    if codedeploy
        .get_application()
        .application_name(stack)
        .send()
        .await
        .is_ok()
    {
        seen.push(format!("codedeploy application {stack}"));
        if let Ok(group) = codedeploy
            .get_deployment_group()
            .application_name(stack)
            .deployment_group_name(format!("{stack}-delivery-api"))
            .send()
            .await
        {
            let wait = group
                .deployment_group_info()
                .and_then(|g| g.blue_green_deployment_configuration())
                .and_then(|b| b.terminate_blue_instances_on_deployment_success())
                .map(|t| t.termination_wait_time_in_minutes());
            seen.push(format!("deployment group wait {wait:?}"));
        }
    }
    let parameters = ssm
        .get_parameters_by_path()
        .path(format!("/vikunja/{stack}"))
        .recursive(true)
        .send()
        .await
        .unwrap();
    for parameter in parameters.parameters() {
        seen.push(format!(
            "parameter {:?} {:?}",
            parameter.name(),
            parameter.value()
        ));
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn before_up_everything_is_to_create_after_it_everything_is_kept_and_plan_changes_nothing() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("plan");
    let (aws, wire) = recorded(&h);

    // A stack never bootstrapped: reported, not an error; every tier to create.
    let nothing = plan_with(&aws, &stack, json!({})).await;
    assert!(!nothing.bootstrap.deployed, "{:?}", nothing.bootstrap);
    assert!(plan::render(&nothing)
        .contains(&format!("bootstrap stack {stack}-bootstrap: not deployed")));
    assert!(
        nothing.items().all(|(_, i)| i.action == Action::Create),
        "{}",
        plan::render(&nothing)
    );
    assert_eq!(nothing.summary.create, 49);

    h.bootstrap(&stack).await.expect("bootstrap");
    let before_up = plan_with(&aws, &stack, json!({})).await;
    assert!(before_up.bootstrap.deployed);
    assert_eq!(
        before_up.bootstrap.status.as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        (
            before_up.summary.create,
            before_up.summary.change,
            before_up.summary.cannot_change_in_place,
            before_up.summary.keep
        ),
        (50, 0, 0, 0),
        "{}",
        plan::render(&before_up)
    );
    assert!(
        census(&h, &stack)
            .await
            .iter()
            .all(|r| !r.starts_with("vpc ")),
        "planning created nothing"
    );

    let outputs = h.provision(&stack, json!({})).await.expect("up");
    let census_before = census(&h, &stack).await;
    wire.0.lock().unwrap().clear();
    let after_up = plan_with(&aws, &stack, json!({})).await;
    assert_eq!(
        not_kept(&after_up),
        Vec::<String>::new(),
        "{}",
        plan::render(&after_up)
    );
    assert_eq!(after_up.summary.keep, 50);
    assert!(!after_up.has_changes());
    assert!(plan::render(&after_up)
        .ends_with("plan: 0 to create, 0 to change, 0 cannot change in place, 50 unchanged\n"));
    // It found what up made, by the ids up reported.
    let distribution = item(
        &after_up,
        "distribution",
        &format!("vikunja-aws stack {stack}"),
    );
    assert_eq!(
        distribution.id.as_deref(),
        outputs["distributionId"].as_str()
    );
    assert!(item(&after_up, "database", &format!("{stack}-data-mysql"))
        .compared
        .iter()
        .any(|c| c == "class (dbInstanceClass)"));

    // Only reads went over the wire, and they reached every service plan looks at.
    let calls = wire.0.lock().unwrap().clone();
    let writes: Vec<&String> = calls.iter().filter(|c| !reads_only(c)).collect();
    assert!(writes.is_empty(), "plan sent {writes:?}");
    for expected in [
        "query DescribeVpcs",
        "query DescribeDBInstances",
        "query DescribeTargetGroups",
        "rpc DescribeAlarms",
        "query DescribeStacks",
        "json AmazonEC2ContainerServiceV20141113.DescribeServices",
        "json CodeDeploy_20141006.GetDeploymentGroup",
        "json AnyScaleFrontendService.DescribeScalableTargets",
        "json AmazonSSM.GetParameter",
    ] {
        assert!(
            calls.iter().any(|c| c == expected),
            "no {expected} in {calls:#?}"
        );
    }
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("rest GET") && c.contains("distribution")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().any(|c| c.starts_with("rest HEAD")),
        "the buckets are looked at: {calls:#?}"
    );
    assert!(reads_only("query DescribeVpcs") && !reads_only("query AuthorizeSecurityGroupIngress"));
    assert!(!reads_only("rest PUT /v-site/?tagging") && !reads_only("json AmazonSSM.PutParameter"));

    // Plans with settings up would apply change nothing either.
    plan_with(
        &aws,
        &stack,
        json!({"minTasks": 2, "maxTasks": 6, "vpcCidr": "10.43.0.0/16", "taskCpu": "512"}),
    )
    .await;
    let calls = wire.0.lock().unwrap().clone();
    assert!(calls.iter().all(|c| reads_only(c)), "{calls:#?}");
    assert_eq!(
        census(&h, &stack).await,
        census_before,
        "plan changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_settings_are_planned_as_up_then_behaves() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("plch").await;
    let aws = &h.aws;
    let service = format!("service/{stack}/{stack}-backend-api");

    // Autoscaling: up changes it in place.
    let scaling = json!({"minTasks": 2, "maxTasks": 6, "cpuTargetPercent": 45});
    let planned = plan_with(aws, &stack, scaling.clone()).await;
    let target = item(&planned, "scalable-target", &service);
    assert_eq!(target.action, Action::Change);
    assert_eq!(
        field(target, "minCapacity (minTasks)"),
        ("1", "2", How::InPlace)
    );
    assert_eq!(
        field(target, "maxCapacity (maxTasks)"),
        ("4", "6", How::InPlace)
    );
    let policy = item(&planned, "scaling-policy", &format!("{stack}-backend-cpu"));
    assert_eq!(
        field(policy, "targetValue (cpuTargetPercent)"),
        ("60", "45", How::InPlace)
    );
    assert_eq!(not_kept(&planned).len(), 2, "{}", plan::render(&planned));
    assert!(planned.has_changes());
    h.provision(&stack, scaling.clone())
        .await
        .expect("up with the new bounds");
    let applied = plan_with(aws, &stack, scaling.clone()).await;
    assert_eq!(
        not_kept(&applied),
        Vec::<String>::new(),
        "up applied what plan said: {}",
        plan::render(&applied)
    );

    // Task size and database class: up leaves them, and says nothing fails.
    let sizes = json!({"minTasks": 2, "maxTasks": 6, "cpuTargetPercent": 45, "taskCpu": "512", "taskMemory": "1024", "dbInstanceClass": "db.t4g.small"});
    let planned = plan_with(aws, &stack, sizes.clone()).await;
    let task = item(&planned, "task-definition", &format!("{stack}-backend-api"));
    assert_eq!(task.action, Action::CannotChangeInPlace);
    assert_eq!(
        field(task, "cpu (taskCpu)"),
        ("256", "512", How::UpLeavesIt)
    );
    assert_eq!(
        field(task, "memory (taskMemory)"),
        ("512", "1024", How::UpLeavesIt)
    );
    let db = item(&planned, "database", &format!("{stack}-data-mysql"));
    assert_eq!(
        field(db, "class (dbInstanceClass)"),
        ("db.t4g.micro", "db.t4g.small", How::UpLeavesIt)
    );
    assert_eq!(planned.up_stops_at, None);
    h.provision(&stack, sizes.clone())
        .await
        .expect("up runs and leaves them");
    let still = plan_with(aws, &stack, sizes).await;
    assert_eq!(
        not_kept(&still),
        vec![
            format!("data database {stack}-data-mysql cannot-change-in-place"),
            format!("backend task-definition {stack}-backend-api cannot-change-in-place"),
        ],
        "{}",
        plan::render(&still)
    );

    // A new VPC range: plan says up stops at the VPC, and it does.
    let range =
        json!({"minTasks": 2, "maxTasks": 6, "cpuTargetPercent": 45, "vpcCidr": "10.43.0.0/16"});
    let planned = plan_with(aws, &stack, range.clone()).await;
    let vpc = item(&planned, "vpc", &format!("{stack}-network-vpc"));
    assert_eq!(vpc.action, Action::CannotChangeInPlace);
    assert_eq!(
        field(vpc, "cidr (vpcCidr)"),
        ("10.42.0.0/16", "10.43.0.0/16", How::UpStops)
    );
    assert_eq!(
        planned.up_stops_at,
        Some(format!("network vpc {stack}-network-vpc"))
    );
    let failed = h.provision(&stack, range).await.unwrap_err();
    assert!(
        format!("{failed:#}").contains("cannot change in place"),
        "{failed:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_plan_calls_a_change_is_what_up_repairs() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("pldr").await;
    let Clients { logs, ec2, s3, .. } = &h.clients;
    logs.put_retention_policy()
        .log_group_name(format!("/vikunja/{stack}/backend"))
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let vpc = find::vpc_id(ec2, &stack).await;
    let lb_group = find::security_group_id(ec2, &format!("{stack}-network-lb")).await;
    ec2.revoke_security_group_ingress()
        .group_id(&lb_group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.42.0.0/16")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let site = format!("{stack}-site-{}-{}", h.aws.account, h.aws.region);
    s3.delete_bucket_tagging()
        .bucket(&site)
        .send()
        .await
        .unwrap();

    let planned = plan_with(&h.aws, &stack, json!({})).await;
    assert_eq!(
        field(
            item(&planned, "log-group", &format!("/vikunja/{stack}/backend")),
            "retentionInDays"
        ),
        ("7", "30", How::InPlace)
    );
    assert_eq!(
        field(
            item(&planned, "security-group", &format!("{stack}-network-lb")),
            "ingress tcp/8080"
        ),
        ("absent", "from 10.42.0.0/16", How::InPlace)
    );
    assert_eq!(
        field(
            item(&planned, "vpc", &format!("{stack}-network-vpc")),
            "enableDnsHostnames"
        ),
        ("false", "true", How::InPlace)
    );
    let tags = field(item(&planned, "bucket", &site), "tags");
    assert_eq!((tags.0, tags.2), ("none", How::InPlace));
    assert_eq!(
        (
            planned.summary.change,
            planned.summary.create,
            planned.summary.cannot_change_in_place
        ),
        (4, 0, 0),
        "{}",
        plan::render(&planned)
    );

    h.provision(&stack, json!({})).await.expect("up repairs");
    let repaired = plan_with(&h.aws, &stack, json!({})).await;
    assert_eq!(
        not_kept(&repaired),
        Vec::<String>::new(),
        "{}",
        plan::render(&repaired)
    );

    // What a backend release changes (a new revision, the listeners on green) is not drift:
    // only the inventory's task definition, which the next up records again.
    let released = vikunja_aws::release_backend::release(
        &h.aws,
        &stack,
        "vikunja/vikunja:2.5.1-plan",
        vikunja_aws::Output::Json,
    )
    .await
    .expect("release");
    assert_eq!(released["status"], "Succeeded", "{released}");
    let after_release = plan_with(&h.aws, &stack, json!({})).await;
    assert_eq!(
        not_kept(&after_release),
        vec![format!("backend inventory /vikunja/{stack}/backend change")],
        "{}",
        plan::render(&after_release)
    );
    let record = item(
        &after_release,
        "inventory",
        &format!("/vikunja/{stack}/backend"),
    );
    let (_, desired, _) = field(record, "taskDefinitionArn");
    assert_eq!(Some(desired), released["taskDefinitionArn"].as_str());
    let task = item(
        &after_release,
        "task-definition",
        &format!("{stack}-backend-api"),
    );
    assert!(task.notes[0].contains("@sha256:"), "{task:?}");
}

/// The CLI itself: exit codes, output formats, and the same settings errors as `up`.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_reports_exit_codes_and_refuses_bad_settings_like_up() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("plcl");
    let cli = h.binaries.join("vikunja-aws");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&cli)
            .args(args)
            .args(["--stack", &stack])
            .output()
            .expect("the CLI runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // Not bootstrapped: a report, not an error; --detailed-exitcode says there is work.
    let (code, text, _) = run(&["plan"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("not deployed") && text.contains("plan: 49 to create"),
        "{text}"
    );
    let (code, _, _) = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(2));

    for (tag, content) in [
        ("unknown", r#"{"vpcCdir": "10.0.0.0/16"}"#.to_string()),
        ("range", r#"{"vpcCidr": "10.42.0.1/33"}"#.to_string()),
        ("notjson", "min tasks: 2".to_string()),
    ] {
        let path = std::env::temp_dir().join(format!("vikunja-plan-{stack}-{tag}.json"));
        std::fs::write(&path, content).unwrap();
        let path = path.to_str().unwrap();
        let (plan_code, plan_out, plan_err) = run(&["plan", "--settings", path]);
        let (up_code, _, up_err) = run(&["up", "--settings", path]);
        assert_eq!((plan_code, up_code), (Some(1), Some(1)), "{plan_out}");
        assert!(plan_err.starts_with("error: "), "{plan_err}");
        assert_eq!(plan_err, up_err, "plan refuses {tag} settings as up does");
        assert!(
            plan_out.is_empty(),
            "nothing planned from bad settings: {plan_out}"
        );
    }

    h.bootstrap(&stack).await.expect("bootstrap");
    h.provision(&stack, json!({})).await.expect("up");
    let (code, text, _) = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "nothing to do: {text}");
    assert!(
        text.contains("\nnetwork\n") && text.contains("\ndelivery\n"),
        "grouped by tier: {text}"
    );
    let path = settings_file(&stack, "cli", &json!({"maxTasks": 3}));
    let (code, json_text, _) = run(&[
        "plan",
        "--output",
        "json",
        "--detailed-exitcode",
        "--settings",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    let value: Value = serde_json::from_str(&json_text).expect("JSON");
    assert_eq!(value["summary"]["change"], 1);
    let backend = value["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == "backend")
        .unwrap();
    let target = backend["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "scalable-target")
        .unwrap();
    assert_eq!(target["action"], "change");
    assert_eq!(target["differences"][0]["current"], "4");
    assert_eq!(target["differences"][0]["desired"], "3");
}
