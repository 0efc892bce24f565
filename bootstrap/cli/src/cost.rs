//! `vikunja-aws cost`: what a stack costs a month at its settings, what the cheaper options
//! would save, and what each workflow run costs — from the price table compiled in from
//! `prices/aws-prices.json` (each price with its source, date and whether it was verified).
//! Nothing is fetched at run time, so an estimate is the same offline and in CI.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vikunja_core::settings::{Settings, DEFAULT_STACK};

const TABLE: &str = include_str!("../prices/aws-prices.json");
pub const HOURS_PER_MONTH: f64 = 730.0;
/// The region of docs/aws.md's table.
pub const DOCS_REGION: &str = "us-east-1";
pub const START: &str = "<!-- cost:start -->";
pub const END: &str = "<!-- cost:end -->";

/// What a small team uses of the metered items; the stack's own resources are counted from
/// the settings. Change these, not the rendered table, when a better figure is known.
mod usage {
    /// Light traffic: an NLCU is 1 GB, 800 new flows/s or 100,000 active flows in an hour.
    pub const NLCU_AVERAGE: f64 = 0.1;
    /// The network step spreads the load balancer over two zones, one address each.
    pub const NLB_ADDRESSES: f64 = 2.0;
    pub const SITE_AND_UPLOADS_GB: f64 = 1.0;
    pub const FILES_GB: f64 = 1.0;
    /// Lambda logs and Vikunja's container log; the log group keeps them 30 days, so about
    /// one month's worth is stored.
    pub const LOGS_GB: f64 = 1.0;
    pub const IMAGES_GB: f64 = 0.5;
    /// Resets and reminders; reminders go out once per running task (Vikunja's cron).
    pub const MAILS_PER_TASK: f64 = 500.0;
    /// CloudFront's always-free allowance (1 TB out, 10 M requests) covers a small team.
    pub const CLOUDFRONT_GB_BEYOND_FREE: f64 = 0.0;
    /// Unhealthy-target alarms, one per colour.
    pub const ALARMS: f64 = 2.0;
    /// The RDS-managed database password and the session secret.
    pub const SECRETS: f64 = 2.0;
    /// A backend release: the deployment (~5 minutes) before blue's termination wait.
    pub const GREEN_DEPLOY_MINUTES: f64 = 5.0;
}

#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub usd: f64,
    /// `usd` is the price of this many units.
    #[serde(default = "one")]
    pub per: f64,
    pub unit: String,
    pub source: String,
    pub date: String,
    pub verified: bool,
}

fn one() -> f64 {
    1.0
}

impl Price {
    fn of(&self, quantity: f64) -> f64 {
        self.usd / self.per * quantity
    }

    fn shown(&self) -> String {
        let per = if self.per == 1.0 {
            String::new()
        } else {
            format!("{} ", grouped(self.per))
        };
        let star = if self.verified { "" } else { " (unverified)" };
        format!("${} / {per}{}{star}", self.usd, self.unit)
    }
}

#[derive(Deserialize)]
struct Table {
    regions: BTreeMap<String, BTreeMap<String, Price>>,
}

/// One region's prices.
pub struct Prices {
    pub region: String,
    prices: BTreeMap<String, Price>,
}

impl Prices {
    pub fn for_region(region: &str) -> Result<Self> {
        let mut table: Table = serde_json::from_str(TABLE).context("the embedded price table")?;
        let known = table.regions.keys().cloned().collect::<Vec<_>>().join(", ");
        let Some(prices) = table.regions.remove(region) else {
            bail!("no prices for region {region}: the table (bootstrap/cli/prices/aws-prices.json) knows {known}; add the region there (bootstrap/cli/prices/update.py fills it from AWS's price list files)");
        };
        Ok(Self {
            region: region.into(),
            prices,
        })
    }

    pub fn get(&self, key: &str) -> Result<&Price> {
        self.prices
            .get(key)
            .with_context(|| format!("the price table has no {key} for {}", self.region))
    }

    /// A sized resource's price (`rds.db.t4g.micro`); an unknown size names the known ones.
    fn sized(&self, service: &str, setting: &str, size: &str) -> Result<&Price> {
        let prefix = format!("{service}.");
        self.prices
            .get(&format!("{prefix}{size}"))
            .with_context(|| {
                let known: Vec<_> = self.sizes(service).map(|(size, _)| size).collect();
                format!(
                    "{setting} {size}: the price table has no price for it in {}; it knows {}",
                    self.region,
                    known.join(", ")
                )
            })
    }

