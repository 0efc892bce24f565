//! What each tier hands to the next, and what the state machine passes from step to step.
//! Field names are camelCase so the state machine's JSONPath reads like AWS's own.

use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// The state a provision execution carries: the settings, plus each tier's outputs as the
/// tiers complete. Unknown fields (the state machine's bookkeeping) are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionState {
    pub settings: Settings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkOutputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataOutputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadbalancer: Option<LoadBalancerOutputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend: Option<FrontendOutputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendOutputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainOutputs>,
}

impl ProvisionState {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            network: None,
            data: None,
            loadbalancer: None,
            frontend: None,
            backend: None,
            domain: None,
        }
    }

    /// An earlier tier's outputs, or a clear error naming the missing one.
    pub fn require<'a, T>(value: &'a Option<T>, tier: &str) -> crate::Result<&'a T> {
        value.as_ref().ok_or_else(|| {
            crate::Error::invalid(format!(
                "the {tier} tier's outputs are missing from the input"
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkOutputs {
    pub vpc_id: String,
    pub vpc_cidr: String,
    pub availability_zones: Vec<String>,
    pub public_subnet_ids: Vec<String>,
    pub isolated_subnet_ids: Vec<String>,
    pub internet_gateway_id: String,
    pub public_route_table_id: String,
    pub isolated_route_table_id: String,
    pub lb_security_group_id: String,
    pub app_security_group_id: String,
    pub db_security_group_id: String,
    /// The smoke-test probe's group (absent from inventories written before it existed).
    #[serde(default)]
    pub probe_security_group_id: Option<String>,
    /// The EFS mount targets' group (absent from inventories written before it existed).
    #[serde(default)]
    pub files_security_group_id: Option<String>,
    /// The shared cache's group: Valkey 6379 from the API tasks only (absent from
    /// inventories written before it existed).
    #[serde(default)]
    pub cache_security_group_id: Option<String>,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it
    /// beforehand (each item's `actions`); empty when it changed nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataOutputs {
    pub db_instance_id: String,
    /// RDS status: `available` ends the workflow's wait loop.
    pub status: String,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    pub db_name: String,
    pub username: String,
    /// The RDS-managed master user secret (`rds!db-…`); its `password` key is the password.
    #[serde(default)]
    pub master_secret_arn: Option<String>,
    pub service_secret_arn: String,
    pub subnet_group: String,
    /// Unix seconds when this provision first saw the database, to bound the wait.
    pub waiting_since: u64,
    /// Vikunja's files on EFS (absent from inventories written before they existed).
    #[serde(default)]
    pub files: Option<FilesOutputs>,
    /// The `snapshotBeforeUpgrade` setting of the run that recorded these outputs, read by
    /// backend releases; absent from inventories written before it existed (releases then
    /// take the snapshot, the setting's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_before_upgrade: Option<bool>,
    /// What the file system must finish before its mount targets and access point can be
    /// made: the workflow waits and asks again, as it does for the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_pending: Option<String>,
    /// The shared keyvalue store (setting `sharedCache`), once it is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheOutputs>,
    /// What the shared cache must finish before the tasks can use it: the workflow waits
    /// and asks again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_pending: Option<String>,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// The shared Valkey the tasks use as Vikunja's keyvalue store and cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheOutputs {
    pub replication_group_id: String,
    /// The primary endpoint's address.
    pub endpoint: String,
    pub port: i32,
}

impl CacheOutputs {
    /// `host:port`, as Vikunja's `redis.host` takes it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.endpoint, self.port)
    }
}

impl DataOutputs {
    /// Whether a backend release snapshots the database before it changes Vikunja's major
    /// or minor version.
    pub fn snapshots_before_upgrade(&self) -> bool {
        self.snapshot_before_upgrade.unwrap_or(true)
    }
}

/// The EFS file system and access point the tasks mount at Vikunja's files path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilesOutputs {
    pub file_system_id: String,
    pub file_system_arn: String,
    pub access_point_id: String,
    pub access_point_arn: String,
}

impl DataOutputs {
    /// The database available and its files complete: the workflow's wait loop ends.
    pub fn is_available(&self) -> bool {
        self.status == "available" && self.files_pending.is_none() && self.cache_pending.is_none()
    }
}

/// The operator's own domain: its certificates (site in us-east-1 for CloudFront, origin in
/// the stack's region for the load balancer) and records. Without a domain `domain` is
/// `None`, nothing else is set and `issued` is true, so the workflow's wait ends at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainOutputs {
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// The load balancer's name under the domain, CloudFront's HTTPS origin.
    #[serde(default)]
    pub origin_name: Option<String>,
    #[serde(default)]
    pub site_certificate_arn: Option<String>,
    #[serde(default)]
    pub origin_certificate_arn: Option<String>,
    /// ACM's status of each certificate (`PENDING_VALIDATION`, `ISSUED`, ...).
    #[serde(default)]
    pub site_certificate_status: Option<String>,
    #[serde(default)]
    pub origin_certificate_status: Option<String>,
    /// Both certificates are issued: the workflow's wait loop ends.
    pub issued: bool,
    /// Unix seconds when this provision first asked for the certificates, to bound the wait.
    #[serde(default)]
    pub waiting_since: u64,
    /// The alias records pointing the names at the distribution and the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerOutputs {
    pub load_balancer_arn: String,
    pub dns_name: String,
    pub prod_listener_arn: String,
    pub test_listener_arn: String,
    pub blue_target_group_arn: String,
    pub green_target_group_arn: String,
    pub blue_target_group_name: String,
    pub green_target_group_name: String,
    /// The load balancer's canonical hosted zone, for the own domain's alias record
    /// (absent from inventories written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_hosted_zone_id: Option<String>,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendOutputs {
    pub site_bucket: String,
    pub uploads_bucket: String,
    pub distribution_id: String,
    pub distribution_arn: String,
    pub domain_name: String,
    pub url: String,
    pub api_url: String,
    pub origin_access_control_id: String,
    pub spa_function_arn: String,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendOutputs {
    pub repository_name: String,
    pub repository_uri: String,
    pub log_group: String,
    pub cluster: String,
    pub service: String,
    pub service_arn: String,
    pub task_definition_arn: String,
    pub container_name: String,
    pub container_port: i32,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOutputs {
    /// Who runs the releases; under `ecs` the CodeDeploy fields below are empty.
    #[serde(default, skip_serializing_if = "crate::settings::Engine::is_default")]
    pub engine: crate::settings::Engine,
    pub application: String,
    pub deployment_group: String,
    pub deployment_config: String,
    pub alarms: Vec<String>,
    /// The smoke-test probe attached to the VPC (absent from inventories written before it).
    #[serde(default)]
    pub probe_function: Option<String>,
    /// What the run that recorded these outputs changed, as `vikunja-aws plan` listed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl DeliveryOutputs {
    /// Who deploys, as `status` and the drawing say it.
    pub fn engine_summary(&self) -> String {
        match self.engine {
            crate::settings::Engine::Codedeploy => format!(
                "CodeDeploy {} ({})",
                self.deployment_group, self.deployment_config
            ),
            crate::settings::Engine::Ecs => {
                "Amazon ECS blue/green (the service's own; hook on POST_TEST_TRAFFIC_SHIFT)".into()
            }
        }
    }
}
