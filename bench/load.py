"""Benchmark: the central server under load, 11 centres' guardians backing up at once while
50 NeoCuma Web users work.

Starts our MariaDB image and a central NeoCuma server (neocuma/appliance, role central,
`neocuma-server serve`) on a private network, seeded with every centre of
config/centres.toml, each with --dossiers dossiers over --years exercices (the project's
generator and loader, run from this checkout against the published MariaDB port as the
integration tests do, so that --dossiers applies to every centre; the system files it writes
are mounted into the server, which serves the generation it finds). Then, on the same data:

1. web alone (--baseline seconds): --users simulated NeoCuma Web users, threads of this
   script each with its own session (cookie jar, CSRF tokens) against the server's published
   web port. Each logs in through the login form (timed with the landing page) as one of its
   centre's users (comptables, responsables départementaux and informatiques, then
   animateurs: 50 distinct logins over the 11 centres), then visits in a loop: the dossiers
   page, a dossier's page and its JSON, one of its tiers, matériels, bons, factures or
   écritures pages (or the écritures' JSON); in --write-share of the visits, in a dossier it
   may write, it opens the open exercice's bons page and posts its form (a bon de travaux for
   an active member, an activity, a day of the exercice). The write is timed alone, to its
   302; the bons page it leads to is a page, which must show the bon's confirmation. Between
   requests a user thinks for an exponential time of mean --think seconds.
2. guardians + web: 11 guardian containers (our appliance image, one per centre, each with
   its own volume for state and backups and its own address on the network, as 11 sites'
   guardians would be) run the real guardian command line `neocuma-guardian backup --data
   --json` --rounds times back to back, all starting together: SSH login as the centre's
   responsable départemental (host key pinned and login stored beforehand by
   `neocuma-guardian login`), `v1 export` streamed to disk, full verification, fsync,
   rename, retention. Timed three ways: the command's wall time (with its Python start-up),
   the job's own time as the command reports it (what the guardian's daemon spends on a
   scheduled backup), and the export as the server's log times it. The web users keep working.
3. mariadb-dump + web: for comparison, 11 concurrent `docker exec <mysql> mariadb-dump
   --single-transaction` of the same centres' data (the dossier tables' rows of the dossiers
   in each responsable's rights), piped to gzip on the host, --rounds times; the web users
   keep working.

Prints, per phase and kind of request, the count, the failures (each failure's message is
printed), latency p50/p95/p99/max and throughput (requests/s; MB/s for backups and dumps:
the uncompressed mariadb-dump size of the centres' data over the phase, as bench/export.py
counts), the CPU seconds each part used (cgroup v1 cpuacct: the server, MariaDB, the
guardians, this script, and everything else on the machine), then the guardians' backups
failed and the retries they made within their run (issue 29), the server's log errors and
warnings, its peak memory and the run's duration. The guardians are containers rather
than threads of this script: their verification is CPU-bound Python that threads would run
under one GIL, and 11 processes with their own disks and addresses are what the central
server sees. All of it shares the machine's cores with the server and MariaDB. Not a test:
nothing is asserted. Every container, network and volume it starts carries the test-session
label and is removed at the end.

    .venv/bin/python bench/load.py [--dossiers 20] [--years 3] [--rounds 3] [--users 50]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import functools
import gzip
import json
import math
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docker
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from appliance.configuration import load_server
from appliance.domain.centres import Centre, parse_centres
from appliance.domain.schema import DOSSIER_TABLES
from appliance.server.seed.generator import GeneratorOptions, demo_logins
from appliance.server.seed.loader import seed_generation
from appliance.server.wiring import build
from tests.e2e.appliance import new_volume
from tests.support import containers, oracle
from tests.support.http import Reply, WebClient

ROOT = Path(__file__).resolve().parents[1]
ROOT_PASSWORD = "bench-root"
SERVER_PASSWORD = "bench-server"
USER_PASSWORD = "Bench-Load-2026"
NO_HEALTHCHECK = {"test": ["NONE"]}
WEB_PROFILES = ("comptable_departemental", "comptable", "responsable_departemental", "responsable_informatique")
LAST_PROFILE = "animateur"
SUBJECTS = ("tiers", "materiels", "bons", "factures", "ecritures", "api-ecritures")
LOGIN_FORM = 'name="password"'
BACKUP_WALL = "SSH backup, CLI wall time"
BACKUP_JOB = "SSH backup, the job's own time"
EXPORT = "SSH export, as the server logs it"
DUMP = "mariadb-dump --single-transaction | gzip"
KINDS = (
    BACKUP_WALL,
    BACKUP_JOB,
    EXPORT,
    DUMP,
    "web login (form, scrypt)",
    "web page (HTML GET)",
    "web API (JSON GET)",
    "web write (bon de travaux POST)",
)


@dataclass(frozen=True)
class Sample:
    phase: str
    kind: str
    seconds: float
    error: str | None = None
    data_bytes: int = 0
    retries: int = 0  # a backup's attempts made again after a retryable refusal (issue 29)


@dataclass
class Recorder:
    """Every request's outcome, labelled with the phase it started in."""

    phase: str = "web alone"
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    @contextmanager
    def timed(self, kind: str) -> Iterator[dict[str, Any]]:
        """Time the block; it fails if it raises or sets ``outcome["error"]``."""
        phase, started = self.phase, time.monotonic()
        outcome: dict[str, Any] = {"error": None, "bytes": 0, "retries": 0}
        try:
            yield outcome
        except Exception as error:  # noqa: BLE001 - every failure is counted and printed
            outcome["error"] = f"{type(error).__name__}: {error}"
        elapsed = time.monotonic() - started
        self.add(Sample(phase, kind, elapsed, outcome["error"], int(outcome["bytes"]), int(outcome["retries"])))


