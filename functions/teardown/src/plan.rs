//! The plan: everything teardown would delete, keep or refuse, grouped by tier, found the
//! same way the tier steps find it. Nothing is changed.

use vikunja_core::teardown::Plan;
use vikunja_core::Result;

use crate::handler::Clients;
use crate::{backend, data, delivery, frontend, inventory, loadbalancer, network, Ctx};

pub async fn plan(clients: &Clients, ctx: &Ctx) -> Result<Plan> {
    let (d, b, f, da, l, n, parameters) = tokio::try_join!(
        delivery::find(clients, ctx),
        backend::find(clients, ctx),
        frontend::find(clients, ctx, None),
        data::find(clients, ctx),
        loadbalancer::find(clients, ctx),
        network::find(clients, ctx),
        inventory::list(clients, ctx),
    )?;
    Ok(Plan {
        stack: ctx.stack().to_string(),
        tiers: vec![
            delivery::plan(&d),
            backend::plan(&b, ctx),
            frontend::plan(&f, ctx),
            data::plan(&da, ctx),
            loadbalancer::plan(&l),
            network::plan(&n, ctx),
        ],
        inventory: parameters,
    })
}
