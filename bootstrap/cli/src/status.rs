//! `vikunja-aws status`: is the stack healthy right now? One verdict per tier (✓ or ✗ with
//! the reason and, for anything wrong, the command that shows more), the live colour and
//! version, both target groups' target health, the last releases with outcome and duration,
//! the alarms in ALARM and the database's status.
//!
//! Everything is read with the resource library's finders (the same ones `up`, `plan` and
//! `down` use), then judged by [`judge`], a pure function of what was read, so the rules
//! are unit-tested without AWS.

use std::time::Duration;

use anyhow::Result;
use resources_loadbalancer::TargetHealth;
use serde::Serialize;
use serde_json::{json, Value};
use vikunja_core::tags::Tier;
use vikunja_core::{
    inventory, BackendOutputs, DataOutputs, DeliveryOutputs, DomainOutputs, FrontendOutputs,
    LoadBalancerOutputs, Names, NetworkOutputs,
};

use crate::target::Aws;

/// How many of each workflow's last runs are shown.
const RELEASES_SHOWN: i32 = 3;

/// What `status` read of the stack: the inventory and what AWS says of each resource now.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub stack: String,
    pub network: Option<NetworkOutputs>,
    /// The recorded VPC still exists.
    pub vpc_found: bool,
    pub data: Option<DataOutputs>,
    pub database: Option<Database>,
    pub load_balancer: Option<LoadBalancerOutputs>,
    /// The target group the production listener forwards to.
    pub live_group: Option<String>,
    /// The target group the test listener forwards to.
    pub test_group: Option<String>,
    /// Blue, then green: each group's ARN and its targets (`None`: the group is gone).
    pub groups: Vec<(String, String, Option<Vec<TargetHealth>>)>,
    pub backend: Option<BackendOutputs>,
    pub service: Option<Service>,
    pub frontend: Option<FrontendOutputs>,
    pub distribution: Option<Distribution>,
    /// The live frontend release's version, when one was published.
    pub frontend_version: Option<String>,
    pub delivery: Option<DeliveryOutputs>,
    pub alarms_in_alarm: Vec<Alarm>,
    pub domain: Option<DomainOutputs>,
    pub releases: Vec<Run>,
    /// `release_backend::backend_status` and `release_frontend::frontend_status` as read for
    /// the verdicts, kept for `--output json` (`backendRelease`, `frontendRelease`).
    pub backend_release: Value,
    pub frontend_release: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub class: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub status: String,
    pub desired: i32,
    pub running: i32,
    /// The live task definition's image tag.
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub id: String,
    pub status: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alarm {
    pub name: String,
    pub reason: String,
}

/// One run of a release workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// `backend` or `frontend`.
    pub workflow: String,
    pub execution: String,
    /// What was released: the image tag or the uploaded build's name.
    pub version: String,
    /// Step Functions' status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    pub started: String,
    pub seconds: Option<f64>,
    /// Why it failed (a rolled-back release says so here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One tier's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub tier: String,
    pub healthy: bool,
    pub summary: String,
    /// The command that shows more, for anything wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupHealth {
    pub colour: String,
    pub arn: String,
    pub live: bool,
    pub healthy: usize,
    pub targets: Vec<TargetView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub target: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to "is it healthy?".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub stack: String,
    pub healthy: bool,
    pub tiers: Vec<Verdict>,
    pub live_colour: Option<String>,
    pub backend_version: Option<String>,
    pub frontend_version: Option<String>,
    pub target_groups: Vec<TargetGroupHealth>,
    pub database: Option<Database>,
    pub alarms_in_alarm: Vec<Alarm>,
    pub releases: Vec<Run>,
}

fn ok(tier: &str, summary: String) -> Verdict {
    Verdict {
        tier: tier.into(),
        healthy: true,
        summary,
        hint: None,
    }
}

fn wrong(tier: &str, summary: String, hint: String) -> Verdict {
    Verdict {
        tier: tier.into(),
        healthy: false,
        summary,
        hint: Some(hint),
    }
}

