//! Backend: the service's autoscaling, the service (scaled to 0, deleted, drained), the
//! cluster, every task definition revision of the family, the ECR repository with its
//! images, and the log group unless kept.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_ecs::types::{DeploymentControllerType, TaskDefinitionStatus};
use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::{ErrorClass, Result, SdkContext};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

/// DeleteTaskDefinitions takes at most ten at a time.
const TASK_DEFINITION_BATCH: usize = 10;

#[derive(Debug, Default)]
pub struct Found {
    pub cluster: Option<String>,
    /// Active services in our cluster that are not ours: they keep the cluster alive.
    pub foreign_services: Vec<String>,
    pub service: Option<Service>,
    pub scalable_target: Option<String>,
    pub task_definitions: Vec<String>,
    pub inactive_task_definitions: Vec<String>,
    pub repository: Option<Repository>,
    pub log_group: Option<String>,
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub status: String,
    pub task_sets: Vec<String>,
    pub external: bool,
}

#[derive(Debug)]
pub struct Repository {
    pub name: String,
    pub images: usize,
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let cluster = ctx.names.cluster();
    let cluster_ours = find_cluster(clients, ctx).await?;
    let service = find_service(clients, ctx).await?;
    let foreign_services = if cluster_ours {
        foreign_services(clients, &cluster, &ctx.names.service()).await?
    } else {
        Vec::new()
    };
    let scalable_target =
        find_scalable_target(clients, ctx, cluster_ours || service.is_some()).await?;
    let (task_definitions, inactive_task_definitions) = find_task_definitions(clients, ctx).await?;
    Ok(Found {
        cluster: cluster_ours.then_some(cluster),
        foreign_services,
        service,
        scalable_target,
        task_definitions,
        inactive_task_definitions,
        repository: find_repository(clients, ctx).await?,
        log_group: find_log_group(clients, ctx).await?,
    })
}

async fn find_cluster(clients: &Clients, ctx: &Ctx) -> Result<bool> {
    let found = resources_backend::find_cluster(&clients.ecs, &ctx.names).await?;
    Ok(found.is_some_and(|c| resources_backend::cluster_is_ours(&c, ctx.stack())))
}

