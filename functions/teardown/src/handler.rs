//! The Lambda boundary: one event shape for every step of the teardown state machine.

use std::time::Instant;

use aws_config::SdkConfig;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing::info;
use vikunja_core::teardown::{TeardownOptions, TierReport};
use vikunja_core::{aws::has_endpoint_override, Error, Result};

use crate::context::{now_seconds, Ctx};
use crate::step::Step;
use crate::{
    backend, cache, data, delivery, domain, files, frontend, inventory, loadbalancer, network,
    plan, summary,
};

/// Every SDK client teardown uses; cheap to clone, built once per container.
pub struct Clients {
    /// ACM in us-east-1 (CloudFront's certificate) and in the stack's region.
    pub site_acm: aws_sdk_acm::Client,
    pub origin_acm: aws_sdk_acm::Client,
    pub route53: aws_sdk_route53::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub efs: aws_sdk_efs::Client,
    pub cache: aws_sdk_elasticache::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(has_endpoint_override(config))
            .build();
        let site_acm = aws_sdk_acm::config::Builder::from(config)
            .region(aws_config::Region::new(resources_domain::CLOUDFRONT_REGION))
            .build();
        Self {
            site_acm: aws_sdk_acm::Client::from_conf(site_acm),
            origin_acm: aws_sdk_acm::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudfront: aws_sdk_cloudfront::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            codedeploy: aws_sdk_codedeploy::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            efs: aws_sdk_efs::Client::new(config),
            cache: aws_sdk_elasticache::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }

    pub fn domain(&self) -> resources_domain::Clients<'_> {
        resources_domain::Clients {
            site_acm: &self.site_acm,
            origin_acm: &self.origin_acm,
            route53: &self.route53,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Find everything and say what would happen; delete nothing.
    Plan,
    Delivery,
    Backend,
    Frontend,
    Data,
    LoadBalancer,
    Domain,
    Network,
    /// Forget the stack's inventory (the tiers whose teardown finished).
    Inventory,
    /// Every tier's report in one summary, and whether the teardown is complete.
    Summary,
}

impl Action {
    fn tier(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::Delivery => "delivery",
            Action::Backend => "backend",
            Action::Frontend => "frontend",
            Action::Data => "data",
            Action::LoadBalancer => "loadbalancer",
            Action::Domain => "domain",
            Action::Network => "network",
            Action::Inventory => "inventory",
            Action::Summary => "summary",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeardownEvent {
    pub action: Action,
    pub options: TeardownOptions,
    /// A tier step's last report, when the state machine loops on `waiting`.
    #[serde(default)]
    pub previous: Option<Value>,
    /// Every tier's report so far (inventory and summary).
    #[serde(default)]
    pub tiers: Option<Map<String, Value>>,
}

pub async fn handle(
    clients: &Clients,
    account: &str,
    region: &str,
    deadline: Instant,
    event: TeardownEvent,
) -> Result<Value> {
    event.options.validate()?;
    if account.is_empty() || region.is_empty() {
        return Err(Error::invalid(
            "account and region are unknown (no function ARN in the invocation)",
        ));
    }
    let action = event.action;
    let ctx = Ctx::new(event.options, account, region, deadline);
    info!(stack = ctx.stack(), action = action.tier(), "teardown step");
    match action {
        Action::Plan => {
            let plan = plan::plan(clients, &ctx).await?;
            let tiers: Map<String, Value> = vikunja_core::teardown::ORDER
                .iter()
                .map(|tier| Ok((tier.to_string(), to_value(&TierReport::pending(tier))?)))
                .collect::<Result<_>>()?;
            Ok(json!({"options": ctx.options, "plan": plan, "tiers": tiers}))
        }
        Action::Summary => {
            let summary = summary::summarize(ctx.stack(), event.tiers.unwrap_or_default());
            summary::for_state_machine(&summary)
        }
        Action::Inventory => {
            let mut step = Step::new("inventory", None);
            inventory::forget(clients, &ctx, &event.tiers.unwrap_or_default(), &mut step).await?;
            to_value(&step.finish(ctx.options.wait_minutes, now_seconds()))
        }
        tier_action => {
            let previous = event
                .previous
                .and_then(|v| serde_json::from_value::<TierReport>(v).ok());
            let mut step = Step::new(tier_action.tier(), previous.as_ref());
            match tier_action {
                Action::Delivery => delivery::tear_down(clients, &ctx, &mut step).await?,
                Action::Backend => backend::tear_down(clients, &ctx, &mut step).await?,
                Action::Frontend => frontend::tear_down(clients, &ctx, &mut step).await?,
                Action::Data => {
                    files::tear_down(clients, &ctx, &mut step).await?;
                    cache::tear_down(clients, &ctx, &mut step).await?;
                    data::tear_down(clients, &ctx, &mut step).await?
                }
                Action::LoadBalancer => loadbalancer::tear_down(clients, &ctx, &mut step).await?,
                Action::Domain => domain::tear_down(clients, &ctx, &mut step).await?,
                Action::Network => network::tear_down(clients, &ctx, &mut step).await?,
                Action::Plan | Action::Inventory | Action::Summary => {}
            }
            let report = step.finish(ctx.options.wait_minutes, now_seconds());
            info!(
                stack = ctx.stack(),
                tier = report.tier,
                status = ?report.status,
                deleted = report.deleted.len(),
                failed = report.failed.len(),
                waiting_for = report.waiting_for,
                "step done"
            );
            to_value(&report)
        }
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::invalid(format!("serialize the report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_their_action_and_tolerate_the_state_machines_extras() {
        let event: TeardownEvent = serde_json::from_value(json!({
            "action": "loadbalancer",
            "options": {"stack": "v", "keepData": true, "pollSeconds": 2},
            "previous": {"tier": "loadbalancer", "status": "pending"}
        }))
        .unwrap();
        assert_eq!(event.action, Action::LoadBalancer);
        assert!(event.options.keep_data);
        assert_eq!(event.options.poll_seconds, 2);
        let unknown = serde_json::from_value::<TeardownEvent>(
            json!({"action": "everything", "options": {"stack": "v"}}),
        );
        assert!(unknown.is_err());
    }
}
