//! The one table of AWS error codes: every code the project branches on is classified here,
//! and code elsewhere asks for a class (`error.is(ErrorClass::NotFound)`), never for a code
//! string. A code missing from the table is `Other` (or `Transient` when AWS answered 5xx).

/// What kind of failure an AWS error is, as the lifecycle of a resource needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorClass {
    /// The resource (or rule, association, attachment) is not there: deleting it is done,
    /// finding it is `None`.
    NotFound,
    /// It is there already: a create whose earlier attempt succeeded unseen, or a name taken.
    /// Adopted when it passes the ownership rule, refused otherwise.
    AlreadyExists,
    /// Something still depends on it (ENIs draining, a distribution still using it): worth
    /// asking again later.
    InUse,
    /// Throttling, a server-side fault, a timeout, no answer: worth retrying unchanged.
    Transient,
    /// A policy forbids the call.
    AccessDenied,
    /// AWS refused the request as it stands (bad parameter, state, quota).
    Other,
}

impl ErrorClass {
    /// The `errorType` a state machine sees for an AWS error of this class.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::NotFound => "NotFound",
            ErrorClass::AlreadyExists => "AlreadyExists",
            ErrorClass::InUse => "InUse",
            ErrorClass::Transient => "Retryable",
            ErrorClass::AccessDenied => "AccessDenied",
            ErrorClass::Other => "AwsError",
        }
    }
}

use ErrorClass::*;

/// AWS error codes by class. Services spell the same thing many ways; EC2 has no typed
/// errors at all, so its codes are listed too.
const CODES: &[(&str, ErrorClass)] = &[
    // -- not found ------------------------------------------------------------------------
    // EC2
    ("InvalidVpcID.NotFound", NotFound),
    ("InvalidSubnetID.NotFound", NotFound),
    ("InvalidGroup.NotFound", NotFound),
    ("InvalidGroupId.NotFound", NotFound),
    ("InvalidInternetGatewayID.NotFound", NotFound),
    ("InvalidRouteTableID.NotFound", NotFound),
    ("InvalidRoute.NotFound", NotFound),
    ("InvalidNetworkInterfaceID.NotFound", NotFound),
    ("InvalidAssociationID.NotFound", NotFound),
    ("InvalidPermission.NotFound", NotFound),
    ("InvalidPrefixListID.NotFound", NotFound),
    ("Gateway.NotAttached", NotFound),
    // Elastic Load Balancing
    ("LoadBalancerNotFound", NotFound),
    ("TargetGroupNotFound", NotFound),
    ("ListenerNotFound", NotFound),
    // RDS
    ("DBInstanceNotFound", NotFound),
    ("DBInstanceNotFoundFault", NotFound),
    ("DBSubnetGroupNotFoundFault", NotFound),
    ("DBSnapshotNotFound", NotFound),
    // EFS
    ("FileSystemNotFound", NotFound),
    ("MountTargetNotFound", NotFound),
    ("AccessPointNotFound", NotFound),
    ("PolicyNotFound", NotFound),
    // ElastiCache
    ("ReplicationGroupNotFoundFault", NotFound),
    ("CacheSubnetGroupNotFoundFault", NotFound),
    // S3
    ("NoSuchBucket", NotFound),
    ("NoSuchKey", NotFound),
    ("NoSuchUpload", NotFound),
    ("NoSuchBucketPolicy", NotFound),
    ("OwnershipControlsNotFoundError", NotFound),
    ("NoSuchPublicAccessBlockConfiguration", NotFound),
    ("ServerSideEncryptionConfigurationNotFoundError", NotFound),
    ("NotFound", NotFound),
    // CloudFront
    ("NoSuchDistribution", NotFound),
    ("NoSuchOriginAccessControl", NotFound),
    ("NoSuchFunctionExists", NotFound),
    ("NoSuchInvalidation", NotFound),
    // Route 53 (a zone of another account answers NoSuchHostedZone too)
    ("NoSuchHostedZone", NotFound),
    // ECS, ECR, CloudWatch Logs, Secrets Manager, Application Auto Scaling, Lambda
    ("ServiceNotFoundException", NotFound),
    ("ServiceNotActiveException", NotFound),
    ("ClusterNotFoundException", NotFound),
    ("RepositoryNotFoundException", NotFound),
    ("ImageNotFoundException", NotFound),
    ("ResourceNotFoundException", NotFound),
    ("ResourceNotFound", NotFound),
    ("ObjectNotFoundException", NotFound),
    // CodeDeploy: a deployment that already ended has nothing left to stop.
    ("ApplicationDoesNotExistException", NotFound),
    ("DeploymentGroupDoesNotExistException", NotFound),
    ("DeploymentDoesNotExistException", NotFound),
    ("DeploymentAlreadyCompletedException", NotFound),
    // … and a lifecycle event that is over (reported, timed out, stopped) waits for no report.
    ("LifecycleEventAlreadyCompletedException", NotFound),
    ("InvalidLifecycleEventHookExecutionIdException", NotFound),
    // CloudFormation change sets, SSM
    ("ChangeSetNotFound", NotFound),
    ("ChangeSetNotFoundException", NotFound),
    ("ParameterNotFound", NotFound),
    // -- already exists -------------------------------------------------------------------
    ("InvalidGroup.Duplicate", AlreadyExists),
    ("InvalidPermission.Duplicate", AlreadyExists),
    ("RouteAlreadyExists", AlreadyExists),
    ("Resource.AlreadyAssociated", AlreadyExists),
    ("InvalidSubnet.Conflict", AlreadyExists),
    ("DuplicateTargetGroupName", AlreadyExists),
    ("DuplicateLoadBalancerName", AlreadyExists),
    ("DuplicateListener", AlreadyExists),
    ("DBInstanceAlreadyExists", AlreadyExists),
    ("DBInstanceAlreadyExistsFault", AlreadyExists),
    ("DBSubnetGroupAlreadyExists", AlreadyExists),
    ("DBSubnetGroupAlreadyExistsFault", AlreadyExists),
    ("ReplicationGroupAlreadyExists", AlreadyExists),
    ("ReplicationGroupAlreadyExistsFault", AlreadyExists),
    ("CacheSubnetGroupAlreadyExists", AlreadyExists),
    ("CacheSubnetGroupAlreadyExistsFault", AlreadyExists),
    ("DBSnapshotAlreadyExists", AlreadyExists),
    ("BucketAlreadyOwnedByYou", AlreadyExists),
    ("OriginAccessControlAlreadyExists", AlreadyExists),
    ("FunctionAlreadyExists", AlreadyExists),
    ("DistributionAlreadyExists", AlreadyExists),
    ("ResourceAlreadyExistsException", AlreadyExists),
    ("RepositoryAlreadyExistsException", AlreadyExists),
    ("ApplicationAlreadyExistsException", AlreadyExists),
    ("DeploymentGroupAlreadyExistsException", AlreadyExists),
    ("ParameterAlreadyExists", AlreadyExists),
    ("ResourceExistsException", AlreadyExists),
    ("AlreadyExistsException", AlreadyExists),
    ("FileSystemAlreadyExists", AlreadyExists),
    ("AccessPointAlreadyExists", AlreadyExists),
    ("MountTargetConflict", AlreadyExists),
    // -- in use ---------------------------------------------------------------------------
    ("DependencyViolation", InUse),
    ("ResourceInUse", InUse),
    ("ResourceInUseException", InUse),
    ("OriginAccessControlInUse", InUse),
    ("FunctionInUse", InUse),
    ("BucketNotEmpty", InUse),
    ("InvalidDBInstanceState", InUse),
    ("InvalidDBInstanceStateFault", InUse),
    ("InvalidDBSubnetGroupStateFault", InUse),
    ("PreconditionFailed", InUse),
    ("IncorrectState", InUse),
    ("InvalidChangeSetStatus", InUse),
    ("InvalidChangeSetStatusException", InUse),
    ("FileSystemInUse", InUse),
    ("IncorrectFileSystemLifeCycleState", InUse),
    ("IncorrectMountTargetState", InUse),
    ("CacheSubnetGroupInUse", InUse),
    ("InvalidReplicationGroupState", InUse),
    ("InvalidReplicationGroupStateFault", InUse),
    // -- throttling and faults ------------------------------------------------------------
    ("Throttling", Transient),
    ("ThrottlingException", Transient),
    ("ThrottledException", Transient),
    ("RequestThrottled", Transient),
    ("RequestThrottledException", Transient),
    ("TooManyRequestsException", Transient),
    ("ProvisionedThroughputExceededException", Transient),
    ("RequestLimitExceeded", Transient),
    ("SlowDown", Transient),
    ("PriorRequestNotComplete", Transient),
    ("EC2ThrottledException", Transient),
    ("InternalError", Transient),
    ("InternalFailure", Transient),
    ("ServiceUnavailable", Transient),
    ("ServiceUnavailableException", Transient),
    // -- access ---------------------------------------------------------------------------
    ("AccessDenied", AccessDenied),
    ("AccessDeniedException", AccessDenied),
    ("UnauthorizedOperation", AccessDenied),
    ("AuthorizationError", AccessDenied),
];

