//! The diff on made-up findings: a stack as `up` leaves it, then one thing changed at a time.

use std::collections::BTreeMap;

use serde_json::json;
use vikunja_core::{
    BackendOutputs, DataOutputs, DeliveryOutputs, FrontendOutputs, LoadBalancerOutputs,
    NetworkOutputs,
};

use super::observe::*;
use super::*;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const STACK: &str = "v";

fn settings() -> Settings {
    Settings::for_stack(STACK)
}

fn with(overrides: serde_json::Value) -> Settings {
    let mut value = serde_json::to_value(settings()).unwrap();
    for (k, v) in overrides.as_object().unwrap() {
        value[k] = v.clone();
    }
    let settings: Settings = serde_json::from_value(value).unwrap();
    settings.validate().unwrap();
    settings
}

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

/// Everything as `up` with the default settings leaves it.
fn provisioned() -> Observed {
    let names = Names::new(STACK);
    let defaults = settings();
    let mut o = Observed {
        bootstrap: Some(BootstrapStack {
            status: "CREATE_COMPLETE".into(),
            outputs: BTreeMap::from([(
                "CodeDeployRoleArn".to_string(),
                "arn:aws:iam::1:role/v-bootstrap-CodeDeployRole-X".to_string(),
            )]),
            task_roles: Some(TaskRoles {
                execution: "arn:aws:iam::1:role/v-bootstrap-TaskExecutionRole-X".into(),
                task: "arn:aws:iam::1:role/v-bootstrap-TaskRole-X".into(),
            }),
        }),
        zones: vec![
            "eu-west-1a".into(),
            "eu-west-1b".into(),
            "eu-west-1c".into(),
        ],
        cloudfront_prefix_list: Some("pl-4fa04526".into()),
        ..Observed::default()
    };

    // network
    let n = &mut o.network;
    n.vpc = Seen::Found(Vpc {
        id: "vpc-1".into(),
        cidr: "10.42.0.0/16".into(),
        dns_support: true,
        dns_hostnames: true,
    });
    let subnets = [
        ("public", 0, "subnet-pa", "10.42.0.0/20", "eu-west-1a"),
        ("public", 1, "subnet-pb", "10.42.16.0/20", "eu-west-1b"),
        ("isolated", 0, "subnet-ia", "10.42.128.0/20", "eu-west-1a"),
        ("isolated", 1, "subnet-ib", "10.42.144.0/20", "eu-west-1b"),
    ];
    for (role, index, id, cidr, zone) in subnets {
        n.subnets.insert(
            names.subnet(role, index),
            Seen::Found(Subnet {
                id: id.into(),
                cidr: cidr.into(),
                zone: zone.into(),
                ..Subnet::default()
            }),
        );
        let table = if role == "public" { "rtb-p" } else { "rtb-i" };
        n.subnet_route_tables.insert(id.into(), table.into());
    }
    n.internet_gateway = Seen::Found(Gateway {
        id: "igw-1".into(),
        attached: true,
        ..Gateway::default()
    });
    n.route_tables.insert(
        "public".into(),
        Seen::Found(RouteTable {
            id: "rtb-p".into(),
            default_route: Some("igw-1".into()),
            ..RouteTable::default()
        }),
    );
    n.route_tables.insert(
        "isolated".into(),
        Seen::Found(RouteTable {
            id: "rtb-i".into(),
            default_route: None,
            ..RouteTable::default()
        }),
    );
    let rule = |port: i32, source: &str| Rule {
        protocol: "tcp".into(),
        from: port,
        to: port,
        source: source.into(),
    };
    for (role, id, rules) in [
        (
            "lb",
            "sg-lb",
            vec![rule(80, "pl-4fa04526"), rule(8080, "10.42.0.0/16")],
        ),
        ("app", "sg-app", vec![rule(3456, "sg-lb")]),
        ("db", "sg-db", vec![rule(3306, "sg-app")]),
        ("files", "sg-files", vec![rule(2049, "sg-app")]),
        ("cache", "sg-cache", vec![rule(6379, "sg-app")]),
    ] {
        n.security_groups.insert(
            role.into(),
            Seen::Found(SecurityGroup {
                id: id.into(),
                ingress: rules,
                egress: vec![],
                ..SecurityGroup::default()
            }),
        );
    }
    n.security_groups.insert(
        "probe".into(),
        Seen::Found(SecurityGroup {
            id: "sg-probe".into(),
            ingress: vec![],
            egress: vec![rule(8080, "10.42.0.0/16")],
            ..SecurityGroup::default()
        }),
    );

    // data
    o.data = Data {
        subnet_group: Some(vec!["subnet-ia".into(), "subnet-ib".into()]),
        service_secret: Some(Secret {
            arn: arn("secretsmanager", "secret:v/backend/service-secret-AbCd"),
            scheduled_for_deletion: false,
        }),
        database: Some(Database {
            ours: true,
            engine: "mysql".into(),
            class: "db.t4g.micro".into(),
            storage: 20,
            deletion_protection: true,
            public: false,
            encrypted: true,
            status: "available".into(),
            endpoint: Some("v-data-mysql.abc.eu-west-1.rds.amazonaws.com".into()),
            port: Some(3306),
            master_secret_arn: Some(arn("secretsmanager", "secret:rds!db-1-XyZ")),
        }),
    };
    o.files = resources_files::Found {
        file_system: Some(resources_files::FileSystem {
            id: "fs-1".into(),
            arn: arn("elasticfilesystem", "file-system/fs-1"),
            state: "available".into(),
            encrypted: true,
            ours: true,
        }),
        mount_targets: ["subnet-pa", "subnet-pb"]
            .into_iter()
            .map(|subnet| {
                let target = resources_files::MountTarget {
                    id: format!("fsmt-{subnet}"),
                    state: "available".into(),
                    security_groups: vec!["sg-files".into()],
                };
                (subnet.to_string(), target)
            })
            .collect(),
        access_point: Some(resources_files::AccessPoint {
            id: "fsap-1".into(),
            arn: arn("elasticfilesystem", "access-point/fsap-1"),
            posix_user: Some((1000, 1000)),
            root_directory: "/vikunja".into(),
        }),
        backups: Some(true),
    };

    // load balancer
    let lb_arn = arn(
        "elasticloadbalancing",
        "loadbalancer/net/v-nlb/50dc6c495c0c9188",
    );
    o.loadbalancer.nlb = Some(Nlb {
        arn: lb_arn.clone(),
        dns_name: "v-nlb-1.elb.eu-west-1.amazonaws.com".into(),
        zone_id: "Z32O12XQLNTSW2".into(),
        network: true,
        ours: true,
    });
    for colour in ["blue", "green"] {
        o.loadbalancer.target_groups.insert(
            colour.into(),
            TargetGroup {
                arn: arn(
                    "elasticloadbalancing",
                    &format!("targetgroup/v-{colour}/73e2d6bc24d8a06{}", colour.len()),
                ),
                ours: true,
                port: Some(3456),
                protocol: "TCP".into(),
                target_type: "ip".into(),
                vpc_id: "vpc-1".into(),
                health_check: resources_loadbalancer::Spec::new(names.clone()).health_check,
                deregistration_delay_seconds: Some("30".into()),
            },
        );
    }
    o.loadbalancer.listeners.insert(80, format!("{lb_arn}/l80"));
    o.loadbalancer
        .listeners
        .insert(8080, format!("{lb_arn}/l8080"));
    for port in [80, 8080] {
        let tcp = resources_loadbalancer::ListenerTls {
            protocol: "TCP".into(),
            ..Default::default()
        };
        o.loadbalancer.listener_tls.insert(port, tcp);
    }

    // frontend
    let site = names.site_bucket(ACCOUNT, REGION);
    let dist_arn = format!("arn:aws:cloudfront::{ACCOUNT}:distribution/E1");
    for role in ["site", "uploads"] {
        o.frontend.buckets.insert(
            role.into(),
            Bucket {
                foreign: false,
                public_access_block: Some([true; 4]),
                ownership: Some("BucketOwnerEnforced".into()),
                encryption: Some("AES256".into()),
                bucket_key: Some(true),
                tags: vec![
                    ("vikunja:stack".into(), STACK.into()),
                    ("vikunja:tier".into(), "frontend".into()),
                ],
                eventbridge: role == "uploads",
                policy: (role == "site")
                    .then(|| resources_frontend::config::site_policy(&site, &dist_arn)),
            },
        );
    }
    o.frontend.origin_access_control = Some(OriginAccessControl {
        id: "E2OAC".into(),
        origin_type: "s3".into(),
        signing_behavior: "always".into(),
        signing_protocol: "sigv4".into(),
    });
    let function_arn = format!("arn:aws:cloudfront::{ACCOUNT}:function/v-frontend-spa-fallback");
    o.frontend.function = Some(Function {
        arn: function_arn.clone(),
        live: true,
        code: Some(resources_frontend::config::SPA_FALLBACK_JS.to_string()),
    });
    o.frontend.distribution = Some(Distribution {
        id: "E1".into(),
        arn: dist_arn,
        domain_name: "d111.cloudfront.net".into(),
        origins: BTreeMap::from([
            (
                "site".to_string(),
                (
                    resources_frontend::config::regional_domain(&site, REGION),
                    "E2OAC".to_string(),
                ),
            ),
            (
                "api".to_string(),
                (
                    "v-nlb-1.elb.eu-west-1.amazonaws.com".to_string(),
                    String::new(),
                ),
            ),
        ]),
        default_functions: vec![function_arn],
        behaviours: BTreeMap::from([("/api/*".to_string(), "api".to_string())]),
        viewer: "aliases none; certificate CloudFront's default; API origin http-only".into(),
    });

    // backend: the task definition the backend function registers from these findings
    let desired = diff::Desired {
        settings: &defaults,
        names: names.clone(),
        account: ACCOUNT,
        region: REGION,
    };
    let inputs = diff_inputs(&desired, &o);
    let task_arn = arn("ecs", "task-definition/v-backend-api:1");
    o.backend = Backend {
        repository: Some(resources_backend::Repository {
            uri: format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/v/vikunja"),
            ours: true,
        }),
        log_group: Some(resources_backend::LogGroup {
            retention_days: Some(30),
            ours: true,
        }),
        cluster: Some(resources_backend::ClusterFound {
            active: true,
            ours: true,
        }),
        service: Some(Service {
            arn: arn("ecs", "service/v/v-backend-api"),
            status: "ACTIVE".into(),
            ours: true,
            controller: Some("CODE_DEPLOY".into()),
            strategy: None,
            task_definition: task_arn.clone(),
            load_balancers: vec![(
                o.loadbalancer.target_groups["blue"].arn.clone(),
                "vikunja".into(),
                3456,
            )],
            subnets: vec!["subnet-pa".into(), "subnet-pb".into()],
            security_groups: vec!["sg-app".into()],
            task_sets: vec![],
        }),
        task_definition: Some(TaskDefinition {
            arn: task_arn,
            cpu: Some(inputs.cpu.clone()),
            memory: Some(inputs.memory.clone()),
            image: Some(inputs.image.clone()),
            environment: inputs.environment.clone(),
            secrets: inputs.secrets.clone(),
            execution_role: Some(inputs.execution_role.clone()),
            task_role: Some(inputs.task_role.clone()),
            has_container: true,
            files: inputs.files.clone(),
        }),
        scalable_target: Some((1, 4)),
        scaling_policy: Some(ScalingPolicy {
            target: Some(60.0),
            metric: Some("ECSServiceAverageCPUUtilization".into()),
            scale_out_cooldown: Some(60),
            scale_in_cooldown: Some(300),
        }),
    };

    // delivery
    for colour in ["blue", "green"] {
        let group = &o.loadbalancer.target_groups[colour].arn;
        let mut dimensions = vec![
            (
                "LoadBalancer".to_string(),
                resources_delivery::load_balancer_dimension(&lb_arn).unwrap(),
            ),
            (
                "TargetGroup".to_string(),
                resources_delivery::target_group_dimension(group).unwrap(),
            ),
        ];
        dimensions.sort();
        o.delivery.alarms.insert(
            colour.into(),
            Alarm {
                namespace: "AWS/NetworkELB".into(),
                metric: "UnHealthyHostCount".into(),
                statistic: "Maximum".into(),
                period: Some(60),
                evaluation_periods: Some(2),
                threshold: Some(0.0),
                comparison: "GreaterThanThreshold".into(),
                treat_missing_data: "notBreaching".into(),
                dimensions,
            },
        );
    }
    o.delivery.application = true;
    o.delivery.probe = Some(Some(ProbeAttachment {
        subnets: vec!["subnet-pa".into(), "subnet-pb".into()],
        security_groups: vec!["sg-probe".into()],
        ..ProbeAttachment::default()
    }));
    o.delivery.deployment_group = Some(DeploymentGroup {
        termination_wait_minutes: Some(5),
        deployment_config: "CodeDeployDefault.ECSAllAtOnce".into(),
        target_groups: vec!["v-blue".into(), "v-green".into()],
        prod_listeners: vec![format!("{lb_arn}/l80")],
        test_listeners: vec![format!("{lb_arn}/l8080")],
        services: vec![("v".into(), "v-backend-api".into())],
        service_role: "arn:aws:iam::1:role/v-bootstrap-CodeDeployRole-X".into(),
        rollback_enabled: true,
        rollback_events: vec![
            "DEPLOYMENT_FAILURE".into(),
            "DEPLOYMENT_STOP_ON_ALARM".into(),
        ],
    });

    // the inventory, as the tiers' own output types serialize
    let network = NetworkOutputs {
        vpc_id: "vpc-1".into(),
        vpc_cidr: "10.42.0.0/16".into(),
        availability_zones: vec!["eu-west-1a".into(), "eu-west-1b".into()],
        public_subnet_ids: vec!["subnet-pa".into(), "subnet-pb".into()],
        isolated_subnet_ids: vec!["subnet-ia".into(), "subnet-ib".into()],
        internet_gateway_id: "igw-1".into(),
        public_route_table_id: "rtb-p".into(),
        isolated_route_table_id: "rtb-i".into(),
        lb_security_group_id: "sg-lb".into(),
        app_security_group_id: "sg-app".into(),
        db_security_group_id: "sg-db".into(),
        probe_security_group_id: Some("sg-probe".into()),
        files_security_group_id: Some("sg-files".into()),
        cache_security_group_id: Some("sg-cache".into()),
        changes: vec![],
    };
    let db = o.data.database.as_ref().unwrap();
    let data = DataOutputs {
        db_instance_id: "v-data-mysql".into(),
        status: "available".into(),
        endpoint: db.endpoint.clone(),
        port: db.port,
        db_name: "vikunja".into(),
        username: "vikunja".into(),
        master_secret_arn: db.master_secret_arn.clone(),
        service_secret_arn: o.data.service_secret.as_ref().unwrap().arn.clone(),
        subnet_group: "v-data-subnets".into(),
        waiting_since: 1_700_000_000,
        files: None,
        snapshot_before_upgrade: None,
        files_pending: None,
        cache: None,
        cache_pending: None,
        changes: vec![],
    };
    let lb = &o.loadbalancer;
    let loadbalancer = LoadBalancerOutputs {
        load_balancer_arn: lb_arn.clone(),
        dns_name: "v-nlb-1.elb.eu-west-1.amazonaws.com".into(),
        prod_listener_arn: format!("{lb_arn}/l80"),
        test_listener_arn: format!("{lb_arn}/l8080"),
        blue_target_group_arn: lb.target_groups["blue"].arn.clone(),
        green_target_group_arn: lb.target_groups["green"].arn.clone(),
        blue_target_group_name: "v-blue".into(),
        green_target_group_name: "v-green".into(),
        canonical_hosted_zone_id: None,
        changes: vec![],
    };
    let dist = o.frontend.distribution.as_ref().unwrap();
    let frontend = FrontendOutputs {
        site_bucket: site.clone(),
        uploads_bucket: names.uploads_bucket(ACCOUNT, REGION),
        distribution_id: dist.id.clone(),
        distribution_arn: dist.arn.clone(),
        domain_name: dist.domain_name.clone(),
        url: "https://d111.cloudfront.net".into(),
        api_url: "https://d111.cloudfront.net/api/v1".into(),
        origin_access_control_id: "E2OAC".into(),
        spa_function_arn: o.frontend.function.as_ref().unwrap().arn.clone(),
        changes: vec![],
    };
    let service = o.backend.service.as_ref().unwrap();
    let backend = BackendOutputs {
        repository_name: "v/vikunja".into(),
        repository_uri: o.backend.repository.clone().unwrap().uri,
        log_group: "/vikunja/v/backend".into(),
        cluster: "v".into(),
        service: "v-backend-api".into(),
        service_arn: service.arn.clone(),
        task_definition_arn: service.task_definition.clone(),
        container_name: "vikunja".into(),
        container_port: 3456,
        changes: vec![],
    };
    let delivery = DeliveryOutputs {
        engine: Default::default(),
        application: "v".into(),
        deployment_group: "v-delivery-api".into(),
        deployment_config: "CodeDeployDefault.ECSAllAtOnce".into(),
        alarms: vec![
            "v-delivery-blue-unhealthy".into(),
            "v-delivery-green-unhealthy".into(),
        ],
        probe_function: Some("v-probe".into()),
        changes: vec![],
    };
    o.inventory = BTreeMap::from([
        (
            "network".to_string(),
            serde_json::to_value(network).unwrap(),
        ),
        ("data".to_string(), serde_json::to_value(data).unwrap()),
        (
            "loadbalancer".to_string(),
            serde_json::to_value(loadbalancer).unwrap(),
        ),
        (
            "frontend".to_string(),
            serde_json::to_value(frontend).unwrap(),
        ),
        (
            "backend".to_string(),
            serde_json::to_value(backend).unwrap(),
        ),
        (
            "delivery".to_string(),
            serde_json::to_value(delivery).unwrap(),
        ),
    ]);
    o
}

