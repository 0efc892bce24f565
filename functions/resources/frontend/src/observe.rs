//! The tier as found: the buckets' settings, the Origin Access Control, the SPA function's
//! stages and code, the distribution's origins and behaviours — what `up` compares with its
//! spec and `plan` prints. Only Get, List, Head and Describe calls.

use std::collections::BTreeMap;

use aws_sdk_cloudfront::types::FunctionStage;
use resources::found::absent_if_not_found;
use serde_json::Value;
use vikunja_core::{Names, Result, SdkContext};

use crate::BucketSeen;

pub struct Clients<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub cloudfront: &'a aws_sdk_cloudfront::Client,
}

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
    /// Aliases, viewer certificate and API origin protocol ([`crate::viewer_of`]).
    pub viewer: String,
}

pub async fn observe(
    clients: &Clients<'_>,
    names: &Names,
    account: &str,
    region: &str,
) -> Result<Frontend> {
    let cloudfront = clients.cloudfront;
    let mut seen = Frontend::default();
    for (role, bucket) in [
        ("site", names.site_bucket(account, region)),
        ("uploads", names.uploads_bucket(account, region)),
    ] {
        if let Some(found) = bucket_facts(clients.s3, &bucket, account, role == "uploads").await? {
            seen.buckets.insert(role.to_string(), found);
        }
    }

    let oacs = crate::find_origin_access_controls(cloudfront, names).await?;
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
    let live = crate::find_spa_function(cloudfront, names, FunctionStage::Live).await?;
    seen.function = match live {
        Some(described) => {
            let code = cloudfront
                .get_function()
                .name(&function)
                .stage(FunctionStage::Live)
                .send()
                .await
                .context(format!("read the code of CloudFront function {function}"))?;
            Some(Function {
                arn: function_arn(described.function_summary()),
                live: true,
                code: code
                    .function_code()
                    .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()),
            })
        }
        None => crate::find_spa_function(cloudfront, names, FunctionStage::Development)
            .await?
            .map(|described| Function {
                arn: function_arn(described.function_summary()),
                live: false,
                code: None,
            }),
    };

    seen.distribution = find_distribution(cloudfront, names).await?;
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
    let Some(summary) = crate::find_distribution(cloudfront, names).await? else {
        return Ok(None);
    };
    let config = cloudfront
        .get_distribution_config()
        .id(summary.id())
        .send()
        .await
        .context(format!("read distribution {}", summary.id()))?;
    let config = config.distribution_config();
    let origins = crate::origins_of(config);
    let viewer = crate::viewer_of(config);
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
        viewer,
    }))
}

/// A bucket as the frontend function leaves it; `None` when there is no bucket by that name.
async fn bucket_facts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    account: &str,
    with_notifications: bool,
) -> Result<Option<Bucket>> {
    match crate::find_bucket(s3, bucket, account).await? {
        BucketSeen::Present => {}
        BucketSeen::Absent => return Ok(None),
        BucketSeen::OtherAccount => {
            return Ok(Some(Bucket {
                foreign: true,
                ..Bucket::default()
            }))
        }
    }
    let block = absent_if_not_found(
        s3.get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .context(format!("read public access block of {bucket}")),
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
    let ownership = absent_if_not_found(
        s3.get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .context(format!("read ownership controls of {bucket}")),
    )?
    .and_then(|o| {
        o.ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string())
    });
    let encryption = absent_if_not_found(
        s3.get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .context(format!("read encryption of {bucket}")),
    )?;
    let rule = encryption
        .as_ref()
        .and_then(|o| o.server_side_encryption_configuration())
        .and_then(|c| c.rules().first());
    let tag_set = crate::bucket_tags(s3, bucket, account).await?;
    // Only the uploads bucket sends events (and only its configuration is compared).
    let eventbridge = if with_notifications {
        s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .context(format!("read notifications of {bucket}"))?
            .event_bridge_configuration()
            .is_some()
    } else {
        false
    };
    let policy = absent_if_not_found(
        s3.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .context(format!("read the policy of {bucket}")),
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
