//! Carries a cache plan out. Both creates name what they make (the subnet group's name, the
//! replication group's id), so a retry after a lost answer meets what the first attempt made
//! and adopts it; deletes treat NotFound as done. A new cache is `creating` for minutes: the
//! workflow's wait loop asks again, no Lambda sleeps.

use aws_sdk_elasticache::types::Tag;
use aws_sdk_elasticache::Client;
use tracing::info;
use vikunja_core::names::CACHE_PORT;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

use crate::diff::{diff, Op, Spec};
use crate::observe::{find_replication_group, find_subnet_group, observe, Found};
use crate::{replication_group_id, subnet_group_name, ENGINE};
use resources::adopt::created_or_found;
use resources::plan::Operation;

#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub replication_group_id: String,
    /// The primary endpoint (address, port), once the cache is available.
    pub endpoint: Option<(String, i32)>,
    pub changes: Vec<String>,
    /// What the cache must finish first: the workflow waits and asks again.
    pub pending: Option<String>,
}

pub async fn ensure(cache: &Client, spec: &Spec) -> Result<Applied> {
    let found = observe(cache, &spec.names).await?;
    let plan = diff(spec, &found);
    apply(cache, spec, &found, &plan.runnable()?.ops).await
}

pub async fn apply(cache: &Client, spec: &Spec, found: &Found, ops: &[Op]) -> Result<Applied> {
    let id = replication_group_id(&spec.names);
    let mut applied = Applied {
        replication_group_id: id.clone(),
        ..Applied::default()
    };
    let mut group = found.replication_group.clone();
    for op in ops {
        match op {
            Op::CreateSubnetGroup => create_subnet_group(cache, spec).await?,
            Op::CreateReplicationGroup => {
                group = Some(create_replication_group(cache, spec).await?);
            }
            other => {
                return Err(Error::invalid(format!(
                    "`up` does not {}: that is teardown's",
                    other.describe(spec)
                )))
            }
        }
        let change = op.describe(spec);
        info!(stack = spec.names.stack(), change, "applied");
        applied.changes.push(change);
    }
    match group {
        Some(group) if group.status == "available" && group.endpoint.is_some() => {
            applied.endpoint = group.endpoint;
        }
        Some(group) => {
            applied.pending = Some(format!(
                "cache {id} to be available (it is {})",
                group.status
            ));
        }
        None => applied.pending = Some(format!("cache {id} to be made")),
    }
    Ok(applied)
}

