//! Data: the database's states, as every verb reads them.

/// Statuses from which the database will not become available without someone acting.
pub const FAILED_STATUSES: &[&str] = &[
    "failed",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
    "storage-full",
    "deleting",
];

pub fn is_failed(status: &str) -> bool {
    FAILED_STATUSES.contains(&status)
}
