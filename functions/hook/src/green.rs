//! From what the engine names (a CodeDeploy deployment id, or the service revision an ECS
//! deployment rolls out) to what green is: the test listener's addresses, the version green
//! must report, and green's target group.

use aws_sdk_ec2::types::Filter;
use vikunja_core::endpoints::local_listener_address;
use vikunja_core::{Error, Result, SdkContext};

use crate::handler::Clients;

#[derive(Debug, Clone)]
pub struct Green {
    /// `host:port`s of the test listener inside the VPC: the load balancer's private address
    /// in each zone (one loopback address on the local stack).
    pub addresses: Vec<String>,
    pub expected_version: String,
    pub target_group_arn: String,
}

/// Green of a CodeDeploy deployment: the AppSpec names the task definition, the deployment
/// group the test listener.
pub async fn find(clients: &Clients, deployment_id: &str) -> Result<Green> {
    let info = resources_delivery::find_deployment(&clients.codedeploy, deployment_id)
        .await?
        .ok_or_else(|| Error::conflict(format!("deployment {deployment_id} does not exist")))?;
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

    let group_info =
        resources_delivery::find_deployment_group(&clients.codedeploy, application, group)
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "deployment group {group} of {application} does not exist"
                ))
            })?;
    let test_listener = group_info
        .load_balancer_info()
        .and_then(|lb| lb.target_group_pair_info_list().first())
        .and_then(|pair| pair.test_traffic_route())
        .and_then(|route| route.listener_arns().first())
        .ok_or_else(|| Error::conflict(format!("deployment group {group} has no test listener")))?
        .to_string();

    through_test_listener(clients, &test_listener, &task_definition).await
}

/// Green of an ECS blue/green deployment: the service revision being rolled out names its
/// task definition and, in its load balancer's advanced configuration, the test listener
/// (for a Network Load Balancer, the listener's ARN itself).
pub async fn find_for_revision(clients: &Clients, revision_arn: &str) -> Result<Green> {
    let revision = resources_backend::find_service_revision(&clients.ecs, revision_arn)
        .await?
        .ok_or_else(|| {
            Error::conflict(format!("service revision {revision_arn} does not exist"))
        })?;
    let task_definition = revision.task_definition().ok_or_else(|| {
        Error::conflict(format!(
            "service revision {revision_arn} names no task definition"
        ))
    })?;
    let test_listener = revision
        .load_balancers()
        .iter()
        .find_map(|lb| lb.advanced_configuration()?.test_listener_rule())
        .ok_or_else(|| {
            Error::conflict(format!(
                "service revision {revision_arn} has no test listener (advancedConfiguration.testListenerRule)"
            ))
        })?;
    through_test_listener(clients, test_listener, task_definition).await
}

/// What the test listener forwards to — at the hook's stage of either engine, green.
async fn through_test_listener(
    clients: &Clients,
    test_listener: &str,
    task_definition: &str,
) -> Result<Green> {
    let listener = resources_loadbalancer::find_listener(&clients.elb, test_listener)
        .await?
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} not found")))?;
    let port = listener
        .port()
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} has no port")))?;
    let target_group_arn = resources_loadbalancer::serving_group(&listener).ok_or_else(|| {
        Error::conflict(format!(
            "listener {test_listener} forwards to no target group"
        ))
    })?;
    let lb_arn = listener
        .load_balancer_arn()
        .ok_or_else(|| Error::conflict(format!("listener {test_listener} has no load balancer")))?;
    let dns = resources_loadbalancer::find_load_balancer_by_arn(&clients.elb, lb_arn)
        .await?
        .and_then(|lb| lb.dns_name().map(str::to_string))
        .ok_or_else(|| Error::conflict(format!("load balancer {lb_arn} has no DNS name")))?;

    let addresses = match local_listener_address(&dns, port) {
        Some(loopback) => vec![loopback],
        None => private_addresses(clients, lb_arn)
            .await?
            .into_iter()
            .map(|ip| format!("{ip}:{port}"))
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Error::NotReady(format!(
            "load balancer {lb_arn} has no network interfaces yet"
        )));
    }
    Ok(Green {
        addresses,
        expected_version: expected_version(clients, task_definition).await?,
        target_group_arn,
    })
}

