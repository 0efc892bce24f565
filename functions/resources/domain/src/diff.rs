//! Spec + findings → the plan `vikunja-aws plan` prints and the operations `up` carries
//! out; the findings against nothing → what `down` deletes. Pure: unit-tested with made-up
//! findings.

use vikunja_core::settings::OwnDomain;
use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::Names;

use super::{check_zone, Found, Record, CLOUDFRONT_REGION, CLOUDFRONT_ZONE_ID, ROLES};
use resources::plan::{create, Check, How, Operation};

/// What the alias records point at, once the distribution and the load balancer exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    pub distribution_domain: String,
    pub load_balancer_dns: String,
    /// The load balancer's canonical hosted zone (its region's ELB zone).
    pub load_balancer_zone: String,
}

/// What `up` wants of the tier.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub domain: OwnDomain,
    /// The stack's region, where the origin certificate lives.
    pub region: String,
    /// `None` before the frontend exists: certificates only, no alias records yet.
    pub targets: Option<Targets>,
}

impl Spec {
    /// The name each certificate is for: the domain (CloudFront's viewers) or the origin
    /// name (the load balancer, as CloudFront checks it).
    pub fn certificate_name(&self, role: &str) -> String {
        if role == "site" {
            self.domain.name.clone()
        } else {
            self.domain.origin_name()
        }
    }

    pub fn region_of(&self, role: &str) -> &str {
        if role == "site" {
            CLOUDFRONT_REGION
        } else {
            &self.region
        }
    }

