"""Choosing what a delta holds (domain.changes) and the delta's manifest (domain.delta_manifest)."""

import json

import pytest

from appliance.domain.backup_format import parse_manifest
from appliance.domain.changes import (
    MAX_HELD_DOCUMENT_BYTES,
    CurrentDossier,
    HeldDossier,
    choose_changes,
    held_document,
    parse_held_document,
)
from appliance.domain.delta_manifest import DeltaDossier, DeltaManifest, parse_delta_manifest
from appliance.domain.protocol import MAX_DOSSIERS_PER_REQUEST, ProtocolError, parse_request
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.errors import BadRequest

CURRENT = [CurrentDossier(1, "120001", 5), CurrentDossier(2, "120002", 9), CurrentDossier(3, "120003", 0)]


def test_only_dossiers_held_with_the_same_id_and_revision_are_left_out() -> None:
    held = {
        "120001": HeldDossier(1, 5),  # as it is now
        "120002": HeldDossier(2, 8),  # its revision moved
        "120009": HeldDossier(9, 1),  # left the rights, or deleted
    }
    change = choose_changes(held, reversed(CURRENT))
    assert change.included == ("120002", "120003")  # 120003 is new to the guardian
    assert change.unchanged == ("120001",)
    assert change.removed == ("120009",)


def test_the_same_code_under_another_id_is_another_dossier() -> None:
    change = choose_changes({"120001": HeldDossier(7, 5)}, CURRENT)
    assert "120001" in change.included and change.removed == ()


def test_nothing_held_includes_everything_and_nothing_in_rights_removes_everything() -> None:
    assert choose_changes({}, CURRENT).included == ("120001", "120002", "120003")
    assert choose_changes({"120001": HeldDossier(1, 5)}, []).removed == ("120001",)


def test_the_document_round_trips() -> None:
    held = {"120002": HeldDossier(2, 8), "120001": HeldDossier(1, 2**63)}
    raw = held_document(held)
    assert raw.startswith(b'{"dossiers":{"120001":')
    assert parse_held_document(raw) == held
    assert parse_held_document(b'{"dossiers": {}}') == {}


