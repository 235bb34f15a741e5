"""``NEOCUMA_*`` variables that no Python setting declares: read by compose (from ``.env``),
the Makefile, the MySQL image's entry point, or written for people and tests. They are
listed here so that docs/configuration.md names every variable and so that setting one is
not reported as unknown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    read_by: str
    description: str


OTHER_VARIABLES = (
    Variable(
        "NEOCUMA_GUARDIAN_CONFIG",
        "neocuma-guardian",
        "Path of the guardian's TOML file (default /etc/neocuma/guardian.toml).",
    ),
    Variable(
        "NEOCUMA_VERSION", "compose, Makefile", "Tag of the images built and run (default: the project's version)."
    ),
    Variable("NEOCUMA_WEB_PORT", "compose", "Host port of the local NeoCuma Web (default 8080)."),
    Variable("NEOCUMA_CONSOLE_PORT", "compose", "Host port of the guardian's console and /metrics (default 8000)."),
    Variable("NEOCUMA_WEB_BIND", "compose", "Host address NeoCuma Web is published on (default 0.0.0.0, every IPv4)."),
    Variable("NEOCUMA_CONSOLE_BIND", "compose", "Host address the console is published on (default 0.0.0.0)."),
    Variable(
        "NEOCUMA_LAN_PORT",
        "compose, Makefile",
        "Host port of the LAN address, the gateway users bookmark (default 80; the demo's 8081).",
    ),
    Variable("NEOCUMA_LAN_BIND", "compose", "Host address the LAN address is published on (default 0.0.0.0)."),
    Variable(
        "NEOCUMA_CENTRAL_WEB_URL",
        "gateway",
        "The central NeoCuma Web, where the LAN address redirects in standby mode (http:// or https://; the"
        " demo's http://127.0.0.1:8090/). Unset: the LAN address says so in standby mode.",
    ),
    Variable(
        "NEOCUMA_TLS_DIR",
        "compose",
        "Host directory mounted at /etc/neocuma/tls in NeoCuma Web and the guardian (default ./config/tls).",
    ),
    Variable(
        "NEOCUMA_SECRETS_DIR",
        "compose",
        "Host directory of the centre's secret files, mounted read-only at /run/neocuma-secrets/centre in the"
        " guardian (default ./config/secrets).",
    ),
    Variable(
        "NEOCUMA_CENTRES_PATH",
        "compose",
        "Host file of the centres and their slots, mounted at /etc/neocuma/centres.toml in the guardian"
        " (default ./config/centres.toml).",
    ),
    Variable(
        "NEOCUMA_LOCAL_NAME", "compose", "Name the local server shows (NEOCUMA_SERVER_NAME of the neocuma service)."
    ),
    Variable(
        "NEOCUMA_DEMO_SSH_PORT", "compose", "Host port (127.0.0.1) of the demo central server's SSH (default 2222)."
    ),
    Variable(
        "NEOCUMA_DEMO_WEB_PORT", "compose", "Host port (127.0.0.1) of the demo central server's web (default 8090)."
    ),
    Variable("NEOCUMA_DEMO_DOSSIERS", "compose", "Dossiers the demo central server generates for FD12 (default 20)."),
    Variable("NEOCUMA_DEMO_YEARS", "compose", "Exercices per generated dossier in the demo (default 3)."),
    Variable(
        "NEOCUMA_GENERATE_SECRETS", "MySQL entry point", "Secret files created on first start: path:uid[:gid] ..."
    ),
    Variable("NEOCUMA_SERVER_DB_USER", "MySQL init", "The server's MySQL account (default neocuma_server)."),
    Variable("NEOCUMA_SERVER_DB_PASSWORD", "MySQL init", "Its password (or NEOCUMA_SERVER_DB_PASSWORD_FILE)."),
    Variable("NEOCUMA_SERVER_DB_PASSWORD_FILE", "MySQL init", "File holding that password."),
    Variable("NEOCUMA_GUARDIAN_DB_USER", "MySQL init", "The guardian's MySQL account (default neocuma_guardian)."),
    Variable("NEOCUMA_GUARDIAN_DB_PASSWORD", "MySQL init", "Its password; no guardian account when unset."),
    Variable("NEOCUMA_GUARDIAN_DB_PASSWORD_FILE", "MySQL init", "File holding that password."),
    Variable("NEOCUMA_OTHER_USER", "people and tests", "Demo: an account of another profile, refused by the guardian."),
    Variable("NEOCUMA_OTHER_PASSWORD", "people and tests", "Demo: its password."),
)
