"""Benchmark: incremental backups and synchronisations against full ones and the standard tools.

Starts the whole appliance from our images (central server seeded with FD12 only, default
300 dossiers over 10 exercices), and in one run on the same data:

- a full data backup and a full sync (after an unmeasured warm-up that gives the local
  server its two generations);
- then, for 0.1 %, 1 % and 10 % of the dossiers changed through the central NeoCuma Web
  (one bon de travaux each), an incremental backup and an incremental sync, in
  ``--repeat`` rounds on other dossiers each time (the table shows the median round and
  every round's job time: one round's time moves with what else the machine does);
- `mariadb-dump --single-transaction | gzip` of the central server, `mariadb < dump.sql` and
  `myloader` into the local MySQL (when mydumper is installed);
- a full backup whose link is cut once 90 % of it arrived, then the backup that resumes it;
- a client querying the local server every 10 ms during each sync.

For each step it prints the bytes over the link (the guardian's own count), the wall time
of the command (``docker exec`` and Python's start included), the job's own time, and the
ratio to the full run. The standby generation a sync refreshes is the one live before the
previous sync, so an incremental sync reloads the dossiers changed in the last two rounds.
Not a test: it asserts nothing.

    .venv/bin/python bench/incremental.py [--dossiers 300] [--years 10] [--shares 0.001,0.01,0.1] [--repeat 3]
                                          [--no-cut]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.appliance import ROOT_PASSWORD, USER_PASSWORD, Appliance, running_appliance
from tests.e2e.incremental import enter_bons
from tests.support import containers
from tests.support.http import Poller

SHARES = (0.001, 0.01, 0.10)
Row = tuple[str, str, float, float, int | None, str]  # step, job, wall s, job s, bytes over the link, mode


def _cli(appliance: Appliance, *args: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    result = appliance.cli(*args, "--json", timeout=7200)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"neocuma-guardian {' '.join(args)} failed: {result.stderr}")
    return seconds, dict(json.loads(result.stdout))


def _shell(command: str) -> float:
    started = time.monotonic()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


class Run:
    def __init__(self, appliance: Appliance) -> None:
        self.appliance = appliance
        self.rows: list[Row] = []
        self.queries = self.failures = 0
        self.longest = 0.0

    def backup(self, label: str, *flags: str) -> dict[str, Any]:
        wall, answer = _cli(self.appliance, "backup", "--data", *flags)
        data = answer["data"]
        self.rows.append((label, "backup", wall, float(data["seconds"]), int(data["transferred"]), data["mode"]))
        return dict(data)

    def sync(self, label: str, *flags: str) -> dict[str, Any]:
        web = self.appliance.local_web()
        if web.login("compta.fd12", USER_PASSWORD).status != 200:
            raise SystemExit("the 10 ms client cannot log in to the local server")
        with Poller(web) as poller:
            wall, answer = _cli(self.appliance, "sync", *flags)
        self.queries += len(poller.samples)
        self.failures += len(poller.failures)
        self.longest = max([self.longest, *(s[0] for s in poller.samples)])
        mode = f"{answer['mode']}, {answer['changed']} reloaded"
        self.rows.append((label, "sync", wall, float(answer["seconds"]), None, mode))
        return answer


def _change(appliance: Appliance, count: int, offset: int) -> list[str]:
    return enter_bons(appliance, count, offset, wrap=False)


def _partial_bytes(appliance: Appliance) -> int:
    listing = appliance.run_in_guardian(
        "sh", "-c", "stat -c %s /var/lib/guardian/backups/data/.*.part 2>/dev/null || echo 0"
    )
    return max(int(value) for value in listing.split())


def _cut_at_90_percent(appliance: Appliance, size: int) -> float:
    """Start a full backup, cut the guardian's link once 90 % of ``size`` arrived, wait for
    the backup to fail; returns the share that had arrived when the link was cut."""
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(r=appliance.cli("backup", "--data", "--full")))
    thread.start()
    arrived = containers.wait_for(
        lambda: (n := _partial_bytes(appliance)) >= size * 0.9 and n, 600, "90 % of the backup", interval=0.02
    )
    appliance.cut_link()
    try:
        thread.join(300)
    finally:
        appliance.restore_link()
    if outcome["r"].returncode == 0:
        raise SystemExit("the backup finished before the link was cut")
    print(f"link cut after {arrived / 1e6:.2f} MB of {size / 1e6:.2f} MB: {outcome['r'].stderr.strip()[-120:]}")
    return int(arrived) / size


def _grouped(rows: list[Row]) -> list[tuple[str, str, list[Row]]]:
    """The rows of each step and job, in the order they first ran."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(row)
    return [(label, kind, rounds) for (label, kind), rounds in groups.items()]


