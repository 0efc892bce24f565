//! Mail and the shared cache on the local stack: `up` with a `mail` block puts Vikunja's
//! mailer in the task definition — settings as environment, the password only as an ECS
//! secret that names the operator's Secrets Manager secret — and a password secret the tasks
//! could not read, or one that is not there, stops `up` at its first step with nothing made.
//! With `sharedCache`, `up` makes one Valkey (ElastiCache) in the isolated subnets, reachable
//! from the API tasks only, and the task definition points Vikunja's keyvalue store at it;
//! `down` removes it.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::plan;
use vikunja_aws::Output;
use vikunja_tests::{census, failures, find, Harness};

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

#[tokio::test(flavor = "multi_thread")]
async fn up_with_a_shared_cache_wires_vikunjas_keyvalue_to_it_and_down_removes_it() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("cache").await;
    let settings = json!({"sharedCache": true});
    let outputs = h.provision(&stack, settings.clone()).await.expect("up");
    let names = vikunja_core::Names::new(&stack);
    let id = resources_cache::replication_group_id(&names);
    let cache = &h.clients.elasticache;

    // One node of Valkey, encrypted at rest, plain in transit (Vikunja's client has no TLS).
    let described = cache
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .expect("the cache");
    let group = &described.replication_groups()[0];
    assert_eq!(group.status(), Some("available"));
    assert_eq!(group.engine(), Some("valkey"));
    assert_eq!(group.cache_node_type(), Some("cache.t4g.micro"));
    assert_eq!(group.at_rest_encryption_enabled(), Some(true));
    assert_eq!(group.transit_encryption_enabled(), Some(false));
    assert_eq!(group.member_clusters().len(), 1);
    let endpoint = group.node_groups()[0].primary_endpoint().unwrap();
    let address = format!(
        "{}:{}",
        endpoint.address().unwrap(),
        endpoint.port().unwrap()
    );

    // In the isolated subnets.
    let network = find::network(&h.clients.ec2, &stack).await;
    let subnet = |name: &str| {
        network
            .subnets
            .iter()
            .find(|s| {
                s.tags()
                    .iter()
                    .any(|t| t.key() == Some("Name") && t.value() == Some(name))
            })
            .and_then(|s| s.subnet_id())
            .unwrap()
            .to_string()
    };
    let mut isolated = vec![
        subnet(&names.subnet("isolated", 0)),
        subnet(&names.subnet("isolated", 1)),
    ];
    isolated.sort();
    let groups = cache
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(resources_cache::subnet_group_name(&names))
        .send()
        .await
        .expect("the cache subnet group");
    let mut subnets: Vec<String> = groups.cache_subnet_groups()[0]
        .subnets()
        .iter()
        .map(|s| s.subnet_identifier().unwrap().to_string())
        .collect();
    subnets.sort();
    assert_eq!(subnets, isolated);

    // Its group admits 6379 from the API tasks' group and nothing else.
    let group_id = |role: &str| {
        network
            .security_groups
            .iter()
            .find(|g| g.group_name() == Some(names.security_group(role).as_str()))
            .unwrap_or_else(|| panic!("the {role} group"))
    };
    let app = group_id("app").group_id().unwrap().to_string();
    let ingress = group_id("cache").ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(
        (ingress[0].from_port(), ingress[0].to_port()),
        (Some(6379), Some(6379))
    );
    assert!(ingress[0].ip_ranges().is_empty(), "{ingress:?}");
    let sources: Vec<&str> = ingress[0]
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id())
        .collect();
    assert_eq!(sources, [app.as_str()]);

    // Vikunja's keyvalue store and Redis settings, as environment; no password anywhere.
    let (environment, secrets) = latest_task_definition(&h, &stack).await;
    let env = |name: &str| environment.get(name).map(String::as_str);
    assert_eq!(env("VIKUNJA_REDIS_ENABLED"), Some("true"));
    assert_eq!(env("VIKUNJA_REDIS_HOST"), Some(address.as_str()));
    assert_eq!(env("VIKUNJA_REDIS_DB"), Some("0"));
    assert_eq!(env("VIKUNJA_KEYVALUE_TYPE"), Some("redis"));
    assert!(!environment.contains_key("VIKUNJA_REDIS_PASSWORD"));
    assert!(!secrets.contains_key("VIKUNJA_REDIS_PASSWORD"));

    // The keyvalue store is shared: `up` has nothing per task to say (no mail, no reminders).
    assert!(
        outputs
            .get("perTask")
            .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)),
        "{outputs}"
    );

    let path = std::env::temp_dir().join(format!("vikunja-cache-{stack}.json"));
    std::fs::write(&path, settings.to_string()).unwrap();
    let loaded =
        vikunja_aws::follow::load_settings(&stack, Some(&path), vikunja_aws::target::Target::Local)
            .unwrap();
    let planned = plan::plan(&h.aws, &loaded).await.expect("plan");
    assert!(!planned.has_changes(), "{}", plan::render(&planned));
    let text = plan::render(&planned);
    assert!(text.contains(&id), "plan shows the cache: {text}");

    // `down` removes the cache and its subnet group with the rest.
    let options = DownOptions {
        delete_data: true,
        ..DownOptions::default()
    };
    let report = down::down(&h.aws, &stack, &options, Output::Json, &mut |_| Ok(true))
        .await
        .expect("down");
    assert!(report.complete, "{:#?}", failures(&report));
    let left: Vec<String> = census::tagged(&h, &stack)
        .await
        .into_iter()
        .filter(|e| !e.starts_with("db snapshot "))
        .collect();
    assert!(left.is_empty(), "left after down: {left:?}");
}