/// The task definition inputs the backend function computes, from the tiers' own code.
fn diff_inputs(desired: &diff::Desired, o: &Observed) -> resources_backend::task::TaskInputs {
    let db = o.data.database.as_ref().unwrap();
    let dist = o.frontend.distribution.as_ref().unwrap();
    let roles = o.bootstrap.as_ref().unwrap().task_roles.as_ref().unwrap();
    resources_backend::task::TaskInputs::new(
        desired.settings,
        &DataOutputs {
            db_instance_id: "v-data-mysql".into(),
            status: "available".into(),
            endpoint: db.endpoint.clone(),
            port: db.port,
            db_name: "vikunja".into(),
            username: "vikunja".into(),
            master_secret_arn: db.master_secret_arn.clone(),
            service_secret_arn: o.data.service_secret.as_ref().unwrap().arn.clone(),
            subnet_group: "v-data-subnets".into(),
            waiting_since: 0,
            files: Some(vikunja_core::FilesOutputs {
                file_system_id: "fs-1".into(),
                file_system_arn: String::new(),
                access_point_id: "fsap-1".into(),
                access_point_arn: String::new(),
            }),
            snapshot_before_upgrade: None,
            files_pending: None,
            cache: None,
            cache_pending: None,
            changes: vec![],
        },
        &FrontendOutputs {
            site_bucket: String::new(),
            uploads_bucket: String::new(),
            distribution_id: dist.id.clone(),
            distribution_arn: dist.arn.clone(),
            domain_name: dist.domain_name.clone(),
            url: format!("https://{}", dist.domain_name),
            api_url: String::new(),
            origin_access_control_id: String::new(),
            spa_function_arn: String::new(),
            changes: vec![],
        },
        &resources_backend::task::Roles {
            task_execution: roles.execution.clone(),
            task: roles.task.clone(),
        },
        "/vikunja/v/backend",
        REGION,
    )
    .unwrap()
}