def _median(rounds: list[Row]) -> tuple[float, float, int | None, str]:
    """The round of median job time (the lower middle of an even count): its wall time,
    job time, bytes over the link and mode."""
    middle = sorted(rounds, key=lambda r: r[3])[(len(rounds) - 1) // 2]
    return middle[2], middle[3], middle[4], middle[5]


def _shares(text: str) -> tuple[float, ...]:
    """``--shares``: shares of the dossiers, each above 0 and at most 1, comma-separated."""
    try:
        shares = tuple(float(value) for value in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not all(0 < share <= 1 for share in shares):
        raise argparse.ArgumentTypeError(f"each share must be above 0 and at most 1: {text!r}")
    return shares


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument(
        "--shares",
        type=_shares,
        default=SHARES,
        help="the shares of the dossiers changed in each round, comma-separated (default %(default)s)",
    )
    parser.add_argument("--no-cut", action="store_true", help="leave out the backup cut at 90 %% and resumed")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds per share, each on other dossiers; the table shows their median and range (default %(default)s)",
    )
    args = parser.parse_args()
    client = containers.docker_client()
    print(f"starting the appliance, FD12 seeded with --dossiers {args.dossiers} --years {args.years} ...", flush=True)
    with running_appliance(
        client, dossiers=args.dossiers, years=args.years, export_kbps=0, centres="FD12"
    ) as appliance:
        work = Path(tempfile.mkdtemp(prefix="neocuma-bench-incremental-"))
        remote_port = int(appliance.remote_mysql.get_exposed_port(3306))
        local_port = int(appliance.local_mysql.get_exposed_port(3306))
        remote = f"--host=127.0.0.1 --port={remote_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
        local = f"--host=127.0.0.1 --port={local_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
        run = Run(appliance)
        _cli(appliance, "run")  # warm-up: the first generation
        _cli(appliance, "sync")  # the second, beside it: the first is now the standby
        full_backup = run.backup("full", "--full")
        run.sync("full", "--full")
        total = int(full_backup["dossiers"])
        offset = 0
        for share in args.shares:
            count = max(1, round(total * share))
            for _ in range(args.repeat):
                started = time.monotonic()
                _change(appliance, count, offset)
                print(
                    f"{share:.1%}: {count} dossier(s) changed through NeoCuma Web in "
                    f"{time.monotonic() - started:.1f} s",
                    flush=True,
                )
                offset += count
                run.backup(f"{share:.1%} changed")
                run.sync(f"{share:.1%} changed")
        if not args.no_cut:
            cut_share = _cut_at_90_percent(appliance, int(full_backup["bytes"]))
            resumed = run.backup(f"cut {cut_share:.0%}, resumed", "--full")
            print(f"resumed: {resumed['resumed']} dossiers from the partial file; {resumed['reason']}", flush=True)
        dump = _shell(
            f"mariadb-dump {remote} --single-transaction --skip-lock-tables neocuma_g1 | gzip > {work}/dump.sql.gz"
        )
        gz_bytes = (work / "dump.sql.gz").stat().st_size
        _shell(f"gunzip -k {work}/dump.sql.gz")
        _shell(f"mariadb {local} -e 'DROP DATABASE IF EXISTS bench_plain; CREATE DATABASE bench_plain'")
        plain = _shell(f"mariadb {local} bench_plain < {work}/dump.sql")
        myloader = None
        if shutil.which("mydumper") and shutil.which("myloader"):
            _shell(
                f"mydumper --host=127.0.0.1 --port={remote_port} --user=root --password={ROOT_PASSWORD} -B neocuma_g1 -o {work}/mydumper -t 2"
            )
            _shell(f"mariadb {local} -e 'DROP DATABASE IF EXISTS bench_myloader'")
            myloader = _shell(
                f"myloader --host=127.0.0.1 --port={local_port} --user=root --password={ROOT_PASSWORD} -d {work}/mydumper -B bench_myloader -t 2 -o"
            )
        shutil.rmtree(work, ignore_errors=True)

    full = {kind: next(r for r in run.rows if r[0] == "full" and r[1] == kind) for kind in ("backup", "sync")}
    print()
    print(
        f"{'step':16} {'job':7} {'wall s':>8} {'job s':>8} {'x faster':>9} {'MB over link':>13} {'% of full':>10}"
        "  mode; job s of each round"
    )
    for label, kind, rounds in _grouped(run.rows):
        wall, seconds, moved, mode = _median(rounds)
        reference = full[kind]
        faster = reference[3] / seconds if seconds else float("inf")
        moved_text = "" if moved is None else f"{moved / 1e6:13.2f}"
        portion = "" if moved is None or not reference[4] else f"{100 * moved / reference[4]:9.2f}%"
        each = "" if len(rounds) == 1 else "; " + " ".join(f"{r[3]:.2f}" for r in rounds)
        print(
            f"{label:16} {kind:7} {wall:8.2f} {seconds:8.2f} {faster:9.1f} {moved_text:>13} {portion:>10}  {mode}{each}"
        )
    print(f"{'mariadb-dump | gzip':24} {dump:8.2f} s, {gz_bytes / 1e6:.2f} MB")
    print(f"{'mariadb < dump.sql':24} {plain:8.2f} s")
    print(
        f"{'myloader -t 2':24} "
        + (f"{myloader:8.2f} s" if myloader is not None else "not measured (apt-get install mydumper)")
    )
    print(
        f"10 ms client during the syncs: {run.queries} queries, {run.failures} failed, longest {run.longest * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
