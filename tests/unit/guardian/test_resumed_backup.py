"""Resuming a cut backup over fakes (issue 13, item 4; docs/backup-format.md, "Resuming a cut
transfer"): what a cut transfer received whole is kept, the next run sends those dossiers as
held and copies them from the partial file; the backup it makes equals a full export. A
dossier changed since the cut, a damaged partial file, one too old, a server that does not
know ``export-changes`` and a guardian killed mid-transfer each do what they should."""

from __future__ import annotations

import dataclasses
import io
import logging
import zipfile

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.resume import salvage
from appliance.domain.backup_mode import FULL, INCREMENTAL
from appliance.domain.changes import HeldDossier
from appliance.domain.retry import RetryPolicy
from appliance.errors import RemoteRefused, Unavailable
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import FakeCentral
from tests.support.backups import Dossier, backup_members, delta_members, zip_members

DOSSIERS = [Dossier(100001 + n, f"12{n + 1:04d}", 1 + n % 4, rows=40 + 13 * n) for n in range(10)]


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(central=FakeCentral({d.code: d for d in DOSSIERS}))
    world.log_in()
    return world


def _full_size(world: FakeWorld) -> int:
    return len(_full_export(world))


def _members(world: FakeWorld, name: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(world.backups.files["data"][name][0])) as archive:
        return {member: archive.read(member) for member in archive.namelist() if member != "manifest.json"}


def _cut(world: FakeWorld, at: int, full: bool = False) -> None:
    world.central.cut_after = at
    with pytest.raises(Unavailable, match="perdue après"):
        world.parts.actions.data_backup(full=full)
    world.central.cut_after = None
    world.clock.advance(600)


