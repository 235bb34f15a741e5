"""Benchmark: the server's SSH export against `mariadb-dump --single-transaction | gzip`.

Starts our MariaDB image and a central NeoCuma server on a private network, seeds a centre
(default: --dossiers 300 --years 10, main centre only), then runs each tool --runs times on
the same server and prints the median, min and max side by side, with throughput and the
server's peak memory. Not a test: figures are printed, nothing is asserted.

    .venv/bin/python bench/export.py [--dossiers 300] [--years 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import containers
from tests.support.openssh import OpenSsh, known_hosts_line

ROOT_PASSWORD = "bench-root"
SERVER_PASSWORD = "bench-server"
USER_PASSWORD = "Bench-2026"


def _timed(command: str, output: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    with output.open("wb") as handle:
        subprocess.run(["bash", "-o", "pipefail", "-c", command], stdout=handle, check=True, env=env)
    return time.monotonic() - started


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} {min(values):8.2f} {max(values):8.2f}"


def _vm_hwm_kib(target: object) -> int:
    status = containers.exec_checked(target, ["cat", "/proc/1/status"])  # type: ignore[arg-type]
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zip-level", type=int, default=1)
    args = parser.parse_args()

    client = containers.docker_client()
    network = containers.new_network()
    started: list[object] = []
    try:
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
        server = (
            containers.container(containers.APPLIANCE_IMAGE, network, ("bench-neocuma",))
            .with_exposed_ports(2222, 8080)
            .with_command(["neocuma-server", "serve"])
            .with_envs(
                NEOCUMA_ROLE="central",
                NEOCUMA_DB_HOST="bench-mysql",
                NEOCUMA_DB_PASSWORD=SERVER_PASSWORD,
                NEOCUMA_ZIP_LEVEL=str(args.zip_level),
                NEOCUMA_SEED_PASSWORD=USER_PASSWORD,
            )
            .start()
        )
        started.append(server)
        print(f"seeding --dossiers {args.dossiers} --years {args.years} (main centre FD12 only) ...", flush=True)
        seeded = server.get_wrapped_container().exec_run(
            [
                "neocuma-server",
                "seed",
                "--centres",
                "FD12",
                "--dossiers",
                str(args.dossiers),
                "--years",
                str(args.years),
            ],
            demux=True,
        )
        summary = (seeded.output[0] or b"").decode().strip()
        if seeded.exit_code != 0:
            raise SystemExit(f"seeding failed: {(seeded.output[1] or b'').decode()}")
        print(summary)
        schema = "neocuma_g" + summary.split()[1].rstrip(":")
        containers.wait_healthy(server, 300)
        db_port = int(database.get_exposed_port(3306))
        ssh_port = int(server.get_exposed_port(2222))
        public = containers.exec_checked(server, ["cat", "/var/lib/neocuma/ssh/ssh_host_ed25519_key.pub"])
        work = Path(tempfile.mkdtemp(prefix="neocuma-bench-"))
        (work / "known_hosts").write_text(known_hosts_line("127.0.0.1", ssh_port, public))
        ssh = OpenSsh("127.0.0.1", ssh_port, work / "known_hosts")
        plain = work / "dump.sql"
        _timed(
            f"mariadb-dump --host=127.0.0.1 --port={db_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
            f" --single-transaction --skip-lock-tables {schema}",
            plain,
        )
        sql_mb = plain.stat().st_size / 1e6
        print(f"data: {sql_mb:.0f} MB of SQL (mariadb-dump of the generation, uncompressed)")
        ours: list[float] = []
        dump: list[float] = []
        for run in range(args.runs):
            out = work / "export.zip"
            t0 = time.monotonic()
            result = ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export", timeout=3600)
            ours.append(time.monotonic() - t0)
            assert result.returncode == 0, result.stderr
            out.write_bytes(result.stdout)
            export_mb = out.stat().st_size / 1e6
            dump.append(
                _timed(
                    f"mariadb-dump --host=127.0.0.1 --port={db_port} --protocol=tcp --user=root --password={ROOT_PASSWORD}"
                    f" --single-transaction --skip-lock-tables {schema} | gzip",
                    work / "dump.sql.gz",
                )
            )
            print(f"run {run + 1}: export {ours[-1]:.2f} s, mariadb-dump | gzip {dump[-1]:.2f} s", flush=True)
        gz_mb = (work / "dump.sql.gz").stat().st_size / 1e6
        hwm = _vm_hwm_kib(server)
        print()
        print(f"{'tool':44} {'median s':>8} {'min s':>8} {'max s':>8} {'MB/s':>7} {'output MB':>10}")
        print(
            f"{'neocuma export over SSH (zip, level ' + str(args.zip_level) + ')':44} {_stats(ours)} {sql_mb / statistics.median(ours):7.1f} {export_mb:10.1f}"
        )
        print(
            f"{'mariadb-dump --single-transaction | gzip':44} {_stats(dump)} {sql_mb / statistics.median(dump):7.1f} {gz_mb:10.1f}"
        )
        print(
            f"MB/s = {sql_mb:.0f} MB of SQL dump / median seconds. Server peak memory (VmHWM of the server process): {hwm / 1024:.0f} MiB"
        )
        print(
            "The export holds the dossiers in resp.fd12's rights (all but the Société dossier); "
            "mariadb-dump dumps the whole schema (every dossier, plus the centre's tables)."
        )
    finally:
        for target in reversed(started):
            target.stop()  # type: ignore[attr-defined]
        network.remove()
        del client
    return 0


if __name__ == "__main__":
    sys.exit(main())
