//! The operator's own domain on the local AWS stack: with `domain` and `hostedZoneId`, `up`
//! makes both ACM certificates (DNS-validated in the zone: the local stack issues one only
//! once its validation record is there), CloudFront serves the domain with its certificate
//! and reaches the API origin over TLS under `origin.<domain>`, the production listener is
//! TLS, and the alias records point at the distribution and the load balancer; `plan`
//! after `up` has nothing to do and `down` leaves nothing of it. A domain outside the zone,
//! or a zone this account does not have, is refused before anything is made.
//!
//! Local-stack gap: the data plane's listeners speak plain TCP whatever the listener's
//! protocol, so what this shows of TLS is configuration, not a handshake.

use serde_json::json;
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::{plan, Output};
use vikunja_core::Settings;
use vikunja_tests::census::tagged;
use vikunja_tests::Harness;

/// Every record set of the zone, as "name type target".
async fn records(h: &Harness, zone: &str) -> Vec<String> {
    let listed = h
        .clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    listed
        .resource_record_sets()
        .iter()
        .map(|r| {
            let target = match r.alias_target() {
                Some(a) => format!(
                    "alias {} {}",
                    a.dns_name().trim_end_matches('.'),
                    a.hosted_zone_id()
                ),
                None => r
                    .resource_records()
                    .iter()
                    .map(|v| v.value().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            format!(
                "{} {} {target}",
                r.name().trim_end_matches('.'),
                r.r#type().as_str()
            )
        })
        .collect()
}

async fn certificate(acm: &aws_sdk_acm::Client, arn: &str) -> (String, String) {
    let described = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .unwrap();
    let c = described.certificate().unwrap();
    (
        c.domain_name().unwrap().to_string(),
        c.status().unwrap().as_str().to_string(),
    )
}

fn settings(stack: &str, extra: serde_json::Value) -> Settings {
    let mut value = json!({"stack": stack, "pollSeconds": 1});
    value
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_own_domain_is_served_with_tls_end_to_end_and_down_removes_it() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("dom");
    let apex = format!("{stack}.example.test");
    let domain = format!("tasks.{apex}");
    let origin = format!("origin.{domain}");
    let zone_id = h.hosted_zone(&format!("{apex}.")).await;
    h.bootstrap(&stack).await.expect("bootstrap");
    let overrides = json!({"domain": domain, "hostedZoneId": zone_id, "pollSeconds": 1});
    let outputs = h.provision(&stack, overrides.clone()).await.expect("up");
    assert_eq!(outputs["frontendUrl"], format!("https://{domain}"));
    assert_eq!(outputs["domain"], domain.as_str());

    // The distribution: the alias, the certificate, SNI, TLS 1.2, the origin over TLS.
    let id = outputs["distributionId"].as_str().unwrap();
    let config = h
        .clients
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    let config = config.distribution_config().unwrap();
    assert_eq!(
        config.aliases().unwrap().items(),
        std::slice::from_ref(&domain)
    );
    let viewer = config.viewer_certificate().unwrap();
    let site_arn = viewer
        .acm_certificate_arn()
        .expect("an ACM certificate")
        .to_string();
    assert_eq!(viewer.ssl_support_method().unwrap().as_str(), "sni-only");
    assert_eq!(
        viewer.minimum_protocol_version().unwrap().as_str(),
        "TLSv1.2_2021"
    );
    let api = config
        .origins()
        .unwrap()
        .items()
        .iter()
        .find(|o| o.id() == "api")
        .unwrap();
    assert_eq!(api.domain_name(), origin);
    let custom = api.custom_origin_config().unwrap();
    assert_eq!(custom.origin_protocol_policy().as_str(), "https-only");
    assert_eq!(custom.https_port(), 443);

    // The site certificate in us-east-1, issued; the origin one in the stack's region.
    assert!(site_arn.contains(":us-east-1:"), "{site_arn}");
    assert_eq!(
        certificate(&h.clients.acm_us_east_1, &site_arn).await,
        (domain.clone(), "ISSUED".to_string())
    );

    // The production listener: TLS on 443 with the origin certificate, TLS 1.2+.
    let lb = &h
        .clients
        .elb
        .describe_load_balancers()
        .names(format!("{stack}-nlb"))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    let listeners = h
        .clients
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let prod = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(443))
        .expect("a listener on 443");
    assert_eq!(prod.protocol().unwrap().as_str(), "TLS");
    assert_eq!(
        prod.ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );
    let origin_arn = prod.certificates()[0]
        .certificate_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        certificate(&h.clients.acm, &origin_arn).await,
        (origin.clone(), "ISSUED".to_string())
    );
    assert!(
        listeners.listeners().iter().all(|l| l.port() != Some(80)),
        "no plain production listener"
    );

    // The records: aliases to the distribution and the load balancer, both validation CNAMEs.
    let dist = h
        .clients
        .cloudfront
        .get_distribution()
        .id(id)
        .send()
        .await
        .unwrap();
    let dist_domain = dist.distribution().unwrap().domain_name().to_string();
    let zone_records = records(&h, &zone_id).await;
    for want in [
        format!("{domain} A alias {dist_domain} Z2FDTNDATAQYW2"),
        format!("{domain} AAAA alias {dist_domain} Z2FDTNDATAQYW2"),
        format!(
            "{origin} A alias {} {}",
            lb.dns_name().unwrap(),
            lb.canonical_hosted_zone_id().unwrap()
        ),
    ] {
        assert!(
            zone_records.contains(&want),
            "{want} not in {zone_records:#?}"
        );
    }
    let validation = zone_records
        .iter()
        .filter(|r| r.contains(" CNAME "))
        .count();
    assert_eq!(validation, 2, "{zone_records:#?}");

    // plan after up: nothing to do.
    let settings = settings(&stack, overrides);
    let planned = plan::plan(&h.aws, &settings).await.expect("plan");
    let changing: Vec<String> = planned
        .items()
        .filter(|(_, i)| i.action != vikunja_aws::plan::Action::Keep)
        .map(|(tier, i)| format!("{tier} {} {} {:?}", i.kind, i.name, i.differences))
        .collect();
    assert!(changing.is_empty(), "{changing:#?}");

    // down: records and certificates gone with the rest.
    let report = down::down(
        &h.aws,
        &stack,
        &DownOptions {
            delete_data: true,
            ..DownOptions::default()
        },
        Output::Json,
        &mut |_| Ok(true),
    )
    .await
    .expect("down");
    assert!(report.complete, "{:#?}", vikunja_tests::failures(&report));
    let left = records(&h, &zone_id).await;
    assert!(
        left.iter()
            .all(|r| r.contains(" NS ") || r.contains(" SOA ")),
        "{left:#?}"
    );
    let census = tagged(&h, &stack).await;
    assert!(
        census.iter().all(|c| !c.starts_with("certificate ")),
        "{census:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_outside_its_zone_or_a_zone_not_in_the_account_is_refused_before_anything_is_made()
{
    let h = Harness::new().await;
    let stack = Harness::unique_stack("dombad");
    let apex = format!("{stack}.example.test");
    let zone_id = h.hosted_zone(&format!("{apex}.")).await;
    h.bootstrap(&stack).await.expect("bootstrap");
    let before = tagged(&h, &stack).await;

    let outside = h
        .provision(
            &stack,
            json!({"domain": "tasks.elsewhere.test", "hostedZoneId": zone_id}),
        )
        .await
        .unwrap_err();
    let message = format!("{outside:#}");
    assert!(
        message.contains(&format!(
            "domain tasks.elsewhere.test is not in hosted zone {zone_id} ({apex})"
        )),
        "{message}"
    );
    assert_eq!(tagged(&h, &stack).await, before, "nothing made");

    let missing = h
        .provision(
            &stack,
            json!({"domain": format!("tasks.{apex}"), "hostedZoneId": "Z0000000000NOSUCHZONE"}),
        )
        .await
        .unwrap_err();
    let message = format!("{missing:#}");
    assert!(
        message.contains(
            "hostedZoneId Z0000000000NOSUCHZONE: this account has no such Route 53 hosted zone"
        ),
        "{message}"
    );
    assert_eq!(tagged(&h, &stack).await, before, "nothing made");
}