def test_two_thousand_dossiers_fit_the_bound() -> None:
    held = {f"D{i:031d}": HeldDossier(4_000_000_000, 2**64 - 1) for i in range(MAX_DOSSIERS_PER_REQUEST)}
    assert len(held_document(held)) < MAX_HELD_DOCUMENT_BYTES


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "bad_request"),
        (b"\xff", "bad_request"),
        (b"[", "bad_request"),
        (b"[" * 100_000, "bad_request"),
        (b"[]", "bad_request"),
        (b'{"dossiers": {}, "x": 1}', "bad_request"),
        (b'{"dossiers": {"120001": 5}}', "bad_request"),
        (b'{"dossiers": {"120001": {"id": 1}}}', "bad_request"),
        (b'{"dossiers": {"120001": {"id": 1, "revision": true}}}', "bad_request"),
        (b'{"dossiers": {"120001": {"id": 1, "revision": 1.5}}}', "bad_request"),
        (b'{"dossiers": {"120001": {"id": 1, "revision": 18446744073709551616}}}', "bad_request"),
        (b'{"dossiers": {"120001\\n": {"id": 1, "revision": 1}}}', "bad_request"),
        (b" " * (MAX_HELD_DOCUMENT_BYTES + 1), "request_too_large"),
        (
            json.dumps({"dossiers": {str(i): {"id": 1, "revision": 1} for i in range(2001)}}).encode(),
            "request_too_large",
        ),
    ],
)
def test_a_bad_document_is_refused_with_a_french_message(raw: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_held_document(raw)
    assert caught.value.code == code
    assert caught.value.line().count("\n") == 1
    assert "document des révisions" in caught.value.message or "dossiers envoyés" in caught.value.message


def test_the_request_takes_no_argument() -> None:
    assert parse_request(b"v1 export-changes").command == "export-changes"
    with pytest.raises(ProtocolError, match="ne prend pas d'argument"):
        parse_request(b"v1 export-changes 120001")


def _digest(rows: int = 1) -> dict[str, object]:
    return {"sha256": "0" * 64, "size": 10 * rows, "rows": rows}


def _delta_json() -> dict[str, object]:
    return {
        "format": "neocuma-data-changes",
        "format_version": 1,
        "created_at": "2026-12-02T07:00:00Z",
        "server": {"name": "central"},
        "schema_version": 1,
        "centre": {"code": "FD12", "nom": "FDCUMA"},
        "user": {"login": "resp.fd12", "profil": "responsable_departemental"},
        "tables": {},
        "centre_tables": {t.name: _digest() for t in REFERENCE_TABLES + CENTRE_TABLES},
        "dossiers": [
            {"id": 1, "code": "120001", "revision": 5, "included": False},
            {
                "id": 2,
                "code": "120002",
                "revision": 9,
                "included": True,
                "tables": {t.name: _digest() for t in DOSSIER_TABLES},
            },
        ],
        "removed": ["120009"],
    }


def test_the_delta_manifest_round_trips_and_lists_the_included_members_only() -> None:
    manifest = parse_delta_manifest(json.dumps(_delta_json()).encode())
    assert [d.code for d in manifest.included()] == ["120002"] and manifest.removed == ["120009"]
    assert not manifest.dossiers[0].included
    members = manifest.all_members()
    assert not any(name.startswith("dossiers/120001/") for name in members)
    assert sum(name.startswith("dossiers/120002/") for name in members) == len(DOSSIER_TABLES)
    assert parse_delta_manifest(manifest.to_json()) == manifest


def test_a_delta_is_refused_as_a_complete_backup_and_a_backup_as_a_delta() -> None:
    with pytest.raises(BadRequest, match="not a complete backup"):
        parse_manifest(json.dumps(_delta_json()).encode())
    full = dict(_delta_json(), format="neocuma-data-backup")
    with pytest.raises(BadRequest, match="expected 'neocuma-data-changes'"):
        parse_delta_manifest(json.dumps(full).encode())


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["dossiers"][0].update(included=None),
        lambda m: m["dossiers"][0].update(tables={}),
        lambda m: m["dossiers"][1].pop("tables"),
        lambda m: m["dossiers"][1]["tables"].popitem(),
        lambda m: m.update(removed="120009"),
        lambda m: m.update(removed=["120001"]),
        lambda m: m.update(removed=["../x"]),
        lambda m: m["centre_tables"].popitem(),
        lambda m: m["dossiers"].append(dict(m["dossiers"][0])),
    ],
)
def test_a_damaged_delta_manifest_is_refused(change: object) -> None:
    data = _delta_json()
    change(data)  # type: ignore[operator]
    with pytest.raises(BadRequest):
        parse_delta_manifest(json.dumps(data).encode())


def test_a_delta_dossier_without_tables_is_not_included() -> None:
    assert not DeltaDossier(1, "120001", 5, None).included
    assert DeltaManifest("t", {}, 1, {}, {}, {}, []).included() == []


def test_seeded_hostile_documents_are_parsed_or_refused_never_crash() -> None:
    """Random bytes changed, cut or repeated in a valid document: a held set or a refusal."""
    import random

    rng = random.Random(13)
    valid = held_document({f"12000{i}": HeldDossier(i + 1, i * 3) for i in range(8)})
    for _ in range(2000):
        raw = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(raw))
            kind = rng.random()
            if kind < 0.5:
                raw[position] = rng.randrange(256)
            elif kind < 0.8:
                del raw[position:]
            else:
                raw[position:position] = raw[position : position + rng.randint(1, 40)]
            if not raw:
                break
        try:
            held = parse_held_document(bytes(raw))
        except ProtocolError as error:
            assert error.code in ("bad_request", "request_too_large") and error.line().count("\n") == 1
        else:
            assert all(0 <= h.id < 2**64 and 0 <= h.revision < 2**64 for h in held.values())
