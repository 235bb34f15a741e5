"""The compose files and the production example stay in step with the declared settings:
every setting a centre may put in .env reaches its container, the example names each of
them, and nothing of the demo is in the production file."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from appliance.configuration import every_name
from appliance.configuration.declare import declared
from appliance.configuration.guardian import GuardianConfig
from appliance.configuration.server import ServerConfig
from appliance.server.web.gateway import ModeCache, register_gateway

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
DEMO = (ROOT / "docker-compose.demo.yml").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config" / "production.env.example").read_text(encoding="utf-8")


def environment(text: str, service: str) -> dict[str, str]:
    """The ``environment:`` mapping of ``service`` in a compose file (two-space indents)."""
    block = re.search(rf"^  {service}:\n((?:    .*\n|\n)*)", text, re.MULTILINE)
    assert block, f"no service {service}"
    env = re.search(r"^    environment:\n((?:      .*\n)*)", block.group(1), re.MULTILINE)
    assert env, f"{service} has no environment"
    pairs = (line.strip().split(":", 1) for line in env.group(1).splitlines() if not line.strip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def service(text: str, name: str) -> str:
    """The lines of ``name``'s block in a compose file (two-space indents)."""
    block = re.search(rf"^  {name}:\n((?:    .*\n|\n)*)", text, re.MULTILINE)
    assert block, f"no service {name}"
    return block.group(1)


def _dotenv(schema: type) -> set[str]:
    return {name for item in declared(schema) for name in item.dotenv_names}


def test_every_setting_a_centre_may_set_reaches_its_container_from_dotenv() -> None:
    for service, schema in (("guardian", GuardianConfig), ("neocuma", ServerConfig)):
        env = environment(PRODUCTION, service)
        for name in _dotenv(schema):
            assert re.fullmatch(rf"\$\{{{name}:-[^}}]*\}}", env.get(name, "")), f"{service}: {name} is not passed on"


def test_the_stack_fixes_only_what_is_not_a_centres_setting() -> None:
    for service, schema in (("guardian", GuardianConfig), ("neocuma", ServerConfig)):
        allowed = _dotenv(schema)
        for name, value in environment(PRODUCTION, service).items():
            assert name in every_name(), f"{service}: {name} is read by nothing"
            if "${" not in value:
                assert name not in allowed, f"{service}: {name} is a centre's setting but fixed to {value}"


def test_the_production_example_names_every_setting_and_only_known_ones() -> None:
    lines = [line.lstrip("# ").strip() for line in EXAMPLE.splitlines() if re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line)]
    named = {line.split("=", 1)[0] for line in lines}
    assert _dotenv(GuardianConfig) | _dotenv(ServerConfig) <= named
    compose_own = {"COMPOSE_PROJECT_NAME", "BASE_IMAGE", "DOCKER_BUILDKIT", "COMPOSE_DOCKER_CLI_BUILD"}
    assert named - compose_own <= every_name(), named - compose_own - every_name()
    assert "NEOCUMA_DEPLOYMENT=production" in EXAMPLE and "PASSWORD=" not in EXAMPLE.replace("PASSWORD_FILE=", "")


def test_nothing_of_the_demo_is_in_the_production_file() -> None:
    for demo_only in ("remote-hostkey", "demo.env", "NEOCUMA_DEMO_AUTOLOGIN", "remote-neocuma:", "SEED_ON_FIRST"):
        assert demo_only not in PRODUCTION, demo_only
    assert environment(DEMO, "guardian")["NEOCUMA_DEPLOYMENT"] == "${NEOCUMA_DEPLOYMENT:-demo}"
    assert "stop_grace_period: 45s" in PRODUCTION and PRODUCTION.count("logging: *logging") == 5


def test_only_ca_certificates_of_docker_certs_reach_the_image(tmp_path: Path) -> None:
    """Issue 12, finding 13: a stray file in docker/certs/ would stay in an image layer."""
    from docker.utils.build import exclude_paths

    certs = tmp_path / "docker" / "certs"
    certs.mkdir(parents=True)
    for name in ("proxy-ca.crt", "host-ca-bundle.crt", "README.md", "proxy-ca.key", "notes.txt"):
        (certs / name).write_text("x")
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sent = {path for path in exclude_paths(str(tmp_path), patterns) if path.startswith("docker/certs/")}
    assert sent == {"docker/certs/proxy-ca.crt", "docker/certs/host-ca-bundle.crt"}, sent