    fn sizes<'a>(&'a self, service: &str) -> impl Iterator<Item = (&'a str, &'a Price)> {
        let prefix = format!("{service}.");
        self.prices
            .iter()
            .filter_map(move |(key, price)| Some((key.strip_prefix(&prefix)?, price)))
    }

    /// What a workflow run costs in Step Functions Standard and Lambda (x86), no free tier.
    pub fn workflow_usd(&self, transitions: f64, invocations: f64, gb_seconds: f64) -> Result<f64> {
        Ok(self.get("sfn.transition")?.of(transitions)
            + self.get("lambda.request")?.of(invocations)
            + self.get("lambda.x86.gb-second")?.of(gb_seconds))
    }

    /// The workflow prices in a sentence, for the bench's output.
    pub fn workflow_prices_note(&self) -> Result<String> {
        Ok(format!(
            "{} list prices of {}: Step Functions Standard {}; Lambda x86 {} and {}; free tiers left out",
            self.region,
            self.get("sfn.transition")?.date,
            self.get("sfn.transition")?.shown(),
            self.get("lambda.x86.gb-second")?.shown(),
            self.get("lambda.request")?.shown()
        ))
    }
}

/// One monthly item, at the fewest and the most tasks.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub item: String,
    pub unit_price: String,
    pub verified: bool,
    pub quantity_unit: String,
    pub at_min_tasks: Amount,
    pub at_max_tasks: Amount,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Amount {
    pub quantity: f64,
    pub usd: f64,
}

/// A cheaper option and what it would save a month.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WayDown {
    pub what: String,
    pub saving_at_min_tasks: f64,
    pub saving_at_max_tasks: f64,
    pub how: String,
}

/// One workflow run's usage and cost.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run: String,
    pub state_transitions: f64,
    pub lambda_invocations: f64,
    pub lambda_gb_seconds: f64,
    pub usd: f64,
    /// `typical` (the documented figures for AWS) or the bench file the figures came from.
    pub figures: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub region: String,
    pub hours_per_month: f64,
    pub min_tasks: i32,
    pub max_tasks: i32,
    pub lines: Vec<Line>,
    pub total_at_min_tasks: f64,
    pub total_at_max_tasks: f64,
    pub ways_down: Vec<WayDown>,
    pub runs: Vec<Run>,
    /// The newest date of a price used.
    pub prices_as_of: String,
}

/// The stack's monthly cost at `settings`, with per-run costs from `bench` (`make bench`'s
/// JSON) when given, else the typical figures.
pub fn estimate(
    settings: &Settings,
    prices: &Prices,
    bench: Option<(&str, &Value)>,
) -> Result<Estimate> {
    let lines = lines(settings, prices)?;
    let total = |at: fn(&Line) -> Amount| round2(lines.iter().map(|l| at(l).usd).sum());
    Ok(Estimate {
        region: prices.region.clone(),
        hours_per_month: HOURS_PER_MONTH,
        min_tasks: settings.min_tasks,
        max_tasks: settings.max_tasks,
        total_at_min_tasks: total(|l| l.at_min_tasks),
        total_at_max_tasks: total(|l| l.at_max_tasks),
        prices_as_of: newest_date(prices),
        ways_down: ways_down(settings, prices)?,
        runs: runs(settings, prices, bench)?,
        lines,
    })
}

