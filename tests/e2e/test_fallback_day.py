"""The day the link drops (issue 24), end to end on our images through the demo compose stack
(`make up`'s files, its own project and .env): synchronised (`neocuma-guardian run`, the demo
guardian logging in by itself), the automatic switch on with short windows, the central
server's container cut off the network it shares with the guardian; the guardian declares it
down and switches, and the LAN address serves the local server. People then enter bons de
travaux through NeoCuma Web's own form on both sides: through the LAN address (the local
server) and from outside the LAN (the central server's published web port), some dossiers on
one side only, some on both, and one the central server will refuse (its exercice closed on
the central server meanwhile). The link comes back; `neocuma-guardian return --json`.

The oracle reads both MariaDB servers with mysql-connector, never our code: each bon entered
on either side is on the central server exactly once (dossier, date, adhérent, activité,
quantité, saisi par) and nothing else was added; the refused one is absent and listed with
its reason; the local server is in standby mode, the LAN address points to the central
server, and the local rows of the dossiers worked on equal the central ones. A second
return adds nothing."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.demo_stack import DemoStack, running_demo
from tests.e2e.fallback_day import (
    Bon,
    Browser,
    FormUser,
    Key,
    bon_rows,
    close_exercice,
    dossier_ids,
    guided_return,
    live_schema,
    mode,
    new_bons,
    outage,
    outbox,
    wait_declared,
    wait_points_to,
)
from tests.support import containers, oracle

pytestmark = pytest.mark.e2e
# Seconds: the monitor's round, the detection window, the automatic switch's delay (long
# enough for the browser to see the console's banner offering the switch before it comes).
MONITOR, DETECT, AUTOMATIC = 5, 10, 20
# FD12's dossiers of an 8-dossier demo: 120002 (Société) is outside resp.fd12's rights and
# 120004 is exporté; compta.fd12 writes in 120001 and 120003.
LOCAL_ONLY = ("120005", "120006")
CENTRAL_ONLY = ("120007",)
BOTH = ("120001", "120003")
REFUSED = "120008"  # a bon entered locally; its exercice closed on the central server meanwhile
TOUCHED = [*LOCAL_ONLY, *CENTRAL_ONLY, *BOTH, REFUSED]


@dataclass
class Day:
    stack: DemoStack
    browser: Browser
    before: dict[tuple[str, int], Key] = field(default_factory=dict)  # the central bons before the cut
    entered: list[Bon] = field(default_factory=list)
    refused: Bon | None = None
    closed: str = ""  # the exercice closed on the central server meanwhile
    after_return: int = 0  # the central bons of the dossiers worked on, after the return


@pytest.fixture(scope="module")
def day(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    containers.require_image(docker_client, f"neocuma/gateway:{containers.VERSION}")
    settings = {
        "NEOCUMA_DEMO_DOSSIERS": "8",
        "NEOCUMA_DEMO_YEARS": "1",
        "NEOCUMA_MONITOR_INTERVAL": str(MONITOR),
        "NEOCUMA_FALLBACK_DETECT_SECONDS": str(DETECT),
        "NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS": str(AUTOMATIC),
    }
    with running_demo(tmp_path_factory.mktemp("fallback-day"), "day", settings, database_ports=True) as stack:
        stack.wait_logged_in()
        synced = stack.guardian("run")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        browser = Browser(docker_client, stack)
        try:
            yield Day(stack, browser)
        finally:
            browser.close()


SWITCH_SECONDS = 12  # the gateway checks every 2 s, three failures to leave the local server, mode cached 1 s


def _wait_gateway(stack: DemoStack, way: str) -> float:
    started = time.monotonic()
    containers.wait_for(lambda: stack.points_to()["points_to"] == way, SWITCH_SECONDS, f"the gateway points to {way}")
    return time.monotonic() - started


def test_0_the_gateway_follows_the_local_servers_mode(day: Day) -> None:
    """Issue 24, point 1, on this stack before the day: in standby mode the LAN address
    redirects to the central NeoCuma Web, path kept; after `mode fallback` it serves the
    local NeoCuma Web within seconds, after `mode standby` it redirects again; its /healthz
    says which way it points; the gateway holds no Docker socket and no privilege."""
    demo = day.stack
    gateway = demo.container("gateway")
    inspected = json.loads(subprocess.run(["docker", "inspect", gateway], capture_output=True, check=True).stdout)[0]
    host = inspected["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"]) == (True, ["ALL"], ["no-new-privileges:true"])
    assert inspected["Config"]["User"] == "10001:10001" and "Binds" in host
    assert not any("docker.sock" in bind for bind in host["Binds"] or [])

    # Standby: a redirect to the central NeoCuma Web, path and query kept.
    assert demo.points_to() == {"points_to": "central", "url": demo.central_url}
    status, headers, _ = demo.get("/dossiers?annee=2026")
    assert (status, headers["location"]) == (302, f"{demo.central_url}dossiers?annee=2026")
    status, _, body = demo.get("/healthz", port=int(demo.central_url.rsplit(":", 1)[1].rstrip("/")))
    assert status == 200 and json.loads(body)["role"] == "central", "the redirect leads to the central server"

    switched = demo.guardian("mode", "fallback")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    seconds = _wait_gateway(demo, "local")
    print(f"gateway: local NeoCuma Web served {seconds:.1f} s after `mode fallback`")
    assert demo.points_to() == {"points_to": "local"}
    status, _, page = demo.get("/login")
    assert status == 200 and "neocuma-local (serveur local)" in page, page[:500]
    status, _, body = demo.get("/gateway/fallback")
    assert (status, body) == (200, "fallback\n")
    # NeoCuma Web counts (and logs) the client the gateway forwards, not the gateway itself.
    assert demo.failed_login("personne") == 401
    logs = demo.compose("logs", "--no-color", "neocuma").stdout
    seen = re.findall(r"connexion web refusée pour 'personne' depuis (\S+) :", logs)
    networks = inspected["NetworkSettings"]["Networks"].values()
    assert seen and seen[-1] not in {network["IPAddress"] for network in networks}, (seen, logs[-2000:])

    back = demo.guardian("mode", "standby")
    assert back.returncode == 0, back.stdout + back.stderr
    seconds = _wait_gateway(demo, "central")
    print(f"gateway: redirect to the central NeoCuma Web {seconds:.1f} s after `mode standby`")
    status, headers, _ = demo.get("/login")
    assert (status, headers["location"]) == (302, f"{demo.central_url}login")


def test_1_a_day_on_both_sides_returns_every_bon_once_and_lists_the_refused_one(day: Day) -> None:
    stack = day.stack
    central, local = stack.database("central"), stack.database("local")
    assert (mode(local), stack.points_to()["points_to"]) == ("standby", "central")
    day.before = bon_rows(central, TOUCHED)
    assert day.browser.phase("login")["logged_in"] is True  # online: the console knows this password

    # The link drops: the guardian declares the central server down, then switches by itself.
    cut = time.time()
    stack.cut_central()
    alert = day.browser.phase("outage")  # the console's banner, before the automatic switch
    assert alert["switch_offered"] is True and alert["remote_indicator"] == "rouge", alert
    assert "injoignable depuis" in alert["outage_banner"], alert
    declared = wait_declared(stack, DETECT + 4 * MONITOR + 60)
    served = wait_points_to(stack, "local", AUTOMATIC + 4 * MONITOR + 60)
    print(
        f"fallback day: declared {declared['declared_at']} ({declared['cause']}); LAN address local {served - cut:.1f} s after the cut"
    )
    assert outage(stack)["switched_at"] is not None, "the guardian switched by itself"
    assert mode(local) == "fallback"
    status, _, page = stack.get("/login")
    assert status == 200 and "serveur local" in page, page[:400]
    banner = day.browser.phase("fallback")  # a NeoCuma Web page through the LAN address
    assert "serveur local" in banner["fallback_banner"] and "120001" in banner["dossiers"], banner

    # People work on both sides: the LAN on the local server, others on the central one.
    lan_resp = FormUser(stack.lan_web(), "resp.fd12", "local")
    lan_compta = FormUser(stack.lan_web(), "compta.fd12", "local")
    out_resp = FormUser(stack.central_web(), "resp.fd12", "central")
    out_compta = FormUser(stack.central_web(), "compta.fd12", "central")
    quantities = (Decimal("11.25") + i for i in range(100))
    entries = [
        (lan_resp, "120005", 0),
        (lan_resp, "120005", 1),
        (lan_resp, "120006", 2),
        (lan_compta, "120001", 3),
        (lan_resp, "120003", 4),
        (lan_resp, "120003", 5),
        (out_resp, "120007", 6),
        (out_resp, "120001", 7),
        (out_compta, "120003", 8),
    ]
    day.entered = [user.enter_bon(code, next(quantities), pick) for user, code, pick in entries]
    day.refused = lan_resp.enter_bon(REFUSED, next(quantities), 9)
    label = close_exercice(central, REFUSED, day.refused.day)
    # A bon entered locally and centrally in one dossier got the same number on both sides.
    numbers = Counter((bon.dossier, bon.numero) for bon in day.entered)
    assert numbers[("120001", day.entered[3].numero)] == 2, day.entered

    # The link returns; the guided return, from the console's page in the browser.
    stack.reconnect_central()
    started = time.monotonic()
    back = day.browser.phase("return")
    print(f"fallback day: return through the console in {time.monotonic() - started:.1f} s: {json.dumps(back)[:2000]}")
    worked = {*LOCAL_ONLY, *BOTH, REFUSED}
    assert set(back["plan"]) == worked and all(line["selectionne"] for line in back["plan"].values()), back
    assert back["plan"]["120001"]["central"] != back["plan"]["120005"]["central"], "the central side moved in 120001"
    summary = back["return"]
    assert "Retour au serveur central" in summary and "réussi" in summary, summary
    assert "1 opération(s) refusée(s) par le serveur central, à ressaisir" in summary, summary
    assert back["after"]["not_fallback"] is True and back["after"]["refused_rows"] == 1, back

    # The oracle, by SQL on the central MariaDB: every bon once, nothing else.
    expected = Counter(bon.key() for bon in day.entered)
    added = new_bons(central, day.before, TOUCHED)
    assert added == expected, (added, expected)
    assert day.refused.key() not in added
    day.after_return = len(bon_rows(central, TOUCHED))
    day.closed = label
    states = Counter(entry[2] for entry in outbox(local))
    assert (states["applied"], states["refused"], states["pending"]) == (6, 1, 0), states

    # The local server is back in standby, the LAN address leads to the central server, and
    # the local copy of every dossier worked on is the central one, row for row.
    assert mode(local) == "standby"
    wait_points_to(stack, "central", 30)
    ids = sorted(dossier_ids(central, TOUCHED).values())
    assert oracle.dossier_oracles(local, live_schema(local), ids) == oracle.dossier_oracles(
        central, live_schema(central), ids
    )
    marks = ", ".join(["%s"] * len(ids))
    dossiers = f"SELECT * FROM {{}}.dossier WHERE id IN ({marks}) ORDER BY id"
    assert oracle.query(local, dossiers.format(live_schema(local)), tuple(ids)) == oracle.query(
        central, dossiers.format(live_schema(central)), tuple(ids)
    )


def test_2_a_second_return_adds_nothing(day: Day) -> None:
    assert day.after_return, "test_1 ran first"
    stack = day.stack
    central, local = stack.database("central"), stack.database("local")
    # Straight after: refused in standby mode, with its reason, and nothing sent. (It exits
    # 1 like an ApplianceError of any command, the code of "some operations refused" too.)
    again = guided_return(stack, expect=(1,))
    assert "n'est pas en mode secours" in again.output and not again.document, again.output
    # In fallback mode again with nothing new entered: nothing to replay; the refused
    # operation stays refused; standby, backup and sync as before.
    assert stack.guardian("mode", "fallback").returncode == 0
    returned = guided_return(stack, expect=(0,))  # nothing refused by this return
    answer = returned.document
    assert answer["copies_locales"] == [], "the refused dossier was copied by the first return"
    print(f"fallback day: second return in {returned.wall:.1f} s (exit {returned.code}): {json.dumps(answer)[:1500]}")
    assert answer["rejeu"]["appliquees"] == 0 and answer["erreur"] is None, answer
    assert (answer["mode"], answer["synchronisation"] is not None) == ("standby", True), answer
    # The refused operation of the first return stays listed, with the central server's reason.
    failed = answer["rejeu"]["en_echec"]
    assert day.refused is not None
    assert [(f["dossier"], f["numero_local"], f["utilisateur"]) for f in failed] == [
        (REFUSED, day.refused.numero, "resp.fd12")
    ], failed
    assert f"l'exercice {day.closed} est clôturé" in failed[0]["motif"], failed
    assert len(bon_rows(central, TOUCHED)) == day.after_return, returned.output
    assert new_bons(central, day.before, TOUCHED) == Counter(bon.key() for bon in day.entered)
    assert mode(local) == "standby"
    assert [entry[2] for entry in outbox(local)].count("refused") == 1
