//! The probe: the only function attached to the stack's VPC. The test listener admits the
//! VPC only, and the hook — outside the VPC, because it must reach CodeDeploy's and ELB's
//! public APIs without NAT or endpoints — asks the probe to make its HTTP requests. The
//! probe makes no AWS call, so its security group allows nothing but the test port inside
//! the VPC. It reports what it saw; judging is the hook's job.
//!
//! Input: `{"urls": ["http://10.0.1.23:8080/health", ...], "timeoutSeconds": 5}`.
//! Output: `{"answers": [{"url", "status", "body"} | {"url", "error"}]}`, in order.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vikunja_core::{Error, Result};

/// Bodies are excerpts for a verdict and a log line, not payloads.
const MAX_BODY_BYTES: usize = 4096;
const MAX_URLS: usize = 16;
const MAX_TIMEOUT_SECONDS: u64 = 30;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    pub urls: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    5
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub answers: Vec<Answer>,
}

/// Checks the request before any connection: plain-HTTP GETs only, a bounded number, a
/// bounded wait. The probe is not a general-purpose fetcher inside the VPC.
pub fn parse(event: serde_json::Value) -> Result<Request> {
    let request: Request = serde_json::from_value(event.clone())
        .map_err(|e| Error::invalid(format!("not a probe request ({e}): {event}")))?;
    if request.urls.is_empty() || request.urls.len() > MAX_URLS {
        return Err(Error::invalid(format!(
            "a probe request names 1 to {MAX_URLS} URLs, not {}",
            request.urls.len()
        )));
    }
    if let Some(url) = request.urls.iter().find(|u| !u.starts_with("http://")) {
        return Err(Error::invalid(format!(
            "the probe only makes plain-HTTP requests to the test listener: {url}"
        )));
    }
    if request.timeout_seconds == 0 || request.timeout_seconds > MAX_TIMEOUT_SECONDS {
        return Err(Error::invalid(format!(
            "timeoutSeconds must be 1 to {MAX_TIMEOUT_SECONDS}, not {}",
            request.timeout_seconds
        )));
    }
    Ok(request)
}

pub async fn handle(http: &reqwest::Client, event: serde_json::Value) -> Result<Answers> {
    let request = parse(event)?;
    let timeout = Duration::from_secs(request.timeout_seconds);
    let mut answers = Vec::with_capacity(request.urls.len());
    for url in request.urls {
        answers.push(get(http, url, timeout).await);
    }
    Ok(Answers { answers })
}

async fn get(http: &reqwest::Client, url: String, timeout: Duration) -> Answer {
    let outcome = async {
        let response = http
            .get(&url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("unreadable answer: {e}"))?;
        let end = bytes.len().min(MAX_BODY_BYTES);
        Ok::<_, String>((status, String::from_utf8_lossy(&bytes[..end]).into_owned()))
    }
    .await;
    match outcome {
        Ok((status, body)) => Answer {
            url,
            status: Some(status),
            body: Some(body),
            error: None,
        },
        Err(error) => Answer {
            url,
            status: None,
            body: None,
            error: Some(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_bounded_plain_http_requests_are_accepted() {
        let ok = parse(json!({"urls": ["http://10.0.1.5:8080/health"]})).unwrap();
        assert_eq!(ok.timeout_seconds, 5);
        for (event, why) in [
            (json!({"urls": []}), "1 to 16 URLs"),
            (json!({"urls": ["https://example.com/"]}), "plain-HTTP"),
            (json!({"urls": ["file:///etc/passwd"]}), "plain-HTTP"),
            (
                json!({"urls": ["http://10.0.0.1/"], "timeoutSeconds": 600}),
                "timeoutSeconds",
            ),
            (json!({"urls": "http://x/"}), "not a probe request"),
            (
                json!({"urls": ["http://x/"], "method": "POST"}),
                "unknown field",
            ),
        ] {
            let error = parse(event).unwrap_err().to_string();
            assert!(error.contains(why), "{error} should contain {why}");
        }
    }

    #[tokio::test]
    async fn answers_and_failures_come_back_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 1024];
            let _ = socket.read(&mut buffer).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 7\r\nconnection: close\r\n\r\nstarted")
                .await
                .unwrap();
        });
        // A port nobody listens on: bind one, note it, close it.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused = closed.local_addr().unwrap();
        drop(closed);
        let http = reqwest::Client::new();
        let answers = handle(
            &http,
            json!({"urls": [format!("http://{address}/health"), format!("http://{refused}/health")], "timeoutSeconds": 2}),
        )
        .await
        .unwrap()
        .answers;
        assert_eq!(answers[0].status, Some(503));
        assert_eq!(answers[0].body.as_deref(), Some("started"));
        assert!(answers[1]
            .error
            .as_deref()
            .unwrap()
            .starts_with("no answer"));
        assert_eq!(answers[1].status, None);
    }
}
