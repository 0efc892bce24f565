//! Mail on the local stack: `up` with a `mail` block puts Vikunja's mailer in the task
//! definition — settings as environment, the password only as an ECS secret that names the
//! operator's Secrets Manager secret — and a password secret the tasks could not read, or
//! one that is not there, stops `up` at its first step with nothing made.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vikunja_aws::plan;
use vikunja_tests::{census, find, Harness};

const PASSWORD: &str = "smtp-password-for-the-mail-test";

fn mail(arn: &str, port: u16) -> Value {
    json!({"mail": {
        "host": "email-smtp.us-east-1.amazonaws.com",
        "port": port,
        "fromAddress": "vikunja@example.com",
        "user": "AKIAMAILTEST",
        "passwordSecretArn": arn,
    }})
}

/// The newest revision of the stack's task family: (environment, secrets) by name.
async fn latest_task_definition(
    h: &Harness,
    stack: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let ecs = &h.clients.ecs;
    let arns = ecs
        .list_task_definitions()
        .family_prefix(vikunja_core::Names::new(stack).task_family())
        .send()
        .await
        .unwrap();
    let latest = arns.task_definition_arns().last().expect("a revision");
    let described = ecs
        .describe_task_definition()
        .task_definition(latest)
        .send()
        .await
        .unwrap();
    let container = &described.task_definition().unwrap().container_definitions()[0];
    let environment = container
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap().to_string(),
                kv.value().unwrap().to_string(),
            )
        })
        .collect();
    let secrets = container
        .secrets()
        .iter()
        .map(|s| (s.name().to_string(), s.value_from().to_string()))
        .collect();
    (environment, secrets)
}

#[tokio::test(flavor = "multi_thread")]
async fn up_with_mail_configures_the_mailer_and_plan_then_has_nothing_to_do() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("mail").await;
    let arn = h.store_mail_password(&stack, PASSWORD).await;
    let settings = mail(&arn, 587);
    let outputs = h.provision(&stack, settings.clone()).await.expect("up");

    let (environment, secrets) = latest_task_definition(&h, &stack).await;
    let env = |name: &str| environment.get(name).map(String::as_str);
    assert_eq!(env("VIKUNJA_MAILER_ENABLED"), Some("true"));
    assert_eq!(
        env("VIKUNJA_MAILER_HOST"),
        Some("email-smtp.us-east-1.amazonaws.com")
    );
    assert_eq!(env("VIKUNJA_MAILER_PORT"), Some("587"));
    assert_eq!(env("VIKUNJA_MAILER_USERNAME"), Some("AKIAMAILTEST"));
    assert_eq!(env("VIKUNJA_MAILER_FROMEMAIL"), Some("vikunja@example.com"));
    assert_eq!(env("VIKUNJA_MAILER_FORCESSL"), Some("false"));
    assert_eq!(env("VIKUNJA_MAILER_PASSWORD"), None);
    assert_eq!(
        secrets.get("VIKUNJA_MAILER_PASSWORD"),
        Some(&arn),
        "the password comes from the operator's secret, by ARN: {secrets:?}"
    );
    assert!(
        !environment.values().any(|v| v.contains(PASSWORD)),
        "{environment:?}"
    );

    // With up to four tasks, `up` says what runs per task, reminders included.
    let per_task: Vec<&str> = outputs["perTask"]
        .as_array()
        .expect("up says what is per task")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(per_task.len(), 2, "{per_task:?}");
    assert!(per_task[1].contains("once per running task (up to 4 copies)"));

    let path = std::env::temp_dir().join(format!("vikunja-mail-{stack}.json"));
    std::fs::write(&path, settings.to_string()).unwrap();
    let loaded =
        vikunja_aws::follow::load_settings(&stack, Some(&path), vikunja_aws::target::Target::Local)
            .unwrap();
    let planned = plan::plan(&h.aws, &loaded).await.expect("plan");
    assert!(!planned.has_changes(), "{}", plan::render(&planned));
    assert_eq!(planned.per_task.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_secret_the_tasks_cannot_read_or_that_is_missing_stops_up_before_anything_is_made() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("mailbad").await;
    let before = census::tagged(&h, &stack).await;
    let (account, region) = (&h.aws.account, &h.aws.region);

    // Outside `<stack>/`: the settings are refused by the CLI before it starts anything…
    let elsewhere = h
        .clients
        .secrets
        .create_secret()
        .name(format!("shared-{stack}/smtp"))
        .secret_string(PASSWORD)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let error = h
        .provision(&stack, mail(&elsewhere, 587))
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains(&format!("may read only secrets named {stack}/")),
        "{text}"
    );
    // …and by the workflow's first step when the workflow is started directly.
    let mut input = json!({"settings": {"stack": stack}});
    input["settings"]["mail"] = mail(&elsewhere, 587)["mail"].clone();
    let error = h.provision_raw(&stack, &input).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("InvalidInput") && text.contains("may read only"),
        "{text}"
    );

    // Named right but not there: the network step asks Secrets Manager, and stops.
    let missing = format!("arn:aws:secretsmanager:{region}:{account}:secret:{stack}/mail/none");
    let error = h.provision(&stack, mail(&missing, 587)).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("no such secret: create it (aws secretsmanager create-secret --name")
            && text.contains("nothing was changed"),
        "{text}"
    );

    assert!(find::vpcs(&h.clients.ec2, &stack).await.is_empty());
    assert_eq!(census::tagged(&h, &stack).await, before, "nothing was made");
}
