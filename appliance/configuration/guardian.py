"""Every setting of the guardian (``neocuma-guardian``), declared once. The TOML file
(``/etc/neocuma/guardian.toml`` or ``NEOCUMA_GUARDIAN_CONFIG``) uses the section and key
names below; the environment uses the ``NEOCUMA_*`` names; ``NAME_FILE`` holds a value in a
file. docs/configuration.md is generated from this module (``make docs``)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.configuration.declare import Loaded, load, masked_repr, section, setting
from appliance.configuration.fallback import FallbackSettings
from appliance.configuration.offsite import OffsiteSettings
from appliance.domain.offsite import repository_kind
from appliance.domain.offsite_sftp import KEY_SETTING, KNOWN_HOSTS_SETTING, SftpPinning, check_pinning, parse_sftp
from appliance.errors import BadRequest, ConfigError

DEFAULT_FILE = Path("/etc/neocuma/guardian.toml")
FILE_VARIABLE = "NEOCUMA_GUARDIAN_CONFIG"
_PORT = {"minimum": 1, "maximum": 65535}


@dataclass(frozen=True)
class RemoteSettings:
    host: str = setting(
        "NEOCUMA_REMOTE_HOST", "remote-neocuma", "Host name or address of the central NeoCuma server.", dotenv=True
    )
    port: int = setting("NEOCUMA_REMOTE_PORT", 2222, "SSH port of the central NeoCuma server.", **_PORT, dotenv=True)
    host_key_file: str = setting(
        "NEOCUMA_REMOTE_HOSTKEY_FILE",
        "",
        "Demo only: the public host key the demo central server publishes, pinned by the demo's automatic login.",
    )
    transfer_timeout: int = setting(
        "NEOCUMA_TRANSFER_TIMEOUT",
        60,
        "A transfer that receives nothing for this long fails (it never hangs); also the connection timeout.",
        unit="s",
        minimum=5,
        maximum=3600,
        dotenv=True,
    )


@dataclass(frozen=True)
class LocalSettings:
    db_host: str = setting("NEOCUMA_DB_HOST", "mysql", "Host of the local MySQL (MariaDB).")
    db_port: int = setting("NEOCUMA_DB_PORT", 3306, "Port of the local MySQL.", **_PORT)
    db_user: str = setting(
        "NEOCUMA_DB_USER", "neocuma_guardian", "The guardian's restricted MySQL account (neocuma\\_g% schemas only)."
    )
    db_password: str = setting(
        "NEOCUMA_DB_PASSWORD",
        "",
        "Password of that account; created inside the stack on first start.",
        secret=True,
        required=True,
    )
    server_url: str = setting(
        "NEOCUMA_LOCAL_URL", "http://neocuma:8080", "NeoCuma Web of the local server.", schemes=("http", "https")
    )
    check_token: str = setting(
        "NEOCUMA_LOCAL_CHECK_TOKEN",
        "",
        "The local server's check account (its NEOCUMA_CHECK_TOKEN): the application check reads the live"
        " generation with it, never with the central password; created inside the stack.",
        secret=True,
        required=True,
    )
    tls_certificate: str = setting(
        "NEOCUMA_LOCAL_TLS_CERTIFICATE_PATH",
        "",
        "The certificate NeoCuma Web serves HTTPS with, when it does: the guardian then reaches it over"
        " HTTPS and trusts exactly that certificate; empty: HTTP inside the stack.",
    )
    system_dir: Path = setting(
        "NEOCUMA_SYSTEM_DIR",
        Path("/var/lib/neocuma/system"),
        "The local server's system-files volume (one gN directory per generation).",
    )
    docker_url: str = setting(
        "NEOCUMA_DOCKER_URL",
        "tcp://docker-proxy:2375",
        "The Docker proxy, the guardian's only way to the Docker engine.",
        schemes=("tcp", "http", "unix"),
    )
    server_service: str = setting(
        "NEOCUMA_LOCAL_SERVICE", "neocuma", "Compose service name of the local server's container."
    )
    health_timeout: int = setting(
        "NEOCUMA_HEALTH_TIMEOUT",
        120,
        "How long a synchronisation waits for the local server to serve the new generation before rolling back.",
        unit="s",
        minimum=5,
        maximum=3600,
        dotenv=True,
    )
    sync_full_every_days: int = setting(
        "NEOCUMA_SYNC_FULL_EVERY_DAYS",
        7,
        "A synchronisation loads a new generation in full when the standby generation was last built in full"
        " this long ago; the others replace only the dossiers that changed. 0: every synchronisation is full.",
        unit="days",
        minimum=0,
        maximum=365,
        dotenv=True,
    )


@dataclass(frozen=True)
class BackupsSettings:
    dir: Path = setting(
        "NEOCUMA_BACKUPS_DIR", Path("/var/lib/guardian/backups"), "The backups volume: data/, system.zip, local/."
    )
    keep_days: int = setting(
        "NEOCUMA_BACKUPS_KEEP_DAYS",
        14,
        "Data backups of data/ older than this are deleted, beyond the NEOCUMA_BACKUPS_KEEP newest.",
        unit="days",
        minimum=1,
        maximum=3650,
        dotenv=True,
    )
    keep: int = setting(
        "NEOCUMA_BACKUPS_KEEP",
        3,
        "The fewest data backups kept in data/, whatever their age; the newest is never deleted.",
        minimum=1,
        maximum=10000,
        dotenv=True,
    )
    full_every_days: int = setting(
        "NEOCUMA_BACKUPS_FULL_EVERY_DAYS",
        7,
        "A data backup is full (every dossier exported) when the last full one is this old;"
        " the others ask for the dossiers that changed only. 0: every backup is full.",
        unit="days",
        minimum=0,
        maximum=365,
        dotenv=True,
    )
    local_keep_days: int = setting(
        "NEOCUMA_LOCAL_COPIES_KEEP_DAYS",
        30,
        "Local copies of local/ older than this are deleted, but the newest copy of each dossier.",
        unit="days",
        minimum=1,
        maximum=3650,
        dotenv=True,
    )


@dataclass(frozen=True)
class StateSettings:
    dir: Path = setting(
        "NEOCUMA_GUARDIAN_STATE_DIR",
        Path("/var/lib/guardian/state"),
        "The state volume: pinned host key, stored login, baselines, lock, history, logs.",
    )


@dataclass(frozen=True)
class ScheduleSettings:
    settings_seed: Path = setting(
        "NEOCUMA_SETTINGS_SEED",
        Path("/etc/neocuma/guardian-settings.toml"),
        "Paramétrages on first start (automatic backups, hours, sync after); later kept in the state volume.",
    )
    centres_file: Path = setting(
        "NEOCUMA_CENTRES_FILE", Path("/etc/neocuma/centres.toml"), "The centres and their UTC backup slots."
    )


@dataclass(frozen=True)
class MonitorSettings:
    interval: int = setting(
        "NEOCUMA_MONITOR_INTERVAL",
        60,
        "Seconds between two rounds of the indicators (a CLI command asks for one at once).",
        unit="s",
        minimum=5,
        maximum=3600,
        dotenv=True,
    )
    skew_limit: int = setting(
        "NEOCUMA_CLOCK_SKEW_LIMIT",
        120,
        "The remote indicator turns red when the clocks differ by more than this.",
        unit="s",
        minimum=1,
        maximum=86400,
        dotenv=True,
    )
    max_backup_age_hours: float = setting(
        "NEOCUMA_MAX_BACKUP_AGE_HOURS",
        26.0,
        "The backups indicator turns red, and check critical, when the newest backup is older (0.5: 30 min).",
        unit="h",
        minimum=0.01,
        maximum=24 * 60,
        dotenv=True,
    )


@dataclass(frozen=True)
class ConsoleSettings:
    port: int = setting(
        "NEOCUMA_CONSOLE_LISTEN_PORT", 8000, "Port the console listens on inside its container.", **_PORT
    )
    secure_cookies: bool = setting(
        "NEOCUMA_CONSOLE_SECURE_COOKIES",
        False,
        "Mark the console's session cookie Secure (behind a TLS proxy).",
        dotenv=True,
    )
    url: str = setting(
        "NEOCUMA_CONSOLE_URL",
        "",
        "The console's address as the LAN reaches it, linked from the alert emails; empty: http://localhost:8000/.",
        schemes=("", "http", "https"),
        dotenv=True,
    )

    tls_certificate: str = setting(
        "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH",
        "",
        "PEM certificate (chain after it) the console serves HTTPS with; empty: plain HTTP (docs/security.md).",
        dotenv=True,
    )
    tls_key: str = setting(
        "NEOCUMA_CONSOLE_TLS_KEY_PATH",
        "",
        "Private key of that certificate (readable by the container's user).",
        dotenv=True,
    )

    def public_url(self) -> str:
        return self.url or ("https" if self.tls_certificate else "http") + "://localhost:8000/"


@dataclass(frozen=True)
class NotifySettings:
    smtp_host: str = setting("NEOCUMA_SMTP_HOST", "", "SMTP server for the alert emails; empty: no email.", dotenv=True)
    smtp_port: int = setting("NEOCUMA_SMTP_PORT", 25, "Port of the SMTP server.", **_PORT, dotenv=True)
    smtp_starttls: bool = setting("NEOCUMA_SMTP_STARTTLS", False, "Use STARTTLS with the SMTP server.", dotenv=True)
    smtp_user: str = setting("NEOCUMA_SMTP_USER", "", "SMTP login, if the server wants one.", dotenv=True)
    smtp_password: str = setting(
        "NEOCUMA_SMTP_PASSWORD", "", "SMTP password (put it in a file).", secret=True, dotenv=True
    )
    mail_from: str = setting(
        "NEOCUMA_MAIL_FROM", "neocuma-guardian@localhost", "Sender of the alert emails.", dotenv=True
    )
    mail_to: str = setting("NEOCUMA_MAIL_TO", "", "Recipients of the alert emails (comma-separated).", dotenv=True)
    webhook_url: str = setting(
        "NEOCUMA_WEBHOOK_URL",
        "",
        "A URL receiving each change of indicator as a JSON POST; empty: none (masked: it may hold a token).",
        schemes=("", "http", "https"),
        secret=True,
        dotenv=True,
    )


@dataclass(frozen=True)
class DemoSettings:
    user: str = setting("NEOCUMA_USER", "", "Demo only: the account the demo's automatic login uses.")
    password: str = setting("NEOCUMA_PASSWORD", "", "Demo only: its password.", secret=True)
    autologin: bool = setting(
        "NEOCUMA_DEMO_AUTOLOGIN", False, "Demo only: pin the demo remote's published key and log in at start."
    )


@dataclass(frozen=True)
class ApplianceSettings:
    deployment: str = setting(
        "NEOCUMA_DEPLOYMENT",
        "production",
        "demo (make up without a .env) or production (a centre's host): demo-only settings are refused in production.",
        choices=("demo", "production"),
        dotenv=True,
    )


@dataclass(frozen=True)
class GuardianConfig:
    """The guardian's configuration; ``loaded`` says where each value came from."""

    appliance: ApplianceSettings = section(ApplianceSettings, "Deployment")
    remote: RemoteSettings = section(RemoteSettings, "The central NeoCuma server")
    local: LocalSettings = section(LocalSettings, "The local MySQL and the local NeoCuma server")
    backups: BackupsSettings = section(BackupsSettings, "Backups")
    offsite: OffsiteSettings = section(OffsiteSettings, "Offsite copies (restic)")
    state: StateSettings = section(StateSettings, "State")
    schedule: ScheduleSettings = section(ScheduleSettings, "Scheduled backups")
    monitor: MonitorSettings = section(MonitorSettings, "Indicators and health")
    fallback: FallbackSettings = section(FallbackSettings, "Detection and the switch to fallback mode")
    console: ConsoleSettings = section(ConsoleSettings, "Web console")
    notify: NotifySettings = section(NotifySettings, "Alerts (email and webhook)")
    demo: DemoSettings = section(DemoSettings, "Demo")
    loaded: Loaded = field(default_factory=lambda: Loaded({}, ()), compare=False)

    def __repr__(self) -> str:
        return masked_repr(self)


