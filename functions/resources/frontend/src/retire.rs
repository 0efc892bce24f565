//! The frontend against nothing: the distribution (disabled, then deleted once CloudFront
//! has deployed that), its Origin Access Control and SPA function once it is gone, and the
//! buckets, emptied of every version, delete marker and unfinished upload first. CloudFront
//! answers each delete only with the resource's current ETag; what is already gone counts
//! as deleted.

use aws_sdk_cloudfront::Client as CloudFront;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client as S3;
use vikunja_core::error::built;
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

use resources::found::{delete_outcome, Outcome};

/// A distribution as teardown needs it: whether it is still enabled, whether CloudFront
/// has deployed its last change, and what it names that carries no tags of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Retiring {
    pub id: String,
    pub enabled: bool,
    pub deployed: bool,
    pub origin_access_controls: Vec<String>,
    /// Function ARNs of every behaviour.
    pub functions: Vec<String>,
    /// The version read, for the delete's `If-Match` (a change since makes it wait).
    pub etag: String,
}

/// `None` when it is gone.
pub async fn read_distribution(cloudfront: &CloudFront, id: &str) -> Result<Option<Retiring>> {
    let got = match cloudfront.get_distribution().id(id).send().await {
        Ok(got) => got,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).context(format!("read distribution {id}")),
    };
    let Some(distribution) = got.distribution() else {
        return Ok(None);
    };
    let config = distribution.distribution_config();
    let origin_access_controls = crate::origins_of(config)
        .into_values()
        .map(|(_, oac)| oac)
        .filter(|id| !id.is_empty())
        .collect();
    let mut functions = crate::default_functions_of(config);
    let behaviours = config.and_then(|c| c.cache_behaviors());
    for behaviour in behaviours.map(|b| b.items()).unwrap_or_default() {
        let associations = behaviour.function_associations().map(|f| f.items());
        let arns = associations.unwrap_or_default().iter();
        functions.extend(arns.map(|f| f.function_arn().to_string()));
    }
    Ok(Some(Retiring {
        id: id.to_string(),
        enabled: config.is_some_and(|c| c.enabled()),
        deployed: distribution.status() == "Deployed",
        origin_access_controls,
        functions,
        etag: got.e_tag().unwrap_or_default().to_string(),
    }))
}

/// Where a distribution's retirement stands after one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Retired {
    Deleted,
    AlreadyGone,
    /// Not yet: what CloudFront must finish first.
    Waiting(String),
}

/// Disable → wait until deployed → delete, one stage per call.
pub async fn retire_distribution(cloudfront: &CloudFront, d: &Retiring) -> Result<Retired> {
    let id = &d.id;
    let disabling =
        || Retired::Waiting(format!("CloudFront distribution {id} to finish disabling"));
    if d.enabled {
        return match disable_distribution(cloudfront, id).await {
            Ok(()) => Ok(disabling()),
            Err(e) if e.is(ErrorClass::InUse) => Ok(Retired::Waiting(format!(
                "CloudFront distribution {id} to settle (it changed while being disabled)"
            ))),
            Err(e) if e.is(ErrorClass::NotFound) => Ok(Retired::AlreadyGone),
            Err(e) => Err(e),
        };
    }
    if !d.deployed {
        return Ok(disabling());
    }
    let deleted = async {
        let current = cloudfront.get_distribution().id(id).send().await;
        let etag = current.context(format!("read distribution {id}"))?;
        let request = cloudfront.delete_distribution().id(id);
        let request = request.if_match(etag.e_tag().unwrap_or_default());
        request
            .send()
            .await
            .context(format!("delete distribution {id}"))
    };
    match deleted.await {
        Err(e)
            if matches!(
                e.code(),
                Some("DistributionNotDisabled" | "PreconditionFailed" | "InvalidIfMatchVersion")
            ) =>
        {
            Ok(Retired::Waiting(format!(
                "CloudFront distribution {id} to be deletable"
            )))
        }
        deleted => Ok(match delete_outcome(deleted)? {
            Outcome::Deleted => Retired::Deleted,
            Outcome::AlreadyGone => Retired::AlreadyGone,
        }),
    }
}

async fn disable_distribution(cloudfront: &CloudFront, id: &str) -> Result<()> {
    let current = cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .context(format!("read the configuration of distribution {id}"))?;
    let mut config = current.distribution_config().cloned().ok_or_else(|| {
        Error::conflict(format!(
            "distribution {id} answered without its configuration"
        ))
    })?;
    config.enabled = false;
    cloudfront
        .update_distribution()
        .id(id)
        .if_match(current.e_tag().unwrap_or_default())
        .distribution_config(config)
        .send()
        .await
        .context(format!("disable distribution {id}"))?;
    Ok(())
}

/// In use while a distribution still names it (an `InUse` error).
pub async fn delete_origin_access_control(cloudfront: &CloudFront, id: &str) -> Result<Outcome> {
    let deleted = async {
        let current = cloudfront.get_origin_access_control().id(id).send().await;
        let current = current.context(format!("read origin access control {id}"))?;
        let request = cloudfront.delete_origin_access_control().id(id);
        let request = request.if_match(current.e_tag().unwrap_or_default());
        request
            .send()
            .await
            .context(format!("delete origin access control {id}"))
    };
    delete_outcome(deleted.await)
}

