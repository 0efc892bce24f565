//! Carries a domain plan out. A certificate request repeats its idempotency token, so a
//! request answered 500 after it took effect is the same certificate on the retry (ACM
//! keeps a token for an hour; after that the finder, by tag, has it). Record changes are
//! UPSERTs, which are idempotent; a delete of a record that is gone succeeds.

use aws_sdk_acm::types::ValidationMethod;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use sha2::{Digest, Sha256};
use tracing::info;

use vikunja_core::{DomainOutputs, Error, ErrorClass, Result, SdkContext};

use super::diff::{diff, Op, Spec};
use super::{acm_tags, describe_certificate, missing, observe, Clients, Found, ROLES};
use resources::plan::Operation;

/// Observe, diff, stop if the plan says `up` stops, else apply.
pub async fn ensure(clients: &Clients<'_>, spec: &Spec) -> Result<DomainOutputs> {
    let found = observe(clients, spec).await?;
    let plan = diff(spec, &found);
    apply(clients, spec, found, &plan.runnable()?.ops).await
}

/// ACM's idempotency token for one certificate of a stack: at most 32 word characters,
/// the same for every attempt at the same certificate.
pub fn request_token(stack: &str, role: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{stack}/{role}/{name}").as_bytes());
    hex::encode(digest)[..32].to_string()
}

