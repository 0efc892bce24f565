//! The live stack drawn from what `status` reads (`vikunja-aws diagram --live`): the tiers
//! as frames — the VPC with its subnets per availability zone, the load balancer's two
//! listeners and blue/green target groups with the live one marked, the ECS service and its
//! tasks, the database, the files and the cache when present, the buckets and the
//! distribution's two behaviours, the delivery engine — each resource labelled with its id
//! and state, and drawn red where its tier's verdict is not healthy.

use std::fmt::Write as _;

use crate::status::{judge, Observed, Report};

use super::quote;

const HEALTHY: &str = "darkgreen";
const WRONG: &str = "firebrick";
const IDLE: &str = "grey55";

/// The DOT text of the stack as it is now.
pub fn dot(o: &Observed) -> String {
    let report = judge(o);
    let mut d = Drawing {
        out: String::new(),
        report: &report,
    };
    d.line(&format!(
        "\"users\" [shape=plaintext, label=\"users\\n{}\"];",
        quote(&entry_point(o))
    ));
    d.frontend(o);
    d.network(o);
    d.delivery(o);
    d.domain(o);
    let verdict = if report.healthy {
        "healthy"
    } else {
        "not healthy"
    };
    format!(
        "digraph \"{stack}\" {{\n  rankdir=LR;\n  compound=true;\n  newrank=true;\n  fontname=\"Helvetica\";\n  labelloc=t;\n  label=\"{stack}: {verdict}\";\n  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=rounded];\n  edge [fontname=\"Helvetica\", fontsize=9];\n{}}}\n",
        d.out,
        stack = quote(&o.stack),
    )
}

/// Where users reach the stack: the own domain, else the distribution's name.
fn entry_point(o: &Observed) -> String {
    if let Some(domain) = o.domain.as_ref().and_then(|d| d.domain.clone()) {
        return format!("https://{domain}");
    }
    o.frontend
        .as_ref()
        .map(|f| f.url.clone())
        .unwrap_or_default()
}

struct Drawing<'a> {
    out: String,
    report: &'a Report,
}

