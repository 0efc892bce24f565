//! CloudFront: the Origin Access Control, the SPA-fallback function and the distribution.

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomOriginConfig,
    DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags, EventType,
    FunctionAssociation, FunctionAssociations, FunctionConfig, FunctionRuntime, FunctionStage,
    HttpVersion, Method, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, OriginProtocolPolicy,
    OriginSslProtocols, PriceClass, S3OriginConfig, SslProtocol, Tag, Tags, ViewerProtocolPolicy,
};
use aws_sdk_cloudfront::Client;
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext};

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
    pub api_domain: String,
    pub origin_access_control_id: String,
    pub spa_function_arn: String,
}

pub struct Distribution {
    pub id: String,
    pub arn: String,
    pub domain_name: String,
}

pub async fn ensure_origin_access_control(cloudfront: &Client, names: &Names) -> Result<String> {
    let name = names.origin_access_control();
    let found = resources_frontend::find_origin_access_controls(cloudfront, names).await?;
    let what = format!("origin access controls named {name}");
    if let Some(oac) = resources::found::at_most_one_by(found, |o| o.id(), &what)? {
        return Ok(oac.id().to_string());
    }
    let config = built(
        OriginAccessControlConfig::builder()
            .name(&name)
            .description(format!("site bucket of vikunja stack {}", names.stack()))
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .signing_behavior(OriginAccessControlSigningBehaviors::Always)
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
            .build(),
        "origin access control",
    )?;
    let created = cloudfront
        .create_origin_access_control()
        .origin_access_control_config(config)
        .send()
        .await
        .context(format!("create origin access control {name}"))
        .and_then(|created| {
            created
                .origin_access_control()
                .map(|o| o.id().to_string())
                .ok_or_else(|| missing("the new OAC"))
        });
    let id = resources::adopt::created_or_found(created, || async {
        let found = resources_frontend::find_origin_access_controls(cloudfront, names).await?;
        Ok(resources::found::at_most_one_by(found, |o| o.id(), &what)?.map(|o| o.id().to_string()))
    })
    .await?;
    info!(id, name, "created origin access control");
    Ok(id)
}

fn missing(what: &str) -> Error {
    Error::conflict(format!("CloudFront answered without {what}"))
}

/// Creates and publishes the function; returns the ARN of its LIVE stage. `DescribeFunction`
/// reads the DEVELOPMENT stage unless asked, and that stage never says LIVE: asking for LIVE
/// first keeps a re-run from publishing again.
pub async fn ensure_spa_function(cloudfront: &Client, names: &Names) -> Result<String> {
    if let Some(arn) = existing_spa_function(cloudfront, names).await? {
        return Ok(arn);
    }
    let name = names.spa_function();
    let config = built(
        FunctionConfig::builder()
            .comment("SPA fallback: extension-less paths serve /index.html")
            .runtime(FunctionRuntime::CloudfrontJs20)
            .build(),
        "function config",
    )?;
    let created = cloudfront
        .create_function()
        .name(&name)
        .function_config(config)
        .function_code(Blob::new(SPA_FALLBACK_JS))
        .send()
        .await
        .context(format!("create CloudFront function {name}"));
    let created = match created {
        Ok(created) => created,
        Err(error) => {
            return resources::adopt::created_or_found(Err(error), || {
                existing_spa_function(cloudfront, names)
            })
            .await
        }
    };
    let arn = created
        .function_summary()
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .ok_or_else(|| missing("the new function's ARN"))?;
    publish(cloudfront, &name, created.e_tag()).await?;
    info!(name, "created and published CloudFront function");
    Ok(arn)
}

/// The function's LIVE ARN if it exists, publishing it first when it is still only in
/// DEVELOPMENT (a run that stopped between create and publish).
async fn existing_spa_function(cloudfront: &Client, names: &Names) -> Result<Option<String>> {
    let name = names.spa_function();
    for stage in [FunctionStage::Live, FunctionStage::Development] {
        if let Some(found) =
            resources_frontend::find_spa_function(cloudfront, names, stage.clone()).await?
        {
            let metadata = found
                .function_summary()
                .and_then(|s| s.function_metadata())
                .ok_or_else(|| missing("the function summary"))?;
            let arn = metadata.function_arn().to_string();
            if metadata.stage() == Some(&FunctionStage::Live) {
                return Ok(Some(arn));
            }
            if stage == FunctionStage::Development {
                publish(cloudfront, &name, found.e_tag()).await?;
                return Ok(Some(arn));
            }
        }
    }
    Ok(None)
}

async fn publish(cloudfront: &Client, name: &str, etag: Option<&str>) -> Result<()> {
    cloudfront
        .publish_function()
        .name(name)
        .if_match(etag.unwrap_or_default())
        .send()
        .await
        .context(format!("publish CloudFront function {name}"))?;
    Ok(())
}

pub async fn ensure_distribution(
    cloudfront: &Client,
    names: &Names,
    origins: &Origins,
) -> Result<Distribution> {
    if let Some(found) = find_distribution(cloudfront, names).await? {
        info!(id = found.id, "adopted distribution");
        return Ok(found);
    }
    let tag_items = tags::standard(names.stack(), Tier::Frontend)
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build(), "tag"))
        .collect::<Result<Vec<_>>>()?;
    let with_tags = DistributionConfigWithTags::builder()
        .distribution_config(distribution_config(names, origins)?)
        .tags(Tags::builder().set_items(Some(tag_items)).build())
        .build();
    let created = cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(with_tags)
        .send()
        .await
        .context(format!("create distribution of stack {}", names.stack()))
        .and_then(|created| {
            let dist = created
                .distribution()
                .ok_or_else(|| missing("the new distribution"))?;
            info!(
                id = dist.id(),
                domain = dist.domain_name(),
                "created distribution"
            );
            Ok(Distribution {
                id: dist.id().to_string(),
                arn: dist.arn().to_string(),
                domain_name: dist.domain_name().to_string(),
            })
        });
    // The caller reference is the stack's own: "already exists" is an earlier attempt's.
    resources::adopt::created_or_found(created, || find_distribution(cloudfront, names)).await
}

/// Our distribution carries the stack in its comment and its tags (`resources_frontend`).
async fn find_distribution(cloudfront: &Client, names: &Names) -> Result<Option<Distribution>> {
    let found = resources_frontend::find_distribution(cloudfront, names).await?;
    Ok(found.map(|summary| Distribution {
        id: summary.id().to_string(),
        arn: summary.arn().to_string(),
        domain_name: summary.domain_name().to_string(),
    }))
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
                    .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
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
    built(
        DistributionConfig::builder()
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

    fn origins() -> Origins {
        Origins {
            site_domain: "v-site-1-eu-west-1.s3.eu-west-1.amazonaws.com".into(),
            api_domain: "v-nlb-123.elb.eu-west-1.amazonaws.com".into(),
            origin_access_control_id: "E2OAC".into(),
            spa_function_arn: "arn:aws:cloudfront::1:function/v-frontend-spa-fallback".into(),
        }
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
