//! What `up` builds the frontend from: the distribution's configuration, the site bucket's
//! policy, the SPA-fallback function's code. Pure: `plan` compares the same values.

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomOriginConfig,
    DefaultCacheBehavior, DistributionConfig, EventType, FunctionAssociation, FunctionAssociations,
    HttpVersion, Method, MinimumProtocolVersion, OriginProtocolPolicy, OriginSslProtocols,
    PriceClass, S3OriginConfig, SslProtocol, SslSupportMethod, ViewerCertificate,
    ViewerProtocolPolicy,
};
use serde_json::json;
use vikunja_core::error::built;
use vikunja_core::{Names, Result};

/// AWS managed cache and origin-request policies (the same ids in every account).
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
pub const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

pub const SITE_ORIGIN: &str = "site";
pub const API_ORIGIN: &str = "api";
pub const API_PATH: &str = "/api/*";

/// Viewer-request function on the default behaviour only: a path without a file extension
/// is an app route and gets the app shell. `/api/*` never runs it, so an API 404 stays a 404.
pub const SPA_FALLBACK_JS: &str = include_str!("spa_fallback.js");

pub struct Origins {
    pub site_domain: String,
    /// The load balancer's DNS name, or with an own domain its origin name (the name its
    /// TLS certificate is for, which CloudFront checks).
    pub api_domain: String,
    pub origin_access_control_id: String,
    pub spa_function_arn: String,
    /// With an own domain: the name viewers use and its certificate.
    pub viewer: Option<Viewer>,
}

/// The operator's own domain as CloudFront serves it: an alias, and the ACM certificate
/// (us-east-1) for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub domain: String,
    pub certificate_arn: String,
}

/// The API origin's port and protocol: TLS to the load balancer's 443 listener with an
/// own domain (the certificate names the origin), plain HTTP to :80 without one.
fn api_protocol(origins: &Origins) -> OriginProtocolPolicy {
    if origins.viewer.is_some() {
        OriginProtocolPolicy::HttpsOnly
    } else {
        OriginProtocolPolicy::HttpOnly
    }
}

