//! Tag keys are named once: every resource carries the stack and tier it belongs to, and
//! every look-up finds resources by them.

pub const STACK: &str = "vikunja:stack";
pub const TIER: &str = "vikunja:tier";
pub const NAME: &str = "Name";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Network,
    Data,
    LoadBalancer,
    Frontend,
    Backend,
    Delivery,
    /// The operator's own domain: certificates and Route 53 records.
    Domain,
}

impl Tier {
    pub const ALL: [Tier; 7] = [
        Tier::Network,
        Tier::Data,
        Tier::LoadBalancer,
        Tier::Frontend,
        Tier::Backend,
        Tier::Delivery,
        Tier::Domain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Network => "network",
            Tier::Data => "data",
            Tier::LoadBalancer => "loadbalancer",
            Tier::Frontend => "frontend",
            Tier::Backend => "backend",
            Tier::Delivery => "delivery",
            Tier::Domain => "domain",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tags every resource of `stack` in `tier` carries, as key/value pairs.
pub fn standard(stack: &str, tier: Tier) -> Vec<(String, String)> {
    vec![
        (STACK.to_string(), stack.to_string()),
        (TIER.to_string(), tier.as_str().to_string()),
    ]
}

/// The standard tags plus a `Name`, for services (EC2) whose consoles show it.
pub fn named(stack: &str, tier: Tier, name: &str) -> Vec<(String, String)> {
    let mut tags = standard(stack, tier);
    tags.push((NAME.to_string(), name.to_string()));
    tags
}

/// Whether a tag list (as pairs) says the resource belongs to `stack`.
pub fn belongs_to<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, stack: &str) -> bool {
    tags.into_iter().any(|(k, v)| k == STACK && v == stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_tags_name_stack_and_tier() {
        let tags = standard("vikunja", Tier::Data);
        assert_eq!(
            tags,
            vec![
                ("vikunja:stack".to_string(), "vikunja".to_string()),
                ("vikunja:tier".to_string(), "data".to_string())
            ]
        );
    }

    #[test]
    fn ownership_needs_the_exact_stack() {
        let tags = [("vikunja:stack", "vikunja-staging")];
        assert!(!belongs_to(tags, "vikunja"));
        assert!(belongs_to(tags, "vikunja-staging"));
    }
}
