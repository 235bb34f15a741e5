"""The console over fakes, through Flask's test client: login and its refusals, CSRF, the
four tabs, background jobs, settings, logs, /healthz and /metrics."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.domain.offsite import Retention
from appliance.guardian.console.app import create_console
from appliance.guardian.jobs.progress import JobRunner
from tests.fakes.guardian import FakeWorld
from tests.fakes.offsite import FakeOffsite
from tests.fakes.servers import COLLEAGUE, COLLEAGUE_PASSWORD, PASSWORD


class Console:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.runner = JobRunner(world.parts.progress, world.clock.now)
        self.app = create_console(world.parts, self.runner, lambda: (True, {"status": "ok"}))
        self.client: FlaskClient = self.app.test_client()

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    def login(self, login: str = "resp.fd12", password: str = PASSWORD, path: str = "/login") -> Any:
        return self.client.post(path, data={"csrf": self.token(), "login": login, "password": password})

    def post(self, path: str, **form: Any) -> Any:
        return self.client.post(path, data={"csrf": self.token("/statut"), **form})

    def finish(self) -> dict[str, Any]:
        self.runner.wait(10)
        last: dict[str, Any] = self.world.parts.progress.snapshot()["last"]
        return last


@pytest.fixture()
def console(tmp_path: Path) -> Iterator[Console]:
    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)})
    world.seed = {"sauvegardes": {"automatiques": True, "heures": [2]}}
    world.log_in()
    yield Console(world)


def test_every_page_but_health_and_metrics_needs_a_login(console: Console) -> None:
    response = console.client.get("/statut")
    assert response.status_code == 302 and "/login?next=/statut" in response.headers["Location"]
    assert console.client.get("/api/status").status_code == 401
    assert console.client.get("/healthz").get_json() == {"status": "ok"}
    assert b"neocuma_guardian" in console.client.get("/metrics").data
    headers = console.client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in headers["Content-Security-Policy"]


def test_a_login_goes_back_to_the_page_asked_for_and_never_elsewhere(console: Console) -> None:
    response = console.login(path="/login?next=/logs")
    assert response.status_code == 302 and response.headers["Location"] == "/logs"
    console.client.post("/logout", data={"csrf": console.token("/statut")})
    response = console.client.post(
        "/login?next=//evil.example/",
        data={"csrf": console.token(), "login": "resp.fd12", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/statut"


def test_a_refused_login_says_why_and_keeps_the_user_out(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    response = console.login(password="wrong")
    assert response.status_code == 401 and "refusé par le serveur distant" in response.get_data(as_text=True)
    assert (
        "connexion console refusée pour 'resp.fd12'" in caplog.text and "wrong" not in caplog.text.split("refusée")[1]
    )
    assert console.client.get("/statut").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    console.login()
    assert console.client.post("/actions/backup").status_code == 400
    assert console.client.post("/login", data={"login": "resp.fd12", "password": PASSWORD}).status_code == 400


def test_the_run_button_starts_a_background_job_that_follows_the_whole_loop(console: Console) -> None:
    console.login()
    response = console.post("/actions/run")
    assert response.status_code == 302
    last = console.finish()
    assert last["ok"] is True and "génération 1 en service" in last["message"]
    assert console.client.get("/api/job").get_json()["last"]["name"] == "Sauvegarde et synchronisation"
    assert console.post("/actions/explode").status_code == 404


def test_the_status_page_says_what_the_last_backup_moved_and_a_full_one_can_be_asked_for(console: Console) -> None:
    console.login()
    console.post("/actions/backup")
    assert "complète : 3 dossier(s)" in console.finish()["message"]
    console.world.central.write("120001")
    console.world.clock.advance(3600)
    console.post("/actions/backup")
    assert "incrémentale : 1 dossier(s) transféré(s) sur 3" in console.finish()["message"]
    page = console.client.get("/statut").get_data(as_text=True)
    assert 'id="last-backup"' in page and "incrémentale : 1 dossier(s) transféré(s) sur 3" in page
    assert 'id="action-full"' in page
    console.world.clock.advance(3600)
    console.post("/actions/full")
    last = console.finish()
    assert last["ok"] is True and "(sauvegarde complète demandée)" in last["message"]


def test_a_sync_says_what_it_reloaded_and_a_full_one_can_be_asked_for(console: Console) -> None:
    console.login()
    console.post("/actions/backup")
    console.finish()
    console.post("/actions/sync")
    assert "en service, complète : 3 dossier(s) rechargé(s) sur 3" in console.finish()["message"]
    page = console.client.get("/statut").get_data(as_text=True)
    assert 'id="last-sync"' in page and "complète : 3 dossier(s) rechargé(s) sur 3" in page
    assert 'id="action-fullsync"' in page and "Lancer une synchronisation complète maintenant" in page
    console.post("/actions/fullsync")
    last = console.finish()
    assert last["ok"] is True and "synchronisation complète demandée" in last["message"], last


def test_a_refused_action_is_shown_as_the_jobs_outcome(console: Console) -> None:
    console.login()
    console.post("/actions/standby")
    assert console.finish()["ok"] is True
    console.post("/actions/fallback")
    last = console.finish()
    assert last["ok"] is False and "aucune donnée" in last["message"]


def test_the_tabs_render_with_the_state_they_show(console: Console) -> None:
    console.login()
    console.post("/actions/run")
    console.finish()
    console.world.parts.monitor.evaluate_and_record()
    status = console.client.get("/statut").get_data(as_text=True)
    assert "Serveur NeoCuma distant" in status and "Sauvegarde et synchronisation" in status
    assert "depuis le 28/11/2026 12:00:00 UTC (13:00 à Paris)" in status, "one date format, Paris time beside UTC"
    backups = console.client.get("/sauvegardes").get_data(as_text=True)
    assert "2026-11-28T12-00-00Z.zip" in backups
    etat = console.client.get("/etat").get_data(as_text=True)
    assert "120003" in etat and "à jour" in etat
    assert console.client.get("/api/status").get_json()["data_generation"] == 1


def test_etat_says_why_when_the_remote_is_down_and_shows_the_local_list(console: Console) -> None:
    console.login()
    console.post("/actions/run")
    console.finish()
    console.world.database.write("120002")
    console.world.central.reachable = False
    page = console.client.get("/etat").get_data(as_text=True)
    assert "est injoignable" in page and "Seule la liste locale est affichée" in page
    assert re.search(r'id="state-120002">modifié localement \(distant inconnu\)<', page), page
    assert re.search(r'id="state-120001">inchangé en local \(distant inconnu\)<', page)


def test_pull_and_restore_from_the_etat_tab(console: Console) -> None:
    console.login()
    console.post("/actions/run")
    console.finish()
    console.world.central.write("120002")
    console.post("/etat/descendre", dossier="120002")
    assert console.finish()["message"] == "descendu(s) : 120002"
    assert console.post("/etat/remonter", dossier="120001").status_code == 409, "the password typed again is needed"
    console.post("/etat/remonter", dossier="120001", password=PASSWORD)
    assert "120001 remonté" in console.finish()["message"]
    assert console.world.central.imports[-1] == ("resp.fd12", "120001")
    assert console.post("/etat/descendre", dossier="../x").status_code == 409


def test_the_console_acts_as_its_user(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    """Another responsable of the centre restores with their own password, as themselves;
    the stored account's password does not do for them; every job names who started it."""
    caplog.set_level(logging.INFO)
    console.login(COLLEAGUE, COLLEAGUE_PASSWORD)
    console.post("/actions/run")
    assert console.finish()["user"] == COLLEAGUE
    assert f"Sauvegarde et synchronisation : début (demandée par {COLLEAGUE})" in caplog.text
    console.world.database.write("120001")
    console.post("/etat/remonter", dossier="120001", password=PASSWORD)
    last = console.finish()
    assert last["ok"] is False and "a refusé l'identification de resp2.fd12" in last["message"]
    assert console.world.central.imports == [], "nothing sent with someone else's password"
    console.post("/etat/remonter", dossier="120001", password=COLLEAGUE_PASSWORD)
    assert "120001 remonté" in console.finish()["message"]
    assert console.world.central.imports == [(COLLEAGUE, "120001")], "the central server saw the console's user"
    assert f"Remontée vers le serveur distant de 120001 : fin (demandée par {COLLEAGUE})" in caplog.text


