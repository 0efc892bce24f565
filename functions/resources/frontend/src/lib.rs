//! Frontend: the site and uploads buckets, the Origin Access Control, the SPA-fallback
//! CloudFront Function and the distribution — the one finder of each, [`observe`], [`diff`]
//! and [`apply`], which provisioning and `plan` share, and what `up` builds them from
//! ([`config`]). Origin Access Controls carry no tags; the stack's is the one with its
//! deterministic name, found across every page.

mod apply;
pub mod config;
mod diff;
mod observe;
pub mod retire;

pub use apply::{apply, ensure, Applied};
pub use diff::{diff, Op, Plan, Spec, ROLES};
pub use observe::{
    observe, Bucket, Clients, Distribution, Frontend, Function, OriginAccessControl,
};

use std::collections::BTreeMap;

use aws_sdk_cloudfront::types::{
    DistributionConfig, DistributionSummary, OriginAccessControlSummary,
};
use vikunja_core::{tags, Names, Result, SdkContext};

/// A distribution's origins: id → (domain name, Origin Access Control id, empty for none).
pub fn origins_of(config: Option<&DistributionConfig>) -> BTreeMap<String, (String, String)> {
    let origins = config.and_then(|c| c.origins()).map(|o| o.items());
    origins
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let oac = o.origin_access_control_id().unwrap_or_default();
            (
                o.id().to_string(),
                (o.domain_name().to_string(), oac.to_string()),
            )
        })
        .collect()
}

/// How a distribution meets its viewers and its API origin, as `plan` compares it: the
/// aliases, the viewer certificate, the API origin's protocol.
pub fn viewer_of(config: Option<&DistributionConfig>) -> String {
    let aliases = config
        .and_then(|c| c.aliases())
        .map(|a| a.items().join(", "))
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "none".into());
    let certificate = config
        .and_then(|c| c.viewer_certificate())
        .and_then(|v| {
            let arn = v.acm_certificate_arn().filter(|a| !a.is_empty())?;
            Some(format!(
                "{arn} {} {}",
                v.ssl_support_method().map(|m| m.as_str()).unwrap_or("?"),
                v.minimum_protocol_version()
                    .map(|m| m.as_str())
                    .unwrap_or("?")
            ))
        })
        .unwrap_or_else(|| "CloudFront's default".into());
    let api = config
        .and_then(|c| c.origins())
        .and_then(|o| o.items().iter().find(|o| o.id() == config::API_ORIGIN))
        .and_then(|o| o.custom_origin_config())
        .map(|c| c.origin_protocol_policy().as_str().to_string())
        .unwrap_or_else(|| "none".into());
    format!("aliases {aliases}; certificate {certificate}; API origin {api}")
}

/// The functions a distribution's default behaviour runs.
pub fn default_functions_of(config: Option<&DistributionConfig>) -> Vec<String> {
    let behaviour = config.and_then(|c| c.default_cache_behavior());
    let functions = behaviour
        .and_then(|b| b.function_associations())
        .map(|f| f.items());
    functions
        .unwrap_or_default()
        .iter()
        .map(|f| f.function_arn().to_string())
        .collect()
}

/// Every Origin Access Control named for the stack, however many pages the account's list
/// takes (one page holds 100).
pub async fn find_origin_access_controls(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<Vec<OriginAccessControlSummary>> {
    let name = names.origin_access_control();
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = cloudfront
            .list_origin_access_controls()
            .set_marker(marker.clone())
            .send()
            .await
            .context("list origin access controls")?;
        let Some(list) = page.origin_access_control_list() else {
            return Ok(found);
        };
        found.extend(list.items().iter().filter(|o| o.name() == name).cloned());
        match list.next_marker() {
            Some(next) if list.is_truncated() => marker = Some(next.to_string()),
            _ => return Ok(found),
        }
    }
}

/// Every distribution that carries the stack's comment, on every page: the comment finds
/// them without reading every distribution's tags; [`owner_of`] confirms one.
pub async fn find_distributions(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<Vec<DistributionSummary>> {
    let comment = names.distribution_comment();
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = cloudfront
            .list_distributions()
            .set_marker(marker.clone())
            .send()
            .await
            .context("list distributions")?;
        let Some(list) = page.distribution_list() else {
            return Ok(found);
        };
        found.extend(
            list.items()
                .iter()
                .filter(|d| d.comment() == comment)
                .cloned(),
        );
        match list.next_marker() {
            Some(next) if list.is_truncated() => marker = Some(next.to_string()),
            _ => return Ok(found),
        }
    }
}

/// Whose a distribution is, by its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Stack,
    Other,
    /// Deleted since it was listed (or never there).
    Gone,
}

