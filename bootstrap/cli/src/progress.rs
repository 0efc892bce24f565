//! Progress of the long waits: a database being created, a distribution being disabled, a
//! deployment shifting traffic. On a terminal each wait is a spinner with what is awaited and
//! for how long; otherwise (a pipe, a CI log) plain lines on stderr: one when the wait starts,
//! one when what is awaited changes or every [`PLAIN_EVERY`], one when it ends with the total.
//! Stdout keeps the step lines and the result, so `--output json` stays machine-readable.
//!
//! The workflows wait in Step Functions loops (a `Wait` state, a status poll, a `Choice`), so
//! the CLI reads "what is awaited" from the execution's history: [`waits`] is that mapping.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::Output;

/// How often a plain line repeats a wait that has not changed: often enough that a CI log
/// shows the command is alive, rarely enough that a 15-minute database is a dozen lines.
pub const PLAIN_EVERY: Duration = Duration::from_secs(30);

/// How waits are shown (`--progress`, env `VIKUNJA_PROGRESS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Style {
    /// A spinner when stderr is a terminal (and `TERM` is not `dumb`), plain lines otherwise;
    /// nothing with `--output json`.
    #[default]
    Auto,
    /// Always spinners.
    Tty,
    /// Always plain lines.
    Plain,
    /// No progress at all.
    Off,
}

static STYLE: OnceLock<Style> = OnceLock::new();

/// Sets the style for the whole run (the binary calls it once; the default is `Auto`).
pub fn choose(style: Style) {
    let _ = STYLE.set(style);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolved {
    Tty,
    Plain,
    Off,
}

fn resolve(style: Style, output: Output, stderr_is_terminal: bool, term: Option<&str>) -> Resolved {
    match style {
        Style::Tty => Resolved::Tty,
        Style::Plain => Resolved::Plain,
        Style::Off => Resolved::Off,
        // A JSON caller is a program: it gets the result and nothing it did not ask for.
        Style::Auto if output == Output::Json => Resolved::Off,
        Style::Auto if stderr_is_terminal && term != Some("dumb") => Resolved::Tty,
        Style::Auto => Resolved::Plain,
    }
}

/// One wait a workflow is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// The wait's key: its `Wait` state (one line or spinner per key).
    pub wait: String,
    /// Whose wait: a tier, or `bootstrap`.
    pub subject: String,
    /// What the wait is for, in general: the end line names it.
    pub awaited: String,
    /// What is awaited right now, with its status.
    pub detail: String,
}

impl Reason {
    /// `data: waiting for the database vikunja-db (creating)`.
    pub fn waiting(&self) -> String {
        format!("{}: waiting for {}", self.subject, self.detail)
    }

    /// `data: waited 4m12s for the database`.
    pub fn waited(&self, took: Duration) -> String {
        format!(
            "{}: waited {} for {}",
            self.subject,
            elapsed(took),
            self.awaited
        )
    }
}

