"""``v1 replay`` against the real SSH endpoint (OpenSSH's client, paramiko for the cut) and
MariaDB: operations applied once with the central server's next numbers, applied twice =
once, a cut in the middle then resumed, refusals with their reasons that block nothing.
The operations are written by hand here and the outcome read by SQL: no code of ours judges."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import paramiko
import pytest

from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle

pytestmark = pytest.mark.integration
GUARDIAN = "resp.fd12"


def _operation(dossier: str, form: dict[str, Any], local_numero: str, author: str = "compta1.fd12") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "dossier": dossier,
        "type": "bon",
        "saisie": {key: str(value) for key, value in form.items()},
        "numero_local": local_numero,
        "utilisateur": author,
        "saisi_le": "2026-12-06T09:30:00.000000Z",
    }


def _batch(operations: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in operations)


def _replay(central: Central, operations: list[dict[str, Any]], user: str = GUARDIAN) -> list[dict[str, Any]]:
    result = central.ssh.ssh(user, USER_PASSWORD, "v1 replay", stdin=_batch(operations))
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert lines[-1]["fin"] is True and lines[-1]["operations"] == len(operations)
    return lines[:-1]


@pytest.fixture()
def db(central: Central) -> Iterator[Any]:
    connection = central.root_connection()
    yield connection
    connection.close()


def _writable(db: Any, central: Central, login: str = GUARDIAN) -> list[tuple[int, str]]:
    """Dossiers in ``login``'s rights with the right to write, not exporté, with an open exercice."""
    s = central.schema
    return oracle.dossiers_of(
        db,
        s,
        login,
        f"r.acces = 'ecriture' AND d.exporte = 0 AND EXISTS (SELECT 1 FROM `{s}`.exercice e"
        " WHERE e.dossier_id = d.id AND e.cloture = 0)",
    )


def _bons(db: Any, central: Central, dossier_id: int) -> dict[int, tuple[str, str, str]]:
    rows = oracle.query(
        db,
        f"SELECT id, numero, CAST(quantite AS CHAR), saisi_par FROM `{central.schema}`.bon_travaux WHERE dossier_id = %s",
        (dossier_id,),
    )
    return {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}


def _replayed(db: Any, ids: list[str]) -> dict[str, tuple[int, str]]:
    marks = ", ".join(["%s"] * len(ids))
    rows = oracle.query(
        db,
        f"SELECT operation_id, bon_id, numero FROM neocuma_control.replayed WHERE operation_id IN ({marks})",
        tuple(ids),
    )
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def test_operations_are_applied_once_with_the_central_servers_next_numbers(central: Central, db: Any) -> None:
    (first_id, first), (second_id, second) = _writable(db, central)[:2]
    before = {first_id: _bons(db, central, first_id), second_id: _bons(db, central, second_id)}
    operations = [
        _operation(first, oracle.bon_form(db, central.schema, first_id, "2.5"), "BT03-00001"),
        _operation(second, oracle.bon_form(db, central.schema, second_id, "1"), "BT03-00001"),
        _operation(first, oracle.bon_form(db, central.schema, first_id, "4.25"), "BT03-00002"),
    ]
    answers = _replay(central, operations)
    assert [a["etat"] for a in answers] == ["appliquee"] * 3
    assert [a["id"] for a in answers] == [o["id"] for o in operations]
    # Both sides numbered bons during the outage: the central server gives its next free ids.
    next_first, next_second = max(before[first_id]) + 1, max(before[second_id]) + 1
    assert [a["id_central"] for a in answers] == [next_first, next_second, next_first + 1]
    assert [a["numero_local"] for a in answers] == ["BT03-00001", "BT03-00001", "BT03-00002"]
    after = _bons(db, central, first_id)
    assert set(after) - set(before[first_id]) == {next_first, next_first + 1}
    assert after[next_first] == (answers[0]["numero_central"], "2.50", "compta1.fd12")
    assert after[next_first + 1] == (answers[2]["numero_central"], "4.25", "compta1.fd12")
    assert set(_bons(db, central, second_id)) - set(before[second_id]) == {next_second}
    assert _replayed(db, [o["id"] for o in operations]) == {
        a["id"]: (a["id_central"], a["numero_central"]) for a in answers
    }


