//! Secrets never leak: after `bootstrap` and `up`, everything the run leaves readable — the
//! functions' logs, the state machines' execution histories (inputs and outputs), the SSM
//! inventory, the task definitions' environment, the bootstrap stack's outputs and the CLI's
//! JSON output — is searched for the database password, the service secret and the SMTP
//! password of the run's `mail` settings.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vikunja_aws::deploy;
use vikunja_aws::follow;
use vikunja_aws::plan;
use vikunja_aws::target::Target;
use vikunja_tests::{find, Harness};

async fn secret_value(h: &Harness, id: &str) -> String {
    h.clients
        .secrets
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .expect("the secret")
        .secret_string()
        .expect("a string secret")
        .to_string()
}

/// The SMTP password the operator stores before `up` (`<stack>/…`, as mail settings need).
const MAIL_PASSWORD: &str = "smtp-password-never-in-plain-sight";

/// The secrets a run must never show: the database's master password, the service secret
/// and the mail password.
async fn secrets(h: &Harness, stack: &str) -> Vec<(&'static str, String)> {
    let db = find::database(&h.clients.rds, stack).await;
    let master = db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("RDS manages the password");
    let master: Value = serde_json::from_str(&secret_value(h, master).await).unwrap();
    let password = master["password"].as_str().expect("a password").to_string();
    let service = secret_value(h, &format!("{stack}/backend/service-secret")).await;
    for (what, value) in [
        ("database password", &password),
        ("service secret", &service),
    ] {
        // moto's managed master password is a fixed nine characters; anything shorter would match by chance.
        assert!(
            value.len() >= 8,
            "the {what} is too short to search for: {value:?}"
        );
    }
    let mail = secret_value(h, &format!("{stack}/mail/smtp-password")).await;
    assert_eq!(mail, MAIL_PASSWORD);
    vec![
        ("database password", password),
        ("service secret", service),
        ("mail password", mail),
    ]
}

async fn function_logs(h: &Harness, stack: &str) -> String {
    let logs = &h.clients.logs;
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{stack}-"))
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    for group in groups.log_groups() {
        let name = group.log_group_name().unwrap();
        let mut events = logs
            .filter_log_events()
            .log_group_name(name)
            .into_paginator()
            .send();
        while let Some(page) = events.next().await {
            for event in page.unwrap().events() {
                text.push_str(event.message().unwrap_or_default());
                text.push('\n');
            }
        }
    }
    text
}

async fn execution_histories(h: &Harness, stack: &str) -> String {
    // Every earlier test's stacks share this local stack: read every page, or ours may be past
    // the first one.
    let sfn = &h.clients.sfn;
    let machines: Vec<_> = sfn
        .list_state_machines()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap();
    let mut text = String::new();
    let ours = machines.iter().filter(|m| m.name().starts_with(stack));
    for machine in ours {
        let runs: Vec<_> = sfn
            .list_executions()
            .state_machine_arn(machine.state_machine_arn())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        for run in runs {
            // Every page: AWS (and the local stack) answer 100 events per page by default.
            let events: Vec<_> = sfn
                .get_execution_history()
                .execution_arn(run.execution_arn())
                .include_execution_data(true)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .unwrap();
            text.push_str(&format!("{events:?}\n"));
        }
    }
    text
}

async fn inventory(h: &Harness, stack: &str) -> String {
    let parameters = h
        .clients
        .ssm
        .get_parameters_by_path()
        .path(format!("/vikunja/{stack}/"))
        .recursive(true)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let values = parameters.parameters().iter().filter_map(|p| p.value());
    values.collect::<Vec<_>>().join("\n")
}

async fn task_definitions(h: &Harness, stack: &str) -> String {
    let ecs = &h.clients.ecs;
    let arns = ecs
        .list_task_definitions()
        .family_prefix(vikunja_core::Names::new(stack).task_family())
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    for arn in arns.task_definition_arns() {
        let described = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .unwrap();
        text.push_str(&format!("{:?}\n", described.task_definition()));
    }
    text
}

async fn bootstrap_outputs(h: &Harness, stack: &str) -> String {
    // By name: a listing of every stack is paged, and earlier tests' stacks come first.
    let stacks = h
        .aws
        .cloudformation()
        .describe_stacks()
        .stack_name(deploy::stack_name(stack))
        .send()
        .await
        .unwrap();
    let outputs = stacks.stacks().iter().map(|s| format!("{:?}", s.outputs()));
    outputs.collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_is_readable_in_anything_a_run_leaves_behind() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("secrets");
    let bootstrapped = h.bootstrap(&stack).await.expect("bootstrap");
    let mail_secret = h.store_mail_password(&stack, MAIL_PASSWORD).await;
    let settings = json!({"mail": {
        "host": "email-smtp.us-east-1.amazonaws.com",
        "fromAddress": "vikunja@example.com",
        "user": "AKIASECRETSTEST",
        "passwordSecretArn": mail_secret,
    }});
    let provisioned = h.provision(&stack, settings.clone()).await.expect("up");
    let settings_file = std::env::temp_dir().join(format!("vikunja-secrets-{stack}.json"));
    std::fs::write(&settings_file, settings.to_string()).unwrap();
    let settings = follow::load_settings(&stack, Some(&settings_file), Target::Local).unwrap();
    let planned = plan::plan(&h.aws, &settings).await.expect("plan");

    let mut readable = BTreeMap::new();
    readable.insert("function logs", function_logs(&h, &stack).await);
    readable.insert("execution histories", execution_histories(&h, &stack).await);
    readable.insert("SSM inventory", inventory(&h, &stack).await);
    readable.insert("task definitions", task_definitions(&h, &stack).await);
    readable.insert(
        "bootstrap stack outputs",
        bootstrap_outputs(&h, &stack).await,
    );
    readable.insert(
        "CLI output (JSON)",
        format!(
            "{bootstrapped}\n{provisioned}\n{}",
            serde_json::to_string(&planned).unwrap()
        ),
    );
    for (source, text) in &readable {
        // A scan of nothing finds nothing: each source must hold what the run wrote.
        assert!(
            text.len() > 200,
            "{source} holds almost nothing ({} bytes)",
            text.len()
        );
    }
    assert!(
        readable["task definitions"].contains(&format!("{stack}/backend/service-secret")),
        "the task definition names the secret by ARN (its value comes at run time)"
    );
    assert!(
        readable["task definitions"].contains(&mail_secret),
        "the mail password is named by its secret's ARN"
    );

    let mut leaks = Vec::new();
    for (what, value) in secrets(&h, &stack).await {
        for (source, text) in &readable {
            if text.contains(&value) {
                leaks.push(format!("the {what} is readable in the {source}"));
            }
        }
    }
    let sizes: Vec<String> = readable
        .iter()
        .map(|(s, t)| format!("{s}: {} bytes", t.len()))
        .collect();
    println!("scanned {}", sizes.join(", "));
    assert!(leaks.is_empty(), "{leaks:#?}");
}
