//! The bootstrap stack: artifacts bucket, uploads, create or update, follow to the end.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus, Tag};
use serde_json::Value;

use crate::package::Packaged;
use crate::target::Aws;
use crate::Output;

/// CloudFormation's limit for an inline template body; larger ones go through S3.
const MAX_TEMPLATE_BODY: usize = 51_200;

pub fn stack_name(stack: &str) -> String {
    format!("{stack}-bootstrap")
}

pub fn artifacts_bucket(aws: &Aws) -> String {
    format!("vikunja-artifacts-{}-{}", aws.account, aws.region)
}

pub async fn bootstrap(
    aws: &Aws,
    stack: &str,
    packaged: &Packaged,
    output: Output,
) -> Result<Value> {
    let started = Instant::now();
    let bucket = artifacts_bucket(aws);
    ensure_artifacts_bucket(aws, &bucket).await?;
    let mut uploaded = 0;
    for function in &packaged.functions {
        if upload_if_missing(aws, &bucket, &function.key, &function.zip).await? {
            uploaded += 1;
        }
    }
    if output == Output::Text {
        println!(
            "artifacts: {uploaded} of {} function zips uploaded to s3://{bucket} (the rest unchanged)",
            packaged.functions.len()
        );
    }
    let name = stack_name(stack);
    let body = serde_json::to_string(&packaged.template)?;
    let template_url = if body.len() > MAX_TEMPLATE_BODY {
        let key = format!(
            "templates/{stack}-{}.json",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()))
        );
        upload_if_missing(aws, &bucket, &key, body.as_bytes()).await?;
        Some(format!(
            "https://{bucket}.s3.{}.amazonaws.com/{key}",
            aws.region
        ))
    } else {
        None
    };
    let parameters = stack_parameters(aws, stack, &bucket);
    let cfn = aws.cloudformation();
    let existing = describe_stack(aws, &name).await?;
    let changed = match existing.as_ref().and_then(|s| s.stack_status().cloned()) {
        None => {
            create_stack(aws, &name, stack, &body, template_url.as_deref(), parameters).await?;
            true
        }
        Some(StackStatus::RollbackComplete) => {
            // A first create that failed leaves a stack that can only be deleted.
            if output == Output::Text {
                println!("{name} is ROLLBACK_COMPLETE from a failed first create: deleting it and creating again");
            }
            cfn.delete_stack().stack_name(&name).send().await.context("delete the failed stack")?;
            wait_for_stack(aws, &name, output).await.ok();
            create_stack(aws, &name, stack, &body, template_url.as_deref(), parameters).await?;
            true
        }
        Some(status) if status.as_str().ends_with("_IN_PROGRESS") => {
            bail!("{name} is {status}: another deployment is running; wait for it and run bootstrap again")
        }
        Some(StackStatus::UpdateRollbackFailed) => bail!(
            "{name} is UPDATE_ROLLBACK_FAILED: run `aws cloudformation continue-update-rollback --stack-name {name}` (skipping the resources it names), then bootstrap again"
        ),
        Some(_) => update_stack(aws, &name, &body, template_url.as_deref(), parameters).await?,
    };
    let stack_out = if changed {
        wait_for_stack(aws, &name, output).await?
    } else {
        describe_stack(aws, &name)
            .await?
            .context("stack vanished")?
    };
    let mut outputs: BTreeMap<String, Value> = stack_out
        .outputs()
        .iter()
        .filter_map(|o| {
            Some((
                o.output_key()?.to_string(),
                Value::String(o.output_value()?.to_string()),
            ))
        })
        .collect();
    outputs.insert("BootstrapStack".into(), Value::String(name));
    outputs.insert("Changed".into(), Value::Bool(changed));
    outputs.insert(
        "Seconds".into(),
        serde_json::json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
    );
    Ok(serde_json::to_value(outputs)?)
}

