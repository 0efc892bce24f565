//! What the account has: every tier's resources, looked up the way the provisioning
//! functions look them up (the stack's tags, deterministic names, the inventory), reduced to
//! the plain facts the diff compares. Only Describe, List, Get and Head calls: nothing here
//! changes anything.

use std::collections::BTreeMap;
use std::fmt::Display;

use anyhow::{Context, Result};
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use serde_json::Value;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Names, SdkContext};

use crate::deploy::stack_name;
use crate::target::Aws;

pub use resources::Seen;
use resources_frontend::BucketSeen;
pub use resources_network::{Gateway, Network, RouteTable, Rule, SecurityGroup, Subnet, Vpc};

/// Everything the plan compares, as found in the account.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Status and outputs of `<stack>-bootstrap`; `None` when it is not deployed.
    pub bootstrap: Option<BootstrapStack>,
    /// Available zones, sorted by name (the network tier takes the first two).
    pub zones: Vec<String>,
    /// AWS's managed list of CloudFront's origin-facing addresses in this region.
    pub cloudfront_prefix_list: Option<String>,
    pub network: Network,
    pub data: Data,
    pub loadbalancer: LoadBalancer,
    pub frontend: Frontend,
    pub backend: Backend,
    pub delivery: Delivery,
    /// Each tier's recorded outputs (`/vikunja/<stack>/<tier>`), by tier name.
    pub inventory: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootstrapStack {
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    /// The roles the backend function hands to the task definitions it registers.
    pub task_roles: Option<TaskRoles>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRoles {
    pub execution: String,
    pub task: String,
}

pub use resources_data::{Database, Found as Data, Secret};

pub use resources_loadbalancer::{Found as LoadBalancer, Nlb, TargetGroup};

#[derive(Debug, Clone, Default)]
pub struct Frontend {
    /// By role: `site`, `uploads`.
    pub buckets: BTreeMap<String, Bucket>,
    /// The one Origin Access Control named for the stack (none when there are several).
    pub origin_access_control: Option<OriginAccessControl>,
    /// Every one named for the stack: more than one stops `up`.
    pub origin_access_control_ids: Vec<String>,
    pub function: Option<Function>,
    pub distribution: Option<Distribution>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// The name is taken by another account (HeadBucket with our account as owner: 403).
    pub foreign: bool,
    /// BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets.
    pub public_access_block: Option<[bool; 4]>,
    pub ownership: Option<String>,
    pub encryption: Option<String>,
    pub bucket_key: Option<bool>,
    pub tags: Vec<(String, String)>,
    pub eventbridge: bool,
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginAccessControl {
    pub id: String,
    pub origin_type: String,
    pub signing_behavior: String,
    pub signing_protocol: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Function {
    pub arn: String,
    /// Published: a LIVE stage exists (distributions can only use that one).
    pub live: bool,
    /// The LIVE stage's code.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    pub id: String,
    pub arn: String,
    pub domain_name: String,
    /// Origin id → (domain, Origin Access Control id).
    pub origins: BTreeMap<String, (String, String)>,
    /// Viewer-request functions of the default behaviour.
    pub default_functions: Vec<String>,
    /// Path pattern → origin id of the other behaviours.
    pub behaviours: BTreeMap<String, String>,
}

pub use resources_backend::task::Registered as TaskDefinition;
pub use resources_backend::{Found as Backend, ScalingPolicy, ServiceFound as Service};

pub use resources_delivery::{Alarm, DeploymentGroup, Found as Delivery, ProbeAttachment};

/// A "not found" answer is `None`; every other error is an error, with what was asked.
fn absent_if<T, E>(
    result: std::result::Result<T, SdkError<E>>,
    absent: impl FnOnce(&E) -> bool,
    what: impl Display,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.as_service_error().is_some_and(absent) => Ok(None),
        Err(e) => Err(SdkContext::context(Err::<(), _>(e), what)
            .unwrap_err()
            .into()),
    }
}

/// The same, for APIs that say "not found" only with an error code.
fn absent_on_codes<T, E>(
    result: std::result::Result<T, SdkError<E>>,
    codes: &[&str],
    what: impl Display,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    absent_if(
        result,
        |e| e.code().is_some_and(|c| codes.contains(&c)),
        what,
    )
}

fn sdk<T, E>(result: std::result::Result<T, SdkError<E>>, what: impl Display) -> Result<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Ok(SdkContext::context(result, what)?)
}

/// Reads everything the plan needs. The tiers are independent reads, done concurrently.
pub async fn observe(aws: &Aws, stack: &str) -> Result<Observed> {
    let names = Names::new(stack);
    let (bootstrap, (zones, cloudfront_prefix_list, network), data, loadbalancer) = tokio::try_join!(
        bootstrap_stack(aws, stack),
        network(aws, &names),
        data(aws, &names),
        loadbalancer(aws, &names),
    )?;
    let (frontend, backend, delivery, inventory) = tokio::try_join!(
        frontend(aws, &names),
        backend(aws, &names),
        delivery(aws, &names),
        recorded(aws, stack),
    )?;
    Ok(Observed {
        bootstrap,
        zones,
        cloudfront_prefix_list,
        network,
        data,
        loadbalancer,
        frontend,
        backend,
        delivery,
        inventory,
    })
}

async fn bootstrap_stack(aws: &Aws, stack: &str) -> Result<Option<BootstrapStack>> {
    let name = stack_name(stack);
    let Some(found) = crate::deploy::describe_stack(aws, &name).await? else {
        return Ok(None);
    };
    let status = found
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    // CloudFormation remembers a deleted stack; it is as good as absent.
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    let outputs = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    // The backend function's environment holds the two roles its task definitions name.
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let function = format!("{stack}-backend");
    let configuration = absent_if(
        lambda.get_function().function_name(&function).send().await,
        |e| e.is_resource_not_found_exception(),
        format!("read function {function}"),
    )?;
    let task_roles = configuration.and_then(|f| {
        let variables = f.configuration()?.environment()?.variables()?;
        Some(TaskRoles {
            execution: variables.get("TASK_EXECUTION_ROLE_ARN")?.clone(),
            task: variables.get("TASK_ROLE_ARN")?.clone(),
        })
    });
    Ok(Some(BootstrapStack {
        status,
        outputs,
        task_roles,
    }))
}

/// The network tier's own finder (`resources_network`): what `up` and teardown find.
async fn network(aws: &Aws, names: &Names) -> Result<(Vec<String>, Option<String>, Network)> {
    let ec2 = aws_sdk_ec2::Client::new(&aws.config);
    let region = resources_network::zones_and_prefix_list(&ec2).await?;
    let found = resources_network::observe(&ec2, names).await?;
    Ok((
        region.zones,
        region.cloudfront_prefix_list,
        Network::view(&found, names),
    ))
}

/// The data tier's own finder (`resources_data`).
async fn data(aws: &Aws, names: &Names) -> Result<Data> {
    let rds = aws_sdk_rds::Client::new(&aws.config);
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.config);
    Ok(resources_data::observe(&rds, &secrets, names).await?)
}

