from pathlib import Path

import pytest

from appliance.errors import ConfigError
from appliance.guardian.config import load_config


def test_file_then_environment_then_secret_files(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text('[remote]\nhost = "central.example.fr"\nport = 2200\n[backups]\nkeep = 5\n')
    secret = tmp_path / "db"
    secret.write_text("s3cret\n")
    config = load_config(config_file, {"NEOCUMA_REMOTE_PORT": "2222", "NEOCUMA_DB_PASSWORD_FILE": str(secret)})
    assert config["remote.host"] == "central.example.fr" and config.sources["remote.host"].startswith("file")
    assert config["remote.port"] == 2222 and config.sources["remote.port"] == "environment NEOCUMA_REMOTE_PORT"
    assert config["backups.keep"] == 5
    assert config["local.db_password"] == "s3cret"
    shown = "\n".join(config.show())
    assert "s3cret" not in shown and "********" in shown and "s3cret" not in repr(config)


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text('[remote]\nport = "ssh"\ncolour = "red"\n[backups]\nkeep = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config_file, {"NEOCUMA_TRANSFER_TIMEOUT": "1", "NEOCUMA_DEMO_AUTOLOGIN": "maybe"})
    text = str(caught.value)
    for words in (
        "remote.port",
        "remote.colour",
        "backups.keep",
        "remote.transfer_timeout",
        "demo.autologin",
        "db_password",
    ):
        assert words in text


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    config_file = tmp_path / "guardian.toml"
    config_file.write_text("[remote\n")
    with pytest.raises(ConfigError, match=r"guardian\.toml"):
        load_config(config_file, {"NEOCUMA_DB_PASSWORD": "x"})