fn plan_of(settings: &Settings, observed: &Observed) -> Plan {
    compare(settings, ACCOUNT, REGION, observed)
}

fn item<'a>(plan: &'a Plan, kind: &str, name: &str) -> &'a Item {
    plan.items()
        .map(|(_, i)| i)
        .find(|i| i.kind == kind && i.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {}", render(plan)))
}

fn not_kept(plan: &Plan) -> Vec<String> {
    plan.items()
        .filter(|(_, i)| i.action != Action::Keep)
        .map(|(t, i)| format!("{t} {} {} {:?}", i.kind, i.name, i.differences))
        .collect()
}

fn difference<'a>(item: &'a Item, field: &str) -> &'a Difference {
    item.differences
        .iter()
        .find(|d| d.field == field)
        .unwrap_or_else(|| panic!("no difference {field} in {item:?}"))
}

#[test]
fn a_stack_never_provisioned_is_all_create_and_needs_its_bootstrap_stack() {
    let plan = plan_of(&settings(), &empty_account());
    assert!(!plan.bootstrap.deployed);
    assert_eq!(plan.bootstrap.stack, "v-bootstrap");
    let actions: Vec<Action> = plan.items().map(|(_, i)| i.action).collect();
    assert!(
        actions.iter().all(|a| *a == Action::Create),
        "{}",
        render(&plan)
    );
    assert_eq!(plan.summary.create, actions.len());
    assert_eq!(plan.summary.create, 49, "{}", render(&plan));
    assert!(plan.has_changes());
    let vpc = item(&plan, "vpc", "v-network-vpc");
    assert_eq!(vpc.detail.as_deref(), Some("10.42.0.0/16"));
    let subnet = item(&plan, "subnet", "v-network-isolated-b");
    assert_eq!(
        subnet.detail.as_deref(),
        Some("10.42.144.0/20 in eu-west-1b")
    );
    let text = render(&plan);
    assert!(
        text.contains("bootstrap stack v-bootstrap: not deployed"),
        "{text}"
    );
    assert!(
        text.ends_with("plan: 49 to create, 0 to change, 0 cannot change in place, 0 unchanged\n"),
        "{text}"
    );
}

