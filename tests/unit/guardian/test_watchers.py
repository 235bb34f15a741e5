"""The watchers over fakes: the monitor's four indicators with their causes and since, an
alert only when a part fails or stops failing (neutral is no alarm), the status report, the Nagios check, /metrics and the
container's health."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance.domain.states import Baseline
from appliance.errors import Unavailable
from appliance.guardian.watch.check import check
from appliance.guardian.watch.health import daemon_health
from appliance.guardian.watch.metrics import registry, render
from appliance.guardian.watch.notify import render_change
from appliance.guardian.watch.status import lines
from tests.fakes.guardian import FakeWorld

SETTINGS_ON = {"sauvegardes": {"automatiques": True}}


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(environment={"NEOCUMA_MAX_BACKUP_AGE_HOURS": "26"})
    world.seed = SETTINGS_ON
    world.log_in()
    world.parts.actions.run_all()
    return world


def _colours(world: FakeWorld) -> dict[str, bool]:
    return {i["name"]: i["green"] for i in world.parts.monitor.evaluate_and_record()}


def test_after_a_whole_run_every_indicator_is_green_and_no_alert_is_sent(world: FakeWorld) -> None:
    assert _colours(world) == {
        **{name: True for name in ("serveur_distant", "sauvegardes", "serveur_local", "synchronisation")},
        "copie_hors_site": False,  # neutral: no repository is configured
    }
    assert world.state.document("indicators")["copie_hors_site"]["state"] == "neutre"
    assert world.notifier.sent == [], "the first round states the colours, it does not alert"
    status = world.state.document("status")
    assert status["dossiers_by_state"] == {"à jour": 3} and status["data_generation"] == 1
    assert status["newest_backup"] == "2026-11-28T12-00-00Z.zip" and abs(status["clock_skew"]) < 1


def test_a_cut_link_turns_the_remote_red_with_its_cause_and_alerts_once(world: FakeWorld) -> None:
    _colours(world)
    world.central.reachable = False
    world.clock.advance(60)
    assert _colours(world)["serveur_distant"] is False
    subject, body, payload = world.notifier.sent[0]
    assert subject == "[NeoCuma Guardian] FD12 : Serveur NeoCuma distant passe au rouge"
    assert "est injoignable" in body and payload["green"] is False and payload["since"] == "2026-11-28T12:01:00Z"
    world.clock.advance(60)
    _colours(world)
    assert len(world.notifier.sent) == 1, "no second alert while it stays red"
    assert world.state.document("indicators")["serveur_distant"]["since"] == "2026-11-28T12:01:00Z"
    world.central.reachable = True
    world.clock.advance(60)
    assert _colours(world)["serveur_distant"] is True
    assert world.notifier.sent[-1][0].endswith("repasse au vert")


def test_a_skewed_clock_turns_the_remote_red(world: FakeWorld) -> None:
    world.central.skew = 300
    indicators = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}
    assert (
        not indicators["serveur_distant"]["green"]
        and "horloge décalée de +300 s" in indicators["serveur_distant"]["cause"]
    )


def test_a_local_server_down_or_empty_turns_it_red(world: FakeWorld) -> None:
    world.local.down = True
    assert _colours(world)["serveur_local"] is False
    world.local.down, world.local.empty = False, True
    cause = {i["name"]: i["cause"] for i in world.parts.monitor.evaluate_and_record()}["serveur_local"]
    assert "aucun dossier visible" in cause


def test_an_old_backup_turns_the_backups_red_after_the_configured_age(world: FakeWorld) -> None:
    world.clock.advance(25 * 3600)
    assert _colours(world)["sauvegardes"] is True
    world.clock.advance(2 * 3600)
    assert _colours(world)["sauvegardes"] is False


def test_a_newer_backup_not_in_place_is_neutral_and_sends_nothing(world: FakeWorld) -> None:
    world.parts.monitor.evaluate_and_record()
    world.clock.advance(3600)
    world.parts.actions.data_backup()  # a manual data-only backup
    sync = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}["synchronisation"]
    assert sync["state"] == "neutre" and not sync["failed"]
    assert "en attente de synchronisation : 2026-11-28T13-00-00Z.zip n'est pas encore en place" in sync["cause"]
    assert world.notifier.sent == [], "waiting for a sync is no failure: nobody is alerted"
    assert check(world.state, world.clock, world.parts.check_limits)[0] == 0


def test_sync_after_backup_off_and_automatic_backups_off_keep_check_ok(world: FakeWorld) -> None:
    """The issue's case: all four green or neutral, check OK, no email, for weeks."""
    world.parts.monitor.evaluate_and_record()
    world.parts.settings.save(
        {"sauvegardes": {"automatiques": False}, "synchronisations": {"apres_sauvegarde": False}}, by="resp.fd12"
    )
    world.clock.advance(3600)
    world.parts.actions.data_backup()
    indicators = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}
    assert [i["state"] for i in indicators.values()] == ["vert", "neutre", "vert", "neutre", "neutre"]
    assert "après les sauvegardes désactivée" in indicators["synchronisation"]["cause"]
    assert indicators["sauvegardes"]["cause"] == "désactivées (Paramétrages)"
    status, line = check(world.state, world.clock, world.parts.check_limits)
    assert status == 0 and line.startswith("NEOCUMA GUARDIAN OK - 2/5 indicateurs verts; Sauvegardes automatiques")
    world.clock.advance(30 * 86400)  # a month later, still no backup: the centre's choice
    world.parts.monitor.evaluate_and_record()
    assert check(world.state, world.clock, world.parts.check_limits)[0] == 0
    assert world.notifier.sent == []
    text = _scrape(world)
    assert 'neocuma_guardian_component_up{component="synchronisation"} 1.0' in text
    assert 'neocuma_guardian_component_state{component="synchronisation",state="neutre"} 1.0' in text


