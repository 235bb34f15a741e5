"""Synchronisation over fakes: which backup, verification before anything is built, the swap
of both generations at once, confirmation by the local server or rollback, and what a
crash at each step leaves for the next synchronisation to remove."""

from __future__ import annotations

import datetime as dt
import errno

import pytest

from appliance.domain.generations import Live
from appliance.domain.states import Baseline
from appliance.errors import BadRequest, Refused, Unavailable
from tests.fakes.guardian import DOSSIERS, FakeWorld
from tests.support.backups import Dossier, backup_members, backup_zip, system_zip, zip_members

OLD, NEW = "2026-11-27T12-00-00Z.zip", "2026-11-28T11-00-00Z.zip"
DAY = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld()
    world.log_in()
    world.backups.put("data", OLD, backup_zip(DOSSIERS[:2]), DAY)
    world.backups.put("data", NEW, backup_zip(DOSSIERS), DAY + dt.timedelta(hours=23))
    world.backups.put("system", "system.zip", system_zip({"modeles/facture.html": b"<p>f</p>"}))
    return world


def _sync(world: FakeWorld, requested: str | None = None):  # type: ignore[no-untyped-def]
    return world.parts.actions.sync(requested)


def test_the_newest_backup_becomes_the_live_pair_with_its_baselines(world: FakeWorld) -> None:
    result = _sync(world)
    assert (result.backup, result.data_generation, result.system_generation, result.dossiers) == (NEW, 1, 1, 3)
    assert world.database.control == Live(1, 1, "standby")
    assert world.database.schemas[1].loaded_from == NEW and world.local.system == {1: 1}
    assert world.local.reloads == 1, "SIGHUP after the swap"
    baselines = world.state.baselines()
    assert {code: (b.remote_revision, b.local_revision) for code, b in baselines.items()} == {
        "120001": (5, 5),
        "120002": (3, 3),
        "120003": (8, 8),
    }
    assert world.history("sync")["ok"] is True and world.history("sync")["backup"] == NEW


def test_the_previous_generation_is_kept_and_older_ones_dropped(world: FakeWorld) -> None:
    for expected in (1, 2, 3):
        assert world.parts.actions.sync(None, full=True).data_generation == expected
    assert world.database.generations() == [2, 3]
    assert world.local.system_generations() == [2, 3], "a full sync installs the system files anew"


