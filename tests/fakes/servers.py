"""The central server and the local server as fakes: accounts with profiles, dossiers in
rights with revisions, exports that are valid backups (or cut, or stalled), imports that
check the password typed again, host keys to pin, and a local server whose /healthz
follows the fake database's control row unless told to lag or fail."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from appliance.adapters.system_zip import verify_system_zip
from appliance.domain.backup_format import Opener
from appliance.domain.changes import HeldDossier
from appliance.domain.dossiers import ImportReply, RemoteDossier
from appliance.domain.identity import WhoAmI
from appliance.domain.outbox import APPLIED, REFUSED, Applied, Operation, Outcome, replayed_before
from appliance.domain.protocol import RETRYABLE_EXIT_STATUS
from appliance.errors import HostKeyChanged, HostKeyUnknown, Refused, RemoteRefused, Unavailable
from appliance.guardian.ports import Sink
from tests.fakes.database import FakeDatabase
from tests.support.backups import Dossier, backup_members, delta_members, system_files_manifest, zip_members

KEY = "SHA256:centralKeyOfTheDemo0000000000000000000000"
OTHER_KEY = "SHA256:anotherKey000000000000000000000000000000000"
PASSWORD = "Demo-FD12-2026"
COLLEAGUE, COLLEAGUE_PASSWORD = "resp2.fd12", "Autre-FD12-2026"  # another responsable of FD12


@dataclass
class Account:
    password: str
    profile: str = "responsable_departemental"
    centre: str = "FD12"


@dataclass
class FakeCentral:
    """The central server: ``dossiers`` are those in the responsable's rights."""

    dossiers: dict[str, Dossier] = field(default_factory=dict)
    exporte: set[str] = field(default_factory=set)
    accounts: dict[str, Account] = field(
        default_factory=lambda: {
            "resp.fd12": Account(PASSWORD),
            COLLEAGUE: Account(COLLEAGUE_PASSWORD),
            "resp.fd24": Account(PASSWORD, centre="FD24"),
            "compta.fd12": Account(PASSWORD, profile="comptable_departemental"),
        }
    )
    system_files: dict[str, bytes] = field(default_factory=lambda: {"modeles/facture.html": b"<p>facture</p>"})
    presented: str = KEY
    pinned: str | None = KEY
    reachable: bool = True
    cut_after: int | None = None  # bytes of an export sent before the link drops
    gives_up_after: int | None = None  # bytes sent before the server answers ``unavailable``
    gives_up_times: int | None = None  # how many transfers give up so (None: every one)
    gives_up_status: int = RETRYABLE_EXIT_STATUS  # 6: a server from before the retryable flag
    busy: dict[str, int] = field(default_factory=dict)  # request -> refusals to come, retryable, before it is served
    stall: bool = False
    lying_system_file: bytes | None = None  # served instead of a system file (its MANIFEST is true)
    system_fetched: list[str] = field(default_factory=list)  # the system files served, in order
    export_login: str | None = None  # the login the server writes in its manifests (None: the caller's)
    tamper: Callable[[dict[str, bytes]], None] | None = None  # changes an export's members after the manifest
    skew: float = 0.0  # seconds the central clock is ahead of the guardian's
    time_source: Callable[[], float] = time.time
    clock_requests: int = 0  # ``v1 time`` requests answered
    address: str = "remote-neocuma:2222"
    sessions: int = 0
    imports: list[tuple[str, str]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    knows_changes: bool = True  # False: a server older than v1 export-changes
    held_sent: list[dict[str, HeldDossier]] = field(default_factory=list)  # each export-changes' document
    full_exports: int = 0
    replayed: dict[str, Applied] = field(default_factory=dict)  # v1 replay: the operations applied
    bons: dict[str, int] = field(default_factory=dict)  # the last bon id of each dossier
    refusals: dict[str, str] = field(default_factory=dict)  # dossier → the reason its operations are refused
    replay_cut_after: int | None = None  # operations applied before the link drops (answers lost)
    replay_logins: list[str] = field(default_factory=list)  # the session's login of each v1 replay

    def session(self, login: str, password: str) -> FakeSession:
        if not self.reachable:
            raise Unavailable(f"le serveur distant {self.address} est injoignable : [Errno 113] No route to host")
        if self.pinned is None:
            raise HostKeyUnknown(
                f"aucune clé d'hôte épinglée pour {self.address} ; le serveur présente {self.presented}"
            )
        if self.pinned != self.presented:
            raise HostKeyChanged(
                f"la clé d'hôte de {self.address} a CHANGÉ : épinglée {self.pinned}, présentée {self.presented}"
            )
        account = self.accounts.get(login)
        if account is None or account.password != password:
            raise Refused(
                f"le serveur distant a refusé l'identification de {login} : utilisateur ou mot de passe incorrect"
            )
        self.sessions += 1
        return FakeSession(self, login, account)

    def presented_fingerprint(self) -> str:
        if not self.reachable:
            raise Unavailable(f"le serveur distant {self.address} est injoignable")
        return self.presented

    def pinned_fingerprint(self) -> str | None:
        return self.pinned

    def pin(self, fingerprint: str) -> str:
        if fingerprint != self.presented:
            raise Refused(f"le serveur distant présente {self.presented}, pas {fingerprint} : rien n'a été épinglé")
        self.pinned = fingerprint
        return fingerprint

    def refuse_if_busy(self, request: str) -> None:
        """A refusal a new request cures (a future server's full queue, say), while ``busy`` says so."""
        if self.busy.get(request, 0) > 0:
            self.busy[request] -= 1
            raise RemoteRefused(
                "unavailable", f"{request} : trop de demandes en cours, réessayez", RETRYABLE_EXIT_STATUS
            )

    def write(self, code: str) -> None:
        """A change on the central server: the dossier's revision moves."""
        before = self.dossiers[code]
        self.dossiers[code] = Dossier(before.id, before.code, before.revision + 1, before.name, before.rows)


class FakeSession:
    stall_timeout = 60.0

    def __init__(self, central: FakeCentral, login: str, account: Account) -> None:
        self.central = central
        self.login = login
        self.account = account

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _guardian_only(self) -> None:
        if self.account.profile != "responsable_departemental":
            raise RemoteRefused("profile", "le profil responsable départemental est requis", 1)

    def whoami(self) -> WhoAmI:
        self._guardian_only()
        return WhoAmI(self.login, self.account.profile, self.account.centre, len(self.central.dossiers))

    def dossiers(self) -> dict[str, RemoteDossier]:
        self._guardian_only()
        return {
            code: RemoteDossier(code, d.label, d.revision, code in self.central.exporte)
            for code, d in self.central.dossiers.items()
        }

    def clock(self) -> float:
        self.central.clock_requests += 1
        return self.central.time_source() + self.central.skew

    def _now(self) -> str:
        """The central clock's moment, as an export's manifest records it."""
        moment = self.central.time_source() + self.central.skew
        return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def export(self, codes: Sequence[str], sink: Sink) -> int:
        self._guardian_only()
        self.central.refuse_if_busy("export")
        unknown = [code for code in codes if code not in self.central.dossiers]
        if unknown:
            raise RemoteRefused("rights", f"dossier(s) hors de vos droits : {', '.join(unknown)}", 1)
        chosen = [self.central.dossiers[code] for code in (codes or sorted(self.central.dossiers))]
        members = backup_members(
            chosen, login=self.central.export_login or self.login, centre=self.account.centre, created_at=self._now()
        )
        if self.central.tamper is not None:
            self.central.tamper(members)
        self.central.full_exports += 1
        return self._send(zip_members(members), sink)

    def export_changes(self, held: Mapping[str, HeldDossier], sink: Sink) -> int:
        """The delta a real server sends: the full export's members of the dossiers held
        with another ID système or revision (or not held), faults as ``export``."""
        self._guardian_only()
        self.central.held_sent.append(dict(held))
        self.central.refuse_if_busy("export-changes")
        if not self.central.knows_changes:
            raise RemoteRefused("bad_request", "commande inconnue : export-changes", 2)
        chosen = [self.central.dossiers[code] for code in sorted(self.central.dossiers)]
        full = backup_members(
            chosen, login=self.central.export_login or self.login, centre=self.account.centre, created_at=self._now()
        )
        if self.central.tamper is not None:
            self.central.tamper(full)
        included = {d.code for d in chosen if held.get(d.code) != HeldDossier(d.id, d.revision)}
        removed = sorted(set(held) - set(self.central.dossiers))
        return self._send(zip_members(delta_members(full, included, removed)), sink)

    def _send(self, data: bytes, sink: Sink) -> int:
        if self.central.stall:
            raise Unavailable("rien n'a été reçu du serveur distant depuis 60 s après 0 octets : transfert abandonné")
        if self.central.gives_up_after is not None and self.central.gives_up_times != 0:
            if self.central.gives_up_times is not None:
                self.central.gives_up_times -= 1
            sink.write(data[: self.central.gives_up_after])
            raise RemoteRefused(
                "unavailable",
                "dossier(s) modifié(s) pendant le début de l'export, redemandez les changements : 120002",
                self.central.gives_up_status,
            )
        if self.central.cut_after is not None:
            sink.write(data[: self.central.cut_after])
            raise Unavailable(f"la connexion au serveur distant a été perdue après {self.central.cut_after} octets")
        for start in range(0, len(data), 300 * 1024):
            sink.write(data[start : start + 300 * 1024])
        return len(data)

    def import_dossier(self, code: str, password: str, backup: Opener) -> ImportReply:
        self._guardian_only()
        self.central.refuse_if_busy("import")
        if password != self.account.password:
            raise RemoteRefused("wrong_password", "mot de passe incorrect", 1)
        if code in self.central.exporte:
            raise RemoteRefused("exporte", f"le dossier {code} est exporté", 1)
        with backup() as handle:
            self.central.sent.append(handle.read())
        self.central.write(code)
        self.central.imports.append((self.login, code))
        return ImportReply(self.central.dossiers[code].revision, f"{code}/pre-restore-1.zip")

    def replay(self, operations: Sequence[Operation], record: Callable[[Outcome], None]) -> list[Outcome]:
        self._guardian_only()
        self.central.replay_logins.append(self.login)
        outcomes: list[Outcome] = []
        for number, operation in enumerate(operations):
            outcome = replayed_before(operation, self.central.replayed.get(operation.id))
            if outcome is None and operation.dossier in self.central.refusals:
                outcome = Outcome(
                    operation.id, REFUSED, operation.local_numero, reason=self.central.refusals[operation.dossier]
                )
            if outcome is None:
                bon_id = self.central.bons.get(operation.dossier, 100) + 1
                self.central.bons[operation.dossier] = bon_id
                numero = f"BT03-{bon_id:05d}"
                self.central.replayed[operation.id] = Applied(operation.digest, operation.dossier, bon_id, numero)
                if operation.dossier in self.central.dossiers:
                    self.central.write(operation.dossier)  # a bon entered: the revision moves
                outcome = Outcome(operation.id, APPLIED, operation.local_numero, bon_id, numero)
            if self.central.replay_cut_after is not None and number >= self.central.replay_cut_after:
                # The link drops: this operation was applied, its answer is lost.
                self.central.replay_cut_after = None  # the link comes back for the next call
                raise Unavailable(f"rejeu interrompu : {number} réponse(s) pour {len(operations)} opération(s)")
            outcomes.append(outcome)
            record(outcome)
        return outcomes

    def system_manifest(self) -> bytes:
        self.central.refuse_if_busy("system")
        return system_files_manifest(self.central.system_files)

    @contextlib.contextmanager
    def system_file(self, path: str) -> Iterator[BinaryIO]:
        if self.central.stall:
            raise TimeoutError("timed out")
        self.central.system_fetched.append(path)
        lie = self.central.lying_system_file
        yield io.BytesIO(lie if lie is not None else self.central.system_files[path])


class FakeLocalServer:
    """The local NeoCuma server over the fake database: it serves what the control row says
    unless ``lag`` (it keeps showing ``shown``) or ``down``."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self.down = False
        self.lag = False
        self.shown: tuple[int | None, int | None] = (None, None)
        self.empty = False
        self.reloads = 0
        self.reload_fails = False
        self.system: dict[int, int] = {}
        self.staging: list[str] = []

    def healthz(self) -> dict[str, object]:
        if self.down:
            raise Unavailable("le serveur local ne répond pas à http://neocuma:8080 : refused")
        live = self.database.control
        data, system = self.shown if self.lag else (live.data_generation, live.system_generation)
        return {"status": "ok", "data_generation": data, "system_generation": system, "mode": live.mode}

    def dossier_count(self, login: str) -> tuple[int | None, int]:
        if self.down:
            raise Unavailable("la vérification applicative du serveur local a échoué : refused")
        live = self.database.control.data_generation
        return live, 0 if self.empty else len(self.database.dossiers())

    def reload(self) -> None:
        if self.reload_fails:
            raise Unavailable("impossible d'envoyer le signal au serveur local : le proxy Docker ne répond pas")
        self.reloads += 1

    def system_generations(self) -> list[int]:
        return sorted(self.system)

    def install_system(self, generation: int, system_zip: Opener) -> int:
        count = len(verify_system_zip(system_zip))
        self.system[generation] = count
        return count

    def remove_system(self, generation: int) -> None:
        self.system.pop(generation, None)

    def clean_system_staging(self) -> list[str]:
        removed, self.staging = self.staging, []
        return removed
