use serde::Deserialize;
use tracing::info;
use vikunja_core::names::{DB_NAME, DB_USER};
use vikunja_core::tags::Tier;
use vikunja_core::time::now_seconds as now;
use vikunja_core::{
    inventory, CacheOutputs, DataOutputs, Error, FilesOutputs, Names, NetworkOutputs,
    ProvisionState, Result,
};

use resources_data::{Database, Spec};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Create or adopt everything, answer with the database's current status.
    #[default]
    Ensure,
    /// Only look at the database's status (the wait loop).
    Status,
}

#[derive(Debug, Deserialize)]
pub struct DataEvent {
    #[serde(default)]
    pub action: Action,
    #[serde(flatten)]
    pub state: ProvisionState,
}

pub struct Clients {
    pub rds: aws_sdk_rds::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub efs: aws_sdk_efs::Client,
    pub cache: aws_sdk_elasticache::Client,
    pub ssm: aws_sdk_ssm::Client,
}

/// Where the tasks mount Vikunja's files: a mount target in each of their subnets.
pub fn files_spec(names: &Names, network: &NetworkOutputs) -> Result<resources_files::Spec> {
    let security_group = network.files_security_group_id.clone().ok_or_else(|| {
        Error::invalid(
            "the network tier's outputs have no files security group: run the network step again",
        )
    })?;
    Ok(resources_files::Spec {
        names: names.clone(),
        subnets: network.public_subnet_ids.clone(),
        security_group,
    })
}

/// The shared cache (setting `sharedCache`): one node in the isolated subnets, in the
/// network's `cache` group. `None` without the setting.
pub fn cache_spec(
    names: &Names,
    settings: &vikunja_core::Settings,
    network: &NetworkOutputs,
) -> Result<Option<resources_cache::Spec>> {
    let Some(node_type) = settings.cache_node_type() else {
        return Ok(None);
    };
    let security_group = network.cache_security_group_id.clone().ok_or_else(|| {
        Error::invalid(
            "the network tier's outputs have no cache security group: run the network step again",
        )
    })?;
    Ok(Some(resources_cache::Spec {
        names: names.clone(),
        subnets: network.isolated_subnet_ids.clone(),
        security_group,
        node_type: node_type.to_string(),
    }))
}

pub async fn handle(clients: &Clients, event: DataEvent) -> Result<DataOutputs> {
    let settings = &event.state.settings;
    settings.validate()?;
    let names = Names::new(&settings.stack);
    let outputs = match event.action {
        Action::Ensure => {
            let network = ProvisionState::require(&event.state.network, "network")?;
            let spec = Spec::new(names.clone(), settings);
            let applied =
                resources_data::ensure(&clients.rds, &clients.secrets, &spec, network).await?;
            let mut outputs =
                outputs_from(&names, &applied.database, applied.service_secret_arn, now())?;
            outputs.changes = applied.changes;
            ensure_files(clients, &names, network, &mut outputs).await?;
            ensure_cache(clients, &names, settings, network, &mut outputs).await?;
            outputs
        }
        Action::Status => {
            let previous = ProvisionState::require(&event.state.data, "data")?;
            let instance = resources_data::find_db_instance(&clients.rds, &names)
                .await?
                .ok_or_else(|| {
                    Error::conflict(format!(
                        "database {} disappeared while waiting for it",
                        names.db_instance()
                    ))
                })?;
            let database = Database::of(&instance, names.stack());
            let mut outputs = outputs_from(
                &names,
                &database,
                previous.service_secret_arn.clone(),
                previous.waiting_since,
            )?;
            // What the ensure call did, recorded once the database is available.
            outputs.changes = previous.changes.clone();
            outputs.files = previous.files.clone();
            if previous.files_pending.is_some() {
                let network = ProvisionState::require(&event.state.network, "network")?;
                ensure_files(clients, &names, network, &mut outputs).await?;
            }
            outputs.cache = previous.cache.clone();
            if previous.cache_pending.is_some() {
                let network = ProvisionState::require(&event.state.network, "network")?;
                ensure_cache(clients, &names, settings, network, &mut outputs).await?;
            }
            check_wait_budget(&outputs, settings.db_wait_minutes)?;
            outputs
        }
    };
    let mut outputs = outputs;
    outputs.snapshot_before_upgrade = Some(settings.snapshot_before_upgrade);
    info!(
        stack = settings.stack,
        status = outputs.status,
        "database status"
    );
    if outputs.is_available() {
        inventory::record(&clients.ssm, &settings.stack, Tier::Data, &outputs).await?;
    }
    Ok(outputs)
}

