//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together; and the findings against nothing → what `down` deletes.
//! Pure: unit-tested with made-up findings (`bootstrap/cli/src/plan/tests.rs` too).

use std::collections::BTreeMap;

use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::settings::Engine;
use vikunja_core::teardown::{Failure, Kept, PlannedTier, Resource};
use vikunja_core::{Names, Settings};

use crate::bluegreen::EcsBlueGreen;
use crate::observe::{Found, Remains};
use crate::task::{differences, Pairs, TaskInputs};
use resources::plan::{create, Check, How, Item, Operation};

pub const LOG_RETENTION_DAYS: i32 = 30;
pub const SCALE_OUT_COOLDOWN: i32 = 60;
pub const SCALE_IN_COOLDOWN: i32 = 300;
pub const CPU_METRIC: &str = "ECSServiceAverageCPUUtilization";
/// Vikunja migrates the database on start; give it time before health checks count.
pub const HEALTH_CHECK_GRACE_SECONDS: i32 = 120;

/// What `up` wants of the tier. What the caller cannot know yet (`plan` before the data or
/// frontend tier exists) is `None` and not compared.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub settings: Settings,
    pub task: Option<TaskInputs>,
    /// The public subnets the tasks run in, sorted.
    pub subnets: Option<Vec<String>>,
    pub app_group: Option<String>,
    /// The blue and green target groups' ARNs, as far as they exist.
    pub target_groups: Vec<String>,
    /// With engine `ecs`: what ECS's own blue/green needs, as far as it is known.
    pub blue_green: Option<EcsBlueGreen>,
}

impl Spec {
    /// The service's deployment controller under the settings' engine.
    fn controller(&self) -> &'static str {
        self.settings.engine.controller()
    }

    /// How the service is deployed, as `plan` says it.
    fn deployed_by(&self) -> &'static str {
        match self.settings.engine {
            Engine::Codedeploy => "CODE_DEPLOY controller",
            Engine::Ecs => "ECS controller, BLUE_GREEN strategy",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateRepository,
    CreateLogGroup,
    SetLogRetention,
    CreateCluster,
    RegisterTaskDefinition,
    /// On the revision just registered, or the family's latest when it matches.
    CreateService,
    /// A `CODE_DEPLOY` service moved in place to Amazon ECS's own blue/green (AWS's
    /// migration: UpdateService with the `ECS` controller, the same target groups and
    /// listeners, the live group staying primary).
    MoveToEcsEngine,
    RegisterScalableTarget,
    PutScalingPolicy,
    DeregisterScalableTarget,
    /// Scaled to 0, then deleted with its task sets.
    DeleteService {
        task_sets: Vec<String>,
        external: bool,
        draining: bool,
    },
    DeleteCluster,
    /// Active ones are deregistered first; ECS keeps deregistered revisions until deleted.
    DeleteTaskDefinitions {
        active: Vec<String>,
        inactive: Vec<String>,
    },
    /// With its images.
    DeleteRepository {
        images: usize,
    },
    DeleteLogGroup,
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        let names = &spec.names;
        let settings = &spec.settings;
        match self {
            Op::CreateRepository => format!(
                "create repository {} (ECR, tags immutable, scan on push)",
                names.repository()
            ),
            Op::CreateLogGroup => format!(
                "create log group {} ({LOG_RETENTION_DAYS} days)",
                names.log_group()
            ),
            Op::SetLogRetention => format!(
                "set the retention of {} to {LOG_RETENTION_DAYS} days",
                names.log_group()
            ),
            Op::CreateCluster => format!(
                "create cluster {} (Fargate, Container Insights)",
                names.cluster()
            ),
            Op::RegisterTaskDefinition => format!(
                "register task definition {} (image {}, cpu {}, memory {})",
                names.task_family(),
                settings.image,
                settings.task_cpu,
                settings.task_memory
            ),
            Op::CreateService => format!(
                "create service {} (Fargate, {}, {} task(s) behind {})",
                names.service(),
                spec.deployed_by(),
                settings.min_tasks,
                names.target_group("blue")
            ),
            Op::MoveToEcsEngine => format!(
                "move service {} from CodeDeploy to Amazon ECS blue/green in place (controller ECS, BLUE_GREEN, the smoke-test hook; the live target group stays primary)",
                names.service()
            ),
            Op::RegisterScalableTarget => format!(
                "register scalable target {} ({}–{} tasks)",
                names.scalable_target(),
                settings.min_tasks,
                settings.max_tasks
            ),
            Op::PutScalingPolicy => format!(
                "put scaling policy {} (target tracking, average CPU {}%)",
                names.scaling_policy(),
                settings.cpu_target_percent
            ),
            Op::DeregisterScalableTarget => {
                format!("deregister scalable target {}", names.scalable_target())
            }
            Op::DeleteService { .. } => format!("delete service {}", names.service()),
            Op::DeleteCluster => format!("delete cluster {}", names.cluster()),
            Op::DeleteTaskDefinitions { active, inactive } => format!(
                "delete the {} revisions of task definition {}",
                active.len() + inactive.len(),
                names.task_family()
            ),
            Op::DeleteRepository { images } => format!(
                "delete repository {} and its {images} images",
                names.repository()
            ),
            Op::DeleteLogGroup => format!("delete log group {}", names.log_group()),
        }
    }
}

