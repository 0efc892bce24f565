//! EC2 request pieces: tag specifications and filters. EC2 has no typed "not found" or
//! "already exists" errors; its codes are classified in `vikunja_core::codes`.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use vikunja_core::tags::{self, Tier};

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

/// The rule that decides "is this ours" for every EC2 resource of a tier, in every verb:
/// tagged with the stack and the tier.
pub fn ours(stack: &str, tier: Tier) -> [Filter; 2] {
    [
        tag_filter(tags::STACK, stack),
        tag_filter(tags::TIER, tier.as_str()),
    ]
}

pub fn tag_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?)))
}

pub fn name_tag(tags: &[Tag]) -> String {
    tag_pairs(tags)
        .find(|(k, _)| *k == tags::NAME)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}
