"""Every load balancer listener in moto becomes a loopback port.

A connection to that port is piped (plain TCP, like a Network Load Balancer) to a
target of the target group the listener forwards to *at connect time*, read from
moto: a `ModifyListener` by anyone — the CodeDeploy simulator shifting traffic, or a
client — takes effect on the next connection, and open connections stay where they
are, as on an NLB.

The map from `<load balancer DNS name>:<listener port>` to `127.0.0.1:<loopback port>`
is written to a JSON file (atomically, whenever listeners come or go); every Lambda
worker gets its path in `VIKUNJA_LOCAL_LISTENERS`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import socket
import threading
from pathlib import Path

from ..accounts import existing_backends

log = logging.getLogger(__name__)

LISTENERS_ENV = "VIKUNJA_LOCAL_LISTENERS"
_CONNECT_TIMEOUT = 5.0


class ListenerForwarders:
    def __init__(self, map_file: Path):
        self.map_file = map_file
        self._forwarders: dict[str, Forwarder] = {}  # listener ARN -> its port
        self._published: dict[str, str] | None = None

    def sync(self) -> None:
        live = live_listeners()
        for arn in [arn for arn in self._forwarders if arn not in live]:
            self._forwarders.pop(arn).close()
        for arn, (account, region, dns_name, port) in live.items():
            forwarder = self._forwarders.get(arn)
            if forwarder is None:
                self._forwarders[arn] = Forwarder(account, region, arn, f"{dns_name}:{port}")
            else:
                forwarder.public_address = f"{dns_name}:{port}"  # ModifyListener may change the port
        self._publish()

    def listener_map(self) -> dict[str, str]:
        return {f.public_address: f.local_address for f in self._forwarders.values()}

    def local_address_of(self, listener_arn: str) -> str | None:
        forwarder = self._forwarders.get(listener_arn)
        return forwarder.local_address if forwarder else None

    def close(self) -> None:
        for forwarder in self._forwarders.values():
            forwarder.close()
        self._forwarders.clear()

    def _publish(self) -> None:
        current = self.listener_map()
        if current == self._published:
            return
        self.map_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.map_file.with_name(f".{self.map_file.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(current, indent=2, sort_keys=True))
        os.replace(temporary, self.map_file)  # readers see the old map or the new, never half
        self._published = current


def live_listeners() -> dict[str, tuple[str, str, str, int]]:
    """listener ARN -> (account, region, load balancer DNS name, listener port)"""
    from moto.elbv2.models import elbv2_backends

    found = {}
    for account, region, backend in existing_backends(elbv2_backends):
        for balancer in list(backend.load_balancers.values()):
            for listener in list(balancer.listeners.values()):
                found[listener.arn] = (account, region, balancer.dns_name, int(listener.port))
    return found


class Forwarder:
    """One listener's loopback port."""

    def __init__(self, account: str, region: str, listener_arn: str, public_address: str):
        self.account = account
        self.region = region
        self.listener_arn = listener_arn
        self.public_address = public_address
        self._round_robin = itertools.count()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._closed = False
        threading.Thread(target=self._accept_loop, name=f"listener-{public_address}", daemon=True).start()
        log.info("listener %s forwards from %s", public_address, self.local_address)

    @property
    def local_address(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        self._closed = True
        local_address = self.local_address  # a closed socket has no name
        try:
            self._socket.close()
        except OSError:
            pass
        log.info("listener %s (%s) closed", self.public_address, local_address)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        target = self.pick_target()
        if target is None:
            log.info("listener %s: no registered target, connection refused", self.public_address)
            client.close()
            return
        try:
            upstream = socket.create_connection(target, timeout=_CONNECT_TIMEOUT)
            upstream.settimeout(None)
        except OSError as error:
            log.info("listener %s: target %s:%s unreachable: %s", self.public_address, *target, error)
            client.close()
            return
        pipe(client, upstream)

    def pick_target(self) -> tuple[str, int] | None:
        """A registered target of the group the listener forwards to now. No
        health-based choice: each target group holds one stand-in here, and an NLB
        whose targets are all unhealthy sends traffic to all of them anyway."""
        targets = current_targets(self.account, self.region, self.listener_arn)
        if not targets:
            return None
        return targets[next(self._round_robin) % len(targets)]


def current_targets(account: str, region: str, listener_arn: str) -> list[tuple[str, int]]:
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[account][region]
    try:
        listener = backend.describe_listeners(load_balancer_arn=None, listener_arns=[listener_arn])[0]
    except Exception:
        return []
    target_group = backend.target_groups.get(forwarded_target_group(listener.default_actions) or "")
    if target_group is None:
        return []
    return [(t["Id"], int(t["Port"])) for t in list(target_group.targets.values())]


def forwarded_target_group(actions) -> str | None:
    """The target group a listener's default `forward` action sends to; with a
    weighted ForwardConfig, one chosen by weight (per connection)."""
    for action in actions:
        data = getattr(action, "data", action)
        if data.get("Type") != "forward":
            continue
        groups = [g for g in (data.get("ForwardConfig") or {}).get("TargetGroups", []) if int(g.get("Weight", 1)) > 0]
        if groups:
            weights = [int(g.get("Weight", 1)) for g in groups]
            return random.choices(groups, weights=weights)[0]["TargetGroupArn"]
        if data.get("TargetGroupArn"):
            return data["TargetGroupArn"]
    return None


def pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until both sides are done; half-closes pass through."""
    done = threading.Barrier(2, action=lambda: (_close(client), _close(upstream)))

    def copy(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            done.wait()
        except threading.BrokenBarrierError:
            pass

    threading.Thread(target=copy, args=(upstream, client), daemon=True).start()
    copy(client, upstream)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