    /// The alias records: the domain (IPv4 and IPv6: the distribution has both) to the
    /// distribution, the origin name to the load balancer (IPv4 only, as it is made).
    pub fn aliases(&self) -> Vec<(String, &'static str, String, String)> {
        let Some(t) = &self.targets else {
            return Vec::new();
        };
        let site = |kind| {
            (
                self.domain.name.clone(),
                kind,
                super::canonical(&t.distribution_domain),
                CLOUDFRONT_ZONE_ID.to_string(),
            )
        };
        vec![
            site("A"),
            site("AAAA"),
            (
                self.domain.origin_name(),
                "A",
                super::canonical(&t.load_balancer_dns),
                t.load_balancer_zone.clone(),
            ),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// DNS-validated, tagged, with the stack's idempotency token.
    RequestCertificate {
        role: &'static str,
    },
    /// UPSERT the CNAME ACM asks for (idempotent); nothing yet while ACM has not said it.
    UpsertValidation {
        role: &'static str,
    },
    UpsertAlias {
        name: String,
        kind: &'static str,
        target: String,
        zone: String,
    },
    DeleteRecord {
        record: Box<Record>,
    },
    DeleteCertificate {
        role: &'static str,
        arn: String,
    },
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        match self {
            Op::RequestCertificate { role } => format!(
                "request ACM certificate for {} in {} (DNS validation in zone {})",
                spec.certificate_name(role),
                spec.region_of(role),
                spec.domain.hosted_zone_id
            ),
            Op::UpsertValidation { role } => format!(
                "write the validation record of the certificate for {} in zone {}",
                spec.certificate_name(role),
                spec.domain.hosted_zone_id
            ),
            Op::UpsertAlias {
                name, kind, target, ..
            } => format!("point {name} ({kind} alias) at {target}"),
            Op::DeleteRecord { record } => {
                format!("delete record {} ({})", record.name, record.kind)
            }
            Op::DeleteCertificate { role, arn } => format!(
                "delete the certificate for {} ({arn})",
                spec.certificate_name(role)
            ),
        }
    }
}

pub type Plan = resources::plan::Plan<Op>;

pub fn diff(spec: &Spec, found: &Found) -> Plan {
    let mut plan = Plan::default();
    let domain = &spec.domain;
    match &found.zone {
        Some(zone) => {
            let mut check = Check::existing("hosted-zone", &zone.name, &zone.id);
            let fit = check_zone(domain, zone);
            check.compare(
                format!("serves {}", domain.name),
                if fit.is_ok() { "yes" } else { "no" },
                "yes",
                How::UpStops,
                fit.err().map(|e| e.to_string()),
            );
            plan.push(check.done(), vec![], spec);
        }
        None => {
            let mut check = Check::existing("hosted-zone", &domain.hosted_zone_id, "");
            check.compare(
                "exists in this account",
                "no",
                "yes",
                How::UpStops,
                Some("give the id of this account's public zone that holds the domain".into()),
            );
            plan.push(check.done(), vec![], spec);
        }
    }
    for role in ROLES {
        let name = spec.certificate_name(role);
        let seen = found.certificates.get(role);
        let all = seen.map(|s| s.all()).unwrap_or_default();
        match all.as_slice() {
            [] => plan.push(
                create(
                    "certificate",
                    &name,
                    Some(format!("ACM, {}, DNS-validated", spec.region_of(role))),
                ),
                vec![
                    Op::RequestCertificate { role },
                    Op::UpsertValidation { role },
                ],
                spec,
            ),
            [certificate] => {
                let mut check = Check::existing("certificate", &name, &certificate.arn);
                check.note(format!("status {}", certificate.status));
                let mut ops = Vec::new();
                let before = check.item.differences.len();
                for v in &certificate.validation {
                    let have = found
                        .records
                        .get(&(v.name.clone(), "CNAME".into()))
                        .map(|r| r.values.join(", "))
                        .unwrap_or_else(|| "none".into());
                    check.compare(
                        format!("validation record {}", v.name),
                        have,
                        &v.value,
                        How::InPlace,
                        None,
                    );
                }
                if check.item.differences.len() > before {
                    ops.push(Op::UpsertValidation { role });
                }
                plan.push(check.done(), ops, spec);
            }
            many => {
                let arns: Vec<&str> = many.iter().map(|c| c.arn.as_str()).collect();
                let mut check = Check::existing("certificate", &name, "");
                check.compare(
                    "certificates tagged for the stack",
                    many.len(),
                    1,
                    How::UpStops,
                    Some(format!(
                        "delete or untag all but one of {}",
                        arns.join(", ")
                    )),
                );
                plan.push(check.done(), vec![], spec);
            }
        }
    }
    for (name, kind, target, zone) in spec.aliases() {
        let item_name = format!("{name} {kind}");
        let op = Op::UpsertAlias {
            name: name.clone(),
            kind,
            target: target.clone(),
            zone: zone.clone(),
        };
        match found.records.get(&(name.clone(), kind.to_string())) {
            None => plan.push(
                create("record", &item_name, Some(format!("alias to {target}"))),
                vec![op],
                spec,
            ),
            Some(record) => {
                let mut check = Check::existing("record", &item_name, "");
                let have = record
                    .alias
                    .as_ref()
                    .map(|(dns, zone)| format!("alias {dns} in {zone}"))
                    .unwrap_or_else(|| format!("plain {}", record.values.join(", ")));
                let want = format!("alias {target} in {zone}");
                let differs = have != want;
                check.compare("target", have, want, How::InPlace, None);
                plan.push(check.done(), if differs { vec![op] } else { vec![] }, spec);
            }
        }
    }
    plan
}

/// What `down` deletes: alias records at the stack's two names, the validation records the
/// stack's certificates name (their values as ACM gave them), then the certificates. A
/// plain record at the stack's names is someone's own: kept and said so.
pub fn retire(spec: &Spec, found: &Found) -> (PlannedTier, Vec<Op>) {
    let mut tier = PlannedTier {
        tier: "domain".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    let names = [spec.domain.name.clone(), spec.domain.origin_name()];
    // Every certificate of the stack's, by role: their validation records are ours too.
    let certificates: Vec<_> = ROLES
        .into_iter()
        .flat_map(|role| {
            let all = found.certificates.get(role).map(|s| s.all());
            all.unwrap_or_default().into_iter().map(move |c| (role, c))
        })
        .collect();
    let validation: Vec<_> = certificates
        .iter()
        .flat_map(|(_, c)| c.validation.iter().cloned())
        .collect();
    for record in found.records.values() {
        let ours = if names.contains(&record.name) {
            record.alias.is_some() && ["A", "AAAA"].contains(&record.kind.as_str())
        } else {
            record.kind == "CNAME"
                && validation
                    .iter()
                    .any(|v| v.name == record.name && record.values == [v.value.clone()])
        };
        let id = format!("{} {}", record.name, record.kind);
        if ours {
            tier.delete.push(Resource {
                kind: "record".into(),
                id,
            });
            ops.push(Op::DeleteRecord {
                record: Box::new(record.clone()),
            });
        } else {
            tier.keep.push(Kept {
                kind: "record".into(),
                id,
                reason: "not an alias record vikunja-aws makes: never touched".into(),
            });
        }
    }
    for (role, certificate) in certificates {
        tier.delete.push(Resource {
            kind: "certificate".into(),
            id: certificate.arn.clone(),
        });
        ops.push(Op::DeleteCertificate {
            role,
            arn: certificate.arn.clone(),
        });
    }
    (tier, ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Certificate, ValidationRecord, Zone};
    use aws_sdk_route53::types::{AliasTarget, ResourceRecord, ResourceRecordSet, RrType};
    use resources::plan::Action;
    use resources::Seen;

    fn spec(targets: bool) -> Spec {
        Spec {
            names: Names::new("v"),
            domain: OwnDomain {
                name: "tasks.example.com".into(),
                hosted_zone_id: "Z1".into(),
            },
            region: "eu-west-1".into(),
            targets: targets.then(|| Targets {
                distribution_domain: "d1.cloudfront.net".into(),
                load_balancer_dns: "v-nlb-1.elb.eu-west-1.amazonaws.com".into(),
                load_balancer_zone: "Z32O12XQLNTSW2".into(),
            }),
        }
    }

    fn zone(name: &str) -> Zone {
        Zone {
            id: "Z1".into(),
            name: name.into(),
            private: false,
        }
    }

    fn certificate(role: &str) -> Certificate {
        Certificate {
            arn: format!("arn:acm:{role}"),
            status: "ISSUED".into(),
            validation: vec![ValidationRecord {
                name: format!("_{role}.tasks.example.com"),
                value: format!("_{role}.acm-validations.aws"),
            }],
            in_use_by: vec![],
        }
    }

    fn record(name: &str, kind: &str, alias: Option<(&str, &str)>, values: &[&str]) -> Record {
        let mut raw = ResourceRecordSet::builder()
            .name(format!("{name}."))
            .r#type(RrType::from(kind));
        if let Some((dns, zone)) = alias {
            raw = raw.alias_target(
                AliasTarget::builder()
                    .dns_name(dns)
                    .hosted_zone_id(zone)
                    .evaluate_target_health(false)
                    .build()
                    .unwrap(),
            );
        }
        for v in values {
            raw = raw.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
        }
        Record {
            name: name.into(),
            kind: kind.into(),
            alias: alias.map(|(d, z)| (d.into(), z.into())),
            values: values.iter().map(|v| v.to_string()).collect(),
            raw: raw.build().unwrap(),
        }
    }

    /// The tier as `up` leaves it.
    fn converged() -> Found {
        let mut found = Found {
            zone: Some(zone("example.com")),
            ..Found::default()
        };
        for role in ROLES {
            let c = certificate(role);
            let v = &c.validation[0];
            found.records.insert(
                (v.name.clone(), "CNAME".into()),
                record(&v.name, "CNAME", None, &[&v.value]),
            );
            found.certificates.insert(role, Seen::Found(c));
        }
        for (name, kind, target, zone) in spec(true).aliases() {
            found.records.insert(
                (name.clone(), kind.into()),
                record(&name, kind, Some((&target, &zone)), &[]),
            );
        }
        found
    }

    #[test]
    fn the_certificates_are_for_the_domain_in_us_east_1_and_the_origin_in_the_region() {
        let spec = spec(false);
        assert_eq!(spec.certificate_name("site"), "tasks.example.com");
        assert_eq!(spec.region_of("site"), "us-east-1");
        assert_eq!(spec.certificate_name("origin"), "origin.tasks.example.com");
        assert_eq!(spec.region_of("origin"), "eu-west-1");
        assert!(
            spec.aliases().is_empty(),
            "no records before the targets exist"
        );
    }

    #[test]
    fn a_fresh_domain_plans_both_certificates_and_their_validation() {
        let found = Found {
            zone: Some(zone("example.com")),
            ..Found::default()
        };
        let plan = diff(&spec(false), &found);
        assert_eq!(
            plan.ops,
            vec![
                Op::RequestCertificate { role: "site" },
                Op::UpsertValidation { role: "site" },
                Op::RequestCertificate { role: "origin" },
                Op::UpsertValidation { role: "origin" },
            ]
        );
        assert_eq!(plan.stop(), None);
        assert!(
            plan.items[1].actions[0].contains("in us-east-1"),
            "{:?}",
            plan.items[1]
        );
    }

    #[test]
    fn the_aliases_point_the_domain_at_the_distribution_and_the_origin_at_the_nlb() {
        let mut found = converged();
        found.records.retain(|(_, kind), _| kind == "CNAME");
        let plan = diff(&spec(true), &found);
        let aliases: Vec<String> = plan
            .ops
            .iter()
            .map(|op| match op {
                Op::UpsertAlias {
                    name,
                    kind,
                    target,
                    zone,
                } => format!("{name} {kind} {target} {zone}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            aliases,
            [
                "tasks.example.com A d1.cloudfront.net Z2FDTNDATAQYW2",
                "tasks.example.com AAAA d1.cloudfront.net Z2FDTNDATAQYW2",
                "origin.tasks.example.com A v-nlb-1.elb.eu-west-1.amazonaws.com Z32O12XQLNTSW2",
            ]
        );
    }

    #[test]
    fn a_converged_domain_plans_nothing() {
        let plan = diff(&spec(true), &converged());
        assert_eq!(plan.ops, vec![]);
        assert!(
            plan.items.iter().all(|i| i.action == Action::Keep),
            "{:#?}",
            plan.items
        );
    }

    #[test]
    fn a_domain_outside_the_zone_stops_up_with_what_to_do() {
        let mut found = converged();
        found.zone = Some(zone("example.org"));
        let stop = diff(&spec(false), &found).stop().expect("up stops");
        assert!(
            stop.contains("domain tasks.example.com is not in hosted zone Z1 (example.org)"),
            "{stop}"
        );
        let mut private = zone("example.com");
        private.private = true;
        found.zone = Some(private);
        let stop = diff(&spec(false), &found).stop().expect("up stops");
        assert!(stop.contains("is private"), "{stop}");
    }

    #[test]
    fn two_certificates_tagged_for_one_role_stop_up_naming_both() {
        let mut found = converged();
        let mut other = certificate("site");
        other.arn = "arn:acm:site-2".into();
        found
            .certificates
            .insert("site", Seen::Many(vec![certificate("site"), other]));
        let stop = diff(&spec(true), &found).stop().expect("up stops");
        assert!(stop.contains("arn:acm:site, arn:acm:site-2"), "{stop}");
    }

    #[test]
    fn a_missing_or_changed_validation_record_is_written_again() {
        let mut found = converged();
        found
            .records
            .remove(&("_origin.tasks.example.com".into(), "CNAME".into()));
        let plan = diff(&spec(true), &found);
        assert_eq!(plan.ops, vec![Op::UpsertValidation { role: "origin" }]);
        assert_eq!(plan.items[2].action, Action::Change);
    }

    #[test]
    fn down_deletes_the_stacks_records_then_certificates_and_keeps_plain_records() {
        let mut found = converged();
        found.records.insert(
            ("origin.tasks.example.com".into(), "TXT".into()),
            record("origin.tasks.example.com", "TXT", None, &["\"mine\""]),
        );
        let (tier, ops) = retire(&spec(false), &found);
        let deleted: Vec<String> = tier.delete.iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            deleted,
            [
                "_origin.tasks.example.com CNAME",
                "_site.tasks.example.com CNAME",
                "origin.tasks.example.com A",
                "tasks.example.com A",
                "tasks.example.com AAAA",
                "arn:acm:site",
                "arn:acm:origin",
            ]
        );
        assert_eq!(tier.keep.len(), 1);
        assert_eq!(tier.keep[0].id, "origin.tasks.example.com TXT");
        assert!(matches!(
            ops.last(),
            Some(Op::DeleteCertificate { role: "origin", .. })
        ));
    }
}
