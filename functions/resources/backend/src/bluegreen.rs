//! Amazon ECS's own blue/green (engine `ecs`): what the service is created with so that ECS
//! runs the releases — the `BLUE_GREEN` strategy, the smoke-test hook after test traffic has
//! moved to green, the alarms that roll a deployment back during bake time, and the load
//! balancer's advanced configuration naming green's target group and both listeners.
//!
//! Sources: the ECS API reference (`DeploymentConfiguration`, `DeploymentLifecycleHook`,
//! `AdvancedConfiguration`) and "Network Load Balancer resources for Amazon ECS blue/green
//! deployments" (for an NLB the listener rule fields take listener ARNs).

use aws_sdk_ecs::types::{
    AdvancedConfiguration, DeploymentAlarms, DeploymentConfiguration, DeploymentLifecycleHook,
    DeploymentLifecycleHookStage, DeploymentStrategy, LoadBalancer,
};
use vikunja_core::error::built;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::{Error, LoadBalancerOutputs, Names, Result, Settings};

/// Where the smoke test runs: test traffic is on green, production still on blue.
pub const HOOK_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// The roles and the hook ECS is handed, from the bootstrap stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRoles {
    /// Lets ECS move the listeners and register green (`AmazonECSInfrastructureRolePolicyForLoadBalancers`).
    pub load_balancer: String,
    /// Lets ECS invoke the hook, and nothing else.
    pub hook_invoke: String,
    pub hook_function: String,
}

impl DeployRoles {
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| {
            std::env::var(name).map_err(|_| {
                Error::invalid(format!(
                    "environment variable {name} is not set (bootstrap stack)"
                ))
            })
        };
        Ok(Self {
            load_balancer: read("ECS_LOAD_BALANCER_ROLE_ARN")?,
            hook_invoke: read("ECS_HOOK_ROLE_ARN")?,
            hook_function: read("HOOK_FUNCTION_ARN")?,
        })
    }
}

/// Everything an `ecs`-engine service is created with beyond a plain one.
#[derive(Debug, Clone, PartialEq)]
pub struct EcsBlueGreen {
    pub roles: DeployRoles,
    pub prod_listener: String,
    pub test_listener: String,
    /// Green's target group: where ECS registers the revision it rolls out.
    pub alternate_target_group: String,
    /// Alarms that roll the deployment back while it bakes (the delivery tier's).
    pub alarms: Vec<String>,
    /// How long blue stays after production moved (the `terminationWaitMinutes` setting).
    pub bake_minutes: i32,
}

impl EcsBlueGreen {
    /// The stack's: its listeners and green target group, the delivery tier's alarms (by
    /// their deterministic names: the delivery step runs after this one) and the settings'
    /// bake time.
    pub fn for_stack(
        names: &Names,
        settings: &Settings,
        lb: &LoadBalancerOutputs,
        roles: DeployRoles,
    ) -> Self {
        Self {
            roles,
            prod_listener: lb.prod_listener_arn.clone(),
            test_listener: lb.test_listener_arn.clone(),
            alternate_target_group: lb.green_target_group_arn.clone(),
            alarms: ["blue", "green"].map(|c| names.alarm(c)).to_vec(),
            bake_minutes: settings.termination_wait_minutes,
        }
    }

    pub fn deployment_configuration(&self) -> Result<DeploymentConfiguration> {
        let hook = DeploymentLifecycleHook::builder()
            .hook_target_arn(&self.roles.hook_function)
            .role_arn(&self.roles.hook_invoke)
            .lifecycle_stages(DeploymentLifecycleHookStage::from(HOOK_STAGE))
            .build();
        let alarms = built(
            DeploymentAlarms::builder()
                .set_alarm_names(Some(self.alarms.clone()))
                .enable(!self.alarms.is_empty())
                .rollback(true)
                .build(),
            "deployment alarms",
        )?;
        Ok(DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(self.bake_minutes)
            .lifecycle_hooks(hook)
            .alarms(alarms)
            // Green starts beside blue at full size; blue keeps serving until the shift.
            .maximum_percent(200)
            .minimum_healthy_percent(100)
            .build())
    }

    /// The service's load balancer: blue's target group, with green's and the listeners
    /// ECS moves between them.
    pub fn load_balancer(&self, blue_target_group: &str) -> LoadBalancer {
        LoadBalancer::builder()
            .target_group_arn(blue_target_group)
            .container_name(CONTAINER_NAME)
            .container_port(CONTAINER_PORT)
            .advanced_configuration(
                AdvancedConfiguration::builder()
                    .alternate_target_group_arn(&self.alternate_target_group)
                    .production_listener_rule(&self.prod_listener)
                    .test_listener_rule(&self.test_listener)
                    .role_arn(&self.roles.load_balancer)
                    .build(),
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blue_green() -> EcsBlueGreen {
        EcsBlueGreen {
            roles: DeployRoles {
                load_balancer: "arn:aws:iam::1:role/lb".into(),
                hook_invoke: "arn:aws:iam::1:role/hook-invoke".into(),
                hook_function: "arn:aws:lambda:eu-west-1:1:function:s-hook".into(),
            },
            prod_listener: "arn:listener/prod".into(),
            test_listener: "arn:listener/test".into(),
            alternate_target_group: "arn:tg/green".into(),
            alarms: vec!["s-delivery-blue".into(), "s-delivery-green".into()],
            bake_minutes: 5,
        }
    }

    #[test]
    fn the_hook_runs_once_test_traffic_is_on_green_and_alarms_roll_back() {
        let config = blue_green().deployment_configuration().unwrap();
        assert_eq!(config.strategy(), Some(&DeploymentStrategy::BlueGreen));
        assert_eq!(config.bake_time_in_minutes(), Some(5));
        let hook = &config.lifecycle_hooks()[0];
        assert_eq!(
            hook.lifecycle_stages(),
            &[DeploymentLifecycleHookStage::PostTestTrafficShift]
        );
        assert_eq!(hook.role_arn(), Some("arn:aws:iam::1:role/hook-invoke"));
        let alarms = config.alarms().unwrap();
        assert!(alarms.enable() && alarms.rollback());
        assert_eq!(alarms.alarm_names().len(), 2);
    }

    #[test]
    fn the_load_balancer_names_green_and_both_listeners_by_arn() {
        let lb = blue_green().load_balancer("arn:tg/blue");
        assert_eq!(lb.target_group_arn(), Some("arn:tg/blue"));
        let advanced = lb.advanced_configuration().unwrap();
        assert_eq!(advanced.alternate_target_group_arn(), Some("arn:tg/green"));
        assert_eq!(
            advanced.production_listener_rule(),
            Some("arn:listener/prod")
        );
        assert_eq!(advanced.test_listener_rule(), Some("arn:listener/test"));
        assert_eq!(advanced.role_arn(), Some("arn:aws:iam::1:role/lb"));
    }
}
