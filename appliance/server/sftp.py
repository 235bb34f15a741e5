"""Read-only SFTP over the live system-files generation, with its server-written MANIFEST.

The generation is pinned when the SFTP session starts, so one download sees one generation
even if a swap happens meanwhile. Paths are confined to the generation: '..' cannot climb out,
symbolic links are neither listed nor followed, and every write operation is refused.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import posixpath
import stat
import time
from pathlib import Path
from typing import Any

import paramiko

from appliance.domain.system_manifest import safe_path as safe_relative_name
from appliance.errors import ApplianceError
from appliance.server.store import Store
from appliance.server.systemfiles import MANIFEST_NAME, SystemFiles

log = logging.getLogger(__name__)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _VirtualFile:
    def __init__(self, data: bytes) -> None:
        self.data = data


class _Handle(paramiko.SFTPHandle):
    def __init__(self, readfile: Any, attributes: paramiko.SFTPAttributes) -> None:
        super().__init__(os.O_RDONLY)
        self.readfile = readfile
        self._attributes = attributes

    def stat(self) -> paramiko.SFTPAttributes:
        return self._attributes

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        return paramiko.SFTP_PERMISSION_DENIED


class ReadOnlySftpServer(paramiko.SFTPServerInterface):
    def __init__(self, server: Any, store: Store, system_files: SystemFiles, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.store = store
        self.system_files = system_files
        self.root: Path | None = None
        self.generation: int | None = None
        self.login = getattr(getattr(server, "user", None), "login", "?")

    def session_started(self) -> None:
        try:
            live = self.store.live()
        except ApplianceError as error:
            log.error("sftp for %s: cannot read the control row: %s", self.login, error)
            return
        if live.system_generation is not None:
            self.generation = live.system_generation
            self.root = self.system_files.directory(live.system_generation)
        log.info("sftp session of %s on system generation %s", self.login, self.generation)

    # Path handling -------------------------------------------------------------------
    def canonicalize(self, path: str) -> str:
        # normpath keeps a leading "//" (POSIX allows it a meaning): strip all leading slashes.
        normal = posixpath.normpath("/" + path.replace("\\", "/").lstrip("/"))
        return "/" + normal.lstrip("/")

    def _resolve(self, path: str) -> Path | _VirtualFile | int:
        """The file ``path`` names, the virtual MANIFEST, or an SFTP error code."""
        if self.root is None or self.generation is None:
            return paramiko.SFTP_NO_SUCH_FILE
        normal = self.canonicalize(path)
        if normal == "/" + MANIFEST_NAME:
            try:
                return _VirtualFile(self.system_files.manifest(self.generation))
            except ApplianceError:
                return paramiko.SFTP_NO_SUCH_FILE
        relative = normal.lstrip("/")
        if not relative:
            return self.root
        if not safe_relative_name(relative):
            return paramiko.SFTP_PERMISSION_DENIED
        current = self.root
        for part in relative.split("/"):
            current = current / part
            try:
                info = current.lstat()
            except FileNotFoundError:
                return paramiko.SFTP_NO_SUCH_FILE
            except OSError:
                return paramiko.SFTP_FAILURE
            if stat.S_ISLNK(info.st_mode):
                log.warning("sftp for %s: refusing symbolic link %s", self.login, relative)
                return paramiko.SFTP_PERMISSION_DENIED
        return current

    def _attributes(self, target: Path | _VirtualFile, name: str) -> paramiko.SFTPAttributes | None:
        if isinstance(target, _VirtualFile):
            attributes = paramiko.SFTPAttributes()
            attributes.st_size = len(target.data)
            attributes.st_mode = stat.S_IFREG | 0o444
            attributes.st_uid = attributes.st_gid = 0
            attributes.st_mtime = attributes.st_atime = int(time.time())
            attributes.filename = name
            return attributes
        info = target.lstat()
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            return None
        attributes = paramiko.SFTPAttributes.from_stat(info, name)
        attributes.st_mode = (info.st_mode & ~0o7777) | (0o555 if stat.S_ISDIR(info.st_mode) else 0o444)
        attributes.st_uid = attributes.st_gid = 0
        return attributes

    # Read operations -----------------------------------------------------------------
    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        target = self._resolve(path)
        if isinstance(target, int):
            return target
        if isinstance(target, _VirtualFile) or not target.is_dir():
            return paramiko.SFTP_NO_SUCH_FILE
        entries = []
        for child in sorted(target.iterdir()):
            if not safe_relative_name(child.name):
                continue
            attributes = self._attributes(child, child.name)
            if attributes is not None:
                entries.append(attributes)
        if self.root is not None and target == self.root:
            manifest = self._resolve("/" + MANIFEST_NAME)
            if isinstance(manifest, _VirtualFile):
                entries.append(self._attributes(manifest, MANIFEST_NAME))
        return entries

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        target = self._resolve(path)
        if isinstance(target, int):
            return target
        attributes = self._attributes(target, posixpath.basename(self.canonicalize(path)))
        return attributes if attributes is not None else paramiko.SFTP_PERMISSION_DENIED

    lstat = stat

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> paramiko.SFTPHandle | int:
        if flags & _WRITE_FLAGS:
            log.warning("sftp for %s: write to %s refused (read-only)", self.login, path[:200])
            return paramiko.SFTP_PERMISSION_DENIED
        target = self._resolve(path)
        if isinstance(target, int):
            return target
        name = posixpath.basename(self.canonicalize(path))
        attributes = self._attributes(target, name)
        if attributes is None:
            return paramiko.SFTP_PERMISSION_DENIED
        if isinstance(target, _VirtualFile):
            return _Handle(io.BytesIO(target.data), attributes)
        if target.is_dir():
            return paramiko.SFTP_FAILURE
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as error:
            return (
                paramiko.SFTP_PERMISSION_DENIED if error.errno in (errno.ELOOP, errno.EACCES) else paramiko.SFTP_FAILURE
            )
        return _Handle(os.fdopen(fd, "rb"), attributes)

    def readlink(self, path: str) -> int:
        return paramiko.SFTP_OP_UNSUPPORTED

    # Everything that writes is refused -----------------------------------------------
    def _refuse(self, *args: Any) -> int:
        log.warning("sftp for %s: write operation refused (read-only)", self.login)
        return paramiko.SFTP_PERMISSION_DENIED

    remove = rename = posix_rename = mkdir = rmdir = chattr = symlink = _refuse
