use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, EventBridgeConfiguration,
    NotificationConfiguration, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use aws_sdk_s3::Client;
use resources_frontend::BucketSeen;
use serde_json::json;
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Result, SdkContext};

/// The bucket's regional endpoint, the origin domain CloudFront signs requests for.
pub fn regional_domain(bucket: &str, region: &str) -> String {
    format!("{bucket}.s3.{region}.amazonaws.com")
}

/// Creates the bucket if absent (or adopts ours), then enforces what makes it private:
/// Block Public Access, owner-enforced objects (no ACLs), default encryption, our tags.
pub async fn ensure_private_bucket(
    s3: &Client,
    stack: &str,
    account: &str,
    region: &str,
    bucket: &str,
) -> Result<()> {
    match resources_frontend::find_bucket(s3, bucket, account).await? {
        BucketSeen::Present => info!(bucket, "adopted bucket"),
        BucketSeen::Absent => create_bucket(s3, region, bucket).await?,
        BucketSeen::OtherAccount => {
            return Err(Error::conflict(format!(
                "bucket {bucket} exists and belongs to another account; bucket names are global — use another stack name"
            )))
        }
    }
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
    let tag_set = tags::standard(stack, Tier::Frontend)
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build(), "tag"))
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

async fn create_bucket(s3: &Client, region: &str, bucket: &str) -> Result<()> {
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
        Ok(_) => {
            info!(bucket, "created bucket");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_exists()) => Err(Error::conflict(format!(
            "bucket {bucket} is taken by another account; bucket names are global — use another stack name"
        ))),
        Err(e) => Err(e).context(format!("create bucket {bucket}")),
    }
}

/// New uploads become EventBridge events, which start frontend releases.
pub async fn send_events_to_eventbridge(s3: &Client, bucket: &str) -> Result<()> {
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

/// The site bucket's policy: CloudFront may read objects, for this distribution only, and
/// nobody may use plain HTTP.
pub fn site_policy(bucket: &str, distribution_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudFrontReadsThroughOriginAccessControl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*"),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }
        ]
    })
}

pub async fn allow_only_distribution(
    s3: &Client,
    bucket: &str,
    distribution_arn: &str,
) -> Result<()> {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(site_policy(bucket, distribution_arn).to_string())
        .send()
        .await
        .context(format!("set the policy of {bucket}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_policy_names_one_distribution_and_refuses_http() {
        let policy = site_policy("b", "arn:aws:cloudfront::1:distribution/E1");
        let allow = &policy["Statement"][0];
        assert_eq!(allow["Principal"]["Service"], "cloudfront.amazonaws.com");
        assert_eq!(allow["Action"], "s3:GetObject");
        assert_eq!(
            allow["Condition"]["StringEquals"]["AWS:SourceArn"],
            "arn:aws:cloudfront::1:distribution/E1"
        );
        assert_eq!(policy["Statement"][1]["Effect"], "Deny");
        assert_eq!(
            policy["Statement"][1]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
    }
}
