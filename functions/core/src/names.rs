//! Resource names: `<stack>-<tier>-<thing>`, deterministic so a re-run finds what an
//! earlier run made. Limits: target groups and load balancers 32 characters, buckets 63.

use crate::tags::Tier;

#[derive(Debug, Clone)]
pub struct Names {
    stack: String,
}

impl Names {
    pub fn new(stack: &str) -> Self {
        Self {
            stack: stack.to_string(),
        }
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// `<stack>-<tier>-<thing>`, the general pattern.
    pub fn of(&self, tier: Tier, thing: &str) -> String {
        format!("{}-{}-{}", self.stack, tier.as_str(), thing)
    }

    pub fn vpc(&self) -> String {
        self.of(Tier::Network, "vpc")
    }
    pub fn subnet(&self, role: &str, zone_index: usize) -> String {
        let letter = char::from(b'a' + zone_index as u8);
        self.of(Tier::Network, &format!("{role}-{letter}"))
    }
    pub fn security_group(&self, role: &str) -> String {
        self.of(Tier::Network, role)
    }
    pub fn db_instance(&self) -> String {
        self.of(Tier::Data, "mysql")
    }
    pub fn db_subnet_group(&self) -> String {
        self.of(Tier::Data, "subnets")
    }
    /// Secrets Manager name of the generated `VIKUNJA_SERVICE_SECRET`.
    pub fn service_secret(&self) -> String {
        format!("{}/backend/service-secret", self.stack)
    }
    pub fn load_balancer(&self) -> String {
        format!("{}-nlb", self.stack)
    }
    pub fn target_group(&self, colour: &str) -> String {
        format!("{}-{colour}", self.stack)
    }
    pub fn site_bucket(&self, account: &str, region: &str) -> String {
        format!("{}-site-{account}-{region}", self.stack)
    }
    pub fn uploads_bucket(&self, account: &str, region: &str) -> String {
        format!("{}-uploads-{account}-{region}", self.stack)
    }
    pub fn origin_access_control(&self) -> String {
        self.of(Tier::Frontend, "oac")
    }
    pub fn spa_function(&self) -> String {
        self.of(Tier::Frontend, "spa-fallback")
    }
    pub fn distribution_comment(&self) -> String {
        format!("vikunja-aws stack {}", self.stack)
    }
    pub fn repository(&self) -> String {
        format!("{}/vikunja", self.stack)
    }
    pub fn log_group(&self) -> String {
        format!("/vikunja/{}/backend", self.stack)
    }
    pub fn cluster(&self) -> String {
        self.stack.clone()
    }
    pub fn service(&self) -> String {
        self.of(Tier::Backend, "api")
    }
    pub fn task_family(&self) -> String {
        self.of(Tier::Backend, "api")
    }
    /// Application Auto Scaling's id of the service.
    pub fn scalable_target(&self) -> String {
        format!("service/{}/{}", self.cluster(), self.service())
    }
    pub fn scaling_policy(&self) -> String {
        self.of(Tier::Backend, "cpu")
    }
    pub fn codedeploy_application(&self) -> String {
        self.stack.clone()
    }
    pub fn deployment_group(&self) -> String {
        self.of(Tier::Delivery, "api")
    }
    pub fn alarm(&self, colour: &str) -> String {
        self.of(Tier::Delivery, &format!("{colour}-unhealthy"))
    }
    pub fn hook_function(&self) -> String {
        format!("{}-hook", self.stack)
    }
    /// The bootstrap stack's smoke-test probe, which provision attaches to the VPC.
    pub fn probe_function(&self) -> String {
        format!("{}-probe", self.stack)
    }
    /// SSM parameter holding one tier's outputs.
    pub fn inventory_parameter(&self, tier: Tier) -> String {
        format!("{}/{}", self.inventory_path(), tier.as_str())
    }
    pub fn inventory_path(&self) -> String {
        format!("/vikunja/{}", self.stack)
    }
    /// SSM parameter recording the live frontend release (written by release-frontend).
    pub fn frontend_release_parameter(&self) -> String {
        format!("{}/frontend-release", self.inventory_path())
    }
}

/// The container everything refers to: task definition, AppSpec, target groups.
pub const CONTAINER_NAME: &str = "vikunja";
pub const CONTAINER_PORT: i32 = 3456;
pub const PROD_PORT: i32 = 80;
pub const TEST_PORT: i32 = 8080;
/// The production listener with the operator's own domain: TLS, on the port CloudFront's
/// HTTPS origins may use (443 or 1024-65535 — never 80).
pub const PROD_TLS_PORT: i32 = 443;

/// The production listener's port: TLS on 443 with an own domain, plain TCP on 80 without.
pub fn prod_port(tls: bool) -> i32 {
    if tls {
        PROD_TLS_PORT
    } else {
        PROD_PORT
    }
}
pub const DB_PORT: i32 = 3306;
/// NFS, the protocol EFS mount targets speak.
pub const NFS_PORT: i32 = 2049;
/// Valkey (and Redis), the shared keyvalue store's protocol.
pub const CACHE_PORT: i32 = 6379;
/// Where Vikunja keeps attachments, avatars and backgrounds in its image (`files.basepath`).
pub const FILES_PATH: &str = "/app/vikunja/files";
/// The task definition volume that holds them (EFS).
pub const FILES_VOLUME: &str = "files";
pub const DB_NAME: &str = "vikunja";
pub const DB_USER: &str = "vikunja";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_stack_name_fits_every_limit() {
        let names = Names::new("abcdefghij-klmnopqrs"); // 20 characters, the maximum
        assert!(names.target_group("green").len() <= 32);
        assert!(names.load_balancer().len() <= 32);
        assert!(names.site_bucket("123456789012", "ap-southeast-2").len() <= 63);
        assert!(names.uploads_bucket("123456789012", "ap-southeast-2").len() <= 63);
        assert!(names.db_instance().len() <= 63);
        assert!(names.alarm("green").len() <= 255);
    }

    #[test]
    fn names_follow_the_pattern() {
        let names = Names::new("vikunja");
        assert_eq!(names.subnet("public", 1), "vikunja-network-public-b");
        assert_eq!(names.db_instance(), "vikunja-data-mysql");
        assert_eq!(
            names.inventory_parameter(Tier::Frontend),
            "/vikunja/vikunja/frontend"
        );
    }
}
