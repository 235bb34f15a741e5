import dataclasses
import datetime as dt

import pytest

from appliance.domain.health import (
    BACKUPS,
    FAILED,
    LOCAL,
    NEUTRAL,
    OFFSITE,
    OK,
    REMOTE,
    SYNC,
    Facts,
    OffsiteFacts,
    evaluate,
)

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
COPIED = OffsiteFacts(
    repository="sftp:sauvegarde@nas.example.fr:/neocuma",
    last_ok=True,
    last_error=None,
    last_success_at=NOW - dt.timedelta(hours=2),
    copies=31,
    size=58_400_000,
    check_ok=True,
    check_error=None,
)


def _offsite(**overrides: object) -> OffsiteFacts:
    return dataclasses.replace(COPIED, **overrides)  # type: ignore[arg-type]


def _facts(**overrides: object) -> Facts:
    values: dict[str, object] = dict(
        now=NOW,
        remote_ok=True,
        remote_error=None,
        clock_skew=0.4,
        skew_limit=120.0,
        backups_enabled=True,
        sync_after=True,
        last_scheduled_ok=True,
        last_scheduled_error=None,
        last_backup_at=NOW - dt.timedelta(hours=2),
        backup_max_age=dt.timedelta(hours=26),
        watching_since=NOW - dt.timedelta(days=3),
        local_health={"data_generation": 4, "mode": "standby"},
        local_error=None,
        local_app_ok=True,
        last_sync_ok=True,
        last_sync_error=None,
        last_sync_backup="2026-11-28T10-00-00Z.zip",
        newest_backup="2026-11-28T10-00-00Z.zip",
        mode="standby",
        offsite=COPIED,
    )
    values.update(overrides)
    return Facts(**values)  # type: ignore[arg-type]


def _states(facts: Facts) -> dict[str, str]:
    return {indicator.name: indicator.state for indicator in evaluate(facts)}


def test_all_green() -> None:
    assert _states(_facts()) == {REMOTE: OK, BACKUPS: OK, LOCAL: OK, SYNC: OK, OFFSITE: OK}
    offsite = {i.name: i for i in evaluate(_facts())}[OFFSITE]
    assert offsite.cause == (
        "dernière copie réussie le 28/11/2026 à 10:00 UTC (il y a 2 h) vers "
        "sftp:sauvegarde@nas.example.fr:/neocuma, 31 copies, 58.4 Mo"
    )


@pytest.mark.parametrize(
    ("overrides", "name", "words"),
    [
        (dict(remote_ok=False, remote_error="link down"), REMOTE, "link down"),
        (dict(clock_skew=300.0), REMOTE, "horloge décalée"),
        (dict(last_scheduled_ok=False, last_scheduled_error="disque plein"), BACKUPS, "disque plein"),
        (dict(last_backup_at=NOW - dt.timedelta(hours=30)), BACKUPS, "en retard"),
        (dict(last_backup_at=None, watching_since=NOW - dt.timedelta(hours=30)), BACKUPS, "aucune sauvegarde"),
        (dict(local_health=None, local_error="connection refused"), LOCAL, "ne répond pas"),
        (dict(local_app_ok=False, local_error="HTTP 500"), LOCAL, "contrôle applicatif"),
        (dict(last_sync_ok=False, last_sync_error="backup corrompue"), SYNC, "backup corrompue"),
        (dict(last_sync_ok=False, last_sync_error="refusée", sync_after=False), SYNC, "refusée"),
        (dict(offsite=_offsite(last_ok=False, last_error="dépôt injoignable")), OFFSITE, "dépôt injoignable"),
        (dict(offsite=_offsite(last_ok=False, last_error="x")), OFFSITE, "dernière copie réussie le 28/11/2026"),
        (dict(offsite=_offsite(last_ok=False, last_success_at=None, last_error="x")), OFFSITE, "aucune copie réussie"),
        (
            dict(offsite=_offsite(check_ok=False, check_error="pack abîmé")),
            OFFSITE,
            "restic check) a échoué : pack abîmé",
        ),
        (dict(offsite=_offsite(last_success_at=NOW - dt.timedelta(hours=30))), OFFSITE, "en retard"),
        (
            dict(offsite=_offsite(last_ok=None, last_success_at=None), watching_since=NOW - dt.timedelta(hours=30)),
            OFFSITE,
            "en retard : aucune copie réussie encore",
        ),
    ],
)
def test_each_failure_is_red_with_its_cause(overrides: dict[str, object], name: str, words: str) -> None:
    indicators = {i.name: i for i in evaluate(_facts(**overrides))}
    assert indicators[name].state == FAILED and indicators[name].failed
    assert words in indicators[name].cause, indicators[name].cause
    assert [i.name for i in indicators.values() if i.state != OK] == [name]


