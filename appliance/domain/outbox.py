"""The outbox and its replay (docs/design.md §10, docs/protocol.md ``v1 replay``): pure rules.

A local server in fallback mode records every bon de travaux it takes as an *operation*: a
unique id, the dossier, the kind, the form's fields, the local number, the author and the
time. On return the guardian sends the pending operations to the central server, one JSON
line each; the central server applies each with the web form's checks, or answers that it
applied it already (same id, same content: same central number), or refuses it with a
reason. The outcome goes back into the outbox: applied (with the central number) or refused
(with the reason, to be shown); a refused operation blocks nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.protocol import ProtocolError

KINDS = ("bon",)
BON_FIELDS = ("tiers_id", "activite_id", "date", "quantite")
MAX_OPERATIONS_PER_REPLAY = 5000
MAX_OPERATION_LINE_BYTES = 4096
MAX_REPLAY_BYTES = MAX_OPERATIONS_PER_REPLAY * MAX_OPERATION_LINE_BYTES
_OPERATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOGIN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_NUMERO = re.compile(r"[A-Za-z0-9-]{1,32}")

APPLIED = "appliquee"
ALREADY_APPLIED = "deja_appliquee"
REFUSED = "refusee"
STATUSES = (APPLIED, ALREADY_APPLIED, REFUSED)
# The replay state of an operation in the outbox.
PENDING, DONE, NOT_TAKEN = "pending", "applied", "refused"


@dataclass(frozen=True)
class Operation:
    """One write made on the local server in fallback mode, as the outbox holds it."""

    id: str
    dossier: str
    kind: str
    payload: Mapping[str, str]
    local_id: int
    local_numero: str
    user: str
    created_at: dt.datetime

    def line(self) -> bytes:
        """The operation as one JSON line of a ``v1 replay`` batch."""
        document = {
            "id": self.id,
            "dossier": self.dossier,
            "type": self.kind,
            "saisie": dict(self.payload),
            "numero_local": self.local_numero,
            "utilisateur": self.user,
            "saisi_le": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return (json.dumps(document, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")

    @property
    def digest(self) -> str:
        """What the central server keeps to tell a replay of this operation from another
        operation reusing its id: the dossier, the kind and the fields, canonically."""
        canonical = json.dumps([self.dossier, self.kind, dict(self.payload)], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bon_payload(tiers_id: int, activite_id: int, day: dt.date, quantity: str) -> dict[str, str]:
    """The fields of a bon as the outbox keeps them: the form's four fields, as validated."""
    return {"tiers_id": str(tiers_id), "activite_id": str(activite_id), "date": day.isoformat(), "quantite": quantity}


def valid_operation_id(text: str) -> bool:
    """A lower-case UUID, as the local server writes them."""
    return bool(_OPERATION_ID.fullmatch(text))


def parse_operation(raw: bytes, number: int) -> Operation:
    """One line of a ``v1 replay`` batch (``number`` counts from 1, for the message); raises
    ProtocolError ``bad_request`` naming the line and the problem."""

    def bad(problem: str) -> ProtocolError:
        return ProtocolError("bad_request", f"opération {number} : {problem}; aucune opération n'a été appliquée")

    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad("ligne JSON illisible") from error
    if not isinstance(document, dict):
        raise bad("un objet JSON est attendu")
    identifier, dossier, kind = document.get("id"), document.get("dossier"), document.get("type")
    if not isinstance(identifier, str) or not valid_operation_id(identifier):
        raise bad("identifiant (id) invalide : un UUID est attendu")
    if not isinstance(dossier, str) or not valid_dossier_code(dossier):
        raise bad("code de dossier invalide")
    if kind not in KINDS:
        raise bad(f"type inconnu (types : {', '.join(KINDS)})")
    payload = document.get("saisie")
    if (
        not isinstance(payload, dict)
        or set(payload) != set(BON_FIELDS)
        or not all(isinstance(v, str) and len(v) <= 64 for v in payload.values())
    ):
        raise bad(f"saisie invalide : les champs {', '.join(BON_FIELDS)} sont attendus, en texte")
    numero, user, when = document.get("numero_local"), document.get("utilisateur"), document.get("saisi_le")
    if not isinstance(numero, str) or not _NUMERO.fullmatch(numero):
        raise bad("numéro local invalide")
    if not isinstance(user, str) or not _LOGIN.fullmatch(user):
        raise bad("utilisateur invalide")
    try:
        created = (
            dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
            if isinstance(when, str)
            else None
        )
    except ValueError:
        created = None
    if created is None:
        raise bad("date de saisie invalide (attendu : AAAA-MM-JJTHH:MM:SS.ffffffZ)")
    return Operation(identifier, dossier, "bon", dict(payload), 0, numero, user, created)


