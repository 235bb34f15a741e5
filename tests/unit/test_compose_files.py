"""The compose files and the production example stay in step with the declared settings:
every setting a centre may put in .env reaches its container, the example names each of
them, and nothing of the demo is in the production file."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.configuration import every_name
from appliance.configuration.declare import declared
from appliance.configuration.guardian import GuardianConfig
from appliance.configuration.server import ServerConfig

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
    assert "stop_grace_period: 45s" in PRODUCTION and PRODUCTION.count("logging: *logging") == 4


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
