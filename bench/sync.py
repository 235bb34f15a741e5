"""Benchmark: the guardian's data backup and synchronisation against the standard tools.

Starts the whole appliance (central server seeded with one centre, local MySQL and server,
Docker proxy, guardian) from our images, then, each --runs times on the same data and the
same MariaDB configuration:

- the guardian's full data backup (``--full``: export over SSH, verification, fsync) against
  `mariadb-dump --single-transaction | gzip` of the same server;
- the guardian's full sync (``--full``, from the zip on disk until /healthz shows the new generation
  and the application check passes, full re-verification included) against
  `mariadb < dump.sql` and `myloader` into the local MySQL;
- a client querying the local server every 10 ms during each sync: failed and longest;
- the guardian's peak memory (ru_maxrss of the CLI process and of its children).

Prints medians with min and max. Not a test: it asserts nothing.

    .venv/bin/python bench/sync.py [--dossiers 300] [--years 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.appliance import ROOT_PASSWORD, USER_PASSWORD, Appliance, running_appliance
from tests.support import containers
from tests.support.http import Poller

MEASURED_CLI = (
    "import resource, sys\n"
    "from appliance.guardian.cli import main\n"
    "sys.argv = ['neocuma-guardian'] + sys.argv[1:]\n"
    "status = main()\n"
    "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'PEAK {own} {children}', file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):9.1f} {min(values):9.1f} {max(values):9.1f}"


def _measured(appliance: Appliance, *args: str) -> tuple[float, int, int]:
    started = time.monotonic()
    result = subprocess.run(
        [
            "docker",
            "exec",
            appliance.guardian.get_wrapped_container().id,
            "/opt/neocuma/bin/python",
            "-c",
            MEASURED_CLI,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=7200,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"neocuma-guardian {' '.join(args)} failed: {result.stderr}")
    peak = next(line for line in result.stderr.splitlines() if line.startswith("PEAK ")).split()
    return seconds, int(peak[1]), int(peak[2])


def _shell(command: str) -> float:
    started = time.monotonic()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    client = containers.docker_client()
    print(
        f"starting the appliance, central server seeded with FD12: --dossiers {args.dossiers} --years {args.years} ...",
        flush=True,
    )
    with running_appliance(
        client, dossiers=args.dossiers, years=args.years, export_kbps=0, centres="FD12"
    ) as appliance:
        work = Path(tempfile.mkdtemp(prefix="neocuma-bench-sync-"))
        remote_port = int(appliance.remote_mysql.get_exposed_port(3306))
        local_port = int(appliance.local_mysql.get_exposed_port(3306))
        remote = f"--host=127.0.0.1 --port={remote_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
        local = f"--host=127.0.0.1 --port={local_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
        _shell(f"mariadb-dump {remote} --single-transaction --skip-lock-tables neocuma_g1 > {work}/dump.sql")
        sql_mb = (work / "dump.sql").stat().st_size / 1e6
        print(f"data: {sql_mb:.0f} MB of SQL (mariadb-dump of the central generation)", flush=True)
        have_mydumper = shutil.which("mydumper") is not None and shutil.which("myloader") is not None
        if not have_mydumper:
            print("myloader: not measured, mydumper/myloader are not installed (apt-get install mydumper)", flush=True)
        else:
            _shell(
                f"mydumper --host=127.0.0.1 --port={remote_port} --user=root --password={ROOT_PASSWORD} -B neocuma_g1 -o {work}/mydumper -t 2"
            )
        # Warm-up, not measured: the local server gets its first generation, so the 10 ms
        # client can log in before the measured syncs.
        _measured(appliance, "backup", "--data", "--full")
        _measured(appliance, "sync", "--full")
        figures: dict[str, list[float]] = {k: [] for k in ("backup", "dump_gzip", "sync", "plain", "myloader")}
        peaks: list[int] = []
        queries = failures = 0
        longest = 0.0
        for run in range(args.runs):
            seconds, own, children = _measured(appliance, "backup", "--data", "--full")
            figures["backup"].append(seconds)
            peaks.append(max(own, children))
            figures["dump_gzip"].append(
                _shell(
                    f"mariadb-dump {remote} --single-transaction --skip-lock-tables neocuma_g1 | gzip > {work}/dump.sql.gz"
                )
            )
            web = appliance.local_web()
            if web.login("compta.fd12", USER_PASSWORD).status != 200:
                raise SystemExit("the 10 ms client cannot log in to the local server")
            with Poller(web) as poller:
                seconds, own, children = _measured(appliance, "sync", "--full")
            figures["sync"].append(seconds)
            peaks.append(max(own, children))
            queries += len(poller.samples)
            failures += len(poller.failures)
            longest = max(longest, poller.longest)
            _shell(f"mariadb {local} -e 'DROP DATABASE IF EXISTS bench_plain; CREATE DATABASE bench_plain'")
            figures["plain"].append(_shell(f"mariadb {local} bench_plain < {work}/dump.sql"))
            if have_mydumper:
                _shell(f"mariadb {local} -e 'DROP DATABASE IF EXISTS bench_myloader'")
                figures["myloader"].append(
                    _shell(
                        f"myloader --host=127.0.0.1 --port={local_port} --user=root --password={ROOT_PASSWORD} -d {work}/mydumper -B bench_myloader -t 2 -o"
                    )
                )
            print(
                f"run {run + 1}: backup {figures['backup'][-1]:.1f} s, dump|gzip {figures['dump_gzip'][-1]:.1f} s, sync {figures['sync'][-1]:.1f} s, "
                f"mariadb < dump {figures['plain'][-1]:.1f} s"
                + (f", myloader {figures['myloader'][-1]:.1f} s" if have_mydumper else ""),
                flush=True,
            )
        print()
        print(f"{'(seconds)':52} {'median':>9} {'min':>9} {'max':>9}")
        rows = [
            ("guardian data backup (export, verify, fsync)", "backup"),
            ("mariadb-dump --single-transaction | gzip", "dump_gzip"),
            ("guardian sync (verify, load, switch, health)", "sync"),
            ("mariadb < dump.sql", "plain"),
            ("myloader -t 2 (mydumper dump)", "myloader"),
        ]
        for label, key in rows:
            if figures[key]:
                print(f"{label:52} {_stats(figures[key])}")
        ratio = statistics.median(figures["sync"]) / statistics.median(figures["plain"])
        print(f"sync / (mariadb < dump.sql) = {ratio:.2f} (aim: at most 0.70)")
        print(
            f"backup / (mariadb-dump | gzip) = {statistics.median(figures['backup']) / statistics.median(figures['dump_gzip']):.2f} (aim: at most 1.00)"
        )
        print(
            f"10 ms client during the {args.runs} syncs: {queries} queries, {failures} failed, longest {longest * 1000:.0f} ms"
        )
        print(
            f"guardian peak memory (ru_maxrss, the CLI or its mariadb child): {max(peaks) / 1024:.0f} MiB (aim: under 200 MiB)"
        )
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
