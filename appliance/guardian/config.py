"""The guardian's configuration: a TOML file < the environment < ``*_FILE`` secrets.

Every setting is declared once below (file key, environment name, type, default). Unknown
keys in the file are rejected, every problem is reported at once, and ``config show`` tells
where each value came from, with secrets masked.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ConfigError

DEFAULT_FILE = Path("/etc/neocuma/guardian.toml")


@dataclass(frozen=True)
class Setting:
    key: str  # section.name in the file
    env: str
    kind: type
    default: Any
    secret: bool = False
    minimum: int | None = None
    maximum: int | None = None


SETTINGS = (
    Setting("remote.host", "NEOCUMA_REMOTE_HOST", str, "remote-neocuma"),
    Setting("remote.port", "NEOCUMA_REMOTE_PORT", int, 2222, minimum=1, maximum=65535),
    Setting("remote.host_key_file", "NEOCUMA_REMOTE_HOSTKEY_FILE", str, ""),
    Setting("remote.transfer_timeout", "NEOCUMA_TRANSFER_TIMEOUT", int, 60, minimum=5, maximum=3600),
    Setting("local.db_host", "NEOCUMA_DB_HOST", str, "mysql"),
    Setting("local.db_port", "NEOCUMA_DB_PORT", int, 3306, minimum=1, maximum=65535),
    Setting("local.db_user", "NEOCUMA_DB_USER", str, "neocuma_guardian"),
    Setting("local.db_password", "NEOCUMA_DB_PASSWORD", str, "", secret=True),
    Setting("local.server_url", "NEOCUMA_LOCAL_URL", str, "http://neocuma:8080"),
    Setting("local.system_dir", "NEOCUMA_SYSTEM_DIR", str, "/var/lib/neocuma/system"),
    Setting("local.docker_url", "NEOCUMA_DOCKER_URL", str, "tcp://docker-proxy:2375"),
    Setting("local.server_service", "NEOCUMA_LOCAL_SERVICE", str, "neocuma"),
    Setting("local.health_timeout", "NEOCUMA_HEALTH_TIMEOUT", int, 120, minimum=5, maximum=3600),
    Setting("backups.dir", "NEOCUMA_BACKUPS_DIR", str, "/var/lib/guardian/backups"),
    Setting("backups.keep", "NEOCUMA_BACKUPS_KEEP", int, 14, minimum=1, maximum=10000),
    Setting("state.dir", "NEOCUMA_GUARDIAN_STATE_DIR", str, "/var/lib/guardian/state"),
    Setting("schedule.settings_seed", "NEOCUMA_SETTINGS_SEED", str, "/etc/neocuma/guardian-settings.toml"),
    Setting("schedule.centres_file", "NEOCUMA_CENTRES_FILE", str, "/etc/neocuma/centres.toml"),
    Setting("monitor.interval", "NEOCUMA_MONITOR_INTERVAL", int, 60, minimum=5, maximum=3600),
    Setting("monitor.skew_limit", "NEOCUMA_CLOCK_SKEW_LIMIT", int, 120, minimum=1, maximum=86400),
    Setting("monitor.max_backup_age_hours", "NEOCUMA_MAX_BACKUP_AGE_HOURS", int, 26, minimum=1, maximum=24 * 60),
    Setting("console.port", "NEOCUMA_CONSOLE_LISTEN_PORT", int, 8000, minimum=1, maximum=65535),
    Setting("console.secure_cookies", "NEOCUMA_CONSOLE_SECURE_COOKIES", bool, False),
    Setting("notify.smtp_host", "NEOCUMA_SMTP_HOST", str, ""),
    Setting("notify.smtp_port", "NEOCUMA_SMTP_PORT", int, 25, minimum=1, maximum=65535),
    Setting("notify.smtp_starttls", "NEOCUMA_SMTP_STARTTLS", bool, False),
    Setting("notify.smtp_user", "NEOCUMA_SMTP_USER", str, ""),
    Setting("notify.smtp_password", "NEOCUMA_SMTP_PASSWORD", str, "", secret=True),
    Setting("notify.mail_from", "NEOCUMA_MAIL_FROM", str, "neocuma-guardian@localhost"),
    Setting("notify.mail_to", "NEOCUMA_MAIL_TO", str, ""),
    Setting("notify.webhook_url", "NEOCUMA_WEBHOOK_URL", str, ""),
    Setting("demo.user", "NEOCUMA_USER", str, ""),
    Setting("demo.password", "NEOCUMA_PASSWORD", str, "", secret=True),
    Setting("demo.autologin", "NEOCUMA_DEMO_AUTOLOGIN", bool, False),
)


@dataclass(frozen=True)
class GuardianConfig:
    values: dict[str, Any]
    sources: dict[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def state_dir(self) -> Path:
        return Path(self.values["state.dir"])

    @property
    def backups_dir(self) -> Path:
        return Path(self.values["backups.dir"])

    def show(self) -> list[str]:
        """One line per setting: key, value (secrets masked), source."""
        lines = []
        for setting in SETTINGS:
            value = self.values[setting.key]
            shown = ("********" if value else "(unset)") if setting.secret else repr(value)
            lines.append(f"{setting.key:26} = {shown:40} ({self.sources[setting.key]})")
        return lines

    def __repr__(self) -> str:
        return "GuardianConfig(" + ", ".join(self.show()) + ")"


def _convert(setting: Setting, raw: Any, where: str, problems: list[str]) -> Any:
    if setting.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        problems.append(f"{setting.key} ({where}) must be true or false, not {raw!r}")
        return setting.default
    if setting.kind is int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            problems.append(f"{setting.key} ({where}) must be a whole number, not {raw!r}")
            return setting.default
        if (setting.minimum is not None and value < setting.minimum) or (
            setting.maximum is not None and value > setting.maximum
        ):
            problems.append(
                f"{setting.key} ({where}) must be between {setting.minimum} and {setting.maximum}, not {value}"
            )
            return setting.default
        return value
    if not isinstance(raw, str):
        problems.append(f"{setting.key} ({where}) must be a string, not {raw!r}")
        return setting.default
    return raw


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> GuardianConfig:
    """Read the configuration; raises ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("NEOCUMA_GUARDIAN_CONFIG", str(DEFAULT_FILE)))
    problems: list[str] = []
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError([f"{path}: {error}"]) from error
    known = {setting.key for setting in SETTINGS}
    for section, body in document.items():
        if not isinstance(body, dict):
            problems.append(f"{path}: [{section}] must be a table")
            continue
        for name in body:
            if f"{section}.{name}" not in known:
                problems.append(f"{path}: unknown setting {section}.{name}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        section, name = setting.key.split(".")
        value, source = setting.default, "default"
        if name in document.get(section, {}):
            value, source = _convert(setting, document[section][name], str(path), problems), f"file {path}"
        file_var = f"{setting.env}_FILE"
        if environ.get(setting.env) and environ.get(file_var):
            problems.append(f"both {setting.env} and {file_var} are set; set only one")
        elif environ.get(file_var):
            try:
                value = Path(environ[file_var]).read_text(encoding="utf-8").strip()
                source = f"file {environ[file_var]} ({file_var})"
            except OSError as error:
                problems.append(f"{file_var}: cannot read {environ[file_var]}: {error.strerror}")
        elif environ.get(setting.env) not in (None, ""):
            value, source = _convert(setting, environ[setting.env], setting.env, problems), f"environment {setting.env}"
        values[setting.key] = value
        sources[setting.key] = source
    if not values["local.db_password"]:
        problems.append("local.db_password is required (NEOCUMA_DB_PASSWORD_FILE)")
    if problems:
        raise ConfigError(problems)
    return GuardianConfig(values, sources)