/// The verdicts, from what was read: pure, so every rule is tested without AWS.
pub fn judge(o: &Observed) -> Report {
    let plan = format!("vikunja-aws plan --stack {}", o.stack);
    let up = format!("vikunja-aws up --stack {}", o.stack);
    let live_colour = o
        .groups
        .iter()
        .find(|(_, arn, _)| Some(arn) == o.live_group.as_ref())
        .map(|(colour, _, _)| colour.clone());
    let target_groups: Vec<TargetGroupHealth> = o
        .groups
        .iter()
        .map(|(colour, arn, targets)| {
            let targets = targets.clone().unwrap_or_default();
            TargetGroupHealth {
                colour: colour.clone(),
                arn: arn.clone(),
                live: live_colour.as_deref() == Some(colour),
                healthy: targets.iter().filter(|t| t.is_healthy()).count(),
                targets: targets
                    .into_iter()
                    .map(|t| TargetView {
                        target: t.target,
                        state: t.state,
                        reason: t.reason,
                    })
                    .collect(),
            }
        })
        .collect();

    let mut tiers = vec![network(o, &plan, &up), data(o, &plan, &up)];
    tiers.push(load_balancer(o, &target_groups, &up));
    tiers.push(backend(o, live_colour.as_deref(), &up));
    tiers.push(frontend(o, &up));
    tiers.push(delivery(o, &up));
    if let Some(domain) = o.domain.as_ref().filter(|d| d.domain.is_some()) {
        tiers.push(own_domain(domain, &o.stack));
    }
    Report {
        stack: o.stack.clone(),
        healthy: tiers.iter().all(|t| t.healthy),
        tiers,
        live_colour,
        backend_version: o.service.as_ref().map(|s| s.version.clone()),
        frontend_version: o.frontend_version.clone(),
        target_groups,
        database: o.database.clone(),
        alarms_in_alarm: o.alarms_in_alarm.clone(),
        releases: o.releases.clone(),
    }
}

fn network(o: &Observed, plan: &str, up: &str) -> Verdict {
    match &o.network {
        None => wrong("network", "not provisioned".into(), up.to_string()),
        Some(n) if !o.vpc_found => wrong(
            "network",
            format!("VPC {} is recorded but gone", n.vpc_id),
            plan.to_string(),
        ),
        Some(n) => ok(
            "network",
            format!("VPC {} over {}", n.vpc_id, n.availability_zones.join(", ")),
        ),
    }
}

fn data(o: &Observed, plan: &str, up: &str) -> Verdict {
    let Some(recorded) = &o.data else {
        return wrong("data", "not provisioned".into(), up.to_string());
    };
    let id = &recorded.db_instance_id;
    let more = format!("aws rds describe-events --source-type db-instance --source-identifier {id} --duration 1440");
    match &o.database {
        None => wrong(
            "data",
            format!("database {id} is recorded but gone"),
            plan.to_string(),
        ),
        Some(db) if db.status != "available" => {
            wrong("data", format!("database {id} is {}", db.status), more)
        }
        Some(db) => {
            let files = match &recorded.files {
                Some(files) => format!("; attachments on {}", files.file_system_id),
                None => String::new(),
            };
            ok(
                "data",
                format!(
                    "{} {} on {}, available{files}",
                    db.engine, db.engine_version, db.class
                ),
            )
        }
    }
}

fn load_balancer(o: &Observed, groups: &[TargetGroupHealth], up: &str) -> Verdict {
    let Some(recorded) = &o.load_balancer else {
        return wrong("loadbalancer", "not provisioned".into(), up.to_string());
    };
    let Some(live) = groups.iter().find(|g| g.live) else {
        return wrong(
            "loadbalancer",
            "the production listener forwards to neither target group".into(),
            format!(
                "aws elbv2 describe-listeners --listener-arns {}",
                recorded.prod_listener_arn
            ),
        );
    };
    let more = format!(
        "aws elbv2 describe-target-health --target-group-arn {}",
        live.arn
    );
    let unhealthy: Vec<String> = live
        .targets
        .iter()
        .filter(|t| t.state != "healthy")
        .map(|t| match &t.reason {
            Some(reason) => format!("{} {} ({reason})", t.target, t.state),
            None => format!("{} {}", t.target, t.state),
        })
        .collect();
    let counted = format!("{} of {} targets healthy", live.healthy, live.targets.len());
    if live.healthy == 0 {
        let why = if unhealthy.is_empty() {
            "no targets registered".to_string()
        } else {
            unhealthy.join(", ")
        };
        return wrong(
            "loadbalancer",
            format!("{} (live): {counted}: {why}", live.colour),
            more,
        );
    }
    if !unhealthy.is_empty() {
        return wrong(
            "loadbalancer",
            format!(
                "{} (live): {counted}: {}",
                live.colour,
                unhealthy.join(", ")
            ),
            more,
        );
    }
    ok(
        "loadbalancer",
        format!("{} live, {counted}; {}", live.colour, recorded.dns_name),
    )
}