/// The template's parameters. On the local stack deployments take seconds, not minutes,
/// so polls and the hook's patience are scaled down; on AWS the template's defaults hold.
fn stack_parameters(aws: &Aws, stack: &str, bucket: &str) -> Vec<Parameter> {
    let mut values = vec![
        ("VikunjaStack", stack.to_string()),
        ("ArtifactsBucket", bucket.to_string()),
    ];
    if aws.target == crate::target::Target::Local {
        values.extend([
            ("ReleasePollSeconds", "1".to_string()),
            ("SmokeTestBudgetSeconds", "12".to_string()),
            ("SmokeTestIntervalSeconds", "2".to_string()),
        ]);
    }
    values
        .into_iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

async fn ensure_artifacts_bucket(aws: &Aws, bucket: &str) -> Result<()> {
    let s3 = aws.s3();
    match s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&aws.account)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
            bail!("artifacts bucket {bucket} belongs to another account; bucket names are global")
        }
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("look up bucket {bucket}"))),
    }
    let mut create = s3.create_bucket().bucket(bucket);
    if aws.region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    aws.region.as_str(),
                ))
                .build(),
        );
    }
    if let Err(error) = create.send().await {
        // Another bootstrap may have created it a moment ago; only a bucket we cannot see is an error.
        if s3
            .head_bucket()
            .bucket(bucket)
            .expected_bucket_owner(&aws.account)
            .send()
            .await
            .is_err()
        {
            return Err(
                anyhow::Error::new(error).context(format!("create artifacts bucket {bucket}"))
            );
        }
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("block public access to {bucket}"))?;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("enable versioning on {bucket}"))?;
    Ok(())
}

/// Uploads unless the content-addressed key is already there; returns whether it uploaded.
async fn upload_if_missing(aws: &Aws, bucket: &str, key: &str, body: &[u8]) -> Result<bool> {
    let s3 = aws.s3();
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("look up s3://{bucket}/{key}"))),
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .send()
        .await
        .with_context(|| format!("upload s3://{bucket}/{key}"))?;
    Ok(true)
}

async fn describe_stack(
    aws: &Aws,
    name: &str,
) -> Result<Option<aws_sdk_cloudformation::types::Stack>> {
    match aws
        .cloudformation()
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e)
            if aws_sdk_cloudformation::error::ProvideErrorMetadata::message(&e)
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("describe stack {name}"))),
    }
}

async fn create_stack(
    aws: &Aws,
    name: &str,
    stack: &str,
    body: &str,
    url: Option<&str>,
    parameters: Vec<Parameter>,
) -> Result<()> {
    let mut request = aws
        .cloudformation()
        .create_stack()
        .stack_name(name)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .tags(
            Tag::builder()
                .key(vikunja_core::tags::STACK)
                .value(stack)
                .build(),
        )
        .tags(
            Tag::builder()
                .key(vikunja_core::tags::TIER)
                .value("bootstrap")
                .build(),
        );
    request = match url {
        Some(url) => request.template_url(url),
        None => request.template_body(body),
    };
    request
        .send()
        .await
        .with_context(|| format!("create stack {name}"))?;
    Ok(())
}

/// Returns false when CloudFormation says there is nothing to update.
async fn update_stack(
    aws: &Aws,
    name: &str,
    body: &str,
    url: Option<&str>,
    parameters: Vec<Parameter>,
) -> Result<bool> {
    let mut request = aws
        .cloudformation()
        .update_stack()
        .stack_name(name)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam);
    request = match url {
        Some(url) => request.template_url(url),
        None => request.template_body(body),
    };
    match request.send().await {
        Ok(_) => Ok(true),
        Err(e)
            if aws_sdk_cloudformation::error::ProvideErrorMetadata::message(&e)
                .is_some_and(|m| m.contains("No updates are to be performed")) =>
        {
            Ok(false)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("update stack {name}"))),
    }
}

async fn wait_for_stack(
    aws: &Aws,
    name: &str,
    output: Output,
) -> Result<aws_sdk_cloudformation::types::Stack> {
    let started = Instant::now();
    loop {
        let stack = describe_stack(aws, name)
            .await?
            .with_context(|| format!("stack {name} disappeared"))?;
        let status = stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            if status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE" {
                if output == Output::Text {
                    println!(
                        "{name}: {status} in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                }
                return Ok(stack);
            }
            let reasons = failure_reasons(aws, name).await.unwrap_or_default();
            bail!(
                "{name} ended {status}{}{}",
                if reasons.is_empty() { "" } else { ":\n  " },
                reasons.join("\n  ")
            );
        }
        tokio::time::sleep(aws.poll_interval()).await;
    }
}

async fn failure_reasons(aws: &Aws, name: &str) -> Result<Vec<String>> {
    let events = aws
        .cloudformation()
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await?;
    Ok(events
        .stack_events()
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
        })
        .map(|e| {
            format!(
                "{} ({}): {}",
                e.logical_resource_id().unwrap_or("?"),
                e.resource_type().unwrap_or("?"),
                e.resource_status_reason().unwrap_or("no reason given")
            )
        })
        .take(10)
        .collect())
}
