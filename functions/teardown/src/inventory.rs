//! The stack's inventory (`/vikunja/<stack>/…` in SSM): a tier's record is forgotten once its
//! teardown finished without failures; a record of an unfinished tier stays, because the
//! next `down` reads it (it names the untaggable CloudFront pieces, for one).

use aws_sdk_ssm::types::ResourceTypeForTagging;
use serde_json::{Map, Value};
use vikunja_core::tags::Tier;
use vikunja_core::teardown::{StepStatus, TierReport};
use vikunja_core::{inventory, Result, SdkContext};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

/// Every parameter under the stack's inventory path.
pub async fn list(clients: &Clients, ctx: &Ctx) -> Result<Vec<String>> {
    let path = ctx.names.inventory_path();
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = clients
            .ssm
            .get_parameters_by_path()
            .path(&path)
            .recursive(true)
            .set_next_token(token)
            .send()
            .await
            .context(format!("list inventory under {path}"))?;
        names.extend(
            page.parameters()
                .iter()
                .filter_map(|p| p.name())
                // `/vikunja/v` must not reach `/vikunja/v-staging/…`.
                .filter(|n| n.starts_with(&format!("{path}/")))
                .map(str::to_string),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// Whether a tier's teardown finished with nothing left behind.
pub fn finished(tiers: &Map<String, Value>, tier: &str) -> bool {
    tiers
        .get(tier)
        .and_then(|v| serde_json::from_value::<TierReport>(v.clone()).ok())
        .is_some_and(|r| r.status == StepStatus::Done && r.failed.is_empty())
}

pub async fn forget(
    clients: &Clients,
    ctx: &Ctx,
    tiers: &Map<String, Value>,
    step: &mut Step,
) -> Result<()> {
    let present = list(clients, ctx).await?;
    for tier in Tier::ALL {
        let name = ctx.names.inventory_parameter(tier);
        if !present.contains(&name) {
            continue;
        }
        if finished(tiers, tier.as_str()) {
            let forgotten = inventory::forget(&clients.ssm, ctx.stack(), tier).await;
            step.record("inventory parameter", &name, forgotten);
        } else {
            step.kept(
                "inventory parameter",
                &name,
                format!("the {tier} teardown did not finish; the next `vikunja-aws down` reads it"),
            );
        }
    }
    let records: Vec<String> = Tier::ALL
        .iter()
        .map(|t| ctx.names.inventory_parameter(*t))
        .collect();
    for name in present.iter().filter(|n| !records.contains(n)) {
        let tags = clients
            .ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .context(format!("read tags of {name}"))?;
        if ctx.owns(tags.tag_list().iter().map(|t| (t.key(), t.value()))) {
            let deleted = clients
                .ssm
                .delete_parameter()
                .name(name)
                .send()
                .await
                .context(format!("delete parameter {name}"));
            step.record("inventory parameter", name, deleted.map(|_| ()));
        } else {
            step.kept(
                "ssm parameter",
                name,
                format!(
                    "under the stack's path but not tagged {}={}: never touched",
                    vikunja_core::tags::STACK,
                    ctx.stack()
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_cleanly_finished_tier_is_forgotten() {
        let tiers: Map<String, Value> = serde_json::from_value(json!({
            "data": {"tier": "data", "status": "done"},
            "network": {"tier": "network", "status": "done",
                        "failed": [{"kind": "vpc", "id": "vpc-1", "reason": "r", "hint": "h"}]},
            "frontend": {"Error": "States.TaskFailed", "Cause": "boom"},
            "backend": {"tier": "backend", "status": "waiting"}
        }))
        .unwrap();
        assert!(finished(&tiers, "data"));
        assert!(!finished(&tiers, "network"));
        assert!(!finished(&tiers, "frontend"));
        assert!(!finished(&tiers, "backend"));
        assert!(!finished(&tiers, "delivery"));
    }
}
