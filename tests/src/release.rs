//! Backend releases as a user sees them: the version production reports, an attachment
//! uploaded and read back through it, the deployments a release started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::Harness;

/// Status and `version` of `/api/v1/info` at `address`, or why there was no answer.
pub async fn version_at(address: &str) -> Result<(u16, String), String> {
    let response = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
        .get(format!("http://{address}/api/v1/info"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Ok((
        status,
        body["version"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Uploads one attachment to task 1 as Vikunja's API takes it (multipart field `files`);
/// its attachment id.
pub async fn upload(address: &str, name: &str, content: &[u8]) -> u64 {
    let boundary = "vikunja-aws-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer: Value = reqwest::Client::new()
        .put(format!("http://{address}/api/v1/tasks/1/attachments"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload")
        .error_for_status()
        .expect("upload accepted")
        .json()
        .await
        .expect("Vikunja's answer");
    answer["success"][0]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{answer}"))
}

pub async fn download(address: &str, id: u64) -> (u16, Vec<u8>) {
    let answer = reqwest::get(format!("http://{address}/api/v1/tasks/1/attachments/{id}"))
        .await
        .expect("download");
    let status = answer.status().as_u16();
    (status, answer.bytes().await.unwrap_or_default().to_vec())
}

pub async fn deployments(h: &Harness, stack: &str) -> Vec<String> {
    let codedeploy = &h.clients.codedeploy;
    let listed = codedeploy
        .list_deployments()
        .application_name(stack)
        .deployment_group_name(format!("{stack}-delivery-api"))
        .send()
        .await
        .unwrap();
    let ids = listed.deployments().to_vec();
    if ids.is_empty() {
        return ids;
    }
    // Rollback records are CodeDeploy's own; count the releases we started.
    let described = codedeploy
        .batch_get_deployments()
        .set_deployment_ids(Some(ids))
        .send()
        .await
        .unwrap();
    described
        .deployments_info()
        .iter()
        .filter(|d| d.creator().map(|c| c.as_str()) != Some("codeDeployRollback"))
        .filter_map(|d| d.deployment_id().map(str::to_string))
        .collect()
}

/// Every answer production gave: status and body, or why there was none.
pub type Answers = Arc<Mutex<Vec<Result<(u16, String), String>>>>;

/// Polls production until stopped, recording every answer.
pub fn watch_production(
    address: String,
) -> (Arc<AtomicBool>, Answers, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (stop_flag, log) = (stop.clone(), seen.clone());
    let handle = tokio::spawn(async move {
        while !stop_flag.load(Ordering::SeqCst) {
            let answer = version_at(&address).await;
            log.lock().unwrap().push(answer);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (stop, seen, handle)
}

/// The release-backend execution whose input mentions `needle`, once it has ended.
pub async fn finished_execution(
    h: &Harness,
    stack: &str,
    needle: &str,
    within: Duration,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sfn = &h.clients.sfn;
    let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{stack}-release-backend");
    crate::wait::until(
        within,
        Duration::from_millis(250),
        format!("a finished release execution for {needle}"),
        async || {
            let listed = sfn
                .list_executions()
                .state_machine_arn(&arn)
                .send()
                .await
                .unwrap();
            for execution in listed.executions() {
                let described = sfn
                    .describe_execution()
                    .execution_arn(execution.execution_arn())
                    .send()
                    .await
                    .unwrap();
                if described.input().is_some_and(|i| i.contains(needle))
                    && described.status().as_str() != "RUNNING"
                {
                    return Some(described);
                }
            }
            None
        },
    )
    .await
}