pub async fn apply(
    clients: &Clients<'_>,
    spec: &Spec,
    found: Found,
    ops: &[Op],
) -> Result<DomainOutputs> {
    let mut arns: Vec<(&'static str, String)> = ROLES
        .into_iter()
        .filter_map(|r| Some((r, found.certificate(r)?.arn.clone())))
        .collect();
    let arn_of = |arns: &[(&str, String)], role: &str| {
        arns.iter()
            .find(|(r, _)| *r == role)
            .map(|(_, a)| a.clone())
            .ok_or_else(|| missing(&format!("the {role} certificate the plan needs")))
    };
    let mut changes = Vec::new();
    let mut records = Vec::new();
    for op in ops {
        match op {
            Op::RequestCertificate { role } => {
                let arn = request_certificate(clients, spec, role).await?;
                arns.push((role, arn));
            }
            Op::UpsertValidation { role } => {
                let arn = arn_of(&arns, role)?;
                upsert_validation(clients, spec, role, &arn).await?;
            }
            Op::UpsertAlias {
                name,
                kind,
                target,
                zone,
            } => {
                let set = ResourceRecordSet::builder()
                    .name(name)
                    .r#type(RrType::from(*kind))
                    .alias_target(built(
                        AliasTarget::builder()
                            .dns_name(target)
                            .hosted_zone_id(zone)
                            .evaluate_target_health(false)
                            .build(),
                    )?)
                    .build();
                change(clients, spec, ChangeAction::Upsert, built(set)?).await?;
            }
            delete_op => delete(clients, spec, delete_op).await?,
        }
        let change = op.describe(spec);
        info!(stack = spec.names.stack(), change, "applied");
        changes.push(change);
    }
    for (name, kind, _, _) in spec.aliases() {
        records.push(format!("{name} {kind}"));
    }
    let site = arn_of(&arns, "site").ok();
    let origin = arn_of(&arns, "origin").ok();
    Ok(DomainOutputs {
        domain: Some(spec.domain.name.clone()),
        hosted_zone_id: Some(spec.domain.hosted_zone_id.clone()),
        origin_name: Some(spec.domain.origin_name()),
        site_certificate_arn: site,
        origin_certificate_arn: origin,
        site_certificate_status: None,
        origin_certificate_status: None,
        issued: false,
        waiting_since: 0,
        records,
        changes,
    })
}

fn built<T>(value: std::result::Result<T, aws_sdk_route53::error::BuildError>) -> Result<T> {
    value.map_err(|e| Error::invalid(format!("record change: {e}")))
}

async fn request_certificate(clients: &Clients<'_>, spec: &Spec, role: &str) -> Result<String> {
    let name = spec.certificate_name(role);
    let requested = clients
        .acm(role)
        .request_certificate()
        .domain_name(&name)
        .validation_method(ValidationMethod::Dns)
        .idempotency_token(request_token(spec.names.stack(), role, &name))
        .set_tags(Some(acm_tags(spec.names.stack(), role)?))
        .send()
        .await
        .context(format!(
            "request certificate for {name} in {}",
            spec.region_of(role)
        ))?;
    Ok(requested
        .certificate_arn()
        .ok_or_else(|| missing("the new certificate's ARN"))?
        .to_string())
}

/// Writes the validation CNAMEs ACM names for the certificate (UPSERT: the same record
/// again is no change). Returns how many it wrote: none while ACM has not said yet.
pub async fn upsert_validation(
    clients: &Clients<'_>,
    spec: &Spec,
    role: &str,
    arn: &str,
) -> Result<usize> {
    let Some(certificate) = describe_certificate(clients.acm(role), arn).await? else {
        return Err(Error::aws(
            ErrorClass::NotFound,
            format!("certificate {arn}"),
            "is gone: run up again to request a new one",
        ));
    };
    for record in &certificate.validation {
        let set = ResourceRecordSet::builder()
            .name(&record.name)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(built(
                ResourceRecord::builder().value(&record.value).build(),
            )?)
            .build();
        change(clients, spec, ChangeAction::Upsert, built(set)?).await?;
    }
    Ok(certificate.validation.len())
}

/// Each certificate's ARN and status, writing its validation records again while it is
/// pending (ACM may name them only after the request answered).
pub async fn statuses(
    clients: &Clients<'_>,
    spec: &Spec,
    arns: &[(&'static str, String)],
) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for (role, arn) in arns {
        let Some(certificate) = describe_certificate(clients.acm(role), arn).await? else {
            return Err(Error::invalid(format!(
                "the {role} certificate {arn} is gone: run up again to request a new one"
            )));
        };
        if certificate.status == "PENDING_VALIDATION" {
            upsert_validation(clients, spec, role, arn).await?;
        }
        out.push((*role, certificate.status));
    }
    Ok(out)
}

async fn change(
    clients: &Clients<'_>,
    spec: &Spec,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<()> {
    let zone = &spec.domain.hosted_zone_id;
    let what = format!(
        "{} {} {}",
        action.as_str(),
        set.name(),
        set.r#type().as_str()
    );
    let batch = built(
        ChangeBatch::builder()
            .changes(built(
                Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build(),
            )?)
            .build(),
    )?;
    clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .context(format!("{what} in zone {zone}"))?;
    Ok(())
}

/// One of `down`'s operations: what is already gone is deleted. A certificate CloudFront
/// or the load balancer still holds answers InUse, which the workflow waits out.
pub async fn delete(clients: &Clients<'_>, spec: &Spec, op: &Op) -> Result<()> {
    let deleted = match op {
        Op::DeleteRecord { record } => {
            change(clients, spec, ChangeAction::Delete, record.raw.clone()).await
        }
        Op::DeleteCertificate { role, arn } => clients
            .acm(role)
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map(|_| ())
            .context(format!("delete certificate {arn}")),
        other => return Err(Error::conflict(format!("{other:?} is not a delete"))),
    };
    match deleted {
        Err(e) if e.is(ErrorClass::NotFound) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{json_error, ok, Replay};
    use vikunja_core::settings::OwnDomain;
    use vikunja_core::Names;

    resources::replayed_client!(acm, aws_sdk_acm);
    resources::replayed_client!(route53, aws_sdk_route53);

    fn spec() -> Spec {
        Spec {
            names: Names::new("v"),
            domain: OwnDomain {
                name: "tasks.example.com".into(),
                hosted_zone_id: "Z1".into(),
            },
            region: "eu-west-1".into(),
            targets: None,
        }
    }

    async fn applied(replay: &Replay, ops: &[Op]) -> Result<DomainOutputs> {
        let (acm, route53) = (acm(replay), route53(&Replay::new(vec![])));
        let clients = Clients {
            site_acm: &acm,
            origin_acm: &acm,
            route53: &route53,
        };
        apply(&clients, &spec(), Found::default(), ops).await
    }

    #[tokio::test]
    async fn a_request_answered_500_after_it_took_effect_is_retried_as_the_same_certificate() {
        // ACM answers a repeated idempotency token with the certificate the first attempt
        // made: the retry must carry the very token the first attempt did.
        let replay = Replay::new(vec![
            json_error("RequestCertificate", 500, "InternalFailure"),
            ok("RequestCertificate", r#"{"CertificateArn":"arn:acm:site"}"#),
        ]);
        let outputs = applied(&replay, &[Op::RequestCertificate { role: "site" }])
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(
            outputs.site_certificate_arn.as_deref(),
            Some("arn:acm:site")
        );
        let token = request_token("v", "site", "tasks.example.com");
        let bodies = replay.bodies("RequestCertificate");
        assert_eq!(bodies.len(), 2);
        for body in &bodies {
            assert!(
                body.contains(&format!(r#""IdempotencyToken":"{token}""#)),
                "{body}"
            );
        }
        assert_eq!(token.len(), 32);
        assert_ne!(
            token,
            request_token("v", "origin", "origin.tasks.example.com")
        );
    }

    async fn delete_answered(code: &str) -> Result<()> {
        let replay = Replay::new(vec![json_error("DeleteCertificate", 400, code)]);
        let (acm, route53) = (acm(&replay), route53(&Replay::new(vec![])));
        let clients = Clients {
            site_acm: &acm,
            origin_acm: &acm,
            route53: &route53,
        };
        let op = Op::DeleteCertificate {
            role: "site",
            arn: "arn:acm:site".into(),
        };
        let deleted = delete(&clients, &spec(), &op).await;
        replay.assert_done();
        deleted
    }

    #[tokio::test]
    async fn a_certificate_already_gone_is_deleted_and_one_in_use_is_a_wait() {
        delete_answered("ResourceNotFoundException")
            .await
            .expect("gone is deleted");
        let in_use = delete_answered("ResourceInUseException").await.unwrap_err();
        assert!(in_use.is(ErrorClass::InUse), "{in_use:?}");
        assert!(in_use.to_string().contains("arn:acm:site"), "{in_use}");
    }
}
