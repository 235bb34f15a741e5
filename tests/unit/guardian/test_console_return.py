"""The console's page "Retour au serveur central" over fakes (docs/fallback.md, "The
return"): the plan shown, the refusals that change nothing (422), the return started as the
console's user, and the banner leading to the page in fallback mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.domain.outbox import NOT_TAKEN, PENDING
from appliance.errors import Unavailable
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import COLLEAGUE, COLLEAGUE_PASSWORD, PASSWORD
from tests.unit.guardian.test_console import Console

PAGES = ("/statut", "/etat", "/parametrages", "/logs", "/sauvegardes", "/retour")


@pytest.fixture()
def console(tmp_path: Path) -> Iterator[Console]:
    """Synchronised, then in fallback mode (the link dropped), the monitor's view recorded."""
    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)})
    world.seed = {"sauvegardes": {"automatiques": True, "heures": [2]}}
    world.log_in()
    world.parts.actions.run_all()
    world.parts.actions.mode("fallback", force=False)
    world.parts.monitor.evaluate_and_record()
    yield Console(world)


def _page(console: Console) -> str:
    response = console.client.get("/retour")
    assert response.status_code == 200
    text: str = response.get_data(as_text=True)
    return text


def _cell(page: str, id_: str) -> str:
    found = re.search(rf'id="{id_}"[^>]*>([^<]*)<', page)
    assert found, id_
    return found.group(1).strip()


def _states(world: FakeWorld, code: str) -> list[str]:
    return [e.state for e in world.database.outbox_entries if e.operation.dossier == code]


