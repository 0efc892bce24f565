//! Backend: the ECR repository, the log group, the ECS cluster, the task definition, the
//! Fargate service behind the blue target group (`CODE_DEPLOY` controller) and its
//! autoscaling — the one finder of each, and the rules every verb reads them by (which
//! revision is live, whether it is the stack's); with the `lifecycle` feature also
//! [`observe`], [`diff`], [`retire`] and [`apply`], which provisioning, `plan` and teardown
//! share.
//!
//! Once the service exists CodeDeploy owns its task definition: `up` never pushes a new one
//! through `UpdateService` (ECS refuses it for `CODE_DEPLOY` services). A release copies the
//! live revision's sizes, environment and secrets and changes only the image, so changed
//! task settings need a revision deployed through CodeDeploy by hand (`plan` says which).

pub mod bluegreen;
pub mod task;

#[cfg(feature = "lifecycle")]
mod apply;
#[cfg(feature = "lifecycle")]
mod diff;
#[cfg(feature = "lifecycle")]
mod observe;

#[cfg(feature = "lifecycle")]
pub use apply::{
    apply, delete, delete_task_definitions, delete_task_sets, ensure, Applied, Deleted,
};
#[cfg(feature = "lifecycle")]
pub use diff::{diff, retire, Op, Plan, Spec};
#[cfg(feature = "lifecycle")]
pub use observe::{
    observe, observe_remains, Clients, Cluster as ClusterFound, Found, LogGroup, Remains,
    Repository, ScalingPolicy, Service as ServiceFound,
};

use aws_sdk_ecs::types::{
    Cluster, ClusterField, Service, ServiceDeployment, ServiceDeploymentBrief,
    ServiceDeploymentStatus, ServiceField, ServiceRevision,
};
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

/// One service revision by ARN (what an ECS deployment rolls out); `None` when ECS does not
/// know it.
pub async fn find_service_revision(
    ecs: &aws_sdk_ecs::Client,
    revision_arn: &str,
) -> Result<Option<ServiceRevision>> {
    let described = ecs
        .describe_service_revisions()
        .service_revision_arns(revision_arn)
        .send()
        .await
        .context(format!("describe service revision {revision_arn}"));
    let Some(described) = resources::found::absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(described
        .service_revisions()
        .iter()
        .find(|r| r.service_revision_arn() == Some(revision_arn))
        .cloned())
}

/// Every deployment ECS made of the stack's service (engine `ecs`), newest first; none
/// without the service.
pub async fn find_service_deployments(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
) -> Result<Vec<ServiceDeploymentBrief>> {
    let service = names.service();
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = ecs
            .list_service_deployments()
            .cluster(names.cluster())
            .service(&service)
            .set_next_token(token)
            .send()
            .await
            .context(format!("list deployments of service {service}"));
        let Some(page) = resources::found::absent_if_not_found(page)? else {
            return Ok(vec![]);
        };
        found.extend(page.service_deployments().iter().cloned());
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    found.sort_by(|a, b| {
        let at = |d: &ServiceDeploymentBrief| {
            d.created_at()
                .or(d.started_at())
                .map(|t| (t.secs(), t.subsec_nanos()))
        };
        at(b).cmp(&at(a))
    });
    Ok(found)
}

/// One service deployment by ARN; `None` when ECS does not know it.
pub async fn find_service_deployment(
    ecs: &aws_sdk_ecs::Client,
    deployment_arn: &str,
) -> Result<Option<ServiceDeployment>> {
    let described = ecs
        .describe_service_deployments()
        .service_deployment_arns(deployment_arn)
        .send()
        .await
        .context(format!("describe service deployment {deployment_arn}"));
    let Some(described) = resources::found::absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(described
        .service_deployments()
        .iter()
        .find(|d| d.service_deployment_arn() == Some(deployment_arn))
        .cloned())
}