fn lines(settings: &Settings, prices: &Prices) -> Result<Vec<Line>> {
    let (min, max) = (settings.min_tasks as f64, settings.max_tasks as f64);
    let (vcpu, gb) = task_size(settings)?;
    let hours = HOURS_PER_MONTH;
    let mut out = Vec::new();
    let mut add = |price: &Price, item: String, unit: &str, at_min: f64, at_max: f64| {
        let amount = |quantity: f64| Amount {
            quantity: round3(quantity),
            usd: round2(price.of(quantity)),
        };
        out.push(Line {
            item,
            unit_price: price.shown(),
            verified: price.verified,
            quantity_unit: unit.into(),
            at_min_tasks: amount(at_min),
            at_max_tasks: amount(at_max),
        });
    };
    let class = &settings.db_instance_class;
    let rds = prices.sized("rds", "dbInstanceClass", class)?;
    add(
        rds,
        format!("RDS MySQL {class}, single-AZ"),
        "instance-hours",
        hours,
        hours,
    );
    let storage = settings.db_allocated_storage as f64;
    let gp3 = prices.get("rds.gp3")?;
    add(
        gp3,
        "RDS gp3 storage (backups free up to this size)".into(),
        "GB-months",
        storage,
        storage,
    );
    let nlb = prices.get("nlb.hour")?;
    add(nlb, "Network Load Balancer".into(), "hours", hours, hours);
    let nlcu = prices.get("nlb.nlcu")?;
    let nlcus = usage::NLCU_AVERAGE * hours;
    add(
        nlcu,
        "NLB capacity (light traffic)".into(),
        "NLCU-hours",
        nlcus,
        nlcus,
    );
    let fargate_vcpu = prices.get("fargate.x86.vcpu")?;
    let item = format!("Fargate Linux/x86 vCPU ({vcpu} per task)");
    add(
        fargate_vcpu,
        item,
        "vCPU-hours",
        vcpu * min * hours,
        vcpu * max * hours,
    );
    let fargate_gb = prices.get("fargate.x86.gb")?;
    let item = format!("Fargate Linux/x86 memory ({gb} GB per task)");
    add(
        fargate_gb,
        item,
        "GB-hours",
        gb * min * hours,
        gb * max * hours,
    );
    let ipv4 = prices.get("ipv4.address")?;
    let addresses = |tasks: f64| (usage::NLB_ADDRESSES + tasks) * hours;
    let item = "public IPv4 addresses (2 for the NLB, 1 per task)".into();
    add(ipv4, item, "address-hours", addresses(min), addresses(max));
    let efs = prices.get("efs.gb")?;
    add(
        efs,
        "EFS Standard (Vikunja's files)".into(),
        "GB-months",
        usage::FILES_GB,
        usage::FILES_GB,
    );
    let cloudfront = prices.get("cloudfront.gb")?;
    let beyond = usage::CLOUDFRONT_GB_BEYOND_FREE;
    add(
        cloudfront,
        "CloudFront (within the always-free tier)".into(),
        "GB",
        beyond,
        beyond,
    );
    let s3 = prices.get("s3.gb")?;
    let site = usage::SITE_AND_UPLOADS_GB;
    add(
        s3,
        "S3 (site, uploads, artifacts)".into(),
        "GB-months",
        site,
        site,
    );
    let secrets = usage::SECRETS + if settings.mail.is_some() { 1.0 } else { 0.0 };
    let what = if settings.mail.is_some() {
        "Secrets Manager (database, session, SMTP password)"
    } else {
        "Secrets Manager (database, session)"
    };
    add(
        prices.get("secrets.secret")?,
        what.into(),
        "secret-months",
        secrets,
        secrets,
    );
    if settings.mail.is_some() {
        let mails = |tasks: f64| usage::MAILS_PER_TASK * tasks;
        let item = "SES mail (reminders once per running task)".into();
        add(
            prices.get("ses.mail")?,
            item,
            "mails",
            mails(min),
            mails(max),
        );
    }
    if let Some(node) = settings.cache_node_type() {
        let cache = prices.sized("elasticache", "cacheNodeType", node)?;
        add(
            cache,
            format!("ElastiCache Valkey {node}, one node"),
            "node-hours",
            hours,
            hours,
        );
    }
    let logs = usage::LOGS_GB;
    add(
        prices.get("logs.ingest")?,
        "CloudWatch Logs ingestion".into(),
        "GB",
        logs,
        logs,
    );
    add(
        prices.get("logs.store")?,
        "CloudWatch Logs storage (30 days kept)".into(),
        "GB-months",
        logs,
        logs,
    );
    let alarms = usage::ALARMS;
    add(
        prices.get("alarms.alarm")?,
        "CloudWatch alarms (unhealthy targets)".into(),
        "alarm-months",
        alarms,
        alarms,
    );
    let images = usage::IMAGES_GB;
    add(
        prices.get("ecr.gb")?,
        "ECR images".into(),
        "GB-months",
        images,
        images,
    );
    if settings.domain.is_some() {
        let item = "Route 53 hosted zone (the operator's own)".into();
        add(prices.get("route53.zone")?, item, "zone-months", 1.0, 1.0);
    }
    Ok(out)
}

