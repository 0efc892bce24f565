//! Load balancer: the Network Load Balancer, its listeners and the blue and green target
//! groups — the one finder of each ([`observe`]), [`diff`] (spec and findings → plan items
//! and operations), [`retire`] (the findings against nothing → what `down` deletes) and
//! [`apply`], which carries operations out and adopts what an unseen earlier attempt made
//! ("already exists" after a fault is adoption when the resource carries the stack's tag;
//! anything else by the name is refused).

mod apply;
mod diff;

pub use apply::{apply, delete, ensure};
pub use diff::{diff, group_name, retire, Op, Plan, Spec, TLS_POLICY};

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, LoadBalancerTypeEnum, Tag};
use aws_sdk_elasticloadbalancingv2::Client;

use resources::found::absent_if_not_found;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, Names, Result, SdkContext};

pub const COLOURS: [&str; 2] = ["blue", "green"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nlb {
    pub arn: String,
    pub dns_name: String,
    /// Its canonical hosted zone: an alias record to it names this zone.
    pub zone_id: String,
    /// A Network Load Balancer (a load balancer of another type by the name is not ours).
    pub network: bool,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetGroup {
    pub arn: String,
    pub ours: bool,
    pub port: Option<i32>,
    pub protocol: String,
    pub target_type: String,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    pub deregistration_delay_seconds: Option<String>,
}

/// A target group's health check, as `up` sets it and AWS reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCheck {
    pub protocol: String,
    pub path: String,
    pub port: String,
    pub interval_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub matcher: String,
}

impl HealthCheck {
    pub fn show(&self) -> String {
        format!(
            "{} {} on {} every {} s, healthy after {}, unhealthy after {}, codes {}",
            self.protocol,
            self.path,
            self.port,
            self.interval_seconds,
            self.healthy_threshold,
            self.unhealthy_threshold,
            self.matcher
        )
    }
}

/// The tier as found: the load balancer by its name, its listeners by port, the target
/// groups by colour.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub nlb: Option<Nlb>,
    pub listeners: BTreeMap<i32, String>,
    /// Each listener's protocol and certificate, by port.
    pub listener_tls: BTreeMap<i32, ListenerTls>,
    pub target_groups: BTreeMap<String, TargetGroup>,
}

/// Whether a resource carries the stack's tag.
async fn is_ours(elb: &Client, arn: &str, stack: &str) -> Result<bool> {
    let described = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .context(format!("read tags of {arn}"))?;
    Ok(tags::belongs_to(
        described
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    ))
}

pub async fn find_load_balancer(elb: &Client, names: &Names) -> Result<Option<Nlb>> {
    let name = names.load_balancer();
    let found = elb.describe_load_balancers().names(&name).send().await;
    let Some(found) = absent_if_not_found(found.context(format!("find load balancer {name}")))?
    else {
        return Ok(None);
    };
    let Some(lb) = found.load_balancers().first() else {
        return Ok(None);
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    Ok(Some(Nlb {
        ours: is_ours(elb, &arn, names.stack()).await?,
        network: lb.r#type() == Some(&LoadBalancerTypeEnum::Network),
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        zone_id: lb
            .canonical_hosted_zone_id()
            .unwrap_or_default()
            .to_string(),
        arn,
    }))
}

/// A listener's protocol (`TCP`, `TLS`) and its default certificate, if any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenerTls {
    pub protocol: String,
    pub certificate: Option<String>,
    pub ssl_policy: Option<String>,
}

/// The load balancer's listeners, by port.
pub async fn find_listeners(elb: &Client, lb_arn: &str) -> Result<BTreeMap<i32, String>> {
    Ok(find_listener_details(elb, lb_arn)
        .await?
        .into_iter()
        .map(|(port, (arn, _))| (port, arn))
        .collect())
}