/// A region with zones and CloudFront's prefix list, and nothing of the stack.
fn empty_account() -> Observed {
    Observed {
        zones: vec!["eu-west-1a".into(), "eu-west-1b".into()],
        cloudfront_prefix_list: Some("pl-4fa04526".into()),
        ..Observed::default()
    }
}

#[test]
fn a_region_without_two_zones_or_cloudfronts_prefix_list_stops_up() {
    let mut observed = empty_account();
    observed.zones.truncate(1);
    observed.cloudfront_prefix_list = None;
    let plan = plan_of(&settings(), &observed);
    let zones = item(&plan, "availability-zones", REGION);
    assert_eq!(difference(zones, "available zones").how, How::UpStops);
    let lb = item(&plan, "security-group", "v-network-lb");
    assert_eq!(lb.action, Action::CannotChangeInPlace);
    assert!(difference(lb, "ingress tcp/80")
        .fix
        .as_ref()
        .unwrap()
        .contains("no managed prefix list"));
    assert_eq!(
        plan.up_stops_at.as_deref(),
        Some("network availability-zones eu-west-1")
    );
}

#[test]
fn a_stack_as_up_leaves_it_is_all_keep() {
    let plan = plan_of(&settings(), &provisioned());
    assert_eq!(not_kept(&plan), Vec::<String>::new(), "{}", render(&plan));
    assert_eq!(plan.summary.keep, 50);
    assert!(plan.bootstrap.deployed);
    assert!(!plan.has_changes());
    assert_eq!(plan.up_stops_at, None);
    // What was compared is said, and only that.
    let database = item(&plan, "database", "v-data-mysql");
    assert!(database
        .compared
        .iter()
        .any(|c| c == "class (dbInstanceClass)"));
    let listener = item(&plan, "listener", "v-nlb:80");
    assert_eq!(
        listener.compared,
        ["protocol"],
        "a listener's protocol (and, with a domain, its certificate) is compared; where it forwards is not"
    );
    assert!(listener.notes[0].contains("CodeDeploy"));
}

