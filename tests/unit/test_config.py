from pathlib import Path

import pytest

from appliance.errors import ConfigError
from appliance.server.config import load_server_settings


def test_every_problem_is_listed_and_no_secret_is_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_server_settings(
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


def test_password_from_file_and_never_in_repr(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t\n")
    settings = load_server_settings({"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD_FILE": str(secret)})
    assert settings.database.password == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


def test_both_a_secret_and_its_file_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a")
    with pytest.raises(ConfigError, match="only one"):
        load_server_settings(
            {"NEOCUMA_ROLE": "local", "NEOCUMA_DB_PASSWORD": "b", "NEOCUMA_DB_PASSWORD_FILE": str(secret)}
        )


def test_seeding_is_for_the_central_role_only() -> None:
    with pytest.raises(ConfigError, match="central"):
        load_server_settings(
            {
                "NEOCUMA_ROLE": "local",
                "NEOCUMA_DB_PASSWORD": "x",
                "NEOCUMA_SEED_ON_FIRST_START": "1",
                "NEOCUMA_SEED_PASSWORD": "p",
            }
        )
