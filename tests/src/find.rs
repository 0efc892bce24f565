//! The stack's resources as a user finds them: by the stack's tag, or by the names its
//! tiers give them. Each look-up panics when AWS does not answer (these are tests).

use aws_sdk_ec2::types::{
    Filter, InternetGateway, NetworkInterface, RouteTable, SecurityGroup, Subnet, Vpc,
};

/// The tag every tier puts on what it makes, with the stack's name as the value.
pub const STACK_TAG: &str = "vikunja:stack";

/// An EC2 filter on a tag.
pub fn tag(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

/// An EC2 filter on the stack's tag.
pub fn by_stack(stack: &str) -> Filter {
    tag(STACK_TAG, stack)
}

/// Every page of a paginated request, or a panic.
#[macro_export]
macro_rules! all_pages {
    ($request:expr) => {
        $request
            .into_paginator()
            .send()
            .try_collect()
            .await
            .unwrap()
    };
}

/// What an EC2 describe call finds with the stack's tag: `tagged!(ec2, stack, describe_vpcs, vpcs)`.
macro_rules! tagged {
    ($ec2:expr, $stack:expr, $describe:ident, $items:ident) => {
        $ec2.$describe()
            .filters(by_stack($stack))
            .send()
            .await
            .unwrap()
            .$items()
            .to_vec()
    };
}

/// The network tier's EC2 resources that carry the stack's tag.
pub struct Network {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub security_groups: Vec<SecurityGroup>,
    pub internet_gateways: Vec<InternetGateway>,
    pub route_tables: Vec<RouteTable>,
}

pub async fn network(ec2: &aws_sdk_ec2::Client, stack: &str) -> Network {
    Network {
        vpcs: vpcs(ec2, stack).await,
        subnets: tagged!(ec2, stack, describe_subnets, subnets),
        security_groups: tagged!(ec2, stack, describe_security_groups, security_groups),
        internet_gateways: tagged!(ec2, stack, describe_internet_gateways, internet_gateways),
        route_tables: tagged!(ec2, stack, describe_route_tables, route_tables),
    }
}

/// The VPCs that carry the stack's tag (one, once the network tier ran).
pub async fn vpcs(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<Vpc> {
    tagged!(ec2, stack, describe_vpcs, vpcs)
}

/// The network interfaces that carry the stack's tag.
pub async fn network_interfaces(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<NetworkInterface> {
    tagged!(ec2, stack, describe_network_interfaces, network_interfaces)
}

/// Whether the VPC gives its instances DNS hostnames.
pub async fn dns_hostnames(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Option<bool> {
    ec2.describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap()
        .enable_dns_hostnames()
        .and_then(|a| a.value())
}

/// The id of the stack's VPC.
pub async fn vpc_id(ec2: &aws_sdk_ec2::Client, stack: &str) -> String {
    vpcs(ec2, stack).await[0].vpc_id().unwrap().to_string()
}

/// The id of the security group of that name.
pub async fn security_group_id(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    ec2.describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string()
}

/// The load balancer tier's network load balancer.
pub async fn load_balancer(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    stack: &str,
) -> aws_sdk_elasticloadbalancingv2::types::LoadBalancer {
    elb.describe_load_balancers()
        .names(format!("{stack}-nlb"))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone()
}

/// A target group's ARN, by name.
pub async fn target_group_arn(elb: &aws_sdk_elasticloadbalancingv2::Client, name: &str) -> String {
    elb.describe_target_groups()
        .names(name)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string()
}

/// The ports a load balancer listens on, in order.
pub async fn listener_ports(elb: &aws_sdk_elasticloadbalancingv2::Client, arn: &str) -> Vec<i32> {
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(arn)
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = listeners
        .listeners()
        .iter()
        .filter_map(|l| l.port())
        .collect();
    ports.sort();
    ports
}

/// The data tier's database.
pub async fn database(rds: &aws_sdk_rds::Client, stack: &str) -> aws_sdk_rds::types::DbInstance {
    rds.describe_db_instances()
        .db_instance_identifier(format!("{stack}-data-mysql"))
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone()
}

/// The backend tier's ECS service.
pub async fn backend_service(
    ecs: &aws_sdk_ecs::Client,
    stack: &str,
) -> aws_sdk_ecs::types::Service {
    ecs.describe_services()
        .cluster(stack)
        .services(format!("{stack}-backend-api"))
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

/// The backend's service secret (Vikunja's JWT secret), as Secrets Manager describes it.
pub async fn service_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    stack: &str,
) -> aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput {
    secrets
        .describe_secret()
        .secret_id(format!("{stack}/backend/service-secret"))
        .send()
        .await
        .unwrap()
}

/// A bucket's public access block, as (block ACLs, ignore ACLs, block policy, restrict).
pub async fn public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> (Option<bool>, Option<bool>, Option<bool>, Option<bool>) {
    let block = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    (
        block.block_public_acls(),
        block.ignore_public_acls(),
        block.block_public_policy(),
        block.restrict_public_buckets(),
    )
}

/// A tag of any service's SDK, as key and value (a missing part as "").
pub trait Tag {
    fn key_value(&self) -> (&str, &str);
}

macro_rules! tags_with_optional_parts {
    ($($tag:ty),*) => {$(
        impl Tag for $tag {
            fn key_value(&self) -> (&str, &str) {
                (self.key().unwrap_or_default(), self.value().unwrap_or_default())
            }
        }
    )*};
}

macro_rules! tags_with_parts {
    ($($tag:ty),*) => {$(
        impl Tag for $tag {
            fn key_value(&self) -> (&str, &str) {
                (self.key(), self.value())
            }
        }
    )*};
}

tags_with_optional_parts!(
    aws_sdk_cloudwatch::types::Tag,
    aws_sdk_ecs::types::Tag,
    aws_sdk_elasticloadbalancingv2::types::Tag,
    aws_sdk_rds::types::Tag,
    aws_sdk_secretsmanager::types::Tag,
    aws_sdk_sfn::types::Tag
);
tags_with_parts!(
    aws_sdk_ecr::types::Tag,
    aws_sdk_s3::types::Tag,
    aws_sdk_ssm::types::Tag
);

impl Tag for aws_sdk_cloudfront::types::Tag {
    fn key_value(&self) -> (&str, &str) {
        (self.key(), self.value().unwrap_or_default())
    }
}

/// Whether the tags include the stack's tag.
pub fn carries_stack_tag<'a, T: Tag + 'a>(
    tags: impl IntoIterator<Item = &'a T>,
    stack: &str,
) -> bool {
    tags.into_iter()
        .any(|t| t.key_value() == (STACK_TAG, stack))
}