impl Drawing<'_> {
    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "  {text}");
    }

    /// The frame's colour: its tier's verdict.
    fn colour(&self, tier: &str) -> &'static str {
        match self.report.tiers.iter().find(|t| t.tier == tier) {
            Some(verdict) if verdict.healthy => HEALTHY,
            _ => WRONG,
        }
    }

    fn open(&mut self, id: &str, label: &str, tier: &str) {
        let colour = self.colour(tier);
        self.line(&format!(
            "subgraph \"cluster_{id}\" {{ label=\"{}\"; color={colour}; fontcolor={colour}; style=rounded;",
            quote(label)
        ));
    }

    fn close(&mut self) {
        self.line("}");
    }

    fn node(&mut self, id: &str, label: &str, extra: &str) {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        self.line(&format!("\"{id}\" [label=\"{}\"{extra}];", quote(label)));
    }

    fn edge(&mut self, from: &str, to: &str, label: &str, style: &str) {
        self.line(&super::edge(from, to, label, style));
    }

    fn frontend(&mut self, o: &Observed) {
        let Some(frontend) = &o.frontend else {
            return;
        };
        self.open("frontend", "frontend", "frontend");
        let distribution = o.distribution.as_ref().map_or_else(
            || "gone".to_string(),
            |d| {
                let enabled = if d.enabled { "" } else { ", disabled" };
                format!("{}{enabled}", d.status)
            },
        );
        self.node(
            "distribution",
            &format!(
                "CloudFront {}\n{}\n{distribution}",
                frontend.distribution_id, frontend.domain_name
            ),
            "",
        );
        let version = o
            .frontend_version
            .as_deref()
            .unwrap_or("no build published");
        self.node(
            "site",
            &format!(
                "S3 {}\nprivate, read by OAC {}\n{version}",
                frontend.site_bucket, frontend.origin_access_control_id
            ),
            "shape=cylinder, style=\"\"",
        );
        self.node(
            "uploads",
            &format!("S3 {}\nfrontend builds", frontend.uploads_bucket),
            "shape=cylinder, style=\"\"",
        );
        self.close();
        self.edge("users", "distribution", "HTTPS", "");
        self.edge(
            "distribution",
            "site",
            "default (*)\nSPA fallback → index.html",
            "",
        );
        if o.load_balancer.is_some() {
            self.edge("distribution", "nlb", "/api/*", "");
        }
        self.edge(
            "uploads",
            "site",
            "release-frontend syncs",
            &format!("style=dashed, color={IDLE}"),
        );
    }

    fn network(&mut self, o: &Observed) {
        let Some(network) = &o.network else {
            self.load_balancer(o);
            self.backend(o);
            self.data(o);
            return;
        };
        let found = if o.vpc_found { "" } else { " (gone)" };
        self.open(
            "vpc",
            &format!("VPC {} {}{found}", network.vpc_id, network.vpc_cidr),
            "network",
        );
        for (index, zone) in network.availability_zones.iter().enumerate() {
            self.open(&format!("az{index}"), zone, "network");
            let public = network
                .public_subnet_ids
                .get(index)
                .map_or("", String::as_str);
            let isolated = network
                .isolated_subnet_ids
                .get(index)
                .map_or("", String::as_str);
            self.node(
                &format!("public{index}"),
                &format!("public subnet {public}\nload balancer, tasks"),
                "shape=note, style=\"\"",
            );
            self.node(
                &format!("isolated{index}"),
                &format!("isolated subnet {isolated}\ndatabase, no route out"),
                "shape=note, style=\"\"",
            );
            self.close();
        }
        self.load_balancer(o);
        self.backend(o);
        self.data(o);
        self.close();
    }

    fn load_balancer(&mut self, o: &Observed) {
        let Some(lb) = &o.load_balancer else {
            return;
        };
        self.open("loadbalancer", "load balancer", "loadbalancer");
        self.node("nlb", &format!("NLB {}", lb.dns_name), "");
        self.node("prod", "production listener :80", "shape=cds, style=\"\"");
        self.node("test", "test listener :8080", "shape=cds, style=\"\"");
        let report = self.report;
        for group in &report.target_groups {
            let live = if group.live { " (live)" } else { "" };
            let colour = match (group.live, group.healthy == group.targets.len()) {
                (true, true) => HEALTHY,
                (true, false) => WRONG,
                (false, _) => IDLE,
            };
            self.node(
                &group.colour,
                &format!(
                    "{} target group{live}\n{} of {} targets healthy",
                    group.colour,
                    group.healthy,
                    group.targets.len()
                ),
                &format!("color={colour}"),
            );
        }
        self.close();
        self.edge("nlb", "prod", "", "");
        self.edge("nlb", "test", "", "");
        for (listener, forwards) in [("prod", &o.live_group), ("test", &o.test_group)] {
            for (colour, arn, _) in &o.groups {
                if forwards.as_ref() == Some(arn) {
                    self.edge(listener, colour, "forwards", "penwidth=2");
                }
            }
        }
    }

    fn backend(&mut self, o: &Observed) {
        let Some(backend) = &o.backend else {
            return;
        };
        self.open("backend", "backend", "backend");
        let service = o.service.as_ref().map_or_else(
            || "gone".to_string(),
            |s| {
                format!(
                    "{}, {} of {} tasks running\nVikunja {}",
                    s.status, s.running, s.desired, s.version
                )
            },
        );
        self.node(
            "service",
            &format!("ECS Fargate service {}\n{service}", backend.service),
            "",
        );
        self.node(
            "repository",
            &format!("ECR {}", backend.repository_name),
            "shape=folder, style=\"\"",
        );
        self.close();
        let report = self.report;
        for group in &report.target_groups {
            let style = if group.live {
                "penwidth=2".to_string()
            } else {
                format!("style=dashed, color={IDLE}")
            };
            self.edge(&group.colour, "service", "", &style);
        }
        self.edge(
            "repository",
            "service",
            "a push releases",
            &format!("style=dashed, color={IDLE}"),
        );
    }

    fn data(&mut self, o: &Observed) {
        let Some(data) = &o.data else {
            return;
        };
        self.open("data", "data", "data");
        let database = o.database.as_ref().map_or_else(
            || "gone".to_string(),
            |db| {
                format!(
                    "{} {} {}\n{}",
                    db.engine, db.engine_version, db.class, db.status
                )
            },
        );
        self.node(
            "database",
            &format!(
                "RDS {}\n{database}\nencrypted, password in Secrets Manager",
                data.db_instance_id
            ),
            "shape=cylinder, style=\"\"",
        );
        if let Some(files) = &data.files {
            self.node(
                "files",
                &format!("EFS {}\nattachments", files.file_system_id),
                "shape=cylinder, style=\"\"",
            );
        }
        if let Some(cache) = &data.cache {
            self.node(
                "cache",
                &format!("Valkey {}\nkeyvalue and cache", cache.replication_group_id),
                "shape=cylinder, style=\"\"",
            );
        }
        self.close();
        if o.backend.is_some() {
            self.edge("service", "database", "MySQL 3306", "");
            if data.files.is_some() {
                self.edge("service", "files", "NFS 2049", "");
            }
            if data.cache.is_some() {
                self.edge("service", "cache", "6379", "");
            }
        }
    }

    fn delivery(&mut self, o: &Observed) {
        let Some(delivery) = &o.delivery else {
            return;
        };
        self.open("delivery", "delivery", "delivery");
        let alarms = if o.alarms_in_alarm.is_empty() {
            format!("{} alarms, none in ALARM", delivery.alarms.len())
        } else {
            let names: Vec<&str> = o.alarms_in_alarm.iter().map(|a| a.name.as_str()).collect();
            format!("in ALARM: {}", names.join(", "))
        };
        self.node(
            "codedeploy",
            &match delivery.engine {
                vikunja_core::settings::Engine::Codedeploy => format!(
                    "CodeDeploy {} / {}\n{}\n{alarms}",
                    delivery.application, delivery.deployment_group, delivery.deployment_config
                ),
                vikunja_core::settings::Engine::Ecs => {
                    format!("{}\n{alarms}", delivery.engine_summary())
                }
            },
            "",
        );
        if let Some(probe) = &delivery.probe_function {
            self.node("probe", &format!("smoke test {probe}"), "");
        }
        self.close();
        if o.backend.is_some() {
            self.edge(
                "codedeploy",
                "service",
                "blue/green",
                &format!("style=dashed, color={IDLE}"),
            );
        }
        if delivery.probe_function.is_some() && o.load_balancer.is_some() {
            self.edge(
                "probe",
                "test",
                "BeforeAllowTraffic",
                &format!("style=dashed, color={IDLE}"),
            );
        }
    }

    fn domain(&mut self, o: &Observed) {
        let Some(domain) = o.domain.as_ref().filter(|d| d.domain.is_some()) else {
            return;
        };
        self.open("domain", "domain", "domain");
        let name = domain.domain.clone().unwrap_or_default();
        let origin = domain.origin_name.clone().unwrap_or_default();
        let certificates = format!(
            "certificates: site {}, origin {}",
            domain.site_certificate_status.as_deref().unwrap_or("none"),
            domain
                .origin_certificate_status
                .as_deref()
                .unwrap_or("none")
        );
        self.node(
            "route53",
            &format!("Route 53 {name}\norigin {origin}\n{certificates}"),
            "",
        );
        self.close();
        self.edge("route53", "distribution", "alias", "");
        if o.load_balancer.is_some() {
            self.edge("route53", "nlb", "alias (TLS origin)", "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::tests::healthy;

    #[test]
    fn every_tier_is_a_frame_and_the_live_group_is_the_one_production_forwards_to() {
        let text = dot(&healthy());
        for expected in [
            "label=\"demo: healthy\"",
            "\"users\" [shape=plaintext, label=\"users\\nhttps://d1.cloudfront.net\"];",
            "subgraph \"cluster_vpc\" { label=\"VPC vpc-1 10.42.0.0/16\"; color=darkgreen",
            "subgraph \"cluster_az0\" { label=\"us-east-1a\"",
            "subgraph \"cluster_az1\" { label=\"us-east-1b\"",
            "\"green\" [label=\"green target group (live)\\n1 of 1 targets healthy\", color=darkgreen];",
            "\"blue\" [label=\"blue target group\\n0 of 0 targets healthy\", color=grey55];",
            "\"prod\" -> \"green\" [label=\"forwards\", penwidth=2];",
            "\"test\" -> \"green\" [label=\"forwards\", penwidth=2];",
            "\"green\" -> \"service\" [penwidth=2];",
            "\"blue\" -> \"service\" [style=dashed, color=grey55];",
            "ACTIVE, 1 of 1 tasks running\\nVikunja 2.5.1",
            "mysql 8.0.40 db.t4g.micro\\navailable",
            "\"distribution\" -> \"nlb\" [label=\"/api/*\"];",
            "\"distribution\" -> \"site\" [label=\"default (*)\\nSPA fallback → index.html\"];",
            "CodeDeploy demo / demo-backend\\nCodeDeployDefault.ECSAllAtOnce\\n1 alarms, none in ALARM",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        assert!(!text.contains("prod\" -> \"blue"), "{text}");
        assert!(!text.contains("firebrick"), "{text}");
    }

    #[test]
    fn an_unhealthy_tier_is_drawn_red_with_its_live_group() {
        let mut o = healthy();
        o.groups[1].2 = Some(vec![resources_loadbalancer::TargetHealth {
            target: "10.0.1.5:3456".into(),
            state: "unhealthy".into(),
            reason: Some("Target.Timeout".into()),
        }]);
        o.alarms_in_alarm = vec![crate::status::Alarm {
            name: "demo-delivery-green".into(),
            reason: "5xx".into(),
        }];
        let text = dot(&o);
        for expected in [
            "label=\"demo: not healthy\"",
            "subgraph \"cluster_loadbalancer\" { label=\"load balancer\"; color=firebrick",
            "green target group (live)\\n0 of 1 targets healthy\", color=firebrick",
            "in ALARM: demo-delivery-green",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        assert!(
            text.contains("subgraph \"cluster_data\" { label=\"data\"; color=darkgreen"),
            "{text}"
        );
    }

    #[test]
    fn optional_parts_appear_only_when_the_stack_has_them() {
        let bare = dot(&healthy());
        assert!(!bare.contains("EFS") && !bare.contains("Valkey") && !bare.contains("Route 53"));
        let mut o = healthy();
        let data = o.data.as_mut().unwrap();
        data.files = Some(serde_json::from_value(serde_json::json!({
            "fileSystemId": "fs-1", "fileSystemArn": "arn:fs", "accessPointId": "fsap-1", "accessPointArn": "arn:ap"
        })).unwrap());
        data.cache = Some(
            serde_json::from_value(serde_json::json!({
                "replicationGroupId": "demo-cache", "endpoint": "cache.local", "port": 6379
            }))
            .unwrap(),
        );
        let text = dot(&o);
        for expected in [
            "EFS fs-1\\nattachments",
            "\"service\" -> \"files\" [label=\"NFS 2049\"];",
            "Valkey demo-cache",
            "\"service\" -> \"cache\" [label=\"6379\"];",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
    }
}