#[test]
fn without_its_bootstrap_stack_a_provisioned_stack_still_has_changes() {
    let mut observed = provisioned();
    observed.bootstrap = None;
    let plan = plan_of(&settings(), &observed);
    assert!(!plan.bootstrap.deployed);
    assert!(plan.has_changes(), "up cannot run without it");
    assert!(render(&plan).contains("run `vikunja-aws bootstrap` before `up`"));
}

#[test]
fn autoscaling_settings_change_in_place() {
    let settings = with(json!({"minTasks": 2, "maxTasks": 6, "cpuTargetPercent": 45.5}));
    let plan = plan_of(&settings, &provisioned());
    let target = item(&plan, "scalable-target", "service/v/v-backend-api");
    assert_eq!(target.action, Action::Change);
    let min = difference(target, "minCapacity (minTasks)");
    assert_eq!(
        (min.current.as_str(), min.desired.as_str(), min.how),
        ("1", "2", How::InPlace)
    );
    let max = difference(target, "maxCapacity (maxTasks)");
    assert_eq!((max.current.as_str(), max.desired.as_str()), ("4", "6"));
    let policy = item(&plan, "scaling-policy", "v-backend-cpu");
    let value = difference(policy, "targetValue (cpuTargetPercent)");
    assert_eq!(
        (value.current.as_str(), value.desired.as_str()),
        ("60", "45.5")
    );
    assert_eq!(plan.summary.change, 2, "{}", render(&plan));
    assert_eq!(plan.summary.cannot_change_in_place, 0);
    let text = render(&plan);
    assert!(text.contains("  ~ change"), "{text}");
    assert!(text.contains("minCapacity (minTasks): 1 → 2\n"), "{text}");
}

#[test]
fn a_new_vpc_range_cannot_change_in_place_and_stops_up_at_the_network() {
    let settings = with(json!({"vpcCidr": "10.50.0.0/16"}));
    let plan = plan_of(&settings, &provisioned());
    let vpc = item(&plan, "vpc", "v-network-vpc");
    assert_eq!(vpc.action, Action::CannotChangeInPlace);
    let cidr = difference(vpc, "cidr (vpcCidr)");
    assert_eq!(
        (cidr.current.as_str(), cidr.desired.as_str()),
        ("10.42.0.0/16", "10.50.0.0/16")
    );
    assert_eq!(cidr.how, How::UpStops);
    assert!(cidr
        .fix
        .as_ref()
        .unwrap()
        .contains("Keep vpcCidr at 10.42.0.0/16"));
    let subnet = item(&plan, "subnet", "v-network-public-b");
    assert_eq!(difference(subnet, "cidr").desired, "10.50.16.0/20");
    assert_eq!(
        plan.up_stops_at.as_deref(),
        Some("network vpc v-network-vpc")
    );
    assert!(render(&plan).contains("up would stop at network vpc v-network-vpc"));
    // Nothing past the VPC pretends to follow the new range.
    assert_eq!(
        item(&plan, "security-group", "v-network-lb").action,
        Action::Keep
    );
    assert_eq!(
        item(&plan, "inventory", "/vikunja/v/network").action,
        Action::Keep
    );
}

#[test]
fn task_sizes_of_a_code_deploy_service_cannot_change_in_place() {
    let settings = with(json!({"taskCpu": "512", "taskMemory": "1024"}));
    let plan = plan_of(&settings, &provisioned());
    let task = item(&plan, "task-definition", "v-backend-api");
    assert_eq!(task.action, Action::CannotChangeInPlace);
    let cpu = difference(task, "cpu (taskCpu)");
    assert_eq!(
        (cpu.current.as_str(), cpu.desired.as_str(), cpu.how),
        ("256", "512", How::UpLeavesIt)
    );
    assert!(cpu.fix.as_ref().unwrap().contains("CODE_DEPLOY"));
    assert_eq!(difference(task, "memory (taskMemory)").desired, "1024");
    // The remedy is printed once for both fields.
    assert_eq!(
        render(&plan)
            .matches("ECS refuses a new task definition")
            .count(),
        1
    );
}

#[test]
fn a_new_image_setting_is_a_note_not_a_difference() {
    let settings = with(json!({"image": "vikunja/vikunja:0.24.7"}));
    let plan = plan_of(&settings, &provisioned());
    let task = item(&plan, "task-definition", "v-backend-api");
    assert_eq!(task.action, Action::Keep, "{task:?}");
    assert!(task.notes[0].contains("release backend"), "{task:?}");
}

