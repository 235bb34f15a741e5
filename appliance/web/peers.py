"""The client's address behind the LAN gateway (docker/gateway/haproxy.cfg).

In fallback mode the LAN reaches NeoCuma Web through the gateway, so every request comes
from the gateway's address: the failed-login throttle would count the whole LAN as one
address, and a few mistyped passwords would make everyone wait. The gateway drops any
``X-Forwarded-For`` a client sends and adds the client's address; NeoCuma Web believes that
header from the gateway's own addresses only (its compose service name, resolved again
every ``seconds``), never from a client reaching the published port directly.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

from flask import current_app, request

EXTENSION = "neocuma_trusted_proxy"


def resolve(host: str) -> frozenset[str]:
    """The addresses ``host`` resolves to; empty when it does not resolve."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return frozenset()
    return frozenset(str(entry[4][0]) for entry in found)


class TrustedProxy:
    """The addresses of the proxy whose ``X-Forwarded-For`` is believed, from its host name."""

    def __init__(
        self,
        host: str,
        resolver: Callable[[str], frozenset[str]] = resolve,
        seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self._resolver = resolver
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._addresses: frozenset[str] = frozenset()
        self._resolved_at: float | None = None

    def addresses(self) -> frozenset[str]:
        """The proxy's addresses, resolved at most once per ``seconds`` (a recreated
        container comes back at a new address)."""
        with self._lock:
            now = self._clock()
            if self._resolved_at is None or now - self._resolved_at >= self._seconds:
                self._addresses = self._resolver(self.host)
                self._resolved_at = now
            return self._addresses


def client_address() -> str:
    """The request's client: the last ``X-Forwarded-For`` address when the request comes
    from the app's trusted proxy and that address is well formed, else the peer's address."""
    peer = request.remote_addr or ""
    proxy = current_app.extensions.get(EXTENSION)
    if not isinstance(proxy, TrustedProxy) or peer not in proxy.addresses():
        return peer
    forwarded = request.headers.getlist("X-Forwarded-For")
    last = forwarded[-1].split(",")[-1].strip() if forwarded else ""
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer
