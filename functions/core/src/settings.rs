//! What the operator asks for. Every function validates the settings it is handed, so a
//! bad value fails at the first step with a message that names it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const DEFAULT_STACK: &str = "vikunja";
/// Vikunja 2.5.0 (August 2026), the current release: its image tags are `2.5.0`, `2.5` and
/// `2` (go-vikunja/vikunja `.github/workflows/release.yml`, docker/metadata-action semver
/// patterns); `/health` and `/api/v1/info` are still there (`pkg/routes/routes.go`).
pub const DEFAULT_IMAGE: &str = "vikunja/vikunja:2.5.0";
const MAX_STACK_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub stack: String,
    #[serde(default = "defaults::vpc_cidr")]
    pub vpc_cidr: String,
    #[serde(default = "defaults::db_instance_class")]
    pub db_instance_class: String,
    #[serde(default = "defaults::db_allocated_storage")]
    pub db_allocated_storage: i32,
    /// RDS deletion protection; teardown refuses a protected database unless told otherwise.
    #[serde(default = "defaults::yes")]
    pub db_deletion_protection: bool,
    #[serde(default = "defaults::image")]
    pub image: String,
    #[serde(default = "defaults::task_cpu")]
    pub task_cpu: String,
    #[serde(default = "defaults::task_memory")]
    pub task_memory: String,
    #[serde(default = "defaults::min_tasks")]
    pub min_tasks: i32,
    #[serde(default = "defaults::max_tasks")]
    pub max_tasks: i32,
    #[serde(default = "defaults::cpu_target")]
    pub cpu_target_percent: f64,
    /// How long blue keeps running after a successful shift, for a fast manual rollback.
    #[serde(default = "defaults::termination_wait_minutes")]
    pub termination_wait_minutes: i32,
    /// Seconds between two status polls of a slow resource (the database).
    #[serde(default = "defaults::poll_seconds")]
    pub poll_seconds: u32,
    /// Give up waiting for the database after this many minutes.
    #[serde(default = "defaults::db_wait_minutes")]
    pub db_wait_minutes: u32,
    /// Before a backend release that changes Vikunja's major or minor version, the release
    /// workflow takes a manual snapshot of the database and waits for it (Vikunja's
    /// migrations are forward only). Recorded in the data tier's inventory, where releases
    /// read it.
    #[serde(default = "defaults::yes")]
    pub snapshot_before_upgrade: bool,
    /// The stack's own name (e.g. `tasks.example.com`), served by CloudFront with an ACM
    /// certificate, and TLS from CloudFront to the load balancer under `origin.<domain>`.
    /// Needs `hostedZoneId`: the Route 53 zone of this account the domain is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    /// Vikunja's mailer (password resets, reminders); without it Vikunja sends no mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<Mail>,
    /// A shared Valkey (ElastiCache, one node, in the isolated subnets, reachable from the
    /// API tasks only) as Vikunja's keyvalue store and cache, so that failed-login counters,
    /// OpenID login state and caches are one for all tasks. Needs `maxTasks` > 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_cache: bool,
    /// The shared cache's node type (default `cache.t4g.micro`); only with `sharedCache`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_node_type: Option<String>,
    /// Who runs the blue/green releases: CodeDeploy (the default) or Amazon ECS itself.
    #[serde(default, skip_serializing_if = "Engine::is_default")]
    pub engine: Engine,
}

/// The blue/green engine. Both shift all traffic at once after the same smoke test has
/// passed green through the test listener; they differ in who runs the deployment and how
/// the hook answers (docs/engines.md compares them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// A CodeDeploy application and deployment group; the service's controller is
    /// `CODE_DEPLOY` and the hook answers with `PutLifecycleEventHookExecutionStatus`.
    #[default]
    Codedeploy,
    /// The service's own `BLUE_GREEN` strategy (controller `ECS`) with a Lambda lifecycle
    /// hook on `POST_TEST_TRAFFIC_SHIFT` that answers `hookStatus`.
    Ecs,
}

impl Engine {
    pub fn is_default(&self) -> bool {
        *self == Engine::default()
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Engine::Codedeploy => "codedeploy",
            Engine::Ecs => "ecs",
        }
    }

    /// The service's deployment controller under this engine, as ECS names it.
    pub fn controller(&self) -> &'static str {
        match self {
            Engine::Codedeploy => "CODE_DEPLOY",
            Engine::Ecs => "ECS",
        }
    }
}

/// The shared cache's node type when `cacheNodeType` is not set: the smallest Graviton node.
pub const DEFAULT_CACHE_NODE_TYPE: &str = "cache.t4g.micro";

/// An SMTP server Vikunja sends through (SES's SMTP endpoint, say). The password is never
/// in the settings: it is a Secrets Manager secret the task reads as an ECS secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mail {
    pub host: String,
    #[serde(default = "defaults::mail_port")]
    pub port: u32,
    pub from_address: String,
    pub user: String,
    /// A secret whose value is the SMTP password, named `<stack>/…`: the task execution
    /// role may read only those (and the database's RDS-managed secret).
    pub password_secret_arn: String,
}