def parse_batch(raw: bytes) -> list[Operation]:
    """A whole ``v1 replay`` batch: one operation per line, ids unique; raises ProtocolError
    (``bad_request``, ``request_too_large``) refusing the batch before anything is applied."""
    if len(raw) > MAX_REPLAY_BYTES:
        raise ProtocolError("request_too_large", f"lot de plus de {MAX_REPLAY_BYTES} octets : rien n'a été appliqué")
    lines = [line for line in raw.split(b"\n") if line.strip()]
    if not lines:
        raise ProtocolError("bad_request", "les opérations sont attendues sur l'entrée, une ligne JSON chacune")
    if len(lines) > MAX_OPERATIONS_PER_REPLAY:
        raise ProtocolError(
            "request_too_large",
            f"{len(lines)} opérations, la limite est {MAX_OPERATIONS_PER_REPLAY} par requête : rien n'a été appliqué",
        )
    operations = [parse_operation(line, number) for number, line in enumerate(lines, 1)]
    seen: set[str] = set()
    for number, operation in enumerate(operations, 1):
        if operation.id in seen:
            raise ProtocolError(
                "bad_request", f"opération {number} : identifiant {operation.id} en double; rien n'a été appliqué"
            )
        seen.add(operation.id)
    return operations


@dataclass(frozen=True)
class Applied:
    """What the central server recorded for an operation it applied."""

    digest: str
    dossier: str
    bon_id: int
    numero: str


@dataclass(frozen=True)
class Outcome:
    """The answer for one operation: applied or already applied (with the central id and
    number), or refused (with the reason, in French)."""

    id: str
    status: str
    local_numero: str
    central_id: int | None = None
    central_numero: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        """The operation's line of the ``v1 replay`` answer."""
        document: dict[str, object] = {"id": self.id, "etat": self.status, "numero_local": self.local_numero}
        if self.status == REFUSED:
            document["motif"] = self.reason
        else:
            document["id_central"] = self.central_id
            document["numero_central"] = self.central_numero
        return document

    @property
    def done(self) -> bool:
        """Applied now or before: the operation leaves the pending ones."""
        return self.status in (APPLIED, ALREADY_APPLIED)


def replayed_before(operation: Operation, recorded: Applied | None) -> Outcome | None:
    """The answer when the central server holds a record of ``operation``'s id: the same
    central number when it is the same operation, a refusal when another operation took
    that id; None when the operation was never applied (it must be applied now)."""
    if recorded is None:
        return None
    if recorded.digest != operation.digest or recorded.dossier != operation.dossier:
        return Outcome(
            operation.id,
            REFUSED,
            operation.local_numero,
            reason=f"l'identifiant {operation.id} a déjà servi à une autre saisie : opération refusée",
        )
    return Outcome(operation.id, ALREADY_APPLIED, operation.local_numero, recorded.bon_id, recorded.numero)


def parse_outcome(raw: bytes, sent: Mapping[str, Operation]) -> Outcome:
    """One line of a ``v1 replay`` answer, checked against the operations sent; raises
    ValueError naming the problem (an answer the guardian cannot trust records nothing)."""
    document = json.loads(raw.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("réponse inattendue : un objet JSON est attendu par opération")
    identifier, status = document.get("id"), document.get("etat")
    if not isinstance(identifier, str) or identifier not in sent:
        raise ValueError(f"réponse pour une opération non envoyée : {str(identifier)[:40]!r}")
    if status not in STATUSES:
        raise ValueError(f"état de réponse inconnu : {str(status)[:40]!r}")
    local = sent[identifier].local_numero
    if status == REFUSED:
        reason = document.get("motif")
        return Outcome(identifier, REFUSED, local, reason=str(reason)[:2000] if reason else "refusée sans motif")
    central_id, numero = document.get("id_central"), document.get("numero_central")
    if not isinstance(central_id, int) or isinstance(central_id, bool) or not isinstance(numero, str):
        raise ValueError(f"réponse sans numéro central pour l'opération {identifier}")
    return Outcome(identifier, str(status), local, central_id, numero)


@dataclass(frozen=True)
class OutboxEntry:
    """An operation of the outbox with its replay state (``PENDING``, ``DONE`` with the
    central number, ``NOT_TAKEN`` with the central server's reason)."""

    operation: Operation
    state: str
    central_numero: str | None = None
    reason: str | None = None
    generation: int | None = None  # the data generation the bon was entered in (one per outage)


def outbox_state(outcome: Outcome) -> str:
    """The state an answer leaves the operation in: applied now or before, or refused."""
    return DONE if outcome.done else NOT_TAKEN


def renumbering(outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    """The mapping the return reports: (local number, central number) of each operation
    applied now or before, in the order of the batch."""
    return [(o.local_numero, o.central_numero) for o in outcomes if o.done and o.central_numero is not None]