/// The load balancer's listeners, by port, with their protocol and certificate.
pub async fn find_listener_details(
    elb: &Client,
    lb_arn: &str,
) -> Result<BTreeMap<i32, (String, ListenerTls)>> {
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list listeners of {lb_arn}"))?;
    Ok(listeners
        .iter()
        .filter_map(|l| {
            let tls = ListenerTls {
                protocol: l
                    .protocol()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                certificate: l
                    .certificates()
                    .iter()
                    .find_map(|c| c.certificate_arn())
                    .map(str::to_string),
                ssl_policy: l.ssl_policy().map(str::to_string),
            };
            Some((l.port()?, (l.listener_arn()?.to_string(), tls)))
        })
        .collect())
}

/// A target group by name. One name per call: a call naming a missing group fails whole.
pub async fn find_target_group(
    elb: &Client,
    stack: &str,
    name: &str,
) -> Result<Option<TargetGroup>> {
    let found = elb.describe_target_groups().names(name).send().await;
    let Some(found) = absent_if_not_found(found.context(format!("find target group {name}")))?
    else {
        return Ok(None);
    };
    let Some(group) = found.target_groups().first() else {
        return Ok(None);
    };
    let arn = group.target_group_arn().unwrap_or_default().to_string();
    // Gone between the two reads (a teardown that ran meanwhile) is gone.
    let Some(delay) = deregistration_delay(elb, &arn, name).await? else {
        return Ok(None);
    };
    let text = |value: Option<&str>| value.unwrap_or_default().to_string();
    Ok(Some(TargetGroup {
        ours: is_ours(elb, &arn, stack).await?,
        port: group.port(),
        protocol: text(group.protocol().map(|p| p.as_str())),
        target_type: text(group.target_type().map(|t| t.as_str())),
        vpc_id: text(group.vpc_id()),
        health_check: HealthCheck {
            protocol: text(group.health_check_protocol().map(|p| p.as_str())),
            path: text(group.health_check_path()),
            port: text(group.health_check_port()),
            interval_seconds: group.health_check_interval_seconds().unwrap_or_default(),
            healthy_threshold: group.healthy_threshold_count().unwrap_or_default(),
            unhealthy_threshold: group.unhealthy_threshold_count().unwrap_or_default(),
            matcher: text(group.matcher().and_then(|m| m.http_code())),
        },
        deregistration_delay_seconds: delay,
        arn,
    }))
}

/// The group's deregistration delay (`Some(None)`: the attribute is not reported), or
/// `None` when the group is gone.
async fn deregistration_delay(
    elb: &Client,
    arn: &str,
    name: &str,
) -> Result<Option<Option<String>>> {
    let attributes = elb
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .context(format!("read the attributes of target group {name}"));
    let Some(attributes) = absent_if_not_found(attributes)? else {
        return Ok(None);
    };
    Ok(Some(
        attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value())
            .map(str::to_string),
    ))
}

pub(crate) const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// Everything of the tier.
pub async fn observe(elb: &Client, names: &Names) -> Result<Found> {
    let mut found = Found {
        nlb: find_load_balancer(elb, names).await?,
        ..Found::default()
    };
    if let Some(nlb) = &found.nlb {
        for (port, (arn, tls)) in find_listener_details(elb, &nlb.arn).await? {
            found.listeners.insert(port, arn);
            found.listener_tls.insert(port, tls);
        }
    }
    for colour in COLOURS {
        if let Some(group) =
            find_target_group(elb, names.stack(), &names.target_group(colour)).await?
        {
            found.target_groups.insert(colour.to_string(), group);
        }
    }
    Ok(found)
}

