//! Delivery: the library's findings against nothing (`resources_delivery::retire`) — running
//! deployments stopped (no rollback), then the CodeDeploy application (its deployment groups
//! go with it), the probe out of the VPC, and the unhealthy-host alarms.

use resources_delivery::{Found, Op, Remains, PROBE_ATTACHMENT};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::Result;

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

fn library(clients: &Clients) -> resources_delivery::Clients<'_> {
    resources_delivery::Clients {
        codedeploy: &clients.codedeploy,
        cloudwatch: &clients.cloudwatch,
        lambda: &clients.lambda,
    }
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<(Found, Remains)> {
    let (library, names) = (library(clients), &ctx.names);
    let found = resources_delivery::observe(
        library.codedeploy,
        library.cloudwatch,
        library.lambda,
        names,
    )
    .await?;
    let application = format!("application:{}", names.codedeploy_application());
    let arn = ctx.arn("codedeploy", &application);
    let remains = resources_delivery::observe_remains(&library, names, &arn, &found).await?;
    Ok((found, remains))
}

pub fn plan((found, remains): &(Found, Remains), ctx: &Ctx) -> PlannedTier {
    resources_delivery::retire(&ctx.names, found, remains).0
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let (found, remains) = find(clients, ctx).await?;
    let (library, names) = (library(clients), &ctx.names);
    for op in &resources_delivery::retire(names, &found, &remains).1 {
        let deleted = resources_delivery::delete(&library, names, op).await;
        match op {
            Op::StopDeployment { id } => {
                let stopping = format!("CodeDeploy deployment {id} to stop");
                if step.record("codedeploy deployment (stopped)", id, deleted) {
                    step.wait(stopping);
                }
            }
            Op::DeleteApplication => {
                let app = names.codedeploy_application();
                if step.record("codedeploy application", &app, deleted) {
                    for group in &remains.deployment_groups {
                        step.deleted("codedeploy deployment group", group);
                    }
                }
            }
            Op::DetachProbe { vpc } => {
                step.record(PROBE_ATTACHMENT, vpc, deleted);
            }
            Op::DeleteAlarms { names } => {
                for alarm in names {
                    step.record("cloudwatch alarm", alarm, deleted.clone());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