/// The bucket's regional endpoint, the origin domain CloudFront signs requests for.
pub fn regional_domain(bucket: &str, region: &str) -> String {
    format!("{bucket}.s3.{region}.amazonaws.com")
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

fn methods(list: &[Method]) -> Result<AllowedMethods> {
    let cached = built(
        CachedMethods::builder()
            .quantity(2)
            .items(Method::Get)
            .items(Method::Head)
            .build(),
        "cached methods",
    )?;
    built(
        AllowedMethods::builder()
            .quantity(list.len() as i32)
            .set_items(Some(list.to_vec()))
            .cached_methods(cached)
            .build(),
        "allowed methods",
    )
}

pub fn distribution_config(names: &Names, origins: &Origins) -> Result<DistributionConfig> {
    let site = built(
        aws_sdk_cloudfront::types::Origin::builder()
            .id(SITE_ORIGIN)
            .domain_name(&origins.site_domain)
            .origin_access_control_id(&origins.origin_access_control_id)
            // With OAC the legacy identity stays empty.
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build(),
        "site origin",
    )?;
    let api = built(
        aws_sdk_cloudfront::types::Origin::builder()
            .id(API_ORIGIN)
            .domain_name(&origins.api_domain)
            .custom_origin_config(built(
                CustomOriginConfig::builder()
                    .http_port(80)
                    .https_port(443)
                    .origin_protocol_policy(api_protocol(origins))
                    .origin_ssl_protocols(built(
                        OriginSslProtocols::builder()
                            .quantity(1)
                            .items(SslProtocol::TlSv12)
                            .build(),
                        "origin TLS protocols",
                    )?)
                    .origin_read_timeout(30)
                    .origin_keepalive_timeout(5)
                    .build(),
                "API origin config",
            )?)
            .build(),
        "API origin",
    )?;
    let viewer_request = built(
        FunctionAssociation::builder()
            .function_arn(&origins.spa_function_arn)
            .event_type(EventType::ViewerRequest)
            .build(),
        "function association",
    )?;
    let default_behavior = built(
        DefaultCacheBehavior::builder()
            .target_origin_id(SITE_ORIGIN)
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .cache_policy_id(CACHING_OPTIMIZED)
            .compress(true)
            .allowed_methods(methods(&[Method::Get, Method::Head])?)
            .function_associations(built(
                FunctionAssociations::builder()
                    .quantity(1)
                    .items(viewer_request)
                    .build(),
                "function associations",
            )?)
            .build(),
        "default behaviour",
    )?;
    let all_methods = [
        Method::Get,
        Method::Head,
        Method::Options,
        Method::Put,
        Method::Patch,
        Method::Post,
        Method::Delete,
    ];
    let api_behavior = built(
        CacheBehavior::builder()
            .path_pattern(API_PATH)
            .target_origin_id(API_ORIGIN)
            // An API client that speaks plain HTTP gets an error, not a redirect that drops its body.
            .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
            .cache_policy_id(CACHING_DISABLED)
            .origin_request_policy_id(ALL_VIEWER_EXCEPT_HOST_HEADER)
            .compress(true)
            .allowed_methods(methods(&all_methods)?)
            .build(),
        "API behaviour",
    )?;
    let (aliases, certificate) = match &origins.viewer {
        Some(viewer) => (
            Some(built(
                Aliases::builder().quantity(1).items(&viewer.domain).build(),
                "aliases",
            )?),
            Some(
                ViewerCertificate::builder()
                    .cloud_front_default_certificate(false)
                    .acm_certificate_arn(&viewer.certificate_arn)
                    .ssl_support_method(SslSupportMethod::SniOnly)
                    .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                    .build(),
            ),
        ),
        None => (None, None),
    };
    built(
        DistributionConfig::builder()
            .set_aliases(aliases)
            .set_viewer_certificate(certificate)
            .caller_reference(format!("{}-frontend", names.stack()))
            .comment(names.distribution_comment())
            .enabled(true)
            .default_root_object("index.html")
            .origins(built(
                aws_sdk_cloudfront::types::Origins::builder()
                    .quantity(2)
                    .items(site)
                    .items(api)
                    .build(),
                "origins",
            )?)
            .default_cache_behavior(default_behavior)
            .cache_behaviors(built(
                CacheBehaviors::builder()
                    .quantity(1)
                    .items(api_behavior)
                    .build(),
                "behaviours",
            )?)
            .price_class(PriceClass::PriceClass100)
            .http_version(HttpVersion::Http2and3)
            .is_ipv6_enabled(true)
            .build(),
        "distribution config",
    )
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

    fn origins() -> Origins {
        Origins {
            site_domain: "v-site-1-eu-west-1.s3.eu-west-1.amazonaws.com".into(),
            api_domain: "v-nlb-123.elb.eu-west-1.amazonaws.com".into(),
            origin_access_control_id: "E2OAC".into(),
            spa_function_arn: "arn:aws:cloudfront::1:function/v-frontend-spa-fallback".into(),
            viewer: None,
        }
    }

    #[test]
    fn without_a_domain_the_default_certificate_and_http_to_the_origin_stay() {
        let config = distribution_config(&Names::new("v"), &origins()).unwrap();
        assert!(config.aliases().is_none() && config.viewer_certificate().is_none());
        assert_eq!(
            crate::viewer_of(Some(&config)),
            "aliases none; certificate CloudFront's default; API origin http-only"
        );
    }

    #[test]
    fn with_a_domain_cloudfront_serves_it_with_its_certificate_and_tls_to_the_origin() {
        let mut origins = origins();
        origins.api_domain = "origin.tasks.example.com".into();
        origins.viewer = Some(Viewer {
            domain: "tasks.example.com".into(),
            certificate_arn: "arn:aws:acm:us-east-1:1:certificate/c".into(),
        });
        let config = distribution_config(&Names::new("v"), &origins).unwrap();
        assert_eq!(config.aliases().unwrap().items(), ["tasks.example.com"]);
        let certificate = config.viewer_certificate().unwrap();
        assert_eq!(certificate.cloud_front_default_certificate(), Some(false));
        assert_eq!(
            certificate.ssl_support_method(),
            Some(&SslSupportMethod::SniOnly)
        );
        assert_eq!(
            certificate.minimum_protocol_version(),
            Some(&MinimumProtocolVersion::TlSv122021)
        );
        let api = &config.origins().unwrap().items()[1];
        assert_eq!(api.domain_name(), "origin.tasks.example.com");
        let custom = api.custom_origin_config().unwrap();
        assert_eq!(
            custom.origin_protocol_policy(),
            &OriginProtocolPolicy::HttpsOnly
        );
        assert_eq!(custom.https_port(), 443);
        assert_eq!(
            custom.origin_ssl_protocols().unwrap().items(),
            [SslProtocol::TlSv12]
        );
        assert_eq!(
            crate::viewer_of(Some(&config)),
            "aliases tasks.example.com; certificate arn:aws:acm:us-east-1:1:certificate/c sni-only TLSv1.2_2021; API origin https-only"
        );
    }

    #[test]
    fn api_goes_to_the_load_balancer_uncached_and_the_rest_to_the_bucket() {
        let config = distribution_config(&Names::new("v"), &origins()).unwrap();
        let api = &config.cache_behaviors().unwrap().items()[0];
        assert_eq!(api.path_pattern(), "/api/*");
        assert_eq!(api.target_origin_id(), API_ORIGIN);
        assert_eq!(api.cache_policy_id(), Some(CACHING_DISABLED));
        assert_eq!(api.allowed_methods().unwrap().quantity(), 7);
        assert!(
            api.function_associations().is_none(),
            "API errors must not be rewritten"
        );
        let default = config.default_cache_behavior().unwrap();
        assert_eq!(default.target_origin_id(), SITE_ORIGIN);
        assert_eq!(
            default.viewer_protocol_policy(),
            &ViewerProtocolPolicy::RedirectToHttps
        );
        assert_eq!(
            default.function_associations().unwrap().items()[0].event_type(),
            &EventType::ViewerRequest
        );
        let site = &config.origins().unwrap().items()[0];
        assert_eq!(site.origin_access_control_id(), Some("E2OAC"));
        assert_eq!(config.default_root_object(), Some("index.html"));
    }

    /// Runs the real function code with Node.js, the way CloudFront calls it.
    #[test]
    fn spa_fallback_rewrites_app_routes_only() {
        let cases = [
            ("/", "/"),
            ("/tasks/42", "/index.html"),
            ("/projects/1/settings/edit", "/index.html"),
            ("/assets/index-4f3a2b.js", "/assets/index-4f3a2b.js"),
            ("/favicon.ico", "/favicon.ico"),
            ("/api/v1/info", "/api/v1/info"),
            ("/api/v1/nope", "/api/v1/nope"),
        ];
        let script = format!(
            "{SPA_FALLBACK_JS}\nconst cases = {};\nfor (const [uri] of cases) {{ console.log(handler({{request: {{uri, headers: {{}}}}}}).uri); }}",
            serde_json::to_string(&cases.iter().map(|(u, _)| [*u]).collect::<Vec<_>>()).unwrap()
        );
        let output = std::process::Command::new("node")
            .arg("-e")
            .arg(&script)
            .output()
            .expect("node runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rewritten: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = cases.iter().map(|(_, e)| e.to_string()).collect();
        assert_eq!(rewritten, expected);
    }
}
