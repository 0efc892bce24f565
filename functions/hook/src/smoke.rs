//! One smoke test of green, and the judgement of its answers (pure, unit-tested).

use probe::{Answer, Answers};
use vikunja_core::image::same_version;
use vikunja_core::{Error, Result, SdkContext};

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

/// Asks the probe (inside the VPC) for `/health` and `/api/v1/info` at each of the test
/// listener's addresses, and green's target group for its targets' health.
pub async fn observe(
    probe: &Probe,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    green: &Green,
) -> Result<Observation> {
    let urls: Vec<String> = green
        .addresses
        .iter()
        .flat_map(|a| {
            [
                format!("http://{a}/health"),
                format!("http://{a}/api/v1/info"),
            ]
        })
        .collect();
    let answers = probe.get(&urls).await?;
    let targets = resources_loadbalancer::find_target_health(elb, &green.target_group_arn)
        .await?
        .ok_or_else(|| {
            Error::conflict(format!(
                "green's target group {} is gone",
                green.target_group_arn
            ))
        })?;
    let (health, info) = first_answering(&answers);
    let mut observation = Observation {
        health: Some(health),
        info: Some(info),
        ..Default::default()
    };
    for target in targets {
        if target.is_healthy() {
            observation.healthy_targets += 1;
        } else {
            let why = target.reason.map(|r| format!(" ({r})")).unwrap_or_default();
            observation
                .unhealthy_targets
                .push(format!("{} {}{why}", target.target, target.state));
        }
    }
    Ok(observation)
}

type Outcome = std::result::Result<(u16, String), String>;

/// The `(health, info)` answers of the first address that answered `/health` at all: with
/// cross-zone routing off, a zone without a green target does not answer, and that says
/// nothing about green. When none answered, the first address's failure.
fn first_answering(answers: &[Answer]) -> (Outcome, Outcome) {
    let outcome = |a: &Answer| match (a.status, &a.error) {
        (Some(status), _) => Ok((status, a.body.clone().unwrap_or_default())),
        (None, error) => Err(format!(
            "{}: {}",
            a.url,
            error.as_deref().unwrap_or("no answer")
        )),
    };
    let pairs: Vec<&[Answer]> = answers.chunks(2).filter(|p| p.len() == 2).collect();
    let chosen = pairs
        .iter()
        .find(|pair| pair[0].status.is_some())
        .or_else(|| pairs.first());
    match chosen {
        Some(pair) => (outcome(&pair[0]), outcome(&pair[1])),
        None => (
            Err("the probe returned no answers".into()),
            Err("the probe returned no answers".into()),
        ),
    }
}

/// The probe function, invoked synchronously. Its request and answers are `probe`'s types.
#[derive(Clone)]
pub struct Probe {
    pub lambda: aws_sdk_lambda::Client,
    pub function: String,
}

impl Probe {
    pub async fn get(&self, urls: &[String]) -> Result<Vec<Answer>> {
        let request = serde_json::json!({"urls": urls, "timeoutSeconds": 5});
        let out = self
            .lambda
            .invoke()
            .function_name(&self.function)
            .payload(aws_sdk_lambda::primitives::Blob::new(request.to_string()))
            .send()
            .await
            .context(format!("invoke the probe {}", self.function))?;
        let payload = out.payload().map(|b| b.as_ref()).unwrap_or_default();
        if let Some(kind) = out.function_error() {
            return Err(Error::conflict(format!(
                "the probe {} failed ({kind}): {}",
                self.function,
                String::from_utf8_lossy(payload)
            )));
        }
        let answers: Answers = serde_json::from_slice(payload).map_err(|e| {
            Error::conflict(format!(
                "the probe {} answered something else ({e}): {}",
                self.function,
                String::from_utf8_lossy(payload)
            ))
        })?;
        Ok(answers.answers)
    }
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

    fn answer(url: &str, status: Option<u16>, body: &str) -> Answer {
        Answer {
            url: url.into(),
            status,
            body: status.map(|_| body.to_string()),
            error: status.is_none().then(|| "no answer: timed out".to_string()),
        }
    }

    #[test]
    fn the_first_zone_that_answers_speaks_for_green() {
        let answers = [
            answer("http://10.0.0.5:8080/health", None, ""),
            answer("http://10.0.0.5:8080/api/v1/info", None, ""),
            answer("http://10.0.1.5:8080/health", Some(200), "OK"),
            answer("http://10.0.1.5:8080/api/v1/info", Some(200), "{}"),
        ];
        let (health, info) = first_answering(&answers);
        assert_eq!(health, Ok((200, "OK".to_string())));
        assert_eq!(info, Ok((200, "{}".to_string())));
        let (health, _) = first_answering(&answers[..2]);
        assert_eq!(
            health,
            Err("http://10.0.0.5:8080/health: no answer: timed out".to_string())
        );
        assert!(first_answering(&[]).0.is_err());
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

#[cfg(test)]
mod fuzz {
    //! Green's answers come from the release being tested: whatever they hold, the verdict
    //! passes green only when every check holds, and says why otherwise.

    use super::*;

    #[derive(Debug, bolero::TypeGenerator)]
    struct Seen {
        /// (status, body) of each URL the probe asked, or no answer.
        answers: Vec<Option<(u16, Body)>>,
        healthy_targets: u8,
        unhealthy_targets: Vec<String>,
        expected: Body,
    }

    #[derive(Debug, bolero::TypeGenerator)]
    enum Body {
        Version(String, bool),
        Known(u8),
        Any(String),
    }

    impl Body {
        fn text(&self) -> String {
            const KNOWN: &[&str] = &[
                "OK",
                "{}",
                "0.24.6",
                "v0.24.6",
                "{\"version\":\"v0.24.6\"}",
                "{\"version\":5}",
                "",
            ];
            match self {
                Body::Version(v, prefixed) => {
                    json_version(&format!("{}{v}", if *prefixed { "v" } else { "" }))
                }
                Body::Known(i) => KNOWN[*i as usize % KNOWN.len()].to_string(),
                Body::Any(text) => text.clone(),
            }
        }
    }

    fn json_version(version: &str) -> String {
        serde_json::json!({ "version": version }).to_string()
    }

    #[test]
    fn green_passes_only_when_every_check_holds() {
        bolero::check!().with_type::<Seen>().for_each(|seen| {
            let answers: Vec<Answer> = seen
                .answers
                .iter()
                .enumerate()
                .map(|(i, answer)| Answer {
                    url: format!(
                        "http://10.0.0.{}:8080/{}",
                        i / 2,
                        if i % 2 == 0 { "health" } else { "api/v1/info" }
                    ),
                    status: answer.as_ref().map(|(status, _)| *status),
                    body: answer.as_ref().map(|(_, body)| body.text()),
                    error: answer.is_none().then(|| "timed out".to_string()),
                })
                .collect();
            let (health, info) = first_answering(&answers);
            let observation = Observation {
                health: Some(health.clone()),
                info: Some(info.clone()),
                healthy_targets: seen.healthy_targets as usize,
                unhealthy_targets: seen.unhealthy_targets.clone(),
            };
            let expected = seen.expected.text();
            match judge(&observation, &expected) {
                Ok(()) => {
                    assert!(matches!(health, Ok((200, _))));
                    let Ok((200, body)) = info else {
                        panic!("{info:?}")
                    };
                    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
                    assert!(same_version(body["version"].as_str().unwrap(), &expected));
                    assert!(seen.healthy_targets > 0 && seen.unhealthy_targets.is_empty());
                }
                Err(reason) => assert!(!reason.is_empty()),
            }
        });
    }
}
