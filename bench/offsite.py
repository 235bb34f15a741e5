"""Benchmark: what 30 days of offsite copies cost in the restic repository (issue 14's
deduplication goal: 30 daily backups of 300 dossiers, 1 % of the dossiers changed each
day, in at most 1.5x the size of one backup).

Starts the whole appliance from our images (central server seeded with FD12 only, default
300 dossiers over 10 exercices), its guardian configured with an offsite repository: a
directory on its backups volume, repository format 2 as the guardian creates it, with the
password in a mounted file (as tests/e2e/test_offsite.py). Then, in one run on the same
data:

- day 0: a full data backup (``backup --data --full``);
- days 1 to ``--days``: ``--share`` of the dossiers (at least one) changed through the
  central NeoCuma Web (one bon de travaux each, other dossiers each day, as
  bench/incremental.py does), then ``backup --data``: incremental, except the periodic
  full backup the guardian makes when its last full one is 7 days old.

Each backup is then pushed by the guardian's own code, the real ``neocuma-guardian
offsite push`` in its container (``OffsiteJob.push``, which the ``backup`` command also runs
after a backup when a repository is configured): the backup verified, its members unpacked
into ``.offsite/tree``, ``restic backup``, ``restic forget --prune`` with the default
retention (30 daily, 12 weekly, 12 monthly), ``restic stats``. The ``backup`` command runs
with ``NEOCUMA_OFFSITE_REPOSITORY`` emptied in its own environment (no repository: no push
of its own), so that the push is made and timed by itself, on the true clock (below).

Beside it, the naive layout for comparison (how docs/offsite.md's first figures were
measured by hand): each day's zip pushed whole into a second repository of the same
format and password (``restic backup --stdin``, same ``--time``, then the same ``forget
--prune``), with the image's restic in the same container.

**How the days are simulated.** A copy's restic time is the date in the backup's name
(``OffsiteJob.push`` parses it into ``made``, which ``ResticRepository.push`` passes as
``--time``), and the name is the guardian's wall clock when the backup starts. So each
day's ``backup`` command runs with Debian's libfaketime preloaded (from the tests' tool
image, as tests/e2e/faults.py does) and its wall clock N days ahead on day N: each backup
is named, and its copy dated, one day after the previous one, and ``restic forget`` sees
one copy per day, as over a real month. Everything else (the guardian's daemon, ``offsite
push``, restic, the central server) keeps the true clock: under libfaketime 0.9.10, with
the monotonic clock left alone, Python 3.11's ``time.sleep`` fails with EINVAL, and the
push's waits for restic sleep. Two effects of the moved clock: the backup suspends the
local retention of ``data/`` (its clock is more than an hour off the central server's, as
on a real appliance whose clock is wrong), so every day's zip stays on the volume; and the
periodic full backup comes every 7 simulated days, as over a real month. The other way, copying each day's
zip out and pushing it from the host with ``ResticRepository`` and ``ResticOffsite`` and a
simulated ``made``, was not needed: the guardian's own command pushes the dated backups.

Printed per day and at the end: one backup's zip size and its members' unpacked size, each
repository's size (``restic stats --mode raw-data`` and ``du -sb`` of its directory), the
ratio of the repository (its directory) to one backup (the day's zip), the new bytes each
push stored and its time; the restic version. Not a test: it asserts nothing, but says
whether the goal is met. MB are 10^6 bytes.

    make images test-images        # the tests' tool image gives libfaketime
    .venv/bin/python bench/offsite.py [--dossiers 300] [--years 10] [--days 30] [--share 0.01]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.domain.backups import parse_backup_name
from appliance.domain.offsite import Retention
from tests.e2e.appliance import Appliance, new_volume, running_appliance
from tests.e2e.incremental import enter_bons
from tests.support import containers

GOAL = 1.5  # the repository after 30 days, at most this many times one backup
BACKUPS = "/var/lib/guardian/backups"
REPOSITORY = f"{BACKUPS}/offsite-bench"  # the guardian's repository (writable by its user)
NAIVE = f"{BACKUPS}/offsite-naive"  # the zips pushed whole
SECRETS = "/run/neocuma-secrets"
PASSWORD_FILE = f"{SECRETS}/offsite-password"
PASSWORD = "phrase du dépôt hors site du banc d'essai"
FAKETIME_DIR = "/opt/faketime"
CLOCK_DIR = "/etc/neocuma/bench-clock"
DAY = 86400
# The backup command's own environment: the faked wall clock, and no repository (no push).
FAKED = {
    "LD_PRELOAD": f"{FAKETIME_DIR}/libfaketime.so.1",
    "FAKETIME_TIMESTAMP_FILE": f"{CLOCK_DIR}/clock",
    "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    "NEOCUMA_OFFSITE_REPOSITORY": "",
}


@dataclass(frozen=True)
class Repo:
    raw: int  # restic stats --mode raw-data
    disk: int  # du -sb of the directory
    snapshots: int


@dataclass(frozen=True)
class Day:
    day: int
    name: str
    mode: str
    changed: int
    zip_bytes: int
    unpacked: int
    backup_s: float  # the backup job's own time
    push_s: float  # the guardian's push job, its own time
    added: int  # new bytes the guardian's push stored
    guardian: Repo
    naive_s: float  # the naive push (restic backup --stdin, forget --prune), wall time
    naive_added: int
    naive: Repo


@contextmanager
def faketime_volume(client: docker.DockerClient) -> Iterator[str]:
    """A volume holding Debian's libfaketime.so.1, copied from the tests' tool image."""
    volume = new_volume(client)
    try:
        client.containers.run(
            containers.TOOLS_IMAGE,
            ["sh", "-c", "cp $(dpkg -L libfaketime | grep '/faketime/libfaketime.so.1$') /out/ && chmod 0644 /out/*"],
            volumes={volume: {"bind": "/out", "mode": "rw"}},
            labels=dict(containers.LABELS),
            remove=True,
        )
        yield volume
    finally:
        client.volumes.get(volume).remove(force=True)


def _sh(appliance: Appliance, command: str) -> str:
    return appliance.run_in_guardian("sh", "-c", command)


def _restic(repository: str, arguments: str) -> str:
    """A stock restic command line on ``repository``, its password from the mounted file."""
    cache = f"/tmp/restic-cache-{Path(repository).name}"
    return (
        f"TZ=UTC RESTIC_REPOSITORY={repository} RESTIC_PASSWORD_FILE={PASSWORD_FILE} RESTIC_CACHE_DIR={cache} "
        f"restic --quiet {arguments}"
    )


def _exec(appliance: Appliance, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in the guardian's container, with ``env`` added to its environment."""
    flags = [f"--env={key}={value}" for key, value in env.items()]
    container = appliance.guardian.get_wrapped_container().id
    return subprocess.run(
        ["docker", "exec", "-i", *flags, container, *command],
        input="",
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )


