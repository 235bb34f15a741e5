"""A pull writes the centre-scope rows of the pulled dossiers only (issue 12, finding 9)."""

from __future__ import annotations

import pytest

from appliance.domain.backup_format import centre_member, parse_manifest
from appliance.domain.pull_scope import check_pull_scope
from appliance.domain.schema import TABLES_BY_NAME
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members

PULLED = [Dossier(120001, "120001", 2), Dossier(120002, "120002", 2)]


def _members() -> tuple[object, dict[str, bytes]]:
    members = backup_members(PULLED)
    manifest = parse_manifest(members["manifest.json"])
    centre = {
        name: members[centre_member(TABLES_BY_NAME[name])]
        for name in ("centre", "dossier", "utilisateur", "droit_dossier")
    }
    return manifest, centre


def test_an_export_of_the_pulled_dossiers_passes() -> None:
    manifest, centre = _members()
    check_pull_scope(manifest, centre)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("table", "change", "words"),
    [
        (
            "dossier",
            lambda d: d + d.split(b"\n")[0].replace(b"120001", b"120999", 1) + b"\n",
            "ne tient pas exactement",
        ),
        ("dossier", lambda d: d.replace(b"\tFD12\t", b"\tFD24\t", 1), "n'est pas du centre FD12"),
        ("droit_dossier", lambda d: d + b"1\t120999\tecriture\n", "droit sur un autre dossier"),
        ("utilisateur", lambda d: d + b"77\tintrus\n", "sans droit sur les dossiers descendus"),
        ("centre", lambda d: d + b"FD24\tFDCUMA FD24\t24\t\\N\n", "le seul centre FD12"),
    ],
)
def test_a_row_of_anything_else_refuses_the_pull(table: str, change: object, words: str) -> None:
    manifest, centre = _members()
    centre[table] = change(centre[table])  # type: ignore[operator]
    with pytest.raises(BadRequest, match=words):
        check_pull_scope(manifest, centre)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new"), [(b"\t1\t2\t2026-01-01", b"\t1\t7\t2026-01-01"), (b"\t120001\t\\N", b"\t120009\t\\N")]
)
def test_a_dossier_row_without_the_manifests_code_and_revision_refuses_the_pull(old: bytes, new: bytes) -> None:
    """Found by tests/integration/test_hostile_loads.py: the manifest's revisions become the
    baselines, so a row holding another revision (or code) would hide local work done
    later, or invent some."""
    manifest, centre = _members()
    assert old in centre["dossier"]
    centre["dossier"] = centre["dossier"].replace(old, new, 1)
    with pytest.raises(BadRequest, match="n'a pas le code et la révision du manifeste"):
        check_pull_scope(manifest, centre)  # type: ignore[arg-type]
