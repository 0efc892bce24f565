//! The task definition: what `up` registers, built from the other tiers' outputs (pure,
//! unit-tested), and how a registered revision is compared with it.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EfsAuthorizationConfig,
    EfsAuthorizationConfigIam, EfsTransitEncryption, EfsVolumeConfiguration, KeyValuePair,
    LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PortMapping, RuntimePlatform,
    Secret, TaskDefinition, TransportProtocol, Volume,
};
use vikunja_core::error::built;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT, FILES_PATH, FILES_VOLUME};
use vikunja_core::settings::Mail;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{DataOutputs, Error, FrontendOutputs, Names, Result, Settings};

/// IAM roles made by the bootstrap stack, handed to the backend function in its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Roles {
    pub task_execution: String,
    pub task: String,
}

impl Roles {
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| {
            std::env::var(name).map_err(|_| {
                Error::invalid(format!(
                    "environment variable {name} is not set (bootstrap stack)"
                ))
            })
        };
        Ok(Self {
            task_execution: read("TASK_EXECUTION_ROLE_ARN")?,
            task: read("TASK_ROLE_ARN")?,
        })
    }
}

/// Everything the task definition is made of, gathered from the earlier tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInputs {
    pub image: String,
    pub cpu: String,
    pub memory: String,
    pub environment: Vec<(String, String)>,
    /// (variable, Secrets Manager reference): ECS resolves them when a task starts.
    pub secrets: Vec<(String, String)>,
    pub execution_role: String,
    pub task_role: String,
    pub log_group: String,
    pub region: String,
    /// Vikunja's files on EFS: (file system, access point).
    pub files: Option<(String, String)>,
}

impl TaskInputs {
    pub fn new(
        settings: &Settings,
        data: &DataOutputs,
        frontend: &FrontendOutputs,
        roles: &Roles,
        log_group: &str,
        region: &str,
    ) -> Result<Self> {
        let endpoint = data.endpoint.as_deref().ok_or_else(|| {
            Error::invalid(format!(
                "database {} has no endpoint yet (status {})",
                data.db_instance_id, data.status
            ))
        })?;
        let master_secret = data.master_secret_arn.as_deref().ok_or_else(|| {
            Error::invalid(format!(
                "database {} has no managed master secret",
                data.db_instance_id
            ))
        })?;
        let port = data.port.unwrap_or(vikunja_core::names::DB_PORT);
        let mut environment = vec![
            ("VIKUNJA_DATABASE_TYPE".to_string(), "mysql".to_string()),
            (
                "VIKUNJA_DATABASE_HOST".to_string(),
                format!("{endpoint}:{port}"),
            ),
            ("VIKUNJA_DATABASE_USER".to_string(), data.username.clone()),
            (
                "VIKUNJA_DATABASE_DATABASE".to_string(),
                data.db_name.clone(),
            ),
            // RDS MySQL 8.4 requires TLS by default; the RDS CA is not in the image's store.
            ("VIKUNJA_DATABASE_TLS".to_string(), "preferred".to_string()),
            (
                "VIKUNJA_SERVICE_PUBLICURL".to_string(),
                format!("{}/", frontend.url),
            ),
            (
                "VIKUNJA_SERVICE_INTERFACE".to_string(),
                format!(":{CONTAINER_PORT}"),
            ),
        ];
        if let Some(mail) = &settings.mail {
            environment.extend(mail_environment(mail));
        }
        if let Some(cache) = &data.cache {
            environment.extend(cache_environment(cache));
        }
        environment.sort();
        let mut secrets = vec![
            // The RDS-managed secret is JSON; ECS extracts one key with `arn:key::`.
            (
                "VIKUNJA_DATABASE_PASSWORD".to_string(),
                format!("{master_secret}:password::"),
            ),
            (
                "VIKUNJA_SERVICE_SECRET".to_string(),
                data.service_secret_arn.clone(),
            ),
        ];
        if let Some(mail) = &settings.mail {
            // The whole secret string is the password (settings refuse a `:key::` suffix).
            secrets.push((
                "VIKUNJA_MAILER_PASSWORD".to_string(),
                mail.password_secret_arn.clone(),
            ));
        }
        secrets.sort();
        Ok(Self {
            image: settings.image.clone(),
            cpu: settings.task_cpu.clone(),
            memory: settings.task_memory.clone(),
            environment,
            secrets,
            execution_role: roles.task_execution.clone(),
            task_role: roles.task.clone(),
            log_group: log_group.to_string(),
            region: region.to_string(),
            files: data
                .files
                .as_ref()
                .map(|f| (f.file_system_id.clone(), f.access_point_id.clone())),
        })
    }