# Issue 23, point 6: containers hardened. Every key below is one Compose v1.29 accepts as well
# as v2 (no top-level version, no newer service keys).
HARDENED_SERVICES = (
    (PRODUCTION, ("mysql", "neocuma", "guardian", "docker-proxy", "gateway")),
    (DEMO, ("remote-mysql", "remote-neocuma")),
)
# What each service may add back after dropping every capability, and why (docs/security.md):
# the MySQL entrypoint creates and hands over secrets, checks on its initialisation server and
# mariadbd drops to the mysql user; the proxy's entrypoint drops to haproxy with the socket's
# group; the NeoCuma server and the guardian run as uid 10001 and need none.
CAPABILITIES = {
    "mysql": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"},
    "remote-mysql": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"},
    "docker-proxy": {"SETGID", "SETUID"},
    "gateway": set(),
    "neocuma": set(),
    "guardian": set(),
    "remote-neocuma": set(),
}
# Their PID 1 drops root itself and reaps what it starts (mariadbd starts nothing, HAProxy's
# master reaps its worker); an init there would be the one process left as root.
PID1_REAPS_ITS_OWN = {"mysql", "remote-mysql", "docker-proxy", "gateway"}
COMPOSE_V1_SERVICE_KEYS = {
    "build", "image", "restart", "logging", "init", "cap_drop", "cap_add", "security_opt", "read_only",
    "tmpfs", "user", "group_add", "environment", "env_file", "volumes", "ports", "command", "depends_on",
    "networks", "healthcheck", "stop_grace_period",
}  # fmt: skip


def service_keys(text: str, service: str) -> dict[str, str]:
    """The top-level keys of ``service`` in a compose file and their one-line values ("" for a block)."""
    block = re.search(rf"^  {re.escape(service)}:\n((?:    .*\n|\n)*)", text, re.MULTILINE)
    assert block, f"no service {service}"
    return {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^    ([a-z_]+):(.*)$", block.group(1), re.MULTILINE)
    }


def flow_list(value: str) -> list[str]:
    """The items of a one-line YAML flow sequence: ``[ALL]``, ``["a:b", c]``."""
    assert value.startswith("[") and value.endswith("]"), f"not a one-line list: {value}"
    return [item.strip().strip('"') for item in value[1:-1].split(",") if item.strip()]


def test_no_top_level_version_and_only_keys_compose_v1_knows() -> None:
    for text, services in HARDENED_SERVICES:
        assert not re.search(r"^version:", text, re.MULTILINE)
        for service in services:
            unknown = set(service_keys(text, service)) - COMPOSE_V1_SERVICE_KEYS
            assert not unknown, f"{service}: {unknown}"


def test_every_service_runs_under_an_init_without_capabilities_or_new_privileges() -> None:
    for text, services in HARDENED_SERVICES:
        for service in services:
            keys = service_keys(text, service)
            if service in PID1_REAPS_ITS_OWN:
                assert "init" not in keys, f"{service}: an init would be its one process left as root"
            else:
                assert keys.get("init") == "true", f"{service}: no init to reap restic's ssh, mariadb clients"
            assert flow_list(keys.get("cap_drop", "[]")) == ["ALL"], f"{service}: capabilities not dropped"
            added = set(flow_list(keys["cap_add"])) if "cap_add" in keys else set()
            assert added == CAPABILITIES[service], f"{service}: adds {sorted(added)}"
            assert "no-new-privileges:true" in flow_list(keys.get("security_opt", "[]")), service


def test_every_root_filesystem_is_read_only_with_a_tmpfs_where_it_writes() -> None:
    for text, services in HARDENED_SERVICES:
        for service in services:
            keys = service_keys(text, service)
            assert keys.get("read_only") == "true", f"{service}: root filesystem writable"
            mounts = {item.split(":", 1)[0] for item in flow_list(keys.get("tmpfs", "[]"))}
            assert "/tmp" in mounts, f"{service}: no /tmp"
            if service.endswith("mysql"):
                assert "/run/mysqld" in mounts, f"{service}: no room for mariadbd's socket"


