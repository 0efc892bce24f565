//! `VIKUNJA_SERVICE_SECRET` signs sessions: one value for every task, generated once by
//! Secrets Manager and never returned, logged or put in an environment variable in plain.

use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use tracing::info;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext};

pub async fn ensure_service_secret(secrets: &Client, names: &Names) -> Result<String> {
    let name = names.service_secret();
    if let Some(found) = resources_data::find_service_secret(secrets, names).await? {
        let arn = found
            .arn()
            .ok_or_else(|| Error::conflict(format!("secret {name} has no ARN")))?
            .to_string();
        if found.deleted_date().is_some() {
            // Scheduled for deletion by an earlier teardown: bring it back rather than fail.
            secrets
                .restore_secret()
                .secret_id(&arn)
                .send()
                .await
                .context(format!("restore secret {name}"))?;
            info!(name, "restored service secret");
        }
        return Ok(arn);
    }
    let generated = secrets
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .send()
        .await
        .context("generate the service secret")?;
    let value = generated
        .random_password()
        .ok_or_else(|| Error::conflict("GetRandomPassword answered without a password"))?;
    let tag_list = tags::standard(names.stack(), Tier::Data)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let created = secrets
        .create_secret()
        .name(&name)
        .description(format!(
            "VIKUNJA_SERVICE_SECRET of vikunja stack {}",
            names.stack()
        ))
        .secret_string(value)
        .set_tags(Some(tag_list))
        .send()
        .await;
    match created {
        Ok(out) => {
            info!(name, "created service secret");
            Ok(out.arn().unwrap_or_default().to_string())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            let found = resources_data::find_service_secret(secrets, names).await?;
            Ok(found
                .and_then(|f| f.arn().map(str::to_string))
                .unwrap_or_default())
        }
        Err(e) => Err(e).context(format!("create secret {name}")),
    }
}