def read_document(path: Path) -> dict[str, object]:
    """The TOML file at ``path`` ({} when absent); raises ConfigError naming it."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([f"fichier {path} : lecture impossible : {error.strerror or error}"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError([f"fichier {path} : ce n'est pas du texte UTF-8"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"fichier {path} : TOML invalide : {error}"]) from error


def _check_sftp(offsite: OffsiteSettings) -> None:
    """An sftp: repository is reached with its own key and its host key pinned, never with
    ssh's defaults (docs/offsite.md, "Targets"); raises ConfigError naming the setting, in French."""
    missing = [
        name
        for name, value in ((KNOWN_HOSTS_SETTING, offsite.sftp_known_hosts_file), (KEY_SETTING, offsite.sftp_key_file))
        if not value
    ]
    if missing:
        raise ConfigError(
            [
                f"NEOCUMA_OFFSITE_REPOSITORY est un dépôt sftp: : définissez {' et '.join(missing)} (la clé d'hôte"
                " du serveur est épinglée d'après ce fichier known_hosts, la connexion se fait avec cette clé privée ;"
                " docs/offsite.md, Targets)"
            ]
        )
    try:
        parse_sftp(offsite.repository)
        check_pinning(SftpPinning(offsite.sftp_key_file, offsite.sftp_known_hosts_file))
    except BadRequest as error:
        raise ConfigError([f"NEOCUMA_OFFSITE_REPOSITORY (sftp:) : {error}"]) from error


