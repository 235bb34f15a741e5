"""The day the link drops (issue 24), shared by tests/e2e/test_fallback_day.py and
bench/fallback_day.py: people entering bons de travaux through NeoCuma Web's own HTML form
(the dossier's page, the exercice's bons page with its CSRF token and its lists, the POST
and the confirmation it redirects to), the outage as the guardian keeps it (`outage.json`),
an exercice closed on the central server meanwhile, and the oracle: the bons read by SQL on
each MariaDB, which imports nothing of the appliance."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.demo_stack import DEMO_LOGIN, DEMO_PASSWORD, ROOT, DemoStack
from tests.support import containers, oracle
from tests.support.http import WebClient

OUTAGE_FILE = "/var/lib/guardian/state/outage.json"
_OPEN_EXERCICE = re.compile(
    r"<tr><td>[^<]*</td><td>(\d\d/\d\d/\d{4})</td><td>(\d\d/\d\d/\d{4})</td>\s*<td>ouvert</td>\s*"
    r'<td><a href="([^"]*/exercices/\d+/bons)">'
)
_ENTERED = re.compile(r"Bon (BT\d+-\d+) enregistré")

Key = tuple[str, dt.date, int, int, Decimal, str]  # dossier, date, tiers, activité, quantité, saisi par


@dataclass(frozen=True)
class Bon:
    """A bon de travaux as a person entered it, on one side."""

    side: str  # "local" (the LAN address in fallback mode) or "central" (from outside the LAN)
    dossier: str
    day: dt.date
    tiers_id: int
    activite_id: int
    quantite: Decimal
    saisi_par: str
    numero: str  # the number the side gave it

    def key(self) -> Key:
        return (self.dossier, self.day, self.tiers_id, self.activite_id, self.quantite, self.saisi_par)


def _options(page: str, name: str) -> list[int]:
    found = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert found, f"no <select name={name}> on the page: {page[:400]}"
    return [int(value) for value in re.findall(r'<option value="(\d+)"', found.group(1))]


class FormUser:
    """A person on NeoCuma Web, through a browser's requests: signs in once, then enters
    bons through the HTML form. ``side`` names where the browser points."""

    def __init__(self, web: WebClient, login: str, side: str) -> None:
        self.web, self.login, self.side = web, login, side
        reply = web.login(login, DEMO_PASSWORD)
        assert reply.status == 200, (side, login, reply.status, reply.text[:400])

    def enter_bon(self, code: str, quantite: Decimal, pick: int = 0) -> Bon:
        """One bon in the dossier's open exercice: the ``pick``-th adhérent and activité of
        the form's lists (wrapping), a day ``pick`` days into the exercice."""
        dossier = self.web.get(f"/dossiers/{code}")
        assert dossier.status == 200, (self.side, code, dossier.status, dossier.text[:300])
        found = _OPEN_EXERCICE.search(dossier.text)
        assert found, f"{self.side} {code}: no open exercice on the dossier's page: {dossier.text[:600]}"
        start = dt.datetime.strptime(found.group(1), "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar day
        end = dt.datetime.strptime(found.group(2), "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar day
        page = self.web.get(found.group(3))
        assert page.status == 200, (self.side, code, page.status)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, f"{self.side} {code}: no entry form on the bons page: {page.text[:600]}"
        members, activities = _options(page.text, "tiers_id"), _options(page.text, "activite_id")
        day = start + dt.timedelta(days=pick % ((end - start).days + 1))
        form = {
            "csrf": token.group(1),
            "tiers_id": str(members[pick % len(members)]),
            "activite_id": str(activities[pick % len(activities)]),
            "date": day.isoformat(),
            "quantite": str(quantite),
        }
        body = urllib.parse.urlencode(form).encode()
        reply = self.web.request(
            "POST", f"/dossiers/{code}/bons", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        entered = _ENTERED.search(reply.text)
        assert reply.status == 200 and entered, f"{self.side} {code}: bon refused ({reply.status}): {reply.text[:600]}"
        return Bon(
            self.side,
            code,
            day,
            int(form["tiers_id"]),
            int(form["activite_id"]),
            quantite,
            self.login,
            entered.group(1),
        )


def outage(stack: DemoStack) -> dict[str, Any]:
    """The outage the guardian keeps in its state volume (all None while the link works)."""
    text = stack.guardian_file(OUTAGE_FILE)
    return dict(json.loads(text)) if text else {}


def stamp(text: str) -> float:
    """An ``outage.json`` moment (UTC, to the second) as a Unix time."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


def wait_declared(stack: DemoStack, timeout: float) -> dict[str, Any]:
    """Until the guardian declares the central server down; the outage it keeps."""
    return dict(
        containers.wait_for(lambda: outage(stack).get("declared_at") and outage(stack), timeout, "outage declared", 0.5)
    )


def wait_points_to(stack: DemoStack, way: str, timeout: float) -> float:
    """Until the LAN address's /healthz points ``way``; the Unix time it was first seen so."""
    containers.wait_for(lambda: stack.points_to()["points_to"] == way, timeout, f"the gateway points to {way}", 0.2)
    return time.time()


@dataclass(frozen=True)
class Returned:
    code: int  # the command's exit: 0 all done, 1 done with refused operations
    document: dict[str, Any]  # its --json document
    output: str  # its stdout and stderr, for a failure's message
    wall: float  # seconds, `docker exec` included


def guided_return(stack: DemoStack, expect: tuple[int, ...] = (0, 1)) -> Returned:
    """`neocuma-guardian return --json`, the stored login's password typed again on stdin;
    fails unless it exits with one of ``expect`` (0: all done, 1: done with refusals)."""
    started = time.monotonic()
    done = stack.guardian("return", "--json", stdin=DEMO_PASSWORD + "\n")
    wall = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode in expect, f"return exited {done.returncode}: {output}"
    document = dict(json.loads(done.stdout)) if done.stdout.strip().startswith("{") else {}
    return Returned(done.returncode, document, output, wall)


def live_schema(connection: Any) -> str:
    """The data generation the server reads (``neocuma_control.live``)."""
    (generation,) = oracle.query(connection, "SELECT data_generation FROM neocuma_control.live WHERE id = 1")[0]
    return f"neocuma_g{int(generation)}"


def mode(connection: Any) -> str:
    return str(oracle.query(connection, "SELECT mode FROM neocuma_control.live WHERE id = 1")[0][0])


def bon_rows(connection: Any, codes: list[str]) -> dict[tuple[str, int], Key]:
    """Every bon of the dossiers ``codes``: (dossier, id) -> its key."""
    if not codes:
        return {}
    schema = live_schema(connection)
    marks = ", ".join(["%s"] * len(codes))
    rows = oracle.query(
        connection,
        f"SELECT d.code, b.id, b.date, b.tiers_id, b.activite_id, b.quantite, b.saisi_par FROM {schema}.bon_travaux b"
        f" JOIN {schema}.dossier d ON d.id = b.dossier_id WHERE d.code IN ({marks})",
        tuple(codes),
    )
    return {
        (str(r[0]), int(r[1])): (str(r[0]), r[2], int(r[3]), int(r[4]), Decimal(r[5]), str(r[6] or "")) for r in rows
    }


def new_bons(connection: Any, before: dict[tuple[str, int], Key], codes: list[str]) -> Counter[Key]:
    """The bons of ``codes`` that were not there in ``before``, counted by key."""
    return Counter(key for row, key in bon_rows(connection, codes).items() if row not in before)


def dossier_ids(connection: Any, codes: list[str]) -> dict[str, int]:
    schema = live_schema(connection)
    marks = ", ".join(["%s"] * len(codes))
    rows = oracle.query(connection, f"SELECT code, id FROM {schema}.dossier WHERE code IN ({marks})", tuple(codes))
    return {str(code): int(identifier) for code, identifier in rows}


def close_exercice(connection: Any, code: str, day: dt.date) -> str:
    """The exercice holding ``day`` closed on the central server, as its accounting would do
    it (the dossier's revision moves); returns the exercice's label."""
    schema = live_schema(connection)
    ids = dossier_ids(connection, [code])
    rows = oracle.query(
        connection,
        f"SELECT id, libelle FROM {schema}.exercice WHERE dossier_id = %s AND date_debut <= %s AND date_fin >= %s",
        (ids[code], day, day),
    )
    assert len(rows) == 1, rows
    oracle.query(
        connection,
        f"UPDATE {schema}.exercice SET cloture = 1 WHERE dossier_id = %s AND id = %s",
        (ids[code], rows[0][0]),
    )
    oracle.query(connection, f"UPDATE {schema}.dossier SET revision = revision + 1 WHERE id = %s", (ids[code],))
    return str(rows[0][1])


def writable_dossiers(connection: Any, login: str = "resp.fd12") -> list[str]:
    """The FD12 dossiers ``login`` may write in (not exporté), by code, on this server."""
    schema = live_schema(connection)
    rows = oracle.query(
        connection,
        f"SELECT d.code FROM {schema}.dossier d JOIN {schema}.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN {schema}.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = %s AND r.acces = 'ecriture'"
        " AND d.exporte = 0 AND d.centre_code = 'FD12' ORDER BY d.code",
        (login,),
    )
    return [str(row[0]) for row in rows]


def outbox(connection: Any) -> list[tuple[str, str, str, str | None]]:
    """The local server's outbox: (dossier, local number, state, reason)."""
    rows = oracle.query(
        connection, "SELECT dossier_code, local_numero, state, reason FROM neocuma_control.outbox ORDER BY created_at"
    )
    return [(str(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3])) for r in rows]


class Browser:
    """Headless Chromium in the tests' tool image, on the host's network as a LAN user's
    browser would be: it reaches the console and the LAN address on their published ports.
    Runs tests/e2e/browser/fallback_scenario.py one phase at a time; the screenshots are
    copied into docs/screenshots/ (those the docs show)."""

    def __init__(self, client: Any, stack: DemoStack) -> None:
        self.stack = stack
        self.container = client.containers.run(
            containers.TOOLS_IMAGE, detach=True, network_mode="host", labels=dict(containers.LABELS)
        )
        script = ROOT / "tests" / "e2e" / "browser" / "fallback_scenario.py"
        subprocess.run(["docker", "cp", str(script), f"{self.container.id}:/tmp/fallback_scenario.py"], check=True)
        self.console = f"http://127.0.0.1:{stack.setting('NEOCUMA_CONSOLE_PORT')}"
        self.lan = f"http://127.0.0.1:{stack.lan_port}"

    def phase(self, phase: str, *options: str) -> dict[str, Any]:
        """One phase as the demo's responsable; what the browser saw (fails on its error)."""
        script = ["python3", "/tmp/fallback_scenario.py", self.console, self.lan, DEMO_LOGIN, DEMO_PASSWORD]
        done = subprocess.run(
            ["docker", "exec", self.container.id, *script, phase, "--wait", "120", *options],
            capture_output=True,
            text=True,
            timeout=400,
        )
        self.keep_screenshots()
        assert done.returncode == 0, done.stderr[-3000:]
        seen = dict(json.loads(done.stdout.strip().splitlines()[-1]))
        assert "error" not in seen, seen
        return seen

    def keep_screenshots(self) -> None:
        """The day's pictures into docs/screenshots/; an error's picture stays in a
        temporary directory, named in the test's output."""
        taken = Path(tempfile.mkdtemp(prefix="neocuma-shots-"))
        subprocess.run(["docker", "cp", f"{self.container.id}:/srv/shots/.", str(taken)], check=False)
        for picture in taken.glob("*.png"):
            if picture.name.startswith(("11-", "12-", "13-", "14-")):
                shutil.copyfile(picture, ROOT / "docs" / "screenshots" / picture.name)
            else:
                print(f"browser: {picture}")

    def close(self) -> None:
        self.container.remove(force=True)
