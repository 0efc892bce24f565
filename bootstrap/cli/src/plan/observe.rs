//! What the account has: every tier's resources, looked up the way the provisioning
//! functions look them up (the stack's tags, deterministic names, the inventory), reduced to
//! the plain facts the diff compares. Only Describe, List, Get and Head calls: nothing here
//! changes anything.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Names, SdkContext};

use crate::deploy::stack_name;
use crate::target::Aws;

pub use resources::Seen;
pub use resources_network::{Gateway, Network, RouteTable, Rule, SecurityGroup, Subnet, Vpc};

/// Everything the plan compares, as found in the account.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Status and outputs of `<stack>-bootstrap`; `None` when it is not deployed.
    pub bootstrap: Option<BootstrapStack>,
    /// Available zones, sorted by name (the network tier takes the first two).
    pub zones: Vec<String>,
    /// AWS's managed list of CloudFront's origin-facing addresses in this region.
    pub cloudfront_prefix_list: Option<String>,
    pub network: Network,
    pub data: Data,
    /// Vikunja's files on EFS (the data tier's).
    pub files: resources_files::Found,
    /// The shared cache (the data tier's), whether or not `sharedCache` is on.
    pub cache: resources_cache::Found,
    pub loadbalancer: LoadBalancer,
    pub frontend: Frontend,
    pub backend: Backend,
    pub delivery: Delivery,
    /// The own domain's zone, certificates and records, when the settings name a domain.
    pub domain: Option<resources_domain::Found>,
    /// Each tier's recorded outputs (`/vikunja/<stack>/<tier>`), by tier name.
    pub inventory: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootstrapStack {
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    /// The roles the backend function hands to the task definitions it registers.
    pub task_roles: Option<TaskRoles>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRoles {
    pub execution: String,
    pub task: String,
}

pub use resources_data::{Database, Found as Data, Secret};

pub use resources_loadbalancer::{Found as LoadBalancer, Nlb, TargetGroup};

pub use resources_frontend::{Bucket, Distribution, Frontend, Function, OriginAccessControl};

pub use resources_backend::task::Registered as TaskDefinition;
pub use resources_backend::{Found as Backend, ScalingPolicy, ServiceFound as Service};

pub use resources_delivery::{Alarm, DeploymentGroup, Found as Delivery, ProbeAttachment};

/// Reads everything the plan needs. The tiers are independent reads, done concurrently.
pub async fn observe(
    aws: &Aws,
    stack: &str,
    own: Option<&vikunja_core::settings::OwnDomain>,
) -> Result<Observed> {
    let names = Names::new(stack);
    let (bootstrap, (zones, cloudfront_prefix_list, network), (data, files, cache), loadbalancer) =
        tokio::try_join!(
            bootstrap_stack(aws, stack),
            network(aws, &names),
            data(aws, &names),
            loadbalancer(aws, &names),
        )?;
    let (frontend, backend, delivery, inventory, domain) = tokio::try_join!(
        frontend(aws, &names),
        backend(aws, &names),
        delivery(aws, &names),
        recorded(aws, stack),
        domain(aws, &names, own),
    )?;
    Ok(Observed {
        bootstrap,
        zones,
        cloudfront_prefix_list,
        network,
        data,
        files,
        cache,
        loadbalancer,
        frontend,
        backend,
        delivery,
        domain,
        inventory,
    })
}

/// The domain tier's own finder (`resources_domain`); a zone that is not this account's is
/// refused here as `up` refuses it.
async fn domain(
    aws: &Aws,
    names: &Names,
    own: Option<&vikunja_core::settings::OwnDomain>,
) -> Result<Option<resources_domain::Found>> {
    let Some(own) = own else {
        return Ok(None);
    };
    let site_config = aws_sdk_acm::config::Builder::from(&aws.config)
        .region(aws_sdk_acm::config::Region::new(
            resources_domain::CLOUDFRONT_REGION,
        ))
        .build();
    let site_acm = aws_sdk_acm::Client::from_conf(site_config);
    let origin_acm = aws_sdk_acm::Client::new(&aws.config);
    let route53 = aws_sdk_route53::Client::new(&aws.config);
    let clients = resources_domain::Clients {
        site_acm: &site_acm,
        origin_acm: &origin_acm,
        route53: &route53,
    };
    let spec = resources_domain::Spec {
        names: names.clone(),
        domain: own.clone(),
        region: aws.region.clone(),
        targets: None,
    };
    Ok(Some(resources_domain::observe(&clients, &spec).await?))
}

async fn bootstrap_stack(aws: &Aws, stack: &str) -> Result<Option<BootstrapStack>> {
    let name = stack_name(stack);
    let Some(found) = crate::deploy::describe_stack(aws, &name).await? else {
        return Ok(None);
    };
    let status = found
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    // CloudFormation remembers a deleted stack; it is as good as absent.
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    let outputs = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    // The backend function's environment holds the two roles its task definitions name.
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let function = format!("{stack}-backend");
    let configuration = resources::found::absent_if_not_found(SdkContext::context(
        lambda.get_function().function_name(&function).send().await,
        format!("read function {function}"),
    ))?;
    let task_roles = configuration.and_then(|f| {
        let variables = f.configuration()?.environment()?.variables()?;
        Some(TaskRoles {
            execution: variables.get("TASK_EXECUTION_ROLE_ARN")?.clone(),
            task: variables.get("TASK_ROLE_ARN")?.clone(),
        })
    });
    Ok(Some(BootstrapStack {
        status,
        outputs,
        task_roles,
    }))
}

/// The network tier's own finder (`resources_network`): what `up` and teardown find.
async fn network(aws: &Aws, names: &Names) -> Result<(Vec<String>, Option<String>, Network)> {
    let ec2 = aws_sdk_ec2::Client::new(&aws.config);
    let region = resources_network::zones_and_prefix_list(&ec2).await?;
    let found = resources_network::observe(&ec2, names).await?;
    Ok((
        region.zones,
        region.cloudfront_prefix_list,
        Network::view(&found, names),
    ))
}

/// The data tier's own finder (`resources_data`).
async fn data(
    aws: &Aws,
    names: &Names,
) -> Result<(Data, resources_files::Found, resources_cache::Found)> {
    let rds = aws_sdk_rds::Client::new(&aws.config);
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.config);
    let efs = aws_sdk_efs::Client::new(&aws.config);
    let cache = aws_sdk_elasticache::Client::new(&aws.config);
    let (data, files, cache) = tokio::try_join!(
        resources_data::observe(&rds, &secrets, names),
        resources_files::observe(&efs, names),
        resources_cache::observe(&cache, names),
    )?;
    Ok((data, files, cache))
}

