"""CloudFront: deployment latency, CloudFront Functions publish and update, distributions that keep
their origins' OAC and their behaviours' function associations."""

from __future__ import annotations

from .registry import Finding, adds, probe, replaces, uses


@replaces("moto.moto_api.state_manager._transitions", None)
@uses("moto.moto_api.state_manager.set_transition", "(model_name, transition)")
@uses("moto.moto_api.state_manager._default_transitions.cloudfront::distribution")
def cloudfront_distributions_take_time_to_deploy(seconds: float) -> None:
    """moto's distributions advance `InProgress` → `Deployed` on the next read; AWS
    takes minutes. Now a distribution stays `InProgress` for `seconds`
    (VIKUNJA_LOCAL_CLOUDFRONT_DEPLOY_SECONDS), through moto's own state manager."""
    from moto.moto_api import state_manager

    if seconds > 0:
        state_manager.set_transition("cloudfront::distribution", {"progression": "time", "seconds": seconds})


@adds("moto.cloudfront.models.CloudFrontBackend.publish_function")
@adds("moto.cloudfront.models.CloudFrontBackend.update_function")
@adds("moto.cloudfront.responses.CloudFrontResponse.publish_function")
@adds("moto.cloudfront.responses.CloudFrontResponse.update_function")
@adds("moto.cloudfront.urls.url_paths.{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$")  # a dict key
@uses("moto.cloudfront.models.CloudFrontBackend.describe_function", "(self, name)")
def cloudfront_functions_can_be_published_and_updated() -> None:
    """moto has no `PublishFunction` (404) and no `UpdateFunction` (500) for CloudFront
    Functions, and ignores `If-Match`. Now: `UpdateFunction` replaces config and code
    (stage `DEVELOPMENT`, status `UNPUBLISHED`, new ETag), `PublishFunction` makes it
    `LIVE`/`UNASSOCIATED`; both answer `PreconditionFailed` (412) on a stale `If-Match`,
    as AWS does. moto keeps one copy of a function, so `DescribeFunction` shows the
    latest stage whatever `Stage` asks."""
    from moto.cloudfront import urls
    from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion
    from moto.cloudfront.models import CloudFrontBackend, random_id
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    class PreconditionFailed(CloudFrontException):
        def __init__(self) -> None:
            super().__init__("PreconditionFailed", "The If-Match version does not match the current version.")

    def matching(self, name: str, if_match: str | None):
        function = self.describe_function(name)
        if not if_match:
            raise InvalidIfMatchVersion()
        if if_match != function.etag:
            raise PreconditionFailed()
        return function

    def publish_function(self, name: str, if_match: str | None):
        function = matching(self, name, if_match)
        function.stage, function.status = "LIVE", "UNASSOCIATED"
        function.last_modified_time = utcnow()
        return function

    def update_function(self, name: str, if_match: str | None, function_config: dict, function_code: bytes):
        function = matching(self, name, if_match)
        function.config, function.code = function_config, function_code
        function.stage, function.status = "DEVELOPMENT", "UNPUBLISHED"
        function.last_modified_time = utcnow()
        function.etag = random_id()
        return function

    def publish_function_response(self) -> ActionResult:
        function = self.backend.publish_function(self._get_param("Name"), self._get_param("IfMatch"))
        return ActionResult({"FunctionSummary": function.function_summary})

    def update_function_response(self) -> ActionResult:
        function = self.backend.update_function(
            self._get_param("Name"), self._get_param("IfMatch"),
            self._get_param("FunctionConfig", {}), self._get_param("FunctionCode"),
        )
        return ActionResult({"FunctionSummary": function.function_summary, "ETag": function.etag})

    CloudFrontBackend.publish_function = publish_function
    CloudFrontBackend.update_function = update_function
    CloudFrontResponse.publish_function = publish_function_response
    CloudFrontResponse.update_function = update_function_response
    urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = CloudFrontResponse.dispatch


