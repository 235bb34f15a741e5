"""An sftp: offsite repository (domain/offsite_sftp.py, adapters/restic.py): the address
read in both of restic's forms, the ssh command restic is handed (this key, this
known_hosts file, strict checking, never a question), what cannot go on that command, and
ssh's refusals turned into French messages naming the setting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from appliance.adapters.restic import ResticRepository
from appliance.domain.offsite_sftp import (
    SftpAddress,
    SftpPinning,
    parse_sftp,
    restic_options,
    ssh_command,
    ssh_failure,
)
from appliance.errors import BadRequest, Unavailable

PINNING = SftpPinning("/run/neocuma-secrets/offsite-ssh-key", "/run/neocuma-secrets/offsite-known-hosts")


@pytest.mark.parametrize(
    ("repository", "address"),
    [
        (
            "sftp:sauvegarde@nas.example.fr:/volume1/neocuma",
            SftpAddress("sauvegarde", "nas.example.fr", 22, "/volume1/neocuma"),
        ),
        ("sftp:backup@192.168.1.20:depot", SftpAddress("backup", "192.168.1.20", 22, "depot")),
        ("sftp://sauvegarde@nas:2022//srv/restic", SftpAddress("sauvegarde", "nas", 2022, "/srv/restic")),
        ("sftp://sauvegarde@nas/depot", SftpAddress("sauvegarde", "nas", 22, "depot")),
        ("sftp:u@[fd00::1]:/depot", SftpAddress("u", "[fd00::1]", 22, "/depot")),
    ],
)
def test_both_forms_of_an_sftp_address_are_read(repository: str, address: SftpAddress) -> None:
    assert parse_sftp(repository) == address


@pytest.mark.parametrize(
    "repository",
    [
        "sftp:nas:/depot",  # no user: ssh would log in as the container's own user
        "sftp:-oProxyCommand=touch@x:/depot",  # a user that would be an ssh option
        "sftp:u@-oProxyCommand=x:/depot",  # a host that would be an ssh option
        "sftp:u@nas:/mon depot",  # restic splits the command on spaces
        "sftp:u@nas:/a,b",  # and reads -o values as CSV
        "sftp://u@nas:99999//depot",
        "sftp:u@nas:",
    ],
)
def test_an_address_that_cannot_go_on_the_command_is_refused(repository: str) -> None:
    with pytest.raises(BadRequest, match="dépôt hors site"):
        parse_sftp(repository)


def test_the_ssh_command_pins_the_host_key_and_never_asks() -> None:
    command = ssh_command(parse_sftp("sftp://sauvegarde@nas.example.fr:2022//volume1/neocuma"), PINNING)
    options = {command[i + 1] for i, part in enumerate(command) if part == "-o"}
    assert command[:3] == ["ssh", "-i", "/run/neocuma-secrets/offsite-ssh-key"]
    assert {
        "UserKnownHostsFile=/run/neocuma-secrets/offsite-known-hosts",
        "GlobalKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
        "IdentitiesOnly=yes",
        "UpdateHostKeys=no",
    } <= options
    assert command[-5:] == ["-p", "2022", "sauvegarde@nas.example.fr", "-s", "sftp"]


def test_restic_gets_the_command_as_one_extended_option() -> None:
    options = restic_options("sftp:sauvegarde@nas:/depot", PINNING)
    assert options[0] == "-o" and len(options) == 2
    assert options[1].startswith("sftp.command=ssh -i /run/neocuma-secrets/offsite-ssh-key -o IdentitiesOnly=yes")
    assert options[1].endswith("-p 22 sauvegarde@nas -s sftp")
    assert "," not in options[1] and '"' not in options[1]


@pytest.mark.parametrize(
    ("pinning", "said"),
    [
        (SftpPinning("/k", ""), "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE est vide"),
        (SftpPinning("", "/kh"), "NEOCUMA_OFFSITE_SFTP_KEY_FILE est vide"),
        (
            SftpPinning("relative/key", "/kh"),
            "NEOCUMA_OFFSITE_SFTP_KEY_FILE : 'relative/key' doit être un chemin absolu",
        ),
        (SftpPinning("/k", "/known hosts"), "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE : '/known hosts'"),
    ],
)
def test_pinning_files_are_named_when_they_cannot_be_used(pinning: SftpPinning, said: str) -> None:
    with pytest.raises(BadRequest, match=said):
        ssh_command(parse_sftp("sftp:u@nas:/depot"), pinning)


def test_the_adapter_puts_the_command_before_restics_arguments(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$0.args"\n')
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    repository.create()
    arguments = (tmp_path / "restic.args").read_text().splitlines()
    assert arguments[:2] == ["--quiet", "-o"]
    assert arguments[2].startswith("sftp.command=ssh -i /run/neocuma-secrets/offsite-ssh-key ")
    assert f" -E {tmp_path}/cache/ssh-" in arguments[2] and arguments[2].endswith(".log -p 22 u@nas -s sftp")
    assert arguments[3:] == ["init", "--repository-version", "2"]


def test_other_repositories_get_no_ssh_command(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$0.args"\n')
    fake.chmod(0o755)
    ResticRepository("rest:http://nas:8000/", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING).create()
    assert (tmp_path / "restic.args").read_text().splitlines() == ["--quiet", "init", "--repository-version", "2"]


def test_an_sftp_repository_without_its_pinning_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE"):
        ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache")


UNKNOWN_KEY = """subprocess ssh: No ED25519 host key is known for [nas]:2022 and you have requested strict checking.
subprocess ssh: Host key verification failed.
Fatal: unable to open repository at sftp:u@nas:/depot: unable to start the sftp session, error: EOF
"""
CHANGED_KEY = """subprocess ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
subprocess ssh: @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
subprocess ssh: Host key verification failed.
Fatal: unable to open repository at sftp:u@nas:/depot: unable to start the sftp session, error: EOF
"""


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        (
            UNKNOWN_KEY,
            "la clé d'hôte du serveur SFTP est inconnue : elle n'est pas dans NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE",
        ),
        (CHANGED_KEY, "la clé d'hôte du serveur SFTP a changé"),
        ("subprocess ssh: sauvegarde@nas: Permission denied (publickey).\n", "le serveur SFTP refuse la clé"),
        (
            "subprocess ssh: Warning: Identity file /k not accessible: No such file or directory.\n"
            "subprocess ssh: u@nas: Permission denied (publickey).\n",
            "NEOCUMA_OFFSITE_SFTP_KEY_FILE est introuvable ou illisible",
        ),
        ("subprocess ssh: WARNING: UNPROTECTED PRIVATE KEY FILE!\n", "lisible par d'autres comptes"),
    ],
)
def test_ssh_refusals_are_named_in_french(stderr: str, said: str) -> None:
    assert said in (ssh_failure(stderr) or "")


def test_a_refused_host_key_fails_the_command_and_names_the_repository(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text(f"#!/bin/sh\ncat >&2 <<'END'\n{UNKNOWN_KEY}END\nexit 1\n")
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    with pytest.raises(BadRequest) as caught:
        repository.create()
    assert not isinstance(caught.value, Unavailable)
    assert str(caught.value).startswith(
        "dépôt hors site sftp:u@nas:/depot : la clé d'hôte du serveur SFTP est inconnue"
    )


def test_an_unreachable_sftp_server_is_still_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text(
        "#!/bin/sh\necho 'subprocess ssh: ssh: Could not resolve hostname nas: Name or service not known' >&2\n"
        "echo 'Fatal: unable to open repository at sftp:u@nas:/depot: unable to start the sftp session' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    with pytest.raises(Unavailable, match="injoignable"):
        repository.create()


def test_a_write_the_sftp_server_refuses_is_said_full_and_tried_again(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text(
        '#!/bin/sh\necho \'Save(<data/1cec1d9331>) returned error, retrying after 552ms: Write: sftp: "Failure"'
        " (SSH_FX_FAILURE)' >&2\necho 'Fatal: unable to save snapshot: Write: sftp: \"Failure\" (SSH_FX_FAILURE)' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    with pytest.raises(Unavailable, match="le serveur SFTP refuse d'écrire, sans doute plein"):
        repository.push(tmp_path, ["neocuma"], dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_what_ssh_wrote_in_its_own_log_names_the_refusal_and_the_log_is_removed(tmp_path: Path) -> None:
    """restic relays ssh's stderr but may exit before relaying its last lines: ssh writes
    them into a file of its own (-E), read when restic fails."""
    fake = tmp_path / "restic"
    fake.write_text(
        "#!/bin/sh\n"
        'log=$(printf "%s" "$3" | sed -n "s/.* -E \\([^ ]*\\) .*/\\1/p")\n'
        'printf "No ED25519 host key is known for nas and you have requested strict checking.\\n'
        'Host key verification failed.\\n" >> "$log"\n'
        "echo 'Fatal: unable to open repository at sftp:u@nas:/depot: unable to start the sftp session,"
        " error: EOF' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    with pytest.raises(BadRequest, match="la clé d'hôte du serveur SFTP est inconnue"):
        repository.exists()
    assert list((tmp_path / "cache").glob("ssh-*.log")) == []


def test_an_unreachable_host_is_said_with_ssh_s_own_words(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text(
        "#!/bin/sh\n"
        'log=$(printf "%s" "$3" | sed -n "s/.* -E \\([^ ]*\\) .*/\\1/p")\n'
        'echo "ssh: Could not resolve hostname nas: Name or service not known" >> "$log"\n'
        "echo 'Fatal: unable to open repository at sftp:u@nas:/depot: unable to start the sftp session,"
        " error: EOF' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    repository = ResticRepository("sftp:u@nas:/depot", "p", tmp_path / "cache", binary=str(fake), sftp=PINNING)
    with pytest.raises(Unavailable, match=r"injoignable .*ssh : ssh: Could not resolve hostname nas"):
        repository.exists()
