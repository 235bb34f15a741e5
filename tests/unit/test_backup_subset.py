"""A backup of one dossier taken out of a dated backup: it verifies on its own, holds that
dossier's members byte for byte and the centre rows of that dossier only."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.backup_subset import write_dossier_subset
from appliance.errors import Refused
from tests.support.backups import Dossier, backup_zip

DOSSIERS = [Dossier(100001, "120001", 5), Dossier(100002, "120002", 3, rows=4), Dossier(100003, "120003", 8)]
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_one_dossier_out_of_a_backup_verifies_alone_and_keeps_only_its_rows() -> None:
    source_bytes = backup_zip(DOSSIERS)
    source = verify_backup(lambda: io.BytesIO(source_bytes), name="2026-11-28T12-00-00Z.zip")
    out = io.BytesIO()
    write_dossier_subset(source, "120002", out, NOW)
    subset = verify_backup(lambda: io.BytesIO(out.getvalue()), name="subset")
    assert [(d.code, d.revision) for d in subset.manifest.dossiers] == [("120002", 3)]
    assert subset.manifest.created_at == "2026-12-01T10:00:00Z" and subset.manifest.user == source.manifest.user
    original, copied = _members(source_bytes), _members(out.getvalue())
    for name in (n for n in original if n.startswith("dossiers/120002/")):
        assert copied[name] == original[name], name
    assert not any(n.startswith(("dossiers/120001/", "dossiers/120003/")) for n in copied)
    assert copied["centre/dossier.tsv"].startswith(b"100002\t") and copied["centre/dossier.tsv"].count(b"\n") == 1
    assert copied["centre/droit_dossier.tsv"] == b"1\t100002\tecriture\n1001\t100002\tlecture\n"
    assert copied["centre/utilisateur.tsv"] == b"1\tresp.fd12\n1001\tcompta1\n"
    assert copied["centre/ref_tva.tsv"] == original["centre/ref_tva.tsv"]
    assert b"dossiers/120002/tiers.tsv" in copied["load.sql"] and b"120001" not in copied["load.sql"]


def test_a_dossier_the_backup_does_not_hold_is_refused_by_name() -> None:
    data = backup_zip(DOSSIERS[:1])
    source = verify_backup(lambda: io.BytesIO(data), name="2026-11-28T12-00-00Z.zip")
    with pytest.raises(Refused, match=r"2026-11-28T12-00-00Z\.zip ne contient pas le dossier 120009"):
        write_dossier_subset(source, "120009", io.BytesIO(), NOW)
