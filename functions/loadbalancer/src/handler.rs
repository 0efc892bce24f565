use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, IpAddressType, Listener, LoadBalancer, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, Tag, TargetGroup, TargetGroupAttribute,
    TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use tracing::info;
use vikunja_core::names::{CONTAINER_PORT, PROD_PORT, TEST_PORT};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{
    inventory, Error, LoadBalancerOutputs, Names, NetworkOutputs, ProvisionState, Result,
    SdkContext,
};

pub async fn handle(
    elb: &Client,
    ssm: &aws_sdk_ssm::Client,
    state: ProvisionState,
) -> Result<LoadBalancerOutputs> {
    state.settings.validate()?;
    let network = ProvisionState::require(&state.network, "network")?;
    let outputs = ensure_load_balancer(elb, &Names::new(&state.settings.stack), network).await?;
    inventory::record(ssm, &state.settings.stack, Tier::LoadBalancer, &outputs).await?;
    Ok(outputs)
}

pub async fn ensure_load_balancer(
    elb: &Client,
    names: &Names,
    network: &NetworkOutputs,
) -> Result<LoadBalancerOutputs> {
    let lb = ensure_nlb(elb, names, network).await?;
    let lb_arn = lb
        .load_balancer_arn()
        .ok_or_else(|| missing("a load balancer ARN"))?
        .to_string();
    let blue =
        ensure_target_group(elb, names, &names.target_group("blue"), &network.vpc_id).await?;
    let green =
        ensure_target_group(elb, names, &names.target_group("green"), &network.vpc_id).await?;
    let blue_arn = blue
        .target_group_arn()
        .ok_or_else(|| missing("a target group ARN"))?
        .to_string();
    let green_arn = green
        .target_group_arn()
        .ok_or_else(|| missing("a target group ARN"))?
        .to_string();
    // Both listeners start on blue, where the service's first task set registers. After
    // that CodeDeploy owns which group each listener forwards to, so an existing listener
    // is adopted as it is, never re-pointed.
    let prod = ensure_listener(elb, names, &lb_arn, PROD_PORT, &blue_arn).await?;
    let test = ensure_listener(elb, names, &lb_arn, TEST_PORT, &blue_arn).await?;
    info!(load_balancer = lb_arn, "load balancer ready");
    Ok(LoadBalancerOutputs {
        dns_name: lb
            .dns_name()
            .ok_or_else(|| missing("a DNS name"))?
            .to_string(),
        load_balancer_arn: lb_arn,
        prod_listener_arn: prod
            .listener_arn()
            .ok_or_else(|| missing("a listener ARN"))?
            .to_string(),
        test_listener_arn: test
            .listener_arn()
            .ok_or_else(|| missing("a listener ARN"))?
            .to_string(),
        blue_target_group_arn: blue_arn,
        green_target_group_arn: green_arn,
        blue_target_group_name: names.target_group("blue"),
        green_target_group_name: names.target_group("green"),
    })
}

fn missing(what: &str) -> Error {
    Error::conflict(format!("Elastic Load Balancing answered without {what}"))
}

fn elb_tags(stack: &str) -> Vec<Tag> {
    tags::standard(stack, Tier::LoadBalancer)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Whether the resource carries our stack tag: a load balancer by our name that is not
/// ours is never adopted.
async fn is_ours(elb: &Client, arn: &str, stack: &str) -> Result<bool> {
    let described = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .context(format!("read tags of {arn}"))?;
    Ok(described
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .any(|t| t.key() == Some(tags::STACK) && t.value() == Some(stack)))
}

async fn ensure_nlb(elb: &Client, names: &Names, network: &NetworkOutputs) -> Result<LoadBalancer> {
    let name = names.load_balancer();
    match elb.describe_load_balancers().names(&name).send().await {
        Ok(out) => {
            let lb = out
                .load_balancers()
                .first()
                .cloned()
                .ok_or_else(|| missing("the load balancer"))?;
            let arn = lb.load_balancer_arn().unwrap_or_default();
            if lb.r#type() != Some(&LoadBalancerTypeEnum::Network)
                || !is_ours(elb, arn, names.stack()).await?
            {
                return Err(Error::conflict(format!(
                    "load balancer {name} exists but is not this stack's Network Load Balancer; rename or remove it"
                )));
            }
            return Ok(lb);
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_load_balancer_not_found_exception()) => {}
        Err(e) => return Err(e).context(format!("find load balancer {name}")),
    }
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
        .context(format!("create load balancer {name}"))?;
    info!(name, "created network load balancer");
    created
        .load_balancers()
        .first()
        .cloned()
        .ok_or_else(|| missing("the new load balancer"))
}

async fn ensure_target_group(
    elb: &Client,
    names: &Names,
    name: &str,
    vpc_id: &str,
) -> Result<TargetGroup> {
    match elb.describe_target_groups().names(name).send().await {
        Ok(out) => {
            let group = out
                .target_groups()
                .first()
                .cloned()
                .ok_or_else(|| missing("the target group"))?;
            if !is_ours(
                elb,
                group.target_group_arn().unwrap_or_default(),
                names.stack(),
            )
            .await?
            {
                return Err(Error::conflict(format!(
                    "target group {name} exists but is not tagged for stack {}",
                    names.stack()
                )));
            }
            return Ok(group);
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_target_group_not_found_exception()) => {}
        Err(e) => return Err(e).context(format!("find target group {name}")),
    }
    let created = elb
        .create_target_group()
        .name(name)
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
        .context(format!("create target group {name}"))?;
    let group = created
        .target_groups()
        .first()
        .cloned()
        .ok_or_else(|| missing("the new target group"))?;
    // Deployments wait out the deregistration delay; 300 s is the default.
    elb.modify_target_group_attributes()
        .target_group_arn(group.target_group_arn().unwrap_or_default())
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .context(format!("set deregistration delay of {name}"))?;
    info!(name, "created target group");
    Ok(group)
}

async fn ensure_listener(
    elb: &Client,
    names: &Names,
    lb_arn: &str,
    port: i32,
    target_group_arn: &str,
) -> Result<Listener> {
    let existing = elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .context(format!("list listeners of {lb_arn}"))?;
    if let Some(listener) = existing.listeners().iter().find(|l| l.port() == Some(port)) {
        return Ok(listener.clone());
    }
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
        .context(format!("create listener :{port} on {lb_arn}"))?;
    info!(port, "created listener");
    created
        .listeners()
        .first()
        .cloned()
        .ok_or_else(|| missing("the new listener"))
}
