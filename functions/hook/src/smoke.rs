//! One smoke test of green, and the judgement of its answers (pure, unit-tested).

use std::time::Duration;

use vikunja_core::image::same_version;
use vikunja_core::{Result, SdkContext};

use crate::green::Green;

/// What one probe saw; `None` in a field means the request did not get that far.
#[derive(Debug, Default, Clone)]
pub struct Observation {
    pub health: Option<Result<(u16, String), String>>,
    pub info: Option<Result<(u16, String), String>>,
    pub healthy_targets: usize,
    pub unhealthy_targets: Vec<String>,
}

/// `Ok` when green is fit for production traffic, else why not.
pub fn judge(observation: &Observation, expected_version: &str) -> std::result::Result<(), String> {
    match &observation.health {
        Some(Ok((200, _))) => {}
        Some(Ok((status, body))) => {
            return Err(format!("/health answered {status}: {}", excerpt(body)))
        }
        Some(Err(e)) => return Err(format!("/health: {e}")),
        None => return Err("/health was not asked".into()),
    }
    let body = match &observation.info {
        Some(Ok((200, body))) => body,
        Some(Ok((status, body))) => {
            return Err(format!("/api/v1/info answered {status}: {}", excerpt(body)))
        }
        Some(Err(e)) => return Err(format!("/api/v1/info: {e}")),
        None => return Err("/api/v1/info was not asked".into()),
    };
    let info: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| format!("/api/v1/info is not JSON: {}", excerpt(body)))?;
    let version = info
        .get("version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("/api/v1/info has no version: {}", excerpt(body)))?;
    if !same_version(version, expected_version) {
        return Err(format!(
            "green reports version {version}, expected {expected_version}"
        ));
    }
    if !observation.unhealthy_targets.is_empty() {
        return Err(format!(
            "unhealthy green targets: {}",
            observation.unhealthy_targets.join(", ")
        ));
    }
    if observation.healthy_targets == 0 {
        return Err("green has no healthy target".into());
    }
    Ok(())
}

fn excerpt(text: &str) -> String {
    let trimmed: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        format!("{trimmed}…")
    } else {
        trimmed
    }
}

pub async fn observe(
    http: &reqwest::Client,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    green: &Green,
) -> Result<Observation> {
    let health = Some(get(http, &format!("http://{}/health", green.address)).await);
    let info = Some(get(http, &format!("http://{}/api/v1/info", green.address)).await);
    let targets = elb
        .describe_target_health()
        .target_group_arn(&green.target_group_arn)
        .send()
        .await
        .context(format!("target health of {}", green.target_group_arn))?;
    let mut observation = Observation {
        health,
        info,
        ..Default::default()
    };
    for target in targets.target_health_descriptions() {
        let state = target
            .target_health()
            .and_then(|h| h.state())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if state == "healthy" {
            observation.healthy_targets += 1;
        } else {
            let id = target
                .target()
                .and_then(|t| t.id())
                .unwrap_or_default()
                .to_string();
            observation.unhealthy_targets.push(format!("{id} {state}"));
        }
    }
    Ok(observation)
}

async fn get(http: &reqwest::Client, url: &str) -> std::result::Result<(u16, String), String> {
    let response = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("no answer from {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("unreadable answer from {url}: {e}"))?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(health: (u16, &str), info: (u16, &str), healthy: usize) -> Observation {
        Observation {
            health: Some(Ok((health.0, health.1.to_string()))),
            info: Some(Ok((info.0, info.1.to_string()))),
            healthy_targets: healthy,
            unhealthy_targets: vec![],
        }
    }

    #[test]
    fn a_healthy_green_of_the_right_version_passes() {
        assert_eq!(
            judge(
                &seen((200, "OK"), (200, r#"{"version":"v0.24.6"}"#), 1),
                "0.24.6"
            ),
            Ok(())
        );
    }

    #[test]
    fn every_failure_says_why() {
        let cases = [
            (
                seen((500, "db down"), (200, "{}"), 1),
                "/health answered 500: db down",
            ),
            (
                seen((200, "OK"), (500, "boom"), 1),
                "/api/v1/info answered 500",
            ),
            (seen((200, "OK"), (200, "<html>"), 1), "is not JSON"),
            (
                seen((200, "OK"), (200, r#"{"frontend":"x"}"#), 1),
                "has no version",
            ),
            (
                seen((200, "OK"), (200, r#"{"version":"v0.24.5"}"#), 1),
                "reports version v0.24.5, expected 0.24.6",
            ),
            (
                seen((200, "OK"), (200, r#"{"version":"0.24.6"}"#), 0),
                "no healthy target",
            ),
        ];
        for (observation, why) in cases {
            let error = judge(&observation, "0.24.6").unwrap_err();
            assert!(error.contains(why), "{error} should contain {why}");
        }
        let unreachable = Observation {
            health: Some(Err("no answer from http://x/health: refused".into())),
            ..Default::default()
        };
        assert!(judge(&unreachable, "1").unwrap_err().contains("refused"));
    }
}
