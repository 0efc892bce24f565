//! Backend: repository, log group, cluster, task definition, service, autoscaling.

use super::*;

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
fn desired_task_inputs(d: &Desired, o: &Observed) -> Option<::backend::task::TaskInputs> {
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
        changes: vec![],
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
    let roles = ::backend::Roles {
        task_execution: roles.execution.clone(),
        task: roles.task.clone(),
    };
    ::backend::task::TaskInputs::new(
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

/// Name → value lists (environment, secrets), key by key: `environment KEY`, `secret KEY`.
fn compare_pairs(
    check: &mut Check,
    field: &str,
    have: &[(String, String)],
    want: &[(String, String)],
    fix: &Option<String>,
) {
    check.compared(field);
    let (have, want) = (pairs(have), pairs(want));
    let keys: std::collections::BTreeSet<_> = have.keys().chain(want.keys()).collect();
    for key in keys {
        let h = have.get(key).copied().unwrap_or("unset");
        let w = want.get(key).copied().unwrap_or("unset");
        if h != w {
            let label = format!("{} {key}", field.trim_end_matches('s'));
            check.differ(label, h, w, How::UpLeavesIt, fix.clone());
        }
    }
}

pub(super) fn backend(d: &Desired, o: &Observed) -> Vec<Item> {
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
                compare_pairs(
                    &mut check,
                    "environment",
                    &live.environment,
                    &inputs.environment,
                    &fix,
                );
                compare_pairs(&mut check, "secrets", &live.secrets, &inputs.secrets, &fix);
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
    let policy = names.scaling_policy();
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
