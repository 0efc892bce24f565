//! The CodeDeploy `BeforeAllowTraffic` hook. Input: `{DeploymentId,
//! LifecycleEventHookExecutionId}` and nothing else. It finds the deployment group's test
//! listener — which, at this point of a blue/green deployment, forwards to green — and
//! smoke-tests green through it: `/health` answers OK, `/api/v1/info` answers 200 with the
//! version being deployed, the green targets are healthy. It retries within a budget, then
//! reports Succeeded or Failed to CodeDeploy — always, whatever went wrong, so no deployment
//! waits out CodeDeploy's hour.

pub mod green;
pub mod handler;
pub mod smoke;

pub use handler::{handle, Budget, Clients, Verdict};