def test_the_docker_proxy_drops_root_before_it_reads_the_socket_or_starts_haproxy() -> None:
    entrypoint = (ROOT / "docker" / "docker-proxy" / "entrypoint.sh").read_text(encoding="utf-8")
    code = [line.strip() for line in entrypoint.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    drop = next(i for i, line in enumerate(code) if line.startswith("exec setpriv --reuid=haproxy"))
    assert "--clear-groups" in code[drop] and "--no-new-privs" in code[drop]
    first_use = min(i for i, line in enumerate(code) if "curl" in line or line.startswith("exec haproxy"))
    assert drop < first_use
    assert "user" not in service_keys(PRODUCTION, "docker-proxy"), "the socket's group is read at start"


BUILT_IMAGES = (
    "Dockerfile",
    "docker/mysql/Dockerfile",
    "docker/docker-proxy/Dockerfile",
    "docker/test-tools/Dockerfile",
    "docker/offsite-targets/sftp.Dockerfile",
    "docker/offsite-targets/rest.Dockerfile",
    "docker/offsite-targets/s3.Dockerfile",
    "docker/gateway/Dockerfile",
)


def test_every_image_we_build_carries_the_oci_labels_and_make_passes_the_version() -> None:
    for path in BUILT_IMAGES:
        text = (ROOT / path).read_text(encoding="utf-8")
        for name in ("title", "description", "version", "revision", "licenses"):
            assert f"org.opencontainers.image.{name}=" in text, f"{path}: no {name} label"
        assert 'org.opencontainers.image.version="${NEOCUMA_VERSION}"' in text, path
        assert "ARG NEOCUMA_VERSION" in text and "ARG NEOCUMA_REVISION" in text, path
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    builds = [line for line in makefile.splitlines() if "docker build" in line]
    assert len(builds) == 6
    for line in builds:
        assert "--build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION)" in line and "NEOCUMA_REVISION=" in line, line


def test_the_gateway_is_published_on_the_lan_port_and_hardened() -> None:
    """Issue 24, point 1: one LAN address, a gateway that needs no privilege at all."""
    gateway = service(PRODUCTION, "gateway")
    assert "image: neocuma/gateway:${NEOCUMA_VERSION:-" in gateway
    assert '- "${NEOCUMA_LAN_BIND:-0.0.0.0}:${NEOCUMA_LAN_PORT:-80}:8081"' in gateway
    for hardening in ("read_only: true", "cap_drop: [ALL]", '["no-new-privileges:true"]', 'tmpfs: ["/tmp:'):
        assert hardening in gateway, hardening
    assert 'test: ["CMD", "gateway-healthcheck"]' in gateway and "logging: *logging" in gateway
    # No Docker socket, and only the LAN network: not the WAN, not the Docker proxy's.
    assert "docker.sock" not in gateway and re.search(r"^    networks: \[local\]$", gateway, re.MULTILINE)
    env = environment(PRODUCTION, "gateway")
    assert set(env) == {"NEOCUMA_CENTRAL_WEB_URL", "NEOCUMA_TLS_CERTIFICATE_PATH", "NEOCUMA_TLS_KEY_PATH"}
    for name, value in env.items():
        assert name in every_name() and value == f"${{{name}:-}}", (name, value)
    assert environment(PRODUCTION, "neocuma")["NEOCUMA_TLS_KEY_PATH"] == env["NEOCUMA_TLS_KEY_PATH"], "one certificate"
    image = (ROOT / "docker" / "gateway" / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER 10001:10001\n" in image and "\nEXPOSE 8081\n" in image and "HEALTHCHECK" in image


def test_the_demo_points_the_gateway_at_its_central_web_on_8081() -> None:
    demo = environment(DEMO, "gateway")
    assert demo["NEOCUMA_CENTRAL_WEB_URL"] == "${NEOCUMA_CENTRAL_WEB_URL:-http://127.0.0.1:8090/}"
    assert '"127.0.0.1:${NEOCUMA_DEMO_WEB_PORT:-8090}:8080"' in service(DEMO, "remote-neocuma")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "export NEOCUMA_LAN_PORT ?= $(or $(call dotenv,NEOCUMA_LAN_PORT),8081)" in makefile
    assert "-t neocuma/gateway:$(NEOCUMA_VERSION) ." in makefile


def test_the_gateway_checks_the_route_neocuma_web_answers() -> None:
    """haproxy.cfg's health check asks the path NeoCuma Web serves, every 2 s: one 200
    sends the LAN to the local server, three failures in a row send it away."""
    config = (ROOT / "docker" / "gateway" / "haproxy.cfg").read_text(encoding="utf-8")
    check = re.search(r"^    option httpchk GET (\S+)$", config, re.MULTILINE)
    assert check, "no health check in haproxy.cfg"
    app = Flask(__name__)
    register_gateway(app, ModeCache(lambda: "fallback"))
    assert app.test_client().get(check.group(1)).status_code == 200
    assert "default-server inter 2s fall 3 rise 1" in config and "server neocuma neocuma:8080 check" in config
    assert 'http-request redirect prefix "${NEOCUMA_GATEWAY_CENTRAL}" code 302 unless local_up' in config


def test_neocuma_web_believes_the_client_address_the_gateway_forwards_and_only_it() -> None:
    config = (ROOT / "docker" / "gateway" / "haproxy.cfg").read_text(encoding="utf-8")
    assert "    option forwardfor\n" in config and "    http-request del-header X-Forwarded-For\n" in config
    assert environment(PRODUCTION, "neocuma")["NEOCUMA_GATEWAY_HOST"] == "gateway"
