//! Backend: the library's findings against nothing (`resources_backend::retire`) — the
//! service's autoscaling, the service (scaled to 0, deleted, drained), the cluster, every
//! task definition revision of the family, the ECR repository with its images, and the log
//! group unless kept.

use resources_backend::{Deleted, Found, Op, Remains};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::Result;

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

fn library(clients: &Clients) -> resources_backend::Clients<'_> {
    resources_backend::Clients {
        ecr: &clients.ecr,
        ecs: &clients.ecs,
        logs: &clients.logs,
        autoscaling: &clients.autoscaling,
    }
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<(Found, Remains)> {
    let library = library(clients);
    let found = resources_backend::observe(&library, &ctx.names).await?;
    let remains = resources_backend::observe_remains(&library, &ctx.names, &found).await?;
    Ok((found, remains))
}

/// Whether teardown deletes the service (it is the stack's).
pub fn deletes_service(found: &(Found, Remains)) -> bool {
    found.0.service.as_ref().is_some_and(|s| s.ours)
}

pub fn plan((found, remains): &(Found, Remains), ctx: &Ctx) -> PlannedTier {
    resources_backend::retire(&ctx.names, found, remains, ctx.options.keep_logs).0
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let (found, remains) = find(clients, ctx).await?;
    let (planned, ops) =
        resources_backend::retire(&ctx.names, &found, &remains, ctx.options.keep_logs);
    for kept in &planned.keep {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    for refused in &planned.refuse {
        step.failed(&refused.kind, &refused.id, &refused.reason, &refused.hint);
    }
    let library = library(clients);
    let names = &ctx.names;
    let mut service_gone = true;
    for op in &ops {
        match op {
            Op::DeleteTaskDefinitions { active, inactive } => {
                let outcomes =
                    resources_backend::delete_task_definitions(&clients.ecs, active, inactive)
                        .await;
                for (arn, outcome) in outcomes {
                    step.record("ecs task definition", &arn, outcome);
                }
            }
            Op::DeleteService {
                task_sets,
                external: true,
                draining: false,
            } => {
                let outcomes =
                    resources_backend::delete_task_sets(&clients.ecs, names, task_sets).await;
                for (set, outcome) in outcomes {
                    step.record("ecs task set", &set, outcome);
                }
                service_gone = delete(&library, ctx, op, step).await.1;
            }
            Op::DeleteService { task_sets, .. } => {
                let (deleted, gone) = delete(&library, ctx, op, step).await;
                if deleted {
                    // ECS deletes a CODE_DEPLOY service's task sets with it.
                    for set in task_sets {
                        step.deleted("ecs task set", set);
                    }
                }
                service_gone = gone;
            }
            // The cluster empties only once the service is gone.
            Op::DeleteCluster if !service_gone => {}
            Op::DeleteRepository { images } => {
                if delete(&library, ctx, op, step).await.0 && *images > 0 {
                    step.deleted("ecr images", format!("{images} in {}", names.repository()));
                }
            }
            other => {
                delete(&library, ctx, other, step).await;
            }
        }
    }
    Ok(())
}

/// One delete, recorded under the kind `plan` lists it as: (deleted, gone for good).
async fn delete(
    library: &resources_backend::Clients<'_>,
    ctx: &Ctx,
    op: &Op,
    step: &mut Step,
) -> (bool, bool) {
    let names = &ctx.names;
    let (kind, id) = match op {
        Op::DeregisterScalableTarget => ("autoscaling target", names.scalable_target()),
        Op::DeleteService { .. } => ("ecs service", names.service()),
        Op::DeleteCluster => ("ecs cluster", names.cluster()),
        Op::DeleteRepository { .. } => ("ecr repository", names.repository()),
        _ => ("log group", names.log_group()),
    };
    match resources_backend::delete(library, names, op).await {
        Ok(Deleted::Gone) => (step.record(kind, &id, Ok(())), true),
        Ok(Deleted::Going(what)) => {
            step.deleted(kind, &id);
            step.wait(what);
            (true, false)
        }
        Ok(Deleted::Waiting(what)) => {
            step.wait(what);
            (false, false)
        }
        Err(error) => (step.record(kind, &id, Err::<(), _>(error)), false),
    }
}
