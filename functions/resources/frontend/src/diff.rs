//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together. Pure: unit-tested with made-up findings
//! (`bootstrap/cli/src/plan/tests.rs`).

use serde_json::Value;
use vikunja_core::tags::{self, Tier};
use vikunja_core::Names;

use crate::config::{distribution_config, regional_domain, site_policy, Origins, SPA_FALLBACK_JS};
use crate::observe::{Bucket, Frontend};
use resources::plan::{create, new, Check, How, Operation};

pub const ROLES: [&str; 2] = ["site", "uploads"];

/// What `up` wants of the tier, beyond the stack's names.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub account: String,
    pub region: String,
    /// The load balancer's DNS name: the API origin (with an own domain, its origin name).
    pub api_domain: String,
    /// With an own domain: the alias and certificate CloudFront serves.
    pub viewer: Option<crate::config::Viewer>,
}

impl Spec {
    pub fn bucket(&self, role: &str) -> String {
        if role == "site" {
            self.names.site_bucket(&self.account, &self.region)
        } else {
            self.names.uploads_bucket(&self.account, &self.region)
        }
    }
}

/// One change to the tier. Buckets are made private on creation and whenever a setting has
/// drifted; the distribution, its Origin Access Control and the function are created once
/// and never updated (`plan` says how to change them).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Created, then made private, encrypted and tagged.
    CreateBucket {
        role: &'static str,
    },
    BlockPublicAccess {
        role: &'static str,
    },
    EnforceBucketOwner {
        role: &'static str,
    },
    EncryptBucket {
        role: &'static str,
    },
    TagBucket {
        role: &'static str,
    },
    SendUploadsToEventBridge,
    CreateOriginAccessControl,
    /// Created and published.
    CreateSpaFunction,
    PublishSpaFunction,
    CreateDistribution,
    SetSitePolicy,
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        let names = &spec.names;
        match self {
            Op::CreateBucket { role } => format!(
                "create bucket {} (private: Block Public Access, no ACLs, AES-256, tagged)",
                spec.bucket(role)
            ),
            Op::BlockPublicAccess { role } => {
                format!("block all public access to bucket {}", spec.bucket(role))
            }
            Op::EnforceBucketOwner { role } => format!(
                "enforce the bucket owner on {} (ACLs off)",
                spec.bucket(role)
            ),
            Op::EncryptBucket { role } => format!(
                "encrypt bucket {} by default (AES-256, bucket key)",
                spec.bucket(role)
            ),
            Op::TagBucket { role } => format!("tag bucket {}", spec.bucket(role)),
            Op::SendUploadsToEventBridge => format!(
                "send the events of bucket {} to EventBridge",
                spec.bucket("uploads")
            ),
            Op::CreateOriginAccessControl => format!(
                "create origin access control {} (S3, SigV4, always sign)",
                names.origin_access_control()
            ),
            Op::CreateSpaFunction => format!(
                "create and publish CloudFront function {}",
                names.spa_function()
            ),
            Op::PublishSpaFunction => {
                format!("publish CloudFront function {}", names.spa_function())
            }
            Op::CreateDistribution => format!(
                "create distribution {} (the site bucket through OAC; /api/* → {})",
                names.distribution_comment(),
                names.load_balancer()
            ),
            Op::SetSitePolicy => format!(
                "set the policy of bucket {}: readable only by the distribution, HTTPS only",
                spec.bucket("site")
            ),
        }
    }
}

pub type Plan = resources::plan::Plan<Op>;

pub fn diff(spec: &Spec, found: &Frontend) -> Plan {
    let mut plan = Plan::default();
    for role in ROLES {
        bucket(spec, role, found.buckets.get(role), &mut plan);
    }
    origin_access_control(spec, found, &mut plan);
    function(spec, found, &mut plan);
    distribution(spec, found, &mut plan);
    site_bucket_policy(spec, found, &mut plan);
    plan
}

fn shown_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        "none".to_string()
    } else {
        tags.join(", ")
    }
}

fn public_access(flags: Option<[bool; 4]>) -> String {
    match flags {
        None => "none".to_string(),
        Some(flags) if flags.iter().all(|f| *f) => "all four on".to_string(),
        Some(flags) => {
            let labels = [
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            ];
            let off: Vec<&str> = labels
                .iter()
                .zip(flags)
                .filter(|(_, on)| !on)
                .map(|(l, _)| *l)
                .collect();
            format!("off: {}", off.join(", "))
        }
    }
}