pub type Plan = resources::plan::Plan<Op>;

/// What a task definition's fix says: a `CODE_DEPLOY` service takes a new one only through a
/// CodeDeploy deployment, and releases copy everything but the image from the live one.
fn task_definition_fix(what: &str) -> String {
    format!(
        "the service is deployed by CodeDeploy (CODE_DEPLOY): ECS refuses a new task definition through UpdateService, \
         up never registers one for a running service, and `vikunja-aws release backend` copies the live revision's {what}. \
         Register a revision with the new value (aws ecs register-task-definition) and deploy it with CodeDeploy \
         (aws deploy create-deployment, an ECS AppSpec naming it)"
    )
}

fn owner_fix(kind: &str, name: &str) -> String {
    format!(
        "{kind} {name} exists but does not carry the stack's tag: up never adopts what it cannot tell is the stack's; delete or rename it, or tag it if it is"
    )
}

pub fn diff(spec: &Spec, found: &Found) -> Plan {
    let mut plan = Plan::default();
    repository(spec, found, &mut plan);
    log_group(spec, found, &mut plan);
    cluster(spec, found, &mut plan);
    task_definition(spec, found, &mut plan);
    service(spec, found, &mut plan);
    scaling(spec, found, &mut plan);
    plan
}

fn repository(spec: &Spec, found: &Found, plan: &mut Plan) {
    let name = spec.names.repository();
    match &found.repository {
        None => plan.push(
            create(
                "repository",
                &name,
                Some("ECR, tags immutable, scan on push".into()),
            ),
            vec![Op::CreateRepository],
            spec,
        ),
        Some(repository) => {
            let mut check = Check::existing("repository", &name, &repository.uri);
            check.owner(
                repository.ours,
                spec.names.stack(),
                owner_fix("repository", &name),
            );
            plan.push(check.done(), vec![], spec);
        }
    }
}

fn log_group(spec: &Spec, found: &Found, plan: &mut Plan) {
    let name = spec.names.log_group();
    match &found.log_group {
        None => plan.push(
            create(
                "log-group",
                &name,
                Some(format!("{LOG_RETENTION_DAYS} days")),
            ),
            vec![Op::CreateLogGroup],
            spec,
        ),
        Some(group) => {
            let mut check = Check::existing("log-group", &name, "");
            check.owner(
                group.ours,
                spec.names.stack(),
                owner_fix("log group", &name),
            );
            let retention = group.retention_days;
            check.compare(
                "retentionInDays",
                retention.map_or_else(|| "never expire".into(), |r| r.to_string()),
                LOG_RETENTION_DAYS,
                How::InPlace,
                None,
            );
            let ops = if retention == Some(LOG_RETENTION_DAYS) {
                vec![]
            } else {
                vec![Op::SetLogRetention]
            };
            plan.push(check.done(), ops, spec);
        }
    }
}

