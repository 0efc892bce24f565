//! Fixtures that give a test a stack of its own, in the state the test starts from.

use std::sync::Arc;

use serde_json::{json, Value};
use vikunja_aws::deploy::{self, BootstrapOptions};
use vikunja_aws::package::Packaged;
use vikunja_aws::Output;

use crate::Harness;

/// A target group someone else made, in a VPC of theirs, under a name the stack needs.
pub struct Squatter {
    pub vpc_id: String,
    pub target_group_arn: String,
}

impl Harness {
    /// A stack name no run has used, with what bootstrapping it takes: options naming an
    /// artifacts bucket of its own (uploads are counted per bucket, and other tests share the
    /// default one) and the debug binaries packaged.
    pub fn unbootstrapped(&self, prefix: &str) -> (String, BootstrapOptions, Arc<Packaged>) {
        let stack = Self::unique_stack(prefix);
        let options = BootstrapOptions {
            artifacts_bucket: Some(format!("artifacts-{stack}")),
            ..BootstrapOptions::default()
        };
        (stack, options, self.packaged(&self.binaries).unwrap())
    }

    /// [`Harness::unbootstrapped`], then bootstrapped with those options.
    pub async fn bootstrapped_with_own_bucket(
        &self,
        prefix: &str,
    ) -> (String, BootstrapOptions, Arc<Packaged>) {
        let (stack, options, packaged) = self.unbootstrapped(prefix);
        deploy::deploy(&self.aws, &stack, &packaged, &options, Output::Json)
            .await
            .expect("first bootstrap");
        (stack, options, packaged)
    }

    /// A new stack, bootstrapped: its bootstrap stack is there, no tier yet.
    pub async fn bootstrapped(&self, prefix: &str) -> String {
        let stack = Self::unique_stack(prefix);
        self.bootstrap(&stack).await.expect("bootstrap");
        stack
    }

    /// A new stack, bootstrapped and provisioned with the default settings; its outputs.
    pub async fn provisioned(&self, prefix: &str) -> (String, Value) {
        let stack = self.bootstrapped(prefix).await;
        let outputs = self.provision(&stack, json!({})).await.expect("provision");
        (stack, outputs)
    }

    /// Creates an untagged target group `{stack}-green` in a new VPC with that range.
    pub async fn squat_target_group(&self, stack: &str, vpc_cidr: &str) -> Squatter {
        let vpc = self
            .clients
            .ec2
            .create_vpc()
            .cidr_block(vpc_cidr)
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let created = self
            .clients
            .elb
            .create_target_group()
            .name(format!("{stack}-green"))
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Tcp)
            .port(80)
            .vpc_id(&vpc_id)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
            .send()
            .await
            .unwrap();
        let target_group_arn = created.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        Squatter {
            vpc_id,
            target_group_arn,
        }
    }
}

impl Harness {
    /// The operator's step before `up` with `mail`: the SMTP password stored as
    /// `<stack>/mail/smtp-password`; its ARN.
    pub async fn store_mail_password(&self, stack: &str, password: &str) -> String {
        self.clients
            .secrets
            .create_secret()
            .name(format!("{stack}/mail/smtp-password"))
            .secret_string(password)
            .send()
            .await
            .expect("create the mail secret")
            .arn()
            .expect("an ARN")
            .to_string()
    }
}
