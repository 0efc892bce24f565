//! Frontend: the CloudFront distribution (disabled, then deleted once CloudFront has
//! deployed that — minutes on AWS, so the state machine loops), its Origin Access Control
//! and SPA function, and the buckets, emptied of every version and delete marker first.
//!
//! Origin Access Controls and CloudFront Functions cannot carry tags: they are deleted only
//! when the stack's inventory or its own (tagged) distribution names them.

use std::collections::BTreeSet;

use vikunja_core::tags::Tier;
use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::{inventory, ErrorClass, FrontendOutputs, Result};

use resources_frontend::retire::{self, Retired, Retiring as Distribution};
use resources_frontend::{BucketSeen, Owner};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

const MEMO_OACS: &str = "originAccessControls";
const MEMO_FUNCTIONS: &str = "functions";

#[derive(Debug, Default)]
pub struct Found {
    pub distributions: Vec<Distribution>,
    pub origin_access_controls: Vec<String>,
    pub functions: Vec<String>,
    pub buckets: Vec<Bucket>,
    /// Things that look like ours but carry no evidence that they are: never touched.
    pub not_ours: Vec<Kept>,
}

#[derive(Debug)]
pub struct Bucket {
    pub name: String,
    pub site: bool,
}

/// What names an untaggable piece as ours: the inventory, the distribution, or an earlier
/// call of this step that read the distribution before deleting it.
#[derive(Debug, Default)]
struct Evidence {
    origin_access_controls: BTreeSet<String>,
    functions: BTreeSet<String>,
}

