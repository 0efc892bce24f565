//! The artifacts bucket (function zips and the packaged template): created if missing,
//! private, encrypted, versioned, TLS only; uploads of what is not there yet.

use anyhow::{bail, Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use serde_json::{json, Value};

use crate::package::Function;
use crate::target::Aws;

/// Sid of the statement this tool adds to the bucket's policy.
const TLS_ONLY_SID: &str = "DenyInsecureTransport";

/// The bucket a stack's artifacts go to when nothing else is said: one per account and region.
pub fn default_bucket(account: &str, region: &str) -> String {
    format!("vikunja-artifacts-{account}-{region}")
}

/// The operator's choice first, then the bucket the deployed stack already uses (so a run
/// without the option does not move every function to another bucket), then the default.
pub fn choose_bucket(explicit: Option<&str>, deployed: Option<&str>, default: String) -> String {
    explicit
        .or(deployed)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .unwrap_or(default)
}

/// S3's naming rules for general purpose buckets (3–63 characters, lowercase letters, digits
/// and hyphens, starting and ending with a letter or digit), without the dots S3 also allows:
/// the template is fetched by a virtual-hosted HTTPS URL, whose certificate a dotted name breaks.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&name.len())
        || !ok_chars
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
    {
        bail!(
            "`{name}` is not a usable S3 bucket name: 3–63 characters, lowercase letters, digits and hyphens \
             (no dots), starting and ending with a letter or digit"
        );
    }
    Ok(())
}

fn taken(bucket: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the artifacts bucket name {bucket} is taken by another AWS account (bucket names are global) \
         or your credentials may not read it (s3:ListBucket). Choose another name with \
         `--artifacts-bucket NAME` (or VIKUNJA_ARTIFACTS_BUCKET); bootstrap creates it and remembers it \
         in the stack"
    )
}

fn other_region(bucket: &str, region: &str, stack_region: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the artifacts bucket {bucket} is in {region}, the stack in {stack_region}: Lambda takes code only \
         from a bucket in its own region. Choose another with `--artifacts-bucket NAME`"
    )
}

fn status_of<E>(error: &aws_sdk_s3::error::SdkError<E>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

/// Creates the bucket if it is missing, then makes sure it is private, encrypted, versioned
/// and TLS only (each setting read first, written only when missing — an operator's
/// stronger setting, a KMS key say, is kept). Returns a line describing the bucket.
pub async fn ensure_bucket(aws: &Aws, bucket: &str) -> Result<String> {
    check_bucket_name(bucket)?;
    let s3 = aws.s3();
    let created = match s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .send()
        .await
    {
        Ok(found) => {
            if let Some(region) = found.bucket_region().filter(|r| *r != aws.region) {
                return Err(other_region(bucket, region, &aws.region));
            }
            false
        }
        Err(e) if status_of(&e) == Some(301) => {
            // AWS answers a HEAD for a bucket in another region with a redirect naming it.
            let region = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .unwrap_or("another region")
                .to_string();
            return Err(other_region(bucket, &region, &aws.region));
        }
        Err(e) if status_of(&e) == Some(403) => return Err(taken(bucket)),
        Err(e) if status_of(&e) == Some(404) => {
            create_bucket(aws, bucket).await?;
            true
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("look up the artifacts bucket {bucket}"))
            )
        }
    };
    let encryption = ensure_settings(aws, bucket, created).await?;
    Ok(format!(
        "s3://{bucket}{}: private (public access blocked), encrypted ({encryption}), versioned, TLS only",
        if created { " (created)" } else { "" }
    ))
}

async fn create_bucket(aws: &Aws, bucket: &str) -> Result<()> {
    // New buckets have ACLs off (BucketOwnerEnforced) by default; asking for it explicitly
    // would need s3:PutBucketOwnershipControls as well.
    let mut create = aws.s3().create_bucket().bucket(bucket);
    if aws.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if vikunja_core::error::Classify::class(&e)
                == vikunja_core::ErrorClass::AlreadyExists =>
        {
            Ok(())
        } // another run made it a moment ago
        Err(e) if e.code() == Some("BucketAlreadyExists") => Err(taken(bucket)),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("create the artifacts bucket {bucket}")))
        }
    }
}

async fn ensure_settings(aws: &Aws, bucket: &str, created: bool) -> Result<String> {
    let s3 = aws.s3();
    let owner = aws.account.as_str();

    let blocked = match s3
        .get_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e)
            if vikunja_core::error::Classify::class(&e) == vikunja_core::ErrorClass::NotFound =>
        {
            false
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("read the public access block of {bucket}"))
            )
        }
    };
    if !blocked {
        s3.put_public_access_block()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("block public access to {bucket}"))?;
    }

    let algorithm = if created {
        None // set explicitly on a new bucket, whatever the account's default
    } else {
        match s3
            .get_bucket_encryption()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send()
            .await
        {
            Ok(out) => out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string()),
            Err(e)
                if vikunja_core::error::Classify::class(&e)
                    == vikunja_core::ErrorClass::NotFound =>
            {
                None
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("read the encryption of {bucket}"))
                )
            }
        }
    };
    let encryption = match algorithm {
        Some(algorithm) => algorithm,
        None => {
            s3.put_bucket_encryption()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(
                                    ServerSideEncryptionByDefault::builder()
                                        .sse_algorithm(ServerSideEncryption::Aes256)
                                        .build()?,
                                )
                                .build(),
                        )
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("turn on default encryption (SSE-S3) of {bucket}"))?;
            "AES256".to_string()
        }
    };

    let versioned = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
        .with_context(|| format!("read the versioning of {bucket}"))?
        .status()
        == Some(&BucketVersioningStatus::Enabled);
    if !versioned {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("turn on versioning of {bucket}"))?;
    }

    let policy = match s3
        .get_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(out) => out.policy().map(str::to_string),
        Err(e)
            if vikunja_core::error::Classify::class(&e) == vikunja_core::ErrorClass::NotFound =>
        {
            None
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("read the bucket policy of {bucket}")))
        }
    };
    if let Some(updated) = with_tls_only(policy.as_deref(), bucket)? {
        s3.put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .policy(updated)
            .send()
            .await
            .with_context(|| format!("deny plain HTTP to {bucket} (bucket policy)"))?;
    }
    Ok(encryption)
}

