import datetime as dt

from appliance.domain.health import BACKUPS, LOCAL, REMOTE, SYNC, Facts, evaluate

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _facts(**overrides: object) -> Facts:
    values: dict[str, object] = dict(
        now=NOW,
        remote_ok=True,
        remote_error=None,
        clock_skew=0.4,
        skew_limit=120.0,
        backups_enabled=True,
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
    )
    values.update(overrides)
    return Facts(**values)  # type: ignore[arg-type]


def _colours(facts: Facts) -> dict[str, bool]:
    return {indicator.name: indicator.green for indicator in evaluate(facts)}


def test_all_green() -> None:
    assert _colours(_facts()) == {REMOTE: True, BACKUPS: True, LOCAL: True, SYNC: True}


def test_each_red_has_its_cause() -> None:
    cases = [
        (dict(remote_ok=False, remote_error="link down"), REMOTE, "link down"),
        (dict(clock_skew=300.0), REMOTE, "horloge décalée"),
        (dict(backups_enabled=False), BACKUPS, "désactivées"),
        (dict(last_scheduled_ok=False, last_scheduled_error="disque plein"), BACKUPS, "disque plein"),
        (dict(last_backup_at=NOW - dt.timedelta(hours=30)), BACKUPS, "en retard"),
        (dict(last_backup_at=None, watching_since=NOW - dt.timedelta(hours=30)), BACKUPS, "aucune sauvegarde"),
        (dict(local_health=None, local_error="connection refused"), LOCAL, "ne répond pas"),
        (dict(local_health={"data_generation": None, "mode": "standby"}), LOCAL, "jamais synchronisé"),
        (dict(local_app_ok=False, local_error="HTTP 500"), LOCAL, "contrôle applicatif"),
        (dict(last_sync_ok=None), SYNC, "jamais faite"),
        (dict(last_sync_ok=False, last_sync_error="backup corrompue"), SYNC, "backup corrompue"),
        (dict(newest_backup="2026-11-28T11-00-00Z.zip"), SYNC, "n'est pas en place"),
        (dict(mode="fallback"), SYNC, "mode secours"),
    ]
    for overrides, name, words in cases:
        indicators = {i.name: i for i in evaluate(_facts(**overrides))}
        assert not indicators[name].green, overrides
        assert words in indicators[name].cause, (overrides, indicators[name].cause)
        assert sum(not i.green for i in indicators.values()) == 1, overrides


def test_grace_after_first_start() -> None:
    fresh = _facts(last_backup_at=None, last_scheduled_ok=None, watching_since=NOW - dt.timedelta(hours=1))
    assert _colours(fresh)[BACKUPS]