impl Mail {
    /// SMTP ports that speak TLS from the first byte (SES: 465 and 2465); the others
    /// (587, 2587, 25) upgrade with STARTTLS. Vikunja calls the former `forcessl`.
    pub fn implicit_tls(&self) -> bool {
        matches!(self.port, 465 | 2465)
    }

    pub fn validate(&self, stack: &str) -> Result<()> {
        let bad = |field: &str, value: &dyn std::fmt::Debug, why: &str| {
            Err(Error::invalid(format!("mail.{field} {value:?}: {why}")))
        };
        let host = self.host.as_str();
        if host.is_empty()
            || host.contains(|c: char| c.is_whitespace() || matches!(c, '/' | ':' | '@'))
        {
            return bad(
                "host",
                &host,
                "expected a host name such as email-smtp.eu-west-1.amazonaws.com (no scheme, no port: the port is mail.port)",
            );
        }
        if !(1..=65535).contains(&self.port) {
            return bad(
                "port",
                &self.port,
                "must be between 1 and 65535 (SES: 587 with STARTTLS, 465 with TLS)",
            );
        }
        if !is_mail_address(&self.from_address) {
            return bad(
                "fromAddress",
                &self.from_address,
                "expected an address such as vikunja@example.com (for SES, a verified identity)",
            );
        }
        if self.user.is_empty() || self.user.contains(char::is_whitespace) {
            return bad(
                "user",
                &self.user,
                "expected the SMTP user name (for SES, the SMTP credentials' user name)",
            );
        }
        check_mail_secret_arn(&self.password_secret_arn, stack)
    }
}

/// `local@domain.tld`, without display name, spaces or a second `@`: what Vikunja puts in
/// the From header as it is.
fn is_mail_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| {
                c.is_ascii_graphic()
                    && !matches!(
                        c,
                        '@' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'
                    )
            })
    };
    plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// The parts of a Secrets Manager secret ARN: (partition, region, account, name).
pub fn parse_secret_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = arn.splitn(7, ':');
    let (
        Some("arn"),
        Some(partition),
        Some("secretsmanager"),
        Some(region),
        Some(account),
        Some("secret"),
        Some(name),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (partition.starts_with("aws") && account_ok && region_ok)
        .then_some((partition, region, account, name))
}

/// The mail password's secret must be one the task execution role can read: a whole
/// secret (no `:json-key::` suffix) named `<stack>/…`.
fn check_mail_secret_arn(arn: &str, stack: &str) -> Result<()> {
    let store = format!(
        "store the SMTP password as the secret string of a secret named {stack}/<name> (aws secretsmanager create-secret --name {stack}/mail/smtp-password --secret-string …) and give its ARN"
    );
    let Some((_, _, _, name)) = parse_secret_arn(arn) else {
        return Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn:?}: not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); {store}"
        )));
    };
    if name.contains(':') {
        return Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn:?}: give the secret's own ARN, without a JSON key or version after it; {store}"
        )));
    }
    let prefix = format!("{stack}/");
    if !name.starts_with(&prefix) || name.len() == prefix.len() {
        return Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn:?}: the stack's tasks may read only secrets named {prefix}… (and the database's own), so they could not read this one; {store}"
        )));
    }
    Ok(())
}

mod defaults {
    pub fn vpc_cidr() -> String {
        "10.42.0.0/16".into()
    }
    pub fn db_instance_class() -> String {
        "db.t4g.micro".into()
    }
    pub fn db_allocated_storage() -> i32 {
        20
    }
    pub fn yes() -> bool {
        true
    }
    pub fn image() -> String {
        super::DEFAULT_IMAGE.into()
    }
    pub fn task_cpu() -> String {
        "256".into()
    }
    pub fn task_memory() -> String {
        "512".into()
    }
    pub fn min_tasks() -> i32 {
        1
    }
    pub fn max_tasks() -> i32 {
        4
    }
    pub fn cpu_target() -> f64 {
        60.0
    }
    pub fn termination_wait_minutes() -> i32 {
        5
    }
    pub fn poll_seconds() -> u32 {
        15
    }
    pub fn db_wait_minutes() -> u32 {
        60
    }
    pub fn mail_port() -> u32 {
        587
    }
}

impl Settings {
    /// Settings with every default, for `stack`.
    pub fn for_stack(stack: &str) -> Self {
        serde_json::from_value(serde_json::json!({ "stack": stack })).expect("defaults deserialize")
    }

