"""S3 bucket behaviour the stack relies on: EventBridge delivery is visible, and bucket policies
evaluate conditions as AWS does."""


def test_eventbridge_delivery_is_visible(stack, unique):
    s3 = stack.client("s3")
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket=bucket)

    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})

    assert s3.get_bucket_notification_configuration(Bucket=bucket)["EventBridgeConfiguration"] == {}


def test_a_bucket_without_notifications_answers_an_empty_configuration(stack, unique):
    """AWS answers `<NotificationConfiguration/>`; an empty body is not XML, and strict
    parsers (the Rust SDK's) refuse it."""
    import urllib.request

    s3 = stack.client("s3")
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    with urllib.request.urlopen(f"{stack.endpoint}/{bucket}?notification") as answer:
        body = answer.read().decode()
    assert "<NotificationConfiguration" in body, body
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket=bucket)


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


def test_a_policy_statement_whose_condition_fails_does_not_apply(stack, unique):
    """The site bucket's policy: CloudFront may read (condition on its distribution), plain
    HTTP is denied (condition on aws:SecureTransport). Neither condition holds for a call
    through the local endpoint, so neither statement applies and the owner's calls work."""
    import json

    s3 = stack.client("s3")
    bucket = f"site-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CloudFront", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }))
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<html></html>", ContentType="text/html")
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"<html></html>"
    s3.delete_object(Bucket=bucket, Key="index.html")


def test_an_unconditional_deny_still_denies(stack, unique):
    import json

    import botocore.exceptions
    import pytest

    s3 = stack.client("s3")
    bucket = f"locked-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_bucket_versioning_answers_with_its_own_root_element(stack, unique):
    """The Rust SDK reads GetBucketVersioning only under the model's root element."""
    s3 = stack.client("s3")
    bucket = f"versions-{unique}"
    s3.create_bucket(Bucket=bucket)
    bodies = []
    s3.meta.events.register("after-call.s3.GetBucketVersioning", lambda http_response, **_: bodies.append(http_response.content))

    s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    assert b"<VersioningConfiguration" in bodies[0] and b"GetBucketVersioningResponse" not in bodies[0]
    assert b"<VersioningConfiguration" in bodies[1] and b"<Status>Enabled</Status>" in bodies[1]