def test_a_batch_replayed_twice_adds_nothing_the_second_time(central: Central, db: Any) -> None:
    (dossier_id, code), *_ = _writable(db, central)
    operations = [
        _operation(code, oracle.bon_form(db, central.schema, dossier_id, str(q)), f"BT03-0000{q}") for q in (1, 2)
    ]
    first = _replay(central, operations)
    schema_after_first = oracle.whole_schema_oracle(db, central.schema)
    second = _replay(central, operations)
    assert [a["etat"] for a in second] == ["deja_appliquee"] * 2
    assert [(a["id_central"], a["numero_central"]) for a in second] == [
        (a["id_central"], a["numero_central"]) for a in first
    ]
    assert oracle.whole_schema_oracle(db, central.schema) == schema_after_first


def test_a_batch_resumed_after_operations_were_applied_adds_only_the_rest(central: Central, db: Any) -> None:
    (dossier_id, code), *_ = _writable(db, central)
    operations = [
        _operation(code, oracle.bon_form(db, central.schema, dossier_id, str(q)), f"BT03-{q:05d}") for q in range(1, 6)
    ]
    before = _bons(db, central, dossier_id)
    # The first call got as far as two operations before the link dropped.
    assert [a["etat"] for a in _replay(central, operations[:2])] == ["appliquee"] * 2
    resumed = _replay(central, operations)
    assert [a["etat"] for a in resumed] == ["deja_appliquee"] * 2 + ["appliquee"] * 3
    added = set(_bons(db, central, dossier_id)) - set(before)
    assert len(added) == 5 and sorted(a["id_central"] for a in resumed) == sorted(added)


def test_a_client_cut_off_in_the_middle_sends_again_and_nothing_is_applied_twice(central: Central, db: Any) -> None:
    (dossier_id, code), *_ = _writable(db, central)
    operations = [
        _operation(code, oracle.bon_form(db, central.schema, dossier_id, str(q)), f"BT03-{q:05d}")
        for q in range(1, 101)
    ]
    before = _bons(db, central, dossier_id)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", central.ssh_port, GUARDIAN, USER_PASSWORD, look_for_keys=False, allow_agent=False)
    channel = client.get_transport().open_session()  # type: ignore[union-attr]
    channel.exec_command("v1 replay")
    channel.sendall(_batch(operations))
    channel.shutdown_write()
    received = b""
    while b"\n" not in received and (byte := channel.recv(1)):
        received += byte
    client.close()  # the link drops after the first answer
    cut_first = json.loads(received)
    assert cut_first["etat"] == "appliquee"
    # The server may have applied a few more whose answers were lost with the link.
    resumed = _replay(central, operations)
    states = [a["etat"] for a in resumed]
    assert states[0] == "deja_appliquee" and resumed[0]["id_central"] == cut_first["id_central"]
    assert set(states) == {"appliquee", "deja_appliquee"}, "the cut stopped the batch, the rest came on resume"
    after = _bons(db, central, dossier_id)
    assert sorted(set(after) - set(before)) == sorted(a["id_central"] for a in resumed)
    assert len(set(after) - set(before)) == len(operations)
    assert len(_replayed(db, [o["id"] for o in operations])) == len(operations)