fn tag_list(spec: &Spec, name: &str) -> Vec<Tag> {
    tags::named(spec.names.stack(), Tier::Data, name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

async fn create_subnet_group(cache: &Client, spec: &Spec) -> Result<()> {
    let name = subnet_group_name(&spec.names);
    let created = cache
        .create_cache_subnet_group()
        .cache_subnet_group_name(&name)
        .cache_subnet_group_description(format!(
            "vikunja {}: the shared cache, in the isolated subnets",
            spec.names.stack()
        ))
        .set_subnet_ids(Some(spec.subnets.clone()))
        .set_tags(Some(tag_list(spec, &name)))
        .send()
        .await
        .context(format!("create cache subnet group {name}"))
        .map(|_| ());
    created_or_found(created, || async {
        let found = find_subnet_group(cache, &spec.names).await?;
        Ok(found.filter(|g| g.ours).map(|_| ()))
    })
    .await
}

async fn create_replication_group(
    cache: &Client,
    spec: &Spec,
) -> Result<crate::observe::ReplicationGroup> {
    let id = replication_group_id(&spec.names);
    let created = cache
        .create_replication_group()
        .replication_group_id(&id)
        .replication_group_description(format!(
            "vikunja {}: Vikunja's shared keyvalue store and cache",
            spec.names.stack()
        ))
        .engine(ENGINE)
        .cache_node_type(&spec.node_type)
        .num_cache_clusters(1)
        .automatic_failover_enabled(false)
        .multi_az_enabled(false)
        .port(CACHE_PORT)
        .cache_subnet_group_name(subnet_group_name(&spec.names))
        .security_group_ids(&spec.security_group)
        .at_rest_encryption_enabled(true)
        // Vikunja's Redis client has no TLS (the crate's documentation says why).
        .transit_encryption_enabled(false)
        .set_tags(Some(tag_list(spec, &id)))
        .send()
        .await
        .context(format!("create cache {id}"));
    let created = created.map(|_| ());
    created_or_found(created, || async {
        let found = find_replication_group(cache, &spec.names).await?;
        Ok(found
            .filter(|g| g.ours && g.status != "deleting")
            .map(|_| ()))
    })
    .await?;
    find_replication_group(cache, &spec.names)
        .await?
        .ok_or_else(|| Error::conflict(format!("cache {id} was created but is not found")))
}

#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    Gone,
    /// The replication group is still going (the subnet group waits for it).
    Waiting(String),
}

pub async fn delete(cache: &Client, op: &Op) -> Result<Deleted> {
    let result = match op {
        Op::DeleteReplicationGroup { id } => {
            let deleted = cache
                .delete_replication_group()
                .replication_group_id(id)
                .retain_primary_cluster(false)
                .send()
                .await
                .context(format!("delete cache {id}"));
            match deleted {
                // Already on its way (a second teardown while the first is deleting it).
                Err(error) if error.is(ErrorClass::InUse) => {
                    return Ok(Deleted::Waiting(format!("cache {id} to go")))
                }
                other => other.map(|_| ()),
            }
        }
        Op::DeleteSubnetGroup { name } => {
            let deleted = cache
                .delete_cache_subnet_group()
                .cache_subnet_group_name(name)
                .send()
                .await
                .context(format!("delete cache subnet group {name}"));
            if let Err(error) = &deleted {
                if error.is(ErrorClass::InUse) {
                    return Ok(Deleted::Waiting(format!(
                        "the cache in subnet group {name} to go"
                    )));
                }
            }
            deleted.map(|_| ())
        }
        other => return Err(Error::invalid(format!("{other:?} is not a delete"))),
    };
    match result {
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        other => other.map(|_| Deleted::Gone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{query_error, query_ok, Replay};
    use vikunja_core::Names;

    resources::replayed_client!(elasticache, aws_sdk_elasticache);

    fn spec() -> Spec {
        Spec {
            names: Names::new("v"),
            subnets: vec!["subnet-ia".into(), "subnet-ib".into()],
            security_group: "sg-cache".into(),
            node_type: "cache.t4g.micro".into(),
        }
    }

    const ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:v-data-cache";

    fn group(status: &str) -> String {
        format!(
            "<ReplicationGroups><ReplicationGroup><ReplicationGroupId>v-data-cache</ReplicationGroupId><Status>{status}</Status><MemberClusters><ClusterId>v-data-cache-001</ClusterId></MemberClusters><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><PrimaryEndpoint><Address>master.v-data-cache.x.use1.cache.amazonaws.com</Address><Port>6379</Port></PrimaryEndpoint></NodeGroup></NodeGroups><CacheNodeType>cache.t4g.micro</CacheNodeType><AtRestEncryptionEnabled>true</AtRestEncryptionEnabled><TransitEncryptionEnabled>false</TransitEncryptionEnabled><ARN>{ARN}</ARN><Engine>valkey</Engine></ReplicationGroup></ReplicationGroups>"
        )
    }

    fn tags(stack: &str) -> String {
        format!("<TagList><Tag><Key>vikunja:stack</Key><Value>{stack}</Value></Tag></TagList>")
    }

    #[tokio::test]
    async fn already_exists_after_a_lost_answer_adopts_the_stacks_cache() {
        let replay = Replay::new(vec![
            query_error(
                "CreateReplicationGroup",
                400,
                "ReplicationGroupAlreadyExists",
            ),
            query_ok("DescribeReplicationGroups", &group("creating")),
            query_ok("ListTagsForResource", &tags("v")),
            query_ok("DescribeReplicationGroups", &group("creating")),
            query_ok("ListTagsForResource", &tags("v")),
        ]);
        let applied = apply(
            &elasticache(&replay),
            &spec(),
            &Found::default(),
            &[Op::CreateReplicationGroup],
        )
        .await
        .unwrap();
        replay.assert_done();
        assert_eq!(applied.endpoint, None);
        let pending = applied.pending.expect("creating: the workflow waits");
        assert!(pending.contains("it is creating"), "{pending}");
        let body = &replay.bodies("CreateReplicationGroup")[0];
        for wanted in [
            "AtRestEncryptionEnabled=true",
            "TransitEncryptionEnabled=false",
            "NumCacheClusters=1",
            "Engine=valkey",
            "SecurityGroupIds.SecurityGroupId.1=sg-cache",
        ] {
            assert!(body.contains(wanted), "{wanted} in {body}");
        }
    }

    #[tokio::test]
    async fn already_exists_for_someone_elses_cache_stays_the_error() {
        let replay = Replay::new(vec![
            query_error(
                "CreateReplicationGroup",
                400,
                "ReplicationGroupAlreadyExists",
            ),
            query_ok("DescribeReplicationGroups", &group("available")),
            query_ok("ListTagsForResource", &tags("other")),
        ]);
        let error = apply(
            &elasticache(&replay),
            &spec(),
            &Found::default(),
            &[Op::CreateReplicationGroup],
        )
        .await
        .unwrap_err();
        replay.assert_done();
        assert!(error.is(ErrorClass::AlreadyExists), "{error}");
    }

    #[tokio::test]
    async fn an_available_cache_answers_its_endpoint() {
        let replay = Replay::new(vec![
            query_error("DescribeCacheSubnetGroups", 404, "CacheSubnetGroupNotFoundFault"),
            query_ok("DescribeReplicationGroups", &group("available")),
            query_ok("ListTagsForResource", &tags("v")),
            query_ok(
                "CreateCacheSubnetGroup",
                "<CacheSubnetGroup><CacheSubnetGroupName>v-data-cache</CacheSubnetGroupName></CacheSubnetGroup>",
            ),
        ]);
        let applied = ensure(&elasticache(&replay), &spec()).await.unwrap();
        replay.assert_done();
        assert_eq!(
            applied.endpoint,
            Some((
                "master.v-data-cache.x.use1.cache.amazonaws.com".into(),
                6379
            ))
        );
        assert_eq!(applied.pending, None);
        assert_eq!(applied.changes.len(), 1, "{:?}", applied.changes);
    }

    #[tokio::test]
    async fn deletes_of_what_is_gone_succeed_and_a_subnet_group_in_use_waits() {
        let replay = Replay::new(vec![
            query_error(
                "DeleteReplicationGroup",
                404,
                "ReplicationGroupNotFoundFault",
            ),
            query_error("DeleteCacheSubnetGroup", 400, "CacheSubnetGroupInUse"),
            query_error(
                "DeleteCacheSubnetGroup",
                404,
                "CacheSubnetGroupNotFoundFault",
            ),
        ]);
        let client = elasticache(&replay);
        let group = Op::DeleteReplicationGroup {
            id: "v-data-cache".into(),
        };
        let subnets = Op::DeleteSubnetGroup {
            name: "v-data-cache".into(),
        };
        assert_eq!(delete(&client, &group).await.unwrap(), Deleted::Gone);
        assert!(matches!(
            delete(&client, &subnets).await.unwrap(),
            Deleted::Waiting(_)
        ));
        assert_eq!(delete(&client, &subnets).await.unwrap(), Deleted::Gone);
        replay.assert_done();
    }
}
