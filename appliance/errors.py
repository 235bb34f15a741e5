"""The one root exception of the appliance and its families.

Every error a user can meet is an ``ApplianceError`` whose message is a sentence naming the
problem. Adapters turn library exceptions into these (``raise ... from error``); only the
command-line ``main`` functions turn them into exit statuses.
"""


class ApplianceError(Exception):
    """Root of every error raised on purpose by the appliance."""


class ConfigError(ApplianceError):
    """The configuration is invalid; the message lists every problem found, one a line (in
    French, as every message a user reads)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("configuration invalide :\n" + "\n".join(f"  - {p}" for p in problems))


class BadRequest(ApplianceError):
    """A request, argument or file is malformed; nothing was changed."""


class Refused(ApplianceError):
    """A request was understood but is not allowed (rights, profile, mode); nothing changed."""


class NotFound(ApplianceError):
    """A named object (dossier, generation, file) does not exist."""


class Unavailable(ApplianceError):
    """A dependency (database, remote server, disk) cannot serve the request right now."""


class TryAgain(Unavailable):
    """The request cannot be served now but a new one would be (a write committed as an
    export began): the protocol marks the refusal retryable (docs/protocol.md, "Errors")."""


class RemoteRefused(ApplianceError):
    """The central server refused a request; ``code`` is the protocol's (docs/protocol.md)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class HostKeyChanged(Refused):
    """The central server presents another host key than the pinned one: nothing was sent."""


class HostKeyUnknown(Refused):
    """No host key is pinned for the central server yet: nothing was sent."""
