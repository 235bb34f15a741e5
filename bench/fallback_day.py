"""Benchmark: the day the link drops (issue 24), on the demo compose stack.

Starts the demo stack from our images (`make up`'s two compose files, a project of its own on
free ports of 127.0.0.1, both MariaDB servers published for the count), the demo central
server seeded with FD12 at ``--dossiers`` (300) over ``--years`` (3) exercices (the demo's
other centres, FD24 and FD47, get a fifth of that each); waits for the demo guardian's own
login, synchronises (`neocuma-guardian run`), with the automatic switch on:
``NEOCUMA_MONITOR_INTERVAL`` ``--monitor`` (5 s, its minimum), ``NEOCUMA_FALLBACK_DETECT_SECONDS``
``--detect`` (10), ``NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS`` ``--automatic`` (5). Then one
round per size of ``--rounds`` (10,100: the dossiers with local work), on dossiers no
earlier round touched:

1. **cut**: the central server's container leaves the `wan` network it shares with the
   guardian (`docker network disconnect`; its database and its published web port stay);
2. **declared**: the guardian's `outage.json` polled every 0.5 s until it holds `declared_at`;
   detection is `declared_at` (UTC, to the second) minus the cut's clock time (its
   `failing_since`, the first failed probe, is printed too);
3. **LAN address local**: the gateway's `/healthz` polled every 0.2 s until it says
   `points_to: local`; printed from the cut and from `declared_at`. The goal is taken as
   "cut → local, minus the detection window, at most 30 s";
4. **bons** through NeoCuma Web's HTML form (dossier page, bons page, POST): one bon in each
   of the N dossiers through the LAN address, one more from outside the LAN (the central
   server's published web port) in every other one of them (both sides) and in N/2 other
   dossiers (central only), all as ``resp.fd12``; then the exercice of the last of the N is
   closed on the central server by SQL, so its local bon is refused on return;
5. **return**: the link back (`docker network connect`), `neocuma-guardian return --json`
   with the password on stdin: its wall time (`docker exec` included) and its own `duree_s`;
6. **count**: by SQL on the central MariaDB (mysql-connector, none of our code), the bons
   added since the cut in every dossier of the round, against the bons entered on either
   side minus the refused one: the count, whether each is there exactly once, and whether the
   refused bon is absent and listed in the return's `en_echec` with its reason.

Before each later round the script waits until the guardian has seen the link back (the
outage closed: one automatic switch per outage). Not a test: it asserts nothing; a step that
fails stops the run with its message.

    .venv/bin/python bench/fallback_day.py [--dossiers 300] [--years 3] [--rounds 10,100]
                                           [--detect 10] [--automatic 5] [--monitor 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.demo_stack import DEMO_LOGIN, DemoStack, running_demo
from tests.e2e.fallback_day import (
    Bon,
    FormUser,
    bon_rows,
    close_exercice,
    guided_return,
    outage,
    stamp,
    wait_declared,
    wait_points_to,
    writable_dossiers,
)
from tests.support import containers


@dataclass
class Round:
    size: int
    first_failure: float = 0.0  # seconds from the cut to the first failed probe (outage.json)
    declared: float = 0.0  # seconds from the cut
    local: float = 0.0  # seconds from the cut to the LAN address serving the local server
    entering: float = 0.0  # seconds to enter the round's bons through the forms
    local_bons: int = 0
    central_bons: int = 0
    return_wall: float = 0.0
    return_own: float | None = None  # the return's duree_s
    return_code: int = 0
    planned: int = 0  # dossiers in the return's plan
    counted: int = 0  # bons added on the central server since the cut
    expected: int = 0  # bons entered on either side, minus the refused one
    exactly_once: bool = False
    refused_absent: bool = False
    refused_listed: str = ""  # its reason in en_echec, or "" when not listed


def _rounds(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"each round needs at least 2 dossiers: {text!r}")
    return sizes


def _wait_link_back(stack: DemoStack, timeout: float) -> None:
    containers.wait_for(lambda: not outage(stack).get("failing_since"), timeout, "the guardian saw the link back", 1)


def _one_round(stack: DemoStack, size: int, codes: list[str], others: list[str], window: float) -> Round:
    result = Round(size)
    central = stack.database("central")
    touched = codes + others
    before = bon_rows(central, touched)
    cut = time.time()
    stack.cut_central()
    declared = wait_declared(stack, window + 300)
    result.declared = stamp(declared["declared_at"]) - cut
    result.first_failure = stamp(declared["failing_since"]) - cut
    result.local = wait_points_to(stack, "local", 600) - cut
    print(
        f"round {size}: declared {result.declared:.0f} s after the cut, LAN address local after {result.local:.1f} s",
        flush=True,
    )
    started = time.monotonic()
    lan = FormUser(stack.lan_web(), DEMO_LOGIN, "local")
    outside = FormUser(stack.central_web(), DEMO_LOGIN, "central")
    quantities = (Decimal("7.25") + Decimal(i) / 4 for i in range(10 * len(touched) + 10))
    entered: list[Bon] = []
    for index, code in enumerate(codes):
        entered.append(lan.enter_bon(code, next(quantities), index))
    for index, code in enumerate(codes[::2] + others):
        entered.append(outside.enter_bon(code, next(quantities), index))
    refused = next(bon for bon in entered if bon.side == "local" and bon.dossier == codes[-1])
    close_exercice(central, codes[-1], refused.day)
    result.entering = time.monotonic() - started
    result.local_bons = sum(1 for bon in entered if bon.side == "local")
    result.central_bons = len(entered) - result.local_bons
    print(
        f"round {size}: {result.local_bons} bons through the LAN address, {result.central_bons} on the central server,"
        f" in {result.entering:.1f} s",
        flush=True,
    )
    stack.reconnect_central()
    returned = guided_return(stack)
    result.return_wall, result.return_code = returned.wall, returned.code
    own = returned.document.get("duree_s")
    result.planned = len(returned.document.get("plan", {}).get("dossiers", []))
    result.return_own = float(own) if own is not None else None
    added = Counter(key for row, key in bon_rows(central, touched).items() if row not in before)
    expected = Counter(bon.key() for bon in entered if bon is not refused)
    result.counted, result.expected = sum(added.values()), sum(expected.values())
    result.exactly_once = added == expected
    result.refused_absent = refused.key() not in added
    listed = [
        failure
        for failure in returned.document.get("rejeu", {}).get("en_echec", [])
        if failure.get("dossier") == refused.dossier and failure.get("numero_local") == refused.numero
    ]
    result.refused_listed = str(listed[0].get("motif", "")) if listed else ""
    central.close()
    return result


def _goal(met: bool) -> str:
    return "met" if met else "NOT met"


def _print(rounds: list[Round], window: float, automatic: float, monitor: float) -> None:
    print()
    print(f"{'round':>5}  {'measure':50} {'value':>13}  goal")
    for r in rounds:
        after_window = r.local - window
        rows = [
            (
                "cut → first failed probe (failing_since)",
                f"{r.first_failure:.0f} s",
                f"(monitor every {monitor:.0f} s)",
            ),
            ("cut → outage declared (declared_at)", f"{r.declared:.0f} s", f"(window {window:.0f} s)"),
            ("cut → LAN address serves the local server", f"{r.local:.1f} s", ""),
            (
                "outage declared → LAN address local",
                f"{r.local - r.declared:.1f} s",
                f"(switch {automatic:.0f} s after)",
            ),
            (
                "cut → LAN address local, minus the window",
                f"{after_window:.1f} s",
                f"≤ 30 s: {_goal(after_window <= 30)}",
            ),
            ("bons entered: local + central", f"{r.local_bons} + {r.central_bons}", f"in {r.entering:.1f} s"),
            (
                f"return of {r.planned} dossiers with local work, wall",
                f"{r.return_wall:.1f} s",
                (f"< 30 s: {_goal(r.return_wall < 30)}; " if r.size == 10 else "")
                + f"duree_s {r.return_own if r.return_own is not None else '?'}, exit {r.return_code}",
            ),
            (
                "bons added on central (SQL) / entered minus refused",
                f"{r.counted} / {r.expected}",
                f"each exactly once: {_goal(r.exactly_once)}",
            ),
            (
                "refused bons absent and listed in en_echec",
                "1 / 1" if r.refused_absent and r.refused_listed else "0 / 1",
                r.refused_listed or "not listed",
            ),
        ]
        for measure, value, goal in rows:
            print(f"{r.size:5d}  {measure:50} {value:>13}  {goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300, help="FD12's dossiers in the demo (default 300)")
    parser.add_argument("--years", type=int, default=3, help="exercices per dossier (default 3)")
    parser.add_argument("--rounds", type=_rounds, default=(10, 100), help="dossiers with local work per round")
    parser.add_argument("--detect", type=int, default=10, help="NEOCUMA_FALLBACK_DETECT_SECONDS (10)")
    parser.add_argument("--automatic", type=int, default=5, help="NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS (5)")
    parser.add_argument("--monitor", type=int, default=5, help="NEOCUMA_MONITOR_INTERVAL (5, its minimum)")
    args = parser.parse_args()
    needed = sum(size + size // 2 for size in args.rounds)
    settings = {
        "NEOCUMA_DEMO_DOSSIERS": str(args.dossiers),
        "NEOCUMA_DEMO_YEARS": str(args.years),
        "NEOCUMA_MONITOR_INTERVAL": str(args.monitor),
        "NEOCUMA_FALLBACK_DETECT_SECONDS": str(args.detect),
        "NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS": str(args.automatic),
    }
    containers.require_image(containers.docker_client(), f"neocuma/gateway:{containers.VERSION}")
    print(f"starting the demo stack ({containers.VERSION}), FD12 seeded with {args.dossiers} dossiers ...", flush=True)
    rounds: list[Round] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory, running_demo(Path(directory), "bench", settings, True) as stack:
        print(f"stack healthy in {time.monotonic() - started:.0f} s", flush=True)
        stack.wait_logged_in(300)
        synced_at = time.monotonic()
        synced = stack.guardian("run")
        if synced.returncode != 0:
            raise SystemExit(f"neocuma-guardian run failed: {synced.stdout}{synced.stderr}")
        print(f"first run (backup and sync) in {time.monotonic() - synced_at:.0f} s", flush=True)
        central = stack.database("central")
        writable = writable_dossiers(central)
        central.close()
        if len(writable) < needed:
            raise SystemExit(f"{len(writable)} dossiers resp.fd12 may write in, {needed} needed: raise --dossiers")
        offset = 0
        for size in args.rounds:
            if rounds:
                _wait_link_back(stack, 10 * args.monitor + 60)
            codes = writable[offset : offset + size]
            others = writable[offset + size : offset + size + size // 2]
            offset += size + size // 2
            rounds.append(_one_round(stack, size, codes, others, float(args.detect)))
    _print(rounds, float(args.detect), float(args.automatic), float(args.monitor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