/// vCPUs and GB of one task, from the Fargate sizes in the settings (`256` = 0.25 vCPU).
fn task_size(settings: &Settings) -> Result<(f64, f64)> {
    let units = |name: &str, value: &str| -> Result<f64> {
        value
            .parse::<f64>()
            .map(|v| v / 1024.0)
            .with_context(|| format!("{name} {value:?}: expected a number such as 256"))
    };
    Ok((
        units("taskCpu", &settings.task_cpu)?,
        units("taskMemory", &settings.task_memory)?,
    ))
}

/// Fargate's on-demand price of one task for an hour, on x86 or ARM.
fn task_hour(settings: &Settings, prices: &Prices, arch: &str) -> Result<f64> {
    let (vcpu, gb) = task_size(settings)?;
    Ok(prices.get(&format!("fargate.{arch}.vcpu"))?.of(vcpu)
        + prices.get(&format!("fargate.{arch}.gb"))?.of(gb))
}

fn ways_down(settings: &Settings, prices: &Prices) -> Result<Vec<WayDown>> {
    let (min, max) = (settings.min_tasks as f64, settings.max_tasks as f64);
    let month = HOURS_PER_MONTH;
    let x86 = task_hour(settings, prices, "x86")?;
    let arm = task_hour(settings, prices, "arm")?;
    let graviton = WayDown {
        what: "Graviton (Linux/ARM) Fargate tasks".into(),
        saving_at_min_tasks: round2((x86 - arm) * min * month),
        saving_at_max_tasks: round2((x86 - arm) * max * month),
        how: "not a setting yet: the task definition pins X86_64 (functions/resources/backend/src/task.rs); the Vikunja image is multi-arch".into(),
    };
    let spot = prices.get("fargate.spot.saving")?.usd;
    let beyond_first = |tasks: f64| round2(spot * x86 * (tasks - 1.0) * month);
    let fargate_spot = WayDown {
        what: format!("Fargate Spot for the tasks beyond the first (at most {:.0}% off)", spot * 100.0),
        saving_at_min_tasks: beyond_first(min),
        saving_at_max_tasks: beyond_first(max),
        how: "not a setting yet: the service would need a capacity provider strategy (FARGATE base 1, FARGATE_SPOT for the rest); Spot's price floats and an interrupted task is replaced. The new colour of a release runs only for its minutes, so Spot there saves nothing worth having".into(),
    };
    let class = &settings.db_instance_class;
    let current = prices.sized("rds", "dbInstanceClass", class)?.usd;
    let cheapest = prices
        .sizes("rds")
        .filter(|(_, p)| p.usd < current)
        .min_by(|a, b| a.1.usd.total_cmp(&b.1.usd));
    let smaller_rds = match cheapest {
        Some((smaller, price)) => {
            let saving = round2((current - price.usd) * month);
            WayDown {
                what: format!("RDS {smaller} instead of {class}"),
                saving_at_min_tasks: saving,
                saving_at_max_tasks: saving,
                how: format!("dbInstanceClass {smaller} for a new database (a later `up` leaves the class as it was created)"),
            }
        }
        None => WayDown {
            what: format!("a smaller RDS class than {class}"),
            saving_at_min_tasks: 0.0,
            saving_at_max_tasks: 0.0,
            how: "none: it is the cheapest class the table has".into(),
        },
    };
    Ok(vec![graviton, fargate_spot, smaller_rds])
}

/// The documented figures of a run on AWS (docs/aws.md), and the `make bench` label of the
/// run that measures it.
struct Typical {
    run: &'static str,
    bench_label: &'static str,
    transitions: f64,
    invocations: f64,
    gb_seconds: f64,
    note: &'static str,
}

