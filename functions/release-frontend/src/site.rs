//! The site bucket's side of a release: what is there, writing a file with its headers, and
//! deleting what pruning chose.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use vikunja_core::error::built;
use vikunja_core::{Error, Result, SdkContext};

/// DeleteObjects takes at most this many keys per call.
const DELETE_BATCH: usize = 1000;

/// Every key under `prefix` with its ETag (quotes removed).
pub async fn list_keys(
    s3: &Client,
    bucket: &str,
    prefix: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let mut keys = BTreeMap::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_string))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.context(format!("list s3://{bucket}"))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                let etag = object.e_tag().unwrap_or_default().trim_matches('"');
                keys.insert(key.to_string(), etag.to_string());
            }
        }
    }
    Ok(keys)
}

pub struct Upload<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub cache_control: &'a str,
    pub body: Vec<u8>,
}

pub async fn put(s3: &Client, bucket: &str, upload: Upload<'_>) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(upload.key)
        .content_type(upload.content_type)
        .cache_control(upload.cache_control)
        .body(ByteStream::from(upload.body))
        .send()
        .await
        .context(format!("write s3://{bucket}/{}", upload.key))?;
    Ok(())
}

/// Deletes the keys; a key already gone is deleted. Returns how many were asked for.
pub async fn delete_keys(s3: &Client, bucket: &str, keys: &[String]) -> Result<usize> {
    for batch in keys.chunks(DELETE_BATCH) {
        let objects = batch
            .iter()
            .map(|key| built(ObjectIdentifier::builder().key(key).build(), "object id"))
            .collect::<Result<Vec<_>>>()?;
        let delete = built(
            Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build(),
            "delete request",
        )?;
        let answer = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .context(format!(
                "delete {} old files from s3://{bucket}",
                batch.len()
            ))?;
        if let Some(failed) = answer.errors().first() {
            return Err(Error::Aws {
                context: format!("delete s3://{bucket}/{}", failed.key().unwrap_or("?")),
                code: failed.code().map(str::to_string),
                message: failed.message().unwrap_or("refused").to_string(),
                class: vikunja_core::ErrorClass::Transient,
            });
        }
    }
    Ok(keys.len())
}