fn bucket(spec: &Spec, role: &'static str, found: Option<&Bucket>, plan: &mut Plan) {
    let name = spec.bucket(role);
    let Some(found) = found else {
        let (detail, mut ops) = if role == "site" {
            (
                "private, encrypted, readable only by the distribution",
                vec![],
            )
        } else {
            (
                "private, encrypted, uploads sent to EventBridge",
                vec![Op::SendUploadsToEventBridge],
            )
        };
        ops.insert(0, Op::CreateBucket { role });
        plan.push(create("bucket", &name, Some(detail.into())), ops, spec);
        return;
    };
    let mut check = Check::existing("bucket", &name, "");
    if found.foreign {
        check.differ(
            "owner",
            "another account",
            &spec.account,
            How::UpStops,
            Some(
                "bucket names are global and another account has this one: use another stack name"
                    .into(),
            ),
        );
        plan.push(check.done(), vec![], spec);
        return;
    }
    let mut ops = Vec::new();
    converge(
        &mut check,
        &mut ops,
        "publicAccessBlock",
        public_access(found.public_access_block),
        public_access(Some([true; 4])),
        Op::BlockPublicAccess { role },
    );
    converge(
        &mut check,
        &mut ops,
        "objectOwnership",
        found.ownership.clone().unwrap_or_else(|| "none".into()),
        "BucketOwnerEnforced".into(),
        Op::EnforceBucketOwner { role },
    );
    let encryption = found.encryption.clone().unwrap_or_else(|| "none".into());
    let bucket_key = found.bucket_key.unwrap_or(false);
    check.compare("encryption", &encryption, "AES256", How::InPlace, None);
    check.compare("bucketKey", bucket_key, true, How::InPlace, None);
    if encryption != "AES256" || !bucket_key {
        ops.push(Op::EncryptBucket { role });
    }
    let standard: Vec<String> = tags::standard(spec.names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let current: Vec<String> = found.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    converge(
        &mut check,
        &mut ops,
        "tags",
        shown_tags(&current),
        shown_tags(&standard),
        Op::TagBucket { role },
    );
    if role == "uploads" {
        converge(
            &mut check,
            &mut ops,
            "eventBridge",
            found.eventbridge.to_string(),
            "true".into(),
            Op::SendUploadsToEventBridge,
        );
    }
    plan.push(check.done(), ops, spec);
}

fn origin_access_control(spec: &Spec, found: &Frontend, plan: &mut Plan) {
    let name = spec.names.origin_access_control();
    match &found.origin_access_control {
        None if found.origin_access_control_ids.len() > 1 => {
            let ids: Vec<&str> = found
                .origin_access_control_ids
                .iter()
                .map(String::as_str)
                .collect();
            let what = format!("origin access controls named {name}");
            let item = resources::plan::ambiguous("origin-access-control", &name, &ids, &what);
            plan.push(item, vec![], spec);
        }
        None => plan.push(
            create(
                "origin-access-control",
                &name,
                Some("S3, SigV4, always sign".into()),
            ),
            vec![Op::CreateOriginAccessControl],
            spec,
        ),
        Some(oac) => {
            let mut check = Check::existing("origin-access-control", &name, &oac.id);
            let fix = format!(
                "up adopts the origin access control named {name} as it is and never updates it: \
                 aws cloudfront update-origin-access-control --id {} (type s3, signing always, sigv4), or delete it and run up",
                oac.id
            );
            for (field, have, want) in [
                ("originType", &oac.origin_type, "s3"),
                ("signingBehavior", &oac.signing_behavior, "always"),
                ("signingProtocol", &oac.signing_protocol, "sigv4"),
            ] {
                check.compare(field, have, want, How::UpLeavesIt, Some(fix.clone()));
            }
            plan.push(check.done(), vec![], spec);
        }
    }
}

fn function(spec: &Spec, found: &Frontend, plan: &mut Plan) {
    let name = spec.names.spa_function();
    let Some(function) = &found.function else {
        plan.push(
            create(
                "cloudfront-function",
                &name,
                Some("SPA fallback, viewer request, published".into()),
            ),
            vec![Op::CreateSpaFunction],
            spec,
        );
        return;
    };
    let mut check = Check::existing("cloudfront-function", &name, &function.arn);
    let stage = if function.live {
        "LIVE"
    } else {
        "DEVELOPMENT only"
    };
    check.compare("stage", stage, "LIVE", How::InPlace, None);
    if let Some(code) = &function.code {
        let same = code.trim() == SPA_FALLBACK_JS.trim();
        check.compare(
            "code",
            if same { "this version's" } else { "another version" },
            "this version's",
            How::UpLeavesIt,
            Some(format!(
                "up never updates an existing function's code: aws cloudfront update-function --name {name} \
                 (code from functions/resources/frontend/src/spa_fallback.js), then aws cloudfront publish-function"
            )),
        );
    }
    let ops = if function.live {
        vec![]
    } else {
        vec![Op::PublishSpaFunction]
    };
    plan.push(check.done(), ops, spec);
}

fn distribution(spec: &Spec, found: &Frontend, plan: &mut Plan) {
    let names = &spec.names;
    let comment = names.distribution_comment();
    let Some(dist) = &found.distribution else {
        plan.push(
            create(
                "distribution",
                &comment,
                Some("the site bucket through OAC; /api/* → the load balancer".into()),
            ),
            vec![Op::CreateDistribution],
            spec,
        );
        return;
    };
    let mut check = Check::existing("distribution", &comment, &dist.id);
    let origins = Origins {
        site_domain: regional_domain(&spec.bucket("site"), &spec.region),
        api_domain: spec.api_domain.clone(),
        origin_access_control_id: found
            .origin_access_control
            .as_ref()
            .map(|o| o.id.clone())
            .unwrap_or_else(|| new("origin access control")),
        spa_function_arn: found
            .function
            .as_ref()
            .map(|f| f.arn.clone())
            .unwrap_or_else(|| new("function")),
        viewer: spec.viewer.clone(),
    };
    let fix = format!(
        "up never updates an existing distribution: change it with `aws cloudfront update-distribution --id {}` \
         (or the console), or delete it and run up (the site gets a new domain name)",
        dist.id
    );
    let leaves = |check: &mut Check, field: String, have: String, want: String| {
        check.compare(field, have, want, How::UpLeavesIt, Some(fix.clone()));
    };
    match distribution_config(names, &origins) {
        Ok(want) => {
            for (id, (domain, oac)) in crate::origins_of(Some(&want)) {
                let (have_domain, have_oac) = dist
                    .origins
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| ("none".into(), String::new()));
                leaves(
                    &mut check,
                    format!("origin {id} domain"),
                    have_domain,
                    domain,
                );
                leaves(
                    &mut check,
                    format!("origin {id} originAccessControl"),
                    have_oac,
                    oac,
                );
            }
            leaves(
                &mut check,
                "viewer".into(),
                dist.viewer.clone(),
                crate::viewer_of(Some(&want)),
            );
            let want_functions = crate::default_functions_of(Some(&want));
            leaves(
                &mut check,
                "default behaviour viewer-request function".into(),
                dist.default_functions.join(", "),
                want_functions.join(", "),
            );
            let want_behaviours: Vec<String> = want
                .cache_behaviors()
                .map(|b| b.items())
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{} → {}", b.path_pattern(), b.target_origin_id()))
                .collect();
            let have_behaviours: Vec<String> = dist
                .behaviours
                .iter()
                .map(|(p, o)| format!("{p} → {o}"))
                .collect();
            leaves(
                &mut check,
                "behaviours".into(),
                have_behaviours.join(", "),
                want_behaviours.join(", "),
            );
        }
        Err(error) => check.note(format!(
            "the desired distribution could not be built: {error}"
        )),
    }
    plan.push(check.done(), vec![], spec);
}

