"""The delta's writer (adapters/changes_writer.py), fed by a fake ``mariadb`` client, and its
verification (adapters/delta_reader.py)."""

import io
import zipfile

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.changes_writer import ChangesRequest, changes_script, stream_changes
from appliance.adapters.delta_reader import verify_delta
from appliance.domain.backup_format import centre_member, dossier_member
from appliance.domain.changes import HeldDossier
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.errors import BadRequest, Unavailable
from tests.unit.test_export_stream import REQUEST, FakeClient

HELD = {"120001": HeldDossier(100001, 5), "120003": HeldDossier(100003, 8), "120099": HeldDossier(7, 1)}
DOSSIER_ROWS = (
    b"100001\tFD12\t120001\t\\N\tnom\tCUMA\t0\t0\t0\t1\t5\t2026-01-01 00:00:00\n"
    b"100003\tFD12\t120003\t\\N\tnom\tCUMA\t0\t0\t0\t1\t9\t2026-01-01 00:00:00\n"
)


def _output(codes: list[str], dossier_rows: bytes = DOSSIER_ROWS) -> bytes:
    """What the client prints when the snapshot includes the members of ``codes``."""
    out = bytearray()
    for table in REFERENCE_TABLES + CENTRE_TABLES:
        out += b"\x00" + centre_member(table).encode() + b"\n"
        out += dossier_rows if table.name == "dossier" else b"1\tx\n"
    ids = {"120001": 100001, "120003": 100003}
    for code in codes:
        for table in DOSSIER_TABLES:
            out += b"\x00" + dossier_member(code, table).encode() + b"\n" + f"{ids[code]}\t1\tv\n".encode()
    return bytes(out + b"\x00end\n")


def test_a_held_dossier_is_selected_on_its_revision_in_the_snapshot_and_a_new_one_always() -> None:
    script = changes_script(ChangesRequest(REQUEST, {"120001": HeldDossier(100001, 5)}))
    assert script.count("AND `revision` <> 5") == 2 * len(DOSSIER_TABLES)  # each member's marker and rows
    member = dossier_member("120003", DOSSIER_TABLES[0])
    assert f"SELECT CONCAT(CHAR(0), '{member}');" in script


def test_a_held_dossier_unchanged_when_the_rights_were_read_is_not_asked_for() -> None:
    held = {"120001": HeldDossier(100001, 5), "120003": HeldDossier(100003, 8)}
    script = changes_script(ChangesRequest(REQUEST, held, frozenset({"120003"})))
    assert dossier_member("120001", DOSSIER_TABLES[0]) not in script, "no statement for an unchanged dossier"
    assert script.count("AND `revision` <> 8") == 2 * len(DOSSIER_TABLES), "a candidate still checked in the snapshot"
    output = io.BytesIO()
    stream_changes(ChangesRequest(REQUEST, held, frozenset({"120003"})), FakeClient(_output(["120003"])), output)
    assert [d.included for d in verify_delta(lambda: io.BytesIO(output.getvalue())).manifest.dossiers] == [False, True]
    # 120001 written between the rights' read and the snapshot: its rows were not asked for,
    # the snapshot's revision says it changed: the export fails rather than list it wrongly.
    rows = DOSSIER_ROWS.replace(b"\t5\t2026", b"\t6\t2026")
    with pytest.raises(Unavailable, match="120001"):
        stream_changes(
            ChangesRequest(REQUEST, held, frozenset({"120003"})), FakeClient(_output(["120003"], rows)), io.BytesIO()
        )


def test_the_delta_holds_the_changed_dossiers_lists_all_and_names_the_removed() -> None:
    output = io.BytesIO()
    summary = stream_changes(ChangesRequest(REQUEST, HELD), FakeClient(_output(["120003"])), output)
    assert (summary.dossiers, summary.included, summary.removed) == (2, 1, 1)
    delta = verify_delta(lambda: io.BytesIO(output.getvalue())).manifest
    assert [(d.code, d.revision, d.included) for d in delta.dossiers] == [("120001", 5, False), ("120003", 9, True)]
    assert delta.removed == ["120099"]
    assert zipfile.ZipFile(io.BytesIO(output.getvalue())).namelist()[-1] == "manifest.json"
    with pytest.raises(BadRequest, match="not a complete backup"):
        verify_backup(lambda: io.BytesIO(output.getvalue()))


def test_members_that_disagree_with_the_snapshots_revisions_fail_the_delta() -> None:
    output = io.BytesIO()
    with pytest.raises(Unavailable, match=r"modifié.*pendant le début de l'export.*120001"):
        stream_changes(ChangesRequest(REQUEST, HELD), FakeClient(_output(["120001", "120003"])), output)
    assert b"manifest.json" not in output.getvalue()
    with pytest.raises(Unavailable, match="vanished"):
        stream_changes(
            ChangesRequest(REQUEST, HELD), FakeClient(_output([], DOSSIER_ROWS.split(b"\n")[0] + b"\n")), io.BytesIO()
        )


def test_a_delta_whose_rows_belong_to_another_dossier_does_not_verify() -> None:
    output = io.BytesIO()
    stream_changes(ChangesRequest(REQUEST, {}), FakeClient(_output(["120001", "120003"])), output)
    raw = output.getvalue()
    member = dossier_member("120003", DOSSIER_TABLES[0]).encode()
    source = zipfile.ZipFile(io.BytesIO(raw))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, b"100001\t1\tv\n" if name == member.decode() else data)
    with pytest.raises(BadRequest, match="another dossier"):
        verify_delta(lambda: io.BytesIO(rebuilt.getvalue()))
