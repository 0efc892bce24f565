//! Carries a load-balancer plan out. A create answered "already exists" is an earlier
//! attempt that succeeded unseen: the stack's own resource is looked up and adopted; one by
//! the name that is not the stack's is refused. Deletes of what is gone succeed.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use tracing::info;

use vikunja_core::names::{CONTAINER_PORT, TEST_PORT};
use vikunja_core::{Error, ErrorClass, LoadBalancerOutputs, NetworkOutputs, Result, SdkContext};

use super::diff::{diff, Op, Spec, TLS_POLICY};
use super::{
    elb_tags, find_listeners, find_load_balancer, find_target_group, missing, observe, Found, Nlb,
    TargetGroup, DEREGISTRATION_DELAY,
};
use resources::plan::Operation;

/// Observe, diff, stop if the plan says `up` stops, else apply: the tier as `plan` said.
pub async fn ensure(
    elb: &Client,
    spec: &Spec,
    network: &NetworkOutputs,
) -> Result<LoadBalancerOutputs> {
    let found = observe(elb, &spec.names).await?;
    let plan = diff(spec, &network.vpc_id, &found);
    apply(elb, spec, network, found, &plan.runnable()?.ops).await
}

/// The tier's ARNs, as found and as made by the operations so far.
struct Arns {
    nlb: Option<Nlb>,
    groups: BTreeMap<&'static str, String>,
    listeners: BTreeMap<i32, String>,
}

impl Arns {
    fn nlb(&self) -> Result<&Nlb> {
        self.nlb
            .as_ref()
            .ok_or_else(|| missing("the load balancer the plan needs"))
    }
    fn group(&self, colour: &str) -> Result<&str> {
        self.groups
            .get(colour)
            .map(String::as_str)
            .ok_or_else(|| missing(&format!("the {colour} target group the plan needs")))
    }
    fn listener(&self, port: i32) -> Result<String> {
        self.listeners
            .get(&port)
            .cloned()
            .ok_or_else(|| missing(&format!("the listener on port {port}")))
    }
}

pub async fn apply(
    elb: &Client,
    spec: &Spec,
    network: &NetworkOutputs,
    found: Found,
    ops: &[Op],
) -> Result<LoadBalancerOutputs> {
    let names = &spec.names;
    let mut arns = Arns {
        groups: super::COLOURS
            .into_iter()
            .filter_map(|c| Some((c, found.target_groups.get(c)?.arn.clone())))
            .collect(),
        nlb: found.nlb,
        listeners: found.listeners,
    };
    let mut changes = Vec::new();
    for op in ops {
        match op {
            Op::CreateLoadBalancer => arns.nlb = Some(create_nlb(elb, spec, network).await?),
            Op::CreateTargetGroup { colour } => {
                let arn = create_target_group(elb, spec, colour, &network.vpc_id).await?;
                arns.groups.insert(colour, arn);
            }
            Op::SetHealthCheck { colour } => {
                set_health_check(elb, spec, colour, arns.group(colour)?).await?
            }
            Op::SetDeregistrationDelay { colour } => {
                set_deregistration_delay(elb, spec, colour, arns.group(colour)?).await?
            }
            Op::CreateListener { port } => {
                let nlb = arns.nlb()?.arn.clone();
                let arn = create_listener(elb, spec, &nlb, *port, arns.group("blue")?).await?;
                arns.listeners.insert(*port, arn);
            }
            Op::SetListenerTls { port, arn } => set_listener_tls(elb, spec, *port, arn).await?,
            delete_op => delete(elb, delete_op).await?,
        }
        let change = op.describe(spec);
        info!(stack = names.stack(), change, "applied");
        changes.push(change);
    }
    let nlb = arns.nlb()?;
    Ok(LoadBalancerOutputs {
        dns_name: nlb.dns_name.clone(),
        load_balancer_arn: nlb.arn.clone(),
        prod_listener_arn: arns.listener(spec.prod_port())?,
        test_listener_arn: arns.listener(TEST_PORT)?,
        blue_target_group_arn: arns.group("blue")?.to_string(),
        green_target_group_arn: arns.group("green")?.to_string(),
        blue_target_group_name: names.target_group("blue"),
        green_target_group_name: names.target_group("green"),
        canonical_hosted_zone_id: Some(nlb.zone_id.clone()).filter(|z| !z.is_empty()),
        changes,
    })
}

/// One of `down`'s operations: what is already gone is deleted.
pub async fn delete(elb: &Client, op: &Op) -> Result<()> {
    let deleted = match op {
        Op::DeleteLoadBalancer { arn } => elb
            .delete_load_balancer()
            .load_balancer_arn(arn)
            .send()
            .await
            .map(|_| ())
            .context(format!("delete load balancer {arn}")),
        Op::DeleteTargetGroup { name, arn } => elb
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .map(|_| ())
            .context(format!("delete target group {name}")),
        other => return Err(Error::conflict(format!("{other:?} is not a delete"))),
    };
    match deleted {
        Err(e) if e.is(ErrorClass::NotFound) => Ok(()),
        other => other,
    }
}

fn refuse_foreign_nlb(nlb: Nlb, spec: &Spec) -> Result<Nlb> {
    if !nlb.network || !nlb.ours {
        return Err(Error::conflict(format!(
            "load balancer {} exists but is not this stack's Network Load Balancer; rename or remove it",
            spec.names.load_balancer()
        )));
    }
    Ok(nlb)
}