def test_settings_are_saved_inside_the_slot_and_refused_outside_it(console: Console) -> None:
    console.login()
    page = console.client.get("/parametrages").get_data(as_text=True)
    assert "heure paire de :00 à :10" in page
    assert 'value="choisies" checked' in page and "une fois par nuit (02 h)" in page, "the seed chose 02 h"
    saved = console.post("/parametrages", automatiques="1", frequence="choisies", heure=["4"], apres_sauvegarde="1")
    assert saved.status_code == 200 and "Paramétrages enregistrés" in saved.get_data(as_text=True)
    assert console.world.state.document("settings")["sauvegardes"]["heures"] == [4]
    every = console.post("/parametrages", automatiques="1", frequence="toutes", heure=["4"])
    assert every.status_code == 200 and 'value="toutes" checked' in every.get_data(as_text=True)
    assert console.world.state.document("settings")["sauvegardes"]["heures"] == "toutes"
    console.post("/parametrages", automatiques="1", frequence="choisies", heure=["4"])
    refused = console.post("/parametrages", automatiques="1", frequence="choisies", heure=["3"])
    assert refused.status_code == 422 and "hors du créneau" in refused.get_data(as_text=True)
    assert console.world.state.document("settings")["sauvegardes"]["heures"] == [4]


def test_the_hors_site_section_shows_the_repository_and_keeps_the_retention_chosen(tmp_path: Path) -> None:
    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)}, offsite=FakeOffsite())
    world.seed = {"sauvegardes": {"automatiques": True, "heures": [2]}}
    world.log_in()
    console = Console(world)
    console.login()
    page = console.client.get("/parametrages").get_data(as_text=True)
    assert '<h2 id="hors-site">Hors site</h2>' in page and "sftp:sauvegarde@nas.example.fr:/neocuma" in page
    assert 'name="quotidiennes" min="7" max="10000" value="30"' in page
    assert "configuration (NEOCUMA_OFFSITE_KEEP_*)" in page and "1/30 des données" in page
    form = dict(automatiques="1", frequence="choisies", heure=["2"], apres_sauvegarde="1")
    console.post("/parametrages", **form, quotidiennes="30", hebdomadaires="12", mensuelles="12")
    assert "hors_site" not in world.state.document("settings"), "unchanged: still the configuration's"
    saved = console.post(
        "/parametrages", **form, quotidiennes="7", hebdomadaires="4", mensuelles="24", password=PASSWORD
    )
    assert saved.status_code == 200 and "valeurs de : Paramétrages" in saved.get_data(as_text=True)
    assert world.state.document("settings")["hors_site"] == {"quotidiennes": 7, "hebdomadaires": 4, "mensuelles": 24}
    refused = console.post("/parametrages", **form, quotidiennes="-1", hebdomadaires="4", mensuelles="24")
    assert refused.status_code == 422 and "hors_site.quotidiennes" in refused.get_data(as_text=True)
    assert world.state.document("settings")["hors_site"]["quotidiennes"] == 7, "the refused value changed nothing"
    world.parts.actions.data_backup()
    assert world.offsite is not None and world.offsite.forgotten[-1][1].daily == 7
    world.parts.monitor.evaluate_and_record()
    status = console.client.get("/statut").get_data(as_text=True)
    assert 'id="action-offsite"' in status and 'id="indicator-copie_hors_site" data-green="true"' in status
    console.post("/actions/offsite")
    assert "copie hors site vers sftp:sauvegarde@nas.example.fr:/neocuma" in console.finish()["message"]


