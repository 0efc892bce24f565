"""Runs one ECS blue/green service deployment, in its own thread, in AWS's stage order
("Lifecycle hooks for Amazon ECS service deployments"):

RECONCILE_SERVICE → PRE_SCALE_UP → SCALE_UP (green revision's tasks, registered in the
target group production is not on) → POST_SCALE_UP → TEST_TRAFFIC_SHIFT (test listener →
green) → POST_TEST_TRAFFIC_SHIFT → PRODUCTION_TRAFFIC_SHIFT (production listener → green) →
POST_PRODUCTION_TRAFFIC_SHIFT → BAKE_TIME (alarms watched) → CLEAN_UP (blue's tasks stop)
→ SUCCESSFUL.

Each hook configured for a stage is invoked synchronously with `executionDetails` and its
`hookDetails`; `IN_PROGRESS` is asked again after `callBackDelay` (default 30 s) with the
`hookDetails` it returned, `SUCCEEDED` moves on, and `FAILED`, an invalid answer or a
function error rolls back. With a Network Load Balancer ECS adds a delay to both
traffic-shift stages (AWS: 10 minutes; here `Timings.nlb_shift_delay`). A rollback puts
both listeners back on blue, runs the TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT
hooks again, stops green's tasks and ends ROLLBACK_SUCCESSFUL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..dataplane.listeners import forwarded_target_group
from .model import Revision, ServiceDeployment

log = logging.getLogger(__name__)

DEFAULT_CALLBACK_DELAY = 30.0
# Stages whose hooks run again during a rollback (AWS's lifecycle hooks page).
ROLLBACK_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
_POLL = 0.25


@dataclass(frozen=True)
class Timings:
    # How long ECS may wait for one hook to answer SUCCEEDED or FAILED, IN_PROGRESS included.
    hook_timeout: float
    # ECS's delay in TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT with an NLB (AWS: 600 s).
    nlb_shift_delay: float
    # The bake time, whatever bakeTimeInMinutes says (0 minutes stays 0).
    bake: float
    # How long green's tasks may take to start (a stand-in that cannot start fails it).
    scale_up: float = 10.0


class DeploymentEnded(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Traffic:
    prod_listener: str
    test_listener: str | None
    blue_group: str
    green_group: str


class DeploymentRunner:
    def __init__(self, deployment: ServiceDeployment, account: str, region: str, lambda_host, data_plane,
                 timings: Timings, on_end: Callable[[ServiceDeployment], None]):
        self.deployment = deployment
        self.account, self.region = account, region
        self.lambda_host = lambda_host
        self.data_plane = data_plane
        self.timings = timings
        self.on_end = on_end
        self.traffic: Traffic | None = None
        self._test_on_green = False
        self._production_on_green = False

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"ecs-deployment-{self.deployment.arn.rsplit('/', 1)[-1]}",
                         daemon=True).start()

    def run(self) -> None:
        d = self.deployment
        d.move("IN_PROGRESS")
        d.started_at = time.time()
        try:
            self.traffic = self._resolve()
            self._stage("RECONCILE_SERVICE")
            self._stage("PRE_SCALE_UP")
            self._stage("SCALE_UP", self._scale_up)
            self._stage("POST_SCALE_UP")
            self._stage("TEST_TRAFFIC_SHIFT", self._shift_test, delay=self.timings.nlb_shift_delay)
            self._stage("POST_TEST_TRAFFIC_SHIFT")
            self._stage("PRODUCTION_TRAFFIC_SHIFT", self._shift_production, delay=self.timings.nlb_shift_delay)
            self._stage("POST_PRODUCTION_TRAFFIC_SHIFT")
            self._bake()
            self._stage("CLEAN_UP", self._clean_up)
            d.move("SUCCESSFUL", reason="Service deployment completed successfully.")
            log.info("service deployment %s succeeded", d.arn)
        except DeploymentEnded as ended:
            self._roll_back(ended.reason)
        except Exception as error:  # a bug here must not leave the deployment IN_PROGRESS forever
            log.exception("service deployment %s failed unexpectedly", d.arn)
            self._roll_back(f"the local ECS deployment engine failed: {error}")
        finally:
            d.finished_at = time.time()
            self.on_end(d)

    # -- stages -----------------------------------------------------------------------------

    def _stage(self, stage: str, action: Callable[[], None] | None = None, delay: float = 0.0) -> None:
        self._check_stop()
        self.deployment.move(stage=stage)
        log.info("service deployment %s: %s", self.deployment.arn, stage)
        if delay > 0:
            self._wait(delay)
        if action is not None:
            action()
        for hook in self._hooks(stage):
            self._run_hook(hook, stage)

    def _resolve(self) -> Traffic:
        balancers = self.deployment.target.service_load_balancers
        advanced = (balancers[0].get("advancedConfiguration") if balancers else None) or {}
        prod = advanced.get("productionListenerRule")
        groups = {balancers[0].get("targetGroupArn"), advanced.get("alternateTargetGroupArn")} - {None}
        if not prod or len(groups) != 2:
            raise DeploymentEnded("the service's load balancer has no advancedConfiguration with an alternate "
                                  "target group and a production listener")
        production = forwarded_target_group(self._listener(prod).default_actions)
        if production not in groups:
            raise DeploymentEnded(f"the production listener {prod} forwards to neither target group of the service")
        (green,) = groups - {production}
        return Traffic(prod, advanced.get("testListenerRule"), production, green)

    def _scale_up(self) -> None:
        target = self.deployment.target
        target.target_group_arn, target.running = self.traffic.green_group, True
        deadline = time.time() + self.timings.scale_up
        while True:
            self.data_plane.sync()
            if self.data_plane.task_sets.stand_in_for(target.arn) is not None:
                return
            if time.time() > deadline:
                why = self.data_plane.task_sets.refusal(target.arn) or "no task started"
                raise DeploymentEnded(f"green's tasks did not start: {why}")
            time.sleep(_POLL)

    def _shift_test(self) -> None:
        if self.traffic.test_listener:
            self._route(self.traffic.test_listener, self.traffic.green_group)
        self._test_on_green = True

    def _shift_production(self) -> None:
        self._route(self.traffic.prod_listener, self.traffic.green_group)
        self._production_on_green = True

    def _bake(self) -> None:
        self._check_stop()
        d = self.deployment
        d.move(stage="BAKE_TIME")
        minutes = float(d.deployment_configuration.get("bakeTimeInMinutes") or 0)
        deadline = time.time() + (self.timings.bake if minutes > 0 else 0.0)
        while True:
            alarms = self._alarms_in_alarm()
            if alarms:
                raise DeploymentEnded(f"alarm {', '.join(alarms)} went into ALARM during bake time")
            if time.time() >= deadline:
                return
            self._wait(min(_POLL, max(deadline - time.time(), 0.0)))

    def _clean_up(self) -> None:
        for source in self.deployment.sources:
            source.running = False
        self.data_plane.sync()

    # -- hooks ------------------------------------------------------------------------------

    def _hooks(self, stage: str) -> list[dict]:
        hooks = self.deployment.deployment_configuration.get("lifecycleHooks") or []
        return [h for h in hooks if stage in (h.get("lifecycleStages") or [])]

    def _execution_details(self) -> dict:
        d = self.deployment
        blue = d.sources[0].arn if d.sources else None

        def weights(on_green: bool) -> dict:
            shown = {d.target.arn: 100 if on_green else 0}
            if blue:
                shown[blue] = 0 if on_green else 100
            return shown

        return {"testTrafficWeights": weights(self._test_on_green),
                "productionTrafficWeights": weights(self._production_on_green),
                "serviceArn": d.service_arn, "targetServiceRevisionArn": d.target.arn}

    def _run_hook(self, hook: dict, stage: str) -> None:
        target = hook.get("hookTargetArn") or ""
        try:
            spec = self.lambda_host.lookup(target, None)
        except LookupError as missing:
            raise DeploymentEnded(f"the {stage} hook {target} cannot be invoked: {missing}") from None
        details = hook.get("hookDetails")
        deadline = time.time() + self.timings.hook_timeout
        attempts = 0
        while True:
            attempts += 1
            payload = {"executionDetails": self._execution_details()}
            if details is not None:
                payload["hookDetails"] = details
            outcome = self.lambda_host.invoke(spec, json.dumps(payload).encode())
            if outcome.failed:
                text = outcome.payload.decode("utf-8", "replace")[:500]
                raise DeploymentEnded(f"the {stage} hook {spec.name} failed ({outcome.error_type}): {text}")
            answer = _parsed(outcome.payload)
            status = answer.get("hookStatus") if isinstance(answer, dict) else None
            log.info("service deployment %s: %s hook %s answered %s (attempt %s)", self.deployment.arn, stage,
                     spec.name, status, attempts)
            if status == "SUCCEEDED":
                return
            if status == "FAILED":
                reason = (answer.get("hookDetails") or {}).get("reason") if isinstance(answer.get("hookDetails"), dict) else None
                raise DeploymentEnded(f"the {stage} hook {spec.name} answered FAILED"
                                      + (f": {reason}" if reason else ""))
            if status != "IN_PROGRESS":
                raise DeploymentEnded(f"the {stage} hook {spec.name} returned no valid hookStatus: "
                                      f"{outcome.payload.decode('utf-8', 'replace')[:300]}")
            delay = answer.get("callBackDelay", DEFAULT_CALLBACK_DELAY)
            delay = float(delay) if isinstance(delay, (int, float)) and delay >= 0 else DEFAULT_CALLBACK_DELAY
            if "hookDetails" in answer:
                details = answer["hookDetails"]
            if time.time() + delay > deadline:
                raise DeploymentEnded(f"the {stage} hook {spec.name} was still IN_PROGRESS after "
                                      f"{attempts} invocation(s): timed out")
            self._wait(delay)

    # -- rollback ---------------------------------------------------------------------------

    def _roll_back(self, reason: str) -> None:
        d = self.deployment
        stopped = d.stop_requested.is_set()
        log.warning("service deployment %s rolls back: %s", d.arn, reason)
        source = d.sources[0] if d.sources else None
        d.move("ROLLBACK_IN_PROGRESS", reason=reason)
        d.rollback = {"reason": reason, "startedAt": time.time(),
                      "serviceRevisionArn": source.arn if source else d.target.arn}
        try:
            if self.traffic is not None:
                if self.traffic.test_listener:
                    self._route(self.traffic.test_listener, self.traffic.blue_group)
                self._route(self.traffic.prod_listener, self.traffic.blue_group)
            self._test_on_green = self._production_on_green = False
            for stage in ROLLBACK_STAGES:
                for hook in self._hooks(stage):
                    try:
                        self._run_hook(hook, stage)
                    except DeploymentEnded as again:  # the rollback goes on: blue is what it returns to
                        log.warning("service deployment %s: rollback hook: %s", d.arn, again.reason)
            d.target.running = False
            for revision in d.sources:
                revision.running = True
            self.data_plane.sync()
            self._restore_service_task_definition(source)
            d.move("STOPPED" if stopped else "ROLLBACK_SUCCESSFUL")
        except Exception as error:
            log.exception("service deployment %s: rollback failed", d.arn)
            d.move("ROLLBACK_FAILED", reason=f"{reason}; the rollback failed: {error}")

    def _restore_service_task_definition(self, source: Revision | None) -> None:
        if source is None:
            return
        service = _moto_service(self.account, self.region, self.deployment.service_arn)
        if service is not None:
            service.task_definition = source.task_definition

    # -- helpers ----------------------------------------------------------------------------

    def _check_stop(self) -> None:
        if self.deployment.stop_requested.is_set():
            raise DeploymentEnded("the deployment was stopped (StopServiceDeployment or a newer deployment)")

    def _wait(self, seconds: float) -> None:
        """Sleeps, cut short by a stop request."""
        if self.deployment.stop_requested.wait(seconds):
            raise DeploymentEnded("the deployment was stopped (StopServiceDeployment or a newer deployment)")

    def _listener(self, arn: str):
        from moto.elbv2.models import elbv2_backends

        try:
            return elbv2_backends[self.account][self.region].describe_listeners(None, [arn])[0]
        except Exception:
            raise DeploymentEnded(f"the listener {arn} does not exist") from None

    def _route(self, listener_arn: str, target_group_arn: str) -> None:
        from moto.elbv2.models import elbv2_backends

        elbv2_backends[self.account][self.region].modify_listener(
            listener_arn, actions=[{"Type": "forward", "TargetGroupArn": target_group_arn}])
        log.info("listener %s now forwards to %s", listener_arn, target_group_arn)

    def _alarms_in_alarm(self) -> list[str]:
        config = self.deployment.deployment_configuration.get("alarms") or {}
        names = config.get("alarmNames") or []
        if not config.get("enable") or not config.get("rollback") or not names:
            return []
        from moto.cloudwatch.models import cloudwatch_backends

        try:
            alarms = cloudwatch_backends[self.account][self.region].alarms
        except Exception:
            return []
        return [name for name in names if name in alarms and alarms[name].state_value == "ALARM"]


def _parsed(payload: bytes):
    try:
        return json.loads(payload or b"null")
    except ValueError:
        return None


def _moto_service(account: str, region: str, service_arn: str):
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    return next((s for s in list(backend.services.values()) if s.arn == service_arn), None)