/// The site bucket's policy names the distribution, so it is set once that exists.
fn site_bucket_policy(spec: &Spec, found: &Frontend, plan: &mut Plan) {
    let name = spec.bucket("site");
    let Some(bucket) = found.buckets.get("site").filter(|b| !b.foreign) else {
        let detail = "readable only by the distribution, HTTPS only";
        plan.push(
            create("bucket-policy", &name, Some(detail.into())),
            vec![Op::SetSitePolicy],
            spec,
        );
        return;
    };
    let mut check = Check::existing("bucket-policy", &name, "");
    let want = found
        .distribution
        .as_ref()
        .map(|dist| site_policy(&name, &dist.arn));
    let have = bucket.policy.as_ref();
    check.compared("policy");
    let ops = if want.is_some() && have == want.as_ref() {
        vec![]
    } else {
        let desired = match &want {
            Some(want) => describe_policy(Some(want)),
            None => "readable by the new distribution".into(),
        };
        check.differ("policy", describe_policy(have), desired, How::InPlace, None);
        vec![Op::SetSitePolicy]
    };
    plan.push(check.done(), ops, spec);
}

/// One field `up` sets in place, and the operation that sets it when it differs.
fn converge(check: &mut Check, ops: &mut Vec<Op>, field: &str, have: String, want: String, op: Op) {
    check.compare(field, &have, &want, How::InPlace, None);
    if have != want {
        ops.push(op);
    }
}

/// A bucket policy as a person reads it: which distribution it admits.
fn describe_policy(policy: Option<&Value>) -> String {
    let Some(policy) = policy else {
        return "none".into();
    };
    let admitted = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|s| s["Condition"]["StringEquals"]["AWS:SourceArn"].as_str());
    match admitted {
        Some(arn) => format!("readable by {arn}"),
        None => "another policy".into(),
    }
}
