//! The pure half of `plan`: what each provisioning function would do with what was found.
//! No AWS here — the desired state comes from the settings, the stack's names and the tiers'
//! own code (subnet carving, the distribution config, the task definition's inputs, the
//! site bucket's policy, the alarms' dimensions), so it is unit-tested with made-up findings.
//!
//! Every comparison states how `up` treats a difference: it changes it in place on its next
//! run, it leaves the resource as it is (it sets that field only when it creates the
//! resource, or AWS refuses the change in place), or it stops with an error there.

use serde_json::{json, Value};
use vikunja_core::names::{prod_port, CONTAINER_NAME, CONTAINER_PORT, DB_NAME, DB_USER, TEST_PORT};
use vikunja_core::tags::Tier;
use vikunja_core::{DataOutputs, FrontendOutputs, Names, Settings};

use super::observe::Observed;
use super::{Action, How, Item, TierPlan};
use resources::plan::{create, new, Check};

mod backend;
mod data;
mod delivery;
mod domain;
mod frontend;
mod loadbalancer;
mod network;

use backend::backend;
use data::data;
use delivery::delivery;
use domain::domain;
pub(crate) use domain::{own_domain, public_domain};
use frontend::frontend;
use loadbalancer::loadbalancer;
use network::{found_group, found_subnets, network};

/// Everything the diff needs besides the findings.
pub struct Desired<'a> {
    pub settings: &'a Settings,
    pub names: Names,
    pub account: &'a str,
    pub region: &'a str,
}

pub fn tiers(desired: &Desired, observed: &Observed) -> Vec<TierPlan> {
    let mut plans = vec![
        TierPlan::new(Tier::Network, network(desired, observed)),
        TierPlan::new(Tier::Data, data(desired, observed)),
        TierPlan::new(Tier::LoadBalancer, loadbalancer(desired, observed)),
        TierPlan::new(Tier::Frontend, frontend(desired, observed)),
        TierPlan::new(Tier::Backend, backend(desired, observed)),
        TierPlan::new(Tier::Delivery, delivery(desired, observed)),
    ];
    // Only a stack with its own domain has the tier (and its inventory).
    if own_domain(desired).is_some() {
        plans.push(TierPlan::new(Tier::Domain, domain(desired, observed)));
    }
    for plan in &mut plans {
        let record = inventory(desired, observed, plan);
        plan.items.push(record);
    }
    plans
}

/// The recorded outputs `up` writes at the end of each tier: each known value is compared
/// with what was found; a tier that creates anything records new values.
fn inventory(d: &Desired, o: &Observed, tier: &TierPlan) -> Item {
    let name = d.names.inventory_parameter(tier_of(&tier.tier));
    let Some(recorded) = o.inventory.get(&tier.tier) else {
        return create(
            "inventory",
            &name,
            Some("the tier's outputs (SSM parameter)".into()),
        );
    };
    let mut check = Check::existing("inventory", &name, "");
    for (key, want) in expected_outputs(d, o, &tier.tier) {
        let have = recorded.get(key).cloned().unwrap_or(Value::Null);
        check.compare(key, show(&have), show(&want), How::InPlace, None);
    }
    let creates = tier
        .items
        .iter()
        .filter(|i| i.action == Action::Create)
        .count();
    if creates > 0 {
        check.differ(
            "outputs",
            "as recorded",
            format!("with the {creates} new resource(s)"),
            How::InPlace,
            None,
        );
    }
    check.done()
}

