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