@replaces("moto.cloudfront.models.Origin.__init__", "(self, origin)")
@replaces("moto.cloudfront.models.DefaultCacheBehaviour.__init__", "(self, config)")
def cloudfront_distributions_keep_oac_and_function_associations() -> None:
    """moto's distributions forget an origin's `OriginAccessControlId` and
    `S3OriginConfig`, and a cache behaviour's `FunctionAssociations` and
    `LambdaFunctionAssociations` (always `Quantity: 0`), so a create-or-adopt step
    cannot verify them. Now they are kept and returned by `GetDistribution(Config)`."""
    from moto.cloudfront.models import DefaultCacheBehaviour, Origin

    moto_origin_init = Origin.__init__
    moto_behaviour_init = DefaultCacheBehaviour.__init__

    def origin_init(self, origin: dict) -> None:
        moto_origin_init(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId", "")
        if "S3OriginConfig" in origin:
            self.s3_origin_config = origin["S3OriginConfig"]

    def behaviour_init(self, config: dict) -> None:
        moto_behaviour_init(self, config)
        for key, attribute in (("FunctionAssociations", "function_associations"),
                               ("LambdaFunctionAssociations", "lambda_function_associations")):
            associations = config.get(key) or {}
            items = associations.get("Items") or []
            setattr(self, attribute, {"Quantity": len(items), "Items": items} if items else {"Quantity": 0})

    Origin.__init__ = origin_init
    DefaultCacheBehaviour.__init__ = behaviour_init


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


def _probe_distribution_config(origin_extra: dict | None = None, behaviour_extra: dict | None = None) -> dict:
    import uuid

    return {
        "CallerReference": str(uuid.uuid4()), "Comment": "probe", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site", "DomainName": "probe.s3.us-east-1.amazonaws.com", **(origin_extra or {}),
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", **(behaviour_extra or {}),
        },
    }


@probe(cloudfront_distributions_take_time_to_deploy)
def _probe_distribution_status() -> Finding:
    """A latency model: moto deploys on the next read; the probe shows it."""
    from .probing import client

    cloudfront = client("cloudfront")
    distribution = cloudfront.create_distribution(DistributionConfig=_probe_distribution_config())["Distribution"]
    cloudfront.get_distribution(Id=distribution["Id"])
    status = cloudfront.get_distribution(Id=distribution["Id"])["Distribution"]["Status"]
    return Finding(status == "Deployed", f"on the second read a new distribution is {status}")


@probe(cloudfront_functions_can_be_published_and_updated)
def _probe_publish_function() -> Finding:
    from botocore.exceptions import ClientError

    from .probing import client

    cloudfront = client("cloudfront")
    created = cloudfront.create_function(
        Name="probe", FunctionConfig={"Comment": "probe", "Runtime": "cloudfront-js-2.0"},
        FunctionCode=b"function handler(event) { return event.request; }",
    )
    try:
        published = cloudfront.publish_function(Name="probe", IfMatch=created["ETag"])
    except ClientError as error:
        return Finding(True, f"PublishFunction answered {error.response['ResponseMetadata']['HTTPStatusCode']}")
    return Finding(False, f"PublishFunction: {published['FunctionSummary']['FunctionMetadata']['Stage']}")


@probe(cloudfront_distributions_keep_oac_and_function_associations)
def _probe_distribution_keeps_oac() -> Finding:
    from .probing import client

    cloudfront = client("cloudfront")
    function_arn = "arn:aws:cloudfront::123456789012:function/probe"
    config = _probe_distribution_config(
        {"OriginAccessControlId": "E2PROBEOAC", "S3OriginConfig": {"OriginAccessIdentity": ""}},
        {"FunctionAssociations": {"Quantity": 1, "Items": [
            {"EventType": "viewer-request", "FunctionARN": function_arn}]}},
    )
    distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
    kept = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
    lost = []
    if kept["Origins"]["Items"][0].get("OriginAccessControlId") != "E2PROBEOAC":
        lost.append("OriginAccessControlId")
    if kept["DefaultCacheBehavior"].get("FunctionAssociations", {}).get("Quantity") != 1:
        lost.append("FunctionAssociations")
    return Finding(bool(lost), ("forgot " + ", ".join(lost)) if lost else "kept OriginAccessControlId, FunctionAssociations")


