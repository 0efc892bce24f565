//! Frontend: the buckets, the origin access control, the SPA function, the distribution.

use super::*;

pub(super) fn frontend(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let seen = &o.frontend;
    let mut items = Vec::new();
    let site = names.site_bucket(d.account, d.region);
    let uploads = names.uploads_bucket(d.account, d.region);
    let standard_tags: Vec<String> = tags::standard(names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for (role, bucket) in [("site", &site), ("uploads", &uploads)] {
        let Some(found) = seen.buckets.get(role) else {
            items.push(create(
                "bucket",
                bucket,
                Some(if role == "site" {
                    "private, encrypted, readable only by the distribution".into()
                } else {
                    "private, encrypted, uploads sent to EventBridge".into()
                }),
            ));
            continue;
        };
        let mut check = Check::existing("bucket", bucket, "");
        if found.foreign {
            check.differ(
                "owner",
                "another account",
                d.account,
                How::UpStops,
                Some("bucket names are global and another account has this one: use another stack name".into()),
            );
            items.push(check.done());
            continue;
        }
        let block = |b: Option<[bool; 4]>| match b {
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
        };
        check.compare(
            "publicAccessBlock",
            block(found.public_access_block),
            block(Some([true; 4])),
            How::InPlace,
            None,
        );
        check.compare(
            "objectOwnership",
            found.ownership.as_deref().unwrap_or("none"),
            "BucketOwnerEnforced",
            How::InPlace,
            None,
        );
        check.compare(
            "encryption",
            found.encryption.as_deref().unwrap_or("none"),
            "AES256",
            How::InPlace,
            None,
        );
        check.compare(
            "bucketKey",
            found.bucket_key.unwrap_or(false),
            true,
            How::InPlace,
            None,
        );
        let current_tags: Vec<String> =
            found.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let shown = |tags: &[String]| {
            if tags.is_empty() {
                "none".to_string()
            } else {
                tags.join(", ")
            }
        };
        check.compare(
            "tags",
            shown(&current_tags),
            shown(&standard_tags),
            How::InPlace,
            None,
        );
        if role == "uploads" {
            check.compare("eventBridge", found.eventbridge, true, How::InPlace, None);
        } else {
            check.compared("policy");
            match &seen.distribution {
                Some(dist) => {
                    let want = ::frontend::buckets::site_policy(bucket, &dist.arn);
                    if found.policy.as_ref() != Some(&want) {
                        check.differ(
                            "policy",
                            describe_policy(found.policy.as_ref()),
                            describe_policy(Some(&want)),
                            How::InPlace,
                            None,
                        );
                    }
                }
                None => check.differ(
                    "policy",
                    describe_policy(found.policy.as_ref()),
                    "readable by the new distribution",
                    How::InPlace,
                    None,
                ),
            }
        }
        items.push(check.done());
    }

    let oac_name = names.origin_access_control();
    match &seen.origin_access_control {
        None if seen.origin_access_control_ids.len() > 1 => {
            let ids: Vec<&str> = seen
                .origin_access_control_ids
                .iter()
                .map(String::as_str)
                .collect();
            let what = format!("origin access controls named {oac_name}");
            items.push(resources::plan::ambiguous(
                "origin-access-control",
                &oac_name,
                &ids,
                &what,
            ));
        }
        None => items.push(create(
            "origin-access-control",
            &oac_name,
            Some("S3, SigV4, always sign".into()),
        )),
        Some(oac) => {
            let mut check = Check::existing("origin-access-control", &oac_name, &oac.id);
            let fix = Some(format!(
                "up adopts the origin access control named {oac_name} as it is and never updates it: \
                 aws cloudfront update-origin-access-control --id {} (type s3, signing always, sigv4), or delete it and run up",
                oac.id
            ));
            check.compare(
                "originType",
                &oac.origin_type,
                "s3",
                How::UpLeavesIt,
                fix.clone(),
            );
            check.compare(
                "signingBehavior",
                &oac.signing_behavior,
                "always",
                How::UpLeavesIt,
                fix.clone(),
            );
            check.compare(
                "signingProtocol",
                &oac.signing_protocol,
                "sigv4",
                How::UpLeavesIt,
                fix,
            );
            items.push(check.done());
        }
    }

    let function_name = names.spa_function();
    match &seen.function {
        None => items.push(create(
            "cloudfront-function",
            &function_name,
            Some("SPA fallback, viewer request, published".into()),
        )),
        Some(function) => {
            let mut check = Check::existing("cloudfront-function", &function_name, &function.arn);
            check.compare(
                "stage",
                if function.live {
                    "LIVE"
                } else {
                    "DEVELOPMENT only"
                },
                "LIVE",
                How::InPlace,
                None,
            );
            if let Some(code) = &function.code {
                check.compare(
                    "code",
                    if code.trim() == ::frontend::distribution::SPA_FALLBACK_JS.trim() { "this version's" } else { "another version" },
                    "this version's",
                    How::UpLeavesIt,
                    Some(format!(
                        "up never updates an existing function's code: aws cloudfront update-function --name {function_name} \
                         (code from functions/frontend/src/spa_fallback.js), then aws cloudfront publish-function"
                    )),
                );
            }
            items.push(check.done());
        }
    }

    let comment = names.distribution_comment();
    match &seen.distribution {
        None => items.push(create(
            "distribution",
            &comment,
            Some("the site bucket through OAC; /api/* → the load balancer".into()),
        )),
        Some(dist) => {
            let mut check = Check::existing("distribution", &comment, &dist.id);
            let origins = ::frontend::distribution::Origins {
                site_domain: ::frontend::buckets::regional_domain(&site, d.region),
                api_domain: o
                    .loadbalancer
                    .nlb
                    .as_ref()
                    .map(|l| l.dns_name.clone())
                    .unwrap_or_else(|| new("load balancer")),
                origin_access_control_id: seen
                    .origin_access_control
                    .as_ref()
                    .map(|o| o.id.clone())
                    .unwrap_or_else(|| new("origin access control")),
                spa_function_arn: seen
                    .function
                    .as_ref()
                    .map(|f| f.arn.clone())
                    .unwrap_or_else(|| new("function")),
            };
            let fix = Some(format!(
                "up never updates an existing distribution: change it with `aws cloudfront update-distribution --id {}` \
                 (or the console), or delete it and run up (the site gets a new domain name)",
                dist.id
            ));
            match ::frontend::distribution::distribution_config(names, &origins) {
                Ok(want) => {
                    let want_origins = resources_frontend::origins_of(Some(&want));
                    for (id, (domain, oac)) in &want_origins {
                        let (have_domain, have_oac) = dist
                            .origins
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| ("none".into(), String::new()));
                        check.compare(
                            format!("origin {id} domain"),
                            have_domain,
                            domain,
                            How::UpLeavesIt,
                            fix.clone(),
                        );
                        check.compare(
                            format!("origin {id} originAccessControl"),
                            have_oac,
                            oac,
                            How::UpLeavesIt,
                            fix.clone(),
                        );
                    }
                    let want_functions = resources_frontend::default_functions_of(Some(&want));
                    check.compare(
                        "default behaviour viewer-request function",
                        dist.default_functions.join(", "),
                        want_functions.join(", "),
                        How::UpLeavesIt,
                        fix.clone(),
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
                    check.compare(
                        "behaviours",
                        have_behaviours.join(", "),
                        want_behaviours.join(", "),
                        How::UpLeavesIt,
                        fix,
                    );
                }
                Err(error) => check.note(format!(
                    "the desired distribution could not be built: {error}"
                )),
            }
            items.push(check.done());
        }
    }
    items
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
