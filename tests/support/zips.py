"""Rebuilding a backup zip with valid CRCs after a test changed its members or manifest."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

Change = Callable[[dict[str, bytes], dict[str, Any]], None]


def rezip(backup: bytes, change: Change, extra: list[zipfile.ZipInfo] | None = None) -> bytes:
    """Return ``backup`` rebuilt after ``change`` edits its members and parsed manifest in
    place; ``extra`` members (one byte each) are added as given, names and modes included."""
    with zipfile.ZipFile(io.BytesIO(backup)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    change(members, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
        for info in extra or []:
            target.writestr(info, b"x")
        target.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()
