//! The operator's own domain: the two ACM certificates (`site` in us-east-1, which
//! CloudFront requires; `origin` in the stack's region, for the load balancer's TLS
//! listener), their DNS validation records and the alias records in the operator's Route 53
//! zone — the one finder of each ([`observe`]), [`diff`] (spec and findings → plan items
//! and operations), [`retire`] (findings against nothing → what `down` deletes) and
//! [`apply`].
//!
//! Certificates carry the stack's tags and a role tag, and are found by them: a request is
//! made with a deterministic idempotency token, so a request answered 500 after it took
//! effect is the same certificate on the retry. Record sets carry no tags: `down` deletes
//! only alias records at the stack's two names and the validation records its own
//! certificates name, and leaves anything else in the zone alone.

mod apply;
mod diff;

pub use apply::{apply, delete, ensure, request_token, statuses, upsert_validation};
pub use diff::{diff, retire, Op, Plan, Spec, Targets};

use std::collections::BTreeMap;

use aws_sdk_acm::types::Tag;
use aws_sdk_route53::types::ResourceRecordSet;

use resources::found::absent_if_not_found;
use resources::Seen;
use vikunja_core::settings::{domain_in_zone, OwnDomain};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

/// CloudFront takes certificates from ACM in us-east-1 only.
pub const CLOUDFRONT_REGION: &str = "us-east-1";
/// The hosted zone of every CloudFront distribution's name, for alias records.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// Which of the stack's two certificates a certificate is.
pub const ROLE_TAG: &str = "vikunja:certificate";
pub const ROLES: [&str; 2] = ["site", "origin"];

/// The clients the tier talks to: ACM twice (the site certificate must be in us-east-1,
/// the origin one in the load balancer's region) and Route 53 (global).
pub struct Clients<'a> {
    pub site_acm: &'a aws_sdk_acm::Client,
    pub origin_acm: &'a aws_sdk_acm::Client,
    pub route53: &'a aws_sdk_route53::Client,
}

impl Clients<'_> {
    pub fn acm(&self, role: &str) -> &aws_sdk_acm::Client {
        if role == "site" {
            self.site_acm
        } else {
            self.origin_acm
        }
    }
}

/// A hosted zone as Route 53 describes it (the name without its final dot).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub private: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Certificate {
    pub arn: String,
    pub status: String,
    /// The CNAME ACM asks for, once it says which (a few seconds after the request).
    pub validation: Vec<ValidationRecord>,
    pub in_use_by: Vec<String>,
}

impl resources::found::Identified for Certificate {
    fn id(&self) -> &str {
        &self.arn
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ValidationRecord {
    pub name: String,
    pub value: String,
}

/// A record set at one of the names the tier cares about, as found.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub kind: String,
    /// An alias record's target name and zone; `None` for a plain record.
    pub alias: Option<(String, String)>,
    /// The plain record's values.
    pub values: Vec<String>,
    /// As Route 53 answered it: a DELETE must repeat the set exactly.
    pub raw: ResourceRecordSet,
}

/// The tier as found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub zone: Option<Zone>,
    pub certificates: BTreeMap<&'static str, Seen<Certificate>>,
    /// (name, type) → record set.
    pub records: BTreeMap<(String, String), Record>,
}

impl Found {
    pub fn certificate(&self, role: &str) -> Option<&Certificate> {
        self.certificates.get(role).and_then(Seen::found)
    }
}