fn backend(o: &Observed, live_colour: Option<&str>, up: &str) -> Verdict {
    let Some(recorded) = &o.backend else {
        return wrong("backend", "not provisioned".into(), up.to_string());
    };
    let describe = format!(
        "aws ecs describe-services --cluster {} --services {}",
        recorded.cluster, recorded.service
    );
    let Some(service) = &o.service else {
        return wrong(
            "backend",
            format!("service {} is recorded but gone", recorded.service),
            describe,
        );
    };
    if service.status != "ACTIVE" {
        return wrong(
            "backend",
            format!("service {} is {}", recorded.service, service.status),
            describe,
        );
    }
    let tasks = format!("{} of {} tasks running", service.running, service.desired);
    if service.running < service.desired || service.running == 0 {
        return wrong(
            "backend",
            format!("vikunja {}: {tasks}", service.version),
            format!("aws logs tail {} --since 30m", recorded.log_group),
        );
    }
    let colour = live_colour.map(|c| format!(" on {c}")).unwrap_or_default();
    ok(
        "backend",
        format!("vikunja {}{colour}, {tasks}", service.version),
    )
}

fn frontend(o: &Observed, up: &str) -> Verdict {
    let Some(recorded) = &o.frontend else {
        return wrong("frontend", "not provisioned".into(), up.to_string());
    };
    let Some(distribution) = &o.distribution else {
        return wrong(
            "frontend",
            format!(
                "distribution {} is recorded but gone",
                recorded.distribution_id
            ),
            format!("vikunja-aws plan --stack {}", o.stack),
        );
    };
    if !distribution.enabled {
        return wrong(
            "frontend",
            format!("distribution {} is disabled", distribution.id),
            format!("aws cloudfront get-distribution --id {}", distribution.id),
        );
    }
    let Some(version) = &o.frontend_version else {
        return wrong(
            "frontend",
            format!("{} serves no build yet", recorded.url),
            format!(
                "vikunja-aws release frontend --stack {} <build dir or zip>",
                o.stack
            ),
        );
    };
    // InProgress serves the previous configuration meanwhile: not a fault.
    let deploying = if distribution.status == "Deployed" {
        String::new()
    } else {
        format!(" (distribution {})", distribution.status)
    };
    ok(
        "frontend",
        format!("build {version} at {}{deploying}", recorded.url),
    )
}

fn delivery(o: &Observed, up: &str) -> Verdict {
    let Some(recorded) = &o.delivery else {
        return wrong("delivery", "not provisioned".into(), up.to_string());
    };
    if let Some(alarm) = o.alarms_in_alarm.first() {
        let names: Vec<&str> = o.alarms_in_alarm.iter().map(|a| a.name.as_str()).collect();
        return wrong(
            "delivery",
            format!("in ALARM: {} ({})", names.join(", "), alarm.reason),
            format!(
                "aws cloudwatch describe-alarm-history --alarm-name {} --max-records 5",
                alarm.name
            ),
        );
    }
    let last = o.releases.iter().find(|r| r.workflow == "backend");
    let last = match last {
        Some(run) if run.status == "RUNNING" => format!("; release {} running", run.version),
        Some(run) if run.status == "SUCCEEDED" => format!("; last release {} live", run.version),
        Some(run) => format!(
            "; last release {} {} (rolled back)",
            run.version,
            run.status.to_lowercase()
        ),
        None => String::new(),
    };
    ok(
        "delivery",
        format!("{}, no alarm in ALARM{last}", recorded.engine_summary()),
    )
}

fn own_domain(domain: &DomainOutputs, stack: &str) -> Verdict {
    let name = domain.domain.clone().unwrap_or_default();
    if domain.issued {
        return ok("domain", format!("{name}: certificates issued"));
    }
    let statuses = [
        ("site", &domain.site_certificate_status),
        ("origin", &domain.origin_certificate_status),
    ]
    .iter()
    .filter_map(|(role, status)| status.as_ref().map(|s| format!("{role} {s}")))
    .collect::<Vec<_>>()
    .join(", ");
    wrong(
        "domain",
        format!("{name}: certificates not issued ({statuses})"),
        format!("vikunja-aws plan --stack {stack}"),
    )
}