/// Whether a service deployment has yet to end (a new one would queue behind it).
pub fn deployment_in_flight(status: Option<&ServiceDeploymentStatus>) -> bool {
    matches!(
        status,
        Some(
            ServiceDeploymentStatus::Pending
                | ServiceDeploymentStatus::InProgress
                | ServiceDeploymentStatus::StopRequested
                | ServiceDeploymentStatus::RollbackRequested
                | ServiceDeploymentStatus::RollbackInProgress
        )
    )
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

/// The tag a release puts on its task definition: the image tag it releases.
pub const IMAGE_TAG_TAG: &str = "vikunja:image-tag";

/// One task definition revision and its tags.
#[derive(Debug, Clone)]
pub struct Revision {
    pub definition: aws_sdk_ecs::types::TaskDefinition,
    pub tags: Vec<aws_sdk_ecs::types::Tag>,
}

impl Revision {
    pub fn arn(&self) -> &str {
        self.definition.task_definition_arn().unwrap_or_default()
    }

    /// Whether the revision carries the stack's tag.
    pub fn is_ours(&self, stack: &str) -> bool {
        tags::belongs_to(
            self.tags
                .iter()
                .filter_map(|t| Some((t.key()?, t.value()?))),
            stack,
        )
    }

    /// Vikunja's container.
    pub fn container(&self) -> Option<&aws_sdk_ecs::types::ContainerDefinition> {
        self.definition
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some(vikunja_core::names::CONTAINER_NAME))
    }

    pub fn image(&self) -> Option<&str> {
        self.container().and_then(|c| c.image())
    }

    /// The image tag this revision releases: its `vikunja:image-tag` tag, else the tag in
    /// the container's image reference.
    pub fn image_tag(&self) -> Option<String> {
        self.tags
            .iter()
            .find(|t| t.key() == Some(IMAGE_TAG_TAG))
            .and_then(|t| t.value())
            .map(str::to_string)
            .or_else(|| {
                self.image()
                    .and_then(vikunja_core::image::ImageRef::parse)
                    .and_then(|r| r.tag)
            })
    }
}

/// A task definition by ARN, or a family's latest ACTIVE revision, with its tags; `None`
/// when ECS knows no such revision. ECS has no typed "not found" for task definitions: it
/// answers `ClientException`.
pub async fn find_task_definition(
    ecs: &aws_sdk_ecs::Client,
    which: &str,
) -> Result<Option<Revision>> {
    let described = ecs
        .describe_task_definition()
        .task_definition(which)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await;
    let described = match described {
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_client_exception()) =>
        {
            return Ok(None)
        }
        other => other.context(format!("describe task definition {which}"))?,
    };
    Ok(described.task_definition().map(|definition| Revision {
        definition: definition.clone(),
        tags: described.tags().to_vec(),
    }))
}

/// Attempts [`register_once`] makes before it gives up.
const REGISTER_ATTEMPTS: u32 = 4;

/// Registers a task definition revision without the SDK's own retry: RegisterTaskDefinition
/// is not idempotent, and a retry after an answer that was lost (a 5xx or a dropped
/// connection once ECS had registered it) registers the same revision twice. After a
/// transient failure the family's latest revision is looked at first, and adopted when
/// `is_it` says it is the one this call meant to register; else the call is tried again.
pub async fn register_once(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    request: aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
    is_it: impl Fn(&Revision) -> bool,
) -> Result<String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = request
            .clone()
            .customize()
            .config_override(
                aws_sdk_ecs::config::Builder::default()
                    .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .context(format!("register task definition {family}"));
        let error = match answer {
            Ok(registered) => {
                return registered
                    .task_definition()
                    .and_then(|t| t.task_definition_arn())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        vikunja_core::Error::conflict(
                            "ECS answered without the task definition ARN",
                        )
                    })
            }
            Err(error) if error.is_transient() => error,
            Err(error) => return Err(error),
        };
        if let Some(latest) = find_task_definition(ecs, family).await? {
            if is_it(&latest) {
                tracing::info!(arn = latest.arn(), %error, "adopted the revision an unanswered register made");
                return Ok(latest.arn().to_string());
            }
        }
        if attempt >= REGISTER_ATTEMPTS {
            return Err(error);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
    }
}

