use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
};
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext};

pub struct Repository {
    pub name: String,
    pub uri: String,
}

pub async fn ensure_repository(ecr: &aws_sdk_ecr::Client, names: &Names) -> Result<Repository> {
    let name = names.repository();
    let found = resources_backend::find_repository(ecr, &name).await?;
    let repository = match found {
        Some(repository) => repository,
        None => {
            let tag_list = tags::standard(names.stack(), Tier::Backend)
                .into_iter()
                .map(|(k, v)| {
                    built(
                        aws_sdk_ecr::types::Tag::builder().key(k).value(v).build(),
                        "tag",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let created =
                ecr.create_repository()
                    .repository_name(&name)
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(true)
                            .build(),
                    )
                    // A tag names one image for good: releases are traceable and pinned by digest.
                    .image_tag_mutability(ImageTagMutability::Immutable)
                    .encryption_configuration(built(
                        EncryptionConfiguration::builder()
                            .encryption_type(EncryptionType::Aes256)
                            .build(),
                        "repository encryption",
                    )?)
                    .set_tags(Some(tag_list))
                    .send()
                    .await
                    .context(format!("create repository {name}"))
                    .and_then(|created| {
                        info!(name, "created repository");
                        created.repository().cloned().ok_or_else(|| {
                            Error::conflict("ECR answered without the new repository")
                        })
                    });
            resources::adopt::created_or_found(created, || {
                resources_backend::find_repository(ecr, &name)
            })
            .await?
        }
    };
    Ok(Repository {
        name,
        uri: repository.repository_uri().unwrap_or_default().to_string(),
    })
}

pub async fn ensure_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    name: &str,
) -> Result<()> {
    let mut request = logs.create_log_group().log_group_name(name);
    for (k, v) in tags::standard(names.stack(), Tier::Backend) {
        request = request.tags(k, v);
    }
    match request.send().await {
        Ok(_) => info!(name, "created log group"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(e).context(format!("create log group {name}")),
    }
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(30)
        .send()
        .await
        .context(format!("set retention of {name}"))?;
    Ok(())
}
