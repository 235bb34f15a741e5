import json

import pytest

from appliance.domain.backup_format import (
    LOAD_MEMBER,
    SCHEMA_MEMBER,
    DossierEntry,
    Manifest,
    MemberDigest,
    dossier_member,
    load_script,
    parse_manifest,
    valid_dossier_code,
)
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, TABLES_BY_NAME
from appliance.errors import BadRequest

SHA = "a" * 64


def _manifest() -> Manifest:
    digest = MemberDigest(SHA, 10, 2)
    return Manifest(
        created_at="2026-11-28T10:00:00Z",
        server={"name": "s"},
        schema_version=1,
        centre={"code": "FD12", "nom": "x"},
        user={"login": "resp.fd12", "profil": "responsable_departemental"},
        members={SCHEMA_MEMBER: MemberDigest(SHA, 1), LOAD_MEMBER: MemberDigest(SHA, 1)},
        centre_tables={t.name: digest for t in REFERENCE_TABLES + CENTRE_TABLES},
        dossiers=[DossierEntry(100001, "120001", 7, {t.name: digest for t in DOSSIER_TABLES})],
    )


def test_manifest_round_trip() -> None:
    parsed = parse_manifest(_manifest().to_json())
    assert parsed.dossiers[0].revision == 7
    assert parsed.dossiers[0].rows() == 2 * len(DOSSIER_TABLES)
    assert dossier_member("120001", TABLES_BY_NAME["tiers"]) in parsed.all_members()


def _mutated(change: object) -> bytes:
    data = json.loads(_manifest().to_json())
    change(data)  # type: ignore[operator]
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(format="zip"), "format"),
        (lambda d: d.update(format_version=99), "format_version"),
        (lambda d: d["members"].pop("load.sql"), "load.sql"),
        (lambda d: d["centre_tables"].pop("utilisateur"), "centre tables"),
        (lambda d: d["dossiers"][0]["tables"].pop("tiers"), "dossier tables"),
        (lambda d: d["dossiers"][0].update(code="../x"), "invalid dossier code"),
        (lambda d: d["dossiers"].append(d["dossiers"][0]), "twice"),
        (lambda d: d["dossiers"][0]["tables"]["tiers"].update(sha256="zz"), "sha256"),
        (lambda d: d["dossiers"][0]["tables"]["tiers"].update(rows=-1), "row count"),
        (lambda d: d.update(tables={"tiers": 1}), "columns of table 'tiers'"),
        (lambda d: d.update(tables={"tiers": "code"}), "columns of table 'tiers'"),
        (lambda d: d.update(tables={"tiers": [1, 2]}), "columns of table 'tiers'"),
        # JSON true is no number, though Python reads it as 1 (issue 12's hostile loads).
        (lambda d: d["dossiers"][0].update(revision=True), "invalid id or revision"),
        (lambda d: d["dossiers"][0].update(id=True), "invalid id or revision"),
        (lambda d: d["dossiers"][0]["tables"]["tiers"].update(rows=True), "row count"),
        (lambda d: d["dossiers"][0]["tables"]["tiers"].update(size=False), "valid size"),
        (lambda d: d.update(schema_version=True), "schema_version"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(change: object, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_manifest(_mutated(change))
    assert words in str(caught.value)


@pytest.mark.parametrize("deep", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_a_manifest_nested_too_deep_is_refused_not_a_crash(deep: bytes) -> None:
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_manifest(deep)


def test_garbage_is_refused() -> None:
    for raw in (b"\xff", b"[]", b"{", b"null"):
        with pytest.raises(BadRequest):
            parse_manifest(raw)


def test_dossier_codes() -> None:
    assert valid_dossier_code("120001")
    assert valid_dossier_code("AGC-01.b")
    for bad in ("", "../x", "a/b", "-x", "x" * 40, "a b", "120001\n", "１２０００１"):
        assert not valid_dossier_code(bad)


def test_load_script_names_every_member_and_column() -> None:
    table = TABLES_BY_NAME["tiers"]
    script = load_script([("dossiers/1/tiers.tsv", table)])
    assert "SOURCE schema.sql;" in script
    assert (
        "LOAD DATA LOCAL INFILE 'dossiers/1/tiers.tsv' INTO TABLE `tiers` CHARACTER SET utf8mb4 (`dossier_id`" in script
    )
