//! The ECS AppSpec CodeDeploy runs: which task definition replaces the live one, which
//! container and port the target groups point at, and the hook that gates the shift.

use serde_json::json;
use sha2::{Digest, Sha256};

pub fn ecs_appspec(
    task_definition_arn: &str,
    container: &str,
    port: i32,
    before_allow_traffic_hook: &str,
) -> String {
    json!({
        "version": 0.0,
        "Resources": [{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": task_definition_arn,
                    "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port}
                }
            }
        }],
        "Hooks": [{"BeforeAllowTraffic": before_allow_traffic_hook}]
    })
    .to_string()
}

pub fn sha256_hex(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// The task definition ARN an AppSpec names (the hook reads it back from the deployment).
pub fn task_definition_of(appspec: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(appspec).ok()?;
    value["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"]
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appspec_names_task_container_port_and_hook() {
        let spec = ecs_appspec(
            "arn:aws:ecs:eu-west-1:1:task-definition/v-backend-api:7",
            "vikunja",
            3456,
            "arn:aws:lambda:eu-west-1:1:function:v-hook",
        );
        let value: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let properties = &value["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(
            value["Resources"][0]["TargetService"]["Type"],
            "AWS::ECS::Service"
        );
        assert_eq!(properties["LoadBalancerInfo"]["ContainerName"], "vikunja");
        assert_eq!(properties["LoadBalancerInfo"]["ContainerPort"], 3456);
        assert_eq!(
            value["Hooks"][0]["BeforeAllowTraffic"],
            "arn:aws:lambda:eu-west-1:1:function:v-hook"
        );
        assert_eq!(
            task_definition_of(&spec).as_deref(),
            Some("arn:aws:ecs:eu-west-1:1:task-definition/v-backend-api:7")
        );
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
