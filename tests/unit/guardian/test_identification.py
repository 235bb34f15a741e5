"""Identification over fakes: host keys pinned only when they match, the login kept for
unattended runs, the demo's automatic login, and who may enter the console."""

from __future__ import annotations

import pytest

from appliance.domain.identity import fingerprint_of_line
from appliance.errors import HostKeyChanged, Refused, RemoteRefused
from tests.fakes.guardian import DEMO_KEY, DEMO_KEY_LINE, FakeWorld, demo_world
from tests.fakes.servers import KEY, OTHER_KEY, PASSWORD

LINE, LINE_KEY = DEMO_KEY_LINE, DEMO_KEY


def test_a_fingerprint_is_computed_from_a_public_key_line_as_openssh_does() -> None:
    assert fingerprint_of_line(LINE) == LINE_KEY
    for bad in ("", "ssh-ed25519", "ssh-ed25519 !!!notbase64", "garbage AAAA"):
        with pytest.raises(Refused):
            fingerprint_of_line(bad)


def test_a_key_is_pinned_only_when_its_fingerprint_is_the_one_checked() -> None:
    world = FakeWorld()
    world.central.pinned = None
    with pytest.raises(Refused, match="rien n'a été épinglé"):
        world.parts.identification.accept_host_key(OTHER_KEY)
    assert world.central.pinned is None
    assert world.parts.identification.accept_host_key(KEY) == KEY and world.central.pinned == KEY


def test_login_keeps_the_credentials_and_the_centre_the_server_gives() -> None:
    world = FakeWorld()
    whoami = world.parts.identification.login("resp.fd12", PASSWORD)
    assert (whoami.login, whoami.centre, whoami.dossiers) == ("resp.fd12", "FD12", 3)
    stored = world.state.credentials()
    assert (stored.login, stored.password, stored.centre) == ("resp.fd12", PASSWORD, "FD12")
    assert PASSWORD not in repr(stored)
    assert world.history("login") == {"login": "resp.fd12", "centre": "FD12", "at": "2026-11-28T12:00:00Z"}


def test_login_as_another_profile_is_refused_with_the_servers_reason_and_nothing_kept() -> None:
    world = FakeWorld()
    with pytest.raises(RemoteRefused, match="responsable départemental"):
        world.parts.identification.login("compta.fd12", PASSWORD)
    assert not world.state.logged_in()
    with pytest.raises(Refused, match="utilisateur ou mot de passe incorrect"):
        world.parts.identification.login("resp.fd12", "nope")


def test_login_with_a_changed_host_key_sends_nothing() -> None:
    world = FakeWorld()
    world.central.presented = OTHER_KEY
    with pytest.raises(HostKeyChanged, match="a CHANGÉ"):
        world.parts.identification.login("resp.fd12", PASSWORD)
    assert world.central.sessions == 0 and not world.state.logged_in()


def test_the_demo_pins_the_published_key_and_logs_in_once() -> None:
    world = demo_world()
    assert world.parts.identification.demo_autologin() is not None
    assert world.central.pinned == LINE_KEY and world.state.logged_in()
    assert world.parts.identification.demo_autologin() is None, "already logged in: nothing to do"


def test_the_demo_refuses_a_remote_that_presents_another_key_than_it_published() -> None:
    world = demo_world()
    world.central.presented = OTHER_KEY
    with pytest.raises(HostKeyChanged, match="a publié"):
        world.parts.identification.demo_autologin()
    assert world.central.pinned is None and not world.state.logged_in()


def test_the_demo_never_replaces_a_different_pinned_key() -> None:
    world = demo_world()
    world.central.pinned = OTHER_KEY
    with pytest.raises(HostKeyChanged, match="une autre clé"):
        world.parts.identification.demo_autologin()
    assert world.central.pinned == OTHER_KEY


def test_the_demo_needs_its_published_key_and_is_off_outside_thedemo_world() -> None:
    with pytest.raises(Refused, match=r"fichier de clé publique du serveur distant .* est absent"):
        demo_world(published=None).parts.identification.demo_autologin()
    assert FakeWorld(published_key=LINE).parts.identification.demo_autologin() is None


def test_nobody_enters_the_console_before_the_guardian_is_logged_in() -> None:
    world = FakeWorld()
    with pytest.raises(Refused, match="pas encore identifié"):
        world.parts.identification.console_login("resp.fd12", PASSWORD)


def test_the_console_admits_the_centres_responsable_and_remembers_a_verifier() -> None:
    world = FakeWorld()
    world.log_in()
    assert world.parts.identification.console_login("resp.fd12", PASSWORD) == "resp.fd12"
    verifier = world.state.document("console_verifiers")["resp.fd12"]
    assert verifier["hash"].startswith("scrypt") and PASSWORD not in str(verifier)
    assert verifier["at"] == "2026-11-28T12:00:00Z", "dated: it expires"
    refusals = []
    for login, password in (("resp.fd24", PASSWORD), ("compta.fd12", PASSWORD), ("resp.fd12", "wrong")):
        with pytest.raises(Refused) as caught:
            world.parts.identification.console_login(login, password)
        refusals.append(str(caught.value))
    # Another centre, another profile and a wrong password answer alike (issue 12, finding
    # 10): the page must not tell that the first two passwords were right.
    assert len(set(refusals)) == 1 and "refusé par le serveur distant" in refusals[0], refusals


def test_while_the_remote_is_down_only_a_known_login_and_password_enter() -> None:
    world = FakeWorld()
    world.log_in()
    world.parts.identification.console_login("resp.fd12", PASSWORD)
    world.central.reachable = False
    assert world.parts.identification.console_login("resp.fd12", PASSWORD) == "resp.fd12"
    with pytest.raises(Refused, match="injoignable et aucune connexion réussie connue"):
        world.parts.identification.console_login("resp.fd12", "guess")
    with pytest.raises(Refused, match="injoignable"):
        world.parts.identification.console_login("someone.else", PASSWORD)


def test_a_changed_host_key_keeps_everyone_out_of_the_console() -> None:
    world = FakeWorld()
    world.log_in()
    world.central.presented = OTHER_KEY
    with pytest.raises(Refused, match="n'est pas celle épinglée"):
        world.parts.identification.console_login("resp.fd12", PASSWORD)


def test_an_offline_console_login_expires_30_days_after_the_last_online_one() -> None:
    """Issue 12, finding 10: the offline verifiers never expired."""
    world = FakeWorld()
    world.log_in()
    world.parts.identification.console_login("resp.fd12", PASSWORD)
    world.central.reachable = False
    world.clock.advance(29 * 86400)
    assert world.parts.identification.console_login("resp.fd12", PASSWORD) == "resp.fd12"
    world.clock.advance(2 * 86400)
    with pytest.raises(Refused, match="plus de 30 jours : connexion hors ligne refusée"):
        world.parts.identification.console_login("resp.fd12", PASSWORD)
    world.central.reachable = True
    world.parts.identification.console_login("resp.fd12", PASSWORD)  # online again: renewed
    world.central.reachable = False
    assert world.parts.identification.console_login("resp.fd12", PASSWORD) == "resp.fd12"


def test_login_of_a_centre_without_a_slot_in_the_centres_table_is_refused_and_nothing_kept() -> None:
    from appliance.errors import ConfigError

    world = FakeWorld()
    world.centres[:] = [c for c in world.centres if c.code != "FD12"]
    with pytest.raises(ConfigError, match="'FD12' n'a pas de créneau dans"):
        world.parts.identification.login("resp.fd12", PASSWORD)
    assert not world.state.logged_in()