/// A DNS name as Route 53 and ACM compare it: lowercase, no final dot.
pub fn canonical(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The zone, if this account has it. Route 53 answers a zone of another account exactly as
/// one that does not exist (NoSuchHostedZone), or AccessDenied where a policy says so:
/// either way it is refused before anything is made, with what to do.
pub async fn find_zone(route53: &aws_sdk_route53::Client, domain: &OwnDomain) -> Result<Zone> {
    let id = &domain.hosted_zone_id;
    let answer = route53.get_hosted_zone().id(id).send().await;
    let refuse = || {
        Error::invalid(format!(
            "hostedZoneId {id}: this account has no such Route 53 hosted zone (a zone of another \
             account answers the same): give the id of this account's public zone that holds {} \
             (`aws route53 list-hosted-zones-by-name --dns-name {}`), or create one and delegate the domain to it",
            domain.name,
            parent(&domain.name)
        ))
    };
    let answer = match answer.context(format!("read hosted zone {id}")) {
        Ok(answer) => answer,
        Err(e) if e.is(ErrorClass::NotFound) || e.is(ErrorClass::AccessDenied) => {
            return Err(refuse())
        }
        Err(e) => return Err(e),
    };
    let zone = answer.hosted_zone().ok_or_else(refuse)?;
    Ok(Zone {
        id: zone.id().trim_start_matches("/hostedzone/").to_string(),
        name: canonical(zone.name()),
        private: zone.config().is_some_and(|c| c.private_zone()),
    })
}

/// The domain's parent, the zone an operator most likely has.
fn parent(domain: &str) -> &str {
    match domain.split_once('.') {
        Some((_, rest)) if rest.contains('.') => rest,
        _ => domain,
    }
}

/// Whether this zone can serve the domain: a public zone whose name is the domain or a
/// parent of it. The refusal says what to do.
pub fn check_zone(domain: &OwnDomain, zone: &Zone) -> Result<()> {
    if zone.private {
        return Err(Error::invalid(format!(
            "hosted zone {} ({}) is private: ACM validates and CloudFront's viewers resolve \
             through public DNS — give the id of the public zone for {}",
            zone.id, zone.name, domain.name
        )));
    }
    if !domain_in_zone(&domain.name, &zone.name) {
        return Err(Error::invalid(format!(
            "domain {} is not in hosted zone {} ({}): give a domain under {} or the id of the \
             zone that holds {} (`aws route53 list-hosted-zones-by-name --dns-name {}`)",
            domain.name,
            zone.id,
            zone.name,
            zone.name,
            domain.name,
            parent(&domain.name)
        )));
    }
    Ok(())
}

/// The stack's certificate of one role: certificates by the name, tagged for the stack
/// and the role. More than one is refused with their ARNs.
pub async fn find_certificate(
    acm: &aws_sdk_acm::Client,
    stack: &str,
    role: &'static str,
    name: &str,
) -> Result<Seen<Certificate>> {
    let summaries = acm
        .list_certificates()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut matches = Vec::new();
    for summary in summaries {
        let summary = summary.context(format!("list certificates for {name}"))?;
        let (Some(arn), Some(domain)) = (summary.certificate_arn(), summary.domain_name()) else {
            continue;
        };
        if canonical(domain) != name {
            continue;
        }
        let tags = acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .context(format!("read tags of certificate {arn}"));
        let Some(tags) = absent_if_not_found(tags)? else {
            continue;
        };
        let pairs: Vec<(&str, &str)> = tags
            .tags()
            .iter()
            .map(|t| (t.key(), t.value().unwrap_or_default()))
            .collect();
        let ours = tags::belongs_to(pairs.iter().copied(), stack);
        let this_role = pairs.iter().any(|(k, v)| *k == ROLE_TAG && *v == role);
        if !(ours && this_role) {
            continue;
        }
        if let Some(certificate) = describe_certificate(acm, arn).await? {
            matches.push(certificate);
        }
    }
    Ok(Seen::from_matches(matches))
}

/// One certificate's status and validation records; `None` when it is gone.
pub async fn describe_certificate(
    acm: &aws_sdk_acm::Client,
    arn: &str,
) -> Result<Option<Certificate>> {
    let described = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .context(format!("describe certificate {arn}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    let Some(detail) = described.certificate() else {
        return Ok(None);
    };
    let mut validation: Vec<ValidationRecord> = detail
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| ValidationRecord {
            name: canonical(r.name()),
            value: canonical(r.value()),
        })
        .collect();
    validation.sort();
    validation.dedup();
    Ok(Some(Certificate {
        arn: arn.to_string(),
        status: detail
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        validation,
        in_use_by: detail.in_use_by().to_vec(),
    }))
}

/// The record sets at `name` (any type), however Route 53 pages them.
pub async fn find_records(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    name: &str,
) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut start: Option<(String, aws_sdk_route53::types::RrType)> = None;
    loop {
        let mut request = route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .max_items(20);
        request = match &start {
            None => request.start_record_name(name),
            Some((n, t)) => request.start_record_name(n).start_record_type(t.clone()),
        };
        let page = request
            .send()
            .await
            .context(format!("list records of {name} in zone {zone_id}"))?;
        let mut past = false;
        for set in page.resource_record_sets() {
            if canonical(set.name()) != name {
                past = true;
                break;
            }
            records.push(record_of(set));
        }
        match (past, page.is_truncated(), page.next_record_name()) {
            (false, true, Some(next)) if canonical(next) == name => {
                let kind = page
                    .next_record_type()
                    .cloned()
                    .unwrap_or(aws_sdk_route53::types::RrType::A);
                start = Some((next.to_string(), kind));
            }
            _ => return Ok(records),
        }
    }
}

