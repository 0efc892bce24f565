//! Load balancer: the Network Load Balancer, its listeners and the blue and green target
//! groups — the one finder of each, and `ensure`, which creates what is missing and adopts
//! what an unseen earlier attempt made ("already exists" after a fault is adoption, when
//! the resource carries the stack's tag; anything else by the name is refused).

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, Tag, TargetGroupAttribute, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use tracing::info;

use resources::found::absent_if_not_found;
use vikunja_core::names::{CONTAINER_PORT, PROD_PORT, TEST_PORT};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{
    Error, ErrorClass, LoadBalancerOutputs, Names, NetworkOutputs, Result, SdkContext,
};

pub const COLOURS: [&str; 2] = ["blue", "green"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nlb {
    pub arn: String,
    pub dns_name: String,
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
}

/// The tier as found: the load balancer by its name, its listeners by port, the target
/// groups by colour.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub nlb: Option<Nlb>,
    pub listeners: BTreeMap<i32, String>,
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
        arn,
    }))
}

/// The load balancer's listeners, by port.
pub async fn find_listeners(elb: &Client, lb_arn: &str) -> Result<BTreeMap<i32, String>> {
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
        .filter_map(|l| Some((l.port()?, l.listener_arn()?.to_string())))
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
    Ok(Some(TargetGroup {
        ours: is_ours(elb, &arn, stack).await?,
        port: group.port(),
        protocol: group
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        target_type: group
            .target_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: group.vpc_id().unwrap_or_default().to_string(),
        arn,
    }))
}

