"""ElastiCache: what the shared cache (setting `sharedCache`) needs from moto's ElastiCache —
a replication group that goes when it is deleted, and cache subnet groups that can be
deleted — answered as the ElastiCache API reference says."""

from __future__ import annotations

from .registry import adds, replaces


@replaces("moto.elasticache.models.ElastiCacheBackend.delete_replication_group",
          "(self, replication_group_id, retain_primary_cluster)")
@replaces("moto.elasticache.models.ElastiCacheBackend.describe_replication_groups",
          "(self, replication_group_id)")
def elasticache_deleted_replication_groups_go() -> None:
    """moto's `DeleteReplicationGroup` set the group's status to `deleting` and kept it for
    ever: it was described (and its id taken) after every teardown, and a second delete
    succeeded again. On AWS the group is `deleting` for minutes, then gone. Now the answer to
    the delete says `deleting`, the next `DescribeReplicationGroups` still shows it so (once),
    and after that it is gone (`ReplicationGroupNotFoundFault`); a delete of a group already
    `deleting` answers `InvalidReplicationGroupState` (400), as AWS does. Its tags go with
    it."""
    from moto.elasticache.exceptions import ElastiCacheException, ReplicationGroupNotFound
    from moto.elasticache.models import ElastiCacheBackend

    moto_delete = ElastiCacheBackend.delete_replication_group
    moto_describe = ElastiCacheBackend.describe_replication_groups

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

        def __init__(self, replication_group_id: str) -> None:
            super().__init__(f"Replication group {replication_group_id} is not in available state.")

    def forget(self, group) -> None:
        self.replication_groups.pop(group.replication_group_id, None)
        self.tagging_service.delete_all_tags_for_resource(group.arn)

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        if group.status == "deleting":
            raise InvalidReplicationGroupState(replication_group_id)
        deleted = moto_delete(self, replication_group_id, retain_primary_cluster)
        deleted._seen_deleting = False
        return deleted

    def describe_replication_groups(self, replication_group_id=None):
        # A group seen `deleting` once is gone from the next look on.
        for group in list(self.replication_groups.values()):
            if group.status == "deleting" and getattr(group, "_seen_deleting", False):
                forget(self, group)
        described = moto_describe(self, replication_group_id)
        for group in described:
            if group.status == "deleting":
                group._seen_deleting = True
        return described

    ElastiCacheBackend.delete_replication_group = delete_replication_group
    ElastiCacheBackend.describe_replication_groups = describe_replication_groups


@adds("moto.elasticache.models.ElastiCacheBackend.delete_cache_subnet_group")
@adds("moto.elasticache.responses.ElastiCacheResponse.delete_cache_subnet_group")
def elasticache_cache_subnet_groups_can_be_deleted() -> None:
    """moto had no `DeleteCacheSubnetGroup` (HTTP 500). Now it deletes the group and its
    tags; a group that does not exist answers `CacheSubnetGroupNotFoundFault` (404), and one
    a replication group still uses (one not yet gone) `CacheSubnetGroupInUse` (400)."""
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound, ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

        def __init__(self, name: str) -> None:
            super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")

    def delete_cache_subnet_group(self, cache_subnet_group_name):
        group = self.cache_subnet_groups.get(cache_subnet_group_name)
        if group is None:
            raise CacheSubnetGroupNotFound(cache_subnet_group_name)
        if any(g.cache_subnet_group_name == cache_subnet_group_name
               for g in self.replication_groups.values()):
            raise CacheSubnetGroupInUse(cache_subnet_group_name)
        del self.cache_subnet_groups[cache_subnet_group_name]
        self.tagging_service.delete_all_tags_for_resource(group.arn)

    def delete_cache_subnet_group_response(self):
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response