def test_a_first_backup_cut_at_90_percent_resumes_with_the_rest(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    size = _full_size(world)
    _cut(world, size * 9 // 10)
    assert world.backups.data_names() == [] and len(world.backups.files["resume"]) == 1
    caplog.set_level(logging.INFO)
    result = world.parts.actions.data_backup()
    assert result.mode == FULL, "no previous backup: a full one, resumed"
    assert "reprise de" in result.reason and result.resumed >= 7
    sent = world.central.held_sent[-1]
    assert len(sent) == result.resumed, "the dossiers the cut transfer brought whole, and only those"
    assert all(
        sent[code] == HeldDossier(world.central.dossiers[code].id, world.central.dossiers[code].revision)
        for code in sent
    )
    assert result.transferred < size * 0.25, "only the rest crossed the link"
    assert "reprise d'un transfert interrompu" in caplog.text
    verify_backup(world.backups.data_opener(result.name), name=result.name)
    world.clock.advance(600)
    full = world.parts.actions.data_backup(full=True)
    assert _members(world, result.name) == _members(world, full.name), "every member equals a full export's"
    assert world.backups.files["resume"] == {}, "the partial file is dropped once used"
    assert world.state.last_full_backup() is not None


def test_an_incremental_backup_cut_resumes_from_the_previous_and_the_partial(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    for code in ("120002", "120005", "120009"):
        world.central.write(code)
    world.clock.advance(3600)
    _cut(world, _delta_start_of(world, first.name, "120009") + 100)
    partial = salvage("p", lambda: io.BytesIO(next(iter(world.backups.files["resume"].values()))[0]))
    assert set(partial.dossiers) == {"120002", "120005"}, "the cut fell inside 120009"
    result = world.parts.actions.data_backup()
    assert result.mode == INCREMENTAL and result.resumed == len(partial.dossiers)
    assert result.changed == 3 - len(partial.dossiers), "only what the cut missed crossed the link"
    world.clock.advance(600)
    full = world.parts.actions.data_backup(full=True)
    assert _members(world, result.name) == _members(world, full.name)


def _delta_start_of(world: FakeWorld, previous: str, code: str) -> int:
    """Where the first member of dossier ``code`` starts in the delta the server would send
    now for the dossiers of ``previous``."""
    manifest = world.backups.manifest(previous)
    assert manifest is not None
    held = {d.code: HeldDossier(d.id, d.revision) for d in manifest.dossiers}
    chosen = sorted(world.central.dossiers.values(), key=lambda d: d.code)
    included = {d.code for d in chosen if held.get(d.code) != HeldDossier(d.id, d.revision)}
    delta = zip_members(delta_members(backup_members(chosen), included, []))
    with zipfile.ZipFile(io.BytesIO(delta)) as archive:
        return min(i.header_offset for i in archive.infolist() if i.filename.startswith(f"dossiers/{code}/"))


def test_a_server_that_gives_up_mid_delta_leaves_a_partial_file_to_resume_from(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    for code in ("120002", "120005", "120009"):
        world.central.write(code)
    world.clock.advance(3600)
    world.central.gives_up_after = _delta_start_of(world, first.name, "120009") + 100
    # A refusal that outlasts the run's retries (tests/unit/guardian/test_retries.py).
    actions = dataclasses.replace(world.parts.actions, retry=RetryPolicy(attempts=1))
    with pytest.raises(RemoteRefused, match=r"pendant le début de l'export.*abandon après 1 essai$"):
        actions.data_backup()
    world.central.gives_up_after = None
    assert len(world.backups.files["resume"]) == 1
    assert world.parts.actions.data_backup().resumed == 2


def test_a_dossier_changed_since_the_cut_crosses_the_link_again(world: FakeWorld) -> None:
    _cut(world, _full_size(world) * 9 // 10)
    partial = salvage("p", lambda: io.BytesIO(next(iter(world.backups.files["resume"].values()))[0]))
    moved = sorted(partial.dossiers)[0]
    world.central.write(moved)
    result = world.parts.actions.data_backup()
    assert result.resumed == len(partial.dossiers) - 1
    assert world.backups.manifest(result.name) is not None
    revisions = {d.code: d.revision for d in world.backups.manifest(result.name).dossiers}  # type: ignore[union-attr]
    assert revisions[moved] == world.central.dossiers[moved].revision


def test_a_damaged_partial_file_is_used_only_up_to_the_damage(world: FakeWorld) -> None:
    _cut(world, _full_size(world) * 9 // 10)
    name, (content, when) = next(iter(world.backups.files["resume"].items()))
    whole = salvage("p", lambda: io.BytesIO(content))
    damaged = bytearray(content)
    damaged[len(content) // 2] ^= 0xFF
    world.backups.files["resume"][name] = (bytes(damaged), when)
    kept = salvage("p", lambda: io.BytesIO(bytes(damaged)))
    assert len(kept.dossiers) < len(whole.dossiers)
    result = world.parts.actions.data_backup()
    assert result.resumed == len(kept.dossiers)
    verify_backup(world.backups.data_opener(result.name), name=result.name)


def test_a_partial_file_older_than_a_day_is_not_used(world: FakeWorld) -> None:
    _cut(world, _full_size(world) * 9 // 10)
    world.clock.advance(25 * 3600)
    result = world.parts.actions.data_backup()
    assert result.resumed == 0 and world.central.full_exports == 2
    assert "reprise" not in result.reason and world.backups.files["resume"] == {}


def test_a_server_without_export_changes_gets_a_full_export_and_the_partial_is_dropped(world: FakeWorld) -> None:
    _cut(world, _full_size(world) * 9 // 10)
    world.central.knows_changes = False
    result = world.parts.actions.data_backup()
    assert result.mode == FULL and "n'envoie pas les seuls changements" in result.reason
    assert world.backups.files["resume"] == {}


def test_a_guardian_killed_mid_transfer_resumes_from_what_it_left(world: FakeWorld) -> None:
    data = _full_export(world)
    left = world.backups.new_data("2026-11-28T11-00-00Z.zip")
    with left.writer() as sink:
        sink.write(data[: len(data) * 9 // 10])  # the guardian died here: no keep_partial
    result = world.parts.actions.data_backup()
    assert result.resumed >= 7 and result.transferred < len(data) * 0.25


def test_a_full_disk_keeps_nothing_to_resume_from(world: FakeWorld) -> None:
    world.backups.free = _full_size(world) // 2
    with pytest.raises(Unavailable, match="plein"):
        world.parts.actions.data_backup()
    assert world.backups.files["resume"] == {}


def _full_export(world: FakeWorld) -> bytes:
    return zip_members(backup_members(sorted(world.central.dossiers.values(), key=lambda d: d.code)))