/// The bucket policy with a statement denying requests without TLS, or None when the
/// policy has it already. Other statements are kept as they are.
pub fn with_tls_only(policy: Option<&str>, bucket: &str) -> Result<Option<String>> {
    let mut document: Value = match policy {
        Some(text) => serde_json::from_str(text).context("the bucket policy is not JSON")?,
        None => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let statements = match document.get_mut("Statement") {
        Some(Value::Array(list)) => list,
        Some(single) => {
            let one = single.take();
            *single = Value::Array(vec![one]);
            single.as_array_mut().expect("just made an array")
        }
        None => {
            document["Statement"] = json!([]);
            document["Statement"]
                .as_array_mut()
                .expect("just made an array")
        }
    };
    if statements
        .iter()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(TLS_ONLY_SID))
    {
        return Ok(None);
    }
    statements.push(json!({
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }));
    Ok(Some(document.to_string()))
}

/// What an upload pass did.
#[derive(Debug, Default)]
pub struct Uploads {
    /// Keys uploaded by this run.
    pub uploaded: Vec<String>,
    /// Zips already in the bucket (content-addressed: the same key is the same bytes).
    pub present: usize,
}

/// Uploads each function's zip unless its content-addressed key is there already. One
/// PutObject per zip: an object is either wholly there or absent, so a run that stops
/// half-way leaves complete zips, and the next run uploads only the missing ones.
pub async fn upload_functions(aws: &Aws, bucket: &str, functions: &[Function]) -> Result<Uploads> {
    let mut result = Uploads::default();
    for (n, function) in functions.iter().enumerate() {
        let uploaded = upload_if_missing(aws, bucket, &function.key, &function.zip)
            .await
            .with_context(|| {
                format!(
                    "upload function {} ({} of {}; {} uploaded before it by this run): run bootstrap \
                     again, it uploads only what is missing",
                    function.name,
                    n + 1,
                    functions.len(),
                    result.uploaded.len()
                )
            })?;
        if uploaded {
            result.uploaded.push(function.key.clone());
        } else {
            result.present += 1;
        }
    }
    Ok(result)
}

/// Uploads unless the key is already there; returns whether it uploaded.
pub async fn upload_if_missing(aws: &Aws, bucket: &str, key: &str, body: &[u8]) -> Result<bool> {
    let s3 = aws.s3();
    match s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(&aws.account)
        .send()
        .await
    {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) if status_of(&e) == Some(403) => {
            return Err(anyhow::anyhow!(
                "s3://{bucket}/{key} answered 403: the bucket is not this account's, or your credentials lack \
                 s3:GetObject/s3:ListBucket on it"
            ))
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("look up s3://{bucket}/{key}"))),
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(&aws.account)
        .body(body.to_vec().into()) // encrypted by the bucket's default (ensure_bucket)
        .send()
        .await
        .with_context(|| format!("upload s3://{bucket}/{key}"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_is_the_operators_choice_then_the_stacks_then_the_default() {
        let default = || default_bucket("123456789012", "eu-west-1");
        assert_eq!(default(), "vikunja-artifacts-123456789012-eu-west-1");
        assert_eq!(
            choose_bucket(Some("mine"), Some("deployed"), default()),
            "mine"
        );
        assert_eq!(choose_bucket(None, Some("deployed"), default()), "deployed");
        assert_eq!(choose_bucket(None, None, default()), default());
        assert_eq!(choose_bucket(None, Some(""), default()), default());
    }

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for good in ["abc", "vikunja-artifacts-123456789012-eu-west-1", "a-b-c1"] {
            check_bucket_name(good).unwrap();
        }
        for bad in [
            "ab",
            "Upper",
            "under_score",
            "-start",
            "end-",
            "a.b",
            &"x".repeat(64),
        ] {
            let error = check_bucket_name(bad).unwrap_err().to_string();
            assert!(
                error.contains("not a usable S3 bucket name"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_tls_statement_is_added_once_and_other_statements_are_kept() {
        let fresh: Value =
            serde_json::from_str(&with_tls_only(None, "b").unwrap().unwrap()).unwrap();
        let statement = &fresh["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(
            statement["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        assert_eq!(statement["Resource"][1], "arn:aws:s3:::b/*");
        assert_eq!(with_tls_only(Some(&fresh.to_string()), "b").unwrap(), None);

        let theirs = r#"{"Version":"2012-10-17","Statement":{"Sid":"Audit","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
        let merged: Value =
            serde_json::from_str(&with_tls_only(Some(theirs), "b").unwrap().unwrap()).unwrap();
        let sids: Vec<&str> = merged["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["Audit", TLS_ONLY_SID]);
        assert!(with_tls_only(Some("not json"), "b").is_err());
    }
}