fn record_of(set: &ResourceRecordSet) -> Record {
    Record {
        name: canonical(set.name()),
        kind: set.r#type().as_str().to_string(),
        alias: set
            .alias_target()
            .map(|a| (canonical(a.dns_name()), a.hosted_zone_id().to_string())),
        values: set
            .resource_records()
            .iter()
            .map(|r| canonical(r.value()))
            .collect(),
        raw: set.clone(),
    }
}

/// Everything of the tier: the zone (refused when it cannot serve the domain), each
/// certificate, and the record sets at the stack's names and its certificates' validation
/// names.
pub async fn observe(clients: &Clients<'_>, spec: &Spec) -> Result<Found> {
    let zone = find_zone(clients.route53, &spec.domain).await?;
    let mut found = Found::default();
    let stack = spec.names.stack();
    let mut names = vec![spec.domain.name.clone(), spec.domain.origin_name()];
    for role in ROLES {
        let seen =
            find_certificate(clients.acm(role), stack, role, &spec.certificate_name(role)).await?;
        for certificate in seen.all() {
            names.extend(certificate.validation.iter().map(|v| v.name.clone()));
        }
        found.certificates.insert(role, seen);
    }
    names.sort();
    names.dedup();
    for name in names {
        for record in find_records(clients.route53, &zone.id, &name).await? {
            found
                .records
                .insert((record.name.clone(), record.kind.clone()), record);
        }
    }
    found.zone = Some(zone);
    Ok(found)
}

pub(crate) fn acm_tags(stack: &str, role: &str) -> Result<Vec<Tag>> {
    let mut pairs = tags::standard(stack, Tier::Domain);
    pairs.push((ROLE_TAG.to_string(), role.to_string()));
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::invalid(format!("certificate tag: {e}")))
        })
        .collect()
}

