"""The MANIFEST a NeoCuma server writes for its system files (parsing, pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.errors import BadRequest

HEADER = "# neocuma-system-manifest 1"
MAX_FILES = 100_000
_LINE = re.compile(r"^([0-9a-f]{64}) ([0-9]{1,15}) (.+)$")


@dataclass(frozen=True)
class SystemEntry:
    sha256: str
    size: int
    path: str


def safe_path(name: str) -> bool:
    """Relative, no '..', no empty part, no backslash or control character."""
    if not name or name.startswith("/") or "\\" in name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def parse_system_manifest(text: str) -> list[SystemEntry]:
    """The entries of a MANIFEST; raises BadRequest naming the first bad line."""
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise BadRequest("MANIFEST does not start with the system-manifest header")
    entries: list[SystemEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise BadRequest(f"MANIFEST line {number} is not '<sha256> <size> <path>'")
        sha, size, path = match.group(1), int(match.group(2)), match.group(3)
        if not safe_path(path) or path == "MANIFEST":
            raise BadRequest(f"MANIFEST line {number}: unsafe path {path[:80]!r}")
        if path in seen:
            raise BadRequest(f"MANIFEST lists {path} twice")
        seen.add(path)
        entries.append(SystemEntry(sha, size, path))
        if len(entries) > MAX_FILES:
            raise BadRequest(f"MANIFEST lists more than {MAX_FILES} files")
    return entries
