//! Data: the DB subnet group, the service secret and the database — the library's diff, the
//! same one the provisioning step applies.

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
    resources_data::diff(&spec, &isolated, &o.data).items
}
