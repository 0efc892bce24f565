//! Replayed AWS answers for the branches the local stack cannot produce: a real SDK client
//! whose HTTP connector answers each request from a script, in order, and records what was
//! asked. The SDK's own serializers and deserializers run, so the requests and answers are
//! the wire format AWS uses (EC2: query protocol, XML answers).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

/// The network tier's outputs of a made-up stack, for the tiers built on it: public subnets
/// `subnet-pa`/`subnet-pb`, isolated `subnet-ia`/`subnet-ib`, groups `sg-<role>`.
pub fn network_outputs() -> vikunja_core::NetworkOutputs {
    let two = |role: &str| vec![format!("subnet-{role}a"), format!("subnet-{role}b")];
    vikunja_core::NetworkOutputs {
        vpc_id: "vpc-1".into(),
        vpc_cidr: "10.42.0.0/16".into(),
        availability_zones: vec!["a".into(), "b".into()],
        public_subnet_ids: two("p"),
        isolated_subnet_ids: two("i"),
        internet_gateway_id: "igw".into(),
        public_route_table_id: "rtb".into(),
        isolated_route_table_id: "rtb-i".into(),
        lb_security_group_id: "sg-lb".into(),
        app_security_group_id: "sg-app".into(),
        db_security_group_id: "sg-db".into(),
        probe_security_group_id: Some("sg-probe".into()),
        files_security_group_id: Some("sg-files".into()),
        cache_security_group_id: Some("sg-cache".into()),
        changes: vec![],
    }
}

/// One scripted answer: the operation it expects, and the status and body it answers with.
#[derive(Debug, Clone)]
pub struct Answer {
    pub action: &'static str,
    pub status: u16,
    pub body: String,
}

pub fn ok(action: &'static str, body: impl Into<String>) -> Answer {
    Answer {
        action,
        status: 200,
        body: body.into(),
    }
}

/// An EC2 error answer.
pub fn ec2_error(action: &'static str, status: u16, code: &str) -> Answer {
    Answer {
        action,
        status,
        body: format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{code} (replayed)</Message></Error></Errors><RequestID>r</RequestID></Response>"
        ),
    }
}

/// An error answer of the AWS query protocol (Elastic Load Balancing, RDS, …).
pub fn query_error(action: &'static str, status: u16, code: &str) -> Answer {
    Answer {
        action,
        status,
        body: format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} (replayed)</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ),
    }
}

/// An error answer of the AWS JSON protocols (ECS, CodeDeploy, …), named by `X-Amz-Target`.
pub fn json_error(action: &'static str, status: u16, code: &str) -> Answer {
    Answer {
        action,
        status,
        body: format!(r#"{{"__type":"{code}","message":"{code} (replayed)"}}"#),
    }
}

/// A successful answer of the AWS query protocol: `<{action}Response><{action}Result>…`.
pub fn query_ok(action: &'static str, result: &str) -> Answer {
    ok(
        action,
        format!("<{action}Response><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"),
    )
}

#[derive(Debug, Default)]
struct Script {
    answers: Vec<Answer>,
    next: usize,
    /// (action, the full request body) of every request, in order.
    asked: Vec<(String, String)>,
    unexpected: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Replay {
    script: Arc<Mutex<Script>>,
}

impl Replay {
    pub fn new(answers: Vec<Answer>) -> Self {
        let script = Script {
            answers,
            ..Script::default()
        };
        Self {
            script: Arc::new(Mutex::new(script)),
        }
    }

    /// The operations asked, in order.
    pub fn actions(&self) -> Vec<String> {
        self.script
            .lock()
            .unwrap()
            .asked
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// The bodies of the requests of one operation.
    pub fn bodies(&self, action: &str) -> Vec<String> {
        let script = self.script.lock().unwrap();
        script
            .asked
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Every answer was used, and nothing was asked out of turn.
    pub fn assert_done(&self) {
        let script = self.script.lock().unwrap();
        assert!(
            script.unexpected.is_empty(),
            "asked out of turn: {:#?}\nasked: {:#?}",
            script.unexpected,
            actions_of(&script)
        );
        assert_eq!(
            script.next,
            script.answers.len(),
            "unused answers: {:#?}\nasked: {:#?}",
            &script.answers[script.next..],
            actions_of(&script)
        );
    }

    fn answer(&self, request: &HttpRequest) -> Response<SdkBody> {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).to_string())
            .unwrap_or_default();
        // JSON protocols name the operation in `X-Amz-Target` (`Service.Operation`), query
        // protocols (EC2) in the body, REST ones by method and path.
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .map(str::to_string);
        let action = target
            .or_else(|| form_value(&body, "Action"))
            .unwrap_or_else(|| {
                let path = request.uri().split('?').next().unwrap_or_default();
                let path = path.split_once("://").map(|(_, rest)| rest).unwrap_or(path);
                let path = path.find('/').map(|i| &path[i..]).unwrap_or(path);
                format!("{} {path}", request.method())
            });
        let body = format!("{} {body}", request.uri());
        let mut script = self.script.lock().unwrap();
        script.asked.push((action.clone(), body));
        let next = script.answers.get(script.next).cloned();
        match next {
            Some(answer) if answer.action == action => {
                script.next += 1;
                Response::new(
                    StatusCode::try_from(answer.status).unwrap(),
                    SdkBody::from(answer.body),
                )
            }
            other => {
                let expected = other.map(|a| a.action).unwrap_or("nothing more");
                script
                    .unexpected
                    .push(format!("{action} (expected {expected})"));
                let body = format!(
                    "<Response><Errors><Error><Code>ReplayMismatch</Code><Message>asked {action}, expected {expected}</Message></Error></Errors></Response>"
                );
                Response::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
            }
        }
    }
}

fn actions_of(script: &Script) -> Vec<&str> {
    script.asked.iter().map(|(a, _)| a.as_str()).collect()
}

/// A value of an `application/x-www-form-urlencoded` body.
pub fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.replace("%2F", "/").replace("%3A", ":").replace('+', " "))
    })
}

impl HttpConnector for Replay {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Ok(self.answer(&request)))
    }
}

impl HttpClient for Replay {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

pub use aws_smithy_runtime_api::client::http::SharedHttpClient as SharedClient;

/// `fn $name(replay: &Replay) -> $sdk::Client`: a client of one service's SDK that talks to
/// the script, with the retry policy `sdk_config` gives the functions (standard, 5 attempts)
/// but no waiting between attempts.
#[macro_export]
macro_rules! replayed_client {
    ($name:ident, $sdk:ident) => {
        pub fn $name(replay: &$crate::replay::Replay) -> $sdk::Client {
            use $sdk::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
            let retries = RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(std::time::Duration::from_millis(1))
                .with_max_backoff(std::time::Duration::from_millis(2));
            let config = $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("AKID", "secret", None, None, "replay"))
                .http_client($crate::replay::SharedClient::new(replay.clone()))
                .retry_config(retries)
                .build();
            $sdk::Client::from_conf(config)
        }
    };
}