/// The load-balancer tier's own finder (`resources_loadbalancer`).
async fn loadbalancer(aws: &Aws, names: &Names) -> Result<LoadBalancer> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws.config);
    Ok(resources_loadbalancer::observe(&elb, names).await?)
}

async fn frontend(aws: &Aws, names: &Names) -> Result<Frontend> {
    use aws_sdk_cloudfront::types::FunctionStage;
    let cloudfront = aws_sdk_cloudfront::Client::new(&aws.config);
    let mut seen = Frontend::default();
    for (role, bucket) in [
        ("site", names.site_bucket(&aws.account, &aws.region)),
        ("uploads", names.uploads_bucket(&aws.account, &aws.region)),
    ] {
        if let Some(found) = bucket_facts(aws, &bucket, role == "uploads").await? {
            seen.buckets.insert(role.to_string(), found);
        }
    }

    let oacs = resources_frontend::find_origin_access_controls(&cloudfront, names).await?;
    seen.origin_access_control_ids = oacs.iter().map(|o| o.id().to_string()).collect();
    if let [oac] = oacs.as_slice() {
        seen.origin_access_control = Some(OriginAccessControl {
            id: oac.id().to_string(),
            origin_type: oac.origin_access_control_origin_type().as_str().to_string(),
            signing_behavior: oac.signing_behavior().as_str().to_string(),
            signing_protocol: oac.signing_protocol().as_str().to_string(),
        });
    }

    let function = names.spa_function();
    let live =
        resources_frontend::find_spa_function(&cloudfront, names, FunctionStage::Live).await?;
    seen.function = match live {
        Some(described) => {
            let code = sdk(
                cloudfront
                    .get_function()
                    .name(&function)
                    .stage(FunctionStage::Live)
                    .send()
                    .await,
                format!("read the code of CloudFront function {function}"),
            )?;
            Some(Function {
                arn: function_arn(described.function_summary()),
                live: true,
                code: code
                    .function_code()
                    .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()),
            })
        }
        None => {
            resources_frontend::find_spa_function(&cloudfront, names, FunctionStage::Development)
                .await?
                .map(|described| Function {
                    arn: function_arn(described.function_summary()),
                    live: false,
                    code: None,
                })
        }
    };

    seen.distribution = find_distribution(&cloudfront, names).await?;
    Ok(seen)
}

fn function_arn(summary: Option<&aws_sdk_cloudfront::types::FunctionSummary>) -> String {
    summary
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .unwrap_or_default()
}