# --- the central server -------------------------------------------------------------------


def _seed(db_port: int, work: Path, centres: tuple[Centre, ...], dossiers: int, years: int) -> tuple[str, str]:
    """Generate every centre into a new live generation of the central MariaDB, from the
    host; returns (schema, summary). The system files land in ``work/central/system``."""
    config = load_server(
        {
            "NEOCUMA_ROLE": "central",
            "NEOCUMA_SERVER_NAME": "central",
            "NEOCUMA_DB_HOST": "127.0.0.1",
            "NEOCUMA_DB_PORT": str(db_port),
            "NEOCUMA_DB_PASSWORD": SERVER_PASSWORD,
            "NEOCUMA_STATE_DIR": str(work / "central"),
        }
    )
    parts = build(config, pool_size=2)
    options = GeneratorOptions(
        centres=centres, dossiers=dossiers, years=years, other_centre_dossiers=dossiers, password=USER_PASSWORD
    )
    try:
        result = seed_generation(parts.pool, parts.client, config.paths.system_dir, options, "central")
    finally:
        parts.pool.close()
    summary = (
        f"generation {result.generation}: {len(centres)} centres x {dossiers} dossiers x {years} exercices, "
        f"{result.rows:,} rows, {result.sql_bytes / 1e6:.1f} MB of SQL, seeded in {result.seconds:.1f} s"
    )
    return f"neocuma_g{result.generation}", summary


def _vm_hwm_mib(target: DockerContainer) -> float:
    for line in containers.exec_checked(target, ["cat", "/proc/1/status"]).splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the guardians ------------------------------------------------------------------------


