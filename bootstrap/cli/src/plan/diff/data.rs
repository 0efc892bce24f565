//! Data: the DB subnet group, the service secret, the database, Vikunja's files on EFS and
//! the shared cache (with `sharedCache`) —
//! the libraries' diffs, the same ones the provisioning step applies.

use super::*;

pub(super) fn data(d: &Desired, o: &Observed) -> Vec<Item> {
    let isolated = match found_subnets(d, o, "isolated") {
        Some(mut ids) => {
            ids.sort();
            ids.join(", ")
        }
        None => new("isolated subnets"),
    };
    let spec = resources_data::Spec::new(d.names.clone(), d.settings);
    let mut items = resources_data::diff(&spec, &isolated, &o.data).items;
    let files = resources_files::Spec {
        names: d.names.clone(),
        subnets: found_subnets(d, o, "public")
            .unwrap_or_else(|| vec![new("public subnet a"), new("public subnet b")]),
        security_group: found_group(o, "files").unwrap_or_else(|| new("files group")),
    };
    items.extend(resources_files::diff(&files, &o.files).items);
    if let Some(node_type) = d.settings.cache_node_type() {
        let cache = resources_cache::Spec {
            names: d.names.clone(),
            subnets: found_subnets(d, o, "isolated")
                .unwrap_or_else(|| vec![new("isolated subnet a"), new("isolated subnet b")]),
            security_group: found_group(o, "cache").unwrap_or_else(|| new("cache group")),
            node_type: node_type.to_string(),
        };
        items.extend(resources_cache::diff(&cache, &o.cache).items);
    }
    items
}