/// The file system, its mount targets and access point: as far as the file system's state
/// allows (a new one is `creating` for seconds); the rest on a later call of the wait loop.
async fn ensure_files(
    clients: &Clients,
    names: &Names,
    network: &NetworkOutputs,
    outputs: &mut DataOutputs,
) -> Result<()> {
    let files = resources_files::ensure(&clients.efs, &files_spec(names, network)?).await?;
    outputs.changes.extend(files.changes);
    outputs.files_pending = files.pending;
    outputs.files = outputs.files_pending.is_none().then_some(FilesOutputs {
        file_system_id: files.file_system_id,
        file_system_arn: files.file_system_arn,
        access_point_id: files.access_point_id,
        access_point_arn: files.access_point_arn,
    });
    Ok(())
}

/// The shared cache, when the settings ask for one: a new one is `creating` for minutes, so
/// the wait loop asks again until it is available and has its endpoint.
async fn ensure_cache(
    clients: &Clients,
    names: &Names,
    settings: &vikunja_core::Settings,
    network: &NetworkOutputs,
    outputs: &mut DataOutputs,
) -> Result<()> {
    let Some(spec) = cache_spec(names, settings, network)? else {
        return Ok(());
    };
    let cache = resources_cache::ensure(&clients.cache, &spec).await?;
    outputs.changes.extend(cache.changes);
    outputs.cache_pending = cache.pending;
    outputs.cache = cache.endpoint.map(|(endpoint, port)| CacheOutputs {
        replication_group_id: cache.replication_group_id,
        endpoint,
        port,
    });
    Ok(())
}

fn outputs_from(
    names: &Names,
    database: &Database,
    service_secret_arn: String,
    waiting_since: u64,
) -> Result<DataOutputs> {
    refuse_failed_status(&names.db_instance(), &database.status)?;
    Ok(DataOutputs {
        db_instance_id: names.db_instance(),
        endpoint: database.endpoint.clone(),
        port: database.port,
        master_secret_arn: database.master_secret_arn.clone(),
        status: if database.status.is_empty() {
            "unknown".into()
        } else {
            database.status.clone()
        },
        db_name: DB_NAME.to_string(),
        username: DB_USER.to_string(),
        service_secret_arn,
        subnet_group: names.db_subnet_group(),
        waiting_since,
        files: None,
        snapshot_before_upgrade: None,
        files_pending: None,
        cache: None,
        cache_pending: None,
        changes: vec![],
    })
}

fn refuse_failed_status(id: &str, status: &str) -> Result<()> {
    if resources::data::is_failed(status) {
        return Err(Error::conflict(format!(
            "database {id} is {status}; it needs attention in the RDS console"
        )));
    }
    Ok(())
}

fn check_wait_budget(outputs: &DataOutputs, budget_minutes: u32) -> Result<()> {
    let waited = now().saturating_sub(outputs.waiting_since);
    if !outputs.is_available() && waited > u64::from(budget_minutes) * 60 {
        let minutes = waited / 60;
        let pending = outputs
            .files_pending
            .as_ref()
            .or(outputs.cache_pending.as_ref());
        if let (Some(pending), "available") = (pending, outputs.status.as_str()) {
            return Err(Error::conflict(format!(
                "still waiting for {pending} after {minutes} minutes; look at it in the EFS or ElastiCache console, then run provision again"
            )));
        }
        return Err(Error::conflict(format!(
            "database {} still {} after {minutes} minutes; look at its events in the RDS console, then run provision again",
            outputs.db_instance_id, outputs.status
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(status: &str, waiting_since: u64) -> DataOutputs {
        DataOutputs {
            db_instance_id: "v-data-mysql".into(),
            status: status.into(),
            endpoint: None,
            port: None,
            db_name: "vikunja".into(),
            username: "vikunja".into(),
            master_secret_arn: None,
            service_secret_arn: "arn".into(),
            subnet_group: "g".into(),
            waiting_since,
            files: None,
            snapshot_before_upgrade: None,
            files_pending: None,
            cache: None,
            cache_pending: None,
            changes: vec![],
        }
    }

    #[test]
    fn the_wait_has_a_budget() {
        assert!(check_wait_budget(&outputs("creating", now()), 60).is_ok());
        let error = check_wait_budget(&outputs("creating", now() - 61 * 60), 60).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("still creating after 61 minutes"),
            "{error}"
        );
        assert!(check_wait_budget(&outputs("available", 0), 60).is_ok());
    }

    #[test]
    fn events_default_to_ensure() {
        let event: DataEvent =
            serde_json::from_value(serde_json::json!({"settings": {"stack": "v"}})).unwrap();
        assert_eq!(event.action, Action::Ensure);
        let event: DataEvent = serde_json::from_value(
            serde_json::json!({"action": "status", "settings": {"stack": "v"}, "extra": 1}),
        )
        .unwrap();
        assert_eq!(event.action, Action::Status);
    }
}
