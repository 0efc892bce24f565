//! Carries a frontend plan out. A create whose answer was lost is adopted on the retry: the
//! bucket by "already owned by you", the Origin Access Control and the function by their
//! names, the distribution by its caller reference (the stack's own) and its tag.

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    DistributionConfigWithTags, FunctionConfig, FunctionRuntime, FunctionStage,
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Tags,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, EventBridgeConfiguration,
    NotificationConfiguration, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tagging,
};
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext};

use crate::config::{distribution_config, regional_domain, site_policy, Origins, SPA_FALLBACK_JS};
use crate::diff::{diff, Op, Spec};
use crate::observe::{observe, Clients, Frontend};
use resources::adopt::created_or_found;
use resources::plan::Operation;

/// What the tier stands on once applied.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub origin_access_control_id: String,
    pub spa_function_arn: String,
    pub distribution_id: String,
    pub distribution_arn: String,
    pub domain_name: String,
    /// The operations carried out, as `plan` lists them.
    pub changes: Vec<String>,
}

impl Applied {
    fn from_found(found: &Frontend) -> Self {
        let dist = found.distribution.as_ref();
        Self {
            origin_access_control_id: found
                .origin_access_control
                .as_ref()
                .map(|o| o.id.clone())
                .unwrap_or_default(),
            spa_function_arn: found
                .function
                .as_ref()
                .map(|f| f.arn.clone())
                .unwrap_or_default(),
            distribution_id: dist.map(|d| d.id.clone()).unwrap_or_default(),
            distribution_arn: dist.map(|d| d.arn.clone()).unwrap_or_default(),
            domain_name: dist.map(|d| d.domain_name.clone()).unwrap_or_default(),
            changes: Vec::new(),
        }
    }
}

/// Observe, diff, stop if the plan says `up` stops, else apply: the tier as `plan` said.
pub async fn ensure(clients: &Clients<'_>, spec: &Spec) -> Result<Applied> {
    let found = observe(clients, &spec.names, &spec.account, &spec.region).await?;
    let plan = diff(spec, &found);
    apply(clients, spec, &found, &plan.runnable()?.ops).await
}

pub async fn apply(
    clients: &Clients<'_>,
    spec: &Spec,
    found: &Frontend,
    ops: &[Op],
) -> Result<Applied> {
    let (s3, cloudfront) = (clients.s3, clients.cloudfront);
    let names = &spec.names;
    let mut applied = Applied::from_found(found);
    for op in ops {
        match op {
            Op::CreateBucket { role } => {
                let bucket = spec.bucket(role);
                create_bucket(s3, &spec.region, &bucket).await?;
                block_public_access(s3, &bucket).await?;
                enforce_bucket_owner(s3, &bucket).await?;
                encrypt(s3, &bucket).await?;
                tag(s3, names, &bucket).await?;
            }
            Op::BlockPublicAccess { role } => block_public_access(s3, &spec.bucket(role)).await?,
            Op::EnforceBucketOwner { role } => enforce_bucket_owner(s3, &spec.bucket(role)).await?,
            Op::EncryptBucket { role } => encrypt(s3, &spec.bucket(role)).await?,
            Op::TagBucket { role } => tag(s3, names, &spec.bucket(role)).await?,
            Op::SendUploadsToEventBridge => send_events(s3, &spec.bucket("uploads")).await?,
            Op::CreateOriginAccessControl => {
                applied.origin_access_control_id =
                    create_origin_access_control(cloudfront, names).await?
            }
            Op::CreateSpaFunction => {
                applied.spa_function_arn = create_spa_function(cloudfront, names).await?
            }
            Op::PublishSpaFunction => publish_development_stage(cloudfront, names).await?,
            Op::CreateDistribution => {
                let origins = Origins {
                    site_domain: regional_domain(&spec.bucket("site"), &spec.region),
                    api_domain: spec.api_domain.clone(),
                    origin_access_control_id: applied.origin_access_control_id.clone(),
                    spa_function_arn: applied.spa_function_arn.clone(),
                    viewer: spec.viewer.clone(),
                };
                let dist = create_distribution(cloudfront, names, &origins).await?;
                (
                    applied.distribution_id,
                    applied.distribution_arn,
                    applied.domain_name,
                ) = dist;
            }
            Op::SetSitePolicy => {
                let bucket = spec.bucket("site");
                let policy = site_policy(&bucket, &applied.distribution_arn);
                s3.put_bucket_policy()
                    .bucket(&bucket)
                    .policy(policy.to_string())
                    .send()
                    .await
                    .context(format!("set the policy of {bucket}"))?;
            }
        }
        let change = op.describe(spec);
        info!(stack = names.stack(), change, "applied");
        applied.changes.push(change);
    }
    Ok(applied)
}

async fn create_bucket(s3: &aws_sdk_s3::Client, region: &str, bucket: &str) -> Result<()> {
    let request = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses an explicit location constraint.
    let request = if region == "us-east-1" {
        request
    } else {
        request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
    };
    match request.send().await {
        Ok(_) => Ok(()),
        // An earlier attempt made it.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_exists()) => {
            Err(Error::conflict(format!(
                "bucket {bucket} is taken by another account; bucket names are global — use another stack name"
            )))
        }
        Err(e) => Err(e).context(format!("create bucket {bucket}")),
    }
}

async fn block_public_access(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    let block_all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block_all)
        .send()
        .await
        .context(format!("block public access to {bucket}"))?;
    Ok(())
}

async fn enforce_bucket_owner(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    let owner_enforced = built(
        OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .build(),
        "ownership rule",
    )?;
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(built(
            OwnershipControls::builder().rules(owner_enforced).build(),
            "ownership controls",
        )?)
        .send()
        .await
        .context(format!("disable ACLs of {bucket}"))?;
    Ok(())
}

