"""Session secret, CSRF tokens and safe redirect targets, for NeoCuma Web and the console."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: MutableMapping[str, Any], submitted: str | None) -> bool:
    """Whether ``submitted`` is the session's token; any other text is refused, never an
    exception (``compare_digest`` raises TypeError on a text that is not ASCII)."""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), submitted.encode("utf-8", "surrogatepass"))


def local_path(target: str) -> bool:
    """Whether ``target`` (a login's ``next``) is a path of this site: no scheme, no host,
    no backslash (browsers read ``/\\host`` as ``//host``), no control characters."""
    if not target.startswith("/") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parsed = urlsplit(target)
    return not parsed.scheme and not parsed.netloc and not target.startswith("//")