def test_refused_operations_carry_their_reason_and_block_nothing(central: Central, db: Any) -> None:
    s = central.schema
    (dossier_id, code), *_ = _writable(db, central)
    closed = oracle.query(
        db,
        f"SELECT e.dossier_id, d.code, e.date_debut, e.libelle FROM `{s}`.exercice e JOIN `{s}`.dossier d"
        f" ON d.id = e.dossier_id WHERE e.cloture = 1 AND d.id = %s",
        (dossier_id,),
    )[0]
    in_closed = dict(oracle.bon_form(db, s, dossier_id), date=closed[2].isoformat())
    (exported_id, exported), *_ = oracle.dossiers_of(db, s, GUARDIAN, "d.exporte = 1")
    mine = {d for d, _ in oracle.dossiers_of(db, s, GUARDIAN)}
    (other_id, other), *_ = [d for d in oracle.dossiers_of(db, s, "resp.fd24") if d[0] not in mine]
    operations = [
        _operation(code, in_closed, "BT03-00001"),
        _operation(exported, oracle.bon_form(db, s, exported_id), "BT03-00002"),
        _operation(code, oracle.bon_form(db, s, dossier_id, "7"), "BT03-00003"),
        _operation(other, oracle.bon_form(db, s, other_id), "BT03-00004"),
        _operation(code, dict(oracle.bon_form(db, s, dossier_id), quantite="-1"), "BT03-00005"),
    ]
    before = oracle.whole_schema_oracle(db, s)
    answers = _replay(central, operations)
    assert [a["etat"] for a in answers] == ["refusee", "refusee", "appliquee", "refusee", "refusee"]
    reasons = [a.get("motif", "") for a in answers]
    assert f"l'exercice {closed[3]} est clôturé" in reasons[0]
    assert f"le dossier {exported} est exporté" in reasons[1]
    assert f"dossier {other} inconnu ou hors de vos droits" in reasons[3]
    assert "la quantité doit être positive" in reasons[4]
    changed = {t for t, oracle_value in oracle.whole_schema_oracle(db, s).items() if before[t] != oracle_value}
    assert changed == {"bon_travaux", "dossier"}  # the one bon applied and its dossier's revision
    assert set(_replayed(db, [o["id"] for o in operations])) == {operations[2]["id"]}
    # Sent again (the guardian keeps refused operations): still refused, nothing added.
    again = _replay(central, operations)
    assert [a["etat"] for a in again] == ["refusee", "refusee", "deja_appliquee", "refusee", "refusee"]


def test_a_malformed_batch_is_refused_whole_and_applies_nothing(central: Central, db: Any) -> None:
    (dossier_id, code), *_ = _writable(db, central)
    good = _operation(code, oracle.bon_form(db, central.schema, dossier_id), "BT03-00001")
    bad = dict(good, id="pas-un-uuid")
    before = oracle.whole_schema_oracle(db, central.schema)
    result = central.ssh.ssh(GUARDIAN, USER_PASSWORD, "v1 replay", stdin=_batch([good, bad]))
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error bad_request: opération 2 : identifiant (id) invalide")
    assert result.stdout == b""
    assert oracle.whole_schema_oracle(db, central.schema) == before
    assert _replayed(db, [good["id"]]) == {}


def test_an_id_reused_for_another_entry_is_refused(central: Central, db: Any) -> None:
    (dossier_id, code), *_ = _writable(db, central)
    first = _operation(code, oracle.bon_form(db, central.schema, dossier_id, "1"), "BT03-00001")
    assert _replay(central, [first])[0]["etat"] == "appliquee"
    forged = dict(first, saisie=dict(first["saisie"], quantite="99"))
    (answer,) = _replay(central, [forged])
    assert answer["etat"] == "refusee" and "a déjà servi à une autre saisie" in answer["motif"]


def test_two_returns_sending_the_same_batch_at_once_apply_each_operation_once(central: Central, db: Any) -> None:
    """Two guardians (or a second return started before the first ended) racing on one
    batch, while a person enters a bon on the same dossier through NeoCuma Web."""
    import threading

    from tests.integration.webclient import api_token, client_for, login

    (dossier_id, code), *_ = _writable(db, central)
    operations = [
        _operation(code, oracle.bon_form(db, central.schema, dossier_id, str(q)), f"BT03-{q:05d}") for q in range(1, 31)
    ]
    before = _bons(db, central, dossier_id)
    answers: list[list[dict[str, Any]]] = []
    threads = [threading.Thread(target=lambda: answers.append(_replay(central, operations))) for _ in range(2)]
    for thread in threads:
        thread.start()
    person = client_for(central)
    login(person, GUARDIAN)
    typed = person.post(
        f"/api/v1/dossiers/{code}/bons",
        json=oracle.bon_form(db, central.schema, dossier_id, "99"),
        headers={"X-CSRF-Token": api_token(person)},
    )
    for thread in threads:
        thread.join(120)
    assert typed.status_code == 201
    assert len(answers) == 2
    for one, other in zip(answers[0], answers[1], strict=True):
        assert {one["etat"], other["etat"]} == {"appliquee", "deja_appliquee"}
        assert one["numero_central"] == other["numero_central"]
    added = set(_bons(db, central, dossier_id)) - set(before)
    assert len(added) == len(operations) + 1
