//! From a deployment id to what green is: the test listener's address, the version green
//! must report, and green's target group.

use vikunja_core::endpoints::listener_address;
use vikunja_core::image::ImageRef;
use vikunja_core::{Error, Result, SdkContext};

use crate::handler::Clients;

/// Tag the release workflow puts on each task definition it registers.
const IMAGE_TAG_TAG: &str = "vikunja:image-tag";

#[derive(Debug, Clone)]
pub struct Green {
    /// `host:port` of the test listener (a loopback address on the local stack).
    pub address: String,
    pub expected_version: String,
    pub target_group_arn: String,
}

pub async fn find(clients: &Clients, deployment_id: &str) -> Result<Green> {
    let deployment = clients
        .codedeploy
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .context(format!("get deployment {deployment_id}"))?;
    let info = deployment
        .deployment_info()
        .ok_or_else(|| Error::conflict(format!("deployment {deployment_id} answered empty")))?;
    let (application, group) = (
        info.application_name().unwrap_or_default(),
        info.deployment_group_name().unwrap_or_default(),
    );
    let appspec = info
        .revision()
        .and_then(|r| r.app_spec_content())
        .and_then(|c| c.content())
        .ok_or_else(|| {
            Error::conflict(format!("deployment {deployment_id} has no AppSpec content"))
        })?;
    let task_definition = task_definition_of(appspec).ok_or_else(|| {
        Error::conflict(format!(
            "the AppSpec of {deployment_id} names no task definition"
        ))
    })?;

    let group_info = clients
        .codedeploy
        .get_deployment_group()
        .application_name(application)
        .deployment_group_name(group)
        .send()
        .await
        .context(format!("get deployment group {group}"))?;
    let test_listener = group_info
        .deployment_group_info()
        .and_then(|g| g.load_balancer_info())
        .and_then(|lb| lb.target_group_pair_info_list().first())
        .and_then(|pair| pair.test_traffic_route())
        .and_then(|route| route.listener_arns().first())
        .ok_or_else(|| Error::conflict(format!("deployment group {group} has no test listener")))?
        .to_string();

    let listeners = clients
        .elb
        .describe_listeners()
        .listener_arns(&test_listener)
        .send()
        .await
        .context(format!("describe listener {test_listener}"))?;
    let listener = listeners
        .listeners()
        .first()
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} not found")))?;
    let port = listener
        .port()
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} has no port")))?;
    let target_group_arn = listener
        .default_actions()
        .iter()
        .find_map(|a| a.target_group_arn())
        .ok_or_else(|| {
            Error::conflict(format!(
                "listener {test_listener} forwards to no target group"
            ))
        })?
        .to_string();
    let lb_arn = listener
        .load_balancer_arn()
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} has no load balancer")))?;
    let lbs = clients
        .elb
        .describe_load_balancers()
        .load_balancer_arns(lb_arn)
        .send()
        .await
        .context(format!("describe load balancer {lb_arn}"))?;
    let dns = lbs
        .load_balancers()
        .first()
        .and_then(|lb| lb.dns_name())
        .ok_or_else(|| Error::conflict(format!("load balancer {lb_arn} has no DNS name")))?;

    Ok(Green {
        address: listener_address(dns, port),
        expected_version: expected_version(clients, &task_definition).await?,
        target_group_arn,
    })
}

fn task_definition_of(appspec: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(appspec).ok()?;
    value["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"]
        .as_str()
        .map(str::to_string)
}

/// The release's image tag: the task definition's `vikunja:image-tag`, else the tag in the
/// container's image reference.
async fn expected_version(clients: &Clients, task_definition: &str) -> Result<String> {
    let described = clients
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .context(format!("describe task definition {task_definition}"))?;
    if let Some(tag) = described
        .tags()
        .iter()
        .find(|t| t.key() == Some(IMAGE_TAG_TAG))
        .and_then(|t| t.value())
    {
        return Ok(tag.to_string());
    }
    described
        .task_definition()
        .and_then(|t| {
            t.container_definitions()
                .iter()
                .find(|c| c.name() == Some(vikunja_core::names::CONTAINER_NAME))
        })
        .and_then(|c| c.image())
        .and_then(ImageRef::parse)
        .and_then(|r| r.tag)
        .ok_or_else(|| {
            Error::conflict(format!(
                "task definition {task_definition} names no image tag to expect"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_definition_comes_from_the_appspec() {
        let appspec = r#"{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"arn:td:3","LoadBalancerInfo":{"ContainerName":"vikunja","ContainerPort":3456}}}}]}"#;
        assert_eq!(task_definition_of(appspec).as_deref(), Some("arn:td:3"));
        assert_eq!(task_definition_of("not json"), None);
    }
}
