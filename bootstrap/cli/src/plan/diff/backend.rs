//! Backend: repository, log group, cluster, task definition, service, autoscaling — the
//! library's diff, the same one the provisioning step applies, with the task definition's
//! inputs as far as the other tiers' findings tell them.

use super::*;
use resources_backend::task::{Roles, TaskInputs};

/// The files the data step records, as far as they are found.
pub(super) fn found_files(o: &Observed) -> Option<vikunja_core::FilesOutputs> {
    let system = o.files.file_system.as_ref()?;
    let point = o.files.access_point.as_ref()?;
    Some(vikunja_core::FilesOutputs {
        file_system_id: system.id.clone(),
        file_system_arn: system.arn.clone(),
        access_point_id: point.id.clone(),
        access_point_arn: point.arn.clone(),
    })
}

/// The shared cache the data step records, when the settings ask for one and it is found
/// with its endpoint.
pub(super) fn found_cache(d: &Desired, o: &Observed) -> Option<vikunja_core::CacheOutputs> {
    d.settings.cache_node_type()?;
    let group = o.cache.replication_group.as_ref()?;
    let (endpoint, port) = group.endpoint.clone()?;
    Some(vikunja_core::CacheOutputs {
        replication_group_id: group.id.clone(),
        endpoint,
        port,
    })
}

/// The task definition the backend function would register, when every input is known.
fn desired_task_inputs(d: &Desired, o: &Observed) -> Option<TaskInputs> {
    let db = o.data.database.as_ref()?;
    let secret = o.data.service_secret.as_ref()?;
    let dist = o.frontend.distribution.as_ref()?;
    let roles = o.bootstrap.as_ref()?.task_roles.as_ref()?;
    let data = DataOutputs {
        db_instance_id: d.names.db_instance(),
        status: db.status.clone(),
        endpoint: db.endpoint.clone(),
        port: db.port,
        db_name: DB_NAME.into(),
        username: DB_USER.into(),
        master_secret_arn: db.master_secret_arn.clone(),
        service_secret_arn: secret.arn.clone(),
        subnet_group: d.names.db_subnet_group(),
        waiting_since: 0,
        files: found_files(o),
        snapshot_before_upgrade: None,
        files_pending: None,
        cache: found_cache(d, o),
        cache_pending: None,
        changes: vec![],
    };
    let url = format!("https://{}", public_domain(d, &dist.domain_name));
    let frontend = FrontendOutputs {
        site_bucket: String::new(),
        uploads_bucket: String::new(),
        distribution_id: dist.id.clone(),
        distribution_arn: dist.arn.clone(),
        domain_name: dist.domain_name.clone(),
        api_url: format!("{url}/api/v1"),
        url,
        origin_access_control_id: String::new(),
        spa_function_arn: String::new(),
        changes: vec![],
    };
    let roles = Roles {
        task_execution: roles.execution.clone(),
        task: roles.task.clone(),
    };
    TaskInputs::new(
        d.settings,
        &data,
        &frontend,
        &roles,
        &d.names.log_group(),
        d.region,
    )
    .ok()
}

pub(super) fn backend(d: &Desired, o: &Observed) -> Vec<Item> {
    let spec = resources_backend::Spec {
        names: d.names.clone(),
        settings: d.settings.clone(),
        task: desired_task_inputs(d, o),
        subnets: found_subnets(d, o, "public").map(|mut subnets| {
            subnets.sort();
            subnets
        }),
        app_group: found_group(o, "app"),
        target_groups: resources_loadbalancer::COLOURS
            .iter()
            .filter_map(|c| o.loadbalancer.target_groups.get(*c).map(|g| g.arn.clone()))
            .collect(),
        // What ECS's blue/green is handed (roles, hook) is compared by the controller and
        // strategy alone: the roles are the bootstrap stack's.
        blue_green: None,
    };
    resources_backend::diff(&spec, &o.backend).items
}
