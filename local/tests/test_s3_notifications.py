"""GetBucketNotificationConfiguration shows EventBridge delivery, as on AWS."""


def test_eventbridge_delivery_is_visible(stack, unique):
    s3 = stack.client("s3")
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket=bucket)

    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})

    assert s3.get_bucket_notification_configuration(Bucket=bucket)["EventBridgeConfiguration"] == {}


def test_eventbridge_is_shown_beside_other_configurations(stack, unique):
    s3, sqs = stack.client("s3"), stack.client("sqs")
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName=f"q-{unique}")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "EventBridgeConfiguration": {},
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}],
        },
    )
    shown = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert shown["EventBridgeConfiguration"] == {}
    assert shown["QueueConfigurations"][0]["QueueArn"] == queue_arn
