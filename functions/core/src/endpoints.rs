//! Where a load balancer listener answers. On AWS that is its DNS name and port. On the
//! local stack nothing listens there: the stack publishes a map from `<dns>:<port>` to the
//! loopback address that stands for it, in the file named by `VIKUNJA_LOCAL_LISTENERS`.
//! That map is the only local-only input the functions accept.

use std::collections::HashMap;

pub const LISTENER_MAP_VARIABLE: &str = "VIKUNJA_LOCAL_LISTENERS";

/// `host:port` to connect to for a listener, read at call time (listeners come and go).
pub fn listener_address(dns_name: &str, port: i32) -> String {
    let public = format!("{dns_name}:{port}");
    std::env::var(LISTENER_MAP_VARIABLE)
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str::<HashMap<String, String>>(&text).ok())
        .and_then(|map| map.get(&public).cloned())
        .unwrap_or(public)
}