    pub fn validate(&self) -> Result<()> {
        validate_stack_name(&self.stack)?;
        parse_vpc_cidr(&self.vpc_cidr)?;
        if !self.db_instance_class.starts_with("db.") {
            return Err(Error::invalid(format!(
                "dbInstanceClass {:?}: expected an RDS class such as db.t4g.micro",
                self.db_instance_class
            )));
        }
        if !(20..=65536).contains(&self.db_allocated_storage) {
            return Err(Error::invalid(format!(
                "dbAllocatedStorage {}: must be between 20 and 65536 GiB",
                self.db_allocated_storage
            )));
        }
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "image {:?}: not an image reference",
                self.image
            )));
        }
        if self.min_tasks < 1 || self.max_tasks < self.min_tasks || self.max_tasks > 100 {
            return Err(Error::invalid(format!(
                "minTasks {} / maxTasks {}: need 1 <= minTasks <= maxTasks <= 100",
                self.min_tasks, self.max_tasks
            )));
        }
        if !(1.0..=100.0).contains(&self.cpu_target_percent) {
            return Err(Error::invalid(format!(
                "cpuTargetPercent {}: must be between 1 and 100",
                self.cpu_target_percent
            )));
        }
        if !(0..=2880).contains(&self.termination_wait_minutes) {
            return Err(Error::invalid(format!(
                "terminationWaitMinutes {}: must be between 0 and 2880",
                self.termination_wait_minutes
            )));
        }
        // Under ECS the wait is the deployment's bake time, which ECS caps at a day.
        if self.engine == Engine::Ecs && self.termination_wait_minutes > 1440 {
            return Err(Error::invalid(format!(
                "terminationWaitMinutes {}: with engine \"ecs\" it is the deployment's bake time, at most 1440 minutes",
                self.termination_wait_minutes
            )));
        }
        if self.poll_seconds == 0 || self.poll_seconds > 300 {
            return Err(Error::invalid(format!(
                "pollSeconds {}: must be between 1 and 300",
                self.poll_seconds
            )));
        }
        if let Some(mail) = &self.mail {
            mail.validate(&self.stack)?;
        }
        self.validate_cache()?;
        self.own_domain()?;
        Ok(())
    }

    fn validate_cache(&self) -> Result<()> {
        if let Some(node_type) = &self.cache_node_type {
            if !self.shared_cache {
                return Err(Error::invalid(format!(
                    "cacheNodeType {node_type:?} is set without sharedCache: set \"sharedCache\": true to have a shared cache, or remove cacheNodeType"
                )));
            }
            let name_ok = node_type.strip_prefix("cache.").is_some_and(|rest| {
                rest.split('.').count() == 2
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.')
            });
            if !name_ok {
                return Err(Error::invalid(format!(
                    "cacheNodeType {node_type:?}: expected an ElastiCache node type such as {DEFAULT_CACHE_NODE_TYPE}"
                )));
            }
        }
        if self.shared_cache && self.max_tasks <= 1 {
            return Err(Error::invalid(format!(
                "sharedCache with maxTasks {}: one task keeps one keyvalue store already, so the cache would cost without helping; raise maxTasks above 1 or remove sharedCache",
                self.max_tasks
            )));
        }
        Ok(())
    }

    /// The shared cache's node type, when the stack has one.
    pub fn cache_node_type(&self) -> Option<&str> {
        self.shared_cache.then(|| {
            self.cache_node_type
                .as_deref()
                .unwrap_or(DEFAULT_CACHE_NODE_TYPE)
        })
    }

    /// What runs once per task rather than once per stack when the service may scale past
    /// one task: said plainly by `up` and `plan`.
    pub fn per_task_notes(&self) -> Vec<String> {
        if self.max_tasks <= 1 {
            return vec![];
        }
        let n = self.max_tasks;
        let mut notes = Vec::new();
        if !self.shared_cache {
            notes.push(format!(
                "with up to {n} tasks, Vikunja's keyvalue store is per task (keyvalue.type memory): failed-login counters, OpenID login state and caches are kept by each task alone, so a login attempt limit is counted per task and an OpenID login can fail when its callback reaches another task; set \"sharedCache\": true for one shared Valkey (ElastiCache), or minTasks and maxTasks to 1"
            ));
        }
        if self.mail.is_some() {
            notes.push(format!(
                "Vikunja runs its cron jobs in every task, so each reminder mail is sent once per running task (up to {n} copies); set minTasks and maxTasks to 1 to send each once"
            ));
        }
        notes
    }

    /// The domain and its hosted zone, when both are set; neither is today's stack on
    /// CloudFront's own name. One without the other is refused.
    pub fn own_domain(&self) -> Result<Option<OwnDomain>> {
        match (&self.domain, &self.hosted_zone_id) {
            (None, None) => Ok(None),
            (Some(domain), Some(zone)) => Ok(Some(OwnDomain {
                name: validate_domain(domain)?,
                hosted_zone_id: validate_hosted_zone_id(zone)?,
            })),
            (Some(_), None) => Err(Error::invalid(
                "domain is set without hostedZoneId: give the id of the Route 53 hosted zone \
                 the domain is in (`aws route53 list-hosted-zones-by-name`), or remove domain",
            )),
            (None, Some(_)) => Err(Error::invalid(
                "hostedZoneId is set without domain: give the domain to serve (e.g. \
                 tasks.example.com), or remove hostedZoneId",
            )),
        }
    }
}