async fn create_nlb(elb: &Client, spec: &Spec, network: &NetworkOutputs) -> Result<Nlb> {
    let names = &spec.names;
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
            Ok(Nlb {
                arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                dns_name: lb.dns_name().unwrap_or_default().to_string(),
                zone_id: lb
                    .canonical_hosted_zone_id()
                    .unwrap_or_default()
                    .to_string(),
                network: true,
                ours: true,
            })
        }
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let nlb = find_load_balancer(elb, names).await?.ok_or(e)?;
            info!(name, "adopted the load balancer an earlier attempt made");
            refuse_foreign_nlb(nlb, spec)
        }
        Err(e) => Err(e),
    }
}

/// The spec's health check on a create or a modify request (two builder types, one set of
/// setters).
macro_rules! with_health_check {
    ($request:expr, $check:expr) => {
        $request
            .health_check_protocol(ProtocolEnum::from($check.protocol.as_str()))
            .health_check_path(&$check.path)
            .health_check_port(&$check.port)
            .health_check_interval_seconds($check.interval_seconds)
            .healthy_threshold_count($check.healthy_threshold)
            .unhealthy_threshold_count($check.unhealthy_threshold)
            .matcher(Matcher::builder().http_code(&$check.matcher).build())
    };
}

fn adopt_group(group: TargetGroup, spec: &Spec, name: &str) -> Result<String> {
    if group.ours {
        return Ok(group.arn);
    }
    Err(Error::conflict(format!(
        "target group {name} exists but is not tagged for stack {}",
        spec.names.stack()
    )))
}

async fn create_target_group(
    elb: &Client,
    spec: &Spec,
    colour: &str,
    vpc_id: &str,
) -> Result<String> {
    let names = &spec.names;
    let name = names.target_group(colour);
    let check = &spec.health_check;
    let request = elb
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Tcp)
        .port(CONTAINER_PORT)
        .vpc_id(vpc_id)
        .target_type(TargetTypeEnum::Ip);
    let created = with_health_check!(request, check)
        .set_tags(Some(elb_tags(names.stack())))
        .send()
        .await
        .context(format!("create target group {name}"));
    match created {
        Ok(out) => Ok(out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .ok_or_else(|| missing("the new target group"))?
            .to_string()),
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let group = find_target_group(elb, names.stack(), &name)
                .await?
                .ok_or(e)?;
            info!(name, "adopted the target group an earlier attempt made");
            adopt_group(group, spec, &name)
        }
        Err(e) => Err(e),
    }
}

async fn set_health_check(elb: &Client, spec: &Spec, colour: &str, arn: &str) -> Result<()> {
    let check = &spec.health_check;
    let request = elb.modify_target_group().target_group_arn(arn);
    with_health_check!(request, check)
        .send()
        .await
        .context(format!(
            "set the health check of {}",
            spec.names.target_group(colour)
        ))?;
    Ok(())
}

async fn set_deregistration_delay(
    elb: &Client,
    spec: &Spec,
    colour: &str,
    arn: &str,
) -> Result<()> {
    elb.modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key(DEREGISTRATION_DELAY)
                .value(spec.deregistration_delay_seconds.to_string())
                .build(),
        )
        .send()
        .await
        .context(format!(
            "set the deregistration delay of {}",
            spec.names.target_group(colour)
        ))?;
    Ok(())
}

async fn create_listener(
    elb: &Client,
    spec: &Spec,
    lb_arn: &str,
    port: i32,
    target_group_arn: &str,
) -> Result<String> {
    let mut request = elb
        .create_listener()
        .load_balancer_arn(lb_arn)
        .protocol(ProtocolEnum::from(spec.protocol(port)))
        .port(port);
    if let Some(certificate) = spec.certificate_for(port) {
        request = request
            .certificates(Certificate::builder().certificate_arn(certificate).build())
            .ssl_policy(TLS_POLICY);
    }
    let created = request
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(target_group_arn)
                .build(),
        )
        .set_tags(Some(elb_tags(spec.names.stack())))
        .send()
        .await
        .context(format!("create listener :{port} on {lb_arn}"));
    match created {
        Ok(out) => Ok(out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| missing("the new listener"))?
            .to_string()),
        Err(e) if e.is(ErrorClass::AlreadyExists) => {
            let listeners = find_listeners(elb, lb_arn).await?;
            listeners.get(&port).cloned().ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// The production listener's protocol in place: TLS with the origin certificate and a TLS
/// 1.2+ policy, or back to TCP (without the certificate) when the domain is gone.
async fn set_listener_tls(elb: &Client, spec: &Spec, port: i32, arn: &str) -> Result<()> {
    let mut request = elb
        .modify_listener()
        .listener_arn(arn)
        .port(port)
        .protocol(ProtocolEnum::from(spec.protocol(port)));
    if let Some(certificate) = spec.certificate_for(port) {
        request = request
            .certificates(Certificate::builder().certificate_arn(certificate).build())
            .ssl_policy(TLS_POLICY);
    }
    request
        .send()
        .await
        .context(format!("set listener :{port} to {}", spec.protocol(port)))?;
    Ok(())
}