/// Everything of the tier.
pub async fn observe(elb: &Client, names: &Names) -> Result<Found> {
    let mut found = Found {
        nlb: find_load_balancer(elb, names).await?,
        ..Found::default()
    };
    if let Some(nlb) = &found.nlb {
        found.listeners = find_listeners(elb, &nlb.arn).await?;
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

fn elb_tags(stack: &str) -> Vec<Tag> {
    tags::standard(stack, Tier::LoadBalancer)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn missing(what: &str) -> Error {
    Error::aws(
        ErrorClass::Other,
        "Elastic Load Balancing",
        format!("answered without {what}"),
    )
}

/// Creates what is missing. A create whose answer says it exists already is looked up
/// again: the stack's own (an earlier attempt that succeeded unseen) is adopted.
pub async fn ensure(
    elb: &Client,
    names: &Names,
    network: &NetworkOutputs,
) -> Result<LoadBalancerOutputs> {
    let nlb = ensure_nlb(elb, names, network).await?;
    let mut arns = BTreeMap::new();
    for colour in COLOURS {
        arns.insert(
            colour,
            ensure_target_group(elb, names, colour, &network.vpc_id).await?,
        );
    }
    // Both listeners start on blue, where the service's first task set registers. After
    // that CodeDeploy owns which group each listener forwards to, so an existing listener
    // is adopted as it is, never re-pointed.
    let mut listeners = find_listeners(elb, &nlb.arn).await?;
    for port in [PROD_PORT, TEST_PORT] {
        if let std::collections::btree_map::Entry::Vacant(slot) = listeners.entry(port) {
            slot.insert(create_listener(elb, names, &nlb.arn, port, &arns["blue"]).await?);
        }
    }
    info!(load_balancer = nlb.arn, "load balancer ready");
    Ok(LoadBalancerOutputs {
        dns_name: nlb.dns_name,
        load_balancer_arn: nlb.arn,
        prod_listener_arn: listeners[&PROD_PORT].clone(),
        test_listener_arn: listeners[&TEST_PORT].clone(),
        blue_target_group_arn: arns["blue"].clone(),
        green_target_group_arn: arns["green"].clone(),
        blue_target_group_name: names.target_group("blue"),
        green_target_group_name: names.target_group("green"),
    })
}

fn refuse_foreign_nlb(nlb: &Nlb, names: &Names) -> Result<()> {
    if !nlb.network || !nlb.ours {
        return Err(Error::conflict(format!(
            "load balancer {} exists but is not this stack's Network Load Balancer; rename or remove it",
            names.load_balancer()
        )));
    }
    Ok(())
}

async fn ensure_nlb(elb: &Client, names: &Names, network: &NetworkOutputs) -> Result<Nlb> {
    if let Some(nlb) = find_load_balancer(elb, names).await? {
        refuse_foreign_nlb(&nlb, names)?;
        return Ok(nlb);
    }
    let name = names.load_balancer();
    let created = elb
        .create_load_balancer()
        .name(&name)
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .ip_address_type(IpAddressType::Ipv4)
        .set_subnets(Some(network.public_subnet_ids.clone()))
        .security_groups(&network.lb_security_group_id)
        .set_tags(Some(elb_tags(names.stack())))
        .send()
        .await
        .context(format!("create load balancer {name}"));
    match created {
        Ok(out) => {
            let lb = out
                .load_balancers()
                .first()
                .ok_or_else(|| missing("the new load balancer"))?;
            info!(name, "created network load balancer");
            Ok(Nlb {
                arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                dns_name: lb.dns_name().unwrap_or_default().to_string(),
                network: true,
                ours: true,
            })
        }
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let nlb = find_load_balancer(elb, names).await?.ok_or(e)?;
            refuse_foreign_nlb(&nlb, names)?;
            info!(name, "adopted the load balancer an earlier attempt made");
            Ok(nlb)
        }
        Err(e) => Err(e),
    }
}

/// A target group by its name, created when missing; the ARN.
async fn ensure_target_group(
    elb: &Client,
    names: &Names,
    colour: &str,
    vpc_id: &str,
) -> Result<String> {
    let name = names.target_group(colour);
    let adopt = |group: TargetGroup| {
        if group.ours {
            Ok(group.arn)
        } else {
            Err(Error::conflict(format!(
                "target group {name} exists but is not tagged for stack {}",
                names.stack()
            )))
        }
    };
    if let Some(group) = find_target_group(elb, names.stack(), &name).await? {
        return adopt(group);
    }
    let created = elb
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Tcp)
        .port(CONTAINER_PORT)
        .vpc_id(vpc_id)
        .target_type(TargetTypeEnum::Ip)
        // `/health` pings the database too: a task that cannot reach it takes no traffic.
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_path("/health")
        .health_check_port("traffic-port")
        .health_check_interval_seconds(10)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .matcher(Matcher::builder().http_code("200-399").build())
        .set_tags(Some(elb_tags(names.stack())))
        .send()
        .await
        .context(format!("create target group {name}"));
    let arn = match created {
        Ok(out) => out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .ok_or_else(|| missing("the new target group"))?
            .to_string(),
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let group = find_target_group(elb, names.stack(), &name)
                .await?
                .ok_or(e)?;
            info!(name, "adopted the target group an earlier attempt made");
            adopt(group)?
        }
        Err(e) => return Err(e),
    };
    // Deployments wait out the deregistration delay; 300 s is the default. Set on the
    // adopted one too: the attempt that made it may not have got this far.
    elb.modify_target_group_attributes()
        .target_group_arn(&arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .context(format!("set deregistration delay of {name}"))?;
    info!(name, "target group ready");
    Ok(arn)
}

async fn create_listener(
    elb: &Client,
    names: &Names,
    lb_arn: &str,
    port: i32,
    target_group_arn: &str,
) -> Result<String> {
    let created = elb
        .create_listener()
        .load_balancer_arn(lb_arn)
        .protocol(ProtocolEnum::Tcp)
        .port(port)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(target_group_arn)
                .build(),
        )
        .set_tags(Some(elb_tags(names.stack())))
        .send()
        .await
        .context(format!("create listener :{port} on {lb_arn}"));
    match created {
        Ok(out) => {
            info!(port, "created listener");
            Ok(out
                .listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .ok_or_else(|| missing("the new listener"))?
                .to_string())
        }
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let listeners = find_listeners(elb, lb_arn).await?;
            listeners.get(&port).cloned().ok_or(e)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{query_error, query_ok, Answer, Replay};

    resources::replayed_client!(elb, aws_sdk_elasticloadbalancingv2);

    fn network() -> NetworkOutputs {
        NetworkOutputs {
            vpc_id: "vpc-1".into(),
            vpc_cidr: "10.42.0.0/16".into(),
            availability_zones: vec!["a".into(), "b".into()],
            public_subnet_ids: vec!["subnet-pa".into(), "subnet-pb".into()],
            isolated_subnet_ids: vec![],
            internet_gateway_id: "igw".into(),
            public_route_table_id: "rtb".into(),
            isolated_route_table_id: "rtb-i".into(),
            lb_security_group_id: "sg-lb".into(),
            app_security_group_id: "sg-app".into(),
            db_security_group_id: "sg-db".into(),
            probe_security_group_id: None,
            changes: vec![],
        }
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

    fn new_load_balancer() -> Vec<Answer> {
        vec![
            query_error("DescribeLoadBalancers", 400, "LoadBalancerNotFound"),
            query_ok("CreateLoadBalancer", "<LoadBalancers><member><LoadBalancerArn>arn:lb</LoadBalancerArn><DNSName>v-nlb.example</DNSName><Type>network</Type></member></LoadBalancers>"),
        ]
    }

    fn new_group(colour: &str) -> Vec<Answer> {
        vec![
            query_error("DescribeTargetGroups", 400, "TargetGroupNotFound"),
            query_ok("CreateTargetGroup", &group(&format!("arn:tg-{colour}"))),
            query_ok("ModifyTargetGroupAttributes", "<Attributes/>"),
        ]
    }

    fn new_listeners() -> Vec<Answer> {
        vec![
            query_ok("DescribeListeners", "<Listeners/>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l80</ListenerArn><Port>80</Port></member></Listeners>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port></member></Listeners>"),
        ]
    }

    #[tokio::test]
    async fn a_fresh_tier_is_made_once_with_both_listeners_on_blue() {
        let mut script = new_load_balancer();
        script.extend(new_group("blue"));
        script.extend(new_group("green"));
        script.extend(new_listeners());
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &Names::new("v"), &network())
            .await
            .unwrap();
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
        let mut script = new_load_balancer();
        script.extend([
            query_error("DescribeTargetGroups", 400, "TargetGroupNotFound"),
            // AWS made it and the answer was lost; the SDK's retry hears that it exists.
            query_error("CreateTargetGroup", 500, "InternalFailure"),
            query_error("CreateTargetGroup", 400, "DuplicateTargetGroupName"),
            query_ok("DescribeTargetGroups", &group("arn:tg-blue")),
            tags_of("arn:tg-blue", "v"),
            query_ok("ModifyTargetGroupAttributes", "<Attributes/>"),
        ]);
        script.extend(new_group("green"));
        script.extend(new_listeners());
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &Names::new("v"), &network())
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(out.blue_target_group_arn, "arn:tg-blue");
    }

    #[tokio::test]
    async fn a_target_group_by_the_name_that_is_not_the_stacks_is_refused() {
        let mut script = new_load_balancer();
        script.extend([
            query_error("DescribeTargetGroups", 400, "TargetGroupNotFound"),
            query_error("CreateTargetGroup", 400, "DuplicateTargetGroupName"),
            query_ok("DescribeTargetGroups", &group("arn:tg-squatter")),
            tags_of("arn:tg-squatter", "someone-else"),
        ]);
        let replay = Replay::new(script);
        let error = ensure(&elb(&replay), &Names::new("v"), &network())
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
        let mut script = new_load_balancer();
        script.extend(new_group("blue"));
        script.extend(new_group("green"));
        script.extend([
            query_ok("DescribeListeners", "<Listeners/>"),
            query_error("CreateListener", 400, "DuplicateListener"),
            query_ok("DescribeListeners", "<Listeners><member><ListenerArn>arn:l80</ListenerArn><Port>80</Port></member></Listeners>"),
            query_ok("CreateListener", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port></member></Listeners>"),
        ]);
        let replay = Replay::new(script);
        let out = ensure(&elb(&replay), &Names::new("v"), &network())
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(out.prod_listener_arn, "arn:l80");
    }
}
