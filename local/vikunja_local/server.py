"""Runs the stack in this process: moto's WSGI app behind our router."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading

from .settings import Settings

log = logging.getLogger("vikunja_local")


def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT. Writes the state dir's pid file while running."""
    # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT: make
    # that our router. moto reads it per call, but set it before import to be sure.
    os.environ["MOTO_PORT"] = str(settings.port)
    _never_proxy_loopback()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from . import patches, routes, warmup
    from .codedeploy import CodeDeploySimulator, Timings
    from .dataplane import LISTENERS_ENV, DataPlane
    from .ecs_deployments import EcsDeployments
    from .ecs_deployments import Timings as EcsTimings
    from .faults import FaultInjector, spec_from_environment
    from .iam_enforce import IamEnforcer, mode_from_environment
    from .lambda_host import LambdaHost
    from .router import Router

    fault_spec = spec_from_environment(settings.faults)  # a bad spec stops the start here
    iam_mode = mode_from_environment(settings.iam)  # so does a bad VIKUNJA_LOCAL_IAM
    patches.apply_all(settings.rds_create_seconds, settings.cloudfront_deploy_seconds, settings.rds_snapshot_seconds)
    lambda_host = LambdaHost(
        endpoint=settings.endpoint,
        state_dir=settings.state_dir,
        default_region=settings.region,
        init_timeout=settings.lambda_init_timeout,
        idle_seconds=settings.lambda_idle_seconds,
        max_workers=settings.lambda_max_workers,
        stack_environment={LISTENERS_ENV: str(settings.listeners_file)},
    )
    patches.moto_internal_invokes_use_lambda_host(lambda_host)
    data_plane = DataPlane(settings.listeners_file, state_dir=settings.state_dir)
    codedeploy = CodeDeploySimulator(lambda_host, data_plane, Timings(
        hook_timeout=settings.hook_timeout_seconds,
        termination_wait=settings.termination_wait_seconds,
        ready_wait=settings.ready_wait_seconds,
    ))
    ecs_deployments = EcsDeployments(lambda_host, data_plane, EcsTimings(
        hook_timeout=settings.hook_timeout_seconds,
        nlb_shift_delay=settings.ecs_nlb_shift_delay_seconds,
        bake=settings.ecs_bake_seconds,
    ))
    router = Router(DomainDispatcherApplication(create_backend_app))
    # IAM enforcement sits in front of the router: a denied call never reaches a route
    # or moto. Fault injection sits in front of both: faults "after" the call let the
    # router, its routes and after-hooks run first.
    iam = IamEnforcer(router, lambda_host, iam_mode)
    faults = FaultInjector(iam, lambda_host, fault_spec)
    routes.install(router, routes.Stack(settings, lambda_host, data_plane, codedeploy, ecs_deployments, faults, iam))
    data_plane.start()
    if settings.warm_up:
        warmed = warmup.warm(router.fallback, settings.region)
        log.info("warmed %s services in %.1f s (slowest: %s)", len(warmed), sum(warmed.values()),
                 ", ".join(f"{name} {seconds:.2f} s" for name, seconds in sorted(warmed.items(), key=lambda kv: -kv[1])[:3]))

    server = make_server(settings.host, settings.port, faults, threaded=True, request_handler=MotoRequestHandler)
    server.daemon_threads = True
    _stop_on_signals(server)
    _write_pid_file(settings)
    log.info("local AWS stack serving %s (pid %s, state %s)", settings.endpoint, os.getpid(), settings.state_dir)
    try:
        server.serve_forever()
    finally:
        log.info("stopping: %s lambda workers", lambda_host.worker_count())
        lambda_host.close()
        data_plane.close()
        server.server_close()
        _remove_pid_file(settings)
        log.info("stopped")


def _never_proxy_loopback() -> None:
    """moto calls back into this stack over HTTP (Step Functions → Lambda): an
    HTTP(S)_PROXY in the environment must not capture those calls."""
    for name in ("NO_PROXY", "no_proxy"):
        entries = [e for e in os.environ.get(name, "").split(",") if e]
        for host in ("localhost", "127.0.0.1"):
            if host not in entries:
                entries.append(host)
        os.environ[name] = ",".join(entries)


def _stop_on_signals(server) -> None:
    def stop(signum, frame):
        log.info("signal %s: shutting down", signum)
        # shutdown() waits for serve_forever to return: it cannot run on that thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _write_pid_file(settings: Settings) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "port": settings.port, "endpoint": settings.endpoint}
    temporary = settings.pid_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(settings.pid_file)


def _remove_pid_file(settings: Settings) -> None:
    try:
        record = json.loads(settings.pid_file.read_text())
        if record.get("pid") == os.getpid():
            settings.pid_file.unlink()
    except (OSError, ValueError):
        pass


def configure_logging(level: str | None = None) -> None:
    level = (level or os.environ.get("VIKUNJA_LOCAL_LOG_LEVEL") or "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # werkzeug logs every request at INFO: only wanted when debugging.
    logging.getLogger("werkzeug").setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