/// In use while a distribution still runs it (an `InUse` error).
pub async fn delete_function(cloudfront: &CloudFront, name: &str) -> Result<Outcome> {
    let deleted = async {
        let current = cloudfront.describe_function().name(name).send().await;
        let current = current.context(format!("find CloudFront function {name}"))?;
        let request = cloudfront.delete_function().name(name);
        let request = request.if_match(current.e_tag().unwrap_or_default());
        request
            .send()
            .await
            .context(format!("delete CloudFront function {name}"))
    };
    delete_outcome(deleted.await)
}

/// Deletes object versions and delete markers until the bucket is empty or `out_of_time`
/// says stop, then its unfinished uploads. How many were deleted, and whether it is empty.
pub async fn empty_bucket(
    s3: &S3,
    bucket: &str,
    account: &str,
    out_of_time: impl Fn() -> bool,
) -> Result<(u64, bool)> {
    let mut removed = 0u64;
    loop {
        if out_of_time() {
            return Ok((removed, false));
        }
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .expected_bucket_owner(account)
            .max_keys(1000)
            .send()
            .await
            .context(format!("list object versions of {bucket}"))?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let mut objects = Vec::new();
        for (key, version) in versions.chain(markers) {
            let Some(key) = key else { continue };
            let id = ObjectIdentifier::builder()
                .key(key)
                .set_version_id(version.map(str::to_string));
            objects.push(built(id.build(), "object identifier")?);
        }
        if objects.is_empty() {
            break;
        }
        let count = objects.len() as u64;
        let request = Delete::builder().set_objects(Some(objects)).quiet(true);
        let answer = s3
            .delete_objects()
            .bucket(bucket)
            .expected_bucket_owner(account)
            .delete(built(request.build(), "delete request")?)
            .send()
            .await
            .context(format!("delete objects of {bucket}"))?;
        if let Some(refused) = answer.errors().first() {
            return Err(Error::Aws {
                context: format!("delete objects of {bucket}"),
                code: refused.code().map(str::to_string),
                message: format!(
                    "{} (object {}; {} of {count} refused)",
                    refused.message().unwrap_or("refused"),
                    refused.key().unwrap_or("?"),
                    answer.errors().len()
                ),
                class: ErrorClass::Other,
            });
        }
        removed += count;
    }
    abort_uploads(s3, bucket, account).await?;
    Ok((removed, true))
}

async fn abort_uploads(s3: &S3, bucket: &str, account: &str) -> Result<()> {
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
        .context(format!("list unfinished uploads of {bucket}"))?;
    for upload in uploads.uploads() {
        let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
            continue;
        };
        let aborted = s3
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await;
        delete_outcome(aborted.context(format!("abort upload {id} of {bucket}/{key}")))?;
    }
    Ok(())
}

/// An emptied bucket; `InUse` when objects arrived meanwhile.
pub async fn delete_bucket(s3: &S3, bucket: &str, account: &str) -> Result<Outcome> {
    let deleted = s3
        .delete_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    delete_outcome(deleted.context(format!("delete bucket {bucket}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{ok, query_error, Replay};

    resources::replayed_client!(cloudfront, aws_sdk_cloudfront);

    const DESCRIBE: &str = "GET /2020-05-31/function/v-frontend-spa-fallback/describe";
    const DELETE: &str = "DELETE /2020-05-31/function/v-frontend-spa-fallback";

    fn described() -> resources::replay::Answer {
        ok(
            DESCRIBE,
            "<?xml version=\"1.0\"?><FunctionSummary xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Name>v-frontend-spa-fallback</Name><Status>UNPUBLISHED</Status><FunctionConfig><Comment>c</Comment><Runtime>cloudfront-js-2.0</Runtime></FunctionConfig><FunctionMetadata><FunctionARN>arn:aws:cloudfront::1:function/v-frontend-spa-fallback</FunctionARN><Stage>DEVELOPMENT</Stage><LastModifiedTime>2026-12-01T00:00:00Z</LastModifiedTime></FunctionMetadata></FunctionSummary>",
        )
    }

    #[tokio::test]
    async fn a_function_deleted_meanwhile_is_already_gone_not_an_error() {
        let replay = Replay::new(vec![
            described(),
            query_error(DELETE, 404, "NoSuchFunctionExists"),
        ]);
        let outcome = delete_function(&cloudfront(&replay), "v-frontend-spa-fallback")
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(outcome, Outcome::AlreadyGone);
    }

    #[tokio::test]
    async fn a_function_a_distribution_still_runs_is_in_use() {
        let replay = Replay::new(vec![described(), query_error(DELETE, 409, "FunctionInUse")]);
        let error = delete_function(&cloudfront(&replay), "v-frontend-spa-fallback")
            .await
            .unwrap_err();
        assert!(error.is(ErrorClass::InUse), "{error}");
    }

    #[tokio::test]
    async fn a_disabled_distribution_not_yet_deployed_is_waited_for_without_a_call() {
        let replay = Replay::new(vec![]);
        let retiring = Retiring {
            id: "E1".into(),
            enabled: false,
            deployed: false,
            origin_access_controls: vec![],
            functions: vec![],
            etag: "E2".into(),
        };
        let retired = retire_distribution(&cloudfront(&replay), &retiring)
            .await
            .unwrap();
        replay.assert_done();
        assert!(matches!(retired, Retired::Waiting(w) if w.contains("E1")));
    }
}