RETENTION_FORM = dict(automatiques="1", frequence="choisies", heure=["2"], apres_sauvegarde="1")


def _offsite_console(tmp_path: Path) -> Console:
    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)}, offsite=FakeOffsite())
    world.seed = {"sauvegardes": {"automatiques": True, "heures": [2]}}
    world.log_in()
    console = Console(world)
    console.login()
    return console


def test_a_console_user_cannot_erase_the_offsite_history(tmp_path: Path) -> None:
    """Issue 23, 11: "0 daily, 0 weekly, 1 monthly" is refused by the floor, password or not."""
    console = _offsite_console(tmp_path)
    world, form = console.world, RETENTION_FORM
    erased = console.post(
        "/parametrages", **form, quotidiennes="0", hebdomadaires="0", mensuelles="1", password=PASSWORD
    )
    page = erased.get_data(as_text=True)
    assert erased.status_code == 422, "refused even with the password"
    for words in ("hors_site.quotidiennes doit garder au moins 7 copies", "hebdomadaires doit garder au moins 4"):
        assert words in page, page
    assert "hors_site.mensuelles doit garder au moins 3 copies" in page and "pas 1" in page
    assert "hors_site" not in world.state.document("settings"), "nothing written"
    assert "settings" not in world.state.history()
    world.parts.actions.data_backup()
    assert world.offsite is not None and world.offsite.forgotten[-1][1] == Retention(30, 12, 12)


