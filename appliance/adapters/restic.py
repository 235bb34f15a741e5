"""A restic repository, through the ``restic`` program (Debian's package; docs/offsite.md).

Every command runs with the repository and its password in its environment, never on its
command line (a process list shows arguments), its cache under the guardian's state,
and a time limit: a push's sized to its bytes at a minimum rate, the other long commands'
a setting (docs/offsite.md, "Time limits"). restic's failures come back in English on stderr; they become
Unavailable (the repository cannot be reached, or its disk is full: tried again at the
next run) or BadRequest (a wrong password, a damaged repository), in French, naming the
repository and ending with restic's own last line. An ``sftp:`` repository is reached with
the command ``domain/offsite_sftp.py`` builds (its host key pinned), and ssh's own words
about a refused key or host key become their French message.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.domain.offsite import OffsiteCopy, PushSummary, Retention, parse_snapshots, repository_kind, shown
from appliance.domain.offsite_sftp import SftpPinning, restic_options, sftp_write_refused, ssh_failure
from appliance.errors import ApplianceError, BadRequest, Unavailable

log = logging.getLogger(__name__)
HOST = "neocuma-guardian"  # the snapshots' host: the same whatever the container's name
PUSH_START_SECONDS = 600.0
_UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "connection reset",
    "network is unreachable",
    "dial tcp",
    "ssh command exited",
    "subprocess ssh",
    "unable to open repository",
)


class RepositoryMissing(Unavailable):
    """No repository at that address (not created yet, or the path is wrong)."""


@dataclass(frozen=True)
class ResticRepository:
    repository: str
    password: str = field(repr=False)
    cache_dir: Path  # restic's cache, under the guardian's state
    environment: Mapping[str, str] = field(default_factory=dict)  # S3 keys and the like
    binary: str = "restic"
    timeout: float = 3600  # seconds: forget --prune, check, restore (NEOCUMA_OFFSITE_COMMAND_MINUTES)
    minimum_rate: float = 100_000  # bytes a second a push may not go slower than (NEOCUMA_OFFSITE_MINIMUM_RATE_KB)
    sftp: SftpPinning | None = None  # an sftp: repository's key and pinned host key

    def __post_init__(self) -> None:
        self._options()  # raises BadRequest naming the problem

    def _options(self, ssh_log: Path | None = None) -> list[str]:
        """restic's global options for this repository: for ``sftp:``, the pinned ssh command
        (an sftp: repository without its pinning is refused, never left to ssh's defaults)."""
        if repository_kind(self.repository) != "sftp":
            return []
        if self.sftp is None:
            raise BadRequest(
                f"dépôt hors site {shown(self.repository)} : un dépôt sftp: demande sa clé et sa clé d'hôte épinglée"
                " (NEOCUMA_OFFSITE_SFTP_KEY_FILE, NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE)"
            )
        return restic_options(self.repository, self.sftp, str(ssh_log) if ssh_log else "")

    def _ssh_log(self) -> Path | None:
        """For ``sftp:``, a new file where ssh writes its messages, read when restic fails."""
        if self.sftp is None:
            return None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="ssh-", suffix=".log", dir=self.cache_dir)
        os.close(handle)
        return Path(name)

    def _run(self, arguments: Sequence[str], timeout: float | None = None, cwd: Path | None = None) -> bytes:
        env = {
            "TZ": "UTC",  # restic reads --time in local time
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.cache_dir),
            "RESTIC_REPOSITORY": self.repository,
            "RESTIC_PASSWORD": self.password,  # in the child's environment only, never its arguments
            "RESTIC_CACHE_DIR": str(self.cache_dir),
            **self.environment,
        }
        ssh_log = self._ssh_log()
        try:
            try:
                done = subprocess.run(
                    [self.binary, "--quiet", *self._options(ssh_log), *arguments],
                    env=env,
                    cwd=cwd,
                    capture_output=True,
                    timeout=timeout or self.timeout,
                    check=False,
                )
            except FileNotFoundError as error:
                raise Unavailable(f"restic est introuvable ({self.binary}) : installez le paquet restic") from error
            except subprocess.TimeoutExpired as error:
                raise Unavailable(
                    f"restic {arguments[0]} sur le dépôt hors site n'a pas fini en {timeout or self.timeout:.0f} s"
                ) from error
            if done.returncode != 0:
                said_by_ssh = ssh_log.read_text("utf-8", "replace") if ssh_log and ssh_log.exists() else ""
                raise self._failure(arguments[0], done.stderr.decode("utf-8", "replace"), said_by_ssh)
            return done.stdout
        finally:
            if ssh_log is not None:
                ssh_log.unlink(missing_ok=True)

    def _failure(self, command: str, restic_said: str, ssh_said: str = "") -> ApplianceError:
        lines = [line.strip() for line in restic_said.splitlines() if line.strip()]
        said = lines[-1][:300] if lines else "aucun message"
        ssh_lines = [line.strip() for line in ssh_said.splitlines() if line.strip()]
        if ssh_lines:  # what ssh itself said (a host not found, a connection refused) comes first
            said = f"ssh : {ssh_lines[-1][:200]} ; {said}"
        stderr = f"{restic_said}\n{ssh_said}"
        lowered = stderr.lower()
        where = f"dépôt hors site {shown(self.repository)}"
        http = next((code for code in ("401 unauthorized", "403 forbidden") if code in lowered), None)
        if http is not None:  # before "is there a repository": restic asks that after a 401 too
            return BadRequest(
                f"{where} : identifiants refusés par le serveur (HTTP {http[:3]}) :"
                " vérifiez l'utilisateur et le mot de passe de l'adresse (REST) ou les clés S3 ; rien n'a été créé"
            )
        if self.sftp is not None:  # before the markers below: restic then says it cannot open the repository
            refused = ssh_failure(stderr)
            if refused is not None:
                return BadRequest(f"{where} : {refused}")
            full = sftp_write_refused(stderr)
            if full is not None:
                return Unavailable(f"{where} : {full} ; restic {command} a échoué ({said})")
        if "repository contains errors" in lowered:  # restic check: what it found comes first
            found = next((line for line in lines if not line.startswith("Fatal:")), said)[:300]
            return BadRequest(f"{where} endommagé : restic {command} a échoué, il y a trouvé des erreurs ({found})")
        if "is already locked" in lowered:  # a live restic's lock: stale ones are removed first (unlock)
            return Unavailable(
                f"{where} verrouillé par un autre restic (en cours, ou arrêté il y a moins de 30 minutes sur un autre"
                f" hôte) : restic {command} a échoué, nouvel essai à la prochaine copie"
            )
        if "wrong password" in lowered:
            return BadRequest(f"{where} : mot de passe refusé (le fichier de mot de passe n'est pas celui du dépôt)")
        if "no space left" in lowered or "quota" in lowered:
            return Unavailable(f"{where} plein : restic {command} a échoué ({said})")
        if any(marker in lowered for marker in _UNREACHABLE):  # restic then asks if a repository is there too
            return Unavailable(f"{where} injoignable : restic {command} a échoué ({said})")
        if "is there a repository at" in lowered or ("config file" in lowered and "does not exist" in lowered):
            return RepositoryMissing(f"{where} introuvable ou pas encore créé ({said})")
        return BadRequest(f"{where} : restic {command} a échoué ({said})")

    def exists(self) -> bool:
        """Whether a repository answers at that address with this password."""
        try:
            self._run(["cat", "config"], timeout=120)
        except RepositoryMissing:
            return False
        return True

    def create(self) -> None:
        """``restic init``, with compression (repository format 2)."""
        self._run(["init", "--repository-version", "2"], timeout=300)

    def push(self, tree: Path, tags: Sequence[str], made: dt.datetime) -> PushSummary:
        """One snapshot of the directory ``tree``'s contents, dated ``made``. restic runs
        from ``tree`` and backs up ``.``: the snapshot's path is ``tree`` (the same every
        time, so each snapshot's parent is the previous one) and its files sit at its root,
        so ``restore`` gives back the tree ``unzip`` would make. Raises as ``_run``."""
        arguments = ["backup", "--json", "--host", HOST, "--time", made.strftime("%Y-%m-%d %H:%M:%S")]
        for tag in tags:
            arguments += ["--tag", tag]
        summary = _summary(self._run([*arguments, "."], timeout=self.push_timeout(_tree_bytes(tree)), cwd=tree))
        snapshot = summary.get("snapshot_id")
        if not isinstance(snapshot, str) or not snapshot:
            raise BadRequest("restic backup n'a pas nommé son instantané : copie hors site incertaine")
        return PushSummary(
            snapshot,
            _number(summary, "total_files_processed"),
            _number(summary, "data_added"),
            _number(summary, "total_bytes_processed"),
        )

    def push_timeout(self, size: int) -> float:
        """The time limit of a push of ``size`` bytes: a start (opening the repository, loading
        its index) and the bytes at ``minimum_rate``. A restic that hangs (REST and S3 have no
        keepalive) is killed then, never left holding the guardian for hours."""
        return PUSH_START_SECONDS + size / self.minimum_rate

    def copies(self) -> list[OffsiteCopy]:
        return parse_snapshots(self._run(["snapshots", "--json"], timeout=600))

    def unlock(self) -> None:
        """``restic unlock``: remove the locks restic itself holds stale, never a live one. In
        restic 0.14 a lock is stale when it is older than 30 minutes (a live restic refreshes
        its own every 5), or when it was made on this host name by a process that is gone: a
        restic the guardian killed (its time limit, a stop of the container) leaves one, which
        would refuse every ``forget`` and ``check`` (they want the repository alone) until
        removed. Never raises: a failure (the repository unreachable, or refusing deletions)
        is logged, and the command that follows says what is wrong."""
        try:
            self._run(["unlock"], timeout=600)
        except ApplianceError as error:
            log.warning("verrous périmés du dépôt hors site non retirés : %s", error)

    def forget(self, retention: Retention, kind: str) -> None:
        """``restic forget --prune`` with the retention, after removing stale locks."""
        self.unlock()
        self._run(["forget", "--prune", *retention.forget_arguments(kind)])

    def check(self, part: int, parts: int) -> None:
        """``restic check``: the repository's structure, and the data of pack files in part
        ``part`` of ``parts`` (``--read-data-subset=part/parts``: every pack is in one part,
        so ``parts`` checks with each part read every byte once). Raises BadRequest when the
        repository is damaged. Stale locks are removed first (``unlock``)."""
        self.unlock()
        self._run(["check", f"--read-data-subset={part}/{parts}"])

    def restore(self, snapshot: str, target: Path) -> None:
        self._run(["restore", snapshot, "--target", str(target)])

    def size(self) -> int:
        """The bytes the repository holds (``stats --mode raw-data``)."""
        stats = json.loads(self._run(["stats", "--json", "--mode", "raw-data"], timeout=600) or b"{}")
        return int(stats.get("total_size", 0))


def _tree_bytes(tree: Path) -> int:
    return sum(path.stat().st_size for path in tree.rglob("*") if path.is_file())


def _number(summary: Mapping[str, object], key: str) -> int:
    value = summary.get(key, 0)
    return value if isinstance(value, int) else 0


def _summary(output: bytes) -> dict[str, object]:
    for line in reversed(output.splitlines()):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            return message
    raise BadRequest("restic backup n'a pas donné de résumé : instantané incertain")
