//! One SDK client per service the tests look at, built once from a connection.

use vikunja_aws::target::Aws;

/// Cheap-to-clone clients for every service a stack uses, on one connection's config
/// (S3 path-style, as the connection's own `s3()` makes it for the local stack).
#[derive(Clone, Debug)]
pub struct Clients {
    pub acm: aws_sdk_acm::Client,
    /// ACM where CloudFront takes certificates from.
    pub acm_us_east_1: aws_sdk_acm::Client,
    pub route53: aws_sdk_route53::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    pub fn new(aws: &Aws) -> Self {
        let config = &aws.config;
        let us_east_1 = aws_sdk_acm::config::Builder::from(config)
            .region(aws_sdk_acm::config::Region::new("us-east-1"))
            .build();
        Self {
            acm: aws_sdk_acm::Client::new(config),
            acm_us_east_1: aws_sdk_acm::Client::from_conf(us_east_1),
            route53: aws_sdk_route53::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudfront: aws_sdk_cloudfront::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            codedeploy: aws_sdk_codedeploy::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            elasticache: aws_sdk_elasticache::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            s3: aws.s3(),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            sfn: aws.sfn(),
            ssm: aws.ssm(),
        }
    }
}