def load_guardian_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None, known_elsewhere: Iterable[str] = ()
) -> GuardianConfig:
    """Read the guardian's configuration: file < environment < ``*_FILE``; raises
    ConfigError listing every problem, in French."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get(FILE_VARIABLE) or DEFAULT_FILE)
    config, loaded = load(GuardianConfig, environ, read_document(path), str(path), known_elsewhere)
    if config.demo.autologin and config.appliance.deployment != "demo":
        raise ConfigError(
            [
                "NEOCUMA_DEMO_AUTOLOGIN est réservé à la démo et ce déploiement est en production"
                " (NEOCUMA_DEPLOYMENT) : sur l'hôte d'un centre, identifiez-vous avec `neocuma-guardian login` ;"
                " pour lancer la démo, retirez NEOCUMA_DEPLOYMENT=production de .env"
            ]
        )
    offsite = config.offsite
    if offsite.repository and not offsite.password:
        raise ConfigError(
            [
                "NEOCUMA_OFFSITE_REPOSITORY est défini mais pas son mot de passe :"
                " définissez NEOCUMA_OFFSITE_PASSWORD_FILE"
            ]
        )
    if offsite.repository:
        try:
            repository_kind(offsite.repository)
        except BadRequest as error:
            raise ConfigError([f"NEOCUMA_OFFSITE_REPOSITORY : {error}"]) from error
    if offsite.repository.startswith("sftp:"):
        _check_sftp(offsite)
    if bool(config.console.tls_certificate) != bool(config.console.tls_key):
        raise ConfigError(
            [
                "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH et NEOCUMA_CONSOLE_TLS_KEY_PATH vont ensemble"
                " (l'une des deux est vide)"
            ]
        )
    return dataclasses.replace(config, loaded=loaded)
