//! Local stack or AWS: the one place the CLI's clients are configured.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use clap::ValueEnum;

pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";
pub const LOCAL_REGION: &str = "us-east-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Local,
    Aws,
}

#[derive(Clone)]
pub struct Aws {
    pub target: Target,
    pub config: SdkConfig,
    pub account: String,
    pub region: String,
}

impl Aws {
    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.config)
    }
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config)
    }
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.config.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
    /// Seconds between two polls: the local stack answers at once, AWS is billed per call.
    pub fn poll_interval(&self) -> std::time::Duration {
        match self.target {
            Target::Local => std::time::Duration::from_millis(250),
            Target::Aws => std::time::Duration::from_secs(5),
        }
    }
}

pub async fn connect(target: Target, region: Option<&str>, profile: Option<&str>) -> Result<Aws> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(vikunja_core::aws::https_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    // The SDK reads AWS_PROFILE itself; it is named here for the checks and messages.
    let profile = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    if let (Target::Aws, Some(profile)) = (target, &profile) {
        check_profile_exists(profile)?;
    }
    if target == Target::Local {
        let endpoint =
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| LOCAL_ENDPOINT.to_string());
        loader = loader
            .endpoint_url(endpoint)
            .region(Region::new(region.unwrap_or(LOCAL_REGION).to_string()))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "local-stack",
            ));
    } else if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).with_context(|| {
        format!(
            "no AWS region: pass --region (e.g. --region eu-west-1), set AWS_REGION, or set `region` in the \
             profile (`aws configure set region eu-west-1{}`)",
            profile
                .as_deref()
                .map(|p| format!(" --profile {p}"))
                .unwrap_or_default()
        )
    })?;
    check_region_name(&region)?;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| match target {
            Target::Local => anyhow::anyhow!(
                "the local AWS stack does not answer at {}: start it with `make local-up` ({})",
                config.endpoint_url().unwrap_or(LOCAL_ENDPOINT),
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ),
            Target::Aws => anyhow::anyhow!(sts_failure_message(
                &classify_sts_error(&e),
                &region,
                profile.as_deref()
            )),
        })?;
    let account = identity
        .account()
        .context("STS answered without an account")?
        .to_string();
    Ok(Aws {
        target,
        config,
        account,
        region,
    })
}

/// Why STS GetCallerIdentity failed, in the terms the operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsFailure {
    /// The credential chain found nothing (no keys, profile, SSO session, role).
    NoCredentials(String),
    /// STS could not be reached: a wrong region name, no network, a proxy.
    Unreachable(String),
    /// STS answered and refused the credentials (expired, wrong, or a region not enabled).
    Refused {
        code: String,
        message: String,
    },
    Other(String),
}

fn classify_sts_error<E>(error: &aws_sdk_sts::error::SdkError<E>) -> StsFailure
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_sts::error::SdkError;
    let detail = aws_sdk_sts::error::DisplayErrorContext(error).to_string();
    match error {
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            StsFailure::Unreachable(detail)
        }
        SdkError::TimeoutError(_) => StsFailure::Unreachable(detail),
        SdkError::DispatchFailure(_) if detail.contains("credential") => {
            StsFailure::NoCredentials(detail)
        }
        SdkError::ServiceError(service) => StsFailure::Refused {
            code: service.err().code().unwrap_or("unknown").to_string(),
            message: service.err().message().unwrap_or_default().to_string(),
        },
        _ => StsFailure::Other(detail),
    }
}

/// What to tell the operator when no AWS call can be made.
pub fn sts_failure_message(failure: &StsFailure, region: &str, profile: Option<&str>) -> String {
    let login = match profile {
        Some(p) => format!("`aws sso login --profile {p}`"),
        None => "`aws sso login --profile NAME` (then pass --profile NAME)".to_string(),
    };
    match failure {
        StsFailure::NoCredentials(detail) => format!(
            "no AWS credentials found{}. Configure one of: `aws configure{}` (access keys); \
             `aws configure sso` then {login}; or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
             environment (an instance or container role works too). The SDK tried: {detail}",
            profile.map(|p| format!(" for profile `{p}`")).unwrap_or_default(),
            profile.map(|p| format!(" --profile {p}")).unwrap_or_default(),
        ),
        StsFailure::Unreachable(detail) => format!(
            "AWS STS in region {region} cannot be reached: check the region name (`aws ec2 describe-regions` \
             lists yours) and the network or proxy. ({detail})"
        ),
        StsFailure::Refused { code, message } => {
            let hint = match code.as_str() {
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                    format!("the credentials have expired: renew them ({login}, or new session keys)")
                }
                "InvalidClientTokenId" | "UnrecognizedClientException" => format!(
                    "the access key is unknown to AWS — wrong or deleted keys, or {region} is an opt-in region \
                     not enabled for this account (Account settings → AWS Regions)"
                ),
                "SignatureDoesNotMatch" => "the secret access key does not match the access key id".to_string(),
                "AccessDenied" | "AccessDeniedException" => {
                    "the credentials may not call sts:GetCallerIdentity (an SCP or a permissions boundary?)"
                        .to_string()
                }
                _ => "the credentials were refused".to_string(),
            };
            format!("AWS refused the credentials in {region}: {hint}. ({code}: {message})")
        }
        StsFailure::Other(detail) => format!("no AWS call could be made in {region}: {detail}"),
    }
}