def test_fewer_offsite_copies_need_the_users_password_and_are_recorded_with_who_and_what(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23, 11: within the floor, a shorter retention needs the user's own password
    typed again; who changed what, from what, and when, goes to the history and the log."""
    console = _offsite_console(tmp_path)
    world, form = console.world, RETENTION_FORM
    shorter = dict(form, quotidiennes="7", hebdomadaires="4", mensuelles="3")
    unconfirmed = console.post("/parametrages", **shorter)
    assert unconfirmed.status_code == 422
    assert "ressaisissez votre mot de passe pour réduire la rétention hors site" in unconfirmed.get_data(as_text=True)
    wrong = console.post("/parametrages", **shorter, password="wrong")
    assert wrong.status_code == 422 and "mot de passe non confirmé" in wrong.get_data(as_text=True)
    colleagues = console.post("/parametrages", **shorter, password=COLLEAGUE_PASSWORD)
    assert colleagues.status_code == 422, "another user's password does not confirm for this one"
    assert "hors_site" not in world.state.document("settings") and "settings" not in world.state.history()

    world.clock.advance(60)
    with caplog.at_level(logging.INFO, logger="appliance.guardian.settings_store"):
        confirmed = console.post("/parametrages", **shorter, password=PASSWORD)
    assert confirmed.status_code == 200 and "Paramétrages enregistrés." in confirmed.get_data(as_text=True)
    assert world.state.document("settings")["hors_site"] == {"quotidiennes": 7, "hebdomadaires": 4, "mensuelles": 3}
    record = world.state.history()["settings"]
    assert record["par"] == "resp.fd12" and record["at"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record["avant"]["hors_site"] == {"quotidiennes": 30, "hebdomadaires": 12, "mensuelles": 12}
    assert record["apres"]["hors_site"] == {"quotidiennes": 7, "hebdomadaires": 4, "mensuelles": 3}
    assert (
        "Paramétrages enregistrés par resp.fd12 : hors_site.quotidiennes : 30 → 7 ; hors_site.hebdomadaires : 12 → 4 ;"
        " hors_site.mensuelles : 12 → 3" in caplog.messages
    )
    assert PASSWORD not in caplog.text

    longer = console.post("/parametrages", **dict(form, quotidiennes="14", hebdomadaires="4", mensuelles="3"))
    assert longer.status_code == 200, "keeping more copies needs no password"
    assert world.state.history()["settings"]["apres"]["hors_site"]["quotidiennes"] == 14


def test_without_a_repository_the_hors_site_section_says_so_and_no_copy_button_shows(console: Console) -> None:
    console.login()
    assert 'id="offsite-none"' in console.client.get("/parametrages").get_data(as_text=True)
    assert 'id="action-offsite"' not in console.client.get("/statut").get_data(as_text=True)


def test_the_logs_tab_filters_by_level_and_day(console: Console, tmp_path: Path) -> None:
    console.login()
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        {"time": "2026-11-28T10:00:00.00Z", "level": "INFO", "logger": "x", "run": "a", "message": "info line"},
        {"time": "2026-11-28T11:00:00.00Z", "level": "ERROR", "logger": "x", "run": "b", "message": "error line"},
        {"time": "2026-11-27T11:00:00.00Z", "level": "ERROR", "logger": "x", "run": "c", "message": "yesterday"},
    ]
    (logs / "guardian.log").write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    page = console.client.get("/logs?niveau=ERROR&date=2026-11-28").get_data(as_text=True)
    assert "error line" in page and "info line" not in page and "yesterday" not in page
    assert "28/11/2026 11:00:00 UTC (12:00 à Paris)" in page and "<td>erreur</td>" in page, "French, one date format"
    assert '<option value="WARNING" >avertissement</option>' in page and ">ERROR<" not in page
    assert console.client.get("/logs?date=garbage").status_code == 200


def test_backups_can_be_downloaded_by_a_logged_in_user_only(console: Console) -> None:
    console.world.parts.actions.run_all()
    name = console.world.backups.data_names()[0]
    console.world.backups.put("local", "2026-11-28T09-00-00Z-120001-avant-descente.zip", b"local copy")
    assert console.client.get(f"/sauvegardes/data/{name}").status_code == 302, "no download without a login"
    console.login()
    page = console.client.get("/sauvegardes").get_data(as_text=True)
    assert f'href="/sauvegardes/data/{name}"' in page and 'href="/sauvegardes/systeme/system.zip"' in page
    assert "local/2026-11-28T09-00-00Z-120001-avant-descente.zip" in page
    reply = console.client.get(f"/sauvegardes/data/{name}")
    assert reply.status_code == 200 and reply.data == console.world.backups.files["data"][name][0]
    assert reply.headers["Content-Disposition"] == f"attachment; filename={name}"
    local = console.client.get("/sauvegardes/local/2026-11-28T09-00-00Z-120001-avant-descente.zip")
    assert local.data == b"local copy"
    assert console.client.get("/sauvegardes/systeme/system.zip").data[:2] == b"PK"
    for bad in ("data/..%2Fsystem.zip", "data/absent.zip", "local/x.zip", "systeme/other.zip", "etc/passwd"):
        assert console.client.get(f"/sauvegardes/{bad}").status_code == 404, bad


def test_repeated_failed_logins_are_refused_at_once_never_slept_on(console: Console) -> None:
    """No worker thread sleeps: a refusal answers at once; after a few, the next attempt
    is a 429 with Retry-After and no password is checked at all."""
    import time

    started = time.monotonic()
    for _ in range(3):
        assert console.login(password="wrong").status_code == 401
    assert time.monotonic() - started < 1.0, "three refusals, no sleeping"
    sessions = console.world.central.sessions
    early = console.login(login="RESP.fd12", password=PASSWORD)
    assert early.status_code == 429 and int(early.headers["Retry-After"]) >= 1
    assert "Trop de tentatives" in early.get_data(as_text=True)
    assert console.world.central.sessions == sessions, "no password checked while it must wait"


def test_the_fallback_button_works_while_a_push_runs_in_the_background(tmp_path: Path) -> None:
    """A scheduled run's push (or the console's) may take hours: the switch to fallback
    mode, short, is not held up by it."""
    import threading

    from appliance.domain.offsite import DATA
    from tests.fakes.guardian import DOSSIERS

    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)}, offsite=FakeOffsite())
    world.log_in()
    world.database.set_live(1, DOSSIERS)
    assert world.offsite is not None
    world.offsite.fault = "unreachable"
    made = world.parts.actions.data_backup()  # not pushed yet
    world.offsite.fault = None
    pushing, release = threading.Event(), threading.Event()

    def slow(name: str) -> None:
        pushing.set()
        release.wait(10)

    world.offsite.on_push = slow
    console = Console(world)
    console.login()
    console.post("/actions/offsite")
    assert pushing.wait(10) and console.runner.busy()
    try:
        switched = console.post("/actions/fallback")
    finally:
        release.set()
    assert switched.status_code == 200 and "mode fallback" in switched.get_data(as_text=True)
    assert world.database.control.mode == "fallback"
    assert console.finish()["ok"] is True and (DATA, made.name) in [(c.kind, c.name) for c in world.offsite.copies()]