pub async fn find(clients: &Clients, ctx: &Ctx, memo: Option<&Step>) -> Result<Found> {
    let recorded = read_inventory(clients, ctx).await?;
    let mut evidence = Evidence::default();
    if let Some(outputs) = &recorded {
        evidence
            .origin_access_controls
            .insert(outputs.origin_access_control_id.clone());
        evidence
            .functions
            .extend(function_name(&outputs.spa_function_arn).map(str::to_string));
    }
    if let Some(step) = memo {
        for (key, set) in [
            (MEMO_OACS, &mut evidence.origin_access_controls),
            (MEMO_FUNCTIONS, &mut evidence.functions),
        ] {
            set.extend(
                step.memo(key)
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
    }
    let (distributions, strangers) = find_distributions(clients, ctx, recorded.as_ref()).await?;
    for d in &distributions {
        evidence
            .origin_access_controls
            .extend(d.origin_access_controls.iter().cloned());
        evidence.functions.extend(
            d.functions
                .iter()
                .filter_map(|arn| function_name(arn))
                .map(str::to_string),
        );
    }
    let mut found = Found {
        distributions,
        not_ours: strangers,
        ..Found::default()
    };
    find_origin_access_controls(clients, ctx, &evidence, &mut found).await?;
    find_functions(clients, ctx, &evidence, &mut found).await?;
    find_buckets(clients, ctx, recorded.as_ref(), &mut found).await?;
    Ok(found)
}

async fn read_inventory(clients: &Clients, ctx: &Ctx) -> Result<Option<FrontendOutputs>> {
    // A record that does not parse names nothing; the tags still find the rest.
    inventory::read_if_valid(&clients.ssm, ctx.stack(), Tier::Frontend).await
}

/// `arn:aws:cloudfront::<account>:function/<name>` → `<name>`.
pub fn function_name(arn: &str) -> Option<&str> {
    arn.rsplit_once(":function/")
        .map(|(_, name)| name)
        .filter(|n| !n.is_empty())
}

/// Our distributions, and the listed ones that carry the stack's comment but not its tag.
async fn find_distributions(
    clients: &Clients,
    ctx: &Ctx,
    recorded: Option<&FrontendOutputs>,
) -> Result<(Vec<Distribution>, Vec<Kept>)> {
    // (id, ARN): the tags are read first, so nothing else is asked of a stranger's distribution.
    let mut candidates: Vec<(String, String)> = recorded
        .map(|r| (r.distribution_id.clone(), r.distribution_arn.clone()))
        .into_iter()
        .filter(|(id, arn)| !id.is_empty() && !arn.is_empty())
        .collect();
    let listed = resources_frontend::find_distributions(&clients.cloudfront, &ctx.names).await?;
    candidates.extend(
        listed
            .iter()
            .map(|d| (d.id().to_string(), d.arn().to_string())),
    );
    let listed: BTreeSet<String> = listed.iter().map(|d| d.id().to_string()).collect();
    candidates.sort();
    candidates.dedup();
    let mut ours = Vec::new();
    let mut strangers = Vec::new();
    for (id, arn) in candidates {
        match read_distribution(clients, ctx, &id, &arn).await? {
            Seen::Ours(found) => ours.push(found),
            // Only a listed one surely exists (an inventory id may name a deleted one).
            Seen::NotOurs if listed.contains(&id) => strangers.push(Kept {
                kind: "cloudfront distribution".into(),
                id,
                reason: format!(
                    "has the stack's comment but is not tagged {}={}: not this stack's, never touched",
                    vikunja_core::tags::STACK,
                    ctx.stack()
                ),
            }),
            Seen::NotOurs | Seen::Gone => {}
        }
    }
    Ok((ours, strangers))
}

enum Seen {
    Ours(Distribution),
    NotOurs,
    Gone,
}

/// Its tags first, so nothing else is asked of a stranger's distribution.
async fn read_distribution(clients: &Clients, ctx: &Ctx, id: &str, arn: &str) -> Result<Seen> {
    let cloudfront = &clients.cloudfront;
    Ok(
        match resources_frontend::owner_of(cloudfront, arn, ctx.stack()).await? {
            Owner::Gone => Seen::Gone,
            Owner::Other => Seen::NotOurs,
            Owner::Stack => match retire::read_distribution(cloudfront, id).await? {
                Some(distribution) => Seen::Ours(distribution),
                None => Seen::Gone,
            },
        },
    )
}

async fn find_origin_access_controls(
    clients: &Clients,
    ctx: &Ctx,
    evidence: &Evidence,
    found: &mut Found,
) -> Result<()> {
    let name = ctx.names.origin_access_control();
    let named =
        resources_frontend::find_origin_access_controls(&clients.cloudfront, &ctx.names).await?;
    for oac in &named {
        if evidence.origin_access_controls.contains(oac.id()) {
            found.origin_access_controls.push(oac.id().to_string());
        } else {
            found.not_ours.push(Kept {
                kind: "cloudfront origin access control".into(),
                id: oac.id().to_string(),
                reason: format!(
                    "named {name}, but Origin Access Controls carry no tags and neither the inventory nor the stack's distribution names this one; if it is this stack's, delete it: aws cloudfront delete-origin-access-control --id {}",
                    oac.id()
                ),
            });
        }
    }
    Ok(())
}

async fn find_functions(
    clients: &Clients,
    ctx: &Ctx,
    evidence: &Evidence,
    found: &mut Found,
) -> Result<()> {
    let name = ctx.names.spa_function();
    let stage = aws_sdk_cloudfront::types::FunctionStage::Development;
    match resources_frontend::find_spa_function(&clients.cloudfront, &ctx.names, stage).await? {
        Some(_) if evidence.functions.contains(&name) => found.functions.push(name),
        Some(_) => found.not_ours.push(Kept {
            kind: "cloudfront function".into(),
            id: name.clone(),
            reason: format!(
                "CloudFront Functions carry no tags and neither the inventory nor the stack's distribution names this one; if it is this stack's, delete it: aws cloudfront delete-function --name {name}"
            ),
        }),
        None => {}
    }
    Ok(())
}

async fn find_buckets(
    clients: &Clients,
    ctx: &Ctx,
    recorded: Option<&FrontendOutputs>,
    found: &mut Found,
) -> Result<()> {
    let site = ctx.names.site_bucket(&ctx.account, &ctx.region);
    let uploads = ctx.names.uploads_bucket(&ctx.account, &ctx.region);
    let mut candidates = vec![(site, true), (uploads, false)];
    if let Some(r) = recorded {
        candidates.push((r.site_bucket.clone(), true));
        candidates.push((r.uploads_bucket.clone(), false));
    }
    candidates.sort();
    candidates.dedup_by(|a, b| a.0 == b.0);
    for (name, site) in candidates.into_iter().filter(|(n, _)| !n.is_empty()) {
        let why_not =
            match resources_frontend::find_bucket(&clients.s3, &name, &ctx.account).await? {
                BucketSeen::Absent => continue,
                BucketSeen::OtherAccount => {
                    "owned by another account (or not readable by teardown)".to_string()
                }
                BucketSeen::Present => {
                    let tags =
                        resources_frontend::bucket_tags(&clients.s3, &name, &ctx.account).await?;
                    if ctx.owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                        found.buckets.push(Bucket { name, site });
                        continue;
                    }
                    if tags.is_empty() {
                        "has no tags".to_string()
                    } else {
                        format!("not tagged {}={}", vikunja_core::tags::STACK, ctx.stack())
                    }
                }
            };
        found.not_ours.push(Kept {
            kind: "s3 bucket".into(),
            id: name,
            reason: format!("{why_not}: not this stack's, never touched"),
        });
    }
    Ok(())
}

fn resource(kind: &str, id: &str) -> Resource {
    Resource {
        kind: kind.into(),
        id: id.into(),
    }
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    let mut delete = Vec::new();
    let mut keep = found.not_ours.clone();
    for d in &found.distributions {
        delete.push(resource("cloudfront distribution", &d.id));
    }
    for id in &found.origin_access_controls {
        delete.push(resource("cloudfront origin access control", id));
    }
    for name in &found.functions {
        delete.push(resource("cloudfront function", name));
    }
    for bucket in &found.buckets {
        if bucket.site && ctx.options.keep_data {
            keep.push(Kept {
                kind: "s3 bucket".into(),
                id: bucket.name.clone(),
                reason: "--keep-data".into(),
            });
        } else {
            delete.push(resource("s3 bucket (every version)", &bucket.name));
        }
    }
    PlannedTier {
        tier: "frontend".into(),
        delete,
        keep,
        refuse: vec![],
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx, Some(step)).await?;
    for kept in &found.not_ours {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    // Once the distribution is gone nothing else names its OAC and function: remember them.
    let oacs: Vec<String> = found
        .distributions
        .iter()
        .flat_map(|d| d.origin_access_controls.iter().cloned())
        .collect();
    let functions: Vec<String> = found
        .distributions
        .iter()
        .flat_map(|d| d.functions.iter().filter_map(|arn| function_name(arn)))
        .map(str::to_string)
        .collect();
    remember(step, MEMO_OACS, &oacs);
    remember(step, MEMO_FUNCTIONS, &functions);

    let mut remaining = 0;
    let mut deleted_one = false;
    for d in &found.distributions {
        if retire_distribution(clients, d, step).await {
            deleted_one = true;
        } else {
            remaining += 1;
        }
    }
    // The OAC and the function are in use until the distribution is gone.
    if remaining == 0 {
        let cloudfront = &clients.cloudfront;
        for id in &found.origin_access_controls {
            let deleted = retire::delete_origin_access_control(cloudfront, id).await;
            let kind = ("cloudfront origin access control", "origin access control");
            settle(step, kind, id, deleted, deleted_one);
        }
        for name in &found.functions {
            let deleted = retire::delete_function(cloudfront, name).await;
            let kind = ("cloudfront function", "CloudFront function");
            settle(step, kind, name, deleted, deleted_one);
        }
    }
    for bucket in &found.buckets {
        if bucket.site && ctx.options.keep_data {
            step.kept("s3 bucket", &bucket.name, "--keep-data");
        } else {
            delete_bucket(clients, ctx, &bucket.name, step).await;
        }
    }
    Ok(())
}

fn remember(step: &mut Step, key: &str, values: &[String]) {
    let mut all: BTreeSet<String> = step
        .memo(key)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    all.extend(values.iter().cloned());
    if !all.is_empty() {
        step.remember(key, all.into_iter().collect::<Vec<_>>().join(","));
    }
}

/// Disable → wait until deployed → delete. True once the distribution is gone.
async fn retire_distribution(clients: &Clients, d: &Distribution, step: &mut Step) -> bool {
    match retire::retire_distribution(&clients.cloudfront, d).await {
        Ok(Retired::Deleted) => step.record("cloudfront distribution", &d.id, Ok(())),
        Ok(Retired::AlreadyGone) => true,
        Ok(Retired::Waiting(what)) => {
            step.wait(what);
            false
        }
        Err(error) => {
            step.refused("cloudfront distribution", &d.id, &error);
            false
        }
    }
}

/// An Origin Access Control or function still in use right after its distribution went
/// is waited for: CloudFront releases it a moment later.
fn settle(
    step: &mut Step,
    (kind, noun): (&str, &str),
    id: &str,
    result: Result<resources::found::Outcome>,
    just_freed: bool,
) {
    match result {
        Err(error) if error.is(ErrorClass::InUse) && just_freed => {
            step.wait(format!("{noun} {id} to be released"))
        }
        other => {
            step.record(kind, id, other);
        }
    }
}

/// Empties the bucket of every version, delete marker and unfinished upload (in slices,
/// so a large bucket takes several calls), then deletes it.
async fn delete_bucket(clients: &Clients, ctx: &Ctx, bucket: &str, step: &mut Step) {
    let memo_key = format!("objects:{bucket}");
    let before: u64 = step
        .memo(&memo_key)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let emptied = retire::empty_bucket(&clients.s3, bucket, &ctx.account, || ctx.out_of_time());
    let (removed, done) = match emptied.await {
        Ok(progress) => progress,
        Err(error) => {
            step.refused("s3 bucket", bucket, &error);
            return;
        }
    };
    let total = before + removed;
    step.remember(&memo_key, total.to_string());
    if !done {
        step.wait(format!(
            "bucket {bucket} to be emptied ({total} object versions deleted so far)"
        ));
        return;
    }
    match retire::delete_bucket(&clients.s3, bucket, &ctx.account).await {
        // Someone wrote to it while it was being emptied: empty it again next time.
        Err(error) if error.is(ErrorClass::InUse) => step.wait(format!(
            "bucket {bucket} to stay empty (new objects arrived)"
        )),
        other => {
            if step.record("s3 bucket", bucket, other) && total > 0 {
                step.deleted("s3 object versions", format!("{total} in {bucket}"));
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_their_arn() {
        assert_eq!(
            function_name("arn:aws:cloudfront::123456789012:function/v-frontend-spa-fallback"),
            Some("v-frontend-spa-fallback")
        );
        assert_eq!(function_name("arn:aws:cloudfront::1:function/"), None);
        assert_eq!(function_name(""), None);
    }
}