/// Whether a distribution carries the stack's tag.
pub async fn owner_of(
    cloudfront: &aws_sdk_cloudfront::Client,
    arn: &str,
    stack: &str,
) -> Result<Owner> {
    let tags = match cloudfront
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
    {
        Ok(tags) => tags,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_resource()) =>
        {
            return Ok(Owner::Gone)
        }
        Err(e) => return Err(e).context(format!("read tags of distribution {arn}")),
    };
    let items = tags.tags().map(|t| t.items()).unwrap_or_default();
    let pairs = items
        .iter()
        .map(|t| (t.key(), t.value().unwrap_or_default()));
    Ok(if tags::belongs_to(pairs, stack) {
        Owner::Stack
    } else {
        Owner::Other
    })
}

/// The stack's distribution: the first with its comment and its tag.
pub async fn find_distribution(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
) -> Result<Option<DistributionSummary>> {
    for summary in find_distributions(cloudfront, names).await? {
        if owner_of(cloudfront, summary.arn(), names.stack()).await? == Owner::Stack {
            return Ok(Some(summary));
        }
    }
    Ok(None)
}

/// The stack's SPA-fallback CloudFront Function at one stage (`DescribeFunction` reads the
/// DEVELOPMENT stage unless asked). CloudFront Functions carry no tags: the name finds it.
pub async fn find_spa_function(
    cloudfront: &aws_sdk_cloudfront::Client,
    names: &Names,
    stage: aws_sdk_cloudfront::types::FunctionStage,
) -> Result<Option<aws_sdk_cloudfront::operation::describe_function::DescribeFunctionOutput>> {
    let name = names.spa_function();
    let found = cloudfront
        .describe_function()
        .name(&name)
        .stage(stage)
        .send()
        .await;
    resources::found::absent_if_not_found(found.context(format!("find CloudFront function {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{ok, Replay};

    resources::replayed_client!(cloudfront, aws_sdk_cloudfront);

    const LIST: &str = "GET /2020-05-31/origin-access-control";

    fn page(names: &[(&str, &str)], next: Option<&str>) -> String {
        let items: String = names
            .iter()
            .map(|(id, name)| format!(
                "<OriginAccessControlSummary><Id>{id}</Id><Description>d</Description><Name>{name}</Name><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlSummary>"
            ))
            .collect();
        format!(
            "<?xml version=\"1.0\"?><OriginAccessControlList xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Marker></Marker>{}<MaxItems>100</MaxItems><IsTruncated>{}</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></OriginAccessControlList>",
            next.map(|n| format!("<NextMarker>{n}</NextMarker>")).unwrap_or_default(),
            next.is_some(),
            names.len()
        )
    }

    #[tokio::test]
    async fn the_stacks_origin_access_control_on_a_later_page_is_found() {
        let replay = Replay::new(vec![
            ok(LIST, page(&[("E1", "other-frontend-oac")], Some("m2"))),
            ok(LIST, page(&[("E2", "v-frontend-oac")], None)),
        ]);
        let found = find_origin_access_controls(&cloudfront(&replay), &Names::new("v"))
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(found.iter().map(|o| o.id()).collect::<Vec<_>>(), ["E2"]);
        assert!(
            replay.bodies(LIST)[1].contains("Marker=m2"),
            "{:?}",
            replay.bodies(LIST)
        );
    }

    #[tokio::test]
    async fn two_of_the_stacks_name_are_both_found_and_refused_for_adoption() {
        let replay = Replay::new(vec![ok(
            LIST,
            page(&[("E1", "v-frontend-oac"), ("E2", "v-frontend-oac")], None),
        )]);
        let found = find_origin_access_controls(&cloudfront(&replay), &Names::new("v"))
            .await
            .unwrap();
        assert_eq!(found.len(), 2, "teardown sees both");
        let error = resources::found::at_most_one_by(found, |o| o.id(), "origin access controls")
            .unwrap_err();
        assert!(error.to_string().contains("E1, E2"), "{error}");
    }
}

/// What a bucket name is to this account. Bucket names are global: a name can be taken by
/// another account, which S3 answers 403 to when the expected owner is ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSeen {
    Absent,
    OtherAccount,
    Present,
}

pub async fn find_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    account: &str,
) -> Result<BucketSeen> {
    let head = s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    match head {
        Ok(_) => Ok(BucketSeen::Present),
        // HEAD answers carry no error body: the status is all there is.
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => Ok(BucketSeen::Absent),
            Some(403) => Ok(BucketSeen::OtherAccount),
            _ => Err(e).context(format!("look up bucket {bucket}")),
        },
    }
}

/// A present bucket's tags, sorted; empty when it has none.
pub async fn bucket_tags(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    account: &str,
) -> Result<Vec<(String, String)>> {
    let tagging = s3
        .get_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    let mut tags: Vec<(String, String)> = match tagging {
        Err(e) if aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some("NoSuchTagSet") => {
            Vec::new()
        }
        other => other
            .context(format!("read tags of bucket {bucket}"))?
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    };
    tags.sort();
    Ok(tags)
}
