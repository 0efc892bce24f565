"""Runs one ECS blue/green deployment, in its own thread, the way CodeDeploy does:

BeforeInstall → Install (green task set + stand-in) → AfterInstall → AllowTestTraffic
(test listener → green) → AfterAllowTestTraffic → [Ready wait] → BeforeAllowTraffic →
AllowTraffic (production → green, green primary) → AfterAllowTraffic → termination
wait → blue deleted → Succeeded.

A hook event with a function in the AppSpec invokes it (asynchronously, through the
Lambda host) with `{"DeploymentId", "LifecycleEventHookExecutionId"}` and waits for
PutLifecycleEventHookExecutionStatus. A Failed hook, a hook that never reports,
StopDeployment or an alarm in ALARM ends the deployment; with auto-rollback on for
that cause, listeners go back to blue and green is deleted *before* the deployment
reports Failed/Stopped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .model import Deployment, HookExecution, TaskSetInfo
from .traffic import Traffic, TrafficError

log = logging.getLogger(__name__)

_POLL = 0.25  # how often a waiting deployment looks at stop requests and alarms


@dataclass(frozen=True)
class Timings:
    hook_timeout: float
    termination_wait: float
    ready_wait: float
    # Lambda retries an asynchronous invocation that failed (an error, a crash, a timeout)
    # twice, after about one and two minutes; here after these many seconds.
    async_retry_delays: tuple[float, ...] = (1.0, 2.0)


class DeploymentEnded(Exception):
    """Why a deployment ends without succeeding."""

    def __init__(self, code: str, message: str, status: str = "Failed",
                 trigger: str = "DEPLOYMENT_FAILURE", diagnostics: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status  # Failed | Stopped
        self.trigger = trigger  # the auto-rollback event it counts as
        self.diagnostics = diagnostics


class DeploymentRunner:
    def __init__(self, deployment: Deployment, lambda_host, data_plane, timings: Timings,
                 record_rollback: Callable[[Deployment], Deployment]):
        self.deployment = deployment
        self.lambda_host = lambda_host
        self.data_plane = data_plane
        self.timings = timings
        self.record_rollback = record_rollback
        self.traffic: Traffic | None = None
        self._current_event: str | None = None

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"deployment-{self.deployment.deployment_id}", daemon=True).start()

    def run(self) -> None:
        deployment = self.deployment
        deployment.status, deployment.start_time = "InProgress", time.time()
        deployment.set_target_status("InProgress")
        try:
            self._resolve_traffic()
            self._hook_event("BeforeInstall")
            self._step("Install", self._install)
            self._hook_event("AfterInstall")
            self._step("AllowTestTraffic", self._allow_test_traffic, skip=not self.traffic.test_listeners)
            self._hook_event("AfterAllowTestTraffic")
            self._ready_wait()
            self._hook_event("BeforeAllowTraffic")
            self._step("AllowTraffic", self._allow_traffic)
            self._hook_event("AfterAllowTraffic")
            self._termination_wait()
            self._terminate_blue()
            self._succeed()
        except DeploymentEnded as ended:
            self._end(ended)
        except TrafficError as error:
            self._end(DeploymentEnded(error.code, error.message))
        except Exception as error:  # a bug here must not leave the deployment InProgress forever
            log.exception("deployment %s failed unexpectedly", deployment.deployment_id)
            self._end(DeploymentEnded("INTERNAL_ERROR", f"The local CodeDeploy simulator failed: {error}"))
        finally:
            deployment.notify()

    # -- the steps ------------------------------------------------------------------------------

    def _resolve_traffic(self) -> None:
        d = self.deployment
        self.traffic = Traffic.resolve(d.account, d.region, d.group)
        d.service_arn = self.traffic.service_arn
        if self.traffic.blue_task_set_id:
            d.task_sets.append(TaskSetInfo("Blue", self.traffic.blue_task_set_id, self.traffic.blue.name,
                                           self.traffic.desired_count, status="PRIMARY", traffic_weight=100.0))

    def _install(self) -> None:
        self.traffic.create_green(self.deployment.appspec, client_token=self.deployment.deployment_id)
        self.data_plane.sync()  # the green stand-in starts and registers in the green target group
        self.deployment.task_sets.append(TaskSetInfo("Green", self.traffic.green_task_set_id, self.traffic.green.name,
                                                     self.traffic.desired_count))

    def _allow_test_traffic(self) -> None:
        self.traffic.route(self.traffic.test_listeners, self.traffic.green)

    def _allow_traffic(self) -> None:
        self.traffic.route(self.traffic.prod_listeners, self.traffic.green)
        self.traffic.make_primary(self.traffic.green_task_set)
        for info in self.deployment.task_sets:
            green = info.label == "Green"
            info.traffic_weight, info.status = (100.0, "PRIMARY") if green else (0.0, "ACTIVE")

    def _ready_wait(self) -> None:
        """Only when the group says to wait for ContinueDeployment before rerouting."""
        option = (self.deployment.group.get("blueGreenDeploymentConfiguration") or {}).get("deploymentReadyOption") or {}
        if option.get("actionOnTimeout") != "STOP_DEPLOYMENT":
            return
        d = self.deployment
        d.status = "Ready"
        d.set_target_status("Ready")
        continued = self._wait(lambda: "READY_WAIT" in d.continued, self.timings.ready_wait)
        if not continued:
            raise DeploymentEnded("TIMEOUT", "The deployment was not continued (ContinueDeployment READY_WAIT) "
                                  f"within the ready wait of {self.timings.ready_wait:g} s", status="Stopped")
        d.status = "InProgress"
        d.set_target_status("InProgress")

    def _termination_wait(self) -> None:
        termination = (self.deployment.group.get("blueGreenDeploymentConfiguration") or {}).get(
            "terminateBlueInstancesOnDeploymentSuccess") or {}
        minutes = int(termination.get("terminationWaitTimeInMinutes") or 0)
        seconds = self.timings.termination_wait if minutes > 0 else 0.0
        d = self.deployment
        d.termination_wait_started = True
        self._wait(lambda: "TERMINATION_WAIT" in d.continued, seconds)

    def _terminate_blue(self) -> None:
        termination = (self.deployment.group.get("blueGreenDeploymentConfiguration") or {}).get(
            "terminateBlueInstancesOnDeploymentSuccess") or {}
        if termination.get("action") == "KEEP_ALIVE" or not self.traffic.blue_task_set:
            return
        self.traffic.delete_task_set(self.traffic.blue_task_set)
        self.data_plane.sync()  # blue's stand-in stops and leaves its target group
        for info in self.deployment.task_sets:
            if info.label == "Blue":
                info.running, info.status = False, "DRAINING"

    def _succeed(self) -> None:
        d = self.deployment
        d.status, d.complete_time = "Succeeded", time.time()
        d.set_target_status("Succeeded")
        log.info("deployment %s succeeded", d.deployment_id)

    # -- events, hooks and waits ------------------------------------------------------------------

    def _step(self, name: str, action: Callable[[], None], skip: bool = False) -> None:
        event = self.deployment.events[name]
        if skip:
            event.finish("Skipped")
            return
        self._current_event = name
        event.start()
        self._check_interruptions()
        action()
        event.finish("Succeeded")
        self._current_event = None

    def _hook_event(self, name: str) -> None:
        function = self.deployment.appspec.hooks.get(name)
        if function is None:
            self.deployment.events[name].finish("Skipped")
            return
        self._step(name, lambda: self._run_hook(name, function))

    def _run_hook(self, event_name: str, function: str) -> None:
        d = self.deployment
        try:
            spec = self.lambda_host.lookup(function, None)
        except LookupError as missing:
            raise DeploymentEnded("INVALID_LAMBDA_FUNCTION",
                                  f"The {event_name} hook function {function} cannot be invoked: {missing}",
                                  diagnostics=_diagnostics("UnknownError", function, str(missing))) from None
        execution = d.hook_execution(event_name, function)
        payload = json.dumps({"DeploymentId": d.deployment_id,
                              "LifecycleEventHookExecutionId": execution.execution_id}).encode()
        finished = threading.Event()
        threading.Thread(target=self._invoke, args=(spec, payload, execution, finished),
                         name=f"hook-{event_name}", daemon=True).start()
        log.info("deployment %s: %s hook %s invoked", d.deployment_id, event_name, function)
        if not self._wait(lambda: execution.status is not None, self.timings.hook_timeout):
            raise self._hook_timed_out(execution)
        finished.wait(2.0)  # let the invocation end, so its log tail is whole
        if execution.status == "Failed":
            message = f"The {event_name} lifecycle event failed: its hook {function} reported Failed"
            raise DeploymentEnded("HOOK_EXECUTION_FAILURE", message,
                                  diagnostics=_diagnostics("ScriptFailed", function, message, execution.log_tail))

    def _invoke(self, spec, payload: bytes, execution: HookExecution, finished: threading.Event) -> None:
        """CodeDeploy invokes a hook asynchronously: a failed invocation is retried as
        Lambda retries any asynchronous one, unless the hook reported meanwhile."""
        try:
            for attempt, delay in enumerate((0.0, *self.timings.async_retry_delays)):
                if delay and self._reported_within(execution, delay):
                    return
                if attempt:
                    log.info("hook %s: asynchronous retry %d", execution.function, attempt)
                outcome = self.lambda_host.invoke(spec, payload)
                execution.log_tail = "".join(line + "\n" for line in outcome.log_lines)
                execution.invocations = attempt + 1
                if not outcome.failed:
                    return
                execution.invoke_error = outcome.payload.decode("utf-8", "replace")[:1000]
                log.warning("hook %s failed (invocation %d): %s", execution.function, attempt + 1,
                            execution.invoke_error)
        except Exception as error:
            execution.invoke_error = str(error)
            log.exception("hook %s could not be invoked", execution.function)
        finally:
            finished.set()
            self.deployment.notify()

    def _reported_within(self, execution: HookExecution, seconds: float) -> bool:
        """Waits `seconds`; True if the hook reported (or the deployment ended) meanwhile."""
        deadline = time.monotonic() + seconds
        with self.deployment.changed:
            while execution.status is None and self.deployment.active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.deployment.changed.wait(min(left, _POLL))
        return True

    def _hook_timed_out(self, execution: HookExecution) -> DeploymentEnded:
        message = (f"The {execution.event_name} lifecycle event timed out: its hook {execution.function} did not call "
                   f"PutLifecycleEventHookExecutionStatus within {self.timings.hook_timeout:g} s")
        if execution.invoke_error:
            message += f" (the invocation itself failed: {execution.invoke_error})"
        return DeploymentEnded("TIMEOUT", message,
                               diagnostics=_diagnostics("ScriptTimedOut", execution.function, message, execution.log_tail))

    def _wait(self, done: Callable[[], bool], seconds: float) -> bool:
        """True once `done()`, False when `seconds` passed; raises if the deployment
        is stopped or an alarm fires meanwhile."""
        deadline = time.monotonic() + seconds
        with self.deployment.changed:
            while True:
                self._check_interruptions()
                if done():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.deployment.changed.wait(min(remaining, _POLL))

    def _check_interruptions(self) -> None:
        d = self.deployment
        where = f" during {self._current_event}" if self._current_event else ""
        if d.stop_request is not None:
            raise DeploymentEnded("MANUAL_STOP", f"The deployment was stopped by StopDeployment{where}",
                                  status="Stopped", trigger="DEPLOYMENT_STOP_ON_REQUEST")
        alarms = alarms_in_alarm_state(d)
        if alarms:
            raise DeploymentEnded("ALARM_ACTIVE",
                                  f"The deployment was stopped{where}: CloudWatch alarm(s) in ALARM state: {', '.join(alarms)}",
                                  status="Stopped", trigger="DEPLOYMENT_STOP_ON_ALARM")

    # -- ending badly ------------------------------------------------------------------------------

    def _end(self, ended: DeploymentEnded) -> None:
        d = self.deployment
        self._fail_current_event(ended)
        if self._rolls_back(ended) and self.traffic is not None:
            self._roll_back()
        d.error = {"code": ended.code, "message": ended.message}
        d.status, d.complete_time = ended.status, time.time()
        d.set_target_status("Failed")
        log.info("deployment %s %s: %s (%s)", d.deployment_id, ended.status.lower(), ended.code, ended.message)

    def _fail_current_event(self, ended: DeploymentEnded) -> None:
        for event in self.deployment.events.values():
            if event.status == "InProgress":
                event.finish("Failed", ended.diagnostics or _diagnostics("UnknownError", None, ended.message))
            elif event.status == "Pending":
                event.finish("Skipped")

    def _rolls_back(self, ended: DeploymentEnded) -> bool:
        requested = (self.deployment.stop_request or {}).get("rollback")
        if ended.trigger == "DEPLOYMENT_STOP_ON_REQUEST" and requested is not None:
            return bool(requested)  # StopDeployment's autoRollbackEnabled decides
        return self.deployment.rollback_enabled_for(ended.trigger)

    def _roll_back(self) -> None:
        d = self.deployment
        try:
            self.traffic.roll_back()
            self.data_plane.sync()  # green's stand-in stops and leaves its target group
        except Exception as error:
            log.exception("deployment %s: rollback failed", d.deployment_id)
            d.status_messages.append(f"Rollback failed: {error}")
            return
        for info in d.task_sets:
            blue = info.label == "Blue"
            info.traffic_weight, info.status, info.running = (100.0, "PRIMARY", True) if blue else (0.0, "DRAINING", False)
        rollback = self.record_rollback(d)
        d.rollback_info = {
            "rollbackDeploymentId": rollback.deployment_id,
            "rollbackMessage": f"Deployment {rollback.deployment_id} rolled back {d.deployment_id}: the listeners "
                               "forward to the original task set again and the replacement task set was deleted",
        }


def _diagnostics(error_code: str, function: str | None, message: str, log_tail: str = "") -> dict:
    diagnostics = {"errorCode": error_code, "message": message[:1000]}
    if function:
        diagnostics["scriptName"] = function
    if log_tail:
        diagnostics["logTail"] = log_tail[-2048:]
    return diagnostics


def alarms_in_alarm_state(deployment: Deployment) -> list[str]:
    """The deployment group's CloudWatch alarms (moto's) now in ALARM."""
    config = deployment.group.get("alarmConfiguration") or {}
    names = [alarm.get("name") for alarm in config.get("alarms") or [] if alarm.get("name")]
    if not config.get("enabled") or not names:
        return []
    from moto.cloudwatch.models import cloudwatch_backends

    try:
        alarms = cloudwatch_backends[deployment.account][deployment.region].alarms
    except Exception:
        return []
    return [name for name in names if name in alarms and alarms[name].state_value == "ALARM"]