def test_a_failure_after_neutral_alerts_and_its_end_alerts_again(world: FakeWorld) -> None:
    world.parts.monitor.evaluate_and_record()
    world.clock.advance(3600)
    world.parts.actions.data_backup()
    world.parts.monitor.evaluate_and_record()  # neutral: waiting for its sync
    world.local.down = True
    world.clock.advance(60)
    with pytest.raises(Unavailable, match="n'a pas confirmé"):
        world.parts.actions.sync()
    indicators = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}
    assert indicators["synchronisation"]["state"] == "rouge"
    assert [m[0] for m in world.notifier.sent] == [
        "[NeoCuma Guardian] FD12 : Serveur NeoCuma local passe au rouge",
        "[NeoCuma Guardian] FD12 : Synchronisation passe au rouge",
    ]
    world.local.down = False
    world.clock.advance(60)
    world.parts.actions.sync()
    world.parts.monitor.evaluate_and_record()
    assert world.notifier.sent[-1][0] == "[NeoCuma Guardian] FD12 : Synchronisation repasse au vert"
    assert world.notifier.sent[-1][2]["state"] == "vert" and world.notifier.sent[-1][2]["failed"] is False


def test_a_local_database_down_is_never_blamed_on_the_remote(world: FakeWorld) -> None:
    world.database.down = True
    indicators = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}
    assert indicators["serveur_distant"]["state"] == "vert", indicators["serveur_distant"]["cause"]


def test_dossier_states_are_counted_against_their_baselines(world: FakeWorld) -> None:
    world.central.write("120001")
    world.database.write("120002")
    world.state.save_baselines({**world.state.baselines(), "120003": Baseline(1, 1)})
    world.parts.monitor.evaluate_and_record()
    assert world.state.document("status")["dossiers_by_state"] == {
        "modifié à distance": 1,
        "modifié localement": 1,
        "modifié des deux côtés": 1,
    }


def test_the_alert_email_names_every_part(world: FakeWorld) -> None:
    from appliance.domain.health import Indicator

    red = Indicator("serveur_local", "rouge", "ne répond pas")
    waiting = Indicator("synchronisation", "neutre", "en attente de synchronisation")
    subject, body = render_change(red, [red, waiting], "FD12", "2026-11-28T12:00:00Z", "http://guardian.fd12.lan:8000/")
    assert subject.endswith("Serveur NeoCuma local passe au rouge")
    assert "Serveur NeoCuma local : ROUGE" in body and "Synchronisation : neutre — en attente" in body
    assert "Cause : ne répond pas" in body and "Console : http://guardian.fd12.lan:8000/" in body
    calm = Indicator("serveur_local", "neutre", "en attente de la première synchronisation")
    assert render_change(calm, [calm], "FD12", "", "")[0].endswith("Serveur NeoCuma local n'est plus en défaut")


def test_the_status_report_says_why_a_part_cannot_be_read(world: FakeWorld) -> None:
    facts = world.parts.status.collect()
    assert facts["remote"] == {"ok": True, "user": "resp.fd12", "centre": "FD12", "dossiers": 3}
    assert facts["control"] == {"data_generation": 1, "system_generation": 1, "mode": "standby"}
    world.central.reachable, world.database.down, world.local.down = False, True, True
    facts = world.parts.status.collect()
    assert not facts["remote"]["ok"] and "error" in facts["control"] and not facts["local"]["ok"]
    text = "\n".join(lines(facts))
    assert "Serveur NeoCuma distant : injoignable" in text and "Serveur NeoCuma local : indisponible" in text