@dataclass(frozen=True)
class Guardian:
    centre: str
    login: str
    container: DockerContainer

    def cli(self, *args: str, stdin: str = "", timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", "-i", self.container.get_wrapped_container().id, "neocuma-guardian", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _start_guardian(centre: Centre, network: Network, volume: str) -> Guardian:
    target = (
        containers.container(containers.APPLIANCE_IMAGE, network, healthcheck=NO_HEALTHCHECK)
        .with_command(["sleep", "infinity"])
        .with_envs(
            NEOCUMA_REMOTE_HOST="bench-central",
            NEOCUMA_REMOTE_PORT="2222",
            # backup --data never opens the local MySQL nor the local server; the settings
            # are required all the same.
            NEOCUMA_DB_PASSWORD="no-local-mysql-in-this-bench",
            NEOCUMA_LOCAL_CHECK_TOKEN="no-local-server-in-this-bench",
        )
        .with_volume_mapping(volume, "/var/lib/guardian", "rw")
        .start()
    )
    return Guardian(centre.code, demo_logins(centre)["responsable_departemental"], target)


def _guardian_login(guardian: Guardian, fingerprint: str) -> None:
    done = guardian.cli(
        "login", "--user", guardian.login, "--accept-hostkey", fingerprint, "--json", stdin=USER_PASSWORD + "\n"
    )
    if done.returncode != 0:
        raise SystemExit(f"neocuma-guardian login as {guardian.login} failed: {done.stderr.strip()}")


def _guardian_rounds(guardian: Guardian, rounds: int, recorder: Recorder, start: threading.Barrier) -> None:
    start.wait()
    for _ in range(rounds):
        with recorder.timed(BACKUP_WALL) as outcome:
            done = guardian.cli("backup", "--data", "--json")
            if done.returncode != 0:
                outcome["error"] = f"{guardian.login}: exit {done.returncode}: {done.stderr.strip()[-500:]}"
                gave_up = re.search(r"abandon après (\d+) essai", done.stderr)
                outcome["retries"] = int(gave_up.group(1)) - 1 if gave_up else 0
            else:
                data = json.loads(done.stdout)["data"]
                outcome["bytes"] = int(data["bytes"])
                outcome["retries"] = int(data.get("retries", 0))  # absent from a guardian without retries
                recorder.add(Sample(recorder.phase, BACKUP_JOB, float(data["seconds"])))


# --- the dumps ----------------------------------------------------------------------------


def _dump_command(mysql_id: str, schema: str, dossier_ids: list[int], output: Path) -> str:
    where = f"dossier_id IN ({','.join(str(i) for i in dossier_ids)})"
    dump = [
        "docker",
        "exec",
        "-e",
        f"MYSQL_PWD={ROOT_PASSWORD}",
        mysql_id,
        "mariadb-dump",
        "--user=root",
        "--single-transaction",
        "--skip-lock-tables",
        f"--where={where}",
        schema,
        *(table.name for table in DOSSIER_TABLES),
    ]
    return f"{shlex.join(dump)} | gzip > {shlex.quote(str(output))}"


def _dump_rounds(command: str, rounds: int, recorder: Recorder, start: threading.Barrier) -> None:
    start.wait()
    for _ in range(rounds):
        with recorder.timed(DUMP) as outcome:
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=3600
            )
            if done.returncode != 0:
                outcome["error"] = f"exit {done.returncode}: {done.stderr.strip()[-500:]}"


def _gunzipped_size(path: Path) -> int:
    size = 0
    with gzip.open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            size += len(block)
    return size


# --- the web users ------------------------------------------------------------------------


