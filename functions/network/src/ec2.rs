//! Small EC2 helpers: tag specifications, filters, single-match look-ups, error codes.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use vikunja_core::{Error, Result};

/// EC2 has no typed "already exists" errors; these are the codes that mean a retry raced
/// with itself and the rule or association is already in place.
pub const DUPLICATE_PERMISSION: &str = "InvalidPermission.Duplicate";
pub const ROUTE_EXISTS: &str = "RouteAlreadyExists";
pub const ALREADY_ASSOCIATED: &str = "Resource.AlreadyAssociated";

pub fn tag_spec(resource: ResourceType, tags: Vec<(String, String)>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            tags.into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

pub fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub fn tag_filter(key: &str, value: impl Into<String>) -> Filter {
    filter(&format!("tag:{key}"), value)
}

/// At most one match, or a conflict naming what was found twice: two VPCs tagged for the
/// same stack mean someone else created one, and guessing would be worse than stopping.
pub fn at_most_one<T>(mut items: Vec<T>, what: &str) -> Result<Option<T>> {
    match items.len() {
        0 => Ok(None),
        1 => Ok(items.pop()),
        n => Err(Error::conflict(format!(
            "found {n} {what}; expected at most one"
        ))),
    }
}

pub fn missing(what: &str) -> Error {
    Error::conflict(format!("AWS answered without {what}"))
}