/// The operator's own domain, checked: a lowercase name without the final dot, and the
/// hosted zone id without Route 53's `/hostedzone/` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDomain {
    pub name: String,
    pub hosted_zone_id: String,
}

impl OwnDomain {
    /// The load balancer's name under the domain: CloudFront's HTTPS origin, which its
    /// certificate names (CloudFront checks the origin's certificate against it).
    pub fn origin_name(&self) -> String {
        format!("origin.{}", self.name)
    }
}

/// A DNS name ACM can issue a certificate for and CloudFront can serve: 2 to 127 labels
/// of 1 to 63 letters, digits and inner hyphens, 253 characters at most (the origin name
/// adds 7). Upper case is folded and one final dot dropped; no wildcard, no IP address.
pub fn validate_domain(domain: &str) -> Result<String> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "domain {domain:?}: {why} (expected a name such as tasks.example.com)"
        )))
    };
    let name = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 - "origin.".len() {
        return bad("must be 1 to 246 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return bad("needs at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return bad("every label must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad("only letters, digits, hyphens and dots are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label must not start or end with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("an IP address is not a domain");
    }
    Ok(name)
}

/// A Route 53 hosted zone id (`Z…`, letters and digits), with or without `/hostedzone/`.
pub fn validate_hosted_zone_id(zone: &str) -> Result<String> {
    let id = zone.strip_prefix("/hostedzone/").unwrap_or(zone);
    if id.is_empty()
        || id.len() > 32
        || !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(Error::invalid(format!(
            "hostedZoneId {zone:?}: expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"
        )));
    }
    Ok(id.to_string())
}

/// Whether `domain` is the zone's apex or a name under it (both without the final dot,
/// compared case-insensitively): a zone serves only its own names.
pub fn domain_in_zone(domain: &str, zone_name: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let zone = zone_name.trim_end_matches('.').to_ascii_lowercase();
    !zone.is_empty() && (domain == zone || domain.ends_with(&format!(".{zone}")))
}

/// A stack name becomes part of every resource name, and the tightest limits are target
/// group names (32 characters) and RDS identifiers (letters, digits, single hyphens).
pub fn validate_stack_name(stack: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("stack name {stack:?}: {why}")));
    if stack.is_empty() || stack.len() > MAX_STACK_LEN {
        return bad(&format!("must be 1 to {MAX_STACK_LEN} characters"));
    }
    if !stack.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("must start with a lowercase letter");
    }
    if !stack
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return bad("only lowercase letters, digits and hyphens are allowed");
    }
    if stack.ends_with('-') || stack.contains("--") {
        return bad("must not end with a hyphen or contain two in a row");
    }
    Ok(())
}

/// A VPC CIDR as (network address, prefix length). The network tier carves four subnets of
/// prefix + 4 out of it, so the prefix must leave room: /16 to /24.
pub fn parse_vpc_cidr(cidr: &str) -> Result<(Ipv4Addr, u8)> {
    let bad = |why: &str| Err(Error::invalid(format!("vpcCidr {cidr:?}: {why}")));
    let Some((address, prefix)) = cidr.split_once('/') else {
        return bad("expected a.b.c.d/n");
    };
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return bad("not an IPv4 address");
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return bad("prefix is not a number");
    };
    if !(16..=24).contains(&prefix) {
        return bad("prefix must be between /16 and /24");
    }
    let mask = u32::MAX << (32 - prefix);
    if u32::from(address) & !mask != 0 {
        return bad("host bits are set (not a network address)");
    }
    // AWS gets the text as it is and answers the canonical form: `10.42.0.0/016` would be
    // created as /16 and then never match its own setting again.
    if format!("{address}/{prefix}") != cidr {
        return bad("not written as a.b.c.d/n (no sign, leading zero or space in the prefix)");
    }
    let private = address.is_private();
    if !private {
        return bad("must be a private range (10/8, 172.16/12, 192.168/16)");
    }
    Ok((address, prefix))
}

