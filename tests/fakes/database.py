"""An in-memory local MySQL: the control row, generations holding dossiers (with their
revisions and the members they were loaded from), loads that check every member like the
real loader, transactions that run the guard first, and faults to inject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from appliance.adapters.backup_reader import verify_members
from appliance.domain.backup_format import VerifiedBackup
from appliance.domain.dossiers import LocalDossier
from appliance.domain.generations import Live, LoadReport
from appliance.domain.outbox import PENDING, Operation, OutboxEntry, Outcome, bon_payload, outbox_state
from appliance.domain.standby import HeldContent, StandbyContent, StandbyPlan, dossier_digest
from appliance.errors import ApplianceError, Refused, Unavailable
from tests.support.backups import Dossier, backup_zip

Guard = Callable[[Mapping[str, LocalDossier]], None]


def _record(backup: VerifiedBackup) -> dict[str, HeldContent]:
    return {d.code: HeldContent(d.id, d.revision, dossier_digest(d)) for d in backup.manifest.dossiers}


@dataclass
class Generation:
    dossiers: dict[str, LocalDossier] = field(default_factory=dict)
    loaded_from: str | None = None
    record: dict[str, HeldContent] | None = None  # None: no record (as before incremental syncs)
    built_at: dt.datetime | None = None
    schema_version: int = 1


def bon_operation(
    number: int, dossier: str = "120001", user: str = "compta1.fd12", first_local: int = 40, family: str = "8000"
) -> Operation:
    """The ``number``-th bon entered in fallback mode, as the outbox records it."""
    return Operation(
        id=f"00000000-0000-4000-{family}-{number:012d}",
        dossier=dossier,
        kind="bon",
        payload=bon_payload(7, 2, dt.date(2026, 3, 4), f"{number}.00"),
        local_id=first_local + number,
        local_numero=f"BT03-{first_local + number:05d}",
        user=user,
        created_at=dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=number),
    )


class FakeDatabase:
    def __init__(self) -> None:
        self.control = Live(None, None, "standby")
        self.schemas: dict[int, Generation] = {}
        self.fail_load: Exception | None = None
        self.fail_switch: ApplianceError | None = None
        self.down: bool = False
        self.before_guard: Callable[[FakeDatabase], None] | None = None  # a LAN write racing the job
        self.switches: list[tuple[int | None, int | None]] = []
        self.replaced: list[list[str]] = []
        self.modes: list[str] = []
        self.exported: list[str] = []
        self.refreshed: list[tuple[int, int, tuple[str, ...]]] = []  # (standby, target, replaced)
        self.fail_refresh: ApplianceError | None = None
        self.outbox_entries: list[OutboxEntry] = []  # the local server's outbox, oldest first
        self.bons_entered = 0

    def _up(self) -> None:
        if self.down:
            raise Unavailable(
                "impossible de se connecter à MySQL sur mysql:3306 en tant que neocuma_guardian : refused"
            )

    def live(self) -> Live:
        self._up()
        return self.control

    def outbox(self, states: Sequence[str]) -> list[OutboxEntry]:
        self._up()
        return [entry for entry in self.outbox_entries if entry.state in states]

    def record_outcome(self, outcome: Outcome, at: dt.datetime) -> None:
        self._up()
        self.outbox_entries = [
            OutboxEntry(e.operation, outbox_state(outcome), outcome.central_numero, outcome.reason, e.generation)
            if e.operation.id == outcome.id
            else e
            for e in self.outbox_entries
        ]

    def generations(self) -> list[int]:
        self._up()
        return sorted(self.schemas)

    def create_generation(self, generation: int) -> None:
        self._up()
        if generation in self.schemas:
            raise Unavailable(f"impossible de créer le schéma neocuma_g{generation} : it exists")
        self.schemas[generation] = Generation()

    def load_generation(
        self,
        generation: int,
        backup: VerifiedBackup,
        progress: Callable[[int, int], None] | None = None,
        built_at: dt.datetime | None = None,
    ) -> LoadReport:
        self._up()
        if self.fail_load is not None:
            raise self.fail_load
        verify_members(backup, backup.manifest.all_members())  # as the loader: every member, as it streams
        if progress is not None:
            total = sum(digest.size for digest in backup.manifest.all_members().values())
            progress(total, total)
        rows = sum(d.rows() for d in backup.manifest.dossiers)
        self.schemas[generation] = Generation(
            {d.code: LocalDossier(d.id, d.code, f"CUMA {d.code}", d.revision) for d in backup.manifest.dossiers},
            backup.name,
            _record(backup),
            built_at or dt.datetime.now(dt.UTC),
            backup.manifest.schema_version,
        )
        return LoadReport(rows, 0, 0.1, 0.1)

    def standby_content(self, generation: int) -> StandbyContent | None:
        self._up()
        held = self.schemas.get(generation)
        if held is None or held.record is None or held.built_at is None:
            return None
        return StandbyContent(
            generation,
            held.loaded_from or "",
            held.built_at,
            held.schema_version,
            dict(held.record),
            {code: (d.id, d.revision) for code, d in held.dossiers.items()},
        )

    def refresh_generation(
        self,
        standby: int,
        target: int,
        backup: VerifiedBackup,
        plan: StandbyPlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> LoadReport:
        self._up()
        if self.fail_refresh is not None:
            raise self.fail_refresh
        manifest = backup.manifest
        members = {n: d for n, d in manifest.all_members().items() if n.startswith("centre/")}
        members |= {
            n: d for n, d in manifest.all_members().items() if n.split("/")[1:2] and n.split("/")[1] in plan.replace
        }
        verify_members(backup, members)  # as the adapter: what it loads, checked
        before = self.schemas.pop(standby)
        self.schemas[target] = Generation(
            {d.code: LocalDossier(d.id, d.code, f"CUMA {d.code}", d.revision) for d in manifest.dossiers},
            backup.name,
            _record(backup),
            before.built_at,
            manifest.schema_version,
        )
        self.refreshed.append((standby, target, plan.replace))
        rows = sum(d.rows() for d in manifest.dossiers if d.code in plan.replace)
        return LoadReport(rows, 0, 0.01, 0.01)

    def drop_generation(self, generation: int) -> None:
        self._up()
        self.schemas.pop(generation, None)

    def switch_live(self, data_generation: int | None, system_generation: int | None) -> None:
        self._up()
        if self.fail_switch is not None:
            raise self.fail_switch
        self.control = Live(data_generation, system_generation, self.control.mode)
        self.switches.append((data_generation, system_generation))

    def dossiers(self) -> dict[str, LocalDossier]:
        self._up()
        live = self.control.data_generation
        return {} if live is None else dict(self.schemas[live].dossiers)

    def set_mode(self, mode: str, guard: Guard | None = None) -> None:
        self._up()
        if self.before_guard is not None:
            self.before_guard(self)
        if guard is not None and self.control.data_generation is not None:
            guard(self.dossiers())
        self.control = Live(self.control.data_generation, self.control.system_generation, mode)
        self.modes.append(mode)

    def replace_dossiers(self, generation: int, backup: VerifiedBackup, guard: Guard) -> None:
        self._up()
        entries = backup.manifest.dossiers
        if self.control.data_generation != generation:
            raise Unavailable("la génération en service a changé entre-temps ; rien n'a été écrit, réessayez")
        if self.before_guard is not None:
            self.before_guard(self)
        wanted = {entry.code for entry in entries}
        guard({code: d for code, d in self.dossiers().items() if code in wanted})
        live = self.schemas[generation]
        for entry in entries:
            live.dossiers[entry.code] = LocalDossier(entry.id, entry.code, f"CUMA {entry.code}", entry.revision)
        self.replaced.append(sorted(wanted))

    def export_dossier(self, dossier: LocalDossier, login: str, sink: BinaryIO, now: dt.datetime) -> None:
        self._up()
        if self.control.data_generation is None:
            raise Refused("le serveur local n'a aucune donnée")
        sink.write(backup_zip([Dossier(dossier.id, dossier.code, dossier.revision)], login=login))
        self.exported.append(dossier.code)

    # For the tests -------------------------------------------------------------------
    def write(self, code: str) -> None:
        """A LAN user enters a bon in fallback: the dossier's revision moves."""
        live = self.schemas[self.control.data_generation or 0]
        before = live.dossiers[code]
        live.dossiers[code] = LocalDossier(before.id, before.code, before.name, before.revision + 1)

    def enter_bon(self, code: str, user: str = "compta1.fd12") -> OutboxEntry:
        """A LAN user enters a bon in fallback mode as the local server does: the revision
        moves and the operation goes into the outbox in the same step."""
        self.write(code)
        live = self.schemas[self.control.data_generation or 0]
        self.bons_entered += 1
        number = self.bons_entered
        operation = bon_operation(number, code, user, first_local=500, family="9000")
        entry = OutboxEntry(operation, PENDING, generation=self.control.data_generation)
        assert live.dossiers[code].revision  # the dossier is served
        self.outbox_entries.append(entry)
        return entry

    def set_live(self, generation: int, dossiers: Sequence[Dossier], mode: str = "standby") -> None:
        self.schemas[generation] = Generation(
            {d.code: LocalDossier(d.id, d.code, d.label, d.revision) for d in dossiers}, "seeded"
        )
        self.control = Live(generation, generation, mode)
