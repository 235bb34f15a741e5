"""The typed configuration of both programs: precedence, conversion (the same for a value
and for its ``_FILE``), every problem reported at once, secrets never shown, unknown
variables reported, and docs/configuration.md generated from the declarations."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.configuration import every_name, load_guardian, load_server
from appliance.configuration.declare import declared, show
from appliance.configuration.document import render
from appliance.configuration.guardian import GuardianConfig
from appliance.configuration.server import ServerConfig
from appliance.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GUARDIAN_BASE = {"NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_LOCAL_CHECK_TOKEN": "c" * 32}


def test_file_then_environment_then_secret_files(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text('[remote]\nhost = "central.example.fr"\nport = 2200\n[backups]\nkeep = 5\n')
    secret = tmp_path / "db"
    secret.write_text("s3cret\n")
    config = load_guardian(
        config_file,
        {
            **GUARDIAN_BASE,
            "NEOCUMA_REMOTE_PORT": "2222",
            "NEOCUMA_DB_PASSWORD": "",
            "NEOCUMA_DB_PASSWORD_FILE": str(secret),
        },
    )
    sources = config.loaded.sources
    assert config.remote.host == "central.example.fr" and sources["remote.host"].startswith("file")
    assert config.remote.port == 2222 and sources["remote.port"] == "environment NEOCUMA_REMOTE_PORT"
    assert config.backups.keep == 5 and config.local.db_password == "s3cret"
    shown = "\n".join(show(config, config.loaded))
    assert "s3cret" not in shown and "********" in shown and "s3cret" not in repr(config)
    assert "s3cret" not in repr(config.local)


@pytest.mark.parametrize(("text", "expected"), [("false\n", False), ("0", False), ("on", True), (" yes \n", True)])
def test_a_file_variant_is_converted_like_the_variable(tmp_path: Path, text: str, expected: bool) -> None:
    holder = tmp_path / "secure"
    holder.write_text(text)
    config = load_guardian(
        tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_CONSOLE_SECURE_COOKIES_FILE": str(holder)}
    )
    assert config.console.secure_cookies is expected


def test_a_number_from_a_file_is_checked_like_the_variable(tmp_path: Path) -> None:
    holder = tmp_path / "keep"
    holder.write_text("0\n")
    with pytest.raises(ConfigError, match=r"NEOCUMA_BACKUPS_KEEP .*entre 1 et 10000"):
        load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_BACKUPS_KEEP_FILE": str(holder)})


def test_every_problem_of_the_guardian_is_reported_together(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text('[remote]\nport = "ssh"\ncolour = "red"\n[backups]\nkeep = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_guardian(
            config_file,
            {"NEOCUMA_TRANSFER_TIMEOUT": "1", "NEOCUMA_DEMO_AUTOLOGIN": "maybe", "NEOCUMA_WEBHOOK_URL": "file:///etc"},
        )
    text = str(caught.value)
    for words in ("NEOCUMA_REMOTE_PORT", "remote.colour", "NEOCUMA_BACKUPS_KEEP", "NEOCUMA_TRANSFER_TIMEOUT"):
        assert words in text
    for words in ("NEOCUMA_DEMO_AUTOLOGIN", "NEOCUMA_DB_PASSWORD", "NEOCUMA_LOCAL_CHECK_TOKEN", "NEOCUMA_WEBHOOK_URL"):
        assert words in text
    assert len(caught.value.problems) == 8


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text("[remote\n")
    with pytest.raises(ConfigError, match=r"guardian\.toml"):
        load_guardian(config_file, GUARDIAN_BASE)


def test_an_unknown_variable_is_a_warning_with_the_nearest_name(tmp_path: Path) -> None:
    config = load_guardian(
        tmp_path / "none.toml",
        {**GUARDIAN_BASE, "NEOCUMA_SMTP_HOTS": "mail", "NEOCUMA_SEED_PASSWORD": "p", "NEOCUMA_OTHER_USER": "u"},
    )
    assert config.loaded.warnings == (
        "variable inconnue NEOCUMA_SMTP_HOTS : aucun réglage ne la lit (vouliez-vous dire NEOCUMA_SMTP_HOST ?)",
    ), "a name another part of the appliance reads is not reported"


def test_every_problem_of_the_server_is_listed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_server(
            {
                "NEOCUMA_ROLE": "primary",
                "NEOCUMA_DB_PORT": "http",
                "NEOCUMA_SSH_PORT": "70000",
                "NEOCUMA_DB_PASSWORD_FILE": str(tmp_path / "missing"),
                "NEOCUMA_SEED_ON_FIRST_START": "maybe",
            }
        )
    text = str(caught.value)
    for words in ("NEOCUMA_ROLE", "NEOCUMA_DB_PORT", "NEOCUMA_SSH_PORT", "missing", "NEOCUMA_SEED_ON_FIRST_START"):
        assert words in text
    assert len(caught.value.problems) == 5, "one problem per bad variable, none repeated"


def test_the_server_password_from_a_file_is_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t\n")
    settings = load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD_FILE": str(secret)})
    assert settings.database.password == "s3cr3t"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in "\n".join(show(settings, settings.loaded))
    assert settings.paths.system_dir == Path("/var/lib/neocuma/system") and settings.ssh.max_import_bytes == 512 << 20


def test_both_a_value_and_its_file_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a")
    with pytest.raises(ConfigError, match="n'en définissez qu'une"):
        load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "b", "NEOCUMA_DB_PASSWORD_FILE": str(secret)})


def test_seeding_is_for_the_central_role_only_and_needs_a_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_SEED_ON_FIRST_START": "1"})
    assert "central" in str(caught.value) and "NEOCUMA_SEED_PASSWORD" in str(caught.value)


def test_the_check_account_is_for_the_local_role_and_a_long_token() -> None:
    """Issue 12, finding 10: the guardian's application check uses a token, not a password."""
    token = "t" * 32
    assert (
        load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_CHECK_TOKEN": token}).web.check_token
        == token
    )
    with pytest.raises(ConfigError, match="NEOCUMA_CHECK_TOKEN est réservé au rôle local"):
        load_server({"NEOCUMA_ROLE": "central", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_CHECK_TOKEN": token})
    with pytest.raises(ConfigError, match="au moins 24 caractères"):
        load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_CHECK_TOKEN": "short"})
    with pytest.raises(ConfigError, match="NEOCUMA_LOCAL_CHECK_TOKEN"):
        load_guardian(Path("/nonexistent.toml"), {"NEOCUMA_DB_PASSWORD": "x"})


def test_every_setting_is_declared_once_with_a_description() -> None:
    names = [item.spec.env for schema in (GuardianConfig, ServerConfig) for item in declared(schema)]
    for schema in (GuardianConfig, ServerConfig):
        items = declared(schema)
        assert len({item.spec.env for item in items}) == len(items), "a variable declared twice in one program"
        assert all(item.spec.description.endswith(".") for item in items)
    assert set(names) <= every_name()


def test_the_configuration_document_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/configuration.md is stale: run `make docs` and commit it"


def test_demo_only_settings_are_refused_on_a_production_deployment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEOCUMA_DEMO_AUTOLOGIN est réservé à la démo"):
        load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_DEMO_AUTOLOGIN": "1"})
    demo = load_guardian(
        tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_DEMO_AUTOLOGIN": "1", "NEOCUMA_DEPLOYMENT": "demo"}
    )
    assert demo.demo.autologin and demo.appliance.deployment == "demo"
    seeded = {"NEOCUMA_ROLE": "central", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_SEED_ON_FIRST_START": "1"}
    with pytest.raises(ConfigError, match="génère des données de démo et ce déploiement est en production"):
        load_server({**seeded, "NEOCUMA_SEED_PASSWORD": "p"})
    assert load_server({**seeded, "NEOCUMA_SEED_PASSWORD": "p", "NEOCUMA_DEPLOYMENT": "demo"}).seed.on_first_start


def test_what_a_centre_may_put_in_dotenv_is_declared_and_secrets_only_as_files() -> None:
    names = {name for item in declared(GuardianConfig) for name in item.dotenv_names}
    assert {"NEOCUMA_REMOTE_HOST", "NEOCUMA_SMTP_PASSWORD_FILE", "NEOCUMA_CONSOLE_SECURE_COOKIES"} <= names
    assert "NEOCUMA_SMTP_PASSWORD" not in names and "NEOCUMA_DB_PASSWORD" not in names


@pytest.mark.parametrize(
    ("environment", "said"),
    [
        ({"NEOCUMA_OFFSITE_REPOSITORY": "/mnt/depot"}, "est défini mais pas son mot de passe"),
        (
            {"NEOCUMA_OFFSITE_REPOSITORY": "ftp://nas/depot", "NEOCUMA_OFFSITE_PASSWORD": "p"},
            "NEOCUMA_OFFSITE_REPOSITORY : dépôt hors site 'ftp://nas/depot' : attendu un chemin absolu",
        ),
        ({"NEOCUMA_OFFSITE_KEEP_DAILY": "0"}, "NEOCUMA_OFFSITE_KEEP_DAILY (offsite.keep_daily, lu dans"),
        ({"NEOCUMA_OFFSITE_KEEP_WEEKLY": "3"}, "doit être entre 4 et 10000, pas 3"),
        ({"NEOCUMA_OFFSITE_KEEP_MONTHLY": "1"}, "doit être entre 3 et 10000, pas 1"),
    ],
)
def test_offsite_settings_that_cannot_work_are_refused_by_name(environment: dict[str, str], said: str) -> None:
    base = {"NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_LOCAL_CHECK_TOKEN": "c" * 32}
    with pytest.raises(ConfigError) as caught:
        load_guardian(Path("/nonexistent.toml"), {**base, **environment})
    assert said in str(caught.value)


def test_the_offsite_password_is_masked() -> None:
    base = {"NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_LOCAL_CHECK_TOKEN": "c" * 32}
    config = load_guardian(
        Path("/nonexistent.toml"),
        {**base, "NEOCUMA_OFFSITE_REPOSITORY": "/mnt/depot", "NEOCUMA_OFFSITE_PASSWORD": "phrase secrète"},
    )
    assert config.offsite.password == "phrase secrète" and "phrase secrète" not in repr(config)
    assert "phrase secrète" not in "\n".join(show(config, config.loaded))


def test_a_refused_secret_is_named_but_never_repeated() -> None:
    """A webhook URL may carry its token: refused, the message names the setting only."""
    with pytest.raises(ConfigError) as caught:
        load_guardian(Path("/nonexistent.toml"), {**GUARDIAN_BASE, "NEOCUMA_WEBHOOK_URL": "ftp://hooks/T0KEN-s3cret"})
    text = str(caught.value)
    assert "NEOCUMA_WEBHOOK_URL" in text and "secrète, non répétée" in text, text
    assert "T0KEN-s3cret" not in text
    with pytest.raises(ConfigError) as caught:
        load_guardian(Path("/nonexistent.toml"), {**GUARDIAN_BASE, "NEOCUMA_BACKUPS_KEEP": "0"})
    assert "pas 0" in str(caught.value), "a value that is no secret is still shown"


SFTP = {
    **GUARDIAN_BASE,
    "NEOCUMA_OFFSITE_REPOSITORY": "sftp:sauvegarde@nas.example.fr:/volume1/neocuma",
    "NEOCUMA_OFFSITE_PASSWORD": "p",
    "NEOCUMA_OFFSITE_SFTP_KEY_FILE": "/run/neocuma-secrets/offsite-ssh-key",
    "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": "/run/neocuma-secrets/offsite-known-hosts",
}


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (
            {"NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": ""},
            "est un dépôt sftp: : définissez NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE (la clé d'hôte du serveur est épinglée",
        ),
        ({"NEOCUMA_OFFSITE_SFTP_KEY_FILE": ""}, "est un dépôt sftp: : définissez NEOCUMA_OFFSITE_SFTP_KEY_FILE ("),
        (
            {"NEOCUMA_OFFSITE_SFTP_KEY_FILE": "", "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": ""},
            "définissez NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE et NEOCUMA_OFFSITE_SFTP_KEY_FILE",
        ),
        (
            {"NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": "known hosts"},
            "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE : 'known hosts' doit être un chemin absolu",
        ),
        ({"NEOCUMA_OFFSITE_REPOSITORY": "sftp:-oProxyCommand=x:/depot"}, "attendu sftp:utilisateur@hôte:/chemin"),
        ({"NEOCUMA_OFFSITE_REPOSITORY": "sftp:u@nas:/mon depot"}, "le chemin ne doit contenir ni espace"),
    ],
)
def test_an_sftp_repository_needs_its_key_and_its_pinned_host_key(changed: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_guardian(Path("/nonexistent.toml"), {**SFTP, **changed})
    assert said in str(caught.value)


def test_an_sftp_repository_with_both_files_is_taken_and_other_kinds_need_neither() -> None:
    config = load_guardian(Path("/nonexistent.toml"), SFTP)
    assert config.offsite.sftp_known_hosts_file == "/run/neocuma-secrets/offsite-known-hosts"
    rest = {**GUARDIAN_BASE, "NEOCUMA_OFFSITE_REPOSITORY": "rest:http://nas:8000/", "NEOCUMA_OFFSITE_PASSWORD": "p"}
    assert load_guardian(Path("/nonexistent.toml"), rest).offsite.sftp_key_file == ""


def test_every_kind_of_problem_is_said_in_french_naming_the_setting(tmp_path: Path) -> None:
    """The appliance speaks French to its operators: each kind of configuration problem is
    a French sentence naming the variable (and its file key), its value kept as given."""
    config_file = tmp_path / "guardian.toml"
    config_file.write_text('notify = 3\n[remote]\ncolour = "red"\n[monitor]\ninterval = 1.5\n')
    empty, both = tmp_path / "empty", tmp_path / "both"
    empty.write_text("\n")
    both.write_text("x")
    environment = {
        "NEOCUMA_BACKUPS_KEEP": "0",
        "NEOCUMA_REMOTE_PORT": "ssh",
        "NEOCUMA_DEMO_AUTOLOGIN": "peut-être",
        "NEOCUMA_DEPLOYMENT": "test",
        "NEOCUMA_WEBHOOK_URL": "ftp://hooks",
        "NEOCUMA_LOCAL_CHECK_TOKEN_FILE": str(empty),
        "NEOCUMA_SMTP_PASSWORD": "p",
        "NEOCUMA_SMTP_PASSWORD_FILE": str(both),
        "NEOCUMA_CONSOLE_URL_FILE": str(tmp_path / "absent"),
    }
    with pytest.raises(ConfigError) as caught:
        load_guardian(config_file, environment)
    text = str(caught.value)
    assert text.startswith("configuration invalide :\n  - "), "one problem a line, under a French heading"
    for said in (
        f"fichier {config_file} : [notify] doit être une table",
        f"fichier {config_file} : réglage inconnu remote.colour",
        f"NEOCUMA_MONITOR_INTERVAL (monitor.interval, lu dans le fichier {config_file}) doit être un nombre entier,"
        " pas 1.5",
        "NEOCUMA_BACKUPS_KEEP (backups.keep, lu dans NEOCUMA_BACKUPS_KEEP) doit être entre 1 et 10000, pas 0",
        "NEOCUMA_REMOTE_PORT (remote.port, lu dans NEOCUMA_REMOTE_PORT) doit être un nombre entier, pas 'ssh'",
        "NEOCUMA_DEMO_AUTOLOGIN (demo.autologin, lu dans NEOCUMA_DEMO_AUTOLOGIN) doit valoir true ou false",
        "NEOCUMA_DEPLOYMENT (appliance.deployment, lu dans NEOCUMA_DEPLOYMENT) doit valoir demo ou production,"
        " pas 'test'",
        "NEOCUMA_WEBHOOK_URL (notify.webhook_url, lu dans NEOCUMA_WEBHOOK_URL) doit être une URL commençant par"
        " http:// ou https://",
        f"NEOCUMA_LOCAL_CHECK_TOKEN_FILE : {empty} est vide",
        "NEOCUMA_SMTP_PASSWORD et NEOCUMA_SMTP_PASSWORD_FILE sont définies toutes les deux : n'en définissez qu'une",
        f"NEOCUMA_CONSOLE_URL_FILE : impossible de lire {tmp_path / 'absent'} : ",
        "NEOCUMA_DB_PASSWORD (local.db_password) est obligatoire : définissez cette variable ou"
        " NEOCUMA_DB_PASSWORD_FILE",
    ):
        assert said in text
    with pytest.raises(ConfigError, match=r"NEOCUMA_TRANSFER_TIMEOUT \(remote.transfer_timeout, .*entre 5 et 3600 s,"):
        load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_TRANSFER_TIMEOUT": "1"})
    with pytest.raises(ConfigError, match=r"NEOCUMA_BACKUPS_KEEP_DAYS .*entre 1 et 3650 jours, pas 0"):
        load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_BACKUPS_KEEP_DAYS": "0"})
    with pytest.raises(ConfigError, match=r"NEOCUMA_OFFSITE_REPOSITORY est défini mais pas son mot de passe"):
        load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_OFFSITE_REPOSITORY": "/mnt/depot"})
    with pytest.raises(ConfigError, match=r"NEOCUMA_TLS_CERTIFICATE_PATH et NEOCUMA_TLS_KEY_PATH vont ensemble"):
        load_server({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_TLS_KEY_PATH": "/k.pem"})
    config_file.write_text("[remote\n")
    with pytest.raises(ConfigError, match=rf"fichier {config_file} : TOML invalide : "):
        load_guardian(config_file, GUARDIAN_BASE)
    warnings = load_guardian(tmp_path / "none.toml", {**GUARDIAN_BASE, "NEOCUMA_SMTP_HOTS": "m"}).loaded.warnings
    assert warnings == (
        "variable inconnue NEOCUMA_SMTP_HOTS : aucun réglage ne la lit (vouliez-vous dire NEOCUMA_SMTP_HOST ?)",
    )