const TYPICAL: [Typical; 4] = [
    Typical {
        run: "`up` (provision)",
        bench_label: "provision, first run",
        transitions: 150.0,
        invocations: 50.0,
        gb_seconds: 13.0,
        note: "RDS ~10 min polled every 15 s; ~50 calls × 256 MB × ~1 s",
    },
    Typical {
        run: "backend release",
        bench_label: "backend release, push to live",
        transitions: 120.0,
        invocations: 40.0,
        gb_seconds: 70.0,
        note: "steps ≈ 10 GB-s, the hook up to 240 s × 256 MB",
    },
    Typical {
        run: "frontend release",
        bench_label: "frontend release (upload to live)",
        transitions: 15.0,
        invocations: 5.0,
        gb_seconds: 30.0,
        note:
            "1024 MB × ~30 s; its one invalidation is within CloudFront's 1,000 free paths a month",
    },
    Typical {
        run: "`down` (teardown)",
        bench_label: "teardown",
        transitions: 150.0,
        invocations: 30.0,
        gb_seconds: 8.0,
        note: "~30 calls × 256 MB × ~1 s",
    },
];

fn runs(settings: &Settings, prices: &Prices, bench: Option<(&str, &Value)>) -> Result<Vec<Run>> {
    let measured = |label: &str| -> Option<&Value> {
        let (_, document) = bench?;
        document["workflows"].as_array()?.iter().find(|row| {
            row["workflow"]
                .as_str()
                .is_some_and(|w| w.starts_with(label))
        })
    };
    TYPICAL
        .iter()
        .map(|typical| {
            let row = measured(typical.bench_label);
            let figure =
                |key: &str, fallback: f64| row.and_then(|r| r[key].as_f64()).unwrap_or(fallback);
            let transitions = figure("stateTransitions", typical.transitions);
            let invocations = figure("lambdaInvocations", typical.invocations);
            let gb_seconds = figure("lambdaGbSeconds", typical.gb_seconds);
            let mut usd = prices.workflow_usd(transitions, invocations, gb_seconds)?;
            let mut note = typical.note.to_string();
            if typical.bench_label.starts_with("backend") {
                // The new colour runs beside the old one until blue's termination wait ends.
                let minutes =
                    usage::GREEN_DEPLOY_MINUTES + settings.termination_wait_minutes as f64;
                let hour =
                    task_hour(settings, prices, "x86")? + prices.get("ipv4.address")?.of(1.0);
                usd += hour * minutes / 60.0;
                note = format!("{note}; plus green's task and address for ~{minutes} minutes");
            }
            Ok(Run {
                run: typical.run.into(),
                state_transitions: transitions,
                lambda_invocations: invocations,
                lambda_gb_seconds: round3(gb_seconds),
                usd: round4(usd),
                figures: match (bench, row) {
                    (Some((file, _)), Some(_)) => file.to_string(),
                    _ => "typical".into(),
                },
                note,
            })
        })
        .collect()
}

fn newest_date(prices: &Prices) -> String {
    prices
        .prices
        .values()
        .map(|p| p.date.clone())
        .max()
        .unwrap_or_default()
}

/// The estimate as a table: markdown (the docs) or aligned text (the terminal).
pub fn render(estimate: &Estimate, markdown: bool) -> String {
    let tasks = |n: i32| format!("at {n} task{}", if n == 1 { "" } else { "s" });
    let mut rows = vec![vec![
        "item".to_string(),
        "unit price".into(),
        tasks(estimate.min_tasks),
        "per month".into(),
        tasks(estimate.max_tasks),
        "per month".into(),
    ]];
    for line in &estimate.lines {
        let quantity = |a: Amount| format!("{} {}", a.quantity, line.quantity_unit);
        rows.push(vec![
            line.item.clone(),
            line.unit_price.clone(),
            quantity(line.at_min_tasks),
            dollars(line.at_min_tasks.usd),
            quantity(line.at_max_tasks),
            dollars(line.at_max_tasks.usd),
        ]);
    }
    rows.push(vec![
        "total".into(),
        String::new(),
        String::new(),
        dollars(estimate.total_at_min_tasks),
        String::new(),
        dollars(estimate.total_at_max_tasks),
    ]);
    let mut out = table(&rows, markdown);
    out.push_str("\nWays down (not defaults), saving a month:\n\n");
    for way in &estimate.ways_down {
        out.push_str(&format!(
            "- {}: {} at {}, {} at {}. {}\n",
            way.what,
            dollars(way.saving_at_min_tasks),
            tasks(estimate.min_tasks).trim_start_matches("at "),
            dollars(way.saving_at_max_tasks),
            tasks(estimate.max_tasks).trim_start_matches("at "),
            way.how
        ));
    }
    out.push_str("\nPer workflow run (Step Functions Standard and Lambda x86, no free tier):\n\n");
    let mut rows = vec![[
        "run",
        "state transitions",
        "Lambda invocations",
        "Lambda GB-s",
        "cost",
        "figures",
    ]
    .map(String::from)
    .to_vec()];
    for run in &estimate.runs {
        rows.push(vec![
            run.run.clone(),
            run.state_transitions.to_string(),
            run.lambda_invocations.to_string(),
            run.lambda_gb_seconds.to_string(),
            format!("${:.4}", run.usd),
            format!("{}: {}", run.figures, run.note),
        ]);
    }
    out.push_str(&table(&rows, markdown));
    out
}

