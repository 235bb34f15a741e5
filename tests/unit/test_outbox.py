"""The outbox's operations, the replay batch, its idempotence and the renumbering (pure)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from appliance.domain.outbox import (
    ALREADY_APPLIED,
    APPLIED,
    MAX_OPERATIONS_PER_REPLAY,
    REFUSED,
    Applied,
    Operation,
    Outcome,
    bon_payload,
    parse_batch,
    parse_outcome,
    renumbering,
    replayed_before,
)
from appliance.domain.protocol import ProtocolError

WHEN = dt.datetime(2026, 12, 6, 9, 30, 15, 250000, tzinfo=dt.UTC)


def _operation(number: int = 1, dossier: str = "FD12-001", quantity: str = "3.50") -> Operation:
    return Operation(
        id=f"00000000-0000-4000-8000-{number:012d}",
        dossier=dossier,
        kind="bon",
        payload=bon_payload(7, 2, dt.date(2026, 3, 4), quantity),
        local_id=40 + number,
        local_numero=f"BT03-{40 + number:05d}",
        user="compta1.fd12",
        created_at=WHEN,
    )


def test_an_operation_crosses_the_wire_unchanged_but_for_its_local_id() -> None:
    operation = _operation()
    (parsed,) = parse_batch(operation.line())
    assert parsed.id == operation.id and parsed.dossier == operation.dossier and parsed.kind == "bon"
    assert parsed.payload == {"tiers_id": "7", "activite_id": "2", "date": "2026-03-04", "quantite": "3.50"}
    assert (parsed.local_numero, parsed.user, parsed.created_at) == ("BT03-00041", "compta1.fd12", WHEN)
    assert parsed.digest == operation.digest


def test_the_digest_names_the_content_not_the_key_order() -> None:
    operation = _operation()
    reordered = Operation(**{**operation.__dict__, "payload": dict(reversed(list(operation.payload.items())))})
    assert reordered.digest == operation.digest
    assert _operation(quantity="4.00").digest != operation.digest
    assert _operation(dossier="FD12-002").digest != operation.digest


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": "pas-un-uuid"}, "identifiant"),
        ({"id": "00000000-0000-4000-8000-00000000000A"}, "identifiant"),  # upper case: not ours
        ({"dossier": "../etc"}, "code de dossier"),
        ({"type": "facture"}, "type inconnu"),
        ({"saisie": {"tiers_id": "7"}}, "saisie invalide"),
        ({"saisie": {"tiers_id": 7, "activite_id": "2", "date": "2026-03-04", "quantite": "1"}}, "saisie invalide"),
        ({"numero_local": "BT 03"}, "numéro local"),
        ({"utilisateur": "x" * 65}, "utilisateur"),
        ({"saisi_le": "hier"}, "date de saisie"),
    ],
)
def test_one_bad_operation_refuses_the_whole_batch_naming_it(change: dict[str, object], problem: str) -> None:
    good = json.loads(_operation(1).line())
    bad = json.dumps({**json.loads(_operation(2).line()), **change}).encode()
    with pytest.raises(ProtocolError) as refused:
        parse_batch(json.dumps(good).encode() + b"\n" + bad + b"\n")
    assert refused.value.code == "bad_request"
    assert "opération 2" in refused.value.message and problem in refused.value.message
    assert "aucune opération n'a été appliquée" in refused.value.message


def test_malformed_empty_duplicated_or_oversized_batches_are_refused() -> None:
    for raw, code, words in [
        (b"", "bad_request", "une ligne JSON"),
        (b"{pas du json\n", "bad_request", "illisible"),
        (b"[1, 2]\n", "bad_request", "objet JSON"),
        (_operation(1).line() + _operation(1).line(), "bad_request", "en double"),
        (_operation(1).line() * (MAX_OPERATIONS_PER_REPLAY + 1), "request_too_large", "la limite"),
    ]:
        with pytest.raises(ProtocolError) as refused:
            parse_batch(raw)
        assert refused.value.code == code and words in refused.value.message, raw[:60]


def test_an_operation_never_applied_must_be_applied_now() -> None:
    assert replayed_before(_operation(), None) is None


def test_an_operation_applied_before_answers_the_same_central_number() -> None:
    operation = _operation()
    recorded = Applied(operation.digest, operation.dossier, 112, "BT03-00112")
    outcome = replayed_before(operation, recorded)
    assert outcome == Outcome(operation.id, ALREADY_APPLIED, "BT03-00041", 112, "BT03-00112")
    assert outcome.done


def test_an_id_reused_for_another_entry_is_refused_not_taken_for_a_replay() -> None:
    first = _operation()
    other = _operation(quantity="9.00")
    outcome = replayed_before(other, Applied(first.digest, first.dossier, 112, "BT03-00112"))
    assert outcome is not None and outcome.status == REFUSED and not outcome.done
    assert outcome.central_numero is None and "a déjà servi à une autre saisie" in (outcome.reason or "")


def test_answers_are_read_back_against_what_was_sent() -> None:
    sent = {o.id: o for o in (_operation(1), _operation(2), _operation(3))}
    applied = Outcome(_operation(1).id, APPLIED, "BT03-00041", 120, "BT03-00120")
    refused = Outcome(_operation(2).id, REFUSED, "BT03-00042", reason="l'exercice 2026 est clôturé")
    for outcome in (applied, refused):
        line = json.dumps(outcome.as_json()).encode()
        assert parse_outcome(line, sent) == outcome
    stranger = json.dumps({"id": "00000000-0000-4000-8000-999999999999", "etat": APPLIED}).encode()
    with pytest.raises(ValueError, match="non envoyée"):
        parse_outcome(stranger, sent)
    unnumbered = json.dumps({"id": _operation(3).id, "etat": APPLIED}).encode()
    with pytest.raises(ValueError, match="sans numéro central"):
        parse_outcome(unnumbered, sent)
    with pytest.raises(ValueError, match="état de réponse inconnu"):
        parse_outcome(json.dumps({"id": _operation(3).id, "etat": "peut-etre"}).encode(), sent)


def test_the_renumbering_lists_every_operation_done_and_no_refused_one() -> None:
    outcomes = [
        Outcome(_operation(1).id, APPLIED, "BT03-00041", 120, "BT03-00120"),
        Outcome(_operation(2).id, REFUSED, "BT03-00042", reason="exercice clôturé"),
        Outcome(_operation(3).id, ALREADY_APPLIED, "BT03-00043", 118, "BT03-00118"),
    ]
    assert renumbering(outcomes) == [("BT03-00041", "BT03-00120"), ("BT03-00043", "BT03-00118")]
