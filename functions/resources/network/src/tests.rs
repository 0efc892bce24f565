//! The network's lifecycle against replayed EC2 answers: the branches the local stack cannot
//! produce (faults after a create took effect, "already exists", several matches, pages,
//! eventual consistency), and the diff's operations for drift.

use vikunja_core::Names;

use super::diff::Op;
use super::*;
use resources::plan::Operation;
use resources::replay::{ec2_error, ok, Answer, Replay};

resources::replayed_client!(ec2, aws_sdk_ec2);

const CIDR: &str = "10.42.0.0/16";

fn spec() -> Spec {
    Spec::new(Names::new("v"), CIDR, "us-east-1")
}

fn quick() -> apply::Patience {
    apply::Patience {
        attempts: 3,
        delay: std::time::Duration::from_millis(1),
    }
}

fn tags(name: &str) -> String {
    format!(
        "<tagSet><item><key>vikunja:stack</key><value>v</value></item><item><key>vikunja:tier</key><value>network</value></item><item><key>Name</key><value>{name}</value></item></tagSet>"
    )
}

fn response(action: &'static str, inner: &str) -> Answer {
    ok(action, format!("<{action}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>{inner}</{action}Response>"))
}

/// What the replayed account holds, as its Describe answers render it.
#[derive(Default, Clone)]
struct Account {
    vpcs: Vec<&'static str>,
    /// (id, name, cidr, zone)
    subnets: Vec<(&'static str, String, String, &'static str)>,
    /// (id, attached)
    gateways: Vec<(&'static str, bool)>,
    /// (id, name)
    groups: Vec<(&'static str, String)>,
}

impl Account {
    /// The answers of one `observe`.
    fn observed(&self) -> Vec<Answer> {
        let mut answers = vec![response(
            "DescribeVpcs",
            &format!(
                "<vpcSet>{}</vpcSet>",
                self.vpcs
                    .iter()
                    .map(|id| format!(
                        "<item><vpcId>{id}</vpcId><cidrBlock>{CIDR}</cidrBlock>{}</item>",
                        tags("v-network-vpc")
                    ))
                    .collect::<String>()
            ),
        )];
        for _ in &self.vpcs {
            answers.push(response(
                "DescribeVpcAttribute",
                "<vpcId>x</vpcId><enableDnsSupport><value>true</value></enableDnsSupport>",
            ));
            answers.push(response(
                "DescribeVpcAttribute",
                "<vpcId>x</vpcId><enableDnsHostnames><value>true</value></enableDnsHostnames>",
            ));
        }
        answers.push(response(
            "DescribeSubnets",
            &format!(
                "<subnetSet>{}</subnetSet>",
                self.subnets.iter().map(|(id, name, cidr, zone)| format!(
                    "<item><subnetId>{id}</subnetId><vpcId>vpc-1</vpcId><cidrBlock>{cidr}</cidrBlock><availabilityZone>{zone}</availabilityZone>{}</item>", tags(name)
                )).collect::<String>()
            ),
        ));
        answers.push(response(
            "DescribeInternetGateways",
            &format!(
                "<internetGatewaySet>{}</internetGatewaySet>",
                self.gateways.iter().map(|(id, attached)| format!(
                    "<item><internetGatewayId>{id}</internetGatewayId><attachmentSet>{}</attachmentSet>{}</item>",
                    if *attached { "<item><vpcId>vpc-1</vpcId><state>available</state></item>" } else { "" },
                    tags("v-network-igw")
                )).collect::<String>()
            ),
        ));
        answers.push(response(
            "DescribeSecurityGroups",
            &format!(
                "<securityGroupInfo>{}</securityGroupInfo>",
                self.groups.iter().map(|(id, name)| format!(
                    "<item><groupId>{id}</groupId><groupName>{name}</groupName><vpcId>vpc-1</vpcId><ipPermissions/><ipPermissionsEgress/>{}</item>", tags(name)
                )).collect::<String>()
            ),
        ));
        if !self.vpcs.is_empty() {
            answers.push(response("DescribeRouteTables", "<routeTableSet/>"));
        }
        answers
    }
}

fn region_answers() -> Vec<Answer> {
    vec![
        response("DescribeAvailabilityZones", "<availabilityZoneInfo><item><zoneName>us-east-1b</zoneName></item><item><zoneName>us-east-1a</zoneName></item><item><zoneName>us-east-1c</zoneName></item></availabilityZoneInfo>"),
        response("DescribeManagedPrefixLists", "<prefixListSet><item><prefixListId>pl-cf</prefixListId></item></prefixListSet>"),
    ]
}

fn done(action: &'static str) -> Answer {
    response(action, "<return>true</return>")
}

/// The answers of everything after the subnets on a fresh account, each create succeeding.
fn rest_of_a_fresh_network() -> Vec<Answer> {
    let mut answers = vec![
        response(
            "CreateInternetGateway",
            "<internetGateway><internetGatewayId>igw-1</internetGatewayId></internetGateway>",
        ),
        done("AttachInternetGateway"),
        response(
            "CreateRouteTable",
            "<routeTable><routeTableId>rtb-p</routeTableId></routeTable>",
        ),
        done("CreateRoute"),
        response("AssociateRouteTable", "<associationId>a1</associationId>"),
        response("AssociateRouteTable", "<associationId>a2</associationId>"),
        response(
            "CreateRouteTable",
            "<routeTable><routeTableId>rtb-i</routeTableId></routeTable>",
        ),
        response("AssociateRouteTable", "<associationId>a3</associationId>"),
        response("AssociateRouteTable", "<associationId>a4</associationId>"),
    ];
    for (group, rules) in [("lb", 2), ("app", 1), ("db", 1), ("files", 1), ("cache", 1)] {
        answers.push(response(
            "CreateSecurityGroup",
            &format!("<groupId>sg-{group}</groupId>"),
        ));
        answers.extend((0..rules).map(|_| done("AuthorizeSecurityGroupIngress")));
    }
    answers.extend([
        response("CreateSecurityGroup", "<groupId>sg-probe</groupId>"),
        done("AuthorizeSecurityGroupEgress"),
        done("RevokeSecurityGroupEgress"),
    ]);
    answers
}

fn subnet_answer(id: &str) -> Answer {
    response(
        "CreateSubnet",
        &format!("<subnet><subnetId>{id}</subnetId></subnet>"),
    )
}

fn count(replay: &Replay, action: &str) -> usize {
    replay.actions().iter().filter(|a| *a == action).count()
}

#[tokio::test]
async fn a_fresh_account_gets_every_resource_once() {
    let mut script = region_answers();
    script.extend(Account::default().observed());
    script.push(response("CreateVpc", "<vpc><vpcId>vpc-1</vpcId></vpc>"));
    script.extend([done("ModifyVpcAttribute"), done("ModifyVpcAttribute")]);
    script.extend(["subnet-pa", "subnet-pb", "subnet-ia", "subnet-ib"].map(subnet_answer));
    script.extend(rest_of_a_fresh_network());
    let replay = Replay::new(script);
    let applied = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap();
    replay.assert_done();
    let out = applied.outputs;
    assert_eq!(out.vpc_id, "vpc-1");
    assert_eq!(
        out.availability_zones,
        ["us-east-1a", "us-east-1b"],
        "the first two zones by name"
    );
    assert_eq!(out.public_subnet_ids, ["subnet-pa", "subnet-pb"]);
    assert_eq!(out.isolated_subnet_ids, ["subnet-ia", "subnet-ib"]);
    assert_eq!(out.probe_security_group_id.as_deref(), Some("sg-probe"));
    assert_eq!(out.cache_security_group_id.as_deref(), Some("sg-cache"));
    let subnets = replay.bodies("CreateSubnet");
    assert!(
        subnets[0].contains("CidrBlock=10.42.0.0%2F20")
            && subnets[0].contains("AvailabilityZone=us-east-1a"),
        "{}",
        subnets[0]
    );
    assert!(
        subnets[2].contains("CidrBlock=10.42.128.0%2F20"),
        "isolated subnets start halfway: {}",
        subnets[2]
    );
    let lb_rules = replay.bodies("AuthorizeSecurityGroupIngress");
    assert!(
        lb_rules[0].contains("pl-cf"),
        "port 80 admits CloudFront's prefix list only: {}",
        lb_rules[0]
    );
    assert!(
        lb_rules[2].contains("sg-lb") && lb_rules[2].contains("GroupId=sg-app"),
        "app admits lb: {}",
        lb_rules[2]
    );
    assert!(
        lb_rules[4].contains("sg-app")
            && lb_rules[4].contains("GroupId=sg-files")
            && lb_rules[4].contains("2049"),
        "files admits NFS from app: {}",
        lb_rules[4]
    );
    assert!(
        lb_rules[5].contains("sg-app")
            && lb_rules[5].contains("GroupId=sg-cache")
            && lb_rules[5].contains("6379"),
        "cache admits Valkey from app: {}",
        lb_rules[5]
    );
    // 26 before the files group, its create and its one rule, the cache group's the same.
    assert_eq!(applied.changes.len(), 30, "{:#?}", applied.changes);
    assert_eq!(
        applied.changes[0],
        "create VPC v-network-vpc (10.42.0.0/16)"
    );
    assert_eq!(
        applied.changes[29],
        "revoke egress -1 -1--1 to 0.0.0.0/0 of v-network-probe"
    );
}

#[tokio::test]
async fn a_vpc_create_answered_500_after_it_took_effect_is_adopted_not_repeated() {
    let mut script = region_answers();
    script.extend(Account::default().observed());
    // AWS made the VPC, then the answer was lost: a 500. Looking again finds it.
    script.push(ec2_error("CreateVpc", 500, "InternalError"));
    script.extend(
        Account {
            vpcs: vec!["vpc-1"],
            ..Account::default()
        }
        .observed(),
    );
    script.extend([done("ModifyVpcAttribute"), done("ModifyVpcAttribute")]);
    script.extend(["subnet-pa", "subnet-pb", "subnet-ia", "subnet-ib"].map(subnet_answer));
    script.extend(rest_of_a_fresh_network());
    let replay = Replay::new(script);
    let applied = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap();
    replay.assert_done();
    assert_eq!(
        count(&replay, "CreateVpc"),
        1,
        "the VPC was made once: {:?}",
        replay.actions()
    );
    assert_eq!(applied.outputs.vpc_id, "vpc-1");
}

#[tokio::test]
async fn a_create_that_failed_before_taking_effect_is_sent_again() {
    let mut script = region_answers();
    script.extend(Account::default().observed());
    script.push(ec2_error("CreateVpc", 503, "ServiceUnavailable"));
    script.extend(Account::default().observed());
    script.push(response("CreateVpc", "<vpc><vpcId>vpc-2</vpcId></vpc>"));
    script.extend([done("ModifyVpcAttribute"), done("ModifyVpcAttribute")]);
    script.extend(["subnet-pa", "subnet-pb", "subnet-ia", "subnet-ib"].map(subnet_answer));
    script.extend(rest_of_a_fresh_network());
    let replay = Replay::new(script);
    let applied = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap();
    replay.assert_done();
    assert_eq!(applied.outputs.vpc_id, "vpc-2");
}

#[tokio::test]
async fn already_exists_after_an_unseen_success_is_adoption() {
    // A subnet and a security group whose first attempt succeeded unseen: the retry hears
    // "already exists", and what answers to the stack's tags and name is adopted.
    let with_vpc = Account {
        vpcs: vec!["vpc-1"],
        ..Account::default()
    };
    let mut script = region_answers();
    script.extend(with_vpc.observed());
    script.push(ec2_error("CreateSubnet", 400, "InvalidSubnet.Conflict"));
    let mut has_subnet = with_vpc.clone();
    has_subnet.subnets.push((
        "subnet-pa",
        "v-network-public-a".into(),
        "10.42.0.0/20".into(),
        "us-east-1a",
    ));
    script.extend(has_subnet.observed());
    script.extend(["subnet-pb", "subnet-ia", "subnet-ib"].map(subnet_answer));
    let mut rest = rest_of_a_fresh_network();
    let lb = rest
        .iter()
        .position(|a| a.action == "CreateSecurityGroup")
        .unwrap();
    rest[lb] = ec2_error("CreateSecurityGroup", 400, "InvalidGroup.Duplicate");
    let mut has_group = has_subnet.clone();
    has_group.groups.push(("sg-lb", "v-network-lb".into()));
    let observed = has_group.observed();
    rest.splice(lb + 1..lb + 1, observed);
    script.extend(rest);
    let replay = Replay::new(script);
    let applied = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap();
    replay.assert_done();
    assert_eq!(applied.outputs.public_subnet_ids[0], "subnet-pa");
    assert_eq!(applied.outputs.lb_security_group_id, "sg-lb");
}

#[tokio::test]
async fn a_name_taken_by_a_stranger_is_refused_not_adopted() {
    let with_vpc = Account {
        vpcs: vec!["vpc-1"],
        ..Account::default()
    };
    let mut script = region_answers();
    script.extend(with_vpc.observed());
    script.push(ec2_error("CreateSubnet", 400, "InvalidSubnet.Conflict"));
    // Looking again finds nothing of the stack's: the range is someone else's subnet.
    script.extend(with_vpc.observed());
    let replay = Replay::new(script);
    let error = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap_err();
    replay.assert_done();
    assert!(error.is(vikunja_core::ErrorClass::AlreadyExists), "{error}");
    assert!(
        error
            .to_string()
            .contains("create subnet v-network-public-a"),
        "{error}"
    );
}

#[tokio::test]
async fn two_vpcs_of_the_stack_stop_up_before_anything_is_made() {
    let mut script = region_answers();
    script.extend(
        Account {
            vpcs: vec!["vpc-1", "vpc-2"],
            ..Account::default()
        }
        .observed(),
    );
    let replay = Replay::new(script);
    let error = apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap_err();
    replay.assert_done();
    let message = error.to_string();
    assert!(
        message.contains("vpc-1, vpc-2"),
        "the error names both: {message}"
    );
    assert!(
        replay.actions().iter().all(|a| a.starts_with("Describe")),
        "{:?}",
        replay.actions()
    );
}

#[tokio::test]
async fn a_vpc_on_the_second_page_is_found() {
    let mut script = Vec::new();
    script.push(response(
        "DescribeVpcs",
        "<vpcSet/><nextToken>page-2</nextToken>",
    ));
    let mut observed = Account {
        vpcs: vec!["vpc-1"],
        ..Account::default()
    }
    .observed();
    script.push(observed.remove(0));
    script.extend(observed);
    let replay = Replay::new(script);
    let found = observe(&ec2(&replay), &Names::new("v")).await.unwrap();
    assert_eq!(found.vpcs.len(), 1);
    assert!(replay.bodies("DescribeVpcs")[1].contains("NextToken=page-2"));
    let region = Region {
        zones: vec!["a".into(), "b".into()],
        cloudfront_prefix_list: Some("pl".into()),
    };
    let plan = diff(&spec(), &region, &Network::view(&found, &Names::new("v")));
    assert!(
        !plan.ops.iter().any(|op| matches!(op, Op::CreateVpc { .. })),
        "{:?}",
        plan.ops
    );
}

#[tokio::test]
async fn a_new_vpc_not_yet_visible_is_asked_again() {
    let mut script = region_answers();
    script.extend(Account::default().observed());
    script.push(response("CreateVpc", "<vpc><vpcId>vpc-1</vpcId></vpc>"));
    // Found (it was just made), then not found for a moment, then found.
    script.push(ec2_error(
        "ModifyVpcAttribute",
        400,
        "InvalidVpcID.NotFound",
    ));
    script.extend([done("ModifyVpcAttribute"), done("ModifyVpcAttribute")]);
    script.extend(["subnet-pa", "subnet-pb", "subnet-ia", "subnet-ib"].map(subnet_answer));
    script.extend(rest_of_a_fresh_network());
    let replay = Replay::new(script);
    apply::ensure(&ec2(&replay), &spec(), quick())
        .await
        .unwrap();
    replay.assert_done();
    assert_eq!(count(&replay, "ModifyVpcAttribute"), 3);
}

#[tokio::test]
async fn throttling_on_a_read_is_retried_by_the_sdk() {
    let mut script = vec![ec2_error(
        "DescribeAvailabilityZones",
        400,
        "RequestLimitExceeded",
    )];
    script.extend(region_answers());
    let replay = Replay::new(script);
    let region = zones_and_prefix_list(&ec2(&replay)).await.unwrap();
    replay.assert_done();
    assert_eq!(region.zones.len(), 3);
}

// -- the diff ---------------------------------------------------------------------------------

fn region() -> Region {
    Region {
        zones: vec!["us-east-1a".into(), "us-east-1b".into()],
        cloudfront_prefix_list: Some("pl-cf".into()),
    }
}

/// A network exactly as `up` leaves it.
fn converged() -> Network {
    let names = Names::new("v");
    let mut found = Found::default();
    found.vpcs.push(Vpc {
        id: "vpc-1".into(),
        cidr: CIDR.into(),
        dns_support: true,
        dns_hostnames: true,
    });
    let spec = spec();
    for (i, s) in spec.subnets().unwrap().into_iter().enumerate() {
        let id = format!("subnet-{i}");
        let table = if s.role == "public" { "rtb-p" } else { "rtb-i" };
        found.subnet_route_tables.insert(id.clone(), table.into());
        found.subnets.push(Subnet {
            id,
            cidr: s.cidr,
            zone: region().zones[s.index].clone(),
            name: s.name,
            vpc_id: "vpc-1".into(),
        });
    }
    found.gateways.push(Gateway {
        id: "igw-1".into(),
        attached: false,
        attached_to: vec!["vpc-1".into()],
    });
    for (role, id, route) in [
        ("public", "rtb-p", Some("igw-1")),
        ("isolated", "rtb-i", None),
    ] {
        found.route_tables.push(RouteTable {
            id: id.into(),
            default_route: route.map(str::to_string),
            name: names.of(vikunja_core::tags::Tier::Network, role),
            vpc_id: "vpc-1".into(),
            associations: vec![],
        });
    }
    for role in GROUP_ROLES {
        let (ingress, egress) = match role {
            "lb" => (
                vec![Rule::tcp(80, "pl-cf"), Rule::tcp(8080, CIDR)],
                vec![diff::allow_all()],
            ),
            "app" => (vec![Rule::tcp(3456, "sg-lb")], vec![diff::allow_all()]),
            "db" => (vec![Rule::tcp(3306, "sg-app")], vec![diff::allow_all()]),
            "files" => (vec![Rule::tcp(2049, "sg-app")], vec![diff::allow_all()]),
            "cache" => (vec![Rule::tcp(6379, "sg-app")], vec![diff::allow_all()]),
            _ => (vec![], vec![Rule::tcp(8080, CIDR)]),
        };
        found.groups.push(SecurityGroup {
            id: format!("sg-{role}"),
            ingress,
            egress,
            name: names.security_group(role),
            vpc_id: "vpc-1".into(),
            ingress_permissions: vec![],
        });
    }
    Network::view(&found, &names)
}

#[test]
fn a_converged_network_plans_nothing() {
    let plan = diff(&spec(), &region(), &converged());
    assert!(plan.ops.is_empty(), "{:#?}", plan.ops);
    assert!(plan.stop().is_none());
    assert!(
        plan.items
            .iter()
            .all(|i| i.action == resources::Action::Keep),
        "{:#?}",
        plan.items
    );
}

#[test]
fn drift_is_planned_as_the_operations_that_repair_it() {
    let mut network = converged();
    if let Some(Seen::Found(probe)) = network.security_groups.get_mut("probe") {
        probe.egress.push(diff::allow_all());
    }
    if let Some(Seen::Found(app)) = network.security_groups.get_mut("app") {
        app.ingress.clear();
    }
    if let Seen::Found(vpc) = &mut network.vpc {
        vpc.dns_hostnames = false;
    }
    let plan = diff(&spec(), &region(), &network);
    let names = Names::new("v");
    let described: Vec<String> = plan.ops.iter().map(|op| op.describe(&names)).collect();
    assert_eq!(
        described,
        [
            "enable DNS hostnames on v-network-vpc",
            "allow tcp/3456 into v-network-app from v-network-lb",
            "revoke egress -1 -1--1 to 0.0.0.0/0 of v-network-probe",
        ]
    );
    // Each item names exactly the operations it contributed, in the same order.
    let listed: Vec<String> = plan.items.iter().flat_map(|i| i.actions.clone()).collect();
    assert_eq!(listed, described);
}

#[test]
fn a_changed_range_stops_up_with_the_remedy() {
    let plan = diff(
        &Spec::new(Names::new("v"), "10.43.0.0/16", "us-east-1"),
        &region(),
        &converged(),
    );
    let stop = plan.stop().expect("a VPC's range cannot change");
    assert!(stop.contains("vpc v-network-vpc cannot change in place: cidr (vpcCidr) is 10.42.0.0/16, wanted 10.43.0.0/16"), "{stop}");
}

#[test]
fn a_region_without_cloudfronts_prefix_list_stops_up() {
    let region = Region {
        cloudfront_prefix_list: None,
        ..region()
    };
    let plan = diff(&spec(), &region, &Network::default());
    assert!(
        plan.stop().unwrap().contains("prefix list"),
        "{:?}",
        plan.stop()
    );
}

// -- teardown's deletes ---------------------------------------------------------------------

#[tokio::test]
async fn a_delete_of_what_is_already_gone_succeeds() {
    let replay = Replay::new(vec![
        ec2_error("DeleteSubnet", 400, "InvalidSubnetID.NotFound"),
        ec2_error("DeleteVpc", 400, "InvalidVpcID.NotFound"),
    ]);
    let client = ec2(&replay);
    retire::delete_subnet(&client, "subnet-1", "v-network-public-a")
        .await
        .unwrap();
    retire::delete_vpc(&client, "vpc-1").await.unwrap();
    replay.assert_done();
}

#[tokio::test]
async fn a_group_still_referenced_is_in_use_so_teardown_waits_and_retries() {
    let replay = Replay::new(vec![ec2_error(
        "DeleteSecurityGroup",
        400,
        "DependencyViolation",
    )]);
    let group = SecurityGroup {
        id: "sg-app".into(),
        name: "v-network-app".into(),
        ..SecurityGroup::default()
    };
    let error = retire::delete_security_group(&ec2(&replay), &group)
        .await
        .unwrap_err();
    assert!(error.is(vikunja_core::ErrorClass::InUse), "{error}");
    assert!(error.to_string().contains("v-network-app"), "{error}");
}

#[tokio::test]
async fn a_route_table_is_released_from_our_subnets_only_then_deleted() {
    let replay = Replay::new(vec![
        response("DisassociateRouteTable", ""),
        response("DeleteRouteTable", "<return>true</return>"),
    ]);
    let table = RouteTable {
        id: "rtb-p".into(),
        name: "v-network-public".into(),
        associations: vec![
            ("rtbassoc-ours".into(), "subnet-pa".into()),
            ("rtbassoc-theirs".into(), "subnet-x".into()),
        ],
        ..RouteTable::default()
    };
    retire::delete_route_table(&ec2(&replay), &table, |s| s == "subnet-pa")
        .await
        .unwrap();
    replay.assert_done();
    let released = replay.bodies("DisassociateRouteTable");
    assert!(released[0].contains("rtbassoc-ours"), "{released:?}");
}