def _cli(appliance: Appliance, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = _exec(appliance, env, "neocuma-guardian", *args, "--json")
    if result.returncode != 0:
        raise SystemExit(f"neocuma-guardian {' '.join(args)} failed: {result.stderr}")
    return dict(json.loads(result.stdout))


def _set_day(appliance: Appliance, clock: Path, day: int) -> None:
    """Set the faked clock ``day`` days ahead of the true time, and check that a process
    started with it reads so."""
    clock.write_text(f"+{day}d\n")
    inside = float(_exec(appliance, FAKED, "date", "+%s.%N").stdout)
    if abs(inside - time.time() - day * DAY) > 60:
        raise SystemExit(f"the faked clock is not {day} days ahead: {inside - time.time():.0f} s")


def _change(appliance: Appliance, count: int, offset: int) -> list[str]:
    return enter_bons(appliance, count, offset, wrap=True)


def _repo(appliance: Appliance, repository: str) -> Repo:
    stats = json.loads(_sh(appliance, _restic(repository, "--no-cache stats --json --mode raw-data")))
    snapshots = json.loads(_sh(appliance, _restic(repository, "--no-cache snapshots --json")))
    disk = int(_sh(appliance, f"du -sb {repository}").split()[0])
    return Repo(int(stats["total_size"]), disk, len(snapshots))


def _unpacked(appliance: Appliance, name: str) -> int:
    code = "import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))"
    return int(_sh(appliance, f"/opt/neocuma/bin/python -c {shlex.quote(code)} {BACKUPS}/data/{name}"))


def _naive_push(appliance: Appliance, name: str) -> tuple[float, int]:
    """The day's zip pushed whole (``backup --stdin``), dated like the guardian's copy, then
    the same retention; returns the wall time and the new bytes stored."""
    made = parse_backup_name(name)
    if made is None:
        raise SystemExit(f"not a backup's name: {name}")
    when = made.strftime("%Y-%m-%d %H:%M:%S")
    retention = " ".join(Retention().forget_arguments("data")[4:])  # the counts, not the guardian's tags
    started = time.monotonic()
    output = _sh(
        appliance,
        _restic(
            NAIVE,
            f"backup --json --stdin --stdin-filename {name} --host neocuma-guardian --tag naive "
            f"--time {shlex.quote(when)} < {BACKUPS}/data/{name}",
        )
        + " && "
        + _restic(NAIVE, f"forget --prune --tag naive --group-by host {retention} >/dev/null"),
    )
    seconds = time.monotonic() - started
    summary = next(
        (m for line in output.splitlines() if (m := _json_line(line)).get("message_type") == "summary"), None
    )
    if summary is None:
        raise SystemExit(f"restic backup --stdin gave no summary: {output[-300:]}")
    return seconds, int(summary.get("data_added", 0))


def _json_line(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _day(appliance: Appliance, day: int, changed: int, backup: dict[str, Any]) -> Day:
    """Push the day's backup with the guardian's command, then the naive way; measure."""
    name = str(backup["name"])
    pushed = _cli(appliance, {}, "offsite", "push")
    if pushed["pushed"] != [name]:
        raise SystemExit(f"offsite push pushed {pushed['pushed']}, not {name}")
    naive_s, naive_added = _naive_push(appliance, name)
    return Day(
        day=day,
        name=name,
        mode=str(backup["mode"]),
        changed=changed,
        zip_bytes=int(backup["bytes"]),
        unpacked=_unpacked(appliance, name),
        backup_s=float(backup["seconds"]),
        push_s=float(pushed["seconds"]),
        added=int(pushed["transferred"]),
        guardian=_repo(appliance, REPOSITORY),
        naive_s=naive_s,
        naive_added=naive_added,
        naive=_repo(appliance, NAIVE),
    )


HEADER = (
    "| day | backup | mode | dossiers changed | zip MB | unpacked MB | unpacked: push s | new MB | raw-data MB "
    "| du MB | du / zip | snapshots | zip whole: push s | new MB | raw-data MB | du MB | du / zip |"
)


def _row(d: Day) -> str:
    def mb(value: int) -> str:
        return f"{value / 1e6:.2f}"

    return (
        f"| {d.day} | {d.name} | {d.mode} | {d.changed} | {mb(d.zip_bytes)} | {mb(d.unpacked)} "
        f"| {d.push_s:.1f} | {mb(d.added)} | {mb(d.guardian.raw)} | {mb(d.guardian.disk)} "
        f"| {d.guardian.disk / d.zip_bytes:.2f} | {d.guardian.snapshots} "
        f"| {d.naive_s:.1f} | {mb(d.naive_added)} | {mb(d.naive.raw)} | {mb(d.naive.disk)} "
        f"| {d.naive.disk / d.zip_bytes:.2f} |"
    )


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"the share must be above 0 and at most 1: {text!r}")
    return share


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--days", type=int, default=30, help="simulated days after the first full backup")
    parser.add_argument(
        "--share", type=_share, default=0.01, help="share of the dossiers changed each day (default %(default)s)"
    )
    args = parser.parse_args()
    client = containers.docker_client()
    secrets = Path(tempfile.mkdtemp(prefix="neocuma-bench-offsite-"))
    clock_dir = Path(tempfile.mkdtemp(prefix="neocuma-bench-clock-"))
    (secrets / "offsite-password").write_text(PASSWORD + "\n")
    clock = clock_dir / "clock"
    clock.write_text("+0\n")
    for path in (secrets / "offsite-password", clock):
        path.chmod(0o644)
    for directory in (secrets, clock_dir):
        directory.chmod(0o755)
    env = {
        "NEOCUMA_OFFSITE_REPOSITORY": REPOSITORY,
        "NEOCUMA_OFFSITE_PASSWORD_FILE": PASSWORD_FILE,
    }
    days: list[Day] = []
    print(f"starting the appliance, FD12 seeded with --dossiers {args.dossiers} --years {args.years} ...", flush=True)
    try:
        with (
            faketime_volume(client) as faketime,
            running_appliance(
                client,
                dossiers=args.dossiers,
                years=args.years,
                export_kbps=0,
                centres="FD12",
                guardian_env=env,
                guardian_files={str(secrets): SECRETS, faketime: FAKETIME_DIR, str(clock_dir): CLOCK_DIR},
            ) as appliance,
        ):
            version = _sh(appliance, "restic version").strip()
            print(version, flush=True)
            _sh(appliance, _restic(NAIVE, "init --repository-version 2 >/dev/null"))
            _set_day(appliance, clock, 0)
            backup = _cli(appliance, FAKED, "backup", "--data", "--full")["data"]
            days.append(_day(appliance, 0, 0, backup))
            total = int(backup["dossiers"])
            count = max(1, round(total * args.share))
            print(f"{total} dossiers in the backup, {count} changed each day\n{HEADER}\n{_row(days[-1])}", flush=True)
            for day in range(1, args.days + 1):
                _set_day(appliance, clock, day)
                _change(appliance, count, (day - 1) * count)
                backup = _cli(appliance, FAKED, "backup", "--data")["data"]
                days.append(_day(appliance, day, count, backup))
                print(_row(days[-1]), flush=True)
            listed = _cli(appliance, {}, "offsite", "list")["copies"]
            kept = {c["name"] for c in listed if c["kind"] == "data"}
            pushed = [d.name for d in days]
    finally:
        shutil.rmtree(secrets, ignore_errors=True)
        shutil.rmtree(clock_dir, ignore_errors=True)

    last, first = days[-1], days[0]
    ratio = last.guardian.disk / last.zip_bytes
    naive_ratio = last.naive.disk / last.zip_bytes
    incremental = [d for d in days[1:] if d.mode == "incremental"]
    print()
    print(version)
    print(
        f"{args.dossiers} dossiers x {args.years} exercices, {len(days) - 1} simulated days after the full "
        f"backup, {last.changed} dossier(s) changed a day; copies the guardian's repository keeps: "
        f"{len(kept & set(pushed))} of the {len(pushed)} pushed"
        + ("" if kept >= set(pushed) else f" (forgotten: {', '.join(sorted(set(pushed) - kept))})")
    )
    print(
        f"one backup: zip {last.zip_bytes / 1e6:.2f} MB, its members unpacked {last.unpacked / 1e6:.2f} MB (day "
        f"{last.day}); day 0: zip {first.zip_bytes / 1e6:.2f} MB"
    )
    print(
        f"members unpacked (the guardian's layout): repository {last.guardian.disk / 1e6:.2f} MB on disk, "
        f"{last.guardian.raw / 1e6:.2f} MB raw data, {ratio:.2f}x one backup's zip; after day 0 "
        f"{first.guardian.disk / 1e6:.2f} MB ({first.guardian.disk / first.zip_bytes:.2f}x); "
        f"push {first.push_s:.1f} s on day 0"
        + (
            f", {sorted(d.push_s for d in incremental)[len(incremental) // 2]:.1f} s median of the incremental days"
            if incremental
            else ""
        )
    )
    print(
        f"zips pushed whole (--stdin): repository {last.naive.disk / 1e6:.2f} MB on disk, "
        f"{last.naive.raw / 1e6:.2f} MB raw data, {naive_ratio:.2f}x one backup's zip; "
        f"push {sorted(d.naive_s for d in days)[len(days) // 2]:.1f} s median"
    )
    verdict = "MET" if ratio <= GOAL else "NOT MET"
    print(f"goal (repository at most {GOAL}x one backup after the days): {verdict}, {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