/// The class of an AWS error code. CloudFormation is the one service that says "not found"
/// only in words (`ValidationError`: "Stack with id x does not exist"); it is read here so
/// no caller reads messages.
pub fn class_of(code: Option<&str>, message: Option<&str>) -> Option<ErrorClass> {
    let code = code?;
    if let Some((_, class)) = CODES.iter().find(|(c, _)| *c == code) {
        return Some(*class);
    }
    if code == "ValidationError" && message.is_some_and(|m| m.contains("does not exist")) {
        return Some(NotFound);
    }
    // Route 53 says a record set to delete is gone only in words, inside InvalidChangeBatch.
    if code == "InvalidChangeBatch" && message.is_some_and(|m| m.contains("not found")) {
        return Some(NotFound);
    }
    None
}

/// The class of an answer with no code we know, by its HTTP status.
pub fn class_of_status(status: u16) -> ErrorClass {
    match status {
        429 | 500..=599 => Transient,
        403 => AccessDenied,
        404 => NotFound,
        _ => Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_classified_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in CODES {
            assert!(seen.insert(*code), "{code} is listed twice");
        }
    }

    #[test]
    fn codes_and_statuses_classify() {
        assert_eq!(
            class_of(Some("InvalidGroup.Duplicate"), None),
            Some(AlreadyExists)
        );
        assert_eq!(class_of(Some("DependencyViolation"), None), Some(InUse));
        assert_eq!(class_of(Some("Throttling"), None), Some(Transient));
        assert_eq!(class_of(Some("InvalidParameterValue"), None), None);
        assert_eq!(class_of(None, Some("does not exist")), None);
        assert_eq!(
            class_of(
                Some("ValidationError"),
                Some("Stack with id vikunja-bootstrap does not exist")
            ),
            Some(NotFound)
        );
        assert_eq!(
            class_of(Some("ValidationError"), Some("Template format error")),
            None
        );
        assert_eq!(class_of_status(503), Transient);
        assert_eq!(class_of_status(400), Other);
        assert_eq!(class_of_status(404), NotFound);
    }
}
