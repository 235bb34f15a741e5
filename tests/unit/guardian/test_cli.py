"""``neocuma-guardian`` over fakes: each command's output and exit status, passwords from
standard input, refusals and usage errors by name, the refresh request after a change."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from appliance import __version__
from appliance.guardian.cli import main
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import KEY, OTHER_KEY, PASSWORD

# The CLI sets up the root logger as a program does; conftest gives it back after each test.
pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture()
def world(cli_world: FakeWorld) -> FakeWorld:
    world = cli_world
    world.seed = {"sauvegardes": {"automatiques": False}}
    return world


def run(world: FakeWorld, *argv: str, stdin: str = "") -> int:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main(list(argv), build=lambda config: world.parts)
    finally:
        sys.stdin = old


def test_login_pins_the_checked_key_and_reads_the_password_from_stdin(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.central.pinned = None
    assert run(world, "login", "--user", "resp.fd12", stdin=PASSWORD + "\n") == 1, "an unconfirmed key stops it"
    assert world.central.pinned is None and "Empreinte non confirmée" in capsys.readouterr().err
    assert run(world, "login", "--user", "resp.fd12", "--accept-hostkey", KEY, stdin=PASSWORD + "\n") == 0
    out = capsys.readouterr().out
    assert f"empreinte de la clé d'hôte {KEY}" in out and "Connecté : resp.fd12" in out
    assert world.state.credentials().password == PASSWORD
    assert world.state_store.touched.get("refresh-requested"), "the daemon is asked for a round"


def test_login_refuses_a_changed_key_loudly(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.central.presented = OTHER_KEY
    assert run(world, "login", "--user", "resp.fd12", stdin=PASSWORD + "\n") == 1
    assert "a CHANGÉ" in capsys.readouterr().err and not world.state.logged_in()


def test_login_without_a_password_on_stdin_is_a_usage_error(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "login", "--user", "resp.fd12") == 2
    assert "attendu sur l'entrée standard" in capsys.readouterr().err


def test_hostkey_show_and_accept(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(world, "hostkey", "show") == 0
    assert f"épinglée : {KEY}" in capsys.readouterr().out
    assert run(world, "hostkey", "accept", OTHER_KEY) == 1
    assert "rien n'a été épinglé" in capsys.readouterr().err


def test_the_whole_loop_from_the_command_line(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    assert run(world, "run") == 0
    out = capsys.readouterr().out
    assert "Sauvegarde des données : data/2026-11-28T12-00-00Z.zip (3 dossiers)" in out
    assert "Synchronisation : génération 1 en service" in out
    assert run(world, "backups", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["backups"][0]["status"] == "vérifiée à l'écriture"
    assert run(world, "backups") == 0 and "system.zip" in capsys.readouterr().out
    assert run(world, "dossiers", "--json") == 0
    first = capsys.readouterr().out
    assert run(world, "dossiers", "--json") == 0
    assert capsys.readouterr().out == first, "nothing changes between two calls when nothing happened"
    assert {d["state"] for d in json.loads(first)["dossiers"]} == {"à jour"}
    assert run(world, "status") == 0 and "génération 1" in capsys.readouterr().out
    assert run(world, "status", "--json") == 0 and json.loads(capsys.readouterr().out)["remote"]["ok"] is True


def test_backup_and_sync_one_at_a_time(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    assert run(world, "backup", "--data") == 0
    assert "Sauvegarde système" not in capsys.readouterr().out
    assert run(world, "backup", "--system") == 0 and "system.zip, 1 fichiers" in capsys.readouterr().out
    assert run(world, "sync", "--backup", "2026-11-28T12-00-00Z.zip") == 0
    assert "→ génération 1, 3 dossiers" in capsys.readouterr().out


def test_backup_says_what_moved_and_full_asks_for_every_dossier(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.log_in()
    assert run(world, "backup", "--data") == 0
    assert "complète : 3 dossier(s) transféré(s) sur 3" in capsys.readouterr().out
    world.central.write("120003")
    world.clock.advance(3600)
    assert run(world, "backup", "--data", "--json") == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert (data["mode"], data["changed"], data["dossiers"]) == ("incremental", 1, 3)
    world.clock.advance(3600)
    assert run(world, "backup", "--data", "--full") == 0
    said = capsys.readouterr().out
    assert "complète : 3 dossier(s) transféré(s) sur 3" in said and "(sauvegarde complète demandée)" in said
    assert world.central.full_exports == 2
    assert run(world, "backup", "--system", "--full") == 1
    assert "--full concerne la sauvegarde des données" in capsys.readouterr().err


def test_a_refusal_exits_1_with_its_reason(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(world, "sync") == 1
    assert "neocuma-guardian: aucune sauvegarde de données" in capsys.readouterr().err
    assert run(world, "status") == 1, "not logged in: the remote is not ok"


def test_pull_restore_and_modes(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    run(world, "run")
    world.central.write("120002")
    assert run(world, "pull", "120002", "120002") == 0
    assert "Descendu(s) vers le serveur local : 120002" in capsys.readouterr().out
    assert run(world, "mode", "fallback") == 0 and "mode standby → fallback" in capsys.readouterr().out
    world.database.write("120001")
    assert run(world, "mode", "standby") == 1 and "--force" in capsys.readouterr().err
    assert run(world, "restore", "120001", stdin=PASSWORD + "\n") == 0
    assert "Remonté : 120001 (révision distante 6)" in capsys.readouterr().out
    assert run(world, "mode", "standby") == 0


def test_bad_dossier_codes_are_usage_errors(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(world, "pull", "../etc") == 2
    assert "code(s) de dossier invalide(s) : ../etc" in capsys.readouterr().err


def test_settings_show_and_set_with_refusals_by_name(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    assert run(world, "settings") == 0
    assert "sauvegardes automatiques : non" in capsys.readouterr().out
    assert run(world, "settings", "set", "automatiques=oui", "heures=2,4") == 0
    out = capsys.readouterr().out
    assert "sauvegardes automatiques : oui" in out and "02, 04" in out
    record = world.state.history()["settings"]
    assert record["par"] == "ligne de commande (neocuma-guardian settings set)"
    assert (record["avant"]["sauvegardes"]["automatiques"], record["apres"]["sauvegardes"]["automatiques"]) == (
        False,
        True,
    )
    assert run(world, "settings", "set", "heures=3") == 2
    assert "hors du créneau" in capsys.readouterr().err
    assert run(world, "settings", "set", "couleur=bleu") == 2
    assert "réglage inconnu 'couleur'" in capsys.readouterr().err


def test_settings_set_keeps_offsite_counts_and_fewer_copies_need_the_password_again(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.log_in()
    assert run(world, "settings") == 0
    assert "copies hors site gardées : 30 quotidiennes, 12 hebdomadaires, 12 mensuelles (configuration)" in (
        capsys.readouterr().out
    )
    assert run(world, "settings", "set", "hors_site.quotidiennes=40") == 0, "more copies: no password"
    assert "40 quotidiennes, 12 hebdomadaires, 12 mensuelles (paramétrages)" in capsys.readouterr().out
    assert run(world, "settings", "set", "hors_site.mensuelles=6", stdin="faux\n") == 1
    assert "rétention hors site non réduite : mot de passe non confirmé" in capsys.readouterr().err
    assert world.state.history()["settings"]["apres"]["hors_site"]["mensuelles"] == 12, "nothing written"
    assert run(world, "settings", "set", "hors_site.mensuelles=6", stdin=f"{PASSWORD}\n") == 0
    assert "40 quotidiennes, 12 hebdomadaires, 6 mensuelles" in capsys.readouterr().out
    record = world.state.history()["settings"]
    assert (record["avant"]["hors_site"]["mensuelles"], record["apres"]["hors_site"]["mensuelles"]) == (12, 6)
    assert run(world, "settings", "set", "hors_site.mensuelles=2", stdin=f"{PASSWORD}\n") != 0
    assert "plancher" in capsys.readouterr().err, "never below the retention floor"
    assert run(world, "settings", "set", "hors_site.annuelles=1") == 2
    assert run(world, "settings", "set", "hors_site.quotidiennes=beaucoup") == 2
    assert "un nombre de copies de 0 à 10000" in capsys.readouterr().err


def test_check_prints_one_line_and_exits_as_nagios_wants(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(world, "check") == 3
    assert capsys.readouterr().out.startswith("NEOCUMA GUARDIAN UNKNOWN")
    world.log_in()
    world.seed = {"sauvegardes": {"automatiques": True}}
    world.parts.actions.run_all()
    world.parts.monitor.evaluate_and_record()
    assert run(world, "check") == 0 and capsys.readouterr().out.startswith("NEOCUMA GUARDIAN OK - 4/5")


def test_check_answers_its_version_with_v_as_a_plugin_does(capsys: pytest.CaptureFixture[str]) -> None:
    def unused(config: object) -> object:
        raise AssertionError("-V needs no configuration and builds nothing")

    for flag in ("-V", "--version"):
        assert main(["check", flag], build=unused) == 0  # type: ignore[arg-type]
        assert capsys.readouterr().out == f"neocuma-guardian check {__version__}\n"


def test_config_show_masks_secrets_and_names_sources(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCUMA_DB_PASSWORD", "very-secret")
    monkeypatch.setenv("NEOCUMA_WEBHOOK_URL", "https://hooks.example/T0KEN-in-the-url")
    monkeypatch.setenv("NEOCUMA_SMPT_HOST", "typo")
    assert run(world, "config", "show") == 0
    captured = capsys.readouterr()
    assert "very-secret" not in captured.out and "********" in captured.out
    assert "T0KEN" not in captured.out, "a webhook URL may hold a token: masked"
    assert "environment NEOCUMA_DB_PASSWORD" in captured.out and "paramétrages" in captured.out
    assert "NEOCUMA_SMPT_HOST" in captured.err and "vouliez-vous dire NEOCUMA_SMTP_HOST" in captured.err
    assert run(world, "config", "validate") == 0 and "configuration valide" in capsys.readouterr().out


def test_a_bad_configuration_exits_2_listing_every_problem(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCUMA_REMOTE_PORT", "ssh")
    monkeypatch.setenv("NEOCUMA_BACKUPS_KEEP", "0")
    assert run(world, "config", "validate") == 2
    err = capsys.readouterr().err
    assert "NEOCUMA_REMOTE_PORT" in err and "NEOCUMA_BACKUPS_KEEP" in err


def test_check_answers_unknown_for_every_kind_of_error(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(world, "check", "-w", "bientôt") == 3
    assert capsys.readouterr().out.startswith("NEOCUMA GUARDIAN UNKNOWN - -w/-c AGE[,SKEW] : l'âge de la sauvegarde")
    assert run(world, "check", "--frequence") == 3
    assert capsys.readouterr().out.startswith("NEOCUMA GUARDIAN UNKNOWN - usage :")
    monkeypatch.setenv("NEOCUMA_BACKUPS_KEEP", "zéro")
    assert run(world, "check") == 3
    out = capsys.readouterr().out
    assert out.startswith("NEOCUMA GUARDIAN UNKNOWN - configuration invalide :") and "NEOCUMA_BACKUPS_KEEP" in out
    assert len(out.strip().splitlines()) == 1, "one line, as a plugin must print"
    monkeypatch.delenv("NEOCUMA_BACKUPS_KEEP")

    def broken(config: object) -> object:
        raise KeyError("boom")

    assert main(["check"], build=broken) == 3  # type: ignore[arg-type]
    assert "UNKNOWN - erreur interne : KeyError" in capsys.readouterr().out


def test_check_gives_up_after_its_timeout(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    import time as clock

    def slow(config: object) -> object:
        clock.sleep(5)
        return world.parts

    started = clock.monotonic()
    assert main(["check", "-t", "0.3"], build=slow) == 3  # type: ignore[arg-type]
    assert clock.monotonic() - started < 3
    assert capsys.readouterr().out.startswith("NEOCUMA GUARDIAN UNKNOWN - pas de réponse en 0.3 s")


def test_check_thresholds_from_the_command_line(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    world.seed = {"sauvegardes": {"automatiques": True}}
    world.parts.actions.run_all()
    world.clock.advance(2 * 3600)
    world.parts.monitor.evaluate_and_record()
    assert run(world, "check") == 0
    capsys.readouterr()
    assert run(world, "check", "-w", "1") == 1 and "WARNING" in capsys.readouterr().out
    assert run(world, "check", "-w", "1", "-c", "1.5,300") == 2
    assert "backup_age=7200s;3600;5400;0;" in capsys.readouterr().out


def test_every_reporting_command_speaks_json(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()

    def document(*argv: str, stdin: str = "") -> dict[str, object]:
        assert run(world, *argv, "--json", stdin=stdin) == 0, capsys.readouterr().err
        captured = capsys.readouterr()
        return dict(json.loads(captured.out))

    ran = document("run")
    assert ran["data"]["name"] == "2026-11-28T12-00-00Z.zip" and ran["sync"]["data_generation"] == 1  # type: ignore[index]
    assert document("backup", "--data")["data"]["dossiers"] == 3  # type: ignore[index]
    assert document("backup", "--system")["system"]["files"] == 1  # type: ignore[index]
    assert document("sync")["data_generation"] == 2
    world.central.write("120002")
    assert document("pull", "120002")["dossiers"] == ["120002"]
    assert document("mode", "fallback")["mode"] == "fallback"
    world.database.write("120001")
    restored = document("restore", "120001", stdin=PASSWORD + "\n")
    assert restored["restored"][0]["dossier"] == "120001"  # type: ignore[index]
    assert document("mode", "standby")["previous"] == "fallback"
    assert document("hostkey", "show") == {"pinned": KEY, "presented": KEY}
    settings = document("settings")
    assert settings["sauvegardes"] == {"automatiques": False, "heures": "nuit"} and settings["heures_utc"] == [2]
    assert document("settings", "set", "heures=toutes")["sauvegardes"]["heures"] == "toutes"  # type: ignore[index]
    logged = document("login", "--user", "resp.fd12", stdin=PASSWORD + "\n")
    assert logged["login"] == "resp.fd12" and logged["centre"] == "FD12"


def test_long_commands_show_one_line_per_step_on_a_pipe(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    assert run(world, "run", "--json") == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # standard output stays the JSON document alone
    steps = [line.split(" ", 1)[1] for line in captured.err.splitlines() if not line.split(" ", 1)[1].startswith(" ")]
    assert steps[:2] == ["sauvegarde des données : téléchargement", "sauvegarde des données : vérification"]
    assert "synchronisation : choix et contrôle de la sauvegarde" in steps and "sauvegarde système" in steps
    assert any(" Mo en " in line and "Mo/s" in line for line in captured.err.splitlines()), captured.err


@pytest.mark.parametrize(
    ("argv", "status", "where", "words"),
    [
        (("backups",), 0, "out", ""),
        (("sync",), 1, "err", "aucune sauvegarde de données"),
        (("pull", "../etc"), 2, "err", "code(s) de dossier invalide(s)"),
        (("mode", "ailleurs"), 2, "err", "choix invalide : 'ailleurs' (au choix : "),
        (("pull",), 2, "err", "arguments obligatoires manquants : CODE"),
        (("settings", "set", "heures=jamais"), 2, "err", "« nuit », « toutes »"),
    ],
)
def test_exit_statuses_are_the_documented_ones(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], status: int, where: str, words: str
) -> None:
    try:
        code = run(world, *argv)
    except SystemExit as done:  # argparse's own usage errors
        code = int(done.code or 0)
    captured = capsys.readouterr()
    assert code == status and words in (captured.out if where == "out" else captured.err), captured


def test_an_interrupted_command_exits_130(world: FakeWorld) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    object.__setattr__(world.parts.actions, "sync", lambda requested=None, full=False: interrupted())
    assert run(world, "sync") == 130


def test_the_help_is_french_and_states_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "Codes de sortie : 0 fait, 1 refusé ou échoué" in text and "lister les sauvegardes" in text
    assert "le résultat en JSON" not in text  # per command, not global
    assert text.startswith("utilisation : neocuma-guardian") and "afficher cette aide" in text
    with pytest.raises(SystemExit):
        main(["backup", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("utilisation : neocuma-guardian backup") and "la sauvegarde des données seule" in text
    assert "show this help" not in text and "usage:" not in text


def test_the_progress_display_draws_bars_with_totals_on_a_terminal() -> None:
    from appliance.guardian.cli_progress import TerminalProgress

    screen = io.StringIO()
    display = TerminalProgress(screen, terminal=True)
    display("synchronisation : chargement", 0, None, 4 * 1024 * 1024)
    display(None, 2 * 1024 * 1024, None, None)
    display(None, 4 * 1024 * 1024, None, None)
    display("synchronisation : bascule", None, None, None)
    display.close()
    drawn = screen.getvalue()
    assert "synchronisation : chargement" in drawn and "100%" in drawn and "4.00M" in drawn, drawn
    assert "synchronisation : bascule" in drawn


def test_offsite_push_list_and_restore_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.offsite import FakeOffsite

    monkeypatch.setenv("NEOCUMA_DB_PASSWORD", "x")
    monkeypatch.setenv("NEOCUMA_LOCAL_CHECK_TOKEN", "c" * 32)
    monkeypatch.setenv("NEOCUMA_GUARDIAN_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEOCUMA_GUARDIAN_CONFIG", str(tmp_path / "none.toml"))
    world = FakeWorld(offsite=FakeOffsite(), seed={"sauvegardes": {"automatiques": False}})
    world.log_in()
    assert run(world, "offsite", "list") == 0
    assert "ne tient encore aucune copie" in capsys.readouterr().out
    assert run(world, "backup", "--data") == 0
    name = world.backups.data_names()[0]
    capsys.readouterr()
    assert run(world, "offsite", "push", "--json") == 0
    assert json.loads(capsys.readouterr().out)["pushed"] == [], "pushed after the backup already"
    assert run(world, "offsite") == 0
    assert f"data    {name}" in capsys.readouterr().out
    assert run(world, "offsite", "restore", name) == 1
    assert "déjà dans data/" in capsys.readouterr().err
    world.backups.remove_data(name)
    assert run(world, "offsite", "restore", name, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"restored": name} and name in world.backups.data_names()


def test_offsite_without_a_repository_says_how_to_set_one(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    world.log_in()
    assert run(world, "offsite", "push") == 1
    assert "NEOCUMA_OFFSITE_REPOSITORY" in capsys.readouterr().err