fn cluster(spec: &Spec, found: &Found, plan: &mut Plan) {
    let name = spec.names.cluster();
    match &found.cluster {
        Some(cluster) if cluster.active => {
            // A cluster only hosts: an active one by the stack's name is used, tagged or not.
            let mut check = Check::existing("cluster", &name, "");
            if !cluster.ours {
                check.note("not tagged with the stack: up runs the service in it, down leaves it");
            }
            plan.push(check.done(), vec![], spec);
        }
        _ => plan.push(
            create("cluster", &name, Some("Fargate, Container Insights".into())),
            vec![Op::CreateCluster],
            spec,
        ),
    }
}

fn pairs(list: &Pairs) -> BTreeMap<&str, &str> {
    list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Name → value lists (environment, secrets), key by key: `environment KEY`, `secret KEY`.
fn compare_pairs(check: &mut Check, field: &str, have: &Pairs, want: &Pairs, fix: &str) {
    check.compared(field);
    let (have, want) = (pairs(have), pairs(want));
    let keys: std::collections::BTreeSet<_> = have.keys().chain(want.keys()).collect();
    for key in keys {
        let h = have.get(key).copied().unwrap_or("unset");
        let w = want.get(key).copied().unwrap_or("unset");
        if h != w {
            let label = format!("{} {key}", field.trim_end_matches('s'));
            check.differ(label, h, w, How::UpLeavesIt, Some(fix.to_string()));
        }
    }
}

/// Whether the stack's service stands (and serves): then CodeDeploy owns its task definition.
fn live_service(found: &Found) -> bool {
    found.service.as_ref().is_some_and(|s| s.active())
}

fn task_definition(spec: &Spec, found: &Found, plan: &mut Plan) {
    let family = spec.names.task_family();
    let settings = &spec.settings;
    match (live_service(found), &found.task_definition) {
        (true, Some(live)) => {
            let mut check = Check::existing("task-definition", &family, &live.arn);
            let sizes = task_definition_fix("cpu and memory");
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
            check.compare(
                "cpu (taskCpu)",
                show(&live.cpu),
                &settings.task_cpu,
                How::UpLeavesIt,
                Some(sizes.clone()),
            );
            check.compare(
                "memory (taskMemory)",
                show(&live.memory),
                &settings.task_memory,
                How::UpLeavesIt,
                Some(sizes),
            );
            if let Some(inputs) = &spec.task {
                let fix = task_definition_fix("environment, secrets and roles");
                compare_pairs(
                    &mut check,
                    "environment",
                    &live.environment,
                    &inputs.environment,
                    &fix,
                );
                compare_pairs(&mut check, "secrets", &live.secrets, &inputs.secrets, &fix);
                check.compare(
                    "executionRoleArn",
                    show(&live.execution_role),
                    &inputs.execution_role,
                    How::UpLeavesIt,
                    Some(fix.clone()),
                );
                check.compare(
                    "taskRoleArn",
                    show(&live.task_role),
                    &inputs.task_role,
                    How::UpLeavesIt,
                    Some(fix.clone()),
                );
                let files = |f: &Option<(String, String)>| {
                    f.as_ref().map_or_else(
                        || "ephemeral task storage".to_string(),
                        |(fs, ap)| format!("{fs} through {ap}"),
                    )
                };
                check.compare(
                    "files (EFS)",
                    files(&live.files),
                    files(&inputs.files),
                    How::UpLeavesIt,
                    Some(fix),
                );
            }
            let image = show(&live.image);
            if image != settings.image {
                check.note(format!(
                    "runs {image}; the image setting ({}) names only the first revision — releases change the image (`vikunja-aws release backend`)",
                    settings.image
                ));
            }
            plan.push(check.done(), vec![], spec);
        }
        (true, None) => {
            let mut check = Check::existing("task-definition", &family, "");
            check.note("the service's task definition could not be read");
            plan.push(check.done(), vec![], spec);
        }
        (false, latest) => {
            // No service yet: the family's latest revision is reused when it matches
            // everything, and a new one registered otherwise.
            let differing = latest
                .as_ref()
                .zip(spec.task.as_ref())
                .map(|(latest, inputs)| differences(latest, inputs));
            match (latest, differing) {
                (Some(latest), Some(fields)) if fields.is_empty() => {
                    let mut check = Check::existing("task-definition", &family, &latest.arn);
                    for field in [
                        "image",
                        "environment",
                        "secrets",
                        "cpu",
                        "memory",
                        "executionRoleArn",
                        "taskRoleArn",
                        "files",
                    ] {
                        check.compared(field);
                    }
                    plan.push(check.done(), vec![], spec);
                }
                (_, differing) => {
                    let mut detail = format!(
                        "image {}, cpu {}, memory {}",
                        settings.image, settings.task_cpu, settings.task_memory
                    );
                    if let Some(fields) = differing.filter(|f| !f.is_empty()) {
                        detail.push_str(&format!(
                            "; a new revision: the latest differs in {}",
                            fields.join(", ")
                        ));
                    }
                    plan.push(
                        create("task-definition", &family, Some(detail)),
                        vec![Op::RegisterTaskDefinition],
                        spec,
                    );
                }
            }
        }
    }
}

fn service(spec: &Spec, found: &Found, plan: &mut Plan) {
    let names = &spec.names;
    let (cluster, name) = (names.cluster(), names.service());
    let Some(service) = found.service.as_ref() else {
        let detail = format!(
            "Fargate, {}, {} task(s) behind blue",
            spec.deployed_by(),
            spec.settings.min_tasks
        );
        plan.push(
            create("service", &name, Some(detail)),
            vec![Op::CreateService],
            spec,
        );
        return;
    };
    if !service.active() {
        let mut item = create(
            "service",
            &name,
            Some(format!("Fargate, {}", spec.deployed_by())),
        );
        item.notes.push(format!(
            "{} is {} (being deleted): up waits until it is gone, then creates it",
            name, service.status
        ));
        plan.push(item, vec![Op::CreateService], spec);
        return;
    }
    let mut check = Check::existing("service", &name, &service.arn);
    check.owner(
        service.ours,
        names.stack(),
        owner_fix(&format!("service (in cluster {cluster})"), &name),
    );
    let controller = service.controller.as_deref().unwrap_or("ECS");
    // AWS moves a CODE_DEPLOY service to its own blue/green in place (its migration guide);
    // the other way has no such path.
    let moves_to_ecs = spec.settings.engine == Engine::Ecs && controller == "CODE_DEPLOY";
    let mut ops = vec![];
    if moves_to_ecs {
        check.differ(
            "deploymentController",
            controller,
            "ECS (BLUE_GREEN): up moves it in place once no CodeDeploy deployment is running, and the delivery step then deletes the CodeDeploy application",
            How::InPlace,
            None,
        );
        ops.push(Op::MoveToEcsEngine);
    } else {
        check.compare(
            "deploymentController",
            controller,
            spec.controller(),
            How::UpStops,
            Some(format!(
                "the service is deployed by another engine than the settings' engine ({}): AWS moves a CODE_DEPLOY service to \
                 ECS blue/green in place (engine \"ecs\"), but not back; set engine back, or delete the service \
                 (aws ecs delete-service --cluster {cluster} --service {name} --force) and run up (the API is down meanwhile)",
                spec.settings.engine.as_str()
            )),
        );
    }
    if spec.settings.engine == Engine::Ecs && !moves_to_ecs {
        check.compare(
            "deploymentConfiguration.strategy",
            service.strategy.as_deref().unwrap_or("ROLLING"),
            "BLUE_GREEN",
            How::UpStops,
            Some(format!(
                "a rolling ECS service would release without the smoke test: \
                 aws ecs update-service --cluster {cluster} --service {name} --deployment-configuration strategy=BLUE_GREEN, then up"
            )),
        );
    }
    let fix = format!(
        "a CODE_DEPLOY service takes load balancers and network configuration only through a CodeDeploy deployment, \
         and up never changes an existing service: recreate it (aws ecs delete-service --cluster {cluster} --service {name} --force, \
         then up; the API is down meanwhile)"
    );
    let groups = &spec.target_groups;
    let wanted = format!("blue or green → {CONTAINER_NAME}:{CONTAINER_PORT}");
    let right = service.load_balancers.len() == 1
        && service
            .load_balancers
            .iter()
            .all(|(group, container, port)| {
                (groups.is_empty() || groups.contains(group))
                    && container == CONTAINER_NAME
                    && *port == CONTAINER_PORT
            });
    let shown = if right {
        wanted.clone()
    } else {
        service
            .load_balancers
            .iter()
            .map(|(group, container, port)| {
                let colour = if groups.contains(group) {
                    ""
                } else {
                    " (not this stack's blue or green)"
                };
                format!("{}{colour} → {container}:{port}", target_group_name(group))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    check.compare(
        "loadBalancers",
        shown,
        wanted,
        How::UpLeavesIt,
        Some(fix.clone()),
    );
    if let Some(subnets) = &spec.subnets {
        check.compare(
            "subnets",
            service.subnets.join(", "),
            subnets.join(", "),
            How::UpLeavesIt,
            Some(fix.clone()),
        );
    }
    if let Some(group) = &spec.app_group {
        check.compare(
            "securityGroups",
            service.security_groups.join(", "),
            group,
            How::UpLeavesIt,
            Some(fix),
        );
    }
    plan.push(check.done(), ops, spec);
}

/// `arn:…:targetgroup/<name>/<id>` → `<name>`.
fn target_group_name(arn: &str) -> &str {
    let tail = arn.rsplit_once("targetgroup/").map_or(arn, |(_, t)| t);
    tail.split('/').next().unwrap_or(tail)
}

fn scaling(spec: &Spec, found: &Found, plan: &mut Plan) {
    let settings = &spec.settings;
    let resource = spec.names.scalable_target();
    match found.scalable_target {
        None => plan.push(
            create(
                "scalable-target",
                &resource,
                Some(format!(
                    "{}–{} tasks",
                    settings.min_tasks, settings.max_tasks
                )),
            ),
            vec![Op::RegisterScalableTarget],
            spec,
        ),
        Some((min, max)) => {
            let mut check = Check::existing("scalable-target", &resource, "");
            check.compare(
                "minCapacity (minTasks)",
                min,
                settings.min_tasks,
                How::InPlace,
                None,
            );
            check.compare(
                "maxCapacity (maxTasks)",
                max,
                settings.max_tasks,
                How::InPlace,
                None,
            );
            let item = check.done();
            let ops = changed(&item, Op::RegisterScalableTarget);
            plan.push(item, ops, spec);
        }
    }
    let policy = spec.names.scaling_policy();
    match &found.scaling_policy {
        None => plan.push(
            create(
                "scaling-policy",
                &policy,
                Some(format!(
                    "target tracking, average CPU {}%",
                    settings.cpu_target_percent
                )),
            ),
            vec![Op::PutScalingPolicy],
            spec,
        ),
        Some(found) => {
            let mut check = Check::existing("scaling-policy", &policy, "");
            let shown = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            check.compare(
                "targetValue (cpuTargetPercent)",
                shown(found.target.map(|t| t.to_string())),
                settings.cpu_target_percent,
                How::InPlace,
                None,
            );
            check.compare(
                "metric",
                shown(found.metric.clone()),
                CPU_METRIC,
                How::InPlace,
                None,
            );
            check.compare(
                "scaleOutCooldown",
                shown(found.scale_out_cooldown.map(|c| c.to_string())),
                SCALE_OUT_COOLDOWN,
                How::InPlace,
                None,
            );
            check.compare(
                "scaleInCooldown",
                shown(found.scale_in_cooldown.map(|c| c.to_string())),
                SCALE_IN_COOLDOWN,
                How::InPlace,
                None,
            );
            let item = check.done();
            let ops = changed(&item, Op::PutScalingPolicy);
            plan.push(item, ops, spec);
        }
    }
}

/// The upsert that converges an item, when anything of it differs.
fn changed(item: &Item, op: Op) -> Vec<Op> {
    if item.differences.is_empty() {
        vec![]
    } else {
        vec![op]
    }
}

fn resource(kind: &str, id: impl Into<String>) -> Resource {
    Resource {
        kind: kind.into(),
        id: id.into(),
    }
}

/// The findings against nothing: what `down` deletes, keeps and cannot delete, and the
/// operations, in the order they run. Only what carries the stack's tag is touched.
pub fn retire(
    names: &Names,
    found: &Found,
    remains: &Remains,
    keep_logs: bool,
) -> (PlannedTier, Vec<Op>) {
    let mut tier = PlannedTier {
        tier: "backend".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    let cluster_ours = found.cluster.as_ref().is_some_and(|c| c.ours);
    let service = found.service.as_ref().filter(|s| s.ours);
    // The scalable target names our service in our cluster: it goes while either is there.
    if found.scalable_target.is_some() && (cluster_ours || service.is_some()) {
        tier.delete
            .push(resource("autoscaling target", names.scalable_target()));
        ops.push(Op::DeregisterScalableTarget);
    }
    if let Some(service) = service {
        tier.delete.push(resource("ecs service", names.service()));
        for set in &service.task_sets {
            tier.delete.push(resource("ecs task set", set));
        }
        ops.push(Op::DeleteService {
            task_sets: service.task_sets.clone(),
            external: service.external(),
            draining: !service.active(),
        });
    }
    if cluster_ours {
        let cluster = names.cluster();
        if remains.foreign_services.is_empty() {
            tier.delete.push(resource("ecs cluster", &cluster));
            ops.push(Op::DeleteCluster);
        } else {
            tier.refuse.push(Failure {
                kind: "ecs cluster".into(),
                id: cluster,
                reason: format!(
                    "it holds services this stack did not create: {}",
                    remains.foreign_services.join(", ")
                ),
                hint: "delete or move those services, then run `vikunja-aws down` again".into(),
            });
        }
    }
    let (active, inactive) = (
        &remains.active_task_definitions,
        &remains.inactive_task_definitions,
    );
    for arn in active.iter().chain(inactive) {
        tier.delete.push(resource("ecs task definition", arn));
    }
    if !active.is_empty() || !inactive.is_empty() {
        ops.push(Op::DeleteTaskDefinitions {
            active: active.clone(),
            inactive: inactive.clone(),
        });
    }
    if found.repository.as_ref().is_some_and(|r| r.ours) {
        let images = remains.images;
        tier.delete.push(resource(
            "ecr repository",
            format!("{} ({images} images)", names.repository()),
        ));
        ops.push(Op::DeleteRepository { images });
    }
    if found.log_group.as_ref().is_some_and(|g| g.ours) {
        let group = names.log_group();
        if keep_logs {
            tier.keep.push(Kept {
                kind: "log group".into(),
                id: group,
                reason: "--keep-logs".into(),
            });
        } else {
            tier.delete.push(resource("log group", group));
            ops.push(Op::DeleteLogGroup);
        }
    }
    (tier, ops)
}