#[test]
fn an_environment_the_service_no_longer_matches_is_reported_by_variable() {
    let mut observed = provisioned();
    observed.frontend.distribution.as_mut().unwrap().domain_name = "d222.cloudfront.net".into();
    let plan = plan_of(&settings(), &observed);
    let task = item(&plan, "task-definition", "v-backend-api");
    let url = difference(task, "environment VIKUNJA_SERVICE_PUBLICURL");
    assert_eq!(
        (url.current.as_str(), url.desired.as_str(), url.how),
        (
            "https://d111.cloudfront.net/",
            "https://d222.cloudfront.net/",
            How::UpLeavesIt
        )
    );
}

#[test]
fn database_settings_are_only_set_at_creation() {
    let settings = with(json!({"dbInstanceClass": "db.t4g.small", "dbDeletionProtection": false}));
    let plan = plan_of(&settings, &provisioned());
    let db = item(&plan, "database", "v-data-mysql");
    assert_eq!(db.action, Action::CannotChangeInPlace);
    let class = difference(db, "class (dbInstanceClass)");
    assert_eq!(
        (class.current.as_str(), class.desired.as_str(), class.how),
        ("db.t4g.micro", "db.t4g.small", How::UpLeavesIt)
    );
    assert!(class
        .fix
        .as_ref()
        .unwrap()
        .contains("--db-instance-class db.t4g.small"));
    let protection = difference(db, "deletionProtection (dbDeletionProtection)");
    assert!(protection
        .fix
        .as_ref()
        .unwrap()
        .contains("--no-deletion-protection"));
    assert_eq!(plan.up_stops_at, None, "up carries on past the database");

    let grow = plan_of(&with(json!({"dbAllocatedStorage": 50})), &provisioned());
    let fix = difference(
        item(&grow, "database", "v-data-mysql"),
        "allocatedStorage GiB (dbAllocatedStorage)",
    )
    .fix
    .clone();
    assert!(fix.unwrap().contains("--allocated-storage 50"));
    let mut bigger = provisioned();
    bigger.data.database.as_mut().unwrap().storage = 100;
    let shrink = plan_of(&Settings::for_stack(STACK), &bigger);
    let fix = difference(
        item(&shrink, "database", "v-data-mysql"),
        "allocatedStorage GiB (dbAllocatedStorage)",
    )
    .fix
    .clone();
    assert!(fix.unwrap().contains("cannot shrink"));
}

#[test]
fn what_up_refuses_stops_it() {
    let mut observed = provisioned();
    let db = observed.data.database.as_mut().unwrap();
    db.public = true;
    db.ours = false;
    observed.backend.service.as_mut().unwrap().controller = Some("ECS".into());
    observed
        .loadbalancer
        .target_groups
        .get_mut("green")
        .unwrap()
        .ours = false;
    let plan = plan_of(&settings(), &observed);
    let db = item(&plan, "database", "v-data-mysql");
    assert_eq!(difference(db, "publiclyAccessible").how, How::UpStops);
    assert_eq!(difference(db, "tag vikunja:stack").how, How::UpStops);
    let service = item(&plan, "service", "v-backend-api");
    let controller = difference(service, "deploymentController");
    assert_eq!(
        (controller.current.as_str(), controller.how),
        ("ECS", How::UpStops)
    );
    assert!(controller.fix.as_ref().unwrap().contains("delete-service"));
    assert_eq!(
        item(&plan, "target-group", "v-green").action,
        Action::CannotChangeInPlace
    );
    assert_eq!(
        plan.up_stops_at.as_deref(),
        Some("data database v-data-mysql")
    );
}

#[test]
fn a_target_group_port_cannot_change_in_place() {
    let mut observed = provisioned();
    observed
        .loadbalancer
        .target_groups
        .get_mut("blue")
        .unwrap()
        .port = Some(80);
    let plan = plan_of(&settings(), &observed);
    let group = item(&plan, "target-group", "v-blue");
    let port = difference(group, "port");
    assert_eq!(
        (port.current.as_str(), port.desired.as_str(), port.how),
        ("80", "3456", How::UpLeavesIt)
    );
}

#[test]
fn a_service_behind_another_target_group_or_subnets_cannot_change_in_place() {
    let mut observed = provisioned();
    let service = observed.backend.service.as_mut().unwrap();
    service.load_balancers[0].0 = arn("elasticloadbalancing", "targetgroup/other/1");
    service.subnets = vec!["subnet-old".into()];
    let plan = plan_of(&settings(), &observed);
    let service = item(&plan, "service", "v-backend-api");
    assert_eq!(service.action, Action::CannotChangeInPlace);
    assert!(difference(service, "loadBalancers")
        .current
        .contains("other (not this stack's blue or green)"));
    assert_eq!(
        difference(service, "subnets").desired,
        "subnet-pa, subnet-pb"
    );
}

