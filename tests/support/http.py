"""A small HTTP client with a cookie jar, for driving NeoCuma Web from outside a container."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class WebClient:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Reply(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), dict(error.headers))

    def get(self, path: str, timeout: float = 10) -> Reply:
        return self.request("GET", path, timeout=timeout)

    def login(self, user: str, password: str) -> Reply:
        page = self.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, page[:300]
        form = urllib.parse.urlencode({"csrf": token.group(1), "login": user, "password": password}).encode()
        return self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path: str, body: Any) -> Reply:
        token = self.get("/api/v1/session").json()["csrf"]
        return self.request(
            "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json", "X-CSRF-Token": token}
        )


class Poller:
    """A client querying ``path`` every 10 ms in a thread, for as long as the ``with`` lasts;
    ``samples`` holds (seconds, HTTP status or 0 for an exception, JSON body or text)."""

    def __init__(self, web: WebClient, path: str = "/api/v1/dossiers", every: float = 0.01) -> None:
        import threading

        self.web = web
        self.path = path
        self.every = every
        self.samples: list[tuple[float, int, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        while not self.stop.is_set():
            started = time.monotonic()
            try:
                reply = self.web.get(self.path, timeout=5)
                body = reply.json() if reply.status == 200 else reply.text
                self.samples.append((time.monotonic() - started, reply.status, body))
            except Exception as error:  # noqa: BLE001 - kept for the poller's report
                self.samples.append((time.monotonic() - started, 0, repr(error)))
            self.stop.wait(self.every)

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    @property
    def failures(self) -> list[tuple[float, int, Any]]:
        return [sample for sample in self.samples if sample[1] != 200]

    @property
    def longest(self) -> float:
        return max((sample[0] for sample in self.samples), default=0.0)
