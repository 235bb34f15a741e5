"""Every setting of the NeoCuma server (``neocuma-server``), declared once; read from the
environment (``NAME`` or ``NAME_FILE``). docs/configuration.md is generated from this
module (``make docs``)."""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.configuration.declare import Loaded, load, masked_repr, section, setting
from appliance.errors import ConfigError

ROLES = ("central", "local")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_PORT = {"minimum": 1, "maximum": 65535}
MIN_TOKEN_LENGTH = 24


@dataclass(frozen=True)
class IdentitySettings:
    role: str = setting(
        "NEOCUMA_ROLE",
        "",
        "central: the server centres back up; local: the appliance's fallback server (standby or fallback mode).",
        choices=ROLES,
        required=True,
    )
    name: str = setting(
        "NEOCUMA_SERVER_NAME", "", "Name shown in NeoCuma Web and written in manifests; empty: the host name."
    )
    log_level: str = setting(
        "NEOCUMA_LOG_LEVEL", "INFO", "Lowest level of the lines logged.", choices=LOG_LEVELS, dotenv=True
    )
    deployment: str = setting(
        "NEOCUMA_DEPLOYMENT",
        "production",
        "demo or production: the demo's generated data is refused in production.",
        choices=("demo", "production"),
        dotenv=True,
    )

    @property
    def display_name(self) -> str:
        return self.name or socket.gethostname()


@dataclass(frozen=True)
class DatabaseSettings:
    host: str = setting("NEOCUMA_DB_HOST", "mysql", "Host of the server's MySQL (MariaDB).")
    port: int = setting("NEOCUMA_DB_PORT", 3306, "Port of that MySQL.", **_PORT)
    user: str = setting("NEOCUMA_DB_USER", "neocuma_server", "The server's MySQL account.")
    password: str = setting(
        "NEOCUMA_DB_PASSWORD", "", "Password of that account; created inside the stack.", secret=True, required=True
    )

    @property
    def control_schema(self) -> str:
        return "neocuma_control"


@dataclass(frozen=True)
class PathsSettings:
    state_dir: Path = setting(
        "NEOCUMA_STATE_DIR", Path("/var/lib/neocuma"), "The server's state: SSH host key, web secret, imports."
    )
    system_dir_setting: str = setting(
        "NEOCUMA_SYSTEM_DIR",
        "",
        "The system-files volume (one gN directory per generation); empty: the state directory's system/.",
    )
    public_dir_setting: str = setting(
        "NEOCUMA_PUBLIC_DIR", "", "Where the public host key is written for others to pin (the demo); empty: nowhere."
    )
    centres_file: Path = setting(
        "NEOCUMA_CENTRES_FILE", Path("/etc/neocuma/centres.toml"), "The centres and their UTC backup slots."
    )

    @property
    def system_dir(self) -> Path:
        return Path(self.system_dir_setting) if self.system_dir_setting else self.state_dir / "system"

    @property
    def public_dir(self) -> Path | None:
        return Path(self.public_dir_setting) if self.public_dir_setting else None


@dataclass(frozen=True)
class SshSettings:
    port: int = setting("NEOCUMA_SSH_PORT", 2222, "Port of the SSH endpoint for guardians.", **_PORT)
    max_sessions: int = setting("NEOCUMA_MAX_SESSIONS", 32, "SSH connections served at once.", minimum=1, maximum=1000)
    transfer_timeout: int = setting(
        "NEOCUMA_TRANSFER_TIMEOUT",
        120,
        "A transfer that sends or receives nothing for this long is abandoned.",
        unit="s",
        minimum=5,
        maximum=3600,
    )
    zip_level: int = setting(
        "NEOCUMA_ZIP_LEVEL", 1, "Deflate level of exports (0 stores, 9 packs hardest).", minimum=0, maximum=9
    )
    export_max_kbps: int = setting(
        "NEOCUMA_EXPORT_MAX_KBPS",
        0,
        "Cap on each export's rate; 0: no cap.",
        unit="KiB/s",
        minimum=0,
        maximum=10_000_000,
    )
    max_import_mb: int = setting(
        "NEOCUMA_MAX_IMPORT_MB",
        512,
        "Largest dossier upload a restore may send.",
        unit="MiB",
        minimum=1,
        maximum=100_000,
    )
    pre_restore_days: int = setting(
        "NEOCUMA_PRE_RESTORE_DAYS",
        30,
        "Days the pre-restore copy of a dossier is kept.",
        unit="days",
        minimum=1,
        maximum=3650,
    )

    @property
    def max_import_bytes(self) -> int:
        return self.max_import_mb * 1024 * 1024

    @property
    def export_max_rate(self) -> int:
        """Bytes per second; 0: no cap."""
        return self.export_max_kbps * 1024