/// `45s`, `2m13s`, `1h02m`.
pub fn elapsed(took: Duration) -> String {
    let s = took.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A wait loop of a workflow: its `Wait` state, the state that follows the loop (entering it
/// ends the wait — loops of parallel branches run side by side, so "any other state" would
/// not do), whose wait it is and what for.
struct Loop {
    wait: &'static str,
    ends_at: &'static str,
    subject: &'static str,
    awaited: &'static str,
}

const LOOPS: &[Loop] = &[
    // provision
    Loop {
        wait: "WaitForDatabase",
        ends_at: "DatabaseOutputs",
        subject: "data",
        awaited: "the database and files",
    },
    Loop {
        wait: "WaitForCertificates",
        ends_at: "LoadBalancer",
        subject: "domain",
        awaited: "the certificates",
    },
    // release backend
    Loop {
        wait: "WaitForSnapshot",
        ends_at: "RegisterTaskDefinition",
        subject: "backend",
        awaited: "the snapshot",
    },
    Loop {
        wait: "WaitForDeployment",
        ends_at: "Released",
        subject: "backend",
        awaited: "the deployment",
    },
    // release frontend
    Loop {
        wait: "WaitTurn",
        ends_at: "Sync",
        subject: "frontend",
        awaited: "the releases ahead",
    },
    Loop {
        wait: "WaitForInvalidation",
        ends_at: "Publish",
        subject: "frontend",
        awaited: "the invalidation",
    },
    Loop {
        wait: "KeepPrevious",
        ends_at: "Prune",
        subject: "frontend",
        awaited: "the previous release's files to expire",
    },
    // teardown: the tiers in their order, each loop ends at the next tier's step
    Loop {
        wait: "WaitForDelivery",
        ends_at: "Backend",
        subject: "delivery",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForBackend",
        ends_at: "Frontend",
        subject: "backend",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForFrontend",
        ends_at: "Data",
        subject: "frontend",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForData",
        ends_at: "LoadBalancer",
        subject: "data",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForLoadBalancer",
        ends_at: "Domain",
        subject: "loadbalancer",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForDomain",
        ends_at: "Network",
        subject: "domain",
        awaited: "its deletions",
    },
    Loop {
        wait: "WaitForNetwork",
        ends_at: "Inventory",
        subject: "network",
        awaited: "its deletions",
    },
];

/// What the history says about waits, as far as [`waits_in`] needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Moment {
    /// A `Wait` state entered, with its input: the state the last poll left.
    Wait { name: String, input: Value },
    /// Any other state entered.
    Entered { name: String },
}

/// The moments of an execution's history.
pub fn moments(events: &[HistoryEvent]) -> Vec<Moment> {
    events
        .iter()
        .filter_map(|event| {
            let details = event.state_entered_event_details()?;
            let name = details.name().to_string();
            Some(if event.r#type() == &HistoryEventType::WaitStateEntered {
                let input = details
                    .input()
                    .and_then(|i| serde_json::from_str(i).ok())
                    .unwrap_or(Value::Null);
                Moment::Wait { name, input }
            } else {
                Moment::Entered { name }
            })
        })
        .collect()
}

/// The waits an execution is in, from its history read so far.
pub fn waits(events: &[HistoryEvent]) -> Vec<Reason> {
    waits_in(&moments(events))
}

/// The waits open at the end of `moments`: a loop is open from its `Wait` state until the
/// state after the loop is entered, and each re-entry updates what it waits for.
pub fn waits_in(moments: &[Moment]) -> Vec<Reason> {
    let mut open: BTreeMap<&'static str, Reason> = BTreeMap::new();
    for moment in moments {
        match moment {
            Moment::Wait { name, input } => {
                if let Some(known) = LOOPS.iter().find(|l| l.wait == name.as_str()) {
                    open.insert(known.wait, reason(known, input));
                }
            }
            Moment::Entered { name } => open.retain(|wait, _| {
                LOOPS
                    .iter()
                    .find(|l| l.wait == *wait)
                    .is_none_or(|l| l.ends_at != name.as_str())
            }),
        }
    }
    open.into_values().collect()
}

/// What one loop waits for now, from the state its last poll left (the `Wait` state's input).
fn reason(known: &Loop, input: &Value) -> Reason {
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let detail = match known.wait {
        "WaitForDatabase" => {
            let data = &input["data"];
            match text(&data["status"]).as_deref() {
                Some("available") | None => text(&data["filesPending"])
                    .or_else(|| text(&data["cachePending"]))
                    .unwrap_or_else(|| "the database".into()),
                Some(status) => format!(
                    "the database {} ({status})",
                    text(&data["dbInstanceId"]).unwrap_or_default()
                )
                .replace("  ", " "),
            }
        }
        "WaitForCertificates" => {
            let domain = &input["domain"];
            let statuses: Vec<String> = [
                ("site", "siteCertificateStatus"),
                ("origin", "originCertificateStatus"),
            ]
            .iter()
            .filter_map(|(which, key)| text(&domain[*key]).map(|s| format!("{which} {s}")))
            .collect();
            with_status("the certificates", &statuses.join(", "))
        }
        "WaitForSnapshot" => {
            let snapshot = &input["snapshot"];
            with_status(
                &format!("snapshot {}", text(&snapshot["id"]).unwrap_or_default()),
                &text(&snapshot["status"]).unwrap_or_else(|| "starting".into()),
            )
        }
        "WaitForDeployment" => with_status(
            &format!(
                "deployment {}",
                text(&input["deploymentId"]).unwrap_or_default()
            ),
            &text(&input["status"]).unwrap_or_default(),
        ),
        "WaitTurn" => {
            let ahead: Vec<String> = input["turn"]["ahead"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(text)
                .collect();
            with_status("the releases ahead", &ahead.join(", "))
        }
        "WaitForInvalidation" => {
            let invalidation = &input["invalidation"];
            with_status(
                &format!(
                    "invalidation {}",
                    text(&invalidation["id"]).unwrap_or_default()
                ),
                &text(&invalidation["status"]).unwrap_or_default(),
            )
        }
        "KeepPrevious" => match input["release"]["keepPreviousSeconds"].as_u64() {
            Some(seconds) => format!(
                "the previous release's files to expire (kept {})",
                elapsed(Duration::from_secs(seconds))
            ),
            None => known.awaited.to_string(),
        },
        // Teardown: the tier step says what it waits for.
        _ => text(&input["tiers"][known.subject]["waitingFor"])
            .unwrap_or_else(|| known.awaited.to_string()),
    };
    Reason {
        wait: known.wait.to_string(),
        subject: known.subject.to_string(),
        awaited: known.awaited.to_string(),
        detail: detail.trim().to_string(),
    }
}

fn with_status(what: &str, status: &str) -> String {
    let what = what.trim();
    if status.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({status})")
    }
}

