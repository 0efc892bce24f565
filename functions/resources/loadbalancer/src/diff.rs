//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together; and the same findings against nothing → what `down` deletes.
//! Pure: unit-tested with made-up findings.

use vikunja_core::names::{prod_port, CONTAINER_PORT, TEST_PORT};
use vikunja_core::tags;
use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::Names;

use super::{Found, HealthCheck, COLOURS};
use resources::plan::{create, Check, How, Item, Operation};

/// What `up` wants of the tier, beyond the stack's names: every target group checks
/// `/health` (which pings the database too: a task that cannot reach it takes no traffic)
/// and lets deployments wait 30 s for connections to drain, not the default 300 s.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub health_check: HealthCheck,
    pub deregistration_delay_seconds: i32,
    /// With the operator's own domain: the origin certificate (ACM, this region), and the
    /// production listener is TLS on 443 with it; without, TCP on 80.
    pub tls_certificate: Option<String>,
}

/// TLS 1.2 and 1.3 only, forward-secret ciphers.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

impl Spec {
    pub fn new(names: Names) -> Self {
        Self {
            names,
            health_check: HealthCheck {
                protocol: "HTTP".into(),
                path: "/health".into(),
                port: "traffic-port".into(),
                interval_seconds: 10,
                healthy_threshold: 2,
                unhealthy_threshold: 2,
                matcher: "200-399".into(),
            },
            deregistration_delay_seconds: 30,
            tls_certificate: None,
        }
    }

    /// The spec with the own domain's origin certificate.
    pub fn with_tls(mut self, certificate: Option<String>) -> Self {
        self.tls_certificate = certificate;
        self
    }

    pub fn prod_port(&self) -> i32 {
        prod_port(self.tls_certificate.is_some())
    }

    /// The certificate a listener serves: the origin's, on the production port only.
    pub fn certificate_for(&self, port: i32) -> Option<&str> {
        self.tls_certificate
            .as_deref()
            .filter(|_| port == self.prod_port())
    }

    /// A listener's protocol as `up` makes it.
    pub fn protocol(&self, port: i32) -> &'static str {
        if self.certificate_for(port).is_some() {
            "TLS"
        } else {
            "TCP"
        }
    }
}

/// One change to the tier. Listeners start on blue, where the service's first task set
/// registers; after that CodeDeploy owns where each one forwards, so none is ever re-pointed.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateLoadBalancer,
    CreateTargetGroup {
        colour: &'static str,
    },
    SetHealthCheck {
        colour: &'static str,
    },
    SetDeregistrationDelay {
        colour: &'static str,
    },
    CreateListener {
        port: i32,
    },
    /// The production listener's protocol and certificate, set in place.
    SetListenerTls {
        port: i32,
        arn: String,
    },
    /// Its listeners go with it.
    DeleteLoadBalancer {
        arn: String,
    },
    /// By name: `down` also deletes groups an older inventory recorded under other names.
    DeleteTargetGroup {
        name: String,
        arn: String,
    },
}

impl Operation for Op {
    type Context = Spec;

    /// How `plan` lists it and `up` or `down` reports it.
    fn describe(&self, spec: &Spec) -> String {
        let names = &spec.names;
        let check = &spec.health_check;
        match self {
            Op::CreateLoadBalancer => format!(
                "create Network Load Balancer {} (internet-facing, in the public subnets)",
                names.load_balancer()
            ),
            Op::CreateTargetGroup { colour } => format!(
                "create target group {} (TCP {CONTAINER_PORT}, target type ip)",
                names.target_group(colour)
            ),
            Op::SetHealthCheck { colour } => format!(
                "set the health check of {} to {} {} every {} s",
                names.target_group(colour),
                check.protocol,
                check.path,
                check.interval_seconds
            ),
            Op::SetDeregistrationDelay { colour } => format!(
                "set the deregistration delay of {} to {} s",
                names.target_group(colour),
                spec.deregistration_delay_seconds
            ),
            Op::CreateListener { port } => format!(
                "create listener {}:{port} ({}) forwarding to {}",
                names.load_balancer(),
                spec.protocol(*port),
                names.target_group("blue")
            ),
            Op::SetListenerTls { port, .. } => format!(
                "set listener {}:{port} to {}{}",
                names.load_balancer(),
                spec.protocol(*port),
                spec.tls_certificate
                    .as_deref()
                    .map(|c| format!(" with certificate {c}"))
                    .unwrap_or_default()
            ),
            Op::DeleteLoadBalancer { .. } => format!(
                "delete load balancer {} and its listeners",
                names.load_balancer()
            ),
            Op::DeleteTargetGroup { name, .. } => format!("delete target group {name}"),
        }
    }
}

/// The tier's plan.
pub type Plan = resources::plan::Plan<Op>;

