"""Configuration of the NeoCuma server, from the environment (``*_FILE`` for secrets)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters.envconfig import EnvReader

ROLES = ("central", "local")


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    user: str
    password: str
    control_schema: str = "neocuma_control"

    def __repr__(self) -> str:  # never show the password, not even in a traceback
        return f"DatabaseSettings(host={self.host!r}, port={self.port}, user={self.user!r})"


@dataclass(frozen=True)
class SeedSettings:
    on_first_start: bool
    dossiers: int
    years: int
    seed: int
    centres: tuple[str, ...]
    password: str

    def __repr__(self) -> str:
        return (
            f"SeedSettings(on_first_start={self.on_first_start}, dossiers={self.dossiers}, "
            f"years={self.years}, seed={self.seed}, centres={self.centres!r})"
        )


@dataclass(frozen=True)
class ServerSettings:
    role: str
    name: str
    database: DatabaseSettings
    state_dir: Path
    system_dir: Path
    public_dir: Path | None
    centres_file: Path
    ssh_port: int
    http_port: int
    zip_level: int
    max_sessions: int
    transfer_timeout: int
    seed: SeedSettings
    log_level: str
    pre_restore_days: int = 30
    max_import_bytes: int = 512 * 1024 * 1024
    export_max_rate: int = 0


def load_server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """Read the server's settings; raises ConfigError listing every problem."""
    env = EnvReader(environ)
    role = env.choice("NEOCUMA_ROLE", ROLES)
    database = DatabaseSettings(
        host=env.text("NEOCUMA_DB_HOST", "mysql"),
        port=env.integer("NEOCUMA_DB_PORT", 3306, 1, 65535),
        user=env.text("NEOCUMA_DB_USER", "neocuma_server"),
        password=env.secret("NEOCUMA_DB_PASSWORD"),
    )
    state_dir = Path(env.text("NEOCUMA_STATE_DIR", "/var/lib/neocuma"))
    public = env.text("NEOCUMA_PUBLIC_DIR", "")
    seed_on_start = env.boolean("NEOCUMA_SEED_ON_FIRST_START", False)
    seed = SeedSettings(
        on_first_start=seed_on_start,
        dossiers=env.integer("NEOCUMA_SEED_DOSSIERS", 20, 1, 5000),
        years=env.integer("NEOCUMA_SEED_YEARS", 3, 1, 30),
        seed=env.integer("NEOCUMA_SEED", 1, 0, 2**31),
        centres=tuple(
            code.strip() for code in env.text("NEOCUMA_SEED_CENTRES", "FD12,FD24,FD47").split(",") if code.strip()
        ),
        password=env.secret("NEOCUMA_SEED_PASSWORD", required=seed_on_start),
    )
    settings = ServerSettings(
        role=role,
        name=env.text("NEOCUMA_SERVER_NAME", socket.gethostname()),
        database=database,
        state_dir=state_dir,
        system_dir=Path(env.text("NEOCUMA_SYSTEM_DIR", str(state_dir / "system"))),
        public_dir=Path(public) if public else None,
        centres_file=Path(env.text("NEOCUMA_CENTRES_FILE", "/etc/neocuma/centres.toml")),
        ssh_port=env.integer("NEOCUMA_SSH_PORT", 2222, 1, 65535),
        http_port=env.integer("NEOCUMA_HTTP_PORT", 8080, 1, 65535),
        zip_level=env.integer("NEOCUMA_ZIP_LEVEL", 1, 0, 9),
        max_sessions=env.integer("NEOCUMA_MAX_SESSIONS", 32, 1, 1000),
        transfer_timeout=env.integer("NEOCUMA_TRANSFER_TIMEOUT", 120, 5, 3600),
        seed=seed,
        log_level=env.choice("NEOCUMA_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        pre_restore_days=env.integer("NEOCUMA_PRE_RESTORE_DAYS", 30, 1, 3650),
        max_import_bytes=env.integer("NEOCUMA_MAX_IMPORT_MB", 512, 1, 100_000) * 1024 * 1024,
        export_max_rate=env.integer("NEOCUMA_EXPORT_MAX_KBPS", 0, 0, 10_000_000) * 1024,
    )
    if seed_on_start and role != "central":
        env.problems.append("NEOCUMA_SEED_ON_FIRST_START is only for the central role")
    env.check()
    return settings
