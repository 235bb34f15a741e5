"""System-file generations of a NeoCuma server and their server-written MANIFEST.

Each generation is a directory ``g<N>`` of the system volume. The MANIFEST lists every
regular file of the generation with its sha256 and size, so a guardian can verify a download
file by file (docs/backup-format.md). Symbolic links, devices and names with control characters are
never listed nor served.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from appliance.domain.system_manifest import safe_path as safe_relative_name
from appliance.errors import NotFound

log = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST"
MANIFEST_HEADER = "# neocuma-system-manifest 1"


@dataclass(frozen=True)
class SystemFile:
    path: str  # relative, with forward slashes
    size: int
    sha256: str


def scan_generation(directory: Path) -> list[SystemFile]:
    """Every regular file under ``directory``, sorted, with its digest; skips (and logs)
    links, devices and unsafe names."""
    files: list[SystemFile] = []
    for root, dirs, names in os.walk(directory, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            full = Path(root) / name
            relative = full.relative_to(directory).as_posix()
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode) or not safe_relative_name(relative):
                log.warning("system files: skipping %s (not a regular file or unsafe name)", relative)
                continue
            digest = hashlib.sha256()
            with full.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            files.append(SystemFile(relative, info.st_size, digest.hexdigest()))
    return sorted(files, key=lambda f: f.path)


def render_manifest(generation: int, files: list[SystemFile]) -> bytes:
    lines = [MANIFEST_HEADER, f"# generation {generation}"]
    lines += [f"{f.sha256} {f.size} {f.path}" for f in files]
    return ("\n".join(lines) + "\n").encode("utf-8")


class SystemFiles:
    """The system volume: generation directories and their cached manifests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def directory(self, generation: int) -> Path:
        if generation < 1:
            raise ValueError(f"a generation number is positive, not {generation}")
        return self.root / f"g{generation}"

    def manifest(self, generation: int) -> bytes:
        """The MANIFEST of ``generation`` (computed once, then cached until ``drop_cache``);
        raises NotFound if the directory does not exist."""
        with self._lock:
            cached = self._cache.get(generation)
            if cached is not None:
                return cached
            directory = self.directory(generation)
            if not directory.is_dir():
                raise NotFound(f"system-files generation g{generation} does not exist")
            manifest = render_manifest(generation, scan_generation(directory))
            self._cache[generation] = manifest
            return manifest

    def drop_cache(self) -> None:
        """Forget cached manifests (SIGHUP)."""
        with self._lock:
            self._cache.clear()
        log.info("system files: cache dropped")