def test_the_page_lists_the_dossiers_with_local_work_preselected_and_what_each_side_did(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    world.database.enter_bon("120001")
    world.database.enter_bon("120003")
    world.central.write("120003")
    console.login()
    page = _page(console)
    assert 'id="central-state" data-reachable="true"' in page
    assert re.search(r'id="return-select-120001"[^>]* checked', page)
    assert re.search(r'id="return-select-120003"[^>]* checked', page)
    assert "return-select-120002" not in page, "no local work: not listed"
    assert (_cell(page, "return-entered-120001"), _cell(page, "return-pending-120001")) == ("2", "2")
    assert _cell(page, "return-central-120001") == "inchangé"
    assert _cell(page, "return-central-120003").startswith("modifié (révision")
    assert re.search(r'id="return-method-120001-rejeu"[^>]* checked', page)
    assert 'id="return-method-120001-entier"' in page
    assert 'id="return-method-120003-entier"' not in page, "whole only when the central server did not change it"
    assert 'id="return-password"' in page and 'id="return-start"' in page and "Lancer le retour" in page
    assert 'name="csrf"' in page
    assert _cell(page, "return-blocked-120001") == ""
    world.central.exporte.add("120001")
    assert 'id="return-method-120001-entier"' not in _page(console), "an exporté dossier cannot be replaced"


def test_a_blocked_dossier_and_a_central_server_still_down_are_said_on_the_page(console: Console) -> None:
    world = console.world
    world.database.write("120002")  # work no operation explains: it must go back whole
    world.database.enter_bon("120001")
    console.login()
    assert "renvoyez-le entier" in _cell(_page(console), "return-blocked-120002")
    world.central.reachable = False
    page = _page(console)
    assert 'id="central-state" data-reachable="false"' in page and "ne répond pas encore" in page
    assert _cell(page, "return-central-120001") == "inconnu"


def test_the_refused_operations_are_listed_with_who_when_the_local_number_and_the_reason(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    world.database.enter_bon("120003", user="compta2.fd12")
    world.central.refusals = {"120003": "l'exercice 2026 est clôturé"}
    world.parts.actions.replay()
    console.login()
    page = _page(console)
    table = page.split('id="refused-operations"')[1].split("</table>")[0]
    assert "120003" in table and "BT03-00502" in table and "compta2.fd12" in table
    assert "l&#39;exercice 2026 est clôturé" in table and "06/12/2026 09:02:00 UTC" in table
    assert "date 2026-03-04, quantité 2.00 (adhérent id 7, activité id 2)" in table
    assert "120001" not in table
    assert _cell(page, "return-refused-120003") == "1"


def test_refusals_of_the_plan_are_shown_with_422_and_change_nothing(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    world.database.enter_bon("120003")
    world.central.write("120003")
    console.login()
    imports = list(world.central.imports)

    def refused(form: dict[str, object], words: str) -> None:
        response = console.post("/retour", password=PASSWORD, **form)
        page = response.get_data(as_text=True)
        assert response.status_code == 422, page
        assert words in _cell(page, "return-refusal"), page

    refused({"dossier": ["120001", "120003"], "methode-120003": "entier"}, "120003 : modifié aussi sur le serveur")
    refused({"dossier": ["120001", "120002"]}, "sans travail local à renvoyer : 120002")
    refused({}, "aucun dossier coché")
    refused({"dossier": ["120001", "../x\nfaux"]}, "code de dossier invalide")
    response = console.post("/retour", dossier="120001")
    assert response.status_code == 422 and "ressaisissez votre mot de passe" in response.get_data(as_text=True)
    world.central.reachable = False
    refused({"dossier": ["120001"]}, "ne répond pas encore")
    assert console.world.parts.progress.snapshot() == {"current": None, "last": None}, "no job started"
    assert world.database.control.mode == "fallback"
    assert _states(world, "120001") == [PENDING] and _states(world, "120003") == [PENDING]
    assert world.central.imports == imports and world.central.replay_logins == []


def test_nothing_to_send_is_refused_and_outside_fallback_mode_there_is_no_return(console: Console) -> None:
    console.login()
    assert "return-nothing" in _page(console)
    response = console.post("/retour", password=PASSWORD)
    assert response.status_code == 422 and "aucun dossier n&#39;a de travail local" in response.get_data(as_text=True)
    console.world.parts.actions.mode("standby", force=False)
    assert 'id="return-not-fallback"' in _page(console)
    assert console.post("/retour", dossier="120001", password=PASSWORD).status_code == 422


def test_the_return_runs_as_the_console_user_and_says_what_it_did(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    world.database.enter_bon("120002")
    world.database.enter_bon("120003")
    world.central.write("120002")
    world.central.refusals = {"120003": "l'exercice 2026 est clôturé"}
    console.login(COLLEAGUE, COLLEAGUE_PASSWORD)
    form = {"dossier": ["120001", "120002", "120003"], "methode-120001": "entier", "methode-120002": "rejeu"}
    response = console.post("/retour", password=COLLEAGUE_PASSWORD, **form)
    assert response.status_code == 302 and response.headers["Location"] == "/retour"
    last = console.finish()
    assert last["ok"] is True and last["user"] == COLLEAGUE, last
    assert last["name"] == "Retour au serveur central (3 dossier(s))"
    message = last["message"]
    assert message.startswith("3 dossier(s) renvoyé(s) au serveur central (1 entier(s), 2 par rejeu)"), message
    assert "1 bon(s) appliqué(s), 1 renuméroté(s) (BT03-00502 → BT03-00101)" in message
    assert "1 opération(s) refusée(s) par le serveur central, à ressaisir" in message
    assert "serveur local en mode veille" in message and "synchronisation faite, génération" in message
    assert world.central.imports[-1] == (COLLEAGUE, "120001"), "the whole one, as the console's user"
    assert world.central.replay_logins == [COLLEAGUE], "the replay, as the console's user"
    assert world.database.control.mode == "standby" and _states(world, "120003") == [NOT_TAKEN]
    page = _page(console)
    assert 'id="return-not-fallback"' in page and "l&#39;exercice 2026 est clôturé" in page
    assert "à ressaisir" in page.split('id="job"')[1].split("</div>")[0], "the outcome shown on the page"


def test_a_wrong_password_fails_the_job_and_leaves_fallback_mode_as_it_was(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    console.login(COLLEAGUE, COLLEAGUE_PASSWORD)
    assert console.post("/retour", dossier="120001", password=PASSWORD).status_code == 302  # resp.fd12's password
    last = console.finish()
    assert last["ok"] is False and "a refusé l'identification de resp2.fd12" in last["message"]
    assert world.database.control.mode == "fallback" and _states(world, "120001") == [PENDING]


def test_in_fallback_mode_every_page_leads_to_the_return_and_says_when_the_central_server_answers(
    console: Console,
) -> None:
    world = console.world
    console.login()
    world.central.reachable = False
    world.clock.advance(60)
    world.parts.monitor.evaluate_and_record()
    for path in PAGES:
        page = console.client.get(path).get_data(as_text=True)
        assert 'id="return-banner"' in page and 'href="/retour" id="return-link"' in page, path
        assert "Le serveur central répond de nouveau" not in page, path
    assert "depuis le 28/11/2026" in console.client.get("/statut").get_data(as_text=True)
    assert 'id="action-return"' in console.client.get("/statut").get_data(as_text=True)
    world.central.reachable = True
    world.clock.advance(60)
    world.parts.monitor.evaluate_and_record()
    for path in PAGES:
        page = console.client.get(path).get_data(as_text=True)
        assert 'data-central-answers="true"' in page and "Le serveur central répond de nouveau" in page, path
    stranger = console.app.test_client()
    assert "Retour au serveur central" not in stranger.get("/login").get_data(as_text=True)
    response = stranger.get("/retour")
    assert response.status_code == 302 and "/login?next=/retour" in response.headers["Location"]
    assert stranger.post("/retour", data={"dossier": "120001"}).status_code == 302, "no login: nothing started"
    world.parts.actions.mode("standby", force=False)
    page = console.client.get("/statut").get_data(as_text=True)
    assert 'id="return-banner"' not in page and 'id="action-return"' not in page, "not in standby mode"


def test_a_failed_sync_after_the_switch_is_said_in_the_summary(console: Console) -> None:
    world = console.world
    world.database.enter_bon("120001")
    console.login()
    world.database.fail_load = Unavailable("disque plein")
    world.database.fail_refresh = Unavailable("disque plein")
    console.post("/retour", dossier="120001", password=PASSWORD)
    last = console.finish()
    assert last["ok"] is True and "serveur local en mode veille" in last["message"]
    assert "mais : " in last["message"] and "disque plein" in last["message"], last["message"]
    assert "synchronisation faite" not in last["message"]
    assert world.database.control.mode == "standby" and _states(world, "120001") == ["applied"]