@dataclass(frozen=True)
class WebSettings:
    port: int = setting("NEOCUMA_HTTP_PORT", 8080, "Port of NeoCuma Web.", **_PORT)
    check_token: str = setting(
        "NEOCUMA_CHECK_TOKEN",
        "",
        "Local role: the guardian's check account, a token for GET /api/v1/check (its application check"
        " without a person's password); created inside the stack. Empty: no check account.",
        secret=True,
    )
    tls_certificate: str = setting(
        "NEOCUMA_TLS_CERTIFICATE_PATH",
        "",
        "PEM certificate (chain after it) NeoCuma Web serves HTTPS with; empty: plain HTTP (docs/security.md).",
        dotenv=True,
    )
    tls_key: str = setting(
        "NEOCUMA_TLS_KEY_PATH", "", "Private key of that certificate (readable by the container's user).", dotenv=True
    )
    gateway_host: str = setting(
        "NEOCUMA_GATEWAY_HOST",
        "",
        "Host name of the LAN gateway (the stack's: gateway) whose X-Forwarded-For NeoCuma Web believes: the"
        " client's address for the login throttle and the logs. Empty: none is believed.",
    )


@dataclass(frozen=True)
class SeedSettings:
    on_first_start: bool = setting(
        "NEOCUMA_SEED_ON_FIRST_START", False, "Central role only: fill generation 1 with generated centres (the demo)."
    )
    dossiers: int = setting(
        "NEOCUMA_SEED_DOSSIERS", 20, "Dossiers generated for the first centre.", minimum=1, maximum=5000
    )
    years: int = setting("NEOCUMA_SEED_YEARS", 3, "Exercices generated per dossier.", minimum=1, maximum=30)
    seed: int = setting(
        "NEOCUMA_SEED", 1, "Seed of the generator (the same seed, the same data).", minimum=0, maximum=2**31
    )
    centres: str = setting("NEOCUMA_SEED_CENTRES", "FD12,FD24,FD47", "Codes of the centres generated, comma-separated.")
    password: str = setting(
        "NEOCUMA_SEED_PASSWORD", "", "Password of every generated account (required to seed).", secret=True
    )

    @property
    def centre_codes(self) -> tuple[str, ...]:
        return tuple(code.strip() for code in self.centres.split(",") if code.strip())


@dataclass(frozen=True)
class ServerConfig:
    """The NeoCuma server's configuration; ``loaded`` says where each value came from."""

    server: IdentitySettings = section(IdentitySettings, "Identity")
    database: DatabaseSettings = section(DatabaseSettings, "MySQL")
    paths: PathsSettings = section(PathsSettings, "Files")
    ssh: SshSettings = section(SshSettings, "SSH endpoint (guardians)")
    web: WebSettings = section(WebSettings, "NeoCuma Web (LAN users)")
    seed: SeedSettings = section(SeedSettings, "Demo data")
    loaded: Loaded = field(default_factory=lambda: Loaded({}, ()), compare=False)

    def __repr__(self) -> str:
        return masked_repr(self)


def load_server_config(environ: Mapping[str, str] | None = None, known_elsewhere: Iterable[str] = ()) -> ServerConfig:
    """Read the server's configuration from the environment; raises ConfigError listing
    every problem, in French."""
    environ = os.environ if environ is None else environ
    config, loaded = load(ServerConfig, environ, known_elsewhere=known_elsewhere)
    problems = []
    if config.seed.on_first_start and config.server.role != "central":
        problems.append("NEOCUMA_SEED_ON_FIRST_START est réservé au rôle central")
    if config.seed.on_first_start and config.server.deployment != "demo":
        problems.append(
            "NEOCUMA_SEED_ON_FIRST_START génère des données de démo et ce déploiement est en production"
            " (NEOCUMA_DEPLOYMENT)"
        )
    if config.seed.on_first_start and not config.seed.password:
        problems.append(
            "NEOCUMA_SEED_PASSWORD (ou NEOCUMA_SEED_PASSWORD_FILE) est obligatoire pour générer les données"
            " au premier démarrage"
        )
    if config.web.check_token and config.server.role != "local":
        problems.append("NEOCUMA_CHECK_TOKEN est réservé au rôle local (le contrôle applicatif du gardien)")
    if config.web.check_token and len(config.web.check_token) < MIN_TOKEN_LENGTH:
        problems.append(f"NEOCUMA_CHECK_TOKEN doit compter au moins {MIN_TOKEN_LENGTH} caractères")
    if bool(config.web.tls_certificate) != bool(config.web.tls_key):
        problems.append("NEOCUMA_TLS_CERTIFICATE_PATH et NEOCUMA_TLS_KEY_PATH vont ensemble (l'une des deux est vide)")
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(config, loaded=loaded)