/// The plain-line display: what to print as time passes and the waits change. `now` is the
/// time since the display began, passed in so that tests need no clock.
#[derive(Debug)]
pub struct Lines {
    every: Duration,
    open: BTreeMap<String, OpenWait>,
}

#[derive(Debug)]
struct OpenWait {
    reason: Reason,
    since: Duration,
    last_line: Duration,
}

impl Lines {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            open: BTreeMap::new(),
        }
    }

    /// The lines to print now that `current` are the open waits.
    pub fn update(&mut self, now: Duration, current: &[Reason]) -> Vec<String> {
        let mut lines = Vec::new();
        self.open.retain(|wait, open| {
            let still = current.iter().any(|r| &r.wait == wait);
            if !still {
                lines.push(open.reason.waited(now.saturating_sub(open.since)));
            }
            still
        });
        for reason in current {
            match self.open.get_mut(&reason.wait) {
                None => {
                    lines.push(reason.waiting());
                    self.open.insert(
                        reason.wait.clone(),
                        OpenWait {
                            reason: reason.clone(),
                            since: now,
                            last_line: now,
                        },
                    );
                }
                Some(open) => {
                    let changed = open.reason.detail != reason.detail;
                    if changed || now.saturating_sub(open.last_line) >= self.every {
                        lines.push(format!(
                            "{} {}",
                            reason.waiting(),
                            elapsed(now.saturating_sub(open.since))
                        ));
                        open.last_line = now;
                        open.reason = reason.clone();
                    }
                }
            }
        }
        lines
    }
}

/// Spinners on stderr, one per open wait.
struct Spinners {
    multi: MultiProgress,
    bars: BTreeMap<String, (ProgressBar, Reason)>,
}

impl Spinners {
    fn update(&mut self, current: &[Reason]) {
        self.bars.retain(|wait, (bar, reason)| {
            let still = current.iter().any(|r| &r.wait == wait);
            if !still {
                bar.set_style(ProgressStyle::with_template("  ✓ {msg}").expect("template"));
                bar.finish_with_message(reason.waited(bar.elapsed()));
            }
            still
        });
        for reason in current {
            match self.bars.get_mut(&reason.wait) {
                Some((bar, shown)) => {
                    if shown.detail != reason.detail {
                        bar.set_message(reason.waiting());
                        *shown = reason.clone();
                    }
                }
                None => {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(spinner_style());
                    bar.set_message(reason.waiting());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.bars.insert(reason.wait.clone(), (bar, reason.clone()));
                }
            }
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("  {spinner} {msg} {took}")
        .expect("template")
        .with_key(
            "took",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&elapsed(state.elapsed()));
            },
        )
}

enum Sink {
    Off,
    Plain(Lines),
    Tty(Spinners),
}

/// The display of a command's waits. Feed it the open waits after each poll
/// ([`Waiting::show`]); print other lines through [`Waiting::suspend`] so a spinner does not
/// garble them; dropping it ends the waits still open.
pub struct Waiting {
    clock: Instant,
    sink: Sink,
}