def test_check_reads_the_snapshot_with_statuses_and_perfdata(world: FakeWorld) -> None:
    limits = world.parts.check_limits
    assert check(world.state, world.clock, limits)[0] == 3, "no snapshot yet: UNKNOWN"
    world.parts.monitor.evaluate_and_record()
    status, line = check(world.state, world.clock, limits)
    assert status == 0 and line.startswith("NEOCUMA GUARDIAN OK - 4/5") and "remote=1;;;0;1" in line
    assert "backup_age=0s;70200;93600;0;" in line and "clock_skew=0.0s;-60:60;-120:120;;" in line
    world.central.reachable = False
    world.parts.monitor.evaluate_and_record()
    status, line = check(world.state, world.clock, limits)
    assert status == 2 and "CRITICAL - Serveur NeoCuma distant : injoignable" in line and "remote=0" in line
    world.central.reachable = True
    world.clock.advance(20 * 3600)
    world.parts.monitor.evaluate_and_record()
    assert check(world.state, world.clock, limits)[0] == 1, "a backup older than 3/4 of the limit: WARNING"
    world.clock.advance(3600)
    assert check(world.state, world.clock, limits)[0] == 3, "a snapshot older than three rounds: UNKNOWN"
    world.state_store.unreadable.add("status")
    assert check(world.state, world.clock, limits)[1].startswith("NEOCUMA GUARDIAN UNKNOWN - état illisible")


def _inside(value: float, nagios_range: str) -> bool:
    """The Nagios plugin guidelines' range: ``end`` is 0..end, ``start:end``, ``~`` minus infinity,
    ``@`` inverts; a value outside the range raises the alert."""
    inverted = nagios_range.startswith("@")
    text = nagios_range.lstrip("@")
    start_text, _, end_text = text.rpartition(":") if ":" in text else ("0", "", text)
    start = float("-inf") if start_text == "~" else float(start_text or 0)
    end = float(end_text) if end_text else float("inf")
    return (start <= value <= end) != inverted


def _perfdata(line: str) -> dict[str, list[str]]:
    return {item.split("=")[0]: item.split("=")[1].split(";") for item in line.split(" | ")[1].split()}


@pytest.mark.parametrize("skew", [-5.0, 5.0, -90.0])
def test_a_clock_skew_either_way_within_the_limits_is_inside_the_perfdata_ranges(world: FakeWorld, skew: float) -> None:
    world.central.skew = skew
    world.parts.monitor.evaluate_and_record()
    status, line = check(world.state, world.clock, world.parts.check_limits)
    value, warn, crit, _minimum, _maximum = _perfdata(line)["clock_skew"]
    assert value == f"{skew:.1f}s" and (warn, crit) == ("-60:60", "-120:120"), line
    assert _inside(skew, crit), f"a {skew:+.0f} s skew is within the 120 s limit: not critical in a graph"
    assert _inside(skew, warn) == (abs(skew) <= 60) and status == (0 if abs(skew) <= 60 else 1), line


def test_a_backup_named_after_a_clock_set_back_is_no_negative_age(world: FakeWorld) -> None:
    world.parts.monitor.evaluate_and_record()
    world.clock.set(world.clock.now() - dt.timedelta(minutes=10))
    world.parts.monitor.evaluate_and_record()
    value, _warn, _crit, minimum, _maximum = _perfdata(check(world.state, world.clock, world.parts.check_limits)[1])[
        "backup_age"
    ]
    assert (value, minimum) == ("0s", "0"), "a value below the declared minimum"


def test_check_thresholds_given_on_the_command_line_win() -> None:
    from appliance.guardian.watch.check import parse_thresholds

    assert parse_thresholds("18,60") == (18 * 3600, 60.0) and parse_thresholds(",30") == (None, 30.0)
    assert parse_thresholds("") == (None, None)
    for bad in ("soon", "1,x", "-2"):
        with pytest.raises(ValueError):
            parse_thresholds(bad)


def test_a_backup_older_than_a_given_critical_age_is_critical(world: FakeWorld) -> None:
    import dataclasses

    world.parts.monitor.evaluate_and_record()
    world.clock.advance(3 * 3600)
    world.parts.monitor.evaluate_and_record()
    strict = dataclasses.replace(world.parts.check_limits, max_backup_age=dt.timedelta(hours=2), backup_warning=3600)
    status, line = check(world.state, world.clock, strict)
    assert status == 2 and "dernière sauvegarde vieille de 3 h" in line and "backup_age=10800s;3600;7200;0;" in line