@pytest.mark.parametrize(
    ("overrides", "name", "words"),
    [
        (dict(backups_enabled=False), BACKUPS, "désactivées"),
        (dict(backups_enabled=False, last_backup_at=NOW - dt.timedelta(days=40)), BACKUPS, "désactivées"),
        (dict(backups_enabled=False, last_scheduled_ok=False), BACKUPS, "désactivées"),
        (dict(local_health={"data_generation": None, "mode": "standby"}), LOCAL, "première synchronisation"),
        (dict(last_sync_ok=None), SYNC, "première synchronisation"),
        (dict(newest_backup="2026-11-28T11-00-00Z.zip"), SYNC, "en attente de synchronisation"),
        (dict(newest_backup="2026-11-28T11-00-00Z.zip", sync_after=False), SYNC, "après les sauvegardes désactivée"),
        (dict(mode="fallback"), SYNC, "mode secours"),
        (dict(offsite=None), OFFSITE, "non configurée"),
        (
            dict(offsite=_offsite(last_ok=None, last_success_at=None), watching_since=NOW - dt.timedelta(hours=3)),
            OFFSITE,
            "en attente de la première copie",
        ),
    ],
)
def test_what_the_centre_chose_or_waits_for_is_neutral_not_red(
    overrides: dict[str, object], name: str, words: str
) -> None:
    indicators = {i.name: i for i in evaluate(_facts(**overrides))}
    assert indicators[name].state == NEUTRAL and not indicators[name].failed and not indicators[name].green
    assert words in indicators[name].cause, indicators[name].cause
    assert [i.name for i in indicators.values() if i.state != OK] == [name]


def test_sync_after_backup_off_and_a_fresh_backup_fail_nothing() -> None:
    """The issue's case: a data-only backup made by hand, no sync after backups."""
    facts = _facts(sync_after=False, newest_backup="2026-11-28T11-30-00Z.zip", last_backup_at=NOW)
    assert not any(i.failed for i in evaluate(facts))


def test_grace_after_first_start() -> None:
    fresh = _facts(last_backup_at=None, last_scheduled_ok=None, watching_since=NOW - dt.timedelta(hours=1))
    assert _states(fresh)[BACKUPS] == OK


def test_a_newest_backup_dated_in_the_future_is_red_not_fresh_for_ever() -> None:
    """After the clock went back, the newest backup is dated ahead: its age is negative, so
    it would never be late, and a sync refuses it. The indicator says so (issue 12's
    clock jump)."""
    ahead = _facts(last_backup_at=NOW + dt.timedelta(days=3), newest_backup="2026-12-01T12-00-00Z.zip")
    backups = {i.name: i for i in evaluate(ahead)}[BACKUPS]
    assert backups.failed and "2026-12-01T12-00-00Z.zip" in backups.cause and "datée dans le futur" in backups.cause
    within_tolerance = _facts(last_backup_at=NOW + dt.timedelta(minutes=4))
    assert _states(within_tolerance)[BACKUPS] == OK, "a clock a few minutes behind the remote's is no alarm"
    assert _states(_facts(backups_enabled=False, last_backup_at=NOW + dt.timedelta(days=3)))[BACKUPS] == NEUTRAL