/// The `index`-th subnet of prefix + 4 inside the VPC CIDR.
pub fn subnet_cidr(vpc_cidr: &str, index: u32) -> Result<String> {
    let (address, prefix) = parse_vpc_cidr(vpc_cidr)?;
    if index >= 16 {
        return Err(Error::invalid(format!("subnet index {index} out of range")));
    }
    let sub_prefix = prefix + 4;
    let size = 1u32 << (32 - sub_prefix);
    let start = Ipv4Addr::from(u32::from(address) + index * size);
    Ok(format!("{start}/{sub_prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::for_stack("vikunja");
        settings.validate().unwrap();
        assert_eq!(settings.vpc_cidr, "10.42.0.0/16");
        assert_eq!((settings.min_tasks, settings.max_tasks), (1, 4));
        assert_eq!(settings.image, "vikunja/vikunja:2.5.0");
        assert!(settings.snapshot_before_upgrade);
        let off: Settings = serde_json::from_value(
            serde_json::json!({"stack": "v", "snapshotBeforeUpgrade": false}),
        )
        .unwrap();
        assert!(!off.snapshot_before_upgrade);
    }

    #[test]
    fn stack_names_that_break_resource_names_are_refused() {
        for bad in [
            "",
            "Vikunja",
            "1stack",
            "a_b",
            "a--b",
            "stack-",
            "a-very-long-stack-name-x",
        ] {
            let error = validate_stack_name(bad).unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{bad}");
            assert!(error.to_string().contains("stack name"), "{error}");
        }
        for good in ["vikunja", "vikunja-staging", "a1"] {
            validate_stack_name(good).unwrap();
        }
    }

    #[test]
    fn cidrs_are_checked() {
        assert_eq!(parse_vpc_cidr("10.42.0.0/16").unwrap().1, 16);
        for bad in [
            "10.42.0.0",
            "10.42.0.1/16",
            "10.0.0.0/8",
            "10.0.0.0/28",
            "8.8.0.0/16",
            "x/16",
        ] {
            assert!(parse_vpc_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subnets_are_carved_at_prefix_plus_four() {
        assert_eq!(subnet_cidr("10.42.0.0/16", 0).unwrap(), "10.42.0.0/20");
        assert_eq!(subnet_cidr("10.42.0.0/16", 1).unwrap(), "10.42.16.0/20");
        assert_eq!(subnet_cidr("10.42.0.0/16", 8).unwrap(), "10.42.128.0/20");
        assert_eq!(
            subnet_cidr("192.168.4.0/24", 9).unwrap(),
            "192.168.4.144/28"
        );
    }

    fn mail_settings(overrides: serde_json::Value) -> Result<Settings> {
        let mut mail = serde_json::json!({
            "host": "email-smtp.eu-west-1.amazonaws.com",
            "fromAddress": "vikunja@example.com",
            "user": "AKIAEXAMPLE",
            "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:v/mail/smtp-password-AbCdEf",
        });
        for (key, value) in overrides.as_object().unwrap() {
            mail[key] = value.clone();
        }
        let settings: Settings =
            serde_json::from_value(serde_json::json!({"stack": "v", "mail": mail}))
                .map_err(|e| Error::invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    #[test]
    fn mail_defaults_to_port_587_and_round_trips() {
        let settings = mail_settings(serde_json::json!({})).unwrap();
        let mail = settings.mail.as_ref().unwrap();
        assert_eq!(mail.port, 587);
        assert!(!mail.implicit_tls());
        let again: Settings =
            serde_json::from_value(serde_json::to_value(&settings).unwrap()).unwrap();
        assert_eq!(again, settings);
        assert!(mail_settings(serde_json::json!({"port": 465}))
            .unwrap()
            .mail
            .unwrap()
            .implicit_tls());
        // No mail: the key is not written, so older functions read the settings as before.
        let none = serde_json::to_value(Settings::for_stack("v")).unwrap();
        assert!(none.get("mail").is_none(), "{none}");
    }

    #[test]
    fn bad_mail_settings_name_the_field_and_what_to_do() {
        for (overrides, field, hint) in [
            (serde_json::json!({"host": ""}), "mail.host", "host name"),
            (
                serde_json::json!({"host": "smtp://x.example.com"}),
                "mail.host",
                "no scheme",
            ),
            (
                serde_json::json!({"host": "x.example.com:587"}),
                "mail.host",
                "mail.port",
            ),
            (
                serde_json::json!({"port": 0}),
                "mail.port",
                "between 1 and 65535",
            ),
            (
                serde_json::json!({"port": 65536}),
                "mail.port",
                "between 1 and 65535",
            ),
            (
                serde_json::json!({"fromAddress": "vikunja"}),
                "mail.fromAddress",
                "vikunja@example.com",
            ),
            (
                serde_json::json!({"fromAddress": "Vikunja <v@example.com>"}),
                "mail.fromAddress",
                "address",
            ),
            (
                serde_json::json!({"fromAddress": "v@localhost"}),
                "mail.fromAddress",
                "address",
            ),
            (
                serde_json::json!({"fromAddress": "v@@example.com"}),
                "mail.fromAddress",
                "address",
            ),
            (serde_json::json!({"user": ""}), "mail.user", "SMTP user"),
            (
                serde_json::json!({"passwordSecretArn": "hunter2"}),
                "mail.passwordSecretArn",
                "not a Secrets Manager secret ARN",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:ssm:eu-west-1:123456789012:parameter/v/x"}),
                "mail.passwordSecretArn",
                "not a Secrets Manager",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf"}),
                "mail.passwordSecretArn",
                "may read only secrets named v/",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vikunja/smtp"}),
                "mail.passwordSecretArn",
                "may read only secrets named v/",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:v/"}),
                "mail.passwordSecretArn",
                "may read only",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:v/smtp:password::"}),
                "mail.passwordSecretArn",
                "without a JSON key",
            ),
            (
                serde_json::json!({"passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:12345:secret:v/smtp"}),
                "mail.passwordSecretArn",
                "not a Secrets Manager",
            ),
        ] {
            let error = mail_settings(overrides.clone()).unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{overrides}");
            let text = error.to_string();
            assert!(
                text.contains(field) && text.contains(hint),
                "{overrides}: {text}"
            );
        }
        let error = mail_settings(serde_json::json!({
            "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/smtp"
        }))
        .unwrap_err();
        assert!(
            error.to_string().contains("--name v/mail/smtp-password"),
            "{error}"
        );
        // The password itself has no place in the settings.
        assert!(mail_settings(serde_json::json!({"password": "hunter2"})).is_err());
    }

    #[test]
    fn what_is_per_task_is_said_only_when_there_can_be_more_than_one() {
        let mut settings = Settings::for_stack("v");
        assert_eq!(settings.per_task_notes().len(), 1);
        assert!(settings.per_task_notes()[0].contains("keyvalue"));
        settings.mail = mail_settings(serde_json::json!({})).unwrap().mail;
        let notes = settings.per_task_notes();
        assert_eq!(notes.len(), 2);
        assert!(
            notes[1].contains("once per running task (up to 4 copies)"),
            "{notes:?}"
        );
        settings.max_tasks = 1;
        assert!(settings.per_task_notes().is_empty());
    }

    fn cache_settings(value: serde_json::Value) -> Result<Settings> {
        let mut json = serde_json::json!({"stack": "v"});
        json.as_object_mut()
            .unwrap()
            .extend(value.as_object().unwrap().clone());
        let settings: Settings =
            serde_json::from_value(json).map_err(|e| Error::invalid(e.to_string()))?;
        settings.validate().map(|_| settings)
    }

    #[test]
    fn the_shared_cache_is_opt_in_and_only_with_more_than_one_task() {
        let none = Settings::for_stack("v");
        assert_eq!(none.cache_node_type(), None);
        // Off: the keys are not written, so older functions read the settings as before.
        let json = serde_json::to_value(&none).unwrap();
        assert!(json.get("sharedCache").is_none() && json.get("cacheNodeType").is_none());

        let on = cache_settings(serde_json::json!({"sharedCache": true})).unwrap();
        assert_eq!(on.cache_node_type(), Some("cache.t4g.micro"));
        // The keyvalue store is shared: only what stays per task is said.
        assert!(on.per_task_notes().is_empty(), "{:?}", on.per_task_notes());
        let bigger = cache_settings(
            serde_json::json!({"sharedCache": true, "cacheNodeType": "cache.t4g.small"}),
        )
        .unwrap();
        assert_eq!(bigger.cache_node_type(), Some("cache.t4g.small"));

        for (value, says) in [
            (
                serde_json::json!({"sharedCache": true, "maxTasks": 1}),
                "raise maxTasks above 1 or remove sharedCache",
            ),
            (
                serde_json::json!({"cacheNodeType": "cache.t4g.micro"}),
                "set without sharedCache",
            ),
            (
                serde_json::json!({"sharedCache": true, "cacheNodeType": "t4g.micro"}),
                "expected an ElastiCache node type such as cache.t4g.micro",
            ),
            (
                serde_json::json!({"sharedCache": true, "cacheNodeType": "cache.T4G micro"}),
                "expected an ElastiCache node type",
            ),
        ] {
            let error = cache_settings(value.clone()).unwrap_err().to_string();
            assert!(error.contains(says), "{value}: {error}");
        }
    }

    #[test]
    fn a_domain_comes_with_its_zone_or_not_at_all() {
        let with = |value: serde_json::Value| {
            let mut json = serde_json::json!({"stack": "v"});
            json.as_object_mut()
                .unwrap()
                .extend(value.as_object().unwrap().clone());
            serde_json::from_value::<Settings>(json).unwrap()
        };
        assert_eq!(Settings::for_stack("v").own_domain().unwrap(), None);
        let both = with(
            serde_json::json!({"domain": "Tasks.Example.com.", "hostedZoneId": "/hostedzone/Z123ABC"}),
        );
        both.validate().unwrap();
        let own = both.own_domain().unwrap().unwrap();
        assert_eq!(own.name, "tasks.example.com");
        assert_eq!(own.hosted_zone_id, "Z123ABC");
        assert_eq!(own.origin_name(), "origin.tasks.example.com");
        let alone = with(serde_json::json!({"domain": "tasks.example.com"}));
        let error = alone.validate().unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        assert!(
            error.to_string().contains("without hostedZoneId"),
            "{error}"
        );
        let zone_alone = with(serde_json::json!({"hostedZoneId": "Z1"}));
        assert!(zone_alone
            .validate()
            .unwrap_err()
            .to_string()
            .contains("without domain"));
        let bad_zone = with(serde_json::json!({"domain": "a.example.com", "hostedZoneId": "z 1"}));
        assert!(bad_zone
            .validate()
            .unwrap_err()
            .to_string()
            .contains("hostedZoneId"));
    }

    #[test]
    fn domains_are_names_acm_and_cloudfront_take() {
        for bad in [
            "",
            ".",
            "localhost",
            "*.example.com",
            "tasks..example.com",
            "-tasks.example.com",
            "tasks-.example.com",
            "tasks_1.example.com",
            "tasks.example.com/",
            "https://tasks.example.com",
            "10.0.0.1",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "abcdefghi.".repeat(25)),
        ] {
            let error = validate_domain(bad).unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{bad}");
            assert!(error.to_string().contains("domain"), "{error}");
        }
        assert_eq!(
            validate_domain("TASKS.example.com.").unwrap(),
            "tasks.example.com"
        );
        assert_eq!(
            validate_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn a_domain_is_in_its_zone_or_under_it_only() {
        assert!(domain_in_zone("tasks.example.com", "example.com."));
        assert!(domain_in_zone("example.com", "Example.COM."));
        assert!(domain_in_zone("a.b.example.com", "b.example.com"));
        assert!(!domain_in_zone("tasks.example.org", "example.com."));
        assert!(!domain_in_zone("badexample.com", "example.com."));
        assert!(!domain_in_zone("example.com", "tasks.example.com."));
        assert!(!domain_in_zone("example.com", ""));
    }

    #[test]
    fn unknown_settings_are_refused() {
        let error =
            serde_json::from_value::<Settings>(serde_json::json!({"stack": "v", "vpcCdir": "x"}))
                .unwrap_err();
        assert!(error.to_string().contains("vpcCdir"));
    }
}

#[cfg(test)]
mod fuzz {
    //! Settings come from the operator's file or the workflow's input: whatever they hold,
    //! validation passes only what every tier can use, and refuses the rest as `InvalidInput`.

    use super::*;
    use crate::fuzzing::{assert_invalid_input, Shape};
    use crate::Names;

    /// What `validate` promises of settings it passes, checked independently of it.
    fn assert_usable(settings: &Settings) {
        assert_stack_usable(&settings.stack);
        let (address, prefix) = parse_vpc_cidr(&settings.vpc_cidr).unwrap();
        assert_cidr_usable(&settings.vpc_cidr, address, prefix);
        assert!((20..=65536).contains(&settings.db_allocated_storage));
        assert!(1 <= settings.min_tasks && settings.min_tasks <= settings.max_tasks);
        assert!(settings.max_tasks <= 100);
        assert!(settings.cpu_target_percent >= 1.0 && settings.cpu_target_percent <= 100.0);
        assert!(!settings.image.is_empty() && !settings.image.contains(char::is_whitespace));
        assert!((1..=300).contains(&settings.poll_seconds));
    }

    fn assert_stack_usable(stack: &str) {
        assert!((1..=MAX_STACK_LEN).contains(&stack.len()), "{stack:?}");
        assert!(
            stack.starts_with(|c: char| c.is_ascii_lowercase()),
            "{stack:?}"
        );
        assert!(
            stack
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{stack:?}"
        );
        assert!(!stack.ends_with('-') && !stack.contains("--"), "{stack:?}");
        // The tightest AWS limit a stack name meets: target group names, 32 characters.
        let names = Names::new(stack);
        for colour in ["blue", "green"] {
            assert!(names.target_group(colour).len() <= 32, "{stack:?}");
        }
    }

    /// A passed CIDR is the canonical text of a private network of /16 to /24 (AWS gets the
    /// text as it is), and its 16 subnets are distinct and inside it.
    fn assert_cidr_usable(text: &str, address: Ipv4Addr, prefix: u8) {
        assert_eq!(text, format!("{address}/{prefix}"), "not canonical");
        assert!(
            (16..=24).contains(&prefix) && address.is_private(),
            "{text}"
        );
        let (start, size) = (u32::from(address), 1u64 << (32 - prefix));
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..16 {
            let subnet = subnet_cidr(text, index).unwrap();
            let (sub_address, sub_prefix) = subnet.split_once('/').unwrap();
            let sub_start = u32::from(sub_address.parse::<Ipv4Addr>().unwrap());
            assert_eq!(sub_prefix, (prefix + 4).to_string());
            let sub_size = 1u64 << (32 - prefix - 4);
            assert!(sub_start >= start && sub_start as u64 + sub_size <= start as u64 + size);
            assert!(seen.insert(sub_start), "{subnet} twice");
        }
        assert_invalid_input(&subnet_cidr(text, 16).unwrap_err(), &text);
    }

    /// Text that is nearly a CIDR most of the time: the interesting cases are near misses.
    fn cidr_text(octets: [u8; 4], prefix: u8, mode: u8, junk: &str) -> String {
        let [a, b, c, d] = octets;
        match mode % 6 {
            0 => junk.to_string(),
            1 => format!("{a}.{b}.{c}.{d}/{}", prefix % 40),
            // A private base with the host bits cleared: valid unless the prefix is not.
            2 | 3 => {
                let base: u32 = match a % 3 {
                    0 => 0x0A00_0000 | (u32::from_be_bytes([0, b, c, d]) & 0x00FF_FFFF),
                    1 => 0xAC10_0000 | (u32::from_be_bytes([0, 0, c, d]) & 0x000F_FFFF),
                    _ => 0xC0A8_0000 | u32::from_be_bytes([0, 0, c, d]),
                };
                let p = 14 + prefix % 13;
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                format!("{}/{p}", Ipv4Addr::from(base & mask))
            }
            // Near-miss prefixes and octets: signs, leading zeros, spaces.
            4 => {
                const NEAR: &[u8] = b"+-0123456789 .";
                let near: String = junk
                    .bytes()
                    .take(4)
                    .map(|j| NEAR[j as usize % NEAR.len()] as char)
                    .collect();
                if b % 2 == 0 {
                    format!("10.{b}.0.0/{near}")
                } else {
                    format!("10.{near}.0/{}", prefix % 40)
                }
            }
            _ => format!("{junk}/{}", prefix % 40),
        }
    }

    /// What the fuzzer found, kept: prefixes `u8::from_str` reads but AWS would rewrite.
    #[test]
    fn non_canonical_prefixes_are_refused() {
        for text in ["10.0.0.0/0017", "10.42.0.0/+16", "10.42.0.0/016"] {
            let error = parse_vpc_cidr(text).unwrap_err();
            assert_invalid_input(&error, &text);
            assert!(error.to_string().contains("a.b.c.d/n"), "{error}");
        }
    }

    #[test]
    fn vpc_cidrs_are_usable_or_invalid_input() {
        bolero::check!()
            .with_type::<([u8; 4], u8, u8, String)>()
            .for_each(|(octets, prefix, mode, junk)| {
                let text = cidr_text(*octets, *prefix, *mode, junk);
                match parse_vpc_cidr(&text) {
                    Ok((address, prefix)) => assert_cidr_usable(&text, address, prefix),
                    Err(error) => assert_invalid_input(&error, &text),
                }
            });
    }

    #[test]
    fn stack_names_are_usable_or_invalid_input() {
        const ALPHABET: &[u8] = b"abcxyz0189--_A.";
        bolero::check!()
            .with_type::<(Vec<u8>, String, bool)>()
            .for_each(|(picks, any, plain)| {
                let stack: String = if *plain {
                    any.clone()
                } else {
                    picks
                        .iter()
                        .map(|p| ALPHABET[*p as usize % ALPHABET.len()] as char)
                        .collect()
                };
                match validate_stack_name(&stack) {
                    Ok(()) => assert_stack_usable(&stack),
                    Err(error) => {
                        assert_invalid_input(&error, &stack);
                        assert!(error.to_string().contains("stack name"), "{error}");
                    }
                }
            });
    }

    /// Settings as a workflow input carries them: the defaults, mutated field by field.
    #[test]
    fn settings_json_is_usable_or_invalid_input() {
        let defaults = serde_json::to_value(Settings::for_stack("vikunja")).unwrap();
        let shape = Shape::of(&[defaults]).strings(&[
            "10.0.0.0/16",
            "172.16.0.0/24",
            "192.168.0.0/12",
            "10.42.0.1/16",
            "db.r6g.large",
            "x",
            "vikunja/vikunja@sha256:aa",
            "",
        ]);
        bolero::check!().for_each(|data: &[u8]| {
            let value = shape.value(data);
            let Ok(settings) = serde_json::from_value::<Settings>(value.clone()) else {
                return;
            };
            match settings.validate() {
                Ok(()) => assert_usable(&settings),
                Err(error) => assert_invalid_input(&error, &value),
            }
        });
    }

    /// Every numeric setting at any value, the rest at their defaults.
    #[test]
    fn numeric_settings_are_usable_or_invalid_input() {
        bolero::check!()
            .with_type::<(i32, i32, i32, f64, i32, u32, u32)>()
            .for_each(|&(storage, min, max, cpu, wait, poll, db_wait)| {
                let mut settings = Settings::for_stack("vikunja");
                settings.db_allocated_storage = storage % 70_000;
                settings.min_tasks = min % 120;
                settings.max_tasks = max % 120;
                settings.cpu_target_percent = cpu;
                settings.termination_wait_minutes = wait % 3000;
                settings.poll_seconds = poll % 400;
                settings.db_wait_minutes = db_wait;
                match settings.validate() {
                    Ok(()) => assert_usable(&settings),
                    Err(error) => assert_invalid_input(&error, &settings),
                }
            });
    }
}