def _scrape(world: FakeWorld) -> str:
    return render(registry(world.state, world.backups)).decode()


def test_metrics_come_from_the_state_at_scrape_time(world: FakeWorld) -> None:
    world.parts.monitor.evaluate_and_record()
    world.backups.free = 10_000_000
    text = _scrape(world)
    assert 'neocuma_guardian_last_run_failed{job="backup"} 0.0' in text
    assert 'neocuma_guardian_component_up{component="serveur_local"} 1.0' in text
    assert 'neocuma_guardian_dossiers{state="a_jour"} 3.0' in text
    assert 'neocuma_guardian_local_mode{mode="standby"} 1.0' in text
    backup_bytes = world.state.counters()["backup"]
    assert f'neocuma_guardian_transferred_bytes_total{{job="backup"}} {float(backup_bytes)}' in text
    newest = world.backups.data_backups()[0]
    size = next(line for line in text.splitlines() if line.startswith("neocuma_guardian_newest_backup_bytes "))
    assert float(size.split()[1]) == newest.size
    taken = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC).timestamp()  # the name of world's first backup
    stamp = next(
        line for line in text.splitlines() if line.startswith("neocuma_guardian_newest_backup_timestamp_seconds ")
    )
    assert float(stamp.split()[1]) == taken, "a moment, not an age"
    assert "neocuma_guardian_data_backups 1.0" in text and "_age_seconds" not in text
    free = next(line for line in text.splitlines() if line.startswith("neocuma_guardian_backups_free_bytes "))
    assert float(free.split()[1]) == 10_000_000 - world.backups.used()
    assert 'neocuma_guardian_build_info{version="' in text
    world.state_store.unreadable.add("status")
    broken = _scrape(world)
    assert 'neocuma_guardian_state_readable{document="status"} 0.0' in broken
    assert 'neocuma_guardian_state_readable{document="history"} 1.0' in broken
    assert 'neocuma_guardian_last_run_failed{job="backup"} 0.0' in broken, "what can be read is still there"
    assert "neocuma_guardian_component_up{" not in broken


def test_metric_label_values_are_ascii_identifiers(world: FakeWorld) -> None:
    from appliance.domain.states import STATES
    from appliance.guardian.state import STATUS

    world.parts.monitor.evaluate_and_record()
    status = world.state.document(STATUS)
    world.state.save_document(STATUS, {**status, "dossiers_by_state": {s: n for n, s in enumerate(STATES, 1)}})
    text = _scrape(world)
    values = re.findall(r'="((?:[^"\\]|\\.)*)"', text)
    assert values and all(value.isascii() for value in values), [v for v in values if not v.isascii()]
    dossiers = re.findall(r'^neocuma_guardian_dossiers\{state="([a-z_]+)"\}', text, re.MULTILINE)
    assert len(set(dossiers)) == len(STATES), dossiers
    assert 'neocuma_guardian_dossiers{state="modifie_des_deux_cotes"} 4.0' in text


def test_metrics_have_the_process_figures_and_no_created_series(world: FakeWorld) -> None:
    world.parts.monitor.evaluate_and_record()
    text = _scrape(world)
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "python_info"):
        assert f"\n{name}" in text, name
    assert "_created" not in text


def test_health_means_the_guardian_works_not_that_backups_are_fresh() -> None:
    healthy, body = daemon_health(5, None, None, True)
    assert healthy and body == {"status": "ok", "reasons": [], "version": body["version"], "logged_in": True}
    healthy, body = daemon_health(500, None, None, True)
    assert not healthy and "tick has not run for 500 s" in body["reasons"][0]
    healthy, body = daemon_health(5, "state/history.json: permission denied", "refused", False)
    assert not healthy and body["reasons"] == [
        "the state volume cannot be read: state/history.json: permission denied",
        "the local database does not answer: refused",
    ]


def test_alert_emails_link_to_the_configured_console_address() -> None:
    world = FakeWorld(environment={"NEOCUMA_CONSOLE_URL": "https://guardian.fd12.lan/"})
    world.log_in()
    world.parts.actions.run_all()
    world.parts.monitor.evaluate_and_record()
    world.central.reachable = False
    world.parts.monitor.evaluate_and_record()
    assert "Console : https://guardian.fd12.lan/" in world.notifier.sent[0][1]
