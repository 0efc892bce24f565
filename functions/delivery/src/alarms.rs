use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, LoadBalancerOutputs, Names, Result, SdkContext};

/// CloudWatch names an NLB by the tail of its ARN: `net/<name>/<id>`.
pub fn load_balancer_dimension(arn: &str) -> Result<String> {
    arn.split_once(":loadbalancer/")
        .map(|(_, tail)| tail.to_string())
        .ok_or_else(|| Error::invalid(format!("{arn} is not a load balancer ARN")))
}

/// … and a target group by `targetgroup/<name>/<id>`.
pub fn target_group_dimension(arn: &str) -> Result<String> {
    arn.split_once(":targetgroup/")
        .map(|(_, tail)| format!("targetgroup/{tail}"))
        .ok_or_else(|| Error::invalid(format!("{arn} is not a target group ARN")))
}

/// One alarm per target group: any unhealthy target for two minutes stops the deployment
/// and rolls it back. `put_metric_alarm` is an upsert.
pub async fn ensure_unhealthy_host_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    names: &Names,
    lb: &LoadBalancerOutputs,
) -> Result<Vec<String>> {
    let mut alarms = Vec::new();
    for (colour, target_group) in [
        ("blue", &lb.blue_target_group_arn),
        ("green", &lb.green_target_group_arn),
    ] {
        let name = names.alarm(colour);
        let tag_list = tags::standard(names.stack(), Tier::Delivery)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&name)
            .alarm_description(format!(
                "unhealthy {colour} targets of vikunja stack {}",
                names.stack()
            ))
            .namespace("AWS/NetworkELB")
            .metric_name("UnHealthyHostCount")
            .dimensions(
                Dimension::builder()
                    .name("LoadBalancer")
                    .value(load_balancer_dimension(&lb.load_balancer_arn)?)
                    .build(),
            )
            .dimensions(
                Dimension::builder()
                    .name("TargetGroup")
                    .value(target_group_dimension(target_group)?)
                    .build(),
            )
            .statistic(Statistic::Maximum)
            .period(60)
            .evaluation_periods(2)
            .threshold(0.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data("notBreaching")
            .set_tags(Some(tag_list))
            .send()
            .await
            .context(format!("put alarm {name}"))?;
        alarms.push(name);
    }
    Ok(alarms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_are_arn_tails() {
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/v-nlb/50dc6c495c0c9188"
            )
            .unwrap(),
            "net/v-nlb/50dc6c495c0c9188"
        );
        assert_eq!(
            target_group_dimension(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/v-blue/73e2d6bc24d8a067"
            )
            .unwrap(),
            "targetgroup/v-blue/73e2d6bc24d8a067"
        );
        assert!(target_group_dimension("nope").is_err());
    }
}