/// Region names look like `eu-west-1`, `us-gov-west-1`, `eusc-de-east-1`: a typo or an
/// Availability Zone (`eu-west-1a`) is refused before any call.
pub fn check_region_name(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if !ok {
        anyhow::bail!(
            "`{region}` is not an AWS region name (like eu-west-1 or us-east-1{}): pass --region or set AWS_REGION",
            if region.ends_with(|c: char| c.is_ascii_lowercase()) && region.len() > 2 {
                "; an Availability Zone such as eu-west-1a is not a region"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Whether a profile named `name` is defined in the config or credentials file (sections
/// `[profile name]` in config, `[name]` in credentials, `[default]` in either).
pub fn profile_defined(config: &str, credentials: &str, name: &str) -> bool {
    let sections = |text: &str, prefixed: bool| -> Vec<String> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                let inner = line.strip_prefix('[')?.strip_suffix(']')?.trim();
                match (prefixed, inner.strip_prefix("profile ")) {
                    (true, Some(profile)) => Some(profile.trim().to_string()),
                    (true, None) if inner == "default" => Some(inner.to_string()),
                    (false, _) => Some(inner.to_string()),
                    _ => None,
                }
            })
            .collect()
    };
    sections(config, true).iter().any(|s| s == name)
        || sections(credentials, false).iter().any(|s| s == name)
}

fn check_profile_exists(profile: &str) -> Result<()> {
    let home = std::env::var("HOME").unwrap_or_default();
    let path = |var: &str, file: &str| {
        std::env::var(var).unwrap_or_else(|_| format!("{home}/.aws/{file}"))
    };
    let (config_path, credentials_path) = (
        path("AWS_CONFIG_FILE", "config"),
        path("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    );
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    if !profile_defined(&read(&config_path), &read(&credentials_path), profile) {
        anyhow::bail!(
            "AWS profile `{profile}` is not defined in {config_path} or {credentials_path}: create it \
             (`aws configure --profile {profile}` for access keys, `aws configure sso --profile {profile}` for \
             IAM Identity Center) or name another with --profile / AWS_PROFILE"
        );
    }
    Ok(())
}

/// The services a stack needs in its region, as AWS's public SSM parameters name them
/// (`/aws/service/global-infrastructure/regions/<region>/services/<name>`), and what needs
/// each. `application-autoscaling` is left out on purpose: AWS's list omits it in 14 regions
/// where it lists ECS (eu-central-2, ap-south-2, …), whose service auto scaling goes through
/// it; checking it would refuse those regions on what looks like a gap in the list
/// (not verified against AWS).
pub const REGION_SERVICES: &[(&str, &str)] = &[
    ("cloudformation", "the bootstrap stack"),
    ("lambda", "the workflow steps"),
    ("stepfunctions", "the workflows"),
    ("events", "the release triggers"),
    ("s3", "artifacts, site and uploads buckets"),
    ("logs", "the functions' logs"),
    ("iam", "the functions' roles"),
    ("ssm", "the stack's inventory"),
    ("sts", "credentials"),
    ("ec2", "the network tier"),
    ("elb", "the load balancer"),
    ("ecs", "the backend"),
    ("fargate", "the backend's tasks"),
    ("ecr", "the image repository"),
    ("rds", "the database"),
    ("secretsmanager", "the database and session secrets"),
    ("codedeploy", "blue/green releases"),
    ("cloudwatch", "the release alarms"),
    ("cloudfront", "the frontend's distribution"),
];

/// The services of `REGION_SERVICES` missing from `available` (short names).
pub fn missing_services<'a>(available: &[String]) -> Vec<(&'a str, &'a str)> {
    REGION_SERVICES
        .iter()
        .filter(|(name, _)| !available.iter().any(|a| a == name))
        .copied()
        .collect()
}

/// Refuses a region that lacks a service the stack needs, by AWS's public SSM parameters.
/// Returns a note instead of failing when the parameters cannot be read (permissions):
/// the check is a courtesy, not a gate.
pub async fn check_region_services(aws: &Aws) -> Result<Option<String>> {
    let prefix = format!(
        "/aws/service/global-infrastructure/regions/{}/services/",
        aws.region
    );
    let ssm = aws.ssm();
    let mut available = Vec::new();
    for chunk in REGION_SERVICES.chunks(10) {
        let answer = ssm
            .get_parameters()
            .set_names(Some(
                chunk
                    .iter()
                    .map(|(name, _)| format!("{prefix}{name}"))
                    .collect(),
            ))
            .send()
            .await;
        match answer {
            Ok(out) => available.extend(
                out.parameters()
                    .iter()
                    .filter_map(|p| p.name()?.strip_prefix(&prefix).map(str::to_string)),
            ),
            Err(e) => {
                return Ok(Some(format!(
                "could not check which services {} offers (SSM public parameters: {}); going on",
                aws.region,
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            )))
            }
        }
    }
    if available.is_empty() {
        anyhow::bail!(
            "{} is not in AWS's list of regions (SSM public parameters under /aws/service/global-infrastructure): \
             check --region",
            aws.region
        );
    }
    let missing = missing_services(&available);
    if !missing.is_empty() {
        anyhow::bail!(
            "region {} lacks services this stack needs: {}. Choose another region with --region",
            aws.region,
            missing
                .iter()
                .map(|(name, why)| format!("{name} ({why})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked_before_any_call() {
        for good in [
            "eu-west-1",
            "us-east-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "ap-southeast-7",
        ] {
            check_region_name(good).unwrap();
        }
        for bad in [
            "eu-west",
            "euwest1",
            "EU-WEST-1",
            "eu-west-1a",
            "",
            "eu--1",
            "europe-west-1x",
        ] {
            assert!(check_region_name(bad).is_err(), "{bad}");
        }
        let zone = check_region_name("eu-west-1a").unwrap_err().to_string();
        assert!(zone.contains("Availability Zone"), "{zone}");
    }

    #[test]
    fn profiles_are_found_in_either_file() {
        let config = "[default]\nregion = eu-west-1\n[profile admin]\nsso_session = corp\n[sso-session corp]\n";
        let credentials = "[ci]\naws_access_key_id = AKIA\n";
        assert!(profile_defined(config, credentials, "admin"));
        assert!(profile_defined(config, credentials, "ci"));
        assert!(profile_defined(config, credentials, "default"));
        assert!(
            !profile_defined(config, credentials, "corp"),
            "an sso-session is not a profile"
        );
        assert!(!profile_defined(config, credentials, "nosuch"));
        assert!(
            !profile_defined("[admin]\n", "", "admin"),
            "config sections need `profile `"
        );
    }

    #[test]
    fn sts_failures_say_what_to_do() {
        let none = sts_failure_message(
            &StsFailure::NoCredentials("chain".into()),
            "eu-west-1",
            None,
        );
        assert!(
            none.contains("aws configure") && none.contains("AWS_ACCESS_KEY_ID"),
            "{none}"
        );
        let expired = sts_failure_message(
            &StsFailure::Refused {
                code: "ExpiredToken".into(),
                message: "expired".into(),
            },
            "eu-west-1",
            Some("admin"),
        );
        assert!(
            expired.contains("aws sso login --profile admin"),
            "{expired}"
        );
        let unknown = sts_failure_message(
            &StsFailure::Refused {
                code: "InvalidClientTokenId".into(),
                message: "".into(),
            },
            "af-south-1",
            None,
        );
        assert!(unknown.contains("opt-in region"), "{unknown}");
        let dns = sts_failure_message(
            &StsFailure::Unreachable("dns error".into()),
            "eu-west-9",
            None,
        );
        assert!(dns.contains("region eu-west-9 cannot be reached"), "{dns}");
    }

    #[test]
    fn a_region_lacking_a_needed_service_is_named() {
        let mut all: Vec<String> = REGION_SERVICES.iter().map(|(n, _)| n.to_string()).collect();
        assert!(missing_services(&all).is_empty());
        all.retain(|n| n != "cloudfront");
        assert_eq!(
            missing_services(&all),
            [("cloudfront", "the frontend's distribution")]
        );
    }
}