fn tier_of(name: &str) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| t.as_str() == name)
        .unwrap_or(Tier::Network)
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The outputs a tier would record, as far as the findings tell them.
fn expected_outputs(d: &Desired, o: &Observed, tier: &str) -> Vec<(&'static str, Value)> {
    let names = &d.names;
    let mut out: Vec<(&'static str, Option<Value>)> = Vec::new();
    match tier {
        "network" => {
            let n = &o.network;
            let vpc = n.vpc.found();
            let group = |role: &str| found_group(o, role).map(Value::from);
            out.push(("vpcId", vpc.map(|v| json!(v.id))));
            out.push(("vpcCidr", vpc.map(|v| json!(v.cidr))));
            out.push((
                "availabilityZones",
                (o.zones.len() >= 2).then(|| json!(o.zones[..2])),
            ));
            out.push((
                "publicSubnetIds",
                found_subnets(d, o, "public").map(Value::from),
            ));
            out.push((
                "isolatedSubnetIds",
                found_subnets(d, o, "isolated").map(Value::from),
            ));
            out.push((
                "internetGatewayId",
                vpc.and(n.internet_gateway.found()).map(|g| json!(g.id)),
            ));
            for (key, role) in [
                ("publicRouteTableId", "public"),
                ("isolatedRouteTableId", "isolated"),
            ] {
                out.push((
                    key,
                    vpc.and(n.route_tables.get(role).and_then(|t| t.found()))
                        .map(|t| json!(t.id)),
                ));
            }
            out.push(("lbSecurityGroupId", group("lb")));
            out.push(("appSecurityGroupId", group("app")));
            out.push(("dbSecurityGroupId", group("db")));
        }
        "data" => {
            let db = o.data.database.as_ref();
            out.push(("dbInstanceId", Some(json!(names.db_instance()))));
            out.push((
                "endpoint",
                db.and_then(|db| db.endpoint.clone()).map(Value::from),
            ));
            out.push(("port", db.and_then(|db| db.port).map(Value::from)));
            out.push(("dbName", Some(json!(DB_NAME))));
            out.push(("username", Some(json!(DB_USER))));
            out.push((
                "masterSecretArn",
                db.and_then(|db| db.master_secret_arn.clone())
                    .map(Value::from),
            ));
            out.push((
                "serviceSecretArn",
                o.data.service_secret.as_ref().map(|s| json!(s.arn)),
            ));
            out.push(("subnetGroup", Some(json!(names.db_subnet_group()))));
        }
        "loadbalancer" => {
            let lb = &o.loadbalancer;
            let nlb = lb.nlb.as_ref();
            out.push(("loadBalancerArn", nlb.map(|l| json!(l.arn))));
            out.push(("dnsName", nlb.map(|l| json!(l.dns_name))));
            out.push((
                "prodListenerArn",
                nlb.and(lb.listeners.get(&prod_port(own_domain(d).is_some())))
                    .map(|a| json!(a)),
            ));
            out.push((
                "testListenerArn",
                nlb.and(lb.listeners.get(&TEST_PORT)).map(|a| json!(a)),
            ));
            out.push((
                "blueTargetGroupArn",
                lb.target_groups.get("blue").map(|g| json!(g.arn)),
            ));
            out.push((
                "greenTargetGroupArn",
                lb.target_groups.get("green").map(|g| json!(g.arn)),
            ));
            out.push((
                "blueTargetGroupName",
                Some(json!(names.target_group("blue"))),
            ));
            out.push((
                "greenTargetGroupName",
                Some(json!(names.target_group("green"))),
            ));
        }
        "frontend" => {
            let f = &o.frontend;
            let dist = f.distribution.as_ref();
            out.push((
                "siteBucket",
                Some(json!(names.site_bucket(d.account, d.region))),
            ));
            out.push((
                "uploadsBucket",
                Some(json!(names.uploads_bucket(d.account, d.region))),
            ));
            out.push(("distributionId", dist.map(|x| json!(x.id))));
            out.push(("distributionArn", dist.map(|x| json!(x.arn))));
            out.push(("domainName", dist.map(|x| json!(x.domain_name))));
            let public = |x: &resources_frontend::Distribution| public_domain(d, &x.domain_name);
            out.push(("url", dist.map(|x| json!(format!("https://{}", public(x))))));
            out.push((
                "apiUrl",
                dist.map(|x| json!(format!("https://{}/api/v1", public(x)))),
            ));
            out.push((
                "originAccessControlId",
                f.origin_access_control.as_ref().map(|x| json!(x.id)),
            ));
            out.push(("spaFunctionArn", f.function.as_ref().map(|x| json!(x.arn))));
        }
        "backend" => {
            let b = &o.backend;
            out.push(("repositoryName", Some(json!(names.repository()))));
            out.push(("repositoryUri", b.repository.as_ref().map(|r| json!(r.uri))));
            out.push(("logGroup", Some(json!(names.log_group()))));
            out.push(("cluster", Some(json!(names.cluster()))));
            out.push(("service", Some(json!(names.service()))));
            out.push(("serviceArn", b.service.as_ref().map(|s| json!(s.arn))));
            out.push((
                "taskDefinitionArn",
                b.service.as_ref().map(|s| json!(s.task_definition)),
            ));
            out.push(("containerName", Some(json!(CONTAINER_NAME))));
            out.push(("containerPort", Some(json!(CONTAINER_PORT))));
        }
        "domain" => {
            let own = own_domain(d);
            let certificate = |role: &str| {
                o.domain
                    .as_ref()
                    .and_then(|f| f.certificate(role))
                    .map(|c| json!(c.arn))
            };
            out.push(("domain", own.as_ref().map(|x| json!(x.name))));
            out.push((
                "hostedZoneId",
                own.as_ref().map(|x| json!(x.hosted_zone_id)),
            ));
            out.push(("originName", own.as_ref().map(|x| json!(x.origin_name()))));
            out.push(("siteCertificateArn", certificate("site")));
            out.push(("originCertificateArn", certificate("origin")));
        }
        _ => {
            // Under the ecs engine nothing deploys through CodeDeploy: its names are empty.
            let by_codedeploy = d.settings.engine == vikunja_core::settings::Engine::Codedeploy;
            let codedeploy = |name: String| json!(if by_codedeploy { name } else { String::new() });
            out.push(("engine", (!by_codedeploy).then(|| json!(d.settings.engine))));
            out.push((
                "application",
                Some(codedeploy(names.codedeploy_application())),
            ));
            out.push((
                "deploymentGroup",
                Some(codedeploy(names.deployment_group())),
            ));
            out.push((
                "deploymentConfig",
                Some(codedeploy(
                    resources_delivery::DEPLOYMENT_CONFIG.to_string(),
                )),
            ));
            out.push((
                "alarms",
                Some(json!([names.alarm("blue"), names.alarm("green")])),
            ));
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}