/// Reads everything [`judge`] needs.
pub async fn observe(aws: &Aws, stack: &str) -> Result<Observed> {
    let names = Names::new(stack);
    let ssm = aws.ssm();
    let mut o = Observed {
        stack: stack.to_string(),
        network: inventory::read(&ssm, stack, Tier::Network).await?,
        data: inventory::read(&ssm, stack, Tier::Data).await?,
        load_balancer: inventory::read(&ssm, stack, Tier::LoadBalancer).await?,
        backend: inventory::read(&ssm, stack, Tier::Backend).await?,
        frontend: inventory::read(&ssm, stack, Tier::Frontend).await?,
        delivery: inventory::read(&ssm, stack, Tier::Delivery).await?,
        domain: inventory::read(&ssm, stack, Tier::Domain).await?,
        ..Observed::default()
    };
    if let Some(network) = &o.network {
        let ec2 = aws_sdk_ec2::Client::new(&aws.config);
        let found = resources_network::observe(&ec2, &names).await?;
        o.vpc_found = found.vpcs.iter().any(|v| v.id == network.vpc_id);
    }
    if o.data.is_some() {
        let rds = aws_sdk_rds::Client::new(&aws.config);
        o.database = resources_data::find_db_instance(&rds, &names)
            .await?
            .map(|db| Database {
                status: db.db_instance_status().unwrap_or_default().to_string(),
                engine: db.engine().unwrap_or_default().to_string(),
                engine_version: db.engine_version().unwrap_or_default().to_string(),
                class: db.db_instance_class().unwrap_or_default().to_string(),
            });
    }
    if let Some(lb) = &o.load_balancer {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws.config);
        o.live_group = resources_loadbalancer::forwarded_group(&elb, &lb.prod_listener_arn).await?;
        o.test_group = resources_loadbalancer::forwarded_group(&elb, &lb.test_listener_arn).await?;
        for (colour, arn) in [
            ("blue", &lb.blue_target_group_arn),
            ("green", &lb.green_target_group_arn),
        ] {
            let targets = resources_loadbalancer::find_target_health(&elb, arn).await?;
            o.groups.push((colour.to_string(), arn.clone(), targets));
        }
    }
    if o.backend.is_some() {
        let ecs = aws_sdk_ecs::Client::new(&aws.config);
        if let Some(service) = resources_backend::find_service(&ecs, &names).await? {
            o.backend_release = crate::release_backend::backend_status(aws, stack).await?;
            let live = &o.backend_release;
            o.service = Some(Service {
                status: service.status().unwrap_or_default().to_string(),
                desired: service.desired_count(),
                running: service.running_count(),
                version: live["live"]["version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    if o.frontend.is_some() {
        let cloudfront = aws_sdk_cloudfront::Client::new(&aws.config);
        o.distribution = resources_frontend::find_distribution(&cloudfront, &names)
            .await?
            .map(|d| Distribution {
                id: d.id().to_string(),
                status: d.status().to_string(),
                enabled: d.enabled(),
            });
        o.frontend_release = crate::release_frontend::frontend_status(aws, stack).await?;
        o.frontend_version = o.frontend_release["version"].as_str().map(str::to_string);
    }
    if o.delivery.is_some() {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws.config);
        for alarm in resources_delivery::find_alarms(&cloudwatch, &names).await? {
            let in_alarm = alarm.state_value().map(|s| s.as_str()) == Some("ALARM");
            if in_alarm && resources_delivery::alarm_is_ours(&cloudwatch, &alarm, stack).await? {
                o.alarms_in_alarm.push(Alarm {
                    name: alarm.alarm_name().unwrap_or_default().to_string(),
                    reason: alarm.state_reason().unwrap_or_default().to_string(),
                });
            }
        }
    }
    o.releases = releases(aws, stack).await;
    Ok(o)
}

/// The last runs of both release workflows, newest first; none when the bootstrap stack is
/// gone (status still answers for the tiers).
async fn releases(aws: &Aws, stack: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    for (workflow, output) in [
        ("backend", "ReleaseBackendStateMachineArn"),
        ("frontend", "ReleaseFrontendStateMachineArn"),
    ] {
        let Ok(arn) = crate::follow::state_machine_arn(aws, stack, output).await else {
            continue;
        };
        if let Ok(found) = runs_of(aws, workflow, &arn).await {
            runs.extend(found);
        }
    }
    runs
}

async fn runs_of(aws: &Aws, workflow: &str, state_machine: &str) -> Result<Vec<Run>> {
    let sfn = aws.sfn();
    let listed = sfn
        .list_executions()
        .state_machine_arn(state_machine)
        .max_results(RELEASES_SHOWN)
        .send()
        .await?;
    let mut runs = Vec::new();
    for execution in listed.executions() {
        let described = sfn
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await?;
        let input: Value = described
            .input()
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or(Value::Null);
        let started = execution.start_date();
        let seconds = execution
            .stop_date()
            .map(|stop| stop.as_secs_f64() - started.as_secs_f64());
        let error = match (described.error(), described.cause()) {
            (None, None) => None,
            (error, cause) => Some(
                [
                    error.unwrap_or_default().to_string(),
                    cause.map(crate::follow::error_message).unwrap_or_default(),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": "),
            ),
        };
        runs.push(Run {
            workflow: workflow.to_string(),
            execution: execution.name().to_string(),
            version: released_version(&input),
            status: execution.status().as_str().to_string(),
            started: started.to_string(),
            seconds: seconds.map(|s| (s * 10.0).round() / 10.0),
            error,
        });
    }
    Ok(runs)
}

/// What a release execution released, from the event that started it: an ECR push's image
/// tag, an upload's object key (the build's name).
pub fn released_version(input: &Value) -> String {
    let detail = &input["detail"];
    if let Some(tag) = detail["image-tag"].as_str() {
        return tag.to_string();
    }
    if let Some(key) = detail["object"]["key"].as_str() {
        let name = key.rsplit('/').next().unwrap_or(key);
        return name.strip_suffix(".zip").unwrap_or(name).to_string();
    }
    input["version"].as_str().unwrap_or("?").to_string()
}

/// The report as a person reads it.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let verdict = if report.healthy {
        "healthy"
    } else {
        "NOT healthy"
    };
    out.push_str(&format!("stack {}: {verdict}\n", report.stack));
    let width = report.tiers.iter().map(|t| t.tier.len()).max().unwrap_or(0);
    for tier in &report.tiers {
        let mark = if tier.healthy { '✓' } else { '✗' };
        out.push_str(&format!(
            "  {mark} {:width$}  {}\n",
            tier.tier, tier.summary
        ));
        if let Some(hint) = &tier.hint {
            out.push_str(&format!("    {:width$}  → {hint}\n", ""));
        }
    }
    if !report.target_groups.is_empty() {
        out.push_str("target groups:\n");
        for group in &report.target_groups {
            let live = if group.live { " (live)" } else { "" };
            let targets = if group.targets.is_empty() {
                "no targets".to_string()
            } else {
                group
                    .targets
                    .iter()
                    .map(|t| match &t.reason {
                        Some(reason) => format!("{} {} ({reason})", t.target, t.state),
                        None => format!("{} {}", t.target, t.state),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!("  {}{live}: {targets}\n", group.colour));
        }
    }
    if !report.releases.is_empty() {
        out.push_str("last releases:\n");
        for run in &report.releases {
            let took = run
                .seconds
                .map(|s| format!(" in {s:.0} s"))
                .unwrap_or_default();
            let error = run
                .error
                .as_ref()
                .map(|e| format!(": {}", first_line(e)))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:8} {:24} {:9}{took}  {}{error}\n",
                run.workflow, run.version, run.status, run.started
            ));
        }
    }
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The report, and with it (under `inventory`) what each tier recorded, for scripts.
pub async fn to_json(aws: &Aws, observed: &Observed, report: &Report) -> Value {
    let mut value = json!(report);
    let inventory = crate::follow::status(aws, &observed.stack)
        .await
        .unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("inventory".into(), inventory);
        map.insert("backendRelease".into(), observed.backend_release.clone());
        map.insert("frontendRelease".into(), observed.frontend_release.clone());
    }
    value
}

/// `--watch`: how long between two refreshes.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

#[cfg(test)]
pub(crate) mod tests;