/// `vpc` is the network's VPC as the caller knows it: its id, or what it will be.
pub fn diff(spec: &Spec, vpc: &str, found: &Found) -> Plan {
    let names = &spec.names;
    let mut plan = Plan::default();
    let name = names.load_balancer();
    match &found.nlb {
        None => plan.push(
            create(
                "load-balancer",
                &name,
                Some("Network Load Balancer, internet-facing, in the public subnets".into()),
            ),
            vec![Op::CreateLoadBalancer],
            spec,
        ),
        Some(lb) => {
            let mut check = Check::existing("load-balancer", &name, &lb.arn);
            let fix = format!("up adopts only this stack's Network Load Balancer under the name {name}: rename or remove the one there");
            check.owner(lb.ours, names.stack(), fix.clone());
            check.compare(
                "type",
                if lb.network { "network" } else { "not network" },
                "network",
                How::UpStops,
                Some(fix),
            );
            plan.push(check.done(), vec![], spec);
        }
    }
    for colour in COLOURS {
        let (item, ops) = target_group(spec, vpc, found, colour);
        plan.push(item, ops, spec);
    }
    for port in [spec.prod_port(), TEST_PORT] {
        let name = format!("{}:{port}", names.load_balancer());
        let role = if port == spec.prod_port() {
            "production"
        } else {
            "test"
        };
        match found.listeners.get(&port) {
            Some(arn) if found.nlb.is_some() => {
                let mut check = Check::existing("listener", &name, arn);
                check.note(format!("the {role} listener's target group (blue or green) is CodeDeploy's to switch: not compared"));
                let tls = found.listener_tls.get(&port).cloned().unwrap_or_default();
                let show = |protocol: &str, certificate: Option<&str>, policy: Option<&str>| {
                    match certificate {
                        Some(c) => {
                            format!("{protocol} with {c} ({})", policy.unwrap_or("no policy"))
                        }
                        None => protocol.to_string(),
                    }
                };
                let want_certificate = spec.certificate_for(port);
                let have = show(
                    &tls.protocol,
                    tls.certificate.as_deref(),
                    tls.ssl_policy.as_deref(),
                );
                let want = show(
                    spec.protocol(port),
                    want_certificate,
                    want_certificate.map(|_| TLS_POLICY),
                );
                let differs = have != want;
                check.compare("protocol", have, want, How::InPlace, None);
                let ops = if differs {
                    vec![Op::SetListenerTls {
                        port,
                        arn: arn.clone(),
                    }]
                } else {
                    vec![]
                };
                plan.push(check.done(), ops, spec);
            }
            _ => plan.push(
                create(
                    "listener",
                    &name,
                    Some(format!("{role}, {}, forwards to blue", spec.protocol(port))),
                ),
                vec![Op::CreateListener { port }],
                spec,
            ),
        }
    }
    plan
}

fn target_group(spec: &Spec, vpc: &str, found: &Found, colour: &'static str) -> (Item, Vec<Op>) {
    let names = &spec.names;
    let name = names.target_group(colour);
    let Some(group) = found.target_groups.get(colour) else {
        let item = create(
            "target-group",
            &name,
            Some(format!(
                "TCP {CONTAINER_PORT}, target type ip, health check {} {}",
                spec.health_check.protocol, spec.health_check.path
            )),
        );
        let ops = vec![
            Op::CreateTargetGroup { colour },
            Op::SetDeregistrationDelay { colour },
        ];
        return (item, ops);
    };
    let mut check = Check::existing("target-group", &name, &group.arn);
    let fix = format!("target group {name} exists but is not tagged for this stack, and up refuses it: rename or remove it");
    check.owner(group.ours, names.stack(), fix);
    let fix = Some(format!(
        "AWS cannot change a target group's port, protocol, target type or VPC, and up adopts {name} as it is: \
         replacing it means replacing what uses it (listeners, service, deployment group) — in practice \
         `vikunja-aws down` and `up`"
    ));
    let port = group.port.map(|p| p.to_string()).unwrap_or_default();
    check.compare("port", port, CONTAINER_PORT, How::UpLeavesIt, fix.clone());
    check.compare(
        "protocol",
        &group.protocol,
        "TCP",
        How::UpLeavesIt,
        fix.clone(),
    );
    check.compare(
        "targetType",
        &group.target_type,
        "ip",
        How::UpLeavesIt,
        fix.clone(),
    );
    check.compare("vpc", &group.vpc_id, vpc, How::UpLeavesIt, fix);
    let mut ops = Vec::new();
    let before = check.item.differences.len();
    check.compare(
        "healthCheck",
        group.health_check.show(),
        spec.health_check.show(),
        How::InPlace,
        None,
    );
    if check.item.differences.len() > before {
        ops.push(Op::SetHealthCheck { colour });
    }
    let delay = spec.deregistration_delay_seconds.to_string();
    let current = group
        .deregistration_delay_seconds
        .as_deref()
        .unwrap_or("unknown");
    check.compare(
        "deregistration_delay.timeout_seconds",
        current,
        &delay,
        How::InPlace,
        None,
    );
    if current != delay {
        ops.push(Op::SetDeregistrationDelay { colour });
    }
    if !group.ours {
        ops.clear(); // `up` stops here: it changes nothing of someone else's
    }
    (check.done(), ops)
}