def test_an_incremental_sync_keeps_the_live_system_files_while_system_zip_is_the_same(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    assert [_sync(world).system_installed for _ in range(2)] == [True, True], "two full loads first"
    assert world.local.reloads == 2
    third = _sync(world)
    assert (third.mode, third.system_installed, third.system_generation) == ("incremental", False, 2)
    assert world.database.control == Live(3, 2, "standby") and world.local.system_generations() == [2]
    assert "fichiers système inchangés" in caplog.text
    assert world.local.reloads == 2, "the same system generation live: no SIGHUP, nothing cached to drop"
    world.backups.put("system", "system.zip", system_zip({"modeles/facture.html": b"<p>nouvelle</p>"}))
    fourth = _sync(world)
    assert (fourth.mode, fourth.system_installed, fourth.system_generation) == ("incremental", True, 4)
    assert world.local.reloads == 3, "a new system generation: SIGHUP"
    assert world.local.system_generations() == [2, 4]
    world.state.store.write("system-installed", {})  # not known (a guardian killed before it recorded)
    assert _sync(world).system_installed is True, "unknown: installed again"


def test_a_named_backup_is_loaded_instead_of_the_newest(world: FakeWorld) -> None:
    assert _sync(world, OLD).dossiers == 2
    with pytest.raises(Refused, match="n'existe pas"):
        _sync(world, "2020-01-01T00-00-00Z.zip")


def test_the_newest_is_chosen_by_the_date_in_its_name_never_by_the_time_written(world: FakeWorld) -> None:
    """An old backup copied back into data/ (just written) and a misnamed file are ignored:
    the one rule for "newest" is the date in the name (issue 12, finding 4)."""
    world.backups.put("data", "copie.zip", b"x", DAY + dt.timedelta(days=1))
    world.backups.put("data", "2026-11-01T02-00-00Z.zip", backup_zip(DOSSIERS[:1]), DAY + dt.timedelta(days=1))
    assert _sync(world).backup == NEW


def test_a_backup_dated_in_the_future_is_refused(world: FakeWorld) -> None:
    world.backups.put("data", "2027-01-01T00-00-00Z.zip", backup_zip(DOSSIERS), DAY + dt.timedelta(days=2))
    with pytest.raises(Refused, match="datée dans le futur"):
        _sync(world)


def test_fallback_mode_refuses_before_anything_is_touched(world: FakeWorld) -> None:
    world.database.set_live(1, DOSSIERS, mode="fallback")
    with pytest.raises(Refused, match="mode secours"):
        _sync(world)
    assert world.database.generations() == [1] and world.history("sync")["ok"] is False


def test_a_member_that_does_not_match_its_manifest_fails_the_load_and_drops_the_new_generation(
    world: FakeWorld,
) -> None:
    world.database.set_live(1, DOSSIERS[:2])
    members = backup_members(DOSSIERS)
    members["dossiers/120003/tiers.tsv"] = members["dossiers/120003/tiers.tsv"].replace(b"\t1\t", b"\t7\t")
    world.backups.put("data", "2026-11-28T11-30-00Z.zip", zip_members(members), DAY + dt.timedelta(hours=24))
    with pytest.raises(BadRequest, match=r"120003/tiers.tsv: its sha256 .*synchronisation refusée"):
        _sync(world)
    assert world.database.control == Live(1, 1, "standby"), "the local server keeps its generation"
    assert world.database.generations() == [1] and world.local.system == {}


def test_a_system_zip_that_does_not_verify_refuses_the_sync_before_building(world: FakeWorld) -> None:
    world.backups.put("system", "system.zip", b"PK\x03\x04 truncated")
    with pytest.raises(BadRequest, match=r"system.zip ne se vérifie pas"):
        _sync(world)
    assert world.database.generations() == []


def test_a_server_that_never_shows_the_new_pair_is_rolled_back(world: FakeWorld) -> None:
    _sync(world)
    world.local.lag, world.local.shown = True, (1, 1)
    with pytest.raises(Unavailable, match=r"n'a pas confirmé la nouvelle génération .*: retour à la précédente"):
        _sync(world)
    assert world.database.control == Live(1, 1, "standby")
    assert world.database.switches == [(1, 1), (2, 2), (1, 1)]
    assert world.clock.slept >= world.config.local.health_timeout, "it waited the configured time, on the clock"
    assert 2 in world.database.generations(), "kept: a LAN request may still read it; the next sync removes it"
    world.local.lag = False
    assert _sync(world).data_generation == 2, "the leftover is dropped first, then its number reused"
    assert world.database.generations() == [1, 2] and world.database.control == Live(2, 2, "standby")


def test_an_application_check_that_sees_too_few_dossiers_rolls_back(world: FakeWorld) -> None:
    world.local.empty = True
    with pytest.raises(Unavailable, match="la vérification applicative voit la génération 1 avec 0 dossiers"):
        _sync(world)
    assert world.database.control == Live(None, None, "standby")
    assert world.history("sync")["ok"] is False


def test_a_failed_reload_signal_is_only_a_warning(world: FakeWorld) -> None:
    world.local.reload_fails = True
    assert _sync(world).data_generation == 1


def test_a_crash_while_loading_drops_what_was_built(world: FakeWorld) -> None:
    world.database.fail_load = Unavailable("le chargement dans MySQL a échoué : server gone")
    with pytest.raises(Unavailable, match="server gone"):
        _sync(world)
    assert world.database.generations() == [] and world.database.control.data_generation is None


def test_a_crash_while_installing_the_system_files_drops_the_new_data_generation(world: FakeWorld) -> None:
    def broken(generation: int, opener: object) -> int:
        raise OSError(28, "No space left on device")

    world.local.install_system = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(
        Unavailable,
        match=r"synchronisation impossible : le volume est plein pendant l.écriture de ses fichiers de travail",
    ):
        _sync(world)
    assert world.database.generations() == [] and world.local.system == {}


def test_a_read_only_or_forbidden_volume_during_a_sync_says_so_and_keeps_the_live_pair(world: FakeWorld) -> None:
    """Issue 12's faults: the load's work area (.work, on the backups volume) read-only or
    not writable is a failure in the operator's words, never "erreur interne"."""
    world.database.set_live(4, DOSSIERS[:1])
    for error, words in (
        (OSError(errno.EROFS, "Read-only file system", "/var/lib/guardian/backups/.work"), "en lecture seule"),
        (PermissionError(errno.EACCES, "Permission denied", "/var/lib/guardian/backups/.work"), "droits d'accès"),
    ):
        world.database.fail_load = error
        with pytest.raises(Unavailable) as raised:
            _sync(world)
        assert words in str(raised.value) and "/var/lib/guardian/backups/.work" in str(raised.value), raised.value
        assert "Read-only" not in str(raised.value) and "Permission" not in str(raised.value)
        assert world.database.control.data_generation == 4 and world.database.generations() == [4]


def test_a_crash_at_the_swap_leaves_the_live_pair_and_a_leftover_the_next_sync_removes(world: FakeWorld) -> None:
    world.database.set_live(4, DOSSIERS[:1])
    world.database.fail_switch = Unavailable("le basculement vers la génération 5 a échoué : lost connection")
    with pytest.raises(Unavailable, match="le basculement"):
        _sync(world)
    assert world.database.control == Live(4, 4, "standby") and world.database.generations() == [4, 5]
    world.database.fail_switch = None
    world.local.staging = ["g5.tmp"]
    assert _sync(world).data_generation == 5, "the leftover 5 was dropped, then a new 5 built"
    assert world.local.staging == [] and world.backups.scratch_cleaned >= 2


def test_after_a_guardian_killed_mid_sync_leftovers_newer_than_live_are_removed(world: FakeWorld) -> None:
    world.database.set_live(2, DOSSIERS[:1])
    world.database.schemas[1] = world.database.schemas[2]
    world.database.schemas[3] = world.database.schemas[2]  # half-loaded when the guardian died
    result = _sync(world)
    assert result.data_generation == 3, "numbers continue above what existed"
    assert world.database.generations() == [2, 3], "1 (older than the previous) and the leftover 3 are gone"


def test_without_system_zip_the_system_generation_stays(world: FakeWorld) -> None:
    del world.backups.files["system"]["system.zip"]
    world.database.set_live(1, DOSSIERS[:1])
    assert _sync(world).system_generation == 1
    assert world.database.control == Live(2, 1, "standby") and world.local.system == {}


def test_an_empty_data_directory_is_refused_with_the_next_step(world: FakeWorld) -> None:
    world.backups.files["data"].clear()
    with pytest.raises(Refused, match="lancez d'abord une sauvegarde"):
        _sync(world)


def test_a_backup_that_verifies_but_another_dossier_set_is_synchronised_exactly(world: FakeWorld) -> None:
    world.backups.put("data", "2026-11-28T11-59-00Z.zip", backup_zip([Dossier(100009, "120009", 1)]), world.clock.now())
    assert _sync(world).dossiers == 1
    assert set(world.database.dossiers()) == {"120009"}


def test_the_load_reports_its_bytes_against_the_backups_total(world: FakeWorld) -> None:
    seen: list[tuple[int | None, int | None]] = []
    world.parts.progress.listen(lambda step, done, dossiers, total: seen.append((done, total)) if total else None)
    _sync(world)
    assert seen and seen[-1][0] == seen[-1][1] and seen[-1][1] is not None and seen[-1][1] > 0


class _Killed(BaseException):
    """The guardian's process killed (SIGKILL): nothing of the job runs after it."""


def _killed_while_confirming(world: FakeWorld) -> None:
    world.database.set_live(4, DOSSIERS[:1])
    world.state.save_baselines({DOSSIERS[0].code: Baseline(1, 1)})

    def killed() -> dict[str, object]:
        raise _Killed

    object.__setattr__(world.local, "healthz", killed)
    with pytest.raises(_Killed):
        _sync(world)
    del world.local.healthz  # the next start sees the real local server again
    assert world.database.control.data_generation == 5, "switched, never confirmed"
    assert world.state.document("sync-pending")["generation"] == 5


def test_a_switch_left_unconfirmed_by_a_killed_guardian_is_confirmed_at_the_next_start(world: FakeWorld) -> None:
    """Issue 12, finding 13: it stayed live with the previous baselines."""
    _killed_while_confirming(world)
    assert world.parts.actions.recover() == "génération 5 confirmée"
    assert world.state.baselines() == {d.code: Baseline(d.revision, d.revision) for d in DOSSIERS}
    assert world.state.document("sync-pending") == {}
    assert world.parts.actions.recover() is None, "nothing left to do"


def test_a_switch_left_unconfirmed_that_does_not_serve_is_undone(world: FakeWorld) -> None:
    _killed_while_confirming(world)
    world.local.lag, world.local.shown = True, (4, 4)  # the server never shows generation 5
    object.__setattr__(world.parts.actions.sync_job, "health_timeout", 0.5)
    assert world.parts.actions.recover() == "génération 5 annulée, retour à la génération 4"
    assert world.database.control.data_generation == 4
    assert world.state.baselines() == {DOSSIERS[0].code: Baseline(1, 1)}, "the previous baselines stay"


def test_the_next_sync_settles_an_unconfirmed_switch_first(world: FakeWorld) -> None:
    _killed_while_confirming(world)
    assert _sync(world).data_generation == 6
    assert world.state.document("sync-pending") == {}