class WebUser:
    """One person working in NeoCuma Web with their own session."""

    def __init__(self, base: str, login: str, recorder: Recorder, think: float, write_share: float, timeout: float):
        self.web = WebClient(base)
        self.login = login
        self.recorder = recorder
        self.think = think
        self.write_share = write_share
        self.timeout = timeout
        self.rng = random.Random(f"load:{login}")
        self.dossiers: list[dict[str, Any]] = []
        # The write is timed alone: its 302, not the bons page it leads to (timed as a page).
        self.no_redirect = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.web.jar), _NoRedirect())

    def _request(
        self, method: str, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        return self.web.request(method, path, data, headers, timeout=self.timeout)

    def _checked(self, outcome: dict[str, Any], reply: Reply, what: str, expect: str | None = None) -> Reply:
        outcome["bytes"] = len(reply.body)
        if reply.status != 200:
            outcome["error"] = f"{self.login} {what}: HTTP {reply.status}: {reply.text[:300]!r}"
        elif LOGIN_FORM in reply.text and what != "GET /login":
            outcome["error"] = f"{self.login} {what}: answered with the login page (session lost)"
        elif expect is not None and expect not in reply.text:
            outcome["error"] = f"{self.login} {what}: {expect!r} missing from the page: {reply.text[:300]!r}"
        return reply

    def page(self, path: str, expect: str | None = None) -> Reply | None:
        with self.recorder.timed("web page (HTML GET)") as outcome:
            reply = self._checked(outcome, self._request("GET", path), f"GET {path}", expect)
        return None if outcome["error"] else reply

    def api(self, path: str) -> Any:
        with self.recorder.timed("web API (JSON GET)") as outcome:
            reply = self._checked(outcome, self._request("GET", path), f"GET {path}")
            body = reply.json() if not outcome["error"] else None
        return body

    def sign_in(self) -> bool:
        with self.recorder.timed("web login (form, scrypt)") as outcome:
            page = self._checked(outcome, self._request("GET", "/login"), "GET /login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            if token is None:
                outcome["error"] = outcome["error"] or f"{self.login}: no CSRF token on the login page"
            else:
                form = {"csrf": token.group(1), "login": self.login, "password": USER_PASSWORD}
                reply = self._request("POST", "/login", urllib.parse.urlencode(form).encode(), _FORM)
                self._checked(outcome, reply, "POST /login", "Dossiers")
        if outcome["error"]:
            return False
        listing = self.api("/api/v1/dossiers")
        self.dossiers = list(listing["dossiers"]) if listing else []
        return bool(self.dossiers)

    def pause(self, stop: threading.Event) -> None:
        if self.think > 0:
            stop.wait(self.rng.expovariate(1 / self.think))

    def visit(self, stop: threading.Event) -> None:
        dossier = self.rng.choice(self.dossiers)
        code = dossier["code"]
        steps: list[Callable[[], object]] = [
            lambda: self.page("/dossiers", "Dossiers"),
            lambda: self.page(f"/dossiers/{code}", "Exercices"),
        ]
        for step in steps:
            step()
            self.pause(stop)
        info = self.api(f"/api/v1/dossiers/{code}")
        self.pause(stop)
        exercices = list(info["exercices"]) if info else []
        if not exercices:
            return
        exercice = self.rng.choice(exercices)
        subject = self.rng.choice(SUBJECTS)
        if subject == "tiers":
            self.page(f"/dossiers/{code}/tiers?categorie=adherent")
        elif subject == "materiels":
            self.page(f"/dossiers/{code}/materiels")
        elif subject == "api-ecritures":
            self.api(f"/api/v1/dossiers/{code}/exercices/{exercice['id']}/ecritures")
        else:
            self.page(f"/dossiers/{code}/exercices/{exercice['id']}/{subject}")
        self.pause(stop)
        open_exercices = [e for e in exercices if not e["cloture"]]
        writable = dossier["acces"] == "ecriture" and not dossier["exporte"] and open_exercices
        if writable and self.rng.random() < self.write_share:
            self.enter_bon(code, open_exercices[-1])
            self.pause(stop)

    def enter_bon(self, code: str, exercice: dict[str, Any]) -> None:
        path = f"/dossiers/{code}/exercices/{exercice['id']}/bons"
        page = self.page(path, "Saisir un bon de travaux")
        if page is None:
            return
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        members = re.findall(r'<option value="(\d+)"', _select(page.text, "tiers_id"))
        activities = re.findall(r'<option value="(\d+)"', _select(page.text, "activite_id"))
        with self.recorder.timed("web write (bon de travaux POST)") as outcome:
            if token is None or not members or not activities:
                outcome["error"] = f"{self.login} GET {path}: the bon form has no token, member or activity"
                return
            body = ""
            first = _day(exercice["date_debut"])
            last = _day(exercice["date_fin"])
            day = first + (last - first) * self.rng.random()
            form = {
                "csrf": token.group(1),
                "tiers_id": self.rng.choice(members),
                "activite_id": self.rng.choice(activities),
                "date": day.date().isoformat(),
                "quantite": f"{self.rng.randrange(1, 40) / 2:.1f}",
            }
            request = urllib.request.Request(
                self.web.base + f"/dossiers/{code}/bons", urllib.parse.urlencode(form).encode(), _FORM, method="POST"
            )
            try:
                with self.no_redirect.open(request, timeout=self.timeout) as response:
                    status, location = response.status, response.headers.get("Location", "")
            except urllib.error.HTTPError as error:
                status, location = error.code, error.headers.get("Location", "")
                body = error.read().decode("utf-8", "replace")
            if status != 302 or "/bons" not in location:
                outcome["error"] = f"{self.login} POST /dossiers/{code}/bons: HTTP {status}: {body[:300]!r}"
                return
        self.page(urllib.parse.urlsplit(location).path, "enregistré (révision")

    def run(self, stop: threading.Event, ready: threading.Barrier) -> None:
        try:
            signed_in = self.sign_in()
        finally:
            ready.wait()
        while signed_in and not stop.is_set():
            self.visit(stop)


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _select(page: str, name: str) -> str:
    found = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    return found.group(1) if found else ""


def _day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _web_logins(centres: tuple[Centre, ...], users: int) -> list[str]:
    """``users`` distinct logins spread over the centres: the comptables first, then the
    responsables, then the animateurs."""
    order = [*WEB_PROFILES, LAST_PROFILE]
    logins = [demo_logins(centre)[profile] for profile in order for centre in centres]
    if users > len(logins):
        raise SystemExit(f"--users {users}: the centres have {len(logins)} web logins to give")
    return logins[:users]


# --- figures ------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _print_phase(title: str, seconds: float, samples: list[Sample], data_mb: float) -> None:
    print(f"\n{title} ({seconds:.1f} s)")
    print(
        f"  {'kind':40} {'count':>6} {'failed':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'req/s':>7} {'MB/s':>7}"
    )
    present = {sample.kind for sample in samples}
    kinds = [kind for kind in KINDS if kind in present] + sorted(present - set(KINDS))
    for kind in kinds:
        chosen = [sample for sample in samples if sample.kind == kind]
        times = [sample.seconds * 1000 for sample in chosen]
        failed = sum(1 for sample in chosen if sample.error)
        bulk = kind in (BACKUP_WALL, DUMP)
        rate = f"{sum(1 for s in chosen if not s.error) * data_mb / seconds:7.1f}" if bulk else f"{'':7}"
        print(
            f"  {kind:40} {len(chosen):6d} {failed:6d} {_percentile(times, 0.5):8.0f} {_percentile(times, 0.95):8.0f}"
            f" {_percentile(times, 0.99):8.0f} {max(times):8.0f} {len(chosen) / seconds:7.2f} {rate}"
        )


def _cpu_now(groups: dict[str, list[DockerContainer]]) -> dict[str, float]:
    """CPU seconds used so far by each group of containers (cgroup v1 cpuacct, where
    `docker exec` processes count too), by this script (the web users' threads) and by the
    whole machine; empty where the cgroup files cannot be read."""
    root = Path("/sys/fs/cgroup/cpuacct")
    used: dict[str, float] = {}
    try:
        for name, members in groups.items():
            used[name] = sum(
                int((root / "docker" / m.get_wrapped_container().id / "cpuacct.usage").read_text()) / 1e9
                for m in members
            )
        used["whole machine"] = int((root / "cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        used.clear()
    used["this script (web users)"] = time.process_time()
    return used


def _print_cpu(used: dict[str, float], seconds: float) -> None:
    if "whole machine" not in used:
        print(f"  CPU seconds: this script {used['this script (web users)']:.1f} (no cgroup v1 cpuacct to read)")
        return
    ours = sum(value for key, value in used.items() if key != "whole machine")
    parts = ", ".join(f"{key} {value:.1f}" for key, value in used.items() if key != "whole machine")
    print(
        f"  CPU seconds: {parts}, everything else {used['whole machine'] - ours:.1f} (docker-proxy, fuse-overlayfs, gzip, other jobs)"
        f" (whole machine {used['whole machine']:.1f} of {os.cpu_count()} cores x {seconds:.1f} s)"
    )


def _print_failures(samples: list[Sample]) -> None:
    failures = Counter(f"[{s.phase}] {s.kind}: {s.error}" for s in samples if s.error)
    print(f"\nfailed requests: {sum(failures.values())}")
    for message, count in failures.most_common(30):
        print(f"  {count} x {message}")


def _print_retries(samples: list[Sample]) -> None:
    """The guardians' backups: how many failed, and the retries made within their run after
    a refusal the central server marked retryable (docs/guardian.md, "Retries")."""
    backups = [s for s in samples if s.kind == BACKUP_WALL]
    retried = [s for s in backups if s.retries]
    print(
        f"guardian backups: {len(backups)}, failed {sum(1 for s in backups if s.error)}; "
        f"retried within their run {len(retried)}, retries in all {sum(s.retries for s in backups)}"
    )


def _print_log_errors(log: str) -> None:
    """The ERROR and WARNING lines of the server's log, grouped by message."""
    for level in ("ERROR", "WARNING"):
        lines = [line.split(f" {level} ", 1)[1] for line in log.splitlines() if f" {level} " in line]
        # Numbers vary from line to line (a queue's depth, a port): group without them.
        messages = Counter(re.sub(r"\d+", "N", line) for line in lines)
        highest: dict[str, int] = {}
        for line in lines:
            numbers = [int(n) for n in re.findall(r"\d+", line)]
            key = re.sub(r"\d+", "N", line)
            highest[key] = max([highest.get(key, 0), *numbers[-1:]])
        print(f"central server log: {len(lines)} {level} lines" + (":" if lines else ""))
        for message, count in messages.most_common(10):
            print(f"  {count} x {message[:300]}" + (f" (highest N: {highest[message]})" if "N" in message else ""))
    if "Traceback" in log:
        print("central server log: holds a Traceback")


def _machine() -> str:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    return f"{os.cpu_count()} cores, {int(memory.split()[1]) / 2**20:.0f} GiB, {_load()}"


def _load() -> str:
    """The machine's load average: what else runs beside the benchmark shows here."""
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# --- the run ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=20, help="dossiers per centre (default 20)")
    parser.add_argument("--years", type=int, default=3, help="exercices per dossier (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="backups (and dumps) per centre (default 3)")
    parser.add_argument("--users", type=int, default=50, help="simulated NeoCuma Web users (default 50)")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between a user's requests (0.5)")
    parser.add_argument("--write-share", type=float, default=0.2, help="share of visits entering a bon (0.2)")
    parser.add_argument("--baseline", type=float, default=15, help="seconds of web users alone first (15)")
    parser.add_argument("--web-timeout", type=float, default=60, help="seconds a web request may take (60)")
    parser.add_argument("--server-log", help="write the central server's log to this file")
    return parser


def main() -> int:
    args = _parser().parse_args()
    centres = tuple(parse_centres(tomllib.loads((ROOT / "config" / "centres.toml").read_text())))
    logins = _web_logins(centres, args.users)
    client = containers.docker_client()
    for image in (containers.MYSQL_IMAGE, containers.APPLIANCE_IMAGE):
        containers.require_image(client, image)
    network = containers.new_network()
    started: list[DockerContainer] = []
    volumes: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="neocuma-bench-load-"))
    try:
        return _run(args, centres, logins, client, network, started, volumes, work)
    finally:
        for target in reversed(started):
            target.stop()
        network.remove()
        for name in volumes:
            client.volumes.get(name).remove(force=True)
        containers.sweep(client, containers.SESSION)
        shutil.rmtree(work, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    centres: tuple[Centre, ...],
    logins: list[str],
    client: docker.DockerClient,
    network: Network,
    started: list[DockerContainer],
    volumes: list[str],
    work: Path,
) -> int:
    run_started = time.monotonic()
    print(f"machine: {_machine()}; images {containers.APPLIANCE_IMAGE}, {containers.MYSQL_IMAGE}", flush=True)
    database = (
        containers.container(containers.MYSQL_IMAGE, network, ("bench-mysql",))
        .with_exposed_ports(3306)
        .with_envs(
            MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE="central", NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD
        )
        .start()
    )
    started.append(database)
    containers.wait_healthy(database, 180)
    db_port = int(database.get_exposed_port(3306))
    print(f"seeding {len(centres)} centres x {args.dossiers} dossiers x {args.years} exercices ...", flush=True)
    schema, summary = _seed(db_port, work, centres, args.dossiers, args.years)
    print(summary, flush=True)
    (work / "central" / "system").chmod(0o755)
    central = (
        containers.container(containers.APPLIANCE_IMAGE, network, ("bench-central",))
        .with_exposed_ports(2222, 8080)
        .with_command(["neocuma-server", "serve"])
        .with_envs(
            NEOCUMA_ROLE="central",
            NEOCUMA_DB_HOST="bench-mysql",
            NEOCUMA_DB_PASSWORD=SERVER_PASSWORD,
            NEOCUMA_SERVER_NAME="central",
        )
        .with_volume_mapping(str(work / "central" / "system"), "/var/lib/neocuma/system", "ro")
        .start()
    )
    started.append(central)
    containers.wait_healthy(central, 300)
    fingerprint = containers.exec_checked(central, ["neocuma-server", "hostkey"]).strip()
    print(f"central server up (host key {fingerprint}); starting {len(centres)} guardians ...", flush=True)
    guardians = []
    for centre in centres:
        volumes.append(new_volume(client))
        guardians.append(_start_guardian(centre, network, volumes[-1]))
        started.append(guardians[-1].container)
    with concurrent.futures.ThreadPoolExecutor(len(guardians)) as pool:
        list(pool.map(lambda g: _guardian_login(g, fingerprint), guardians))
    print(f"guardians logged in as {', '.join(g.login for g in guardians)}", flush=True)

    root = oracle.connect("127.0.0.1", db_port, "root", ROOT_PASSWORD)
    dumps = []
    for guardian in guardians:
        ids = [dossier_id for dossier_id, _ in oracle.dossiers_of(root, schema, guardian.login)]
        dumps.append(
            _dump_command(database.get_wrapped_container().id, schema, ids, work / f"{guardian.centre}.sql.gz")
        )
    root.close()

    recorder = Recorder()
    stop = threading.Event()
    ready = threading.Barrier(len(logins) + 1)
    base = f"http://127.0.0.1:{central.get_exposed_port(8080)}"
    users = [WebUser(base, login, recorder, args.think, args.write_share, args.web_timeout) for login in logins]
    threads = [threading.Thread(target=user.run, args=(stop, ready), daemon=True) for user in users]
    print(f"{len(users)} web users logging in ...", flush=True)
    for thread in threads:
        thread.start()
    ready.wait()
    phases: list[tuple[str, float]] = []

    groups = {
        "central server": [central],
        "MariaDB": [database],
        "guardian containers": [g.container for g in guardians],
    }
    cpu: dict[str, dict[str, float]] = {}

    def phase(name: str, body: Callable[[], None]) -> None:
        recorder.phase = name
        before = _cpu_now(groups)
        began = time.monotonic()
        body()
        phases.append((name, time.monotonic() - began))
        cpu[name] = {key: value - before[key] for key, value in _cpu_now(groups).items()}
        print(f"phase done: {name} in {phases[-1][1]:.1f} s", flush=True)

    def concurrently(work_items: list[Callable[[threading.Barrier], None]]) -> None:
        barrier = threading.Barrier(len(work_items))
        runners = [threading.Thread(target=item, args=(barrier,)) for item in work_items]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()

    phase("web alone", lambda: time.sleep(args.baseline))
    phase(
        f"{len(guardians)} guardians x {args.rounds} backups + web",
        lambda: concurrently([functools.partial(_guardian_rounds, g, args.rounds, recorder) for g in guardians]),
    )
    phase(
        f"{len(dumps)} mariadb-dump x {args.rounds} + web",
        lambda: concurrently([functools.partial(_dump_rounds, c, args.rounds, recorder) for c in dumps]),
    )
    recorder.phase = "stopping"
    stop.set()
    for thread in threads:
        thread.join(args.web_timeout + 5)

    sql_mb = [_gunzipped_size(work / f"{g.centre}.sql.gz") / 1e6 for g in guardians]
    gz_mb = [(work / f"{g.centre}.sql.gz").stat().st_size / 1e6 for g in guardians]
    backup_bytes = [s.data_bytes for s in recorder.samples if s.kind == BACKUP_WALL and not s.error]
    data_mb = sum(sql_mb) / len(sql_mb)
    print()
    print(
        f"data per centre: {data_mb:.1f} MB of SQL on average (uncompressed mariadb-dump of its dossiers' rows, "
        f"{min(sql_mb):.1f} to {max(sql_mb):.1f}); backup zip {statistics.mean(backup_bytes or [0]) / 1e6:.1f} MB, "
        f"dump | gzip {sum(gz_mb) / len(gz_mb):.1f} MB"
    )
    print(
        f"web users: {len(users)} ({', '.join(sorted({login.split('.')[0] for login in logins}))} of the "
        f"{len(centres)} centres), think {args.think:g} s mean, a bon in {args.write_share:.0%} of the visits"
        " where they may write"
    )
    log = containers.logs_of(central, 1_000_000)
    if args.server_log:
        Path(args.server_log).write_text(log)
    backups_phase = phases[1][0]
    for done in re.findall(r"ssh \S+: export done in ([0-9.]+) s", log):
        recorder.add(Sample(backups_phase, EXPORT, float(done)))
    for name, seconds in phases:
        _print_phase(name, seconds, [s for s in recorder.samples if s.phase == name], data_mb)
        _print_cpu(cpu[name], seconds)
    print("\n  MB/s: SQL MB of the centres' data (as mariadb-dump writes it) moved per second, all centres together")
    _print_failures(recorder.samples)
    _print_retries(recorder.samples)
    _print_log_errors(log)
    print(f"central server peak memory (VmHWM of its process): {_vm_hwm_mib(central):.0f} MiB")
    print(f"whole run, containers started to figures: {time.monotonic() - run_started:.1f} s; {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
