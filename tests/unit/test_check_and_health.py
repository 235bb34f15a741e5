"""The Nagios-style check and the daemon's health, on a state directory with a fake clock."""

import datetime as dt
import json
from pathlib import Path

import pytest

from appliance.guardian.check import check
from appliance.guardian.config import load_config
from appliance.guardian.context import Guardian
from appliance.guardian.daemon import Daemon

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.fixture()
def guardian(tmp_path: Path) -> Guardian:
    config = load_config(
        tmp_path / "none.toml",
        {
            "NEOCUMA_DB_PASSWORD": "x",
            "NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path / "state"),
            "NEOCUMA_BACKUPS_DIR": str(tmp_path / "backups"),
            "NEOCUMA_MAX_BACKUP_AGE_HOURS": "26",
        },
    )
    (tmp_path / "state").mkdir()
    return Guardian(config, now=lambda: NOW)


def _status(
    guardian: Guardian,
    reds: tuple[str, ...] = (),
    at: dt.datetime = NOW,
    skew: float = 0.5,
    newest: str = "2026-11-28T10-00-00Z.zip",
) -> None:
    indicators = [
        {
            "name": name,
            "label": name.replace("_", " "),
            "green": name not in reds,
            "cause": "cause " + name,
            "since": "x",
        }
        for name in ("serveur_distant", "sauvegardes", "serveur_local", "synchronisation")
    ]
    document = {
        "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "indicators": indicators,
        "clock_skew": skew,
        "newest_backup": newest,
    }
    (guardian.state_dir / "status.json").write_text(json.dumps(document))


def test_check_statuses_and_perfdata(guardian: Guardian) -> None:
    assert check(guardian)[0] == 3
    _status(guardian)
    status, line = check(guardian)
    assert (
        status == 0
        and line.startswith("NEOCUMA GUARDIAN OK - 4/4")
        and "| remote=1;;;0;1" in line
        and "backup_age=7200s" in line
    )
    _status(guardian, reds=("serveur_distant",))
    status, line = check(guardian)
    assert (
        status == 2
        and line.startswith("NEOCUMA GUARDIAN CRITICAL - serveur distant : cause serveur_distant")
        and "remote=0" in line
    )
    _status(guardian, newest="2026-11-27T12-00-00Z.zip")
    assert check(guardian)[0] == 1
    _status(guardian, skew=90.0)
    assert check(guardian)[0] == 1
    _status(guardian, at=NOW - dt.timedelta(hours=1))
    status, line = check(guardian)
    assert status == 3 and "démon" in line


def test_health_has_a_grace_period_then_wants_fresh_backups(guardian: Guardian) -> None:
    daemon = Daemon(guardian)
    healthy, body = daemon.health()
    assert healthy and body["status"] == "ok"
    later = Guardian(guardian.config, now=lambda: NOW + dt.timedelta(hours=27))
    healthy, body = Daemon(later).health()
    assert not healthy and "no successful data backup" in body["reasons"][0]
    data = guardian.data_dir
    data.mkdir(parents=True)
    (data / "2026-11-29T14-00-00Z.zip").write_bytes(b"zip")
    assert Daemon(later).health()[0]
    stalled = Daemon(later)
    stalled.last_tick -= 500
    healthy, body = stalled.health()
    assert not healthy and "tick" in body["reasons"][0]
