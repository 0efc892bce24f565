//! Harness for the integration tests: they run on a local AWS stack (started by
//! `tests/with-local-stack`, which `make test` uses) through the same library the operator
//! CLI uses, and check the result through the AWS APIs, as a user would.
//!
//! Fixtures: [`census`] lists what a stack left, [`faults`] injects faults, [`stacks`] gives a test a stack in the state it starts from, [`clients`] the SDK
//! clients, [`release`] what a release looks like from outside, [`site`] a frontend build to release, [`find`] the look-ups of the stack's resources, [`wait`] polling with a deadline.

pub mod census;
pub mod clients;
pub mod faults;
pub mod find;
pub mod release;
pub mod site;
pub mod stacks;
pub mod wait;
pub mod waits;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use serde_json::Value;
use vikunja_aws::target::{self, Aws, Target};
use vikunja_aws::{deploy, follow, package, Output};

pub use clients::Clients;

pub struct Harness {
    pub aws: Aws,
    pub clients: Clients,
    pub root: PathBuf,
    pub binaries: PathBuf,
    one_bootstrap_at_a_time: bool,
}

impl Harness {
    pub async fn new() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .expect("AWS_ENDPOINT_URL is not set: run these tests with `make test-integration` (tests/with-local-stack)");
        let binaries = PathBuf::from(
            std::env::var("VIKUNJA_BINARIES")
                .expect("VIKUNJA_BINARIES: the directory of the debug function binaries"),
        );
        // The checkout under test (set by tests/with-local-stack); the build's own path otherwise.
        let root = std::env::var("VIKUNJA_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
        let aws = target::connect(Target::Local, None, None)
            .await
            .unwrap_or_else(|e| panic!("local AWS stack at {endpoint}: {e:#}"));
        Self {
            clients: Clients::new(&aws),
            aws,
            root,
            binaries,
            one_bootstrap_at_a_time: false,
        }
    }

    /// The same harness, with its bootstraps taking turns with those of every other harness
    /// of the process made so: moto 5.2.5's CloudFormation is not thread-safe (two stacks
    /// created at once can fail with "dictionary changed size during iteration", and the
    /// retried CreateStack then meets its own first attempt).
    pub fn one_bootstrap_at_a_time(self) -> Self {
        Self {
            one_bootstrap_at_a_time: true,
            ..self
        }
    }

    /// The same harness signing with other credentials — an IAM user's access key, as the
    /// operator CLI does when it runs as that user (`aws configure` with the user's keys);
    /// the endpoint, account and region stay.
    pub fn signed_as(&self, access_key_id: &str, secret_access_key: &str) -> Self {
        let credentials = aws_sdk_iam::config::Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "iam-user",
        );
        let config = self
            .aws
            .config
            .to_builder()
            .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .build();
        let aws = Aws {
            target: self.aws.target,
            config,
            account: self.aws.account.clone(),
            region: self.aws.region.clone(),
        };
        Self {
            clients: Clients::new(&aws),
            aws,
            root: self.root.clone(),
            binaries: self.binaries.clone(),
            one_bootstrap_at_a_time: self.one_bootstrap_at_a_time,
        }
    }

    /// A stack name no other test uses (tests run in parallel on one local stack).
    pub fn unique_stack(prefix: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}{}{n}", std::process::id() % 1000)
    }

    pub async fn bootstrap(&self, stack: &str) -> Result<Value> {
        static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = if self.one_bootstrap_at_a_time {
            Some(ONE_AT_A_TIME.lock().await)
        } else {
            None
        };
        let packaged = self.packaged(&self.binaries)?;
        deploy::bootstrap(&self.aws, stack, &packaged, Output::Json).await
    }

    /// The template and zips packaged from a directory of binaries, once per test process:
    /// zipping ~400 MB of debug binaries takes seconds of CPU, and the result is the same
    /// for the same files.
    pub fn packaged(&self, binaries: &Path) -> Result<Arc<package::Packaged>> {
        type Slot = Arc<Mutex<Option<Arc<package::Packaged>>>>;
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();
        let slot = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .entry(binaries.to_path_buf())
            .or_default()
            .clone();
        // One packaging per directory: a second caller waits for the first one's result.
        let mut packaged = slot.lock().unwrap();
        if packaged.is_none() {
            *packaged = Some(Arc::new(package::package(
                &self.root,
                binaries,
                package::Compression::Fast,
            )?));
        }
        Ok(packaged.clone().expect("just packaged"))
    }

    /// Runs the provision workflow with the given settings overrides; the outputs on success.
    pub async fn provision(&self, stack: &str, overrides: Value) -> Result<Value> {
        let path = std::env::temp_dir().join(format!("vikunja-settings-{stack}.json"));
        std::fs::write(&path, overrides.to_string())?;
        let settings = follow::load_settings(stack, Some(&path), Target::Local)?;
        follow::provision(&self.aws, &settings, false, Output::Json).await
    }

    /// Starts the provision state machine with a raw input, as a misbehaving caller could.
    pub async fn provision_raw(&self, stack_of_bootstrap: &str, input: &Value) -> Result<Value> {
        let arn =
            follow::state_machine_arn(&self.aws, stack_of_bootstrap, "ProvisionStateMachineArn")
                .await?;
        follow::run_execution(
            &self.aws,
            &arn,
            "provision",
            &input.to_string(),
            false,
            Output::Json,
        )
        .await
    }

    pub fn config(&self) -> &aws_config::SdkConfig {
        &self.aws.config
    }
}

impl Harness {
    /// A public Route 53 hosted zone of the account (`name` with its final dot); its id.
    pub async fn hosted_zone(&self, name: &str) -> String {
        let made = self
            .clients
            .route53
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("{name}-{}", std::process::id()))
            .send()
            .await
            .expect("create hosted zone");
        made.hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    }

    /// The settings of an own domain for `stack`, in a zone of its own:
    /// `tasks.<stack>.example.test`.
    pub async fn own_domain(&self, stack: &str) -> Value {
        let apex = format!("{stack}.example.test");
        let zone = self.hosted_zone(&format!("{apex}.")).await;
        serde_json::json!({"domain": format!("tasks.{apex}"), "hostedZoneId": zone, "pollSeconds": 1})
    }

    /// The loopback address that stands for a load balancer listener on the local stack
    /// (the map the local stack publishes; on AWS it would be the DNS name itself).
    pub async fn listener_address(&self, stack: &str, port: i32) -> Result<String> {
        let lbs = self
            .clients
            .elb
            .describe_load_balancers()
            .names(format!("{stack}-nlb"))
            .send()
            .await?;
        let dns = lbs.load_balancers()[0]
            .dns_name()
            .context("no DNS name")?
            .to_string();
        let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
        let map: std::collections::HashMap<String, String> =
            reqwest::get(format!("{endpoint}/_vikunja_local/listeners"))
                .await?
                .json()
                .await?;
        map.get(&format!("{dns}:{port}"))
            .cloned()
            .with_context(|| format!("no local address for {dns}:{port} in {map:?}"))
    }
}

/// What a teardown could not delete, as "tier kind id: reason".
pub fn failures(report: &vikunja_aws::down::DownReport) -> Vec<String> {
    report
        .summary
        .as_ref()
        .map(|s| {
            s.failed()
                .map(|(tier, f)| format!("{tier} {} {}: {}", f.kind, f.id, f.reason))
                .collect()
        })
        .unwrap_or_default()
}