#[test]
fn drift_up_converges_is_a_change() {
    let mut observed = provisioned();
    if let Seen::Found(group) = observed.network.security_groups.get_mut("app").unwrap() {
        group.ingress.clear();
    }
    if let Seen::Found(vpc) = &mut observed.network.vpc {
        vpc.dns_hostnames = false;
    }
    observed.backend.log_group.as_mut().unwrap().retention_days = None;
    let uploads = observed.frontend.buckets.get_mut("uploads").unwrap();
    uploads.public_access_block = Some([true, false, true, true]);
    uploads.eventbridge = false;
    observed
        .data
        .service_secret
        .as_mut()
        .unwrap()
        .scheduled_for_deletion = true;
    observed.delivery.alarms.get_mut("green").unwrap().threshold = Some(3.0);
    observed.frontend.function.as_mut().unwrap().live = false;
    let plan = plan_of(&settings(), &observed);
    for (kind, name, field, current, desired) in [
        (
            "security-group",
            "v-network-app",
            "ingress tcp/3456",
            "absent",
            "from sg-lb",
        ),
        (
            "vpc",
            "v-network-vpc",
            "enableDnsHostnames",
            "false",
            "true",
        ),
        (
            "log-group",
            "/vikunja/v/backend",
            "retentionInDays",
            "never expire",
            "30",
        ),
        (
            "bucket",
            "v-uploads-123456789012-eu-west-1",
            "publicAccessBlock",
            "off: IgnorePublicAcls",
            "all four on",
        ),
        (
            "bucket",
            "v-uploads-123456789012-eu-west-1",
            "eventBridge",
            "false",
            "true",
        ),
        (
            "secret",
            "v/backend/service-secret",
            "deletion",
            "scheduled for deletion",
            "active",
        ),
        ("alarm", "v-delivery-green-unhealthy", "threshold", "3", "0"),
        (
            "cloudfront-function",
            "v-frontend-spa-fallback",
            "stage",
            "DEVELOPMENT only",
            "LIVE",
        ),
    ] {
        let found = item(&plan, kind, name);
        assert_eq!(found.action, Action::Change, "{found:?}");
        let d = difference(found, field);
        assert_eq!(
            (d.current.as_str(), d.desired.as_str(), d.how),
            (current, desired, How::InPlace),
            "{kind} {name}"
        );
    }
    assert_eq!(plan.summary.cannot_change_in_place, 0, "{}", render(&plan));
}

#[test]
fn a_replaced_load_balancer_leaves_the_distribution_pointing_at_the_old_one() {
    let mut observed = provisioned();
    observed.loadbalancer.nlb = None;
    observed.loadbalancer.listeners.clear();
    let plan = plan_of(&settings(), &observed);
    assert_eq!(item(&plan, "load-balancer", "v-nlb").action, Action::Create);
    assert_eq!(item(&plan, "listener", "v-nlb:8080").action, Action::Create);
    let dist = item(&plan, "distribution", "vikunja-aws stack v");
    let api = difference(dist, "origin api domain");
    assert_eq!(
        (api.current.as_str(), api.desired.as_str(), api.how),
        (
            "v-nlb-1.elb.eu-west-1.amazonaws.com",
            "(the new load balancer)",
            How::UpLeavesIt
        )
    );
    assert!(api
        .fix
        .as_ref()
        .unwrap()
        .contains("update-distribution --id E1"));
    let group = item(&plan, "deployment-group", "v-delivery-api");
    assert_eq!(
        difference(group, "testListener").desired,
        "(the new listener)"
    );
    let record = item(&plan, "inventory", "/vikunja/v/loadbalancer");
    assert_eq!(record.action, Action::Change);
    assert!(record.differences.iter().any(|d| d.field == "outputs"));
}

#[test]
fn routes_and_associations_up_does_not_move_are_reported() {
    let mut observed = provisioned();
    observed
        .network
        .subnet_route_tables
        .insert("subnet-pb".into(), "rtb-other".into());
    observed.network.subnet_route_tables.remove("subnet-pa");
    if let Seen::Found(table) = observed.network.route_tables.get_mut("isolated").unwrap() {
        table.default_route = Some("igw-1".into());
    }
    let plan = plan_of(&settings(), &observed);
    let public = item(&plan, "route-table", "v-network-public");
    assert_eq!(
        difference(public, "association v-network-public-a").how,
        How::InPlace
    );
    assert_eq!(
        difference(public, "association v-network-public-b").how,
        How::UpLeavesIt
    );
    let isolated = item(&plan, "route-table", "v-network-isolated");
    let route = difference(isolated, "route 0.0.0.0/0");
    assert_eq!(
        (route.current.as_str(), route.desired.as_str(), route.how),
        ("igw-1", "none", How::UpLeavesIt)
    );
}

#[test]
fn several_vpcs_with_the_stack_tag_stop_up() {
    let mut observed = provisioned();
    let vpc = |id: &str| Vpc {
        id: id.into(),
        ..Vpc::default()
    };
    observed.network.vpc = Seen::Many(vec![vpc("vpc-1"), vpc("vpc-2")]);
    let plan = plan_of(&settings(), &observed);
    let vpc = item(&plan, "vpc", "v-network-vpc");
    assert_eq!(vpc.action, Action::CannotChangeInPlace);
    assert_eq!(difference(vpc, "matches").how, How::UpStops);
    assert_eq!(
        plan.up_stops_at.as_deref(),
        Some("network vpc v-network-vpc")
    );
}

#[test]
fn a_bucket_name_another_account_holds_stops_up() {
    let mut observed = provisioned();
    observed.frontend.buckets.insert(
        "site".into(),
        Bucket {
            foreign: true,
            ..Bucket::default()
        },
    );
    let plan = plan_of(&settings(), &observed);
    let bucket = item(&plan, "bucket", "v-site-123456789012-eu-west-1");
    assert_eq!(difference(bucket, "owner").how, How::UpStops);
}

#[test]
fn a_stale_inventory_is_rewritten() {
    let mut observed = provisioned();
    observed.inventory.get_mut("network").unwrap()["vpcId"] = json!("vpc-old");
    observed.inventory.remove("delivery");
    let plan = plan_of(&settings(), &observed);
    let network = item(&plan, "inventory", "/vikunja/v/network");
    let vpc = difference(network, "vpcId");
    assert_eq!(
        (vpc.current.as_str(), vpc.desired.as_str(), vpc.how),
        ("vpc-old", "vpc-1", How::InPlace)
    );
    assert_eq!(
        item(&plan, "inventory", "/vikunja/v/delivery").action,
        Action::Create
    );
}

