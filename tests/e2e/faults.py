"""Helpers for issue 12's extra faults on the guardian's stack (tests/e2e/test_guardian.py,
tests 11 to 13): the local MySQL's generation schemas, a guardian replaced for a while by
another one on the same volumes (its backups volume mounted read-only, its centres file
giving FD12 a slot open now, or its wall clock moved by libfaketime), and the backups
volume's files with their digests."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testcontainers.core.container import DockerContainer

from appliance.domain.centres import parse_centres
from appliance.domain.schedule import Window, planned_start
from tests.e2e.appliance import ROOT, Appliance, _guardian, new_volume
from tests.support import containers, oracle

CENTRES = ROOT / "config" / "centres.toml"


def schemas(appliance: Appliance) -> list[int]:
    """The numbers of the local MySQL's ``neocuma_g<N>`` schemas."""
    local = appliance.local_root()
    rows = oracle.query(
        local, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'neocuma\\_g%%'"
    )
    local.close()
    return sorted(int(name.removeprefix("neocuma_g")) for (name,) in rows)


def loaded_tables(appliance: Appliance, above: int) -> int:
    """How many tables of a schema numbered above ``above`` hold rows (0 if none exists)."""
    local = appliance.local_root()
    rows = oracle.query(
        local,
        "SELECT table_schema, COUNT(*) FROM information_schema.tables WHERE table_schema LIKE 'neocuma\\_g%%'"
        " AND table_rows > 0 GROUP BY table_schema",
    )
    local.close()
    return max((count for name, count in rows if int(name.removeprefix("neocuma_g")) > above), default=0)


def backup_digests(guardian: DockerContainer) -> dict[str, str]:
    """Every file of the backups volume (data/, system.zip, local/), name -> sha256, read
    in ``guardian`` (the appliance's own, or the one standing in for it)."""
    listing = containers.exec_checked(
        guardian,
        ["sh", "-c", "cd /var/lib/guardian/backups && find . -type f ! -path './.work/*' -exec sha256sum {} +"],
    )
    return {line.split()[1]: line.split()[0] for line in listing.splitlines() if line.strip()}


def open_slot(now: dt.datetime) -> tuple[str, int, int] | None:
    """FD12's slot (parity, start and end minutes) in ``now``'s hour such that its planned
    run has come and the window stays open three minutes more; None near the hour's turn."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    for start in range(max(0, now.minute - 15), now.minute + 1):
        for end in range(now.minute + 4, min(60, now.minute + 20) + 1):
            window = Window(hour + dt.timedelta(minutes=start), hour + dt.timedelta(minutes=end))
            if planned_start(window, "FD12") <= now:
                return ("even" if now.hour % 2 == 0 else "odd"), start, end
    return None


def centres_with_fd12_slot(directory: Path, parity: str, start: int, end: int) -> Path:
    """A copy of the shipped centres table where FD12's slot is the one given."""
    lines = CENTRES.read_text().splitlines()
    at = lines.index('code = "FD12"')
    for i in range(at, at + 6):
        key = lines[i].split("=")[0].strip()
        value = {"parity": f'"{parity}"', "start": str(start), "end": str(end)}.get(key)
        if value is not None:
            lines[i] = f"{key} = {value}"
    path = directory / "centres.toml"
    path.write_text("\n".join(lines) + "\n")
    fd12 = next(c for c in parse_centres(tomllib.loads(path.read_text())) if c.code == "FD12")
    assert (fd12.slot.parity, fd12.slot.start, fd12.slot.end) == (parity, start, end)
    path.chmod(0o644)
    directory.chmod(0o755)
    return path


class Replacement:
    """A guardian standing in for the appliance's own, on the same volumes and networks."""

    def __init__(self, target: DockerContainer) -> None:
        self.target = target

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", "-i", self.target.get_wrapped_container().id, "neocuma-guardian", *args],
            input="",
            capture_output=True,
            text=True,
            timeout=300,
        )


@contextmanager
def replaced_guardian(
    appliance: Appliance, env: dict[str, str], backups_mode: str = "rw", files: dict[str, str] | None = None
) -> Iterator[Replacement]:
    """Stop the appliance's guardian, start another on its volumes (``backups_mode`` for the
    backups volume, ``files`` bound read-only), and once done put the original back."""
    original = appliance.guardian.get_wrapped_container()
    original.stop(timeout=10)
    stand_in = _guardian(appliance.volumes, appliance.lan).with_envs(**env)
    stand_in = stand_in.with_volume_mapping(appliance.volumes["backups"], "/var/lib/guardian/backups", backups_mode)
    for host, inside in (files or {}).items():
        stand_in = stand_in.with_volume_mapping(host, inside, "ro")
    started: DockerContainer | None = None
    try:
        started = stand_in.start()
        appliance.client.networks.get(appliance.wan.name).connect(started.get_wrapped_container().id)
        containers.wait_healthy(started, 120)
        yield Replacement(started)
    finally:
        if started is not None:
            started.stop()
        original.start()
        containers.wait_healthy(appliance.guardian, 120)


@contextmanager
def scratch_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="neocuma-faults-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


FAKETIME_DIR = "/opt/faketime"
CLOCK_DIR = "/etc/neocuma/test-clock"


@contextmanager
def faked_clock(appliance: Appliance, directory: Path) -> Iterator[tuple[dict[str, str], dict[str, str], Path]]:
    """What a guardian needs to run on a wall clock the test moves: libfaketime (Debian's,
    from the tests' tool image, copied into a volume) preloaded into every process, reading
    its offset ("+30d", "+0") from a file the test writes, read again every second. The
    monotonic clock is left alone, as a real jump of the wall clock leaves it."""
    volume = new_volume(appliance.client)
    try:
        appliance.client.containers.run(
            containers.TOOLS_IMAGE,
            ["sh", "-c", "cp $(dpkg -L libfaketime | grep '/faketime/libfaketime.so.1$') /out/ && chmod 0644 /out/*"],
            volumes={volume: {"bind": "/out", "mode": "rw"}},
            labels=dict(containers.LABELS),
            remove=True,
        )
        clock = directory / "clock"
        clock.write_text("+0\n")
        clock.chmod(0o644)
        directory.chmod(0o755)
        env = {
            "LD_PRELOAD": f"{FAKETIME_DIR}/libfaketime.so.1",
            "FAKETIME_TIMESTAMP_FILE": f"{CLOCK_DIR}/clock",
            "FAKETIME_CACHE_DURATION": "1",  # re-read every second: every call would cost 70 µs
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
        yield env, {volume: FAKETIME_DIR, str(directory): CLOCK_DIR}, clock
    finally:
        appliance.client.volumes.get(volume).remove(force=True)


def seconds_ahead(replacement: Replacement) -> float:
    """How far the replacement's wall clock is ahead of the host's."""
    inside = containers.exec_checked(replacement.target, ["date", "+%s.%N"])
    return float(inside) - time.time()
