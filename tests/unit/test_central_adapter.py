"""The CentralServer port's session over SSH (adapters.central) against a hand-written
stand-in for the SSH session: which requests it sends and how it reads their answers."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.adapters.central import SshCentralSession
from appliance.errors import RemoteRefused, Unavailable

DOSSIER = {"code": "120001", "nom": "CUMA des Prés", "revision": 4, "exporte": False}


class _Session:
    """Answers metadata requests from ``answers``; a request it does not know is refused
    as an older server refuses an unknown command."""

    stall_timeout = 10.0

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def json(self, command: str) -> dict[str, Any]:
        self.asked.append(command)
        if command not in self.answers:
            raise RemoteRefused("bad_request", f"commande inconnue « {command.split()[1]} »", 2)
        return self.answers[command]


def test_the_dossiers_come_from_the_request_that_counts_no_row() -> None:
    session = _Session({"v1 revisions": {"dossiers": [DOSSIER]}, "v1 dossiers": {"dossiers": []}})
    dossiers = SshCentralSession(session).dossiers()  # type: ignore[arg-type]
    assert session.asked == ["v1 revisions"]
    assert (dossiers["120001"].revision, dossiers["120001"].exporte) == (4, False)


def test_a_server_without_revisions_is_asked_for_the_dossiers() -> None:
    session = _Session({"v1 dossiers": {"dossiers": [dict(DOSSIER, lignes={"tiers": 3})]}})
    dossiers = SshCentralSession(session).dossiers()  # type: ignore[arg-type]
    assert session.asked == ["v1 revisions", "v1 dossiers"] and list(dossiers) == ["120001"]


def test_another_refusal_is_not_taken_for_an_older_server() -> None:
    class Refusing(_Session):
        def json(self, command: str) -> dict[str, Any]:
            self.asked.append(command)
            raise RemoteRefused("profile", "le profil responsable départemental est requis", 1)

    session = Refusing({})
    with pytest.raises(RemoteRefused, match="responsable départemental"):
        SshCentralSession(session).dossiers()  # type: ignore[arg-type]
    assert session.asked == ["v1 revisions"]


def test_an_answer_of_another_shape_names_the_request() -> None:
    session = _Session({"v1 revisions": {"dossiers": [{"code": "120001"}]}})
    with pytest.raises(Unavailable, match="'v1 revisions' par un document inattendu"):
        SshCentralSession(session).dossiers()  # type: ignore[arg-type]