async fn encrypt(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    let sse = built(
        ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::Aes256)
            .build(),
        "encryption default",
    )?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(sse)
        .bucket_key_enabled(true)
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(built(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build(),
            "encryption configuration",
        )?)
        .send()
        .await
        .context(format!("encrypt {bucket}"))?;
    Ok(())
}

async fn tag(s3: &aws_sdk_s3::Client, names: &Names, bucket: &str) -> Result<()> {
    let tag_set = tags::standard(names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| {
            built(
                aws_sdk_s3::types::Tag::builder().key(k).value(v).build(),
                "tag",
            )
        })
        .collect::<Result<Vec<_>>>()?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(built(
            Tagging::builder().set_tag_set(Some(tag_set)).build(),
            "tagging",
        )?)
        .send()
        .await
        .context(format!("tag {bucket}"))?;
    Ok(())
}

/// New uploads become EventBridge events, which start frontend releases.
async fn send_events(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await
        .context(format!("send events of {bucket} to EventBridge"))?;
    Ok(())
}

fn missing(what: &str) -> Error {
    Error::conflict(format!("CloudFront answered without {what}"))
}

/// The one Origin Access Control named for the stack, if there is exactly one.
async fn found_origin_access_control(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<Option<String>> {
    let found = crate::find_origin_access_controls(cloudfront, names).await?;
    let what = format!(
        "origin access controls named {}",
        names.origin_access_control()
    );
    Ok(resources::found::at_most_one_by(found, |o| o.id(), &what)?.map(|o| o.id().to_string()))
}

async fn create_origin_access_control(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<String> {
    let name = names.origin_access_control();
    let config = built(
        OriginAccessControlConfig::builder()
            .name(&name)
            .description(format!("site bucket of vikunja stack {}", names.stack()))
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .signing_behavior(OriginAccessControlSigningBehaviors::Always)
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
            .build(),
        "origin access control",
    )?;
    let created = cloudfront
        .create_origin_access_control()
        .origin_access_control_config(config)
        .send()
        .await
        .context(format!("create origin access control {name}"))
        .and_then(|created| {
            created
                .origin_access_control()
                .map(|o| o.id().to_string())
                .ok_or_else(|| missing("the new OAC"))
        });
    created_or_found(created, || found_origin_access_control(cloudfront, names)).await
}

/// Creates and publishes the function; the ARN (the same for both stages).
async fn create_spa_function(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<String> {
    let name = names.spa_function();
    let config = built(
        FunctionConfig::builder()
            .comment("SPA fallback: extension-less paths serve /index.html")
            .runtime(FunctionRuntime::CloudfrontJs20)
            .build(),
        "function config",
    )?;
    let created = cloudfront
        .create_function()
        .name(&name)
        .function_config(config)
        .function_code(Blob::new(SPA_FALLBACK_JS))
        .send()
        .await
        .context(format!("create CloudFront function {name}"));
    let created = match created {
        Ok(created) => created,
        // An earlier attempt made it: publish what it made.
        Err(error) => {
            return created_or_found(Err(error), || async {
                publish_development_stage(cloudfront, names).await?;
                let live = crate::find_spa_function(cloudfront, names, FunctionStage::Live).await?;
                Ok(live.and_then(|f| function_arn(&f)))
            })
            .await
        }
    };
    let arn = created
        .function_summary()
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .ok_or_else(|| missing("the new function's ARN"))?;
    publish(cloudfront, &name, created.e_tag()).await?;
    Ok(arn)
}

fn function_arn(
    described: &aws_sdk_cloudfront::operation::describe_function::DescribeFunctionOutput,
) -> Option<String> {
    let metadata = described.function_summary()?.function_metadata()?;
    Some(metadata.function_arn().to_string())
}

/// Publishes the DEVELOPMENT stage (a run that stopped between create and publish).
async fn publish_development_stage(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<()> {
    let name = names.spa_function();
    let found = crate::find_spa_function(cloudfront, names, FunctionStage::Development).await?;
    let found =
        found.ok_or_else(|| Error::conflict(format!("CloudFront function {name} is gone")))?;
    publish(cloudfront, &name, found.e_tag()).await
}

async fn publish(
    cloudfront: &aws_sdk_cloudfront::Client,
    name: &str,
    etag: Option<&str>,
) -> Result<()> {
    cloudfront
        .publish_function()
        .name(name)
        .if_match(etag.unwrap_or_default())
        .send()
        .await
        .context(format!("publish CloudFront function {name}"))?;
    Ok(())
}

/// (id, ARN, domain name).
async fn create_distribution(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
    origins: &Origins,
) -> Result<(String, String, String)> {
    let tag_items = tags::standard(names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| {
            built(
                aws_sdk_cloudfront::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build(),
                "tag",
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let with_tags = DistributionConfigWithTags::builder()
        .distribution_config(distribution_config(names, origins)?)
        .tags(Tags::builder().set_items(Some(tag_items)).build())
        .build();
    let created = cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(with_tags)
        .send()
        .await
        .context(format!("create distribution of stack {}", names.stack()))
        .and_then(|created| {
            let dist = created
                .distribution()
                .ok_or_else(|| missing("the new distribution"))?;
            Ok((
                dist.id().to_string(),
                dist.arn().to_string(),
                dist.domain_name().to_string(),
            ))
        });
    // The caller reference is the stack's own: "already exists" is an earlier attempt's.
    created_or_found(created, || async {
        let found = crate::find_distribution(cloudfront, names).await?;
        Ok(found.map(|s| {
            (
                s.id().to_string(),
                s.arn().to_string(),
                s.domain_name().to_string(),
            )
        }))
    })
    .await
}