async fn find_service(clients: &Clients, ctx: &Ctx) -> Result<Option<Service>> {
    let found = resources_backend::find_service(&clients.ecs, &ctx.names).await?;
    Ok(found
        .filter(|s| resources_backend::is_ours(s, ctx.stack()))
        .map(|s| Service {
            name: ctx.names.service(),
            status: s.status().unwrap_or("ACTIVE").to_string(),
            task_sets: s
                .task_sets()
                .iter()
                .filter_map(|t| t.id().map(str::to_string))
                .collect(),
            external: s.deployment_controller().map(|c| c.r#type())
                == Some(&DeploymentControllerType::External),
        }))
}

async fn foreign_services(clients: &Clients, cluster: &str, ours: &str) -> Result<Vec<String>> {
    let arns: Vec<String> = clients
        .ecs
        .list_services()
        .cluster(cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list services of cluster {cluster}"))?;
    Ok(arns
        .into_iter()
        .filter(|arn| arn.rsplit('/').next() != Some(ours))
        .collect())
}

/// The service's scalable target, while the service or our cluster is there to scale.
async fn find_scalable_target(
    clients: &Clients,
    ctx: &Ctx,
    scales_ours: bool,
) -> Result<Option<String>> {
    if !scales_ours {
        return Ok(None);
    }
    let found = resources_backend::find_scalable_target(&clients.autoscaling, &ctx.names).await?;
    Ok(found.map(|_| ctx.names.scalable_target()))
}

/// Every revision of the family that carries our tag: (active, inactive).
async fn find_task_definitions(clients: &Clients, ctx: &Ctx) -> Result<(Vec<String>, Vec<String>)> {
    let mut by_status = Vec::new();
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        let mut ours = Vec::new();
        for arn in
            resources_backend::find_task_definition_arns(&clients.ecs, &ctx.names, status).await?
        {
            let revision = resources_backend::find_task_definition(&clients.ecs, &arn).await?;
            if revision.is_some_and(|r| r.is_ours(ctx.stack())) {
                ours.push(arn);
            }
        }
        by_status.push(ours);
    }
    let inactive = by_status.pop().unwrap_or_default();
    let active = by_status.pop().unwrap_or_default();
    Ok((active, inactive))
}

async fn find_repository(clients: &Clients, ctx: &Ctx) -> Result<Option<Repository>> {
    let name = ctx.names.repository();
    let found = resources_backend::find_repository(&clients.ecr, &name).await?;
    let Some(arn) = found.as_ref().and_then(|r| r.repository_arn()) else {
        return Ok(None);
    };
    let tags = clients
        .ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .context(format!("read tags of repository {name}"))?;
    if !ctx.owns(tags.tags().iter().map(|t| (t.key(), t.value()))) {
        return Ok(None);
    }
    let mut images = 0;
    let mut token = None;
    loop {
        let page = clients
            .ecr
            .list_images()
            .repository_name(&name)
            .set_next_token(token)
            .send()
            .await
            .context(format!("list images of {name}"))?;
        images += page.image_ids().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(Some(Repository { name, images }))
}

async fn find_log_group(clients: &Clients, ctx: &Ctx) -> Result<Option<String>> {
    let name = ctx.names.log_group();
    if resources_backend::find_log_group(&clients.logs, &ctx.names)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let arn = ctx.arn("logs", &format!("log-group:{name}"));
    let tags = clients
        .logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .context(format!("read tags of log group {name}"))?;
    let ours = ctx.owns(
        tags.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(ours.then_some(name))
}

fn resource(kind: &str, id: &str) -> Resource {
    Resource {
        kind: kind.into(),
        id: id.into(),
    }
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    let mut delete = Vec::new();
    let mut keep = Vec::new();
    if let Some(target) = &found.scalable_target {
        delete.push(resource("autoscaling target", target));
    }
    if let Some(service) = &found.service {
        delete.push(resource("ecs service", &service.name));
        for set in &service.task_sets {
            delete.push(resource("ecs task set", set));
        }
    }
    if let Some(cluster) = &found.cluster {
        delete.push(resource("ecs cluster", cluster));
    }
    for arn in found
        .task_definitions
        .iter()
        .chain(&found.inactive_task_definitions)
    {
        delete.push(resource("ecs task definition", arn));
    }
    if let Some(repository) = &found.repository {
        delete.push(resource(
            "ecr repository",
            &format!("{} ({} images)", repository.name, repository.images),
        ));
    }
    if let Some(group) = &found.log_group {
        if ctx.options.keep_logs {
            keep.push(Kept {
                kind: "log group".into(),
                id: group.clone(),
                reason: "--keep-logs".into(),
            });
        } else {
            delete.push(resource("log group", group));
        }
    }
    PlannedTier {
        tier: "backend".into(),
        delete,
        keep,
        refuse: vec![],
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    let cluster = ctx.names.cluster();
    if let Some(target) = &found.scalable_target {
        let deregistered = clients
            .autoscaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(target)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .context(format!("deregister scalable target {target}"));
        step.record("autoscaling target", target, deregistered.map(|_| ()));
    }
    let service_gone = match &found.service {
        None => true,
        Some(service) => delete_service(clients, &cluster, service, step).await,
    };
    if let Some(name) = &found.cluster {
        if !found.foreign_services.is_empty() {
            step.failed(
                "ecs cluster",
                name,
                format!(
                    "it holds services this stack did not create: {}",
                    found.foreign_services.join(", ")
                ),
                "delete or move those services, then run `vikunja-aws down` again",
            );
        } else if service_gone {
            delete_cluster(clients, name, step).await;
        }
    }
    delete_task_definitions(clients, &found, step).await;
    if let Some(repository) = &found.repository {
        // `force` deletes the images with the repository.
        let deleted = clients
            .ecr
            .delete_repository()
            .repository_name(&repository.name)
            .force(true)
            .send()
            .await
            .context(format!("delete repository {}", repository.name));
        if step.record("ecr repository", &repository.name, deleted.map(|_| ()))
            && repository.images > 0
        {
            step.deleted(
                "ecr images",
                format!("{} in {}", repository.images, repository.name),
            );
        }
    }
    if let Some(group) = &found.log_group {
        if ctx.options.keep_logs {
            step.kept("log group", group, "--keep-logs");
        } else {
            let deleted = clients
                .logs
                .delete_log_group()
                .log_group_name(group)
                .send()
                .await
                .context(format!("delete log group {group}"));
            step.record("log group", group, deleted.map(|_| ()));
        }
    }
    Ok(())
}

/// Scales the service to 0 and deletes it; true once it is gone (INACTIVE).
async fn delete_service(
    clients: &Clients,
    cluster: &str,
    service: &Service,
    step: &mut Step,
) -> bool {
    let name = &service.name;
    if service.status == "DRAINING" {
        step.wait(format!("ECS service {name} to stop its tasks"));
        return false;
    }
    // A service scaled to 0 first stops its tasks in order; `force` below would also
    // delete a service that refuses (a CODE_DEPLOY service mid-deployment).
    if let Err(error) = clients
        .ecs
        .update_service()
        .cluster(cluster)
        .service(name)
        .desired_count(0)
        .send()
        .await
    {
        tracing::warn!(service = name, error = %aws_sdk_ecs::error::DisplayErrorContext(&error), "scaling to 0 was refused; deleting with force");
    }
    // Task sets belong to the deployment controller: ECS removes a CODE_DEPLOY service's
    // with the service; an EXTERNAL service's are ours to delete first.
    if service.external {
        for set in &service.task_sets {
            let deleted = clients
                .ecs
                .delete_task_set()
                .cluster(cluster)
                .service(name)
                .task_set(set)
                .force(true)
                .send()
                .await
                .context(format!("delete task set {set} of {name}"));
            step.record("ecs task set", set, deleted.map(|_| ()));
        }
    }
    let deleted = clients
        .ecs
        .delete_service()
        .cluster(cluster)
        .service(name)
        .force(true)
        .send()
        .await
        .context(format!("delete service {name}"));
    match deleted {
        Ok(out) => {
            step.deleted("ecs service", name);
            if !service.external {
                for set in &service.task_sets {
                    step.deleted("ecs task set", set);
                }
            }
            let status = out.service().and_then(|s| s.status()).unwrap_or("INACTIVE");
            if status != "INACTIVE" {
                step.wait(format!("ECS service {name} to stop its tasks"));
                return false;
            }
            true
        }
        Err(error) if error.is(ErrorClass::NotFound) => true,
        Err(error) => {
            step.refused("ecs service", name, &error);
            false
        }
    }
}

async fn delete_cluster(clients: &Clients, name: &str, step: &mut Step) {
    let deleted = clients
        .ecs
        .delete_cluster()
        .cluster(name)
        .send()
        .await
        .context(format!("delete cluster {name}"));
    match deleted {
        Err(error)
            if matches!(
                error.code(),
                Some(
                    "ClusterContainsServicesException"
                        | "ClusterContainsTasksException"
                        | "ClusterContainsContainerInstancesException"
                        | "UpdateInProgressException"
                )
            ) =>
        {
            step.wait(format!("ECS cluster {name} to empty"));
        }
        other => {
            step.record("ecs cluster", name, other.map(|_| ()));
        }
    }
}

/// Whether a revision no longer exists, or is being deleted.
async fn is_gone_or_going(clients: &Clients, arn: &str) -> bool {
    match resources_backend::find_task_definition(&clients.ecs, arn).await {
        Ok(None) => true,
        Ok(Some(revision)) => {
            revision.definition.status() == Some(&TaskDefinitionStatus::DeleteInProgress)
        }
        Err(_) => false,
    }
}

/// Deregisters the family's active revisions, then deletes every revision (ECS keeps
/// deregistered ones, still tagged, until they are deleted).
async fn delete_task_definitions(clients: &Clients, found: &Found, step: &mut Step) {
    let mut inactive = found.inactive_task_definitions.clone();
    for arn in &found.task_definitions {
        let deregistered = clients
            .ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .context(format!("deregister task definition {arn}"));
        match deregistered {
            Ok(_) => inactive.push(arn.clone()),
            Err(error) if error.is(ErrorClass::NotFound) => {}
            Err(error) => step.refused("ecs task definition", arn, &error),
        }
    }
    for batch in inactive.chunks(TASK_DEFINITION_BATCH) {
        let deleted = clients
            .ecs
            .delete_task_definitions()
            .set_task_definitions(Some(batch.to_vec()))
            .send()
            .await
            .context("delete task definitions");
        match deleted {
            Ok(out) => {
                let failed: Vec<(&str, String)> = out
                    .failures()
                    .iter()
                    .filter_map(|f| {
                        Some((
                            f.arn()?,
                            format!(
                                "{}: {}",
                                f.reason().unwrap_or("refused"),
                                f.detail().unwrap_or_default()
                            ),
                        ))
                    })
                    .collect();
                for arn in batch {
                    let refused = failed.iter().find(|(a, _)| a == arn);
                    // A retried delete whose first attempt went through is refused for a
                    // revision that is gone: look before calling it a failure.
                    let refused = match refused {
                        Some(_) if is_gone_or_going(clients, arn).await => None,
                        other => other,
                    };
                    match refused {
                        Some((_, reason)) => step.failed(
                            "ecs task definition",
                            arn,
                            reason.clone(),
                            "run `vikunja-aws down` again; a deregistered task definition costs nothing meanwhile",
                        ),
                        None => step.deleted("ecs task definition", arn),
                    }
                }
            }
            Err(error) => batch
                .iter()
                .for_each(|arn| step.refused("ecs task definition", arn, &error)),
        }
    }
}