pub(crate) fn missing(what: &str) -> Error {
    Error::aws(
        ErrorClass::Other,
        "AWS Certificate Manager",
        format!("answered without {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{json_error, ok, query_error, Replay};

    resources::replayed_client!(acm, aws_sdk_acm);
    resources::replayed_client!(route53, aws_sdk_route53);

    const NAME: &str = "tasks.example.com";

    fn listed(certificates: &[(&str, &str)], next: Option<&str>) -> String {
        let summaries: Vec<String> = certificates
            .iter()
            .map(|(arn, domain)| format!(r#"{{"CertificateArn":"{arn}","DomainName":"{domain}"}}"#))
            .collect();
        let next = next.map_or(String::new(), |t| format!(r#","NextToken":"{t}""#));
        format!(
            r#"{{"CertificateSummaryList":[{}]{next}}}"#,
            summaries.join(",")
        )
    }

    fn tags(stack: &str, role: &str) -> String {
        format!(
            r#"{{"Tags":[{{"Key":"vikunja:stack","Value":"{stack}"}},{{"Key":"{ROLE_TAG}","Value":"{role}"}}]}}"#
        )
    }

    fn described(arn: &str, status: &str) -> String {
        format!(
            r#"{{"Certificate":{{"CertificateArn":"{arn}","DomainName":"{NAME}","Status":"{status}","DomainValidationOptions":[{{"DomainName":"{NAME}","ResourceRecord":{{"Name":"_a.{NAME}.","Type":"CNAME","Value":"_b.acm-validations.aws."}}}}],"InUseBy":[]}}}}"#
        )
    }

    fn arns(seen: &Seen<Certificate>) -> Vec<&str> {
        seen.all().iter().map(|c| c.arn.as_str()).collect()
    }

    #[tokio::test]
    async fn the_stacks_certificate_on_a_later_page_is_found() {
        let replay = Replay::new(vec![
            ok(
                "ListCertificates",
                listed(&[("arn:other", "other.example.com")], Some("page-2")),
            ),
            ok("ListCertificates", listed(&[("arn:site", NAME)], None)),
            ok("ListTagsForCertificate", tags("v", "site")),
            ok("DescribeCertificate", described("arn:site", "ISSUED")),
        ]);
        let seen = find_certificate(&acm(&replay), "v", "site", NAME)
            .await
            .unwrap();
        replay.assert_done();
        let found = seen.found().expect("found on the second page");
        assert_eq!(found.arn, "arn:site");
        assert_eq!(found.status, "ISSUED");
        assert_eq!(
            found.validation,
            vec![ValidationRecord {
                name: format!("_a.{NAME}"),
                value: "_b.acm-validations.aws".into(),
            }]
        );
    }

    #[tokio::test]
    async fn two_certificates_of_one_role_are_both_seen_and_others_are_not_ours() {
        let replay = Replay::new(vec![
            ok(
                "ListCertificates",
                listed(
                    &[
                        ("arn:one", NAME),
                        ("arn:foreign", NAME),
                        ("arn:origin", NAME),
                        ("arn:two", NAME),
                    ],
                    None,
                ),
            ),
            ok("ListTagsForCertificate", tags("v", "site")),
            ok("DescribeCertificate", described("arn:one", "ISSUED")),
            ok("ListTagsForCertificate", tags("another-stack", "site")),
            ok("ListTagsForCertificate", tags("v", "origin")),
            ok("ListTagsForCertificate", tags("v", "site")),
            ok(
                "DescribeCertificate",
                described("arn:two", "PENDING_VALIDATION"),
            ),
        ]);
        let seen = find_certificate(&acm(&replay), "v", "site", NAME)
            .await
            .unwrap();
        replay.assert_done();
        assert!(matches!(seen, Seen::Many(_)), "{seen:?}");
        assert_eq!(arns(&seen), ["arn:one", "arn:two"]);
        let refused = seen.at_most_one("site certificate").unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains("arn:one") && message.contains("arn:two"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_certificate_deleted_while_listed_is_absent_not_an_error() {
        // ACM's list is eventually consistent: a certificate `down` just deleted can still be
        // listed, then answer ResourceNotFoundException to the next call.
        let replay = Replay::new(vec![
            ok(
                "ListCertificates",
                listed(&[("arn:gone", NAME), ("arn:late", NAME)], None),
            ),
            json_error("ListTagsForCertificate", 400, "ResourceNotFoundException"),
            ok("ListTagsForCertificate", tags("v", "site")),
            json_error("DescribeCertificate", 400, "ResourceNotFoundException"),
        ]);
        let seen = find_certificate(&acm(&replay), "v", "site", NAME)
            .await
            .unwrap();
        replay.assert_done();
        assert!(matches!(seen, Seen::Absent), "{seen:?}");
    }

    #[tokio::test]
    async fn a_zone_this_account_does_not_have_is_refused_with_what_to_do() {
        let replay = Replay::new(vec![query_error(
            "GET /2013-04-01/hostedzone/Z1",
            404,
            "NoSuchHostedZone",
        )]);
        let domain = OwnDomain {
            name: NAME.into(),
            hosted_zone_id: "Z1".into(),
        };
        let refused = find_zone(&route53(&replay), &domain).await.unwrap_err();
        replay.assert_done();
        assert_eq!(refused.name(), "InvalidInput", "{refused:?}");
        let message = refused.to_string();
        assert!(
            message.contains("hostedZoneId Z1")
                && message.contains("list-hosted-zones-by-name --dns-name example.com"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn records_past_one_page_at_the_same_name_are_all_read() {
        let page = |sets: &str, next: Option<(&str, &str)>| {
            let more = match next {
                Some((name, kind)) => format!(
                    "<IsTruncated>true</IsTruncated><NextRecordName>{name}</NextRecordName><NextRecordType>{kind}</NextRecordType>"
                ),
                None => "<IsTruncated>false</IsTruncated>".into(),
            };
            format!(
                r#"<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ResourceRecordSets>{sets}</ResourceRecordSets>{more}<MaxItems>20</MaxItems></ListResourceRecordSetsResponse>"#
            )
        };
        let alias = |kind: &str| {
            format!(
                "<ResourceRecordSet><Name>{NAME}.</Name><Type>{kind}</Type><AliasTarget><HostedZoneId>{CLOUDFRONT_ZONE_ID}</HostedZoneId><DNSName>d1.cloudfront.net.</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>"
            )
        };
        let other = "<ResourceRecordSet><Name>z.example.com.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>";
        let list = "GET /2013-04-01/hostedzone/Z1/rrset";
        let replay = Replay::new(vec![
            ok(list, page(&alias("A"), Some((NAME, "AAAA")))),
            ok(list, page(&format!("{}{other}", alias("AAAA")), None)),
        ]);
        let records = find_records(&route53(&replay), "Z1", NAME).await.unwrap();
        replay.assert_done();
        let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["A", "AAAA"], "the next name's records are not ours");
        assert!(records
            .iter()
            .all(|r| r.alias == Some(("d1.cloudfront.net".into(), CLOUDFRONT_ZONE_ID.into()))));
        let second = &replay.bodies(list)[1];
        assert!(
            second.contains("type=AAAA"),
            "the second page starts where the first ended: {second}"
        );
    }
}