fn table(rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        for (i, row) in rows.iter().enumerate() {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
            if i == 0 {
                let rule: Vec<_> = (0..row.len())
                    .map(|c| if c == 0 { "---" } else { "---:" })
                    .collect();
                out.push_str(&format!("|{}|\n", rule.join("|")));
            }
        }
        return out;
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<_> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The defaults with `extra` settings on top, for the docs' "with this option" figures.
fn defaults_with(extra: Value) -> Settings {
    let mut value =
        serde_json::to_value(Settings::for_stack(DEFAULT_STACK)).expect("settings serialize");
    if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), extra) {
        map.extend(extra);
    }
    serde_json::from_value(value).expect("the docs' option settings deserialize")
}

/// docs/aws.md's cost section: the defaults in us-east-1, what each option adds, and the
/// defaults' totals in the other regions of the table.
pub fn docs_section() -> Result<String> {
    let defaults = Settings::for_stack(DEFAULT_STACK);
    let prices = Prices::for_region(DOCS_REGION)?;
    let estimate = estimate(&defaults, &prices, None)?;
    let mut out = format!(
        "{START}\n<!-- generated by `make cost-docs` (`vikunja-aws cost --write-docs`) from bootstrap/cli/prices/aws-prices.json; edit the table or src/cost.rs, not this -->\n"
    );
    out.push_str(&format!(
        "At the defaults, **{DOCS_REGION}**, on-demand list prices, {HOURS_PER_MONTH} hours a month, no free tier but CloudFront's always-free allowance; prices as of {} at the latest, each with its source in the table; *(unverified)* marks a price not checked against AWS. `vikunja-aws cost --settings FILE --region R` gives the same for other settings.\n\n",
        estimate.prices_as_of
    ));
    out.push_str(&render(&estimate, true));
    out.push_str(
        "\nWith an option on top of the defaults, the most a month (at the most tasks):\n\n",
    );
    let options = [
        ("`sharedCache`", json!({"sharedCache": true})),
        (
            "`domain`",
            json!({"domain": "tasks.example.com", "hostedZoneId": "Z0000000000000000000"}),
        ),
        (
            "`mail`",
            json!({"mail": {"host": "email-smtp.us-east-1.amazonaws.com", "fromAddress": "vikunja@example.com", "user": "AKIA", "passwordSecretArn": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{DEFAULT_STACK}/mail")}}),
        ),
    ];
    for (name, extra) in options {
        let with = self::estimate(&defaults_with(extra), &prices, None)?;
        out.push_str(&format!(
            "- {name}: +{}\n",
            dollars(with.total_at_max_tasks - estimate.total_at_max_tasks)
        ));
    }
    out.push('\n');
    for region in Table::regions()?.into_iter().filter(|r| r != DOCS_REGION) {
        let other = self::estimate(&defaults, &Prices::for_region(&region)?, None)?;
        let unverified = other.lines.iter().filter(|l| !l.verified).count();
        out.push_str(&format!(
            "{region} at the defaults: {} a month with {} task, {} with {} ({unverified} of its {} prices unverified).\n",
            dollars(other.total_at_min_tasks),
            other.min_tasks,
            dollars(other.total_at_max_tasks),
            other.max_tasks,
            other.lines.len()
        ));
    }
    out.push_str(END);
    Ok(out)
}

impl Table {
    fn regions() -> Result<Vec<String>> {
        let table: Table = serde_json::from_str(TABLE)?;
        Ok(table.regions.into_keys().collect())
    }
}

/// `document` with its section between the markers replaced by `section`.
pub fn replace_section(document: &str, section: &str) -> Result<String> {
    let start = document
        .find(START)
        .with_context(|| format!("no {START} marker"))?;
    let end = document[start..]
        .find(END)
        .map(|end| start + end)
        .with_context(|| format!("no {END} marker after {START}"))?;
    Ok(format!(
        "{}{section}{}",
        &document[..start],
        &document[end + END.len()..]
    ))
}

fn dollars(usd: f64) -> String {
    format!("${usd:.2}")
}

fn grouped(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us_east() -> Prices {
        Prices::for_region("us-east-1").unwrap()
    }

    fn at_defaults_with(extra: Value) -> Estimate {
        estimate(&defaults_with(extra), &us_east(), None).unwrap()
    }

    fn line<'a>(estimate: &'a Estimate, starts: &str) -> Option<&'a Line> {
        estimate.lines.iter().find(|l| l.item.starts_with(starts))
    }

    fn usd(key: &str) -> f64 {
        us_east().get(key).unwrap().usd
    }

    #[test]
    fn each_task_adds_its_fargate_hours_and_its_address() {
        let defaults = at_defaults_with(json!({}));
        let per_task =
            (0.25 * usd("fargate.x86.vcpu") + 0.5 * usd("fargate.x86.gb") + usd("ipv4.address"))
                * HOURS_PER_MONTH;
        let extra = defaults.total_at_max_tasks - defaults.total_at_min_tasks;
        assert!(
            (extra - 3.0 * per_task).abs() < 0.03,
            "{extra} vs 3 × {per_task}"
        );
        // docs/aws.md said "about $52 with one task, about $90 with four" before EFS was counted.
        assert!(
            (51.0..55.0).contains(&defaults.total_at_min_tasks),
            "{}",
            defaults.total_at_min_tasks
        );
        assert!(
            (89.0..93.0).contains(&defaults.total_at_max_tasks),
            "{}",
            defaults.total_at_max_tasks
        );
    }

    #[test]
    fn the_total_is_the_sum_of_the_lines_shown() {
        let defaults = at_defaults_with(json!({}));
        let sum: f64 = defaults.lines.iter().map(|l| l.at_min_tasks.usd).sum();
        assert!((sum - defaults.total_at_min_tasks).abs() < 1e-9);
        let rds = line(&defaults, "RDS MySQL db.t4g.micro").unwrap();
        assert_eq!(
            rds.at_min_tasks.usd,
            round2(usd("rds.db.t4g.micro") * HOURS_PER_MONTH)
        );
    }

    #[test]
    fn options_add_their_lines() {
        let defaults = at_defaults_with(json!({}));
        assert!(line(&defaults, "ElastiCache").is_none());
        assert!(line(&defaults, "Route 53").is_none());
        assert!(line(&defaults, "SES").is_none());
        assert_eq!(
            line(&defaults, "Secrets Manager")
                .unwrap()
                .at_min_tasks
                .quantity,
            2.0
        );

        let cached =
            at_defaults_with(json!({"sharedCache": true, "cacheNodeType": "cache.t4g.small"}));
        let cache = line(&cached, "ElastiCache Valkey cache.t4g.small").unwrap();
        assert_eq!(
            cache.at_min_tasks.usd,
            round2(usd("elasticache.cache.t4g.small") * HOURS_PER_MONTH)
        );

        let domain = at_defaults_with(json!({"domain": "tasks.example.com", "hostedZoneId": "Z1"}));
        assert_eq!(
            line(&domain, "Route 53").unwrap().at_max_tasks.usd,
            usd("route53.zone")
        );

        let mail = at_defaults_with(
            json!({"mail": {"host": "h", "fromAddress": "a@b", "user": "u",
            "passwordSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:vikunja/m"}}),
        );
        assert_eq!(
            line(&mail, "Secrets Manager")
                .unwrap()
                .at_min_tasks
                .quantity,
            3.0
        );
        let ses = line(&mail, "SES").unwrap();
        assert_eq!(ses.at_max_tasks.quantity, 4.0 * ses.at_min_tasks.quantity);
    }

    #[test]
    fn graviton_and_spot_save_more_with_more_tasks_and_spot_nothing_with_one() {
        let defaults = at_defaults_with(json!({}));
        let graviton = &defaults.ways_down[0];
        assert!(graviton.saving_at_min_tasks > 0.0);
        assert!((graviton.saving_at_max_tasks - 4.0 * graviton.saving_at_min_tasks).abs() < 0.02);
        let spot = &defaults.ways_down[1];
        assert_eq!(spot.saving_at_min_tasks, 0.0);
        assert!(spot.saving_at_max_tasks > graviton.saving_at_max_tasks);
    }

    #[test]
    fn a_smaller_rds_class_is_offered_only_when_the_table_has_one() {
        let defaults = at_defaults_with(json!({}));
        assert!(defaults.ways_down[2].how.starts_with("none"));
        let medium = at_defaults_with(json!({"dbInstanceClass": "db.t4g.medium"}));
        let way = &medium.ways_down[2];
        assert_eq!(way.what, "RDS db.t4g.micro instead of db.t4g.medium");
        let saving = (usd("rds.db.t4g.medium") - usd("rds.db.t4g.micro")) * HOURS_PER_MONTH;
        assert_eq!(way.saving_at_min_tasks, round2(saving));
    }

    #[test]
    fn unknown_regions_and_sizes_name_the_known_ones() {
        let error = Prices::for_region("ap-south-2").err().unwrap().to_string();
        assert!(
            error.contains("ap-south-2") && error.contains("eu-west-1, us-east-1"),
            "{error}"
        );
        let settings = defaults_with(json!({"dbInstanceClass": "db.r7g.large"}));
        let error = estimate(&settings, &us_east(), None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("db.r7g.large") && error.contains("db.t4g.micro"),
            "{error}"
        );
    }

    #[test]
    fn runs_take_the_bench_figures_when_given() {
        let bench = json!({"workflows": [
            {"workflow": "provision, first run", "stateTransitions": 129, "lambdaInvocations": 46, "lambdaGbSeconds": 1.531},
            {"workflow": "provision, re-run (converges)", "stateTransitions": 15}]});
        let settings = defaults_with(json!({}));
        let runs = estimate(&settings, &us_east(), Some(("bench.json", &bench)))
            .unwrap()
            .runs;
        assert_eq!(
            (runs[0].state_transitions, runs[0].figures.as_str()),
            (129.0, "bench.json")
        );
        let expected =
            129.0 * 0.025 / 1000.0 + 46.0 * 0.2 / 1e6 + 1.531 * usd("lambda.x86.gb-second");
        assert_eq!(runs[0].usd, round4(expected));
        assert_eq!(runs[1].figures, "typical");
        let typical = estimate(&settings, &us_east(), None).unwrap().runs;
        assert!(
            typical[1].usd > us_east().workflow_usd(120.0, 40.0, 70.0).unwrap(),
            "green's task is counted"
        );
    }

    #[test]
    fn the_json_names_lines_totals_ways_down_and_runs() {
        let value = serde_json::to_value(at_defaults_with(json!({}))).unwrap();
        assert_eq!(value["region"], "us-east-1");
        assert!(value["lines"][0]["atMinTasks"]["usd"].is_f64());
        assert!(value["lines"][0]["unitPrice"]
            .as_str()
            .unwrap()
            .starts_with('$'));
        assert!(
            value["totalAtMaxTasks"].as_f64().unwrap() > value["totalAtMinTasks"].as_f64().unwrap()
        );
        assert_eq!(value["waysDown"].as_array().unwrap().len(), 3);
        assert_eq!(value["runs"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn the_committed_docs_section_is_rendered_from_the_table() {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/aws.md"),
        )
        .unwrap();
        let section = docs_section().unwrap();
        assert!(
            docs.contains(&section),
            "docs/aws.md's cost section is stale: run `make cost-docs`"
        );
    }

    #[test]
    fn only_the_section_between_the_markers_is_replaced() {
        let document = format!("intro\n{START}\nstale\n{END}\nafter\n");
        let replaced = replace_section(&document, &format!("{START}\nnew\n{END}")).unwrap();
        assert_eq!(replaced, format!("intro\n{START}\nnew\n{END}\nafter\n"));
        assert!(replace_section("no markers", "x").is_err());
    }
}
