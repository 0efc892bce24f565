//! The cache as found: the replication group and the subnet group by their names (unique
//! per account and region, so a look-up finds one or none), and whether each carries the
//! stack's tag.

use aws_sdk_elasticache::Client;
use resources::found::absent_if_not_found;
use vikunja_core::{tags, Names, Result, SdkContext};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubnetGroup {
    pub name: String,
    pub arn: String,
    /// Sorted.
    pub subnets: Vec<String>,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicationGroup {
    pub id: String,
    pub arn: String,
    /// creating, available, modifying, deleting, create-failed…
    pub status: String,
    pub engine: String,
    pub node_type: String,
    pub nodes: usize,
    pub at_rest_encryption: bool,
    pub transit_encryption: bool,
    /// The primary endpoint (address, port), once there is one.
    pub endpoint: Option<(String, i32)>,
    pub ours: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Found {
    pub subnet_group: Option<SubnetGroup>,
    pub replication_group: Option<ReplicationGroup>,
}

async fn ours(cache: &Client, arn: &str, stack: &str) -> Result<bool> {
    if arn.is_empty() {
        return Ok(false);
    }
    let listed = cache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .context(format!("read the tags of {arn}"));
    let Some(listed) = absent_if_not_found(listed)? else {
        return Ok(false);
    };
    Ok(tags::belongs_to(
        listed
            .tag_list()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        stack,
    ))
}

pub async fn find_subnet_group(cache: &Client, names: &Names) -> Result<Option<SubnetGroup>> {
    let name = crate::subnet_group_name(names);
    let described = cache
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(&name)
        .send()
        .await
        .context(format!("find cache subnet group {name}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    let Some(group) = described.cache_subnet_groups().first() else {
        return Ok(None);
    };
    let arn = group.arn().unwrap_or_default().to_string();
    let mut subnets: Vec<String> = group
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(str::to_string))
        .collect();
    subnets.sort();
    Ok(Some(SubnetGroup {
        name: group.cache_subnet_group_name().unwrap_or(&name).to_string(),
        ours: ours(cache, &arn, names.stack()).await?,
        arn,
        subnets,
    }))
}

pub async fn find_replication_group(
    cache: &Client,
    names: &Names,
) -> Result<Option<ReplicationGroup>> {
    let id = crate::replication_group_id(names);
    let described = cache
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .context(format!("find cache {id}"));
    let Some(described) = absent_if_not_found(described)? else {
        return Ok(None);
    };
    let Some(group) = described.replication_groups().first() else {
        return Ok(None);
    };
    let arn = group.arn().unwrap_or_default().to_string();
    let endpoint = group
        .node_groups()
        .first()
        .and_then(|n| n.primary_endpoint())
        .and_then(|e| Some((e.address()?.to_string(), e.port()?)));
    Ok(Some(ReplicationGroup {
        id: group.replication_group_id().unwrap_or(&id).to_string(),
        status: group.status().unwrap_or_default().to_string(),
        engine: group.engine().unwrap_or_default().to_string(),
        node_type: group.cache_node_type().unwrap_or_default().to_string(),
        nodes: group.member_clusters().len(),
        at_rest_encryption: group.at_rest_encryption_enabled() == Some(true),
        transit_encryption: group.transit_encryption_enabled() == Some(true),
        endpoint,
        ours: ours(cache, &arn, names.stack()).await?,
        arn,
    }))
}

pub async fn observe(cache: &Client, names: &Names) -> Result<Found> {
    Ok(Found {
        subnet_group: find_subnet_group(cache, names).await?,
        replication_group: find_replication_group(cache, names).await?,
    })
}
