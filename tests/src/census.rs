//! The census: everything a stack left in every service it uses, found the way a user would
//! look — by the stack's tag, or by name for what carries no tags.

use std::collections::{BTreeMap, BTreeSet};

use crate::find::{self, carries_stack_tag, STACK_TAG};
use crate::{all_pages, Harness};

/// Everything that carries the stack's tag (or, for what cannot carry tags, its name), in
/// every service the stack and its bootstrap stack use, as "kind id".
pub async fn tagged(h: &Harness, stack: &str) -> BTreeSet<String> {
    let c = &h.clients;
    let mut found = BTreeSet::new();
    let mut add = |kind: &str, id: &str| {
        found.insert(format!("{kind} {id}"));
    };

    // EC2
    let network = find::network(&c.ec2, stack).await;
    for v in &network.vpcs {
        add("vpc", v.vpc_id().unwrap());
    }
    for s in &network.subnets {
        add("subnet", s.subnet_id().unwrap());
    }
    for g in &network.security_groups {
        add("security group", g.group_name().unwrap());
    }
    for t in &network.route_tables {
        add("route table", t.route_table_id().unwrap());
    }
    for g in &network.internet_gateways {
        add("internet gateway", g.internet_gateway_id().unwrap());
    }
    for i in &find::network_interfaces(&c.ec2, stack).await {
        add("network interface", i.network_interface_id().unwrap());
    }

    // Elastic Load Balancing
    let lbs = c.elb.describe_load_balancers().send().await.unwrap();
    let tgs = c.elb.describe_target_groups().send().await.unwrap();
    let arns: Vec<(&str, &str)> = lbs
        .load_balancers()
        .iter()
        .map(|l| ("load balancer", l.load_balancer_arn().unwrap()))
        .chain(
            tgs.target_groups()
                .iter()
                .map(|t| ("target group", t.target_group_arn().unwrap())),
        )
        .collect();
    for (kind, arn) in arns {
        let tags = c
            .elb
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .unwrap();
        let tags = tags.tag_descriptions().iter().flat_map(|d| d.tags());
        if carries_stack_tag(tags, stack) {
            add(kind, arn);
        }
    }

    // RDS
    let pages = all_pages!(c.rds.describe_db_instances());
    for db in pages.iter().flat_map(|p| p.db_instances()) {
        if carries_stack_tag(db.tag_list(), stack) {
            add("database", db.db_instance_identifier().unwrap());
        }
    }
    let pages = all_pages!(c.rds.describe_db_subnet_groups());
    for group in pages.iter().flat_map(|p| p.db_subnet_groups()) {
        let tags = c
            .rds
            .list_tags_for_resource()
            .resource_name(group.db_subnet_group_arn().unwrap())
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tag_list(), stack) {
            add("db subnet group", group.db_subnet_group_name().unwrap());
        }
    }
    let pages = all_pages!(c.rds.describe_db_snapshots());
    for snapshot in pages.iter().flat_map(|p| p.db_snapshots()) {
        if carries_stack_tag(snapshot.tag_list(), stack) {
            add("db snapshot", snapshot.db_snapshot_identifier().unwrap());
        }
    }

    // ElastiCache: the shared cache and its subnet group (tags are read by ARN)
    let groups = all_pages!(c.elasticache.describe_replication_groups());
    let subnet_groups = all_pages!(c.elasticache.describe_cache_subnet_groups());
    let arns: Vec<(&str, &str, &str)> = groups
        .iter()
        .flat_map(|p| p.replication_groups())
        .map(|g| {
            (
                "elasticache replication group",
                g.replication_group_id().unwrap(),
                g.arn().unwrap(),
            )
        })
        .chain(
            subnet_groups
                .iter()
                .flat_map(|p| p.cache_subnet_groups())
                .map(|g| {
                    (
                        "elasticache subnet group",
                        g.cache_subnet_group_name().unwrap(),
                        g.arn().unwrap(),
                    )
                }),
        )
        .collect();
    for (kind, id, arn) in arns {
        // Another test's teardown may delete it between the listing and this call.
        let Ok(tags) = c
            .elasticache
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
        else {
            continue;
        };
        let ours = tags
            .tag_list()
            .iter()
            .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack));
        if ours {
            add(kind, id);
        }
    }

    // S3
    for bucket in c.s3.list_buckets().send().await.unwrap().buckets() {
        let name = bucket.name().unwrap();
        if let Ok(tags) = c.s3.get_bucket_tagging().bucket(name).send().await {
            if carries_stack_tag(tags.tag_set(), stack) {
                add("s3 bucket", name);
            }
        }
    }

    // CloudFront (Origin Access Controls and Functions carry no tags: by name)
    let distributions = c.cloudfront.list_distributions().send().await.unwrap();
    for d in distributions
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let tags = c
            .cloudfront
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tags().map(|t| t.items()).unwrap_or_default(), stack) {
            add("distribution", d.id());
        }
    }
    let oacs = c
        .cloudfront
        .list_origin_access_controls()
        .send()
        .await
        .unwrap();
    for oac in oacs
        .origin_access_control_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        if oac.name() == format!("{stack}-frontend-oac") {
            add("origin access control", oac.id());
        }
    }
    if c.cloudfront
        .describe_function()
        .name(format!("{stack}-frontend-spa-fallback"))
        .send()
        .await
        .is_ok()
    {
        add(
            "cloudfront function",
            &format!("{stack}-frontend-spa-fallback"),
        );
    }

    // ECS
    let pages = all_pages!(c.ecs.list_clusters());
    let clusters: Vec<String> = pages
        .iter()
        .flat_map(|p| p.cluster_arns().iter().cloned())
        .collect();
    let described = c
        .ecs
        .describe_clusters()
        .set_clusters(Some(clusters))
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    for cluster in described.clusters() {
        if cluster.status() == Some("ACTIVE") && carries_stack_tag(cluster.tags(), stack) {
            add("ecs cluster", cluster.cluster_name().unwrap());
            for service in c
                .ecs
                .list_services()
                .cluster(cluster.cluster_name().unwrap())
                .send()
                .await
                .unwrap()
                .service_arns()
            {
                add("ecs service", service);
            }
        }
    }
    for status in [
        aws_sdk_ecs::types::TaskDefinitionStatus::Active,
        aws_sdk_ecs::types::TaskDefinitionStatus::Inactive,
    ] {
        let pages = all_pages!(c.ecs.list_task_definitions().status(status));
        for arn in pages.iter().flat_map(|p| p.task_definition_arns()) {
            // Another test's teardown may delete it between the listing and this call.
            let td = match c
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send()
                .await
            {
                Ok(td) => td,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_client_exception()) =>
                {
                    continue
                }
                Err(e) => panic!("describe task definition {arn}: {e:?}"),
            };
            if carries_stack_tag(td.tags(), stack) {
                add("task definition", arn);
            }
        }
    }
    let targets = c
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    for t in targets.scalable_targets() {
        if t.resource_id().starts_with(&format!("service/{stack}/")) {
            add("scalable target", t.resource_id());
        }
    }

    // ECR, CloudWatch Logs, CloudWatch alarms, CodeDeploy
    let pages = all_pages!(c.ecr.describe_repositories());
    for repo in pages.iter().flat_map(|p| p.repositories()) {
        let tags = c
            .ecr
            .list_tags_for_resource()
            .resource_arn(repo.repository_arn().unwrap())
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tags(), stack) {
            add("ecr repository", repo.repository_name().unwrap());
        }
    }
    let pages = all_pages!(c.logs.describe_log_groups());
    for group in pages.iter().flat_map(|p| p.log_groups()) {
        let name = group.log_group_name().unwrap();
        let arn = group.arn().unwrap().trim_end_matches(":*");
        let tags = c
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        if tags
            .tags()
            .and_then(|t| t.get(STACK_TAG))
            .is_some_and(|v| v == stack)
        {
            add(
                if name.starts_with("/aws/lambda/") {
                    "bootstrap log group"
                } else {
                    "log group"
                },
                name,
            );
        }
    }
    let pages = all_pages!(c.cloudwatch.describe_alarms());
    for alarm in pages.iter().flat_map(|p| p.metric_alarms()) {
        let tags = c
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(alarm.alarm_arn().unwrap())
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tags(), stack) {
            add("alarm", alarm.alarm_name().unwrap());
        }
    }
    if c.codedeploy
        .get_application()
        .application_name(stack)
        .send()
        .await
        .is_ok()
    {
        add("codedeploy application", stack);
    }

    // Secrets Manager (a secret scheduled for deletion is not listed), SSM
    let pages = all_pages!(c.secrets.list_secrets());
    for secret in pages.iter().flat_map(|p| p.secret_list()) {
        if carries_stack_tag(secret.tags(), stack) {
            add("secret", secret.name().unwrap());
        }
    }
    let pages = all_pages!(c
        .ssm
        .get_parameters_by_path()
        .path(format!("/vikunja/{stack}"))
        .recursive(true));
    for p in pages.iter().flat_map(|p| p.parameters()) {
        let name = p.name().unwrap();
        let tags = c
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tag_list(), stack) {
            add("ssm parameter", name);
        }
    }

    // The bootstrap stack and what it holds
    if h.aws
        .cloudformation()
        .describe_stacks()
        .stack_name(format!("{stack}-bootstrap"))
        .send()
        .await
        .is_ok()
    {
        add("bootstrap stack", &format!("{stack}-bootstrap"));
    }
    // (Functions are not listed: ListFunctions from the local stack does not parse while a
    // template gives an environment variable a number; the bootstrap stack holds them.)
    if c.lambda
        .get_function()
        .function_name(format!("{stack}-teardown"))
        .send()
        .await
        .is_ok()
    {
        add("bootstrap function", &format!("{stack}-teardown"));
    }
    // ACM: the own domain's certificates, in us-east-1 (CloudFront's) and the stack's region.
    for acm in [&c.acm, &c.acm_us_east_1] {
        let listed = acm.list_certificates().send().await.unwrap();
        for summary in listed.certificate_summary_list() {
            let arn = summary.certificate_arn().unwrap();
            let tags = acm
                .list_tags_for_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .unwrap();
            let ours = tags
                .tags()
                .iter()
                .any(|t| t.key() == STACK_TAG && t.value() == Some(stack));
            if ours {
                add("certificate", arn);
            }
        }
    }
    let pages = all_pages!(c.sfn.list_state_machines());
    for m in pages.iter().flat_map(|p| p.state_machines()) {
        let tags = c
            .sfn
            .list_tags_for_resource()
            .resource_arn(m.state_machine_arn())
            .send()
            .await
            .unwrap();
        if carries_stack_tag(tags.tags(), stack) {
            add("bootstrap state machine", m.name());
        }
    }
    found
}

/// How many of each kind a census holds ("kind id" entries).
pub fn kinds(census: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in census {
        let kind = KINDS
            .iter()
            .find(|k| entry.starts_with(&format!("{k} ")))
            .copied()
            .unwrap_or("unknown");
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    counts
}

/// The kinds [`tagged`] names, longest first where one is a prefix of another.
const KINDS: &[&str] = &[
    "elasticache replication group",
    "elasticache subnet group",
    "certificate",
    "bootstrap state machine",
    "bootstrap log group",
    "bootstrap function",
    "bootstrap stack",
    "codedeploy application",
    "cloudfront function",
    "origin access control",
    "network interface",
    "internet gateway",
    "db subnet group",
    "scalable target",
    "task definition",
    "security group",
    "ecr repository",
    "load balancer",
    "ssm parameter",
    "target group",
    "route table",
    "distribution",
    "ecs cluster",
    "ecs service",
    "db snapshot",
    "s3 bucket",
    "log group",
    "database",
    "subnet",
    "secret",
    "alarm",
    "vpc",
];