/// What `down` does with the findings: the diff against nothing. Only what carries the
/// stack's tag is deleted; anything else by the stack's names is left and said so.
pub fn retire(spec: &Spec, found: &Found) -> (PlannedTier, Vec<Op>) {
    let names = &spec.names;
    let mut tier = PlannedTier {
        tier: "loadbalancer".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    let not_ours = |kind: &str, id: String| Kept {
        kind: kind.into(),
        id,
        reason: format!(
            "not tagged {}={}: not this stack's, never touched",
            tags::STACK,
            names.stack()
        ),
    };
    let resource = |kind: &str, id: String| Resource {
        kind: kind.into(),
        id,
    };
    match &found.nlb {
        Some(lb) if lb.ours => {
            let name = names.load_balancer();
            tier.delete.push(resource("load balancer", name.clone()));
            let listeners = found.listeners.keys().map(|port| format!("{name}:{port}"));
            tier.delete
                .extend(listeners.map(|l| resource("listener", l)));
            ops.push(Op::DeleteLoadBalancer {
                arn: lb.arn.clone(),
            });
        }
        Some(_) => tier
            .keep
            .push(not_ours("load balancer", names.load_balancer())),
        None => {}
    }
    for (key, group) in &found.target_groups {
        let name = group_name(names, key);
        if group.ours {
            tier.delete.push(resource("target group", name.clone()));
            ops.push(Op::DeleteTargetGroup {
                name,
                arn: group.arn.clone(),
            });
        } else {
            tier.keep.push(not_ours("target group", name));
        }
    }
    (tier, ops)
}

/// Target groups are found by colour under the stack's names, and by name when an
/// inventory recorded another one.
pub fn group_name(names: &Names, key: &str) -> String {
    if COLOURS.contains(&key) {
        names.target_group(key)
    } else {
        key.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ListenerTls, Nlb, TargetGroup};
    use resources::plan::Action;
    use vikunja_core::names::{PROD_PORT, PROD_TLS_PORT};

    fn spec() -> Spec {
        Spec::new(Names::new("v"))
    }

    /// The tier as `up` leaves it.
    fn converged() -> Found {
        let mut found = Found {
            nlb: Some(Nlb {
                arn: "arn:lb".into(),
                dns_name: "v-nlb.example".into(),
                zone_id: "Z1".into(),
                network: true,
                ours: true,
            }),
            ..Found::default()
        };
        for colour in COLOURS {
            let group = TargetGroup {
                arn: format!("arn:tg-{colour}"),
                ours: true,
                port: Some(CONTAINER_PORT),
                protocol: "TCP".into(),
                target_type: "ip".into(),
                vpc_id: "vpc-1".into(),
                health_check: spec().health_check,
                deregistration_delay_seconds: Some("30".into()),
            };
            found.target_groups.insert(colour.into(), group);
        }
        found.listeners.insert(PROD_PORT, "arn:l80".into());
        found.listeners.insert(TEST_PORT, "arn:l8080".into());
        for port in [PROD_PORT, TEST_PORT] {
            let tls = ListenerTls {
                protocol: "TCP".into(),
                ..ListenerTls::default()
            };
            found.listener_tls.insert(port, tls);
        }
        found
    }

    #[test]
    fn nothing_found_plans_every_create_in_dependency_order() {
        let plan = diff(&spec(), "(the new VPC)", &Found::default());
        assert_eq!(
            plan.ops,
            vec![
                Op::CreateLoadBalancer,
                Op::CreateTargetGroup { colour: "blue" },
                Op::SetDeregistrationDelay { colour: "blue" },
                Op::CreateTargetGroup { colour: "green" },
                Op::SetDeregistrationDelay { colour: "green" },
                Op::CreateListener { port: PROD_PORT },
                Op::CreateListener { port: TEST_PORT },
            ]
        );
        assert!(plan.items.iter().all(|i| i.action == Action::Create));
    }

    #[test]
    fn with_a_domain_the_production_listener_is_tls_on_443_with_the_origin_certificate() {
        let spec = spec().with_tls(Some("arn:acm:origin".into()));
        let plan = diff(&spec, "(the new VPC)", &Found::default());
        assert!(plan.ops.contains(&Op::CreateListener {
            port: PROD_TLS_PORT
        }));
        assert!(!plan.ops.contains(&Op::CreateListener { port: PROD_PORT }));
        let listener = plan.items.iter().find(|i| i.name == "v-nlb:443").unwrap();
        assert_eq!(
            listener.detail.as_deref(),
            Some("production, TLS, forwards to blue")
        );

        let mut found = converged();
        let arn = found.listeners.remove(&PROD_PORT).unwrap();
        found.listener_tls.remove(&PROD_PORT);
        found.listeners.insert(PROD_TLS_PORT, arn);
        found.listener_tls.insert(
            PROD_TLS_PORT,
            ListenerTls {
                protocol: "TCP".into(),
                ..ListenerTls::default()
            },
        );
        let plan = diff(&spec, "vpc-1", &found);
        assert_eq!(
            plan.ops,
            vec![Op::SetListenerTls {
                port: PROD_TLS_PORT,
                arn: "arn:l80".into()
            }]
        );
        found.listener_tls.insert(
            PROD_TLS_PORT,
            ListenerTls {
                protocol: "TLS".into(),
                certificate: Some("arn:acm:origin".into()),
                ssl_policy: Some(TLS_POLICY.into()),
            },
        );
        assert_eq!(diff(&spec, "vpc-1", &found).ops, vec![]);
    }

    #[test]
    fn a_converged_tier_plans_nothing() {
        let plan = diff(&spec(), "vpc-1", &converged());
        assert_eq!(plan.ops, vec![]);
        assert!(
            plan.items.iter().all(|i| i.action == Action::Keep),
            "{:#?}",
            plan.items
        );
    }

    #[test]
    fn drift_in_what_aws_changes_in_place_is_changed_in_place() {
        let mut found = converged();
        let blue = found.target_groups.get_mut("blue").unwrap();
        blue.health_check.path = "/".into();
        let green = found.target_groups.get_mut("green").unwrap();
        green.deregistration_delay_seconds = Some("300".into());
        let plan = diff(&spec(), "vpc-1", &found);
        assert_eq!(
            plan.ops,
            vec![
                Op::SetHealthCheck { colour: "blue" },
                Op::SetDeregistrationDelay { colour: "green" },
            ]
        );
        let blue = &plan.items[1];
        assert_eq!(blue.action, Action::Change);
        assert_eq!(
            blue.actions,
            vec!["set the health check of v-blue to HTTP /health every 10 s"]
        );
        assert_eq!(plan.stop(), None);
    }

    #[test]
    fn someone_elses_target_group_stops_up_and_is_not_touched() {
        let mut found = converged();
        let green = found.target_groups.get_mut("green").unwrap();
        green.ours = false;
        green.health_check.path = "/theirs".into();
        let plan = diff(&spec(), "vpc-1", &found);
        assert_eq!(plan.ops, vec![]);
        let stop = plan.stop().expect("up stops");
        assert!(
            stop.starts_with("target-group v-green cannot change in place: tag vikunja:stack"),
            "{stop}"
        );
    }

    #[test]
    fn a_port_that_differs_is_left_and_said_so() {
        let mut found = converged();
        found.target_groups.get_mut("blue").unwrap().port = Some(80);
        let plan = diff(&spec(), "vpc-1", &found);
        assert_eq!(plan.ops, vec![]);
        assert_eq!(plan.items[1].action, Action::CannotChangeInPlace);
        assert_eq!(plan.stop(), None);
    }

    #[test]
    fn down_deletes_only_what_is_the_stacks() {
        let mut found = converged();
        found.target_groups.get_mut("green").unwrap().ours = false;
        let mut old = found.target_groups["blue"].clone();
        old.arn = "arn:tg-old".into();
        found.target_groups.insert("v-old-blue".into(), old);
        let (tier, ops) = retire(&spec(), &found);
        assert_eq!(
            ops,
            vec![
                Op::DeleteLoadBalancer {
                    arn: "arn:lb".into()
                },
                Op::DeleteTargetGroup {
                    name: "v-blue".into(),
                    arn: "arn:tg-blue".into()
                },
                Op::DeleteTargetGroup {
                    name: "v-old-blue".into(),
                    arn: "arn:tg-old".into()
                },
            ]
        );
        let deleted: Vec<String> = tier
            .delete
            .iter()
            .map(|r| format!("{} {}", r.kind, r.id))
            .collect();
        assert_eq!(
            deleted,
            [
                "load balancer v-nlb",
                "listener v-nlb:80",
                "listener v-nlb:8080",
                "target group v-blue",
                "target group v-old-blue"
            ]
        );
        assert_eq!(tier.keep.len(), 1);
        assert_eq!(tier.keep[0].id, "v-green");
    }
}
