"""CloudFront as the frontend tier uses it: Functions, OAC, a two-origin distribution."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

CODE = b"function handler(event) { return event.request; }"
CONFIG = {"Comment": "spa fallback", "Runtime": "cloudfront-js-2.0"}


def test_function_update_and_publish_follow_etags(stack, unique):
    cloudfront = stack.client("cloudfront")
    created = cloudfront.create_function(Name=f"spa-{unique}", FunctionConfig=CONFIG, FunctionCode=CODE)

    with pytest.raises(ClientError) as stale:
        cloudfront.publish_function(Name=f"spa-{unique}", IfMatch="not-the-etag")
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412

    updated = cloudfront.update_function(Name=f"spa-{unique}", IfMatch=created["ETag"],
                                         FunctionConfig={**CONFIG, "Comment": "v2"}, FunctionCode=CODE + b"\n")
    assert updated["ETag"] != created["ETag"]
    assert updated["FunctionSummary"]["FunctionConfig"]["Comment"] == "v2"

    published = cloudfront.publish_function(Name=f"spa-{unique}", IfMatch=updated["ETag"])
    assert published["FunctionSummary"]["FunctionMetadata"]["Stage"] == "LIVE"
    assert published["FunctionSummary"]["Status"] == "UNASSOCIATED"
    assert cloudfront.get_function(Name=f"spa-{unique}")["FunctionCode"].read() == CODE + b"\n"


def test_distribution_keeps_oac_and_function_associations(stack, unique):
    cloudfront = stack.client("cloudfront")
    function_arn = cloudfront.create_function(Name=f"assoc-{unique}", FunctionConfig=CONFIG, FunctionCode=CODE)[
        "FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    oac = cloudfront.create_origin_access_control(OriginAccessControlConfig={
        "Name": f"oac-{unique}", "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    associations = {"Quantity": 1, "Items": [{"FunctionARN": function_arn, "EventType": "viewer-request"}]}
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": unique, "Comment": "", "Enabled": True, "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "site", "DomainName": f"site-{unique}.s3.us-east-1.amazonaws.com", "OriginAccessControlId": oac,
             "S3OriginConfig": {"OriginAccessIdentity": ""}},
            {"Id": "api", "DomainName": "lb.elb.us-east-1.amazonaws.com", "CustomOriginConfig": {
                "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}},
        ]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                                 "FunctionAssociations": associations},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            "OriginRequestPolicyId": "216adef6-5c7f-47e4-b989-5492eafa07d3",
            "AllowedMethods": {"Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}}]},
    })["Distribution"]

    config = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
    site, api = config["Origins"]["Items"]
    assert site["OriginAccessControlId"] == oac
    assert "S3OriginConfig" in site
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
    assert config["DefaultCacheBehavior"]["FunctionAssociations"] == associations
    behaviour = config["CacheBehaviors"]["Items"][0]
    assert behaviour["PathPattern"] == "/api/*"
    assert behaviour["OriginRequestPolicyId"] == "216adef6-5c7f-47e4-b989-5492eafa07d3"
    assert behaviour["FunctionAssociations"] == {"Quantity": 0}
