use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Names, Result, SdkContext, Settings};

/// Both calls are upserts: a re-run converges the bounds and the target.
pub async fn ensure_scaling(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    names: &Names,
    cluster: &str,
    service: &str,
    settings: &Settings,
) -> Result<()> {
    let resource = format!("service/{cluster}/{service}");
    let mut register = autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(settings.min_tasks)
        .max_capacity(settings.max_tasks);
    for (k, v) in tags::standard(names.stack(), Tier::Backend) {
        register = register.tags(k, v);
    }
    register
        .send()
        .await
        .context(format!("register scalable target {resource}"))?;
    let metric = built(
        PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
            .build(),
        "predefined metric",
    )?;
    let tracking = built(
        TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(settings.cpu_target_percent)
            .predefined_metric_specification(metric)
            .scale_out_cooldown(60)
            .scale_in_cooldown(300)
            .build(),
        "target tracking",
    )?;
    autoscaling
        .put_scaling_policy()
        .policy_name(names.scaling_policy())
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(tracking)
        .send()
        .await
        .context(format!("put CPU scaling policy on {resource}"))?;
    Ok(())
}