@replaces("moto.cloudfront.models.CloudFrontBackend.delete_origin_access_control", "(self, control_id)")
def deleting_a_missing_origin_access_control_is_no_such_origin_access_control() -> None:
    """moto answered a DeleteOriginAccessControl for an id it does not hold with an HTTP 500
    and no error body (a `KeyError`); AWS answers `NoSuchOriginAccessControl` (404). A
    retried delete whose first attempt went through now reads as "already gone"."""
    from moto.cloudfront.exceptions import NoSuchOriginAccessControl
    from moto.cloudfront.models import CloudFrontBackend

    def delete_origin_access_control(self, control_id):
        if control_id not in self.origin_access_controls:
            raise NoSuchOriginAccessControl
        self.origin_access_controls.pop(control_id)

    CloudFrontBackend.delete_origin_access_control = delete_origin_access_control


@probe(deleting_a_missing_origin_access_control_is_no_such_origin_access_control)
def _probe_delete_missing_oac() -> Finding:
    """Deleting an Origin Access Control that does not exist."""
    from botocore.exceptions import ClientError

    from .probing import client

    try:
        client("cloudfront").delete_origin_access_control(Id="EPROBEMISSING")
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        return Finding(code != "NoSuchOriginAccessControl", f"a missing OAC answers {status} {code or 'with no code'}")
    except KeyError:  # in-process, moto's KeyError surfaces as is (the server answers 500)
        return Finding(True, "a missing OAC raised KeyError (HTTP 500 from the server)")
    return Finding(True, "a missing OAC was deleted without an error")


@replaces("moto.cloudfront.models.CloudFrontBackend.create_origin_access_control", "(self, config_dict)")
def origin_access_control_names_are_unique() -> None:
    """AWS refuses a second Origin Access Control with a name the account already uses
    (`OriginAccessControlAlreadyExists`, 409); moto made a second one, so a create retried
    after its answer was lost left two OACs of one name instead of answering "already
    exists" for the caller to adopt."""
    from moto.cloudfront.exceptions import CloudFrontException
    from moto.cloudfront.models import CloudFrontBackend

    moto_create = CloudFrontBackend.create_origin_access_control

    class OriginAccessControlAlreadyExists(CloudFrontException):  # 409, from the service model
        def __init__(self, name: str) -> None:
            super().__init__("OriginAccessControlAlreadyExists",
                             f"An origin access control with the same name already exists: {name}")

    def create_origin_access_control(self, config_dict):
        name = config_dict.get("Name")
        if any(control.name == name for control in list(self.origin_access_controls.values())):
            raise OriginAccessControlAlreadyExists(name)
        return moto_create(self, config_dict)

    CloudFrontBackend.create_origin_access_control = create_origin_access_control


@probe(origin_access_control_names_are_unique)
def _probe_duplicate_oac_name() -> Finding:
    """Two Origin Access Controls with one name."""
    from botocore.exceptions import ClientError

    from .probing import client

    config = {"Name": "probe-oac", "SigningProtocol": "sigv4", "SigningBehavior": "always",
              "OriginAccessControlOriginType": "s3"}
    cloudfront = client("cloudfront")
    cloudfront.create_origin_access_control(OriginAccessControlConfig=config)
    try:
        cloudfront.create_origin_access_control(OriginAccessControlConfig=config)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        return Finding(code != "OriginAccessControlAlreadyExists", f"a second OAC of one name answers {code}")
    return Finding(True, "a second OAC of one name was made")
