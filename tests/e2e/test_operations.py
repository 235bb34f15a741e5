"""Operations end to end: a scheduled backup in the centre's slot (run once, even across a
restart inside the window), the indicators turning red
and green with their log lines and emails (a real SMTP sink), /metrics checked by promtool,
and the console driven in a real headless browser (screenshots under docs/screenshots/)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.domain.backups import parse_backup_name
from appliance.domain.passwords import hash_password
from tests.e2e.appliance import USER_PASSWORD, Appliance, running_appliance
from tests.support import containers, oracle
from tests.support.http import WebClient

pytestmark = pytest.mark.e2e
WINDOW_MINUTES = 2  # test_1's slot
TICK_SLACK = 10  # seconds: the scheduler looks every 5 s (daemon.TICK_SECONDS)
ROOT = Path(__file__).resolve().parents[2]
MAIL_TO = "informatique@fd12.example.fr"
COLLEAGUE, COLLEAGUE_PASSWORD = "resp.adjoint.fd12", "Adjoint-FD12-2026"
HEALTHZ = ("/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8000/healthz")


def _centres(opening_in: dt.timedelta | None, minutes: int = 3) -> str:
    """A centres table whose FD12 slot opens ``opening_in`` from now (``minutes`` long), or,
    with None, lies in the other parity of hours, so nothing runs before the test wants it.
    The scheduler reads the table at each tick (the real one is config/centres.toml)."""
    now = dt.datetime.now(dt.UTC)
    if opening_in is None:
        parity, start = ("odd" if now.hour % 2 == 0 else "even"), 0
    else:
        target = now + opening_in
        start = target.minute
        if start > 56:
            target = target.replace(minute=0, second=0) + dt.timedelta(hours=1)
            start = 0
        parity = "even" if target.hour % 2 == 0 else "odd"
    return f'[[centre]]\ncode = "FD12"\nname = "FDCUMA de l\'Aveyron"\ndepartement = "12"\nparity = "{parity}"\nstart = {start}\nend = {start + minutes}\n'


@pytest.fixture(scope="module")
def appliance(docker_client: Any) -> Iterator[Appliance]:
    directory = Path(tempfile.mkdtemp(prefix="neocuma-centres-"))
    centres = directory / "centres.toml"
    centres.write_text(_centres(None))
    centres.chmod(0o644)
    directory.chmod(0o755)
    env = {
        "NEOCUMA_CENTRES_FILE": "/etc/neocuma/test/centres.toml",
        "NEOCUMA_MONITOR_INTERVAL": "5",
        "NEOCUMA_SMTP_HOST": "test-tools",
        "NEOCUMA_SMTP_PORT": "1025",
        "NEOCUMA_MAIL_TO": MAIL_TO,
        "NEOCUMA_WEBHOOK_URL": "http://test-tools:8025/neocuma",
    }
    try:
        with running_appliance(
            docker_client,
            dossiers=12,
            years=2,
            export_kbps=0,
            guardian_env=env,
            guardian_files={str(directory): "/etc/neocuma/test"},
            automatic_backups=True,
            with_tools=True,
        ) as running:
            running.centres_file = centres  # type: ignore[attr-defined]
            yield running
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _history(appliance: Appliance) -> dict[str, Any]:
    return dict(json.loads(appliance.run_in_guardian("cat", "/var/lib/guardian/state/history.json") or "{}"))


def _mails(appliance: Appliance) -> list[str]:
    """Every message the SMTP sink received, decoded (headers and body)."""
    assert appliance.tools is not None
    script = (
        "import email, email.policy, json, pathlib\n"
        "out = []\n"
        "for path in sorted(pathlib.Path('/srv/mail').glob('*.eml')):\n"
        "    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)\n"
        "    head = {name: message[name] for name in ('Subject', 'To', 'Date', 'Message-ID')}\n"
        "    out.append(''.join(f'{name}: {value}\\n' for name, value in head.items()) + '\\n' + message.get_content())\n"
        "print(json.dumps(out))\n"
    )
    return list(json.loads(containers.exec_checked(appliance.tools, ["python3", "-c", script])))


def _check(appliance: Appliance) -> tuple[int, str]:
    result = appliance.cli("check")
    return result.returncode, result.stdout.strip()


def _wait_check(appliance: Appliance, status: int, what: str, timeout: float = 120) -> str:
    """Wait until ``check`` exits ``status``; on a timeout, say what it last printed and what
    the guardian logged, so a failure explains itself."""
    seen: list[tuple[int, str]] = []

    def reached() -> bool:
        seen.append(_check(appliance))
        return seen[-1][0] == status

    try:
        containers.wait_for(reached, timeout, what, interval=1)
    except TimeoutError as error:
        raise TimeoutError(
            f"{error}; check last said {seen[-1] if seen else None}\n{appliance.guardian_logs(80)}"
        ) from error
    return seen[-1][1]


def test_1_an_automatic_backup_runs_in_the_slot_and_syncs(appliance: Appliance) -> None:
    settings = appliance.cli("settings").stdout
    assert "créneau de FD12" in settings and "source" in settings
    # A 2-minute window opening about now (the shortest that leaves room for the restart
    # below inside it): the test waits for real time to pass, so the less the better.
    appliance.centres_file.write_text(_centres(dt.timedelta(seconds=20), WINDOW_MINUTES))  # type: ignore[attr-defined]
    scheduled = containers.wait_for(lambda: _history(appliance).get("scheduled"), 360, "a scheduled backup", interval=2)
    assert scheduled["ok"] is True, scheduled
    backups = json.loads(appliance.cli("backups", "--json").stdout)["backups"]
    assert scheduled["backup"] in [b["name"] for b in backups]
    window = dt.datetime.strptime(scheduled["window"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.UTC)
    started = dt.datetime.strptime(scheduled["backup"], "%Y-%m-%dT%H-%M-%SZ.zip").replace(tzinfo=dt.UTC)
    half = dt.timedelta(minutes=WINDOW_MINUTES) / 2
    assert window <= started <= window + half + dt.timedelta(seconds=TICK_SLACK), (
        "started in the first half of the window (its planned start, seen at the next 5 s tick)"
    )
    assert scheduled.get("data_generation"), "synchronised after the backup"
    assert "sauvegarde programmée du créneau" in appliance.guardian_logs()

    # Restarted inside the window after its run, the guardian does not run it again.
    window_end = window + dt.timedelta(minutes=WINDOW_MINUTES)
    appliance.guardian.get_wrapped_container().restart(timeout=45)
    containers.wait_healthy(appliance.guardian, 120)
    containers.wait_for(  # logged in: its tick has looked at the schedule
        lambda: '"logged_in": true' in appliance.run_in_guardian(*HEALTHZ), 60, "the restarted guardian logged in"
    )
    assert dt.datetime.now(dt.UTC) < window_end - dt.timedelta(seconds=10), "restarted inside the window"
    containers.wait_for(  # the window is over: a second run would have started by then
        lambda: dt.datetime.now(dt.UTC) > window_end + dt.timedelta(seconds=10), 240, "the window's end", interval=1
    )
    assert _history(appliance)["scheduled"] == scheduled, "no second run of the window"
    names = [b["name"] for b in json.loads(appliance.cli("backups", "--json").stdout)["backups"]]
    in_window = [n for n in names if (moment := parse_backup_name(n)) and window <= moment < window_end]
    assert in_window == [scheduled["backup"]], names


def _console_login(appliance: Appliance, password: str, login: str = "resp.fd12") -> int:
    console = WebClient(f"http://127.0.0.1:{appliance.guardian.get_exposed_port(8000)}")
    reply = console.login(login, password)
    return reply.status if "Statut des serveurs" not in reply.text or reply.status != 200 else 200


def _hooks(appliance: Appliance) -> list[dict[str, Any]]:
    assert appliance.tools is not None
    text = containers.exec_checked(
        appliance.tools, ["sh", "-c", "cat /srv/hooks/*.json 2>/dev/null | sed 's/}{/}\\n{/g'; echo"]
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_2_indicators_go_red_and_green_with_log_lines_and_emails(appliance: Appliance) -> None:
    _wait_check(appliance, 0, "every indicator green")
    assert _console_login(appliance, USER_PASSWORD) == 200, "checked by the remote, which leaves a verifier"
    assert _console_login(appliance, USER_PASSWORD, "resp.fd24") == 401, "another centre's responsable"
    assert _console_login(appliance, USER_PASSWORD, "compta.fd12") == 401, "not a responsable départemental"
    appliance.cut_link()
    try:
        line = _wait_check(appliance, 2, "the remote indicator red")
        assert line.startswith("NEOCUMA GUARDIAN CRITICAL - Serveur NeoCuma distant : injoignable")
        containers.wait_for(
            lambda: "Serveur NeoCuma distant : vert → ROUGE" in appliance.guardian_logs(), 30, "the change in the log"
        )
        containers.wait_for(
            lambda: any("Serveur NeoCuma distant passe au rouge" in m for m in _mails(appliance)),
            60,
            "the email about red",
        )
        assert _console_login(appliance, USER_PASSWORD) == 200, "the console works while the remote is down"
        assert _console_login(appliance, "pas-le-bon") == 401
        hook = containers.wait_for(
            lambda: next((h for h in _hooks(appliance) if not h["green"]), None), 60, "the webhook about red"
        )
        assert hook["indicator"] == "serveur_distant" and hook["centre"] == "FD12" and "injoignable" in hook["cause"]
    finally:
        appliance.restore_link()
    _wait_check(appliance, 0, "green again")
    containers.wait_for(
        lambda: "Serveur NeoCuma distant : ROUGE → vert" in appliance.guardian_logs(), 30, "the change back in the log"
    )
    mail = containers.wait_for(
        lambda: next((m for m in _mails(appliance) if "Serveur NeoCuma distant repasse au vert" in m), None),
        60,
        "the email about green",
    )
    assert f"To: {MAIL_TO}" in mail and "Cause : joignable" in mail
    assert "\nDate: None" not in mail and re.search(r"^Message-ID: <[^<>\s]+@[^<>\s]+>$", mail, re.MULTILINE), mail
    logs = appliance.cli("status", "--json")
    assert logs.returncode == 0
    console_log = appliance.run_in_guardian("sh", "-c", "tail -n 200 /var/lib/guardian/state/logs/guardian.log")
    red_line = next(json.loads(line) for line in console_log.splitlines() if "vert → ROUGE" in line)
    assert red_line["level"] == "WARNING" and red_line["run"] != "-"


def test_3_metrics_pass_promtool(appliance: Appliance) -> None:
    assert appliance.tools is not None
    for url in ("http://guardian:8000/metrics", "http://neocuma:8080/metrics"):
        script = f"python3 -c \"import urllib.request; print(urllib.request.urlopen('{url}').read().decode(), end='')\" > /tmp/m.txt && promtool check metrics < /tmp/m.txt && cat /tmp/m.txt"
        result = appliance.tools.get_wrapped_container().exec_run(["sh", "-c", script], demux=True)
        stdout, stderr = (part or b"" for part in result.output)
        assert result.exit_code == 0, (url, stdout.decode()[-2000:], stderr.decode())
        text = stdout.decode()
        if "guardian" in url:
            for name in (
                'neocuma_guardian_component_up{component="serveur_distant"} 1.0',
                "neocuma_guardian_last_success_timestamp_seconds",
                "neocuma_guardian_last_duration_seconds",
                "neocuma_guardian_clock_skew_seconds",
                "neocuma_guardian_transferred_bytes_total",
                "neocuma_guardian_dossiers",
                'neocuma_guardian_local_mode{mode="standby"} 1.0',
                "neocuma_guardian_build_info",
                "neocuma_guardian_newest_backup_bytes",
                "neocuma_guardian_newest_backup_timestamp_seconds",
                "process_resident_memory_bytes",
                "neocuma_guardian_backups_free_bytes",
                'neocuma_guardian_state_readable{document="status"} 1.0',
            ):
                assert name in text, name
        else:
            assert "neocuma_data_generation" in text and "neocuma_http_requests_total" in text
            assert "process_resident_memory_bytes" in text
        assert "_created" not in text and "_age_seconds" not in text and text.isascii(), url


def test_4_the_console_in_a_real_browser(appliance: Appliance) -> None:
    assert appliance.tools is not None
    remote = appliance.remote_root()
    ((dossier,),) = oracle.query(
        remote,
        "SELECT d.code FROM neocuma_g1.dossier d JOIN neocuma_g1.droit_dossier r ON r.dossier_id = d.id"
        " JOIN neocuma_g1.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = 'compta1.fd12'",
    )
    # Another responsable of FD12, not the guardian's stored account: the console acts as them.
    oracle.query(
        remote,
        "INSERT INTO neocuma_g1.utilisateur (id, login, nom, prenom, email, profil, centre_code, password_hash, actif)"
        " SELECT MAX(id) + 1, %s, 'Adjoint', 'Claire', NULL, 'responsable_departemental', 'FD12', %s, 1"
        " FROM neocuma_g1.utilisateur",
        (COLLEAGUE, hash_password(COLLEAGUE_PASSWORD)),
    )
    oracle.query(
        remote,
        "INSERT INTO neocuma_g1.droit_dossier (utilisateur_id, dossier_id, acces)"
        " SELECT c.id, r.dossier_id, r.acces FROM neocuma_g1.droit_dossier r"
        " JOIN neocuma_g1.utilisateur u ON u.id = r.utilisateur_id AND u.login = 'resp.fd12'"
        " JOIN neocuma_g1.utilisateur c ON c.login = %s",
        (COLLEAGUE,),
    )
    remote.close()
    # The pictures a centre reads show the manual's slots (config/centres.toml: FD12 at even
    # hours, :00 to :10), not the test's: the real table back, and the one hour chosen the
    # even hour farthest from now, so no scheduled run starts under the scenario.
    centres_file: Path = appliance.centres_file  # type: ignore[attr-defined]
    centres_file.write_text((ROOT / "config" / "centres.toml").read_text(encoding="utf-8"))
    far = (dt.datetime.now(dt.UTC).hour + 12) // 2 * 2 % 24
    set_hours = appliance.cli("settings", "set", "automatiques=oui", f"heures={far}")
    assert set_hours.returncode == 0, set_hours.stderr
    assert "heure paire de :00 à :10" in appliance.cli("settings").stdout
    tools = appliance.tools.get_wrapped_container().id
    subprocess.run(
        [
            "docker",
            "cp",
            str(ROOT / "tests" / "e2e" / "browser" / "console_scenario.py"),
            f"{tools}:/tmp/console_scenario.py",
        ],
        check=True,
    )
    result = subprocess.run(
        [
            "docker",
            "exec",
            tools,
            "python3",
            "/tmp/console_scenario.py",
            "http://guardian:8000",
            COLLEAGUE,
            COLLEAGUE_PASSWORD,
            dossier,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    shots = ROOT / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    subprocess.run(["docker", "cp", f"{tools}:/srv/shots/.", str(shots)], check=True)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "error" not in seen, seen.get("error")
    assert seen["redirected_to_login"] is True
    assert "mot de passe refusé" in seen["wrong_password"]
    assert set(seen["indicators"]) == {
        "indicator-serveur_distant",
        "indicator-sauvegardes",
        "indicator-serveur_local",
        "indicator-synchronisation",
        "indicator-copie_hors_site",
    }
    assert seen["backup"].startswith("Dernière opération : Sauvegarde des données — réussie")
    assert seen["backups_rows"] >= 2
    assert "Passage en mode secours — réussie" in seen["fallback"] and seen["standby_button"]
    assert (
        "Remontée vers le serveur distant" in seen["restore"]
        and "réussie" in seen["restore"]
        and "copie gardée par le serveur" in seen["restore"]
    )
    assert "Retour en mode veille — réussie" in seen["standby"] and seen["fallback_button_back"]
    assert f"import of dossier {dossier} by {COLLEAGUE}" in containers.logs_of(appliance.remote, 400), (
        "the central server's log names the console's user, not the stored account"
    )
    assert f"(demandée par {COLLEAGUE})" in appliance.guardian_logs(400)
    links = seen["download_links"]
    assert any("/sauvegardes/data/" in link for link in links), links
    assert all("/sauvegardes/data/" in link or link.endswith("/sauvegardes/systeme/system.zip") for link in links)
    assert set(seen["indicator_states"].values()) <= {"vert", "neutre", "rouge"}
    # No repository here: the fifth indicator is neutral, and Paramétrages say how to add one.
    assert seen["indicator_states"]["indicator-copie_hors_site"] == "neutre"
    assert seen["hors_site"] is True
    assert seen["paris_time"], "dates with Paris time beside UTC"
    assert seen["log_levels"] and set(seen["log_levels"]) <= {"information", "avertissement", "erreur", "critique"}
    assert seen["settings_page"] and seen["log_lines"] > 5
    for name in (
        "01-identification",
        "02-statut-des-serveurs",
        "03-sauvegarde-terminee",
        "05-mode-secours",
        "07-remontee-terminee",
        "08-retour-mode-veille",
    ):
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
