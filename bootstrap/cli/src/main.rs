//! `vikunja-aws`: the operator's CLI. It packages and deploys the bootstrap stack, plans what
//! `up` would do, starts the workflows and follows them, and reads the stack's inventory.
//! The same code path serves the local stack and AWS: only the endpoint and credentials differ.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use vikunja_core::settings::DEFAULT_STACK;

use vikunja_aws::target::{self, Target};
use vikunja_aws::{deploy, down, follow, package, plan, progress, Output};

#[derive(Parser)]
#[command(
    name = "vikunja-aws",
    version,
    about = "Provision and release a self-hosted Vikunja on AWS"
)]
struct Cli {
    /// Where to run: the local AWS stack (default) or a real AWS account.
    #[arg(long, global = true, value_enum, default_value_t = Target::Local, env = "VIKUNJA_TARGET")]
    target: Target,
    /// Stack name: prefix and tag of everything this stack owns.
    #[arg(long, global = true, default_value = DEFAULT_STACK, env = "VIKUNJA_STACK")]
    stack: String,
    /// AWS region (default: the standard chain on AWS, us-east-1 locally).
    #[arg(long, global = true)]
    region: Option<String>,
    /// AWS profile (the standard credential chain is used otherwise).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Output format of the result.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// How long waits are shown on stderr: a spinner on a terminal, plain lines otherwise
    /// (auto; nothing with --output json), or always tty / plain / off.
    #[arg(long, global = true, value_enum, default_value_t = progress::Style::Auto, env = "VIKUNJA_PROGRESS")]
    progress: progress::Style,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Zip the functions and write the packaged template (no AWS calls).
    Package {
        /// Directory holding one executable per function, named after it.
        #[arg(long, env = "VIKUNJA_BINARIES")]
        binaries: PathBuf,
        #[arg(long, default_value = "target/package")]
        out: PathBuf,
        /// Refuse binaries Lambda cannot start (not Linux ELF, glibc newer than 2.34, mixed
        /// architectures); `bootstrap --target aws` always checks.
        #[arg(long)]
        check_lambda: bool,
    },
    /// Upload the functions and create or update the bootstrap stack through a change set.
    Bootstrap {
        #[arg(long, env = "VIKUNJA_BINARIES")]
        binaries: PathBuf,
        /// Artifacts bucket (default: the one the stack uses, else vikunja-artifacts-<account>-<region>).
        #[arg(long, env = "VIKUNJA_ARTIFACTS_BUCKET")]
        artifacts_bucket: Option<String>,
        /// Create and show the change set, then stop: it is left for review.
        #[arg(long)]
        no_execute: bool,
        /// The stack is UPDATE_ROLLBACK_FAILED: continue its rollback, then deploy.
        #[arg(long)]
        continue_rollback: bool,
        /// With --continue-rollback: a resource the rollback skips (repeat for more).
        #[arg(
            long = "skip-resource",
            value_name = "LOGICAL_ID",
            requires = "continue_rollback"
        )]
        skip_resources: Vec<String>,
    },
    /// Compare the stack's desired tiers with what the account has, changing nothing: per
    /// tier and resource, create / change / keep / cannot change in place.
    Plan {
        /// JSON file of settings, as for `up`.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Exit 2 when `up` has something to do (or cannot run), 0 when everything is as
        /// desired; errors exit 1.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Start the provision workflow and follow it to the end.
    Up {
        /// JSON file of settings (see the README); the stack name comes from --stack.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Start the execution and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Release a new version (the push or upload alone also starts a release).
    Release {
        #[command(subcommand)]
        what: ReleaseWhat,
    },
    /// Is the stack healthy? A verdict per tier (with the command that shows more for
    /// anything wrong), the live colour and version, both target groups' health, the last
    /// releases and alarms in ALARM; exits 1 when anything is wrong.
    Status {
        /// Refresh every 5 s until interrupted (JSON: one document per refresh).
        #[arg(long)]
        watch: bool,
    },
    /// Estimate the monthly cost at the settings, what cheaper options save, and what each
    /// workflow run costs, from the price table in the repository (nothing is fetched).
    Cost {
        /// JSON file of settings, as for `up`.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// `make bench`'s JSON: each run's transitions and GB-seconds from it.
        #[arg(long)]
        bench: Option<PathBuf>,
        /// Rewrite docs/aws.md's cost section (the defaults) instead.
        #[arg(long, conflicts_with_all = ["settings", "bench"])]
        write_docs: bool,
    },
    /// Draw each state machine from its ASL (or, with --live, the stack as it is now): DOT
    /// files, and SVGs when Graphviz is installed.
    Diagram {
        /// Where the drawings go.
        #[arg(long, default_value = "docs/diagrams")]
        out: PathBuf,
        /// Draw the stack itself as `status` reads it (live-stack.dot and .svg) instead.
        #[arg(long)]
        live: bool,
    },
    /// Delete everything the stack created (and nothing else), then its bootstrap stack.
    Down {
        /// Do not ask for confirmation (scripts).
        #[arg(long)]
        yes: bool,
        /// Keep the database (and what it lives in) and the site bucket.
        #[arg(long, conflicts_with_all = ["delete_data", "skip_final_snapshot"])]
        keep_data: bool,
        /// Lift the database's deletion protection and delete it (after a final snapshot).
        #[arg(long)]
        delete_data: bool,
        /// Delete the database without a final snapshot.
        #[arg(long)]
        skip_final_snapshot: bool,
        /// Keep the backend's log group.
        #[arg(long)]
        keep_logs: bool,
        /// Keep the bootstrap stack (functions and workflows) after the teardown.
        #[arg(long)]
        keep_bootstrap: bool,
    },
}

#[derive(Subcommand)]
enum ReleaseWhat {
    /// Push an image to the stack's repository and follow the blue/green release it starts.
    Backend {
        /// Image reference with a tag, e.g. vikunja/vikunja:0.24.6 (on AWS: already in the stack's repository).
        #[arg(long)]
        image: String,
    },
    /// Upload a frontend build (its folder, e.g. ./dist, or a zip of it) and follow the
    /// release it starts until the new version is live.
    Frontend {
        /// The build folder or zip.
        path: PathBuf,
        /// Release version (default: the zip's name, or the upload time for a folder).
        #[arg(long = "release-version")]
        version: Option<String>,
        /// How long the previous release's files stay for pages still open (seconds; default 86400).
        #[arg(long)]
        keep_previous_seconds: Option<u64>,
        /// Also wait for that period and the pruning of older files.
        #[arg(long)]
        wait_prune: bool,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    vikunja_core::settings::validate_stack_name(&cli.stack)?;
    progress::choose(cli.progress);
    let root = repository_root()?;
    match cli.command {
        Command::Diagram { out, live } => {
            let out = if out.is_absolute() {
                out
            } else {
                root.join(out)
            };
            let written = if live {
                let aws =
                    target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref())
                        .await?;
                vikunja_aws::diagram::write_live(&aws, &cli.stack, &out).await?
            } else {
                vikunja_aws::diagram::write_all(&root, &out)?
            };
            for file in written {
                println!("wrote {file}");
            }
            Ok(())
        }
        Command::Cost {
            settings,
            bench,
            write_docs,
        } => cost(
            &cli.stack,
            cli.target,
            cli.region.as_deref(),
            cli.output,
            &root,
            settings,
            bench,
            write_docs,
        ),
        Command::Package {
            binaries,
            out,
            check_lambda,
        } => {
            // The zips `make build` writes are the ones uploaded to AWS.
            let packaged = package::package(&root, &binaries, package::Compression::Small)?;
            if check_lambda {
                packaged.check_runs_on_lambda()?;
            }
            package::write(&packaged, &out)?;
            for function in &packaged.functions {
                match &function.binary {
                    Ok(facts) => println!(
                        "  {:<18} {:<7} glibc {:<6} {:>6} KiB zipped",
                        function.name,
                        facts.architecture.as_lambda(),
                        facts.newest_glibc.map_or("none".into(), |v| v.to_string()),
                        function.zip.len() / 1024
                    ),
                    Err(problem) => println!("  {:<18} {problem}", function.name),
                }
            }
            println!(
                "packaged {} functions into {}",
                packaged.functions.len(),
                out.display()
            );
            Ok(())
        }
        Command::Bootstrap {
            binaries,
            artifacts_bucket,
            no_execute,
            continue_rollback,
            skip_resources,
        } => {
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            let packaged = package::package(
                &root,
                &binaries,
                package::Compression::for_target(cli.target),
            )?;
            if cli.target == Target::Aws {
                packaged.check_runs_on_lambda()?;
            }
            let options = deploy::BootstrapOptions {
                artifacts_bucket,
                no_execute,
                continue_rollback,
                skip_resources,
            };
            let outputs = deploy::deploy(&aws, &cli.stack, &packaged, &options, cli.output).await?;
            print_result(cli.output, &outputs);
            Ok(())
        }
        Command::Plan {
            settings,
            detailed_exitcode,
        } => {
            let settings = follow::load_settings(&cli.stack, settings.as_deref(), cli.target)?;
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            let plan = plan::plan(&aws, &settings).await?;
            match cli.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
                Output::Text => print!("{}", plan::render(&plan)),
            }
            if detailed_exitcode && plan.has_changes() {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Up { settings, no_wait } => {
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            let settings = follow::load_settings(&cli.stack, settings.as_deref(), cli.target)?;
            let mut outputs = follow::provision(&aws, &settings, no_wait, cli.output).await?;
            if cli.output == Output::Text {
                // Sentences, not a field: each on its own line after the outputs.
                let notes = outputs
                    .as_object_mut()
                    .and_then(|map| map.remove(follow::PER_TASK));
                print_result(cli.output, &outputs);
                for note in notes
                    .as_ref()
                    .and_then(|n| n.as_array())
                    .into_iter()
                    .flatten()
                {
                    println!("per task: {}", note.as_str().unwrap_or_default());
                }
            } else {
                print_result(cli.output, &outputs);
            }
            Ok(())
        }
        Command::Release { what } => {
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            let result = match what {
                ReleaseWhat::Backend { image } => {
                    vikunja_aws::release_backend::release(&aws, &cli.stack, &image, cli.output)
                        .await?
                }
                ReleaseWhat::Frontend {
                    path,
                    version,
                    keep_previous_seconds,
                    wait_prune,
                } => {
                    let request = vikunja_aws::release_frontend::FrontendRelease {
                        path,
                        version,
                        keep_previous: keep_previous_seconds.map(std::time::Duration::from_secs),
                        wait_prune,
                    };
                    vikunja_aws::release_frontend::release(&aws, &cli.stack, &request, cli.output)
                        .await?
                }
            };
            print_result(cli.output, &result);
            Ok(())
        }
        Command::Status { watch } => {
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            loop {
                let observed = vikunja_aws::status::observe(&aws, &cli.stack).await?;
                let report = vikunja_aws::status::judge(&observed);
                match cli.output {
                    Output::Json if watch => println!("{}", serde_json::to_string(&report)?),
                    Output::Json => print_result(
                        cli.output,
                        &vikunja_aws::status::to_json(&aws, &observed, &report).await,
                    ),
                    Output::Text => {
                        if watch && std::io::stdout().is_terminal() {
                            print!("\x1b[2J\x1b[H"); // clear, home: the report in place
                        }
                        print!("{}", vikunja_aws::status::render(&report));
                    }
                }
                if !watch {
                    if !report.healthy {
                        std::process::exit(1);
                    }
                    return Ok(());
                }
                tokio::time::sleep(vikunja_aws::status::WATCH_EVERY).await;
            }
        }
        Command::Down {
            yes,
            keep_data,
            delete_data,
            skip_final_snapshot,
            keep_logs,
            keep_bootstrap,
        } => {
            let aws =
                target::connect(cli.target, cli.region.as_deref(), cli.profile.as_deref()).await?;
            let options = down::DownOptions {
                keep_data,
                delete_data,
                skip_final_snapshot,
                keep_logs,
                keep_bootstrap,
            };
            let mut confirm = |plan: &vikunja_core::teardown::Plan| confirm_down(plan, yes);
            let report = down::down(&aws, &cli.stack, &options, cli.output, &mut confirm).await?;
            if cli.output == Output::Json {
                print_result(cli.output, &down::to_json(&report));
            }
            if !report.complete {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn cost(
    stack: &str,
    target: Target,
    region: Option<&str>,
    output: Output,
    root: &std::path::Path,
    settings: Option<PathBuf>,
    bench: Option<PathBuf>,
    write_docs: bool,
) -> Result<()> {
    use vikunja_aws::cost;
    if write_docs {
        let path = root.join("docs/aws.md");
        let docs = std::fs::read_to_string(&path)?;
        std::fs::write(&path, cost::replace_section(&docs, &cost::docs_section()?)?)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let settings = follow::load_settings(stack, settings.as_deref(), target)?;
    let prices = cost::Prices::for_region(region.unwrap_or(cost::DOCS_REGION))?;
    let bench = match &bench {
        Some(path) => {
            let text = std::fs::read_to_string(path)?;
            Some((path.display().to_string(), serde_json::from_str(&text)?))
        }
        None => None,
    };
    let bench = bench
        .as_ref()
        .map(|(file, document)| (file.as_str(), document));
    let estimate = cost::estimate(&settings, &prices, bench)?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&estimate)?),
        Output::Text => print!("{}", cost::render(&estimate, false)),
    }
    Ok(())
}

/// `--yes`, or the operator types the stack's name; without a terminal, `--yes` is required.
fn confirm_down(plan: &vikunja_core::teardown::Plan, yes: bool) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes || plan.is_empty() {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to delete without confirmation: pass --yes (stdin is not a terminal)"
        );
    }
    print!("Type the stack name ({}) to delete the above: ", plan.stack);
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == plan.stack)
}

fn print_result(output: Output, value: &serde_json::Value) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Output::Text => {
            if let Some(map) = value.as_object() {
                let width = map.keys().map(String::len).max().unwrap_or(0);
                for (key, value) in map {
                    let shown = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("  {key:width$}  {shown}");
                }
            }
        }
    }
}

/// The checkout the CLI belongs to: templates and state machines are read from it.
fn repository_root() -> Result<PathBuf> {
    if let Ok(root) = std::env::var("VIKUNJA_ROOT") {
        return Ok(PathBuf::from(root));
    }
    let mut dir = std::env::current_dir()?;
    loop {
        if dir.join("bootstrap/template.yaml").is_file() {
            return Ok(dir);
        }
        if !dir.pop() {
            anyhow::bail!("run vikunja-aws inside the vikunja-aws checkout (or set VIKUNJA_ROOT): bootstrap/template.yaml not found");
        }
    }
}
