"""Everything the local stack reads from its environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
# moto's default account; every local ARN carries it.
DEFAULT_ACCOUNT = "123456789012"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".local"


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    state_dir: Path = DEFAULT_STATE_DIR
    region: str = field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
    # Latency model: how long a new RDS instance reports "creating".
    rds_create_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_RDS_CREATE_SECONDS", 3.0)
    )
    # Latency model: how long a new RDS snapshot reports "creating".
    rds_snapshot_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_RDS_SNAPSHOT_SECONDS", 3.0)
    )
    # Latency model: how long a CloudFront distribution reports "InProgress".
    cloudfront_deploy_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_CLOUDFRONT_DEPLOY_SECONDS", 2.0)
    )
    # Build every moto service before the port opens (see warmup.py); VIKUNJA_LOCAL_WARMUP=off
    # starts faster and pays each service's first call where it happens.
    warm_up: bool = field(default_factory=lambda: os.environ.get("VIKUNJA_LOCAL_WARMUP", "on") != "off")
    # Lambda host: how long a worker may take to ask for its first invocation.
    lambda_init_timeout: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_LAMBDA_INIT_TIMEOUT", 10.0)
    )
    # Lambda host: warm workers idle longer than this are stopped.
    lambda_idle_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_LAMBDA_IDLE_SECONDS", 600.0)
    )
    # Lambda host: concurrent workers per function before invokes are throttled.
    lambda_max_workers: int = field(
        default_factory=lambda: _int_env("VIKUNJA_LOCAL_LAMBDA_MAX_WORKERS", 16)
    )

    # CodeDeploy: how long a lifecycle hook may take to call
    # PutLifecycleEventHookExecutionStatus (AWS: one hour).
    hook_timeout_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_HOOK_TIMEOUT_SECONDS", 120.0)
    )
    # CodeDeploy: the blue task set's termination wait, whatever the deployment group's
    # terminationWaitTimeInMinutes (0 minutes stays 0).
    termination_wait_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_TERMINATION_WAIT_SECONDS", 3.0)
    )
    # CodeDeploy: the wait for ContinueDeployment when the group says STOP_DEPLOYMENT
    # on ready timeout, whatever its waitTimeInMinutes.
    ready_wait_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_READY_WAIT_SECONDS", 30.0)
    )

    # ECS blue/green: the delay ECS adds to each traffic-shift stage with a Network Load
    # Balancer (AWS: 10 minutes), scaled down.
    ecs_nlb_shift_delay_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_ECS_NLB_SHIFT_DELAY_SECONDS", 1.0)
    )
    # ECS blue/green: the bake time, whatever bakeTimeInMinutes (0 minutes stays 0).
    ecs_bake_seconds: float = field(
        default_factory=lambda: _float_env("VIKUNJA_LOCAL_ECS_BAKE_SECONDS", 3.0)
    )

    # Fault injection at start: the control endpoint's JSON spec (off when empty).
    faults: str = field(default_factory=lambda: os.environ.get("VIKUNJA_LOCAL_FAULTS", ""))
    # IAM enforcement of the Lambda functions' calls at start: "enforce" or "off".
    iam: str = field(default_factory=lambda: os.environ.get("VIKUNJA_LOCAL_IAM", ""))

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """JSON {pid, port, endpoint} of the running stack: one stack per state dir."""
        return self.state_dir / "stack.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / "stack.log"

    @property
    def lambda_code_dir(self) -> Path:
        return self.state_dir / "lambda"

    @property
    def listeners_file(self) -> Path:
        """The listener map our functions read (VIKUNJA_LOCAL_LISTENERS)."""
        return self.state_dir / "listeners.json"

    @property
    def lambda_log_dir(self) -> Path:
        return self.state_dir / "logs" / "lambda"