/// Every revision of the stack's task family with `status`, on every page: only that
/// exact family (the prefix also matches families that start alike).
pub async fn find_task_definition_arns(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
    status: aws_sdk_ecs::types::TaskDefinitionStatus,
) -> Result<Vec<String>> {
    let family = names.task_family();
    let arns: Vec<String> = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(status)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list task definitions of {family}"))?;
    Ok(arns
        .into_iter()
        .filter(|arn| family_of(arn) == Some(family.as_str()))
        .collect())
}

/// `arn:…:task-definition/<family>:<revision>` → `<family>`.
pub fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once("task-definition/")
        .and_then(|(_, tail)| tail.rsplit_once(':'))
        .map(|(family, _)| family)
}

/// The service's scalable target (desired count), by the service's resource id: that id
/// names our service in our cluster, which is what makes it ours.
#[cfg(feature = "scaling")]
pub async fn find_scalable_target(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    names: &Names,
) -> Result<Option<aws_sdk_applicationautoscaling::types::ScalableTarget>> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let resource = names.scalable_target();
    let described = autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .context(format!("find scalable target {resource}"))?;
    Ok(described.scalable_targets().first().cloned())
}

/// The service's CPU target-tracking policy.
#[cfg(feature = "scaling")]
pub async fn find_scaling_policy(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    names: &Names,
) -> Result<Option<aws_sdk_applicationautoscaling::types::ScalingPolicy>> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let resource = names.scalable_target();
    let name = names.scaling_policy();
    let described = autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_names(&name)
        .send()
        .await
        .context(format!("find scaling policy {name}"))?;
    Ok(described
        .scaling_policies()
        .iter()
        .find(|p| p.policy_name() == name)
        .cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{json_error, ok, Replay};

    resources::replayed_client!(ecs, aws_sdk_ecs);

    fn revision(arn: &str, image: &str) -> String {
        format!(
            r#"{{"taskDefinition":{{"taskDefinitionArn":"{arn}","family":"v-backend-api","status":"ACTIVE","containerDefinitions":[{{"name":"vikunja","image":"{image}"}}]}},"tags":[]}}"#
        )
    }

    fn request(client: &aws_sdk_ecs::Client) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder{
        client.register_task_definition().family("v-backend-api")
    }

    #[tokio::test]
    async fn a_register_answered_500_after_it_took_effect_is_adopted_not_repeated() {
        let replay = Replay::new(vec![
            json_error("RegisterTaskDefinition", 500, "ServerException"),
            ok("DescribeTaskDefinition", revision("arn:td:2", "img:2")),
        ]);
        let client = ecs(&replay);
        let arn = register_once(&client, "v-backend-api", request(&client), |latest| {
            latest.image() == Some("img:2")
        })
        .await
        .unwrap();
        assert_eq!(arn, "arn:td:2");
        replay.assert_done();
        assert_eq!(
            replay.actions(),
            ["RegisterTaskDefinition", "DescribeTaskDefinition"],
            "one register: the SDK's own retry would have registered the revision twice"
        );
    }

    #[tokio::test]
    async fn a_register_that_did_not_take_effect_is_tried_again() {
        let replay = Replay::new(vec![
            json_error("RegisterTaskDefinition", 503, "ServerException"),
            ok("DescribeTaskDefinition", revision("arn:td:1", "img:1")),
            ok("RegisterTaskDefinition", revision("arn:td:2", "img:2")),
        ]);
        let client = ecs(&replay);
        let arn = register_once(&client, "v-backend-api", request(&client), |latest| {
            latest.image() == Some("img:2")
        })
        .await
        .unwrap();
        assert_eq!(arn, "arn:td:2");
        replay.assert_done();
    }

    #[tokio::test]
    async fn a_refused_register_is_not_retried() {
        let replay = Replay::new(vec![json_error(
            "RegisterTaskDefinition",
            400,
            "ClientException",
        )]);
        let client = ecs(&replay);
        let error = register_once(&client, "v-backend-api", request(&client), |_| true)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("ClientException"), "{error}");
        replay.assert_done();
    }

    #[test]
    fn the_family_is_read_from_the_arn() {
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:1:task-definition/v-backend-api:12"),
            Some("v-backend-api")
        );
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:1:task-definition/v-backend-api-old:1"),
            Some("v-backend-api-old")
        );
        assert_eq!(family_of("nope"), None);
    }
}
