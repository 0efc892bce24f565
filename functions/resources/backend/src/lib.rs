//! Backend: the ECS service — the one finder of it, and the rules every verb reads it by
//! (which revision is live, whether it is the stack's).

use aws_sdk_ecs::types::{Cluster, ClusterField, Service, ServiceField};
use vikunja_core::{tags, Names, Result, SdkContext};

/// The stack's service in the stack's cluster, unless it is gone (INACTIVE: ECS remembers
/// deleted services for a while). A DRAINING service is still there: it is being deleted.
pub async fn find_service(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Option<Service>> {
    let name = names.service();
    let described = ecs
        .describe_services()
        .cluster(names.cluster())
        .services(&name)
        .include(ServiceField::Tags)
        .send()
        .await
        .context(format!("find service {name}"));
    // No cluster, no service.
    let Some(described) = resources::found::absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(described
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .cloned())
}

/// The stack's cluster, unless it is gone (INACTIVE), with its tags.
pub async fn find_cluster(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Option<Cluster>> {
    let name = names.cluster();
    let described = ecs
        .describe_clusters()
        .clusters(&name)
        .include(ClusterField::Tags)
        .send()
        .await
        .context(format!("find cluster {name}"))?;
    Ok(described
        .clusters()
        .iter()
        .find(|c| c.status() != Some("INACTIVE"))
        .cloned())
}

/// Whether the cluster carries the stack's tag.
pub fn cluster_is_ours(cluster: &Cluster, stack: &str) -> bool {
    tags::belongs_to(
        cluster
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    )
}

/// Whether the service serves (ACTIVE), rather than being deleted (DRAINING).
pub fn is_active(service: &Service) -> bool {
    service.status() == Some("ACTIVE")
}

/// Whether the service carries the stack's tag: the rule for touching it.
pub fn is_ours(service: &Service, stack: &str) -> bool {
    tags::belongs_to(
        service
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    )
}

/// The task definition serving production: the primary task set's (CodeDeploy swaps task
/// sets; the service's own field may lag behind a release).
pub fn live_task_definition(service: &Service) -> Option<&str> {
    service
        .task_sets()
        .iter()
        .find(|t| t.status() == Some("PRIMARY"))
        .and_then(|t| t.task_definition())
        .or(service.task_definition())
}

/// A repository by name (the stack's, or the one an ECR event names).
#[cfg(feature = "registry")]
pub async fn find_repository(
    ecr: &aws_sdk_ecr::Client,
    name: &str,
) -> Result<Option<aws_sdk_ecr::types::Repository>> {
    let described = ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await;
    let described = resources::found::absent_if_not_found(
        described.context(format!("find repository {name}")),
    )?;
    Ok(described.and_then(|d| d.repositories().first().cloned()))
}

/// The stack's log group: the one of exactly its name among those with it as a prefix,
/// on every page.
#[cfg(feature = "logs")]
pub async fn find_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>> {
    let name = names.log_group();
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("find log group {name}"))?;
    Ok(groups
        .into_iter()
        .find(|g| g.log_group_name() == Some(name.as_str())))
}
