//! The stack's inventory: each tier's outputs as one JSON SSM parameter under
//! `/vikunja/<stack>/<tier>`, read by releases, `status`, `plan` and teardown.

use aws_sdk_ssm::types::{ParameterType, Tag};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{built, Error, Result, SdkContext};
use crate::names::Names;
use crate::tags::{self, Tier};

pub async fn record<T: Serialize>(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    tier: Tier,
    outputs: &T,
) -> Result<()> {
    let name = Names::new(stack).inventory_parameter(tier);
    write_json(ssm, &name, stack, tier, outputs).await
}

/// Writes `value` as JSON to the String parameter `name`, tagged for `stack` and `tier`
/// when it is created (SSM takes tags only then; later writes overwrite the value).
pub async fn write_json<T: Serialize>(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    stack: &str,
    tier: Tier,
    value: &T,
) -> Result<()> {
    let value = serde_json::to_string(value)
        .map_err(|e| Error::invalid(format!("serialize the value of {name}: {e}")))?;
    let tag_list = tags::standard(stack, tier)
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build(), "inventory tag"))
        .collect::<Result<Vec<Tag>>>()?;
    let created = ssm
        .put_parameter()
        .name(name)
        .r#type(ParameterType::String)
        .value(&value)
        .set_tags(Some(tag_list))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            ssm.put_parameter()
                .name(name)
                .r#type(ParameterType::String)
                .value(&value)
                .overwrite(true)
                .send()
                .await
                .context(format!("write {name}"))?;
            Ok(())
        }
        Err(e) => Err(e).context(format!("write {name}")),
    }
}

/// One tier's recorded outputs, or `None` when the tier was never recorded.
pub async fn read<T: DeserializeOwned>(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    tier: Tier,
) -> Result<Option<T>> {
    let name = Names::new(stack).inventory_parameter(tier);
    match get(ssm, &name).await? {
        None => Ok(None),
        Some(value) => serde_json::from_str(&value).map(Some).map_err(|e| {
            Error::conflict(format!("inventory {name} is not valid {tier} outputs: {e}"))
        }),
    }
}

/// The same, for readers that can do without the record (teardown finds by tags too): a
/// record that does not parse names nothing, and says so in the log.
pub async fn read_if_valid<T: DeserializeOwned>(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    tier: Tier,
) -> Result<Option<T>> {
    let name = Names::new(stack).inventory_parameter(tier);
    Ok(get(ssm, &name).await?.and_then(|value| {
        serde_json::from_str(&value)
            .map_err(
                |e| tracing::warn!(name, error = %e, "inventory record ignored: it does not parse"),
            )
            .ok()
    }))
}

async fn get(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(Some(
            out.parameter()
                .and_then(|p| p.value())
                .unwrap_or_default()
                .to_string(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context(format!("read inventory {name}")),
    }
}

/// Deletes one tier's record; a record that is not there is already gone.
pub async fn forget(ssm: &aws_sdk_ssm::Client, stack: &str, tier: Tier) -> Result<()> {
    let name = Names::new(stack).inventory_parameter(tier);
    match ssm.delete_parameter().name(&name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(())
        }
        Err(e) => Err(e).context(format!("delete inventory {name}")),
    }
}