/// By its comment, confirmed by its tag: the frontend function's own look-up.
async fn find_distribution(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<Option<Distribution>> {
    let Some(summary) = resources_frontend::find_distribution(cloudfront, names).await? else {
        return Ok(None);
    };
    let config = sdk(
        cloudfront
            .get_distribution_config()
            .id(summary.id())
            .send()
            .await,
        format!("read distribution {}", summary.id()),
    )?;
    let config = config.distribution_config();
    let origins = resources_frontend::origins_of(config);
    let default_functions = config
        .and_then(|c| c.default_cache_behavior())
        .and_then(|b| b.function_associations())
        .map(|f| f.items())
        .unwrap_or_default()
        .iter()
        .filter(|f| f.event_type().as_str() == "viewer-request")
        .map(|f| f.function_arn().to_string())
        .collect();
    let behaviours = config
        .and_then(|c| c.cache_behaviors())
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .map(|b| {
            (
                b.path_pattern().to_string(),
                b.target_origin_id().to_string(),
            )
        })
        .collect();
    Ok(Some(Distribution {
        id: summary.id().to_string(),
        arn: summary.arn().to_string(),
        domain_name: summary.domain_name().to_string(),
        origins,
        default_functions,
        behaviours,
    }))
}

/// A bucket as the frontend function leaves it; `None` when there is no bucket by that name.
async fn bucket_facts(aws: &Aws, bucket: &str, with_notifications: bool) -> Result<Option<Bucket>> {
    let s3 = aws.s3();
    match resources_frontend::find_bucket(&s3, bucket, &aws.account).await? {
        BucketSeen::Present => {}
        BucketSeen::Absent => return Ok(None),
        BucketSeen::OtherAccount => {
            return Ok(Some(Bucket {
                foreign: true,
                ..Bucket::default()
            }))
        }
    }
    let block = absent_on_codes(
        s3.get_public_access_block().bucket(bucket).send().await,
        &["NoSuchPublicAccessBlockConfiguration"],
        format!("read public access block of {bucket}"),
    )?
    .and_then(|o| {
        o.public_access_block_configuration().map(|c| {
            [
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ]
        })
    });
    let ownership = absent_on_codes(
        s3.get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await,
        &["OwnershipControlsNotFoundError"],
        format!("read ownership controls of {bucket}"),
    )?
    .and_then(|o| {
        o.ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string())
    });
    let encryption = absent_on_codes(
        s3.get_bucket_encryption().bucket(bucket).send().await,
        &["ServerSideEncryptionConfigurationNotFoundError"],
        format!("read encryption of {bucket}"),
    )?;
    let rule = encryption
        .as_ref()
        .and_then(|o| o.server_side_encryption_configuration())
        .and_then(|c| c.rules().first());
    let tag_set = resources_frontend::bucket_tags(&s3, bucket, &aws.account).await?;
    // Only the uploads bucket sends events (and only its configuration is compared).
    let eventbridge = if with_notifications {
        sdk(
            s3.get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
                .await,
            format!("read notifications of {bucket}"),
        )?
        .event_bridge_configuration()
        .is_some()
    } else {
        false
    };
    let policy = absent_on_codes(
        s3.get_bucket_policy().bucket(bucket).send().await,
        &["NoSuchBucketPolicy"],
        format!("read the policy of {bucket}"),
    )?
    .and_then(|p| p.policy().map(str::to_string))
    .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)));
    Ok(Some(Bucket {
        foreign: false,
        public_access_block: block,
        ownership,
        encryption: rule
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string()),
        bucket_key: rule.and_then(|r| r.bucket_key_enabled()),
        tags: tag_set,
        eventbridge,
        policy,
    }))
}

/// The backend tier's own finder (`resources_backend`).
async fn backend(aws: &Aws, names: &Names) -> Result<Backend> {
    let ecr = aws_sdk_ecr::Client::new(&aws.config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.config);
    let ecs = aws_sdk_ecs::Client::new(&aws.config);
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&aws.config);
    let clients = resources_backend::Clients {
        ecr: &ecr,
        ecs: &ecs,
        logs: &logs,
        autoscaling: &autoscaling,
    };
    Ok(resources_backend::observe(&clients, names).await?)
}

/// The delivery tier's own finder (`resources_delivery`).
async fn delivery(aws: &Aws, names: &Names) -> Result<Delivery> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws.config);
    let codedeploy = aws_sdk_codedeploy::Client::new(&aws.config);
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    Ok(resources_delivery::observe(&codedeploy, &cloudwatch, &lambda, names).await?)
}

async fn recorded(aws: &Aws, stack: &str) -> Result<BTreeMap<String, Value>> {
    let ssm = aws.ssm();
    let mut recorded = BTreeMap::new();
    for tier in Tier::ALL {
        let value: Option<Value> = inventory::read(&ssm, stack, tier)
            .await
            .with_context(|| format!("read the {tier} inventory"))?;
        if let Some(value) = value {
            recorded.insert(tier.as_str().to_string(), value);
        }
    }
    Ok(recorded)
}