    /// The same inputs with another image: what a release registers.
    pub fn with_image(&self, image: &str) -> Self {
        Self {
            image: image.to_string(),
            ..self.clone()
        }
    }
}

/// Vikunja's `redis.*` and `keyvalue.type` keys (`pkg/config/config.go`) for the shared
/// cache: every task keeps its keyvalue store (failed-login counters, OpenID login state,
/// caches) there. No password: Vikunja's Redis client cannot speak TLS, and ElastiCache
/// takes an AUTH token only with TLS; the cache's security group admits the tasks only.
fn cache_environment(cache: &vikunja_core::CacheOutputs) -> Vec<(String, String)> {
    [
        ("VIKUNJA_REDIS_ENABLED", "true".to_string()),
        ("VIKUNJA_REDIS_HOST", cache.address()),
        ("VIKUNJA_REDIS_DB", "0".to_string()),
        ("VIKUNJA_KEYVALUE_TYPE", "redis".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Vikunja's `mailer.*` keys as its environment variables (`VIKUNJA_` + the key with `.` as
/// `_`, upper case: go-vikunja/vikunja `pkg/config/config.go`). The password is a secret.
fn mail_environment(mail: &Mail) -> Vec<(String, String)> {
    [
        ("VIKUNJA_MAILER_ENABLED", "true".to_string()),
        ("VIKUNJA_MAILER_HOST", mail.host.clone()),
        ("VIKUNJA_MAILER_PORT", mail.port.to_string()),
        ("VIKUNJA_MAILER_USERNAME", mail.user.clone()),
        ("VIKUNJA_MAILER_FROMEMAIL", mail.from_address.clone()),
        // SES speaks PLAIN and LOGIN; Vikunja's default is plain, written down so a change
        // of that default cannot silently break sending.
        ("VIKUNJA_MAILER_AUTHTYPE", "plain".to_string()),
        ("VIKUNJA_MAILER_FORCESSL", mail.implicit_tls().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn container_definition(inputs: &TaskInputs) -> Result<ContainerDefinition> {
    let memory: i32 = inputs.memory.parse().map_err(|_| {
        Error::invalid(format!(
            "taskMemory {:?} is not a number of MiB",
            inputs.memory
        ))
    })?;
    let environment = inputs
        .environment
        .iter()
        .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
        .collect();
    let secrets = inputs
        .secrets
        .iter()
        .map(|(k, v)| {
            built(
                Secret::builder().name(k).value_from(v).build(),
                "container secret",
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let logs = built(
        LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", &inputs.log_group)
            .options("awslogs-region", &inputs.region)
            .options("awslogs-stream-prefix", "api")
            .build(),
        "log configuration",
    )?;
    Ok(ContainerDefinition::builder()
        .name(CONTAINER_NAME)
        .image(&inputs.image)
        .essential(true)
        .memory(memory)
        .port_mappings(
            PortMapping::builder()
                .container_port(CONTAINER_PORT)
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .set_environment(Some(environment))
        .set_secrets(Some(secrets))
        .set_mount_points(inputs.files.as_ref().map(|_| {
            vec![MountPoint::builder()
                .source_volume(FILES_VOLUME)
                .container_path(FILES_PATH)
                .read_only(false)
                .build()]
        }))
        .log_configuration(logs)
        .build())
}

/// The EFS volume: the access point, with TLS in transit and the task role's IAM
/// authorization (the file system admits only the task role, through the access point).
pub fn files_volume(inputs: &TaskInputs) -> Result<Option<Volume>> {
    let Some((file_system, access_point)) = &inputs.files else {
        return Ok(None);
    };
    let authorization = EfsAuthorizationConfig::builder()
        .access_point_id(access_point)
        .iam(EfsAuthorizationConfigIam::Enabled)
        .build();
    let efs = built(
        EfsVolumeConfiguration::builder()
            .file_system_id(file_system)
            .root_directory("/")
            .transit_encryption(EfsTransitEncryption::Enabled)
            .authorization_config(authorization)
            .build(),
        "EFS volume",
    )?;
    Ok(Some(
        Volume::builder()
            .name(FILES_VOLUME)
            .efs_volume_configuration(efs)
            .build(),
    ))
}

/// Sorted `(name, value)` pairs.
pub type Pairs = Vec<(String, String)>;

/// A container's environment and secrets as sorted `(name, value)` pairs, the form
/// `TaskInputs` holds them in: registered order is not meaningful.
pub fn environment_and_secrets(
    container: &aws_sdk_ecs::types::ContainerDefinition,
) -> (Pairs, Pairs) {
    let mut environment: Vec<(String, String)> = container
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_string(),
                kv.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    environment.sort();
    let mut secrets: Vec<(String, String)> = container
        .secrets()
        .iter()
        .map(|s| (s.name().to_string(), s.value_from().to_string()))
        .collect();
    secrets.sort();
    (environment, secrets)
}

/// A registered revision, reduced to what `up` compares with its inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registered {
    pub arn: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub image: Option<String>,
    pub environment: Pairs,
    pub secrets: Pairs,
    pub execution_role: Option<String>,
    pub task_role: Option<String>,
    /// Whether it has Vikunja's container at all.
    pub has_container: bool,
    /// The EFS file system and access point mounted at Vikunja's files path.
    pub files: Option<(String, String)>,
}

impl Registered {
    pub fn of(definition: &TaskDefinition) -> Self {
        let container = definition
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some(CONTAINER_NAME));
        let (environment, secrets) = container.map(environment_and_secrets).unwrap_or_default();
        Self {
            arn: definition
                .task_definition_arn()
                .unwrap_or_default()
                .to_string(),
            cpu: definition.cpu().map(str::to_string),
            memory: definition.memory().map(str::to_string),
            image: container.and_then(|c| c.image()).map(str::to_string),
            environment,
            secrets,
            execution_role: definition.execution_role_arn().map(str::to_string),
            task_role: definition.task_role_arn().map(str::to_string),
            has_container: container.is_some(),
            files: container.and_then(|c| mounted_files(definition, c)),
        }
    }
}

/// The EFS volume mounted at Vikunja's files path: (file system, access point).
fn mounted_files(
    definition: &TaskDefinition,
    container: &ContainerDefinition,
) -> Option<(String, String)> {
    let mount = container
        .mount_points()
        .iter()
        .find(|m| m.container_path() == Some(FILES_PATH))?;
    let volume = definition
        .volumes()
        .iter()
        .find(|v| v.name() == mount.source_volume())?;
    let efs = volume.efs_volume_configuration()?;
    let access_point = efs
        .authorization_config()
        .and_then(|a| a.access_point_id())
        .unwrap_or_default();
    Some((efs.file_system_id().to_string(), access_point.to_string()))
}

/// The fields in which a registered revision differs from the inputs, by name.
pub fn differences(registered: &Registered, inputs: &TaskInputs) -> Vec<&'static str> {
    if !registered.has_container {
        return vec!["container"];
    }
    let same = |have: &Option<String>, want: &str| have.as_deref() == Some(want);
    [
        ("image", same(&registered.image, &inputs.image)),
        ("environment", registered.environment == inputs.environment),
        ("secrets", registered.secrets == inputs.secrets),
        ("cpu", same(&registered.cpu, &inputs.cpu)),
        ("memory", same(&registered.memory, &inputs.memory)),
        (
            "executionRoleArn",
            same(&registered.execution_role, &inputs.execution_role),
        ),
        (
            "taskRoleArn",
            same(&registered.task_role, &inputs.task_role),
        ),
        ("files", registered.files == inputs.files),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(field, _)| field)
    .collect()
}

/// The RegisterTaskDefinition request for the inputs (sent by `apply` through
/// [`crate::register_once`]).
pub fn register_request(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
    inputs: &TaskInputs,
) -> Result<
    aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
> {
    let tag_list = tags::standard(names.stack(), Tier::Backend)
        .into_iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect();
    Ok(ecs
        .register_task_definition()
        .family(names.task_family())
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu(&inputs.cpu)
        .memory(&inputs.memory)
        .execution_role_arn(&inputs.execution_role)
        .task_role_arn(&inputs.task_role)
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::X8664)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .container_definitions(container_definition(inputs)?)
        .set_volumes(files_volume(inputs)?.map(|v| vec![v]))
        .set_tags(Some(tag_list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> TaskInputs {
        inputs_for(&Settings::for_stack("v"))
    }

    const MAIL_SECRET: &str =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:v/mail/smtp-password-AbCdEf";

    fn with_mail(port: u32) -> Settings {
        serde_json::from_value(serde_json::json!({
            "stack": "v",
            "mail": {
                "host": "email-smtp.eu-west-1.amazonaws.com",
                "port": port,
                "fromAddress": "vikunja@example.com",
                "user": "AKIAEXAMPLE",
                "passwordSecretArn": MAIL_SECRET,
            }
        }))
        .unwrap()
    }

    fn inputs_for(settings: &Settings) -> TaskInputs {
        inputs_with_cache(settings, None)
    }

    fn inputs_with_cache(
        settings: &Settings,
        cache: Option<vikunja_core::CacheOutputs>,
    ) -> TaskInputs {
        let data = DataOutputs {
            db_instance_id: "v-data-mysql".into(),
            status: "available".into(),
            endpoint: Some("v-data-mysql.abc.eu-west-1.rds.amazonaws.com".into()),
            port: Some(3306),
            db_name: "vikunja".into(),
            username: "vikunja".into(),
            master_secret_arn: Some("arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1".into()),
            service_secret_arn:
                "arn:aws:secretsmanager:eu-west-1:1:secret:v/backend/service-secret".into(),
            subnet_group: "g".into(),
            waiting_since: 0,
            files: None,
            snapshot_before_upgrade: None,
            files_pending: None,
            cache,
            cache_pending: None,
            changes: vec![],
        };
        let frontend = FrontendOutputs {
            site_bucket: "s".into(),
            uploads_bucket: "u".into(),
            distribution_id: "E1".into(),
            distribution_arn: "arn".into(),
            domain_name: "d111.cloudfront.net".into(),
            url: "https://d111.cloudfront.net".into(),
            api_url: "https://d111.cloudfront.net/api/v1".into(),
            origin_access_control_id: "O".into(),
            spa_function_arn: "F".into(),
            changes: vec![],
        };
        let roles = Roles {
            task_execution: "arn:exec".into(),
            task: "arn:task".into(),
        };
        TaskInputs::new(
            settings,
            &data,
            &frontend,
            &roles,
            "/vikunja/v/backend",
            "eu-west-1",
        )
        .unwrap()
    }

    #[test]
    fn the_shared_cache_reaches_the_task_as_vikunjas_redis_and_keyvalue_settings() {
        let cache = vikunja_core::CacheOutputs {
            replication_group_id: "v-data-cache".into(),
            endpoint: "master.v-data-cache.x.euw1.cache.amazonaws.com".into(),
            port: 6379,
        };
        let settings = Settings::for_stack("v");
        let container = container_definition(&inputs_with_cache(&settings, Some(cache))).unwrap();
        let env: std::collections::BTreeMap<&str, &str> = container
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert_eq!(env["VIKUNJA_REDIS_ENABLED"], "true");
        assert_eq!(
            env["VIKUNJA_REDIS_HOST"],
            "master.v-data-cache.x.euw1.cache.amazonaws.com:6379"
        );
        assert_eq!(env["VIKUNJA_REDIS_DB"], "0");
        assert_eq!(env["VIKUNJA_KEYVALUE_TYPE"], "redis");
        assert!(!env.contains_key("VIKUNJA_REDIS_PASSWORD"));
        // Without the cache, none of it: Vikunja keeps its keyvalue store in memory.
        let container = container_definition(&inputs_for(&settings)).unwrap();
        assert!(!container.environment().iter().any(|kv| kv
            .name()
            .is_some_and(|n| n.starts_with("VIKUNJA_REDIS") || n == "VIKUNJA_KEYVALUE_TYPE")));
    }

    #[test]
    fn mail_reaches_the_task_as_env_and_its_password_only_as_a_secret() {
        let settings = with_mail(587);
        settings.validate().unwrap();
        let container = container_definition(&inputs_for(&settings)).unwrap();
        let env: std::collections::BTreeMap<&str, &str> = container
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert_eq!(env["VIKUNJA_MAILER_ENABLED"], "true");
        assert_eq!(
            env["VIKUNJA_MAILER_HOST"],
            "email-smtp.eu-west-1.amazonaws.com"
        );
        assert_eq!(env["VIKUNJA_MAILER_PORT"], "587");
        assert_eq!(env["VIKUNJA_MAILER_USERNAME"], "AKIAEXAMPLE");
        assert_eq!(env["VIKUNJA_MAILER_FROMEMAIL"], "vikunja@example.com");
        assert_eq!(env["VIKUNJA_MAILER_FORCESSL"], "false");
        assert!(!env.contains_key("VIKUNJA_MAILER_PASSWORD"));
        assert!(
            !env.values().any(|v| v.contains("secretsmanager")),
            "no secret reference in plain env: {env:?}"
        );
        let password: Vec<&str> = container
            .secrets()
            .iter()
            .filter(|s| s.name() == "VIKUNJA_MAILER_PASSWORD")
            .map(|s| s.value_from())
            .collect();
        assert_eq!(password, vec![MAIL_SECRET]);
        // Port 465 is TLS from the start: Vikunja must not try STARTTLS there.
        let container = container_definition(&inputs_for(&with_mail(465))).unwrap();
        let forcessl = container
            .environment()
            .iter()
            .find(|kv| kv.name() == Some("VIKUNJA_MAILER_FORCESSL"))
            .and_then(|kv| kv.value());
        assert_eq!(forcessl, Some("true"));
    }

    #[test]
    fn without_mail_there_is_no_mailer_config() {
        let inputs = inputs();
        assert!(inputs
            .environment
            .iter()
            .chain(&inputs.secrets)
            .all(|(name, _)| !name.starts_with("VIKUNJA_MAILER")));
        // A revision registered without mail differs from one with it, in env and secrets:
        // `plan` shows the change instead of calling it unchanged.
        let registered = TaskDefinition::builder()
            .container_definitions(container_definition(&inputs).unwrap())
            .cpu("256")
            .memory("512")
            .execution_role_arn("arn:exec")
            .task_role_arn("arn:task")
            .build();
        assert_eq!(
            differences(&Registered::of(&registered), &inputs_for(&with_mail(587))),
            vec!["environment", "secrets"]
        );
    }

    #[test]
    fn the_files_are_mounted_from_the_access_point_with_tls_and_iam() {
        let mut with_files = inputs();
        with_files.files = Some(("fs-1".into(), "fsap-1".into()));
        let container = container_definition(&with_files).unwrap();
        let mount = &container.mount_points()[0];
        assert_eq!(mount.container_path(), Some(FILES_PATH));
        assert_eq!(mount.source_volume(), Some(FILES_VOLUME));
        let volume = files_volume(&with_files).unwrap().unwrap();
        let efs = volume.efs_volume_configuration().unwrap();
        assert_eq!(efs.file_system_id(), "fs-1");
        assert_eq!(
            efs.transit_encryption(),
            Some(&EfsTransitEncryption::Enabled)
        );
        let authorization = efs.authorization_config().unwrap();
        assert_eq!(authorization.access_point_id(), Some("fsap-1"));
        assert_eq!(
            authorization.iam(),
            Some(&EfsAuthorizationConfigIam::Enabled)
        );
        // Registered and read back, the revision is the one the inputs describe.
        let registered = TaskDefinition::builder()
            .container_definitions(container)
            .volumes(volume)
            .cpu("256")
            .memory("512")
            .execution_role_arn("arn:exec")
            .task_role_arn("arn:task")
            .build();
        let registered = Registered::of(&registered);
        assert!(differences(&registered, &with_files).is_empty());
        assert_eq!(differences(&registered, &inputs()), vec!["files"]);
        assert!(container_definition(&inputs())
            .unwrap()
            .mount_points()
            .is_empty());
    }

    #[test]
    fn secrets_never_travel_in_the_environment() {
        let container = container_definition(&inputs()).unwrap();
        let env: Vec<&str> = container
            .environment()
            .iter()
            .filter_map(|kv| kv.name())
            .collect();
        assert!(
            !env.iter()
                .any(|n| n.contains("PASSWORD") || n.contains("SECRET")),
            "{env:?}"
        );
        let secrets: Vec<(&str, &str)> = container
            .secrets()
            .iter()
            .map(|s| (s.name(), s.value_from()))
            .collect();
        assert_eq!(
            secrets,
            vec![
                (
                    "VIKUNJA_DATABASE_PASSWORD",
                    "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1:password::"
                ),
                (
                    "VIKUNJA_SERVICE_SECRET",
                    "arn:aws:secretsmanager:eu-west-1:1:secret:v/backend/service-secret"
                ),
            ]
        );
    }

    #[test]
    fn the_app_knows_its_database_and_public_url() {
        let container = container_definition(&inputs()).unwrap();
        let env = |name: &str| {
            container
                .environment()
                .iter()
                .find(|kv| kv.name() == Some(name))
                .and_then(|kv| kv.value())
                .map(str::to_string)
        };
        assert_eq!(env("VIKUNJA_DATABASE_TYPE").as_deref(), Some("mysql"));
        assert_eq!(
            env("VIKUNJA_DATABASE_HOST").as_deref(),
            Some("v-data-mysql.abc.eu-west-1.rds.amazonaws.com:3306")
        );
        assert_eq!(
            env("VIKUNJA_SERVICE_PUBLICURL").as_deref(),
            Some("https://d111.cloudfront.net/")
        );
        assert_eq!(container.port_mappings()[0].container_port(), Some(3456));
        assert_eq!(
            container.memory(),
            Some(512),
            "moto's task sets need a container memory"
        );
    }

    #[test]
    fn a_registered_definition_is_compared_field_by_field() {
        let inputs = inputs();
        let registered = TaskDefinition::builder()
            .container_definitions(container_definition(&inputs).unwrap())
            .cpu("256")
            .memory("512")
            .execution_role_arn("arn:exec")
            .task_role_arn("arn:task")
            .build();
        let registered = Registered::of(&registered);
        assert!(differences(&registered, &inputs).is_empty());
        assert_eq!(
            differences(&registered, &inputs.with_image("vikunja/vikunja:1.0.0")),
            vec!["image"]
        );
    }

    #[test]
    fn a_database_without_endpoint_is_not_ready_for_tasks() {
        let mut data_missing = inputs();
        data_missing.environment.clear();
        let settings = Settings::for_stack("v");
        let data = DataOutputs {
            db_instance_id: "x".into(),
            status: "creating".into(),
            endpoint: None,
            port: None,
            db_name: "vikunja".into(),
            username: "vikunja".into(),
            master_secret_arn: None,
            service_secret_arn: "s".into(),
            subnet_group: "g".into(),
            waiting_since: 0,
            files: None,
            snapshot_before_upgrade: None,
            files_pending: None,
            cache: None,
            cache_pending: None,
            changes: vec![],
        };
        let frontend_url = FrontendOutputs {
            site_bucket: String::new(),
            uploads_bucket: String::new(),
            distribution_id: String::new(),
            distribution_arn: String::new(),
            domain_name: String::new(),
            url: String::new(),
            api_url: String::new(),
            origin_access_control_id: String::new(),
            spa_function_arn: String::new(),
            changes: vec![],
        };
        let roles = Roles {
            task_execution: String::new(),
            task: String::new(),
        };
        let error = TaskInputs::new(&settings, &data, &frontend_url, &roles, "g", "r").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no endpoint yet (status creating)"),
            "{error}"
        );
    }
}