#[test]
fn the_deployment_group_is_never_updated_by_up() {
    let settings = with(json!({"terminationWaitMinutes": 30}));
    let plan = plan_of(&settings, &provisioned());
    let group = item(&plan, "deployment-group", "v-delivery-api");
    let wait = difference(group, "terminationWaitMinutes (terminationWaitMinutes)");
    assert_eq!(
        (wait.current.as_str(), wait.desired.as_str(), wait.how),
        ("5", "30", How::UpLeavesIt)
    );
    assert!(wait
        .fix
        .as_ref()
        .unwrap()
        .contains("terminationWaitTimeInMinutes=30"));
}

#[test]
fn json_names_actions_and_hows_in_kebab_case() {
    let settings = with(json!({"vpcCidr": "10.50.0.0/16", "maxTasks": 5}));
    let value = serde_json::to_value(plan_of(&settings, &provisioned())).unwrap();
    assert_eq!(value["summary"]["cannotChangeInPlace"], 5);
    assert_eq!(value["summary"]["change"], 1);
    assert_eq!(value["upStopsAt"], "network vpc v-network-vpc");
    let network = &value["tiers"][0];
    assert_eq!(network["tier"], "network");
    assert_eq!(network["items"][0]["action"], "cannot-change-in-place");
    assert_eq!(network["items"][0]["differences"][0]["how"], "up-stops");
    assert_eq!(value["bootstrap"]["deployed"], true);
}

#[test]
fn the_probe_is_attached_to_the_vpc_and_its_group_only_reaches_the_test_port() {
    let mut account = provisioned();
    account.delivery.probe = Some(None);
    if let Some(Seen::Found(group)) = account.network.security_groups.get_mut("probe") {
        group.egress.push(Rule {
            protocol: "-1".into(),
            from: -1,
            to: -1,
            source: "0.0.0.0/0".into(),
        });
    }
    let plan = plan_of(&settings(), &account);
    let attachment = item(&plan, "probe-vpc-attachment", "v-probe");
    assert_eq!(attachment.action, Action::Create);
    let group = item(&plan, "security-group", "v-network-probe");
    assert_eq!(group.action, Action::Change);
    let egress = difference(group, "egress");
    assert!(egress.current.contains("0.0.0.0/0"), "{egress:?}");
    assert_eq!(egress.desired, "tcp 8080-8080 to 10.42.0.0/16");

    // A stack without its bootstrap stack has no probe to plan for.
    let mut account = provisioned();
    account.delivery.probe = None;
    let plan = plan_of(&settings(), &account);
    assert!(plan.items().all(|(_, i)| i.kind != "probe-vpc-attachment"));
}

#[test]
fn mail_shows_in_the_task_definition_and_what_runs_per_task_is_said() {
    let settings = with(json!({"mail": {
        "host": "email-smtp.eu-west-1.amazonaws.com",
        "fromAddress": "vikunja@example.com",
        "user": "AKIAEXAMPLE",
        "passwordSecretArn": arn("secretsmanager", "secret:v/mail/smtp-password-AbCdEf"),
    }}));
    let plan = plan_of(&settings, &provisioned());
    let text = render(&plan);
    // The live revision has no mailer: the plan names the keys it would add, the password
    // as a secret reference.
    assert!(text.contains("VIKUNJA_MAILER_HOST"), "{text}");
    assert!(text.contains("VIKUNJA_MAILER_PASSWORD"), "{text}");
    assert!(plan.has_changes());
    assert_eq!(plan.per_task.len(), 2);
    assert!(
        text.contains("per task: Vikunja runs its cron jobs in every task, so each reminder mail is sent once per running task (up to 4 copies)"),
        "{text}"
    );
    assert!(text.contains("per task: with up to 4 tasks, Vikunja's keyvalue store is per task"));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["perTask"].as_array().map(Vec::len), Some(2));

    let one = with(json!({"minTasks": 1, "maxTasks": 1}));
    let plan = plan_of(&one, &provisioned());
    assert!(plan.per_task.is_empty());
    assert!(!render(&plan).contains("per task:"));
    assert!(serde_json::to_value(&plan)
        .unwrap()
        .get("perTask")
        .is_none());
}

#[test]
fn the_ecs_engine_on_a_code_deploy_stack_is_a_move_in_place_and_its_codedeploy_objects_go() {
    let settings = with(json!({"engine": "ecs"}));
    let plan = plan_of(&settings, &provisioned());
    let service = item(&plan, "service", "v-backend-api");
    assert_eq!(service.action, Action::Change, "{}", render(&plan));
    let controller = difference(service, "deploymentController");
    assert_eq!(
        (controller.current.as_str(), controller.how),
        ("CODE_DEPLOY", How::InPlace)
    );
    assert_eq!(
        item(&plan, "codedeploy-application", "v").action,
        Action::Change,
        "{}",
        render(&plan)
    );
    assert!(plan.up_stops_at.is_none(), "{}", render(&plan));
}

#[test]
fn an_ecs_service_under_the_codedeploy_engine_stops_up_with_no_way_back_in_place() {
    let mut observed = provisioned();
    let service = observed.backend.service.as_mut().unwrap();
    service.controller = Some("ECS".into());
    service.strategy = Some("BLUE_GREEN".into());
    let plan = plan_of(&settings(), &observed);
    let controller = difference(
        item(&plan, "service", "v-backend-api"),
        "deploymentController",
    );
    assert_eq!(
        (
            controller.current.as_str(),
            controller.desired.as_str(),
            controller.how
        ),
        ("ECS", "CODE_DEPLOY", How::UpStops)
    );
    assert!(controller.fix.as_ref().unwrap().contains("not back"));
    // Under the ecs engine the same service is as up leaves it.
    let plan = plan_of(&with(json!({"engine": "ecs"})), &observed);
    let service = item(&plan, "service", "v-backend-api");
    assert!(
        service
            .differences
            .iter()
            .all(|d| d.field != "deploymentController"
                && d.field != "deploymentConfiguration.strategy"),
        "{service:?}"
    );
}
