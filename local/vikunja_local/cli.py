"""`vikunja-local start|stop|status|serve`: the local AWS stack's command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .routes import HEALTH_PATH
from .settings import DEFAULT_PORT, DEFAULT_STATE_DIR, Settings

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vikunja-local", description="The local AWS stack (moto + Lambda host).")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def add(name: str, handler, help_text: str, with_port: bool) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(command=handler)
        command.add_argument("--state-dir", type=Path,
                             default=Path(os.environ.get("VIKUNJA_LOCAL_STATE_DIR") or DEFAULT_STATE_DIR),
                             help="pid file, logs and unpacked Lambda code (default: <repo>/.local)")
        if with_port:
            command.add_argument("--port", type=int, default=int(os.environ.get("VIKUNJA_LOCAL_PORT") or DEFAULT_PORT))
        return command

    start = add("start", _start, "start the stack (in the background unless --foreground)", with_port=True)
    start.add_argument("--foreground", action="store_true", help="serve in this process until Ctrl-C")
    add("serve", _serve, "serve in this process (what `start` runs in the background)", with_port=True)
    add("stop", _stop, "stop the stack and every Lambda worker", with_port=False)
    add("status", _status, "exit 0 and print the endpoint if the stack is running", with_port=False)
    return parser


def _settings(args) -> Settings:
    return Settings(port=getattr(args, "port", DEFAULT_PORT), state_dir=args.state_dir.resolve())


# -- commands ---------------------------------------------------------------------------------


def _start(args) -> int:
    settings = _settings(args)
    running = _running_stack(settings.state_dir)
    if running is not None:
        if running["port"] == settings.port:
            print(f"already running at {running['endpoint']} (pid {running['pid']})")
            return 0
        print(f"a stack from {settings.state_dir} already runs at {running['endpoint']}; stop it first", file=sys.stderr)
        return 1
    if args.foreground:
        return _serve(args)

    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(settings.log_file, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "vikunja_local", "serve", "--port", str(settings.port),
             "--state-dir", str(settings.state_dir)],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONPATH": _package_parent()},
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            start_new_session=True,  # outlives this command and its terminal
        )
    if not _wait_until_healthy(settings, child):
        print(f"the stack did not start; see {settings.log_file}:", file=sys.stderr)
        print(_tail(settings.log_file), file=sys.stderr)
        if child.poll() is None:
            child.terminate()
        return 1
    print(f"local AWS stack running at {settings.endpoint} (pid {child.pid}, "
          f"started in {time.monotonic() - began:.1f} s, log {settings.log_file})")
    return 0


def _serve(args) -> int:
    from .server import configure_logging, serve

    configure_logging()
    serve(_settings(args))
    logging.shutdown()
    # moto's Step Functions executions run on non-daemon threads (a `Wait` state can
    # sleep for hours): everything worth cleaning up is done, so do not wait for them.
    os._exit(0)


def _stop(args) -> int:
    state_dir = args.state_dir.resolve()
    record = _read_pid_file(state_dir)
    if record is None or not _process_alive(record["pid"]):
        _forget(state_dir)
        print("not running")
        return 0
    pid = record["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _process_alive(pid):
        os.kill(pid, signal.SIGKILL)  # its workers die with it (parent-death signal)
    _forget(state_dir)
    print(f"stopped the stack at {record['endpoint']} (pid {pid})")
    return 0


def _status(args) -> int:
    running = _running_stack(args.state_dir.resolve())
    if running is None:
        print("not running")
        return 1
    print(f"running at {running['endpoint']} (pid {running['pid']}, {running['lambda_workers']} lambda workers)")
    return 0


# -- helpers ----------------------------------------------------------------------------------


def _running_stack(state_dir: Path) -> dict | None:
    """The health answer of this state dir's stack, if it runs and answers."""
    record = _read_pid_file(state_dir)
    if record is None:
        return None
    if not _process_alive(record["pid"]):
        _forget(state_dir)
        return None
    health = _health(record["endpoint"])
    if health is None or health.get("pid") != record["pid"]:
        return None
    return health


def _wait_until_healthy(settings: Settings, child: subprocess.Popen) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        health = _health(settings.endpoint)
        if health is not None and health.get("pid") == child.pid:
            return True
        time.sleep(0.1)
    return False


def _health(endpoint: str) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _read_pid_file(state_dir: Path) -> dict | None:
    try:
        return json.loads(Settings(state_dir=state_dir).pid_file.read_text())
    except (OSError, ValueError):
        return None


def _forget(state_dir: Path) -> None:
    Settings(state_dir=state_dir).pid_file.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not running.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _package_parent() -> str:
    parent = str(Path(__file__).resolve().parents[1])
    existing = os.environ.get("PYTHONPATH")
    return f"{parent}{os.pathsep}{existing}" if existing else parent


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
