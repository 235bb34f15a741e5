"""docs/configuration.md, generated from the declarations: ``python -m
appliance.configuration.document > docs/configuration.md`` (``make docs``). A unit test
fails when the committed document differs from what this prints."""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.configuration.declare import Declared, declared, sections
from appliance.configuration.guardian import DEFAULT_FILE, FILE_VARIABLE, GuardianConfig
from appliance.configuration.others import OTHER_VARIABLES
from appliance.configuration.server import ServerConfig

INTRO = f"""# Configuration

<!-- Generated from appliance/configuration/ by `make docs`; do not edit by hand. -->

Both programs read every setting the same way, from lowest to highest precedence:

1. the default below;
2. for the guardian only, its TOML file (`{DEFAULT_FILE}`, or the path in `{FILE_VARIABLE}`),
   with the section and key given in the *file key* column (`[remote]` then `port = 2222`);
3. the environment variable `NAME`;
4. `NAME_FILE`: the path of a file holding the value (how secrets arrive; surrounding
   whitespace is removed). It is converted exactly as `NAME` would be: a file holding
   `false` is false. Setting both `NAME` and `NAME_FILE` is an error.

An empty variable counts as unset. Every problem (a word where a number goes, a number out
of its range, an unknown file key, a missing required value) is reported at once, naming
the variable, and the program does not start. A `NEOCUMA_*` variable that no part of the
appliance reads is reported as a warning, with the nearest known name when it looks like a
typo. `neocuma-guardian config show` and `neocuma-server config show` print every value and
where it came from, secrets masked; `config validate` checks without starting anything.

Booleans take `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`.

**On a centre's host**, the settings marked in the *in `.env`* column go in the `.env` file
next to `docker-compose.yml` (copied from `config/production.env.example`); compose passes
each of them on to its container, and `config show` tells they came from the environment.
The others are set by the stack itself (where MySQL is, the secrets it generates, the
volumes' paths).

**Secret files.** A secret goes in `.env` only as `NAME_FILE`, the path of a file inside the
container. The stack mounts the centre's secrets directory, `config/secrets/` of the tree
(or the host directory `NEOCUMA_SECRETS_DIR` names), read-only at
`/run/neocuma-secrets/centre` in the guardian: put the file there, readable by the
appliance's user (uid 10001), and name it by its path inside, for example
`chown 10001 config/secrets/smtp-password && chmod 0400 config/secrets/smtp-password` and
`NEOCUMA_SMTP_PASSWORD_FILE=/run/neocuma-secrets/centre/smtp-password`. `make
offsite-password` creates the offsite repository's password there. Keep an offline copy of
the directory: a new host needs it (docs/recovery.md).

**The centres table.** The centres and their UTC slots come from `config/centres.toml` of the
tree, mounted into the guardian (or the host file `NEOCUMA_CENTRES_PATH` names): a change
takes effect when the guardian restarts (`docker compose restart guardian`), no rebuild.
`login` refuses a centre the table gives no slot, and a guardian logged in to such a centre
does not start (`docker compose logs guardian` says why): it could never schedule a backup.

**A centre's own compose file.** Anything else a centre adds to the stack (another volume,
a limit) goes in a `docker-compose.override.yml` next to `docker-compose.yml`: plain
`docker compose` reads it by itself, and every `make` target passes it last too.
"""


def _default(item: Declared) -> str:
    if item.spec.secret:
        return "(generated)" if item.spec.required else "(none)"
    value = item.default
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value == "":
        return "(empty)"
    return f"`{value}`"


def _range(item: Declared) -> str:
    parts = []
    if item.spec.minimum is not None or item.spec.maximum is not None:
        low = "" if item.spec.minimum is None else f"{item.spec.minimum:g}"
        high = "" if item.spec.maximum is None else f"{item.spec.maximum:g}"
        parts.append(f"{low}–{high}")
    if item.spec.unit:
        parts.append(item.spec.unit)
    if item.spec.choices:
        parts.append(" \\| ".join(f"`{choice}`" for choice in item.spec.choices))
    if item.spec.schemes:
        parts.append(", ".join(f"{scheme}://" for scheme in item.spec.schemes if scheme) + " URL")
    return " ".join(parts)


def _kind(item: Declared) -> str:
    names = {str: "text", int: "integer", float: "number", bool: "boolean", Path: "path"}
    kind = names[item.kind]
    if item.spec.secret:
        kind += ", secret"
    if item.spec.required:
        kind += ", required"
    return kind


def _program(title: str, schema: type, file_keys: bool) -> list[str]:
    lines = [f"## {title}", ""]
    items = declared(schema)
    for name, description, _ in sections(schema):
        lines += [f"### {description}", ""]
        header = "| variable | file key | type | default | range, unit | in `.env` | what it does |"
        rule = "|---|---|---|---|---|---|---|"
        if not file_keys:
            header, rule = header.replace(" file key |", ""), rule[:-4]
        lines += [header, rule]
        for item in (i for i in items if i.section == name):
            key = f" `{item.key}` |" if file_keys else ""
            description_text = item.spec.description.replace("|", "\\|")
            dotenv = ", ".join(f"`{name}`" for name in item.dotenv_names) or "—"
            lines.append(
                f"| `{item.spec.env}` |{key} {_kind(item)} | {_default(item)} | {_range(item)} | {dotenv} |"
                f" {description_text} |"
            )
        lines.append("")
    return lines


def render() -> str:
    """The whole document."""
    lines = [INTRO]
    lines += _program("The guardian (`neocuma-guardian`)", GuardianConfig, file_keys=True)
    lines += _program("The NeoCuma server (`neocuma-server`)", ServerConfig, file_keys=False)
    lines += [
        "## Variables read outside the programs",
        "",
        "Set in `.env` (compose), by the Makefile, or inside the MySQL image; no program reports them.",
        "",
        "| variable | read by | what it does |",
        "|---|---|---|",
    ]
    lines += [f"| `{v.name}` | {v.read_by} | {v.description} |" for v in OTHER_VARIABLES]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
