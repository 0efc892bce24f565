//! Where a load balancer listener answers. On AWS that is its DNS name and port. On the
//! local stack nothing listens there: the stack publishes a map from `<dns>:<port>` to the
//! loopback address that stands for it, in the file named by `VIKUNJA_LOCAL_LISTENERS`.
//! That map is the only local-only input the functions accept.

use std::collections::HashMap;

pub const LISTENER_MAP_VARIABLE: &str = "VIKUNJA_LOCAL_LISTENERS";

/// The loopback address standing for a listener on the local stack; `None` on AWS (no map),
/// where callers reach the listener by its own addresses.
pub fn local_listener_address(dns_name: &str, port: i32) -> Option<String> {
    let public = format!("{dns_name}:{port}");
    std::env::var(LISTENER_MAP_VARIABLE)
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str::<HashMap<String, String>>(&text).ok())
        .and_then(|map| map.get(&public).cloned())
}
