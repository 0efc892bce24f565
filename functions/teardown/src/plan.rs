//! The plan: everything teardown would delete, keep or refuse, grouped by tier, found the
//! same way the tier steps find it. Nothing is changed.

use vikunja_core::teardown::{Plan, PlannedTier};
use vikunja_core::Result;

use crate::handler::Clients;
use crate::{
    backend, cache, data, delivery, domain, files, frontend, inventory, loadbalancer, network, Ctx,
};

/// The data tier's plan with its files (EFS) and its shared cache in it.
fn with_files(mut data: PlannedTier, parts: [PlannedTier; 2]) -> PlannedTier {
    for part in parts {
        data.delete.extend(part.delete);
        data.keep.extend(part.keep);
        data.refuse.extend(part.refuse);
    }
    data
}

pub async fn plan(clients: &Clients, ctx: &Ctx) -> Result<Plan> {
    let (d, b, f, da, fi, ca, l, dom, mut n, parameters) = tokio::try_join!(
        delivery::find(clients, ctx),
        backend::find(clients, ctx),
        frontend::find(clients, ctx, None),
        data::find(clients, ctx),
        files::find(clients, ctx),
        cache::find(clients, ctx),
        loadbalancer::find(clients, ctx),
        domain::find(clients, ctx),
        network::find(clients, ctx),
        inventory::list(clients, ctx),
    )?;
    // The network is planned as the earlier tiers will leave it: what they delete no longer
    // holds it; what stays (a kept or protected database) does.
    if backend::deletes_service(&b) {
        n.tenants.service = None;
    }
    if loadbalancer::deletes_load_balancer(&l) {
        n.tenants.load_balancer = None;
    }
    if data::deletes_database(&da, ctx) {
        n.tenants.database = None;
    }
    Ok(Plan {
        stack: ctx.stack().to_string(),
        tiers: vec![
            delivery::plan(&d, ctx),
            backend::plan(&b, ctx),
            frontend::plan(&f, ctx),
            with_files(
                data::plan(&da, ctx),
                [files::plan(&fi, ctx), cache::plan(&ca)],
            ),
            loadbalancer::plan(&l, ctx),
            domain::plan(&dom),
            network::plan(&n, ctx),
        ],
        inventory: parameters,
    })
}
