"""A whole guardian over fakes, built by the real wiring: ``FakeWorld`` holds every fake
port so a test arranges the world, runs a job through ``world.parts`` and looks at the
fakes afterwards."""

from __future__ import annotations

import base64
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.configuration import GuardianConfig, load_guardian
from appliance.domain.centres import Centre, parse_centres
from appliance.domain.identity import Credentials
from appliance.guardian.state import GuardianState
from appliance.guardian.wiring import Parts, Ports, build
from tests.fakes.backups import MemoryBackups
from tests.fakes.basics import FakeClock, FakeNotifier, MemoryStateStore
from tests.fakes.database import FakeDatabase
from tests.fakes.offsite import FakeOffsite
from tests.fakes.servers import PASSWORD, FakeCentral, FakeLocalServer
from tests.support.backups import Dossier

ROOT = Path(__file__).resolve().parents[2]
CENTRES = parse_centres(tomllib.loads((ROOT / "config" / "centres.toml").read_text(encoding="utf-8")))
DOSSIERS = [Dossier(100001, "120001", 5), Dossier(100002, "120002", 3), Dossier(100003, "120003", 8)]


def config(**environment: str) -> GuardianConfig:
    return load_guardian(
        Path("/nonexistent/guardian.toml"),
        {"NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_LOCAL_CHECK_TOKEN": "c" * 32, **environment},
    )


@dataclass
class FakeWorld:
    clock: FakeClock = field(default_factory=FakeClock)
    central: FakeCentral = field(default_factory=lambda: FakeCentral({d.code: d for d in DOSSIERS}))
    database: FakeDatabase = field(default_factory=FakeDatabase)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    centres: list[Centre] = field(default_factory=lambda: list(CENTRES))
    seed: dict[str, Any] | None = None
    published_key: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    offsite: FakeOffsite | None = None  # a repository of offsite copies, when one is configured

    def __post_init__(self) -> None:
        self.state_store = MemoryStateStore(self.clock)
        self.backups = MemoryBackups(self.clock)
        self.local = FakeLocalServer(self.database)
        self.central.time_source = lambda: self.clock.now().timestamp()
        self.config = config(**self.environment)
        self.ports = Ports(
            clock=self.clock,
            state_store=self.state_store,
            backups=self.backups,
            database=self.database,
            central=self.central,
            local=self.local,
            notifier=self.notifier,
            centres=lambda: self.centres,
            settings_seed=lambda: None if self.seed is None else (self.seed, "/etc/neocuma/guardian-settings.toml"),
            published_key=lambda: self.published_key,
            offsite=self.offsite,
        )
        self.parts: Parts = build(self.config, self.ports)

    @property
    def state(self) -> GuardianState:
        return self.parts.state

    def log_in(self, login: str = "resp.fd12", centre: str = "FD12") -> None:
        self.state.store_credentials(Credentials(login, PASSWORD, centre, "responsable_departemental"))

    def history(self, job: str) -> dict[str, Any]:
        return dict(self.state.history().get(job, {}))


# A public key line the demo remote publishes, and its OpenSSH fingerprint.
DEMO_KEY_BLOB = b"\x00\x00\x00\x0bssh-ed25519" + bytes(range(32))
DEMO_KEY_LINE = "ssh-ed25519 " + base64.b64encode(DEMO_KEY_BLOB).decode() + " demo@remote"
DEMO_KEY = "SHA256:" + base64.b64encode(hashlib.sha256(DEMO_KEY_BLOB).digest()).decode().rstrip("=")


def demo_world(published: str | None = DEMO_KEY_LINE) -> FakeWorld:
    """The demo profile: automatic login on, the remote's key published, nothing pinned."""
    world = FakeWorld(
        environment={
            "NEOCUMA_DEMO_AUTOLOGIN": "1",
            "NEOCUMA_DEPLOYMENT": "demo",
            "NEOCUMA_USER": "resp.fd12",
            "NEOCUMA_PASSWORD": PASSWORD,
            "NEOCUMA_REMOTE_HOSTKEY_FILE": "/var/lib/guardian/remote-hostkey/key.pub",
        },
        published_key=published,
    )
    world.central.presented, world.central.pinned = DEMO_KEY, None
    return world
