//! The blue/green hook, for both engines. It finds the test listener — which, at the hook's
//! stage of a deployment, forwards to green — and smoke-tests green through it: `/health`
//! answers OK, `/api/v1/info` answers 200 with the version being deployed, the green
//! targets are healthy.
//!
//! - CodeDeploy (`BeforeAllowTraffic`, input `{DeploymentId, LifecycleEventHookExecutionId}`):
//!   it retries within a budget, then reports Succeeded or Failed to CodeDeploy — always,
//!   whatever went wrong, so no deployment waits out CodeDeploy's hour.
//! - Amazon ECS (`POST_TEST_TRAFFIC_SHIFT`, input `{executionDetails, hookDetails}`): it looks
//!   once per invocation and returns `hookStatus`, IN_PROGRESS while green warms up and the
//!   budget lasts ([`ecs`]).

pub mod ecs;
pub mod green;
pub mod handler;
pub mod smoke;

pub use handler::{Budget, Clients, Verdict};

/// Answers whichever engine called, in its own protocol.
pub async fn handle(
    clients: &Clients,
    budget: Budget,
    event: serde_json::Value,
) -> vikunja_core::Result<serde_json::Value> {
    if ecs::called_by_ecs(&event) {
        Ok(ecs::answer(clients, budget, &event, ecs::unix_now()).await)
    } else {
        handler::handle(clients, budget, event).await
    }
}
