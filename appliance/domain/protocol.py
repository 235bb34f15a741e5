"""The guardian protocol over SSH exec requests (documented in docs/protocol.md).

A request is one exec command line: ``protocol`` (no version), or ``v<N> <command> [args]``.
Replies to metadata commands are one JSON document on stdout; ``export`` and ``export-changes``
write a zip (``export-changes`` reads the guardian's revisions on stdin, ``domain.changes``).
A refused request writes one line ``error <code>: <message>`` on stderr and exits with the
status of its code. This module only parses and validates: it does no I/O.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.numbers import ascii_digits, whole

PROTOCOL_NAME = "neocuma-guardian"
SUPPORTED_VERSIONS = (1,)
MAX_REQUEST_BYTES = 8192
MAX_DOSSIERS_PER_REQUEST = 2000
# The exit status of a refusal that a new request would cure (sysexits' EX_TEMPFAIL). The
# error line stays ``error <code>: <message>``, so a client that does not know the flag reads
# the same code and message as before (docs/protocol.md, "Errors").
RETRYABLE_EXIT_STATUS = 75

EXIT_STATUS = {
    "ok": 0,
    "internal": 1,
    "bad_request": 2,
    "request_too_large": 2,
    "unsupported_version": 3,
    "unknown_dossier": 4,
    "forbidden_profile": 5,
    "outside_rights": 5,
    "unavailable": 6,
    "wrong_password": 5,
    "dossier_exporte": 5,
    "invalid_backup": 7,
    "transfer_failed": 8,
}

COMMANDS = {
    "whoami": "who am I: user, profile, centre and the dossiers in my rights",
    "dossiers": "the dossiers in my rights with flags, revision and row counts",
    "revisions": "the dossiers in my rights with flags and revision, without row counts (cheap: for monitoring)",
    "export": "a data backup (zip) of the named dossiers, or of all dossiers in my rights",
    "export-changes": "a delta (zip): the dossiers in my rights that differ from the revisions sent on stdin",
    "time": "the server's UTC time",
    "import": "replace one dossier with the backup sent on stdin after the password typed again",
    "prerestores": "the pre-restore copies the server keeps (of one dossier, or of all)",
    "replay": "apply the operations of a local server's outbox sent on stdin (JSON lines), each once",
}


class ProtocolError(Exception):
    """A refused request: ``code`` is stable (see EXIT_STATUS), ``message`` is for people;
    ``retryable``: a new request would be served (exit status RETRYABLE_EXIT_STATUS)."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    @property
    def exit_status(self) -> int:
        if self.retryable:
            return RETRYABLE_EXIT_STATUS
        return EXIT_STATUS.get(self.code, 1)

    def line(self) -> str:
        """The reply's one line. A message quotes what the client sent: what is not printable
        there (line breaks, terminal escapes, bidi marks) is written escaped."""
        message = "".join(c if c.isprintable() or c == " " else _escaped(c) for c in self.message)
        return f"error {self.code}: {message}\n"


def _escaped(char: str) -> str:
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


@dataclass(frozen=True)
class Request:
    version: int | None  # None for the version-less ``protocol`` request
    command: str
    dossiers: tuple[str, ...] = ()


def parse_request(raw: bytes) -> Request:
    """Parse an exec command line; raises ProtocolError naming what is wrong."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise ProtocolError("request_too_large", f"requête de {len(raw)} octets, la limite est {MAX_REQUEST_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError("bad_request", "la requête n'est pas du texte UTF-8") from error
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ProtocolError("bad_request", f"requête illisible ({error})") from error
    if not words:
        raise ProtocolError("bad_request", "requête vide; essayez « protocol »")
    if words == ["protocol"]:
        return Request(None, "protocol")
    head = words[0]
    if not (head.startswith("v") and ascii_digits(head[1:])):
        raise ProtocolError(
            "bad_request", f"« {head[:40]} » n'est pas une version du protocole (attendu : v1 <commande>)"
        )
    version = whole(head[1:])  # None past 18 digits: int() refuses a text of over 4,300
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(f"v{v}" for v in SUPPORTED_VERSIONS)
        raise ProtocolError("unsupported_version", f"version {head[:40]} non prise en charge (versions : {supported})")
    if len(words) < 2:
        raise ProtocolError("bad_request", "commande manquante après la version")
    command, args = words[1], words[2:]
    if command not in COMMANDS:
        raise ProtocolError(
            "bad_request", f"commande inconnue « {command[:40]} » (commandes : {', '.join(sorted(COMMANDS))})"
        )
    if command in ("import", "prerestores"):
        wanted = 1 if command == "import" else len(args)
        if len(args) != wanted or len(args) > 1:
            expected = "exactement un code de dossier" if command == "import" else "au plus un code de dossier"
            raise ProtocolError("bad_request", f"la commande {command} prend {expected}")
        if args and not valid_dossier_code(args[0]):
            raise ProtocolError("bad_request", f"code de dossier invalide : {args[0][:40]!r}")
        return Request(version, command, tuple(args))
    if command != "export":
        if args:
            raise ProtocolError("bad_request", f"la commande {command} ne prend pas d'argument")
        return Request(version, command)
    if len(args) > MAX_DOSSIERS_PER_REQUEST:
        raise ProtocolError(
            "request_too_large", f"{len(args)} dossiers demandés, la limite est {MAX_DOSSIERS_PER_REQUEST}"
        )
    for code in args:
        if not valid_dossier_code(code):
            raise ProtocolError("bad_request", f"code de dossier invalide : {code[:40]!r}")
    unique = tuple(dict.fromkeys(args))
    return Request(version, command, unique)