/// One registered target and its health, as ELBv2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// `ip:port`.
    pub target: String,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`.
    pub state: String,
    /// ELBv2's reason code and description when not healthy (`Target.Timeout`, …).
    pub reason: Option<String>,
}

impl TargetHealth {
    pub fn is_healthy(&self) -> bool {
        self.state == "healthy"
    }
}

/// The targets registered in a group and their health; `None` when the group is gone.
pub async fn find_target_health(elb: &Client, arn: &str) -> Result<Option<Vec<TargetHealth>>> {
    let described = elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .context(format!("read the target health of {arn}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(Some(
        described
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let target = d.target();
                let health = d.target_health();
                let reason = health.and_then(|h| {
                    let code = h.reason().map(|r| r.as_str().to_string());
                    match (code, h.description()) {
                        (Some(code), Some(text)) => Some(format!("{code}: {text}")),
                        (code, text) => code.or(text.map(str::to_string)),
                    }
                });
                TargetHealth {
                    target: format!(
                        "{}:{}",
                        target.and_then(|t| t.id()).unwrap_or_default(),
                        target.and_then(|t| t.port()).unwrap_or_default()
                    ),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason,
                }
            })
            .collect(),
    ))
}

/// One listener by ARN; `None` when it is gone.
pub async fn find_listener(elb: &Client, listener_arn: &str) -> Result<Option<Listener>> {
    let described = elb
        .describe_listeners()
        .listener_arns(listener_arn)
        .send()
        .await
        .context(format!("read listener {listener_arn}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(described.listeners().first().cloned())
}

/// One load balancer by ARN (where a listener points); `None` when it is gone.
pub async fn find_load_balancer_by_arn(elb: &Client, lb_arn: &str) -> Result<Option<LoadBalancer>> {
    let described = elb
        .describe_load_balancers()
        .load_balancer_arns(lb_arn)
        .send()
        .await
        .context(format!("read load balancer {lb_arn}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    Ok(described.load_balancers().first().cloned())
}

/// The target group a listener forwards to (its default action); `None` when the listener
/// is gone or forwards nowhere.
pub async fn forwarded_group(elb: &Client, listener_arn: &str) -> Result<Option<String>> {
    Ok(find_listener(elb, listener_arn)
        .await?
        .as_ref()
        .and_then(serving_group))
}

/// The target group a listener sends its traffic to: the one it forwards to, or, when the
/// forward is weighted, the group with the traffic.
pub fn serving_group(listener: &Listener) -> Option<String> {
    listener.default_actions().iter().find_map(|a| {
        a.target_group_arn().map(str::to_string).or_else(|| {
            a.forward_config()?
                .target_groups()
                .iter()
                .filter(|g| g.weight().unwrap_or(1) > 0)
                .max_by_key(|g| g.weight().unwrap_or(1))
                .and_then(|g| g.target_group_arn())
                .map(str::to_string)
        })
    })
}

pub(crate) fn elb_tags(stack: &str) -> Vec<Tag> {
    tags::standard(stack, Tier::LoadBalancer)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn missing(what: &str) -> Error {
    Error::aws(
        ErrorClass::Other,
        "Elastic Load Balancing",
        format!("answered without {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{query_error, query_ok, Answer, Replay};
    use vikunja_core::NetworkOutputs;

    resources::replayed_client!(elb, aws_sdk_elasticloadbalancingv2);

    fn network() -> NetworkOutputs {
        resources::replay::network_outputs()
    }

    fn attributes() -> Answer {
        query_ok("DescribeTargetGroupAttributes", "<Attributes><member><Key>deregistration_delay.timeout_seconds</Key><Value>300</Value></member></Attributes>")
    }

    fn tags_of(arn: &str, stack: &str) -> Answer {
        query_ok(
            "DescribeTags",
            &format!("<TagDescriptions><member><ResourceArn>{arn}</ResourceArn><Tags><member><Key>vikunja:stack</Key><Value>{stack}</Value></member></Tags></member></TagDescriptions>"),
        )
    }

    fn group(arn: &str) -> String {
        format!("<TargetGroups><member><TargetGroupArn>{arn}</TargetGroupArn><Port>3456</Port><Protocol>TCP</Protocol><TargetType>ip</TargetType><VpcId>vpc-1</VpcId></member></TargetGroups>")
    }

    /// The tier as observed when nothing of it exists.
    fn nothing_found() -> Vec<Answer> {
        vec![
            query_error("DescribeLoadBalancers", 400, "LoadBalancerNotFound"),
            query_error("DescribeTargetGroups", 400, "TargetGroupNotFound"),
            query_error("DescribeTargetGroups", 400, "TargetGroupNotFound"),
        ]
    }

    fn new_load_balancer() -> Answer {
        query_ok("CreateLoadBalancer", "<LoadBalancers><member><LoadBalancerArn>arn:lb</LoadBalancerArn><DNSName>v-nlb.example</DNSName><Type>network</Type></member></LoadBalancers>")
    }

    fn new_group(colour: &str) -> Vec<Answer> {
        vec![
            query_ok("CreateTargetGroup", &group(&format!("arn:tg-{colour}"))),
            query_ok("ModifyTargetGroupAttributes", "<Attributes/>"),
        ]
    }

    fn new_listeners() -> Vec<Answer> {
        vec![
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l80</ListenerArn><Port>80</Port></member></Listeners>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port></member></Listeners>"),
        ]
    }

    fn fresh_start() -> Vec<Answer> {
        let mut script = nothing_found();
        script.push(new_load_balancer());
        script
    }

    fn spec() -> Spec {
        Spec::new(Names::new("v"))
    }

    #[tokio::test]
    async fn target_health_names_each_target_with_its_reason() {
        let replay = Replay::new(vec![query_ok(
            "DescribeTargetHealth",
            "<TargetHealthDescriptions><member><Target><Id>10.0.1.5</Id><Port>3456</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member><member><Target><Id>10.0.2.7</Id><Port>3456</Port></Target><TargetHealth><State>unhealthy</State><Reason>Target.Timeout</Reason><Description>Request timed out</Description></TargetHealth></member></TargetHealthDescriptions>",
        )]);
        let found = find_target_health(&elb(&replay), "arn:tg-blue")
            .await
            .unwrap()
            .unwrap();
        replay.assert_done();
        assert_eq!(
            found,
            vec![
                TargetHealth {
                    target: "10.0.1.5:3456".into(),
                    state: "healthy".into(),
                    reason: None
                },
                TargetHealth {
                    target: "10.0.2.7:3456".into(),
                    state: "unhealthy".into(),
                    reason: Some("Target.Timeout: Request timed out".into())
                },
            ]
        );
        assert!(found[0].is_healthy() && !found[1].is_healthy());
    }

    #[tokio::test]
    async fn a_gone_group_has_no_target_health_and_a_gone_listener_forwards_nowhere() {
        let replay = Replay::new(vec![
            query_error("DescribeTargetHealth", 400, "TargetGroupNotFound"),
            query_error("DescribeListeners", 400, "ListenerNotFound"),
        ]);
        let client = elb(&replay);
        assert_eq!(find_target_health(&client, "arn:tg").await.unwrap(), None);
        assert_eq!(forwarded_group(&client, "arn:l80").await.unwrap(), None);
        replay.assert_done();
    }

    #[tokio::test]
    async fn a_listener_forwards_to_its_default_action_or_the_weighted_group_with_traffic() {
        let plain = "<Listeners><member><ListenerArn>arn:l80</ListenerArn><DefaultActions><member><Type>forward</Type><TargetGroupArn>arn:tg-green</TargetGroupArn></member></DefaultActions></member></Listeners>";
        let weighted = "<Listeners><member><ListenerArn>arn:l80</ListenerArn><DefaultActions><member><Type>forward</Type><ForwardConfig><TargetGroups><member><TargetGroupArn>arn:tg-blue</TargetGroupArn><Weight>0</Weight></member><member><TargetGroupArn>arn:tg-green</TargetGroupArn><Weight>100</Weight></member></TargetGroups></ForwardConfig></member></DefaultActions></member></Listeners>";
        let replay = Replay::new(vec![
            query_ok("DescribeListeners", plain),
            query_ok("DescribeListeners", weighted),
        ]);
        let client = elb(&replay);
        for _ in 0..2 {
            assert_eq!(
                forwarded_group(&client, "arn:l80")
                    .await
                    .unwrap()
                    .as_deref(),
                Some("arn:tg-green")
            );
        }
        replay.assert_done();
    }

    #[tokio::test]
    async fn a_fresh_tier_is_made_once_with_both_listeners_on_blue() {
        let mut script = fresh_start();
        script.extend(new_group("blue"));
        script.extend(new_group("green"));
        script.extend(new_listeners());
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &spec(), &network()).await.unwrap();
        replay.assert_done();
        assert_eq!(
            (
                out.prod_listener_arn.as_str(),
                out.test_listener_arn.as_str()
            ),
            ("arn:l80", "arn:l8080")
        );
        let listeners = replay.bodies("CreateListener");
        assert!(
            listeners.iter().all(|b| b.contains("arn%3Atg-blue")),
            "{listeners:?}"
        );
        let lb = &replay.bodies("CreateLoadBalancer")[0];
        assert!(lb.contains("Type=network") && lb.contains("sg-lb"), "{lb}");
    }

    #[tokio::test]
    async fn a_target_group_create_answered_500_after_it_took_effect_is_adopted() {
        let mut script = fresh_start();
        script.extend([
            // AWS made it and the answer was lost; the SDK's retry hears that it exists.
            query_error("CreateTargetGroup", 500, "InternalFailure"),
            query_error("CreateTargetGroup", 400, "DuplicateTargetGroupName"),
            query_ok("DescribeTargetGroups", &group("arn:tg-blue")),
            attributes(),
            tags_of("arn:tg-blue", "v"),
            query_ok("ModifyTargetGroupAttributes", "<Attributes/>"),
        ]);
        script.extend(new_group("green"));
        script.extend(new_listeners());
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &spec(), &network()).await.unwrap();
        replay.assert_done();
        assert_eq!(out.blue_target_group_arn, "arn:tg-blue");
    }

    #[tokio::test]
    async fn a_target_group_by_the_name_that_is_not_the_stacks_is_refused() {
        let mut script = fresh_start();
        script.extend([
            query_error("CreateTargetGroup", 400, "DuplicateTargetGroupName"),
            query_ok("DescribeTargetGroups", &group("arn:tg-squatter")),
            attributes(),
            tags_of("arn:tg-squatter", "someone-else"),
        ]);
        let replay = Replay::new(script);
        let error = ensure(&elb(&replay), &spec(), &network())
            .await
            .unwrap_err();
        replay.assert_done();
        assert!(
            error
                .to_string()
                .contains("target group v-blue exists but is not tagged for stack v"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_listener_made_unseen_is_adopted() {
        let mut script = fresh_start();
        script.extend(new_group("blue"));
        script.extend(new_group("green"));
        script.extend([
            query_error("CreateListener", 400, "DuplicateListener"),
            query_ok("DescribeListeners", "<Listeners><member><ListenerArn>arn:l80</ListenerArn><Port>80</Port></member></Listeners>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port></member></Listeners>"),
        ]);
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &spec(), &network()).await.unwrap();
        replay.assert_done();
        assert_eq!(out.prod_listener_arn, "arn:l80");
    }

    #[tokio::test]
    async fn with_a_domain_the_production_listener_is_made_tls_with_the_certificate() {
        let mut script = fresh_start();
        script.extend(new_group("blue"));
        script.extend(new_group("green"));
        script.extend([
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l443</ListenerArn><Port>443</Port></member></Listeners>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port></member></Listeners>"),
        ]);
        let replay = Replay::new(script);
        let spec = spec().with_tls(Some("arn:acm:origin".into()));
        let out = ensure(&elb(&replay), &spec, &network()).await.unwrap();
        replay.assert_done();
        assert_eq!(out.prod_listener_arn, "arn:l443");
        let listeners = replay.bodies("CreateListener");
        let prod = &listeners[0];
        assert!(
            prod.contains("Protocol=TLS")
                && prod.contains("Port=443")
                && prod.contains("arn%3Aacm%3Aorigin")
                && prod.contains("SslPolicy=ELBSecurityPolicy-TLS13-1-2-2021-06"),
            "{prod}"
        );
        assert!(listeners[1].contains("Protocol=TCP") && !listeners[1].contains("SslPolicy"));
    }

    #[tokio::test]
    async fn a_delete_of_what_is_already_gone_succeeds_and_a_refusal_does_not() {
        let replay = Replay::new(vec![
            query_error("DeleteTargetGroup", 400, "TargetGroupNotFound"),
            query_error("DeleteTargetGroup", 400, "ResourceInUse"),
        ]);
        let op = Op::DeleteTargetGroup {
            name: "v-blue".into(),
            arn: "arn:tg-blue".into(),
        };
        let client = elb(&replay);
        delete(&client, &op).await.expect("gone is deleted");
        let refused = delete(&client, &op).await.unwrap_err();
        replay.assert_done();
        assert!(refused.is(ErrorClass::InUse), "{refused:?}");
    }

    #[tokio::test]
    async fn drifted_settings_are_set_again_on_the_found_groups() {
        let found_group = |colour: &str, path: &str, delay: &str| {
            vec![
                query_ok("DescribeTargetGroups", &format!("<TargetGroups><member><TargetGroupArn>arn:tg-{colour}</TargetGroupArn><Port>3456</Port><Protocol>TCP</Protocol><TargetType>ip</TargetType><VpcId>vpc-1</VpcId><HealthCheckProtocol>HTTP</HealthCheckProtocol><HealthCheckPath>{path}</HealthCheckPath><HealthCheckPort>traffic-port</HealthCheckPort><HealthCheckIntervalSeconds>10</HealthCheckIntervalSeconds><HealthyThresholdCount>2</HealthyThresholdCount><UnhealthyThresholdCount>2</UnhealthyThresholdCount><Matcher><HttpCode>200-399</HttpCode></Matcher></member></TargetGroups>")),
                query_ok("DescribeTargetGroupAttributes", &format!("<Attributes><member><Key>deregistration_delay.timeout_seconds</Key><Value>{delay}</Value></member></Attributes>")),
                tags_of(&format!("arn:tg-{colour}"), "v"),
            ]
        };
        let mut script = vec![
            query_ok("DescribeLoadBalancers", "<LoadBalancers><member><LoadBalancerArn>arn:lb</LoadBalancerArn><DNSName>v-nlb.example</DNSName><Type>network</Type></member></LoadBalancers>"),
            tags_of("arn:lb", "v"),
            query_ok("DescribeListeners", "<Listeners><member><ListenerArn>arn:l80</ListenerArn><Port>80</Port><Protocol>TCP</Protocol></member><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port><Protocol>TCP</Protocol></member></Listeners>"),
        ];
        script.extend(found_group("blue", "/", "30"));
        script.extend(found_group("green", "/health", "300"));
        script.extend([
            query_ok("ModifyTargetGroup", &group("arn:tg-blue")),
            query_ok("ModifyTargetGroupAttributes", "<Attributes/>"),
        ]);
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &spec(), &network()).await.unwrap();
        replay.assert_done();
        assert_eq!(
            out.changes,
            vec![
                "set the health check of v-blue to HTTP /health every 10 s",
                "set the deregistration delay of v-green to 30 s",
            ]
        );
        let modified = &replay.bodies("ModifyTargetGroup")[0];
        assert!(
            modified.contains("HealthCheckPath=%2Fhealth") && modified.contains("arn%3Atg-blue"),
            "{modified}"
        );
        assert!(replay.bodies("ModifyTargetGroupAttributes")[0].contains("arn%3Atg-green"));
    }
}