impl Waiting {
    pub fn new(output: Output) -> Self {
        let style = STYLE.get().copied().unwrap_or_default();
        let term = std::env::var("TERM").ok();
        let sink = match resolve(
            style,
            output,
            std::io::stderr().is_terminal(),
            term.as_deref(),
        ) {
            Resolved::Off => Sink::Off,
            Resolved::Plain => Sink::Plain(Lines::new(PLAIN_EVERY)),
            Resolved::Tty => Sink::Tty(Spinners {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }),
        };
        Self {
            clock: Instant::now(),
            sink,
        }
    }

    /// `current` are the waits open now (none: every wait has ended).
    pub fn show(&mut self, current: &[Reason]) {
        match &mut self.sink {
            Sink::Off => {}
            Sink::Plain(lines) => {
                for line in lines.update(self.clock.elapsed(), current) {
                    eprintln!("  {line}");
                }
            }
            Sink::Tty(spinners) => spinners.update(current),
        }
    }

    /// Runs `print` with the spinners out of the way.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.sink {
            Sink::Tty(spinners) => spinners.multi.suspend(print),
            _ => print(),
        }
    }

    /// Ends every open wait (its end line says how long it took).
    pub fn finish(&mut self) {
        self.show(&[]);
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wait(name: &str, input: Value) -> Moment {
        Moment::Wait {
            name: name.into(),
            input,
        }
    }

    fn entered(name: &str) -> Moment {
        Moment::Entered { name: name.into() }
    }

    fn details(moments: &[Moment]) -> Vec<String> {
        waits_in(moments).iter().map(Reason::waiting).collect()
    }

    #[test]
    fn the_provision_waits_for_the_database_then_its_files_while_certificates_wait_beside() {
        let creating = json!({"data": {"dbInstanceId": "vikunja-db", "status": "creating"}});
        let files = json!({"data": {"dbInstanceId": "vikunja-db", "status": "available",
            "filesPending": "file system fs-1 to be available (it is creating)"}});
        let certificates = json!({"domain": {"siteCertificateStatus": "PENDING_VALIDATION",
            "originCertificateStatus": "ISSUED", "issued": false}});
        let mut history = vec![
            entered("DataAndLoadBalancer"),
            entered("Database"),
            entered("DatabaseAvailable?"),
            wait("WaitForDatabase", creating),
            entered("CertificatesIssued?"),
            wait("WaitForCertificates", certificates),
        ];
        assert_eq!(
            details(&history),
            [
                "domain: waiting for the certificates (site PENDING_VALIDATION, origin ISSUED)",
                "data: waiting for the database vikunja-db (creating)",
            ]
        );
        // The other branch's states do not end a wait; the state after its own loop does.
        history.extend([entered("DatabaseStatus"), entered("DatabaseAvailable?")]);
        history.push(wait("WaitForDatabase", files));
        history.extend([entered("CertificateStatus"), entered("LoadBalancer")]);
        assert_eq!(
            details(&history),
            ["data: waiting for file system fs-1 to be available (it is creating)"]
        );
        history.extend([entered("DatabaseStatus"), entered("DatabaseOutputs")]);
        assert!(waits_in(&history).is_empty());
    }

    #[test]
    fn teardown_says_what_each_tier_waits_for_until_the_next_tier_starts() {
        let input = json!({"tiers": {"frontend": {"tier": "frontend", "status": "waiting",
            "waitingFor": "distribution E2ABC to be disabled (it is InProgress)"}}});
        let mut history = vec![
            entered("Frontend"),
            entered("FrontendDone?"),
            wait("WaitForFrontend", input),
        ];
        let open = waits_in(&history);
        assert_eq!(
            open[0].waiting(),
            "frontend: waiting for distribution E2ABC to be disabled (it is InProgress)"
        );
        assert_eq!(
            open[0].waited(Duration::from_secs(754)),
            "frontend: waited 12m34s for its deletions"
        );
        history.extend([entered("Frontend"), entered("FrontendDone?")]);
        assert_eq!(waits_in(&history).len(), 1, "a poll is still the wait");
        history.push(entered("Data"));
        assert!(waits_in(&history).is_empty());
    }

    #[test]
    fn releases_name_their_deployment_invalidation_and_snapshot() {
        let deployment = json!({"deploymentId": "d-7XYZ", "status": "InProgress"});
        let invalidation = json!({"invalidation": {"id": "I2", "status": "InProgress"}});
        let snapshot = json!({"snapshot": {"id": "vikunja-pre-0-24-6", "status": "creating"}});
        assert_eq!(
            details(&[wait("WaitForSnapshot", snapshot)]),
            ["backend: waiting for snapshot vikunja-pre-0-24-6 (creating)"]
        );
        assert_eq!(
            details(&[wait("WaitForDeployment", deployment)]),
            ["backend: waiting for deployment d-7XYZ (InProgress)"]
        );
        assert_eq!(
            details(&[wait("WaitForInvalidation", invalidation)]),
            ["frontend: waiting for invalidation I2 (InProgress)"]
        );
        assert_eq!(
            details(&[wait(
                "WaitTurn",
                json!({"turn": {"go": false, "ahead": ["e-1"]}})
            )]),
            ["frontend: waiting for the releases ahead (e-1)"]
        );
    }

    #[test]
    fn a_wait_state_no_loop_knows_is_not_a_wait_shown() {
        assert!(waits_in(&[wait("Pause", json!({}))]).is_empty());
        // A loop with an input missing its fields still says what it waits for.
        assert_eq!(
            details(&[wait("WaitForData", Value::Null)]),
            ["data: waiting for its deletions"]
        );
    }

    fn reason(detail: &str) -> Reason {
        Reason {
            wait: "WaitForDatabase".into(),
            subject: "data".into(),
            awaited: "the database and files".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn plain_lines_start_repeat_at_most_every_period_and_end_with_the_total() {
        let s = Duration::from_secs;
        let mut lines = Lines::new(s(30));
        let creating = [reason("the database vikunja-db (creating)")];
        assert_eq!(
            lines.update(s(3), &creating),
            ["data: waiting for the database vikunja-db (creating)"]
        );
        assert!(lines.update(s(5), &creating).is_empty());
        assert!(
            lines.update(s(32), &creating).is_empty(),
            "29 s after the first"
        );
        assert_eq!(
            lines.update(s(33), &creating),
            ["data: waiting for the database vikunja-db (creating) 30s"]
        );
        assert!(lines.update(s(62), &creating).is_empty());
        assert_eq!(lines.update(s(136), &creating).len(), 1);
        assert_eq!(
            lines.update(s(200), &[]),
            ["data: waited 3m17s for the database and files"]
        );
        assert!(
            lines.update(s(230), &[]).is_empty(),
            "an ended wait is quiet"
        );
    }

    #[test]
    fn a_plain_line_comes_at_once_when_what_is_awaited_changes() {
        let s = Duration::from_secs;
        let mut lines = Lines::new(s(30));
        lines.update(s(0), &[reason("the database vikunja-db (creating)")]);
        let backing_up = [reason("the database vikunja-db (backing-up)")];
        assert_eq!(
            lines.update(s(4), &backing_up),
            ["data: waiting for the database vikunja-db (backing-up) 4s"]
        );
        assert!(lines.update(s(8), &backing_up).is_empty());
        // The period counts from the last line, not from the start.
        assert!(lines.update(s(33), &backing_up).is_empty());
        assert_eq!(lines.update(s(34), &backing_up).len(), 1);
    }

    #[test]
    fn auto_is_a_spinner_only_on_a_real_terminal_and_never_for_json() {
        assert_eq!(
            resolve(Style::Auto, Output::Text, true, Some("xterm")),
            Resolved::Tty
        );
        assert_eq!(
            resolve(Style::Auto, Output::Text, true, Some("dumb")),
            Resolved::Plain
        );
        assert_eq!(
            resolve(Style::Auto, Output::Text, false, None),
            Resolved::Plain
        );
        assert_eq!(
            resolve(Style::Auto, Output::Json, true, None),
            Resolved::Off
        );
        assert_eq!(
            resolve(Style::Plain, Output::Json, true, None),
            Resolved::Plain
        );
        assert_eq!(resolve(Style::Off, Output::Text, true, None), Resolved::Off);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let s = Duration::from_secs;
        assert_eq!(elapsed(s(0)), "0s");
        assert_eq!(elapsed(s(59)), "59s");
        assert_eq!(elapsed(s(133)), "2m13s");
        assert_eq!(elapsed(s(3600 + 120 + 5)), "1h02m");
    }
}