/// The load-balancer tier's own finder (`resources_loadbalancer`).
async fn loadbalancer(aws: &Aws, names: &Names) -> Result<LoadBalancer> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws.config);
    Ok(resources_loadbalancer::observe(&elb, names).await?)
}

/// The frontend tier's own finder (`resources_frontend`).
async fn frontend(aws: &Aws, names: &Names) -> Result<Frontend> {
    let s3 = aws.s3();
    let cloudfront = aws_sdk_cloudfront::Client::new(&aws.config);
    let clients = resources_frontend::Clients {
        s3: &s3,
        cloudfront: &cloudfront,
    };
    Ok(resources_frontend::observe(&clients, names, &aws.account, &aws.region).await?)
}

/// The backend tier's own finder (`resources_backend`).
async fn backend(aws: &Aws, names: &Names) -> Result<Backend> {
    let ecr = aws_sdk_ecr::Client::new(&aws.config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.config);
    let ecs = aws_sdk_ecs::Client::new(&aws.config);
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&aws.config);
    let clients = resources_backend::Clients {
        ecr: &ecr,
        ecs: &ecs,
        logs: &logs,
        autoscaling: &autoscaling,
    };
    Ok(resources_backend::observe(&clients, names).await?)
}

/// The delivery tier's own finder (`resources_delivery`).
async fn delivery(aws: &Aws, names: &Names) -> Result<Delivery> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws.config);
    let codedeploy = aws_sdk_codedeploy::Client::new(&aws.config);
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    Ok(resources_delivery::observe(&codedeploy, &cloudwatch, &lambda, names).await?)
}

async fn recorded(aws: &Aws, stack: &str) -> Result<BTreeMap<String, Value>> {
    let ssm = aws.ssm();
    let mut recorded = BTreeMap::new();
    for tier in Tier::ALL {
        let value: Option<Value> = inventory::read(&ssm, stack, tier)
            .await
            .with_context(|| format!("read the {tier} inventory"))?;
        if let Some(value) = value {
            recorded.insert(tier.as_str().to_string(), value);
        }
    }
    Ok(recorded)
}