/// The load balancer's private IPs: its DNS name resolves to public addresses, which a
/// function inside the VPC without a public IP cannot reach. ELB names its interfaces
/// `ELB <type>/<name>/<id>`, the tail of the load balancer's ARN.
async fn private_addresses(clients: &Clients, lb_arn: &str) -> Result<Vec<String>> {
    let description = interface_description(lb_arn)
        .ok_or_else(|| Error::conflict(format!("{lb_arn} is not a load balancer ARN")))?;
    let found = clients
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("description")
                .values(&description)
                .build(),
        )
        .send()
        .await
        .context(format!("network interfaces of {lb_arn}"))?;
    let mut addresses: Vec<String> = found
        .network_interfaces()
        .iter()
        .filter_map(|eni| eni.private_ip_address().map(str::to_string))
        .collect();
    addresses.sort();
    Ok(addresses)
}

fn interface_description(lb_arn: &str) -> Option<String> {
    let tail = lb_arn.split_once(":loadbalancer/")?.1;
    (tail.split('/').count() == 3).then(|| format!("ELB {tail}"))
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
    resources_backend::find_task_definition(&clients.ecs, task_definition)
        .await?
        .ok_or_else(|| {
            Error::conflict(format!("task definition {task_definition} does not exist"))
        })?
        .image_tag()
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
    fn the_interfaces_are_found_by_the_arn_tail() {
        assert_eq!(
            interface_description(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/vikunja-nlb/50dc6c495c0c9188"
            )
            .as_deref(),
            Some("ELB net/vikunja-nlb/50dc6c495c0c9188")
        );
        assert_eq!(interface_description("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn the_task_definition_comes_from_the_appspec() {
        let appspec = r#"{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"arn:td:3","LoadBalancerInfo":{"ContainerName":"vikunja","ContainerPort":3456}}}}]}"#;
        assert_eq!(task_definition_of(appspec).as_deref(), Some("arn:td:3"));
        assert_eq!(task_definition_of("not json"), None);
    }
}

#[cfg(test)]
mod fuzz {
    //! What CodeDeploy and ELB answer about green is read without panicking: the AppSpec a
    //! deployment carries, the load balancer ARN an interface description comes from.

    use super::*;
    use serde_json::json;
    use vikunja_core::fuzzing::Shape;

    #[test]
    fn appspecs_name_a_task_definition_or_nothing() {
        let appspec = json!({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
            "Properties": {"TaskDefinition": "arn:td:3", "LoadBalancerInfo": {"ContainerName": "vikunja", "ContainerPort": 3456}}}}],
            "Hooks": [{"BeforeAllowTraffic": "arn:fn"}]});
        let shape = Shape::of(&[appspec]);
        bolero::check!().for_each(|data: &[u8]| {
            let text = String::from_utf8_lossy(&shape.body(data)).into_owned();
            if let Some(task_definition) = task_definition_of(&text) {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    value["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"],
                    task_definition.as_str()
                );
            }
        });
    }

    #[test]
    fn interface_descriptions_come_from_load_balancer_arns_only() {
        const PIECES: &[&str] = &[
            "arn:aws:elasticloadbalancing:us-east-1:1",
            ":loadbalancer/",
            "net",
            "/",
            "x",
            "é",
        ];
        bolero::check!()
            .with_type::<(Vec<u8>, String, bool)>()
            .for_each(|(picks, any, plain)| {
                let arn: String = if *plain {
                    any.clone()
                } else {
                    picks
                        .iter()
                        .map(|p| PIECES[*p as usize % PIECES.len()])
                        .collect()
                };
                if let Some(description) = interface_description(&arn) {
                    let tail = description.strip_prefix("ELB ").unwrap();
                    assert!(arn.contains(":loadbalancer/") && arn.ends_with(tail));
                    assert_eq!(tail.split('/').count(), 3);
                }
            });
    }
}
