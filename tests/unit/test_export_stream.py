"""The export's demultiplexer and zip writer, fed by a fake ``mariadb`` client."""

import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest

from appliance.adapters.backup_writer import ExportRequest, export_members, export_script, select_tsv, stream_export
from appliance.adapters.mysql import ClientProcess
from appliance.domain.backup_format import parse_manifest
from appliance.domain.schema import DOSSIER_TABLES, TABLES_BY_NAME
from appliance.errors import Unavailable

REQUEST = ExportRequest(
    schema="neocuma_g1",
    data_generation=1,
    centre_code="FD12",
    centre_name="FDCUMA",
    user_login="resp.fd12",
    user_profile="responsable_departemental",
    dossiers=[(100001, "120001"), (100003, "120003")],
    server_name="test",
    server_role="central",
)


def _client_output(rows_per_member: int = 3, end: bool = True) -> bytes:
    out = bytearray()
    for member, table, _ in export_members(REQUEST):
        out += b"\x00" + member.encode() + b"\n"
        if table.name == "dossier":
            out += b"100001\tFD12\t120001\t\\N\tnom\tCUMA\t0\t0\t0\t1\t5\t2026-01-01 00:00:00\n"
            out += b"100003\tFD12\t120003\t\\N\tnom\tCUMA\t0\t0\t0\t1\t9\t2026-01-01 00:00:00\n"
        else:
            for i in range(rows_per_member):
                out += f"{i}\tvaleur avec \\t tab\t\\N\n".encode()
    if end:
        out += b"\x00end\n"
    return bytes(out)


class FakeClient:
    """Starts a real process that prints a canned stream, like ``mariadb --batch --raw``."""

    def __init__(self, output: bytes, status: int = 0) -> None:
        self.output = output
        self.status = status
        self.script = b""

    def start(self, extra_args: list[str]) -> ClientProcess:
        code = (
            "import sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(open(sys.argv[1],'rb').read());"
            f" sys.stderr.write('boom' if {self.status} else ''); sys.exit({self.status})"
        )
        import tempfile

        directory = tempfile.mkdtemp()
        path = f"{directory}/out"
        with open(path, "wb") as handle:
            handle.write(self.output)
        process = subprocess.Popen(
            [sys.executable, "-c", code, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        return ClientProcess(process, directory)


def test_stream_becomes_a_verified_zip() -> None:
    output = io.BytesIO()
    summary = stream_export(REQUEST, FakeClient(_client_output()), output, zip_level=1)
    archive = zipfile.ZipFile(io.BytesIO(output.getvalue()))
    names = archive.namelist()
    assert names[0] == "schema.sql" and names[-1] == "manifest.json"
    manifest = parse_manifest(archive.read("manifest.json"))
    assert [d.revision for d in manifest.dossiers] == [5, 9]
    for name, digest in manifest.all_members().items():
        data = archive.read(name)
        assert hashlib.sha256(data).hexdigest() == digest.sha256, name
        assert len(data) == digest.size
        if digest.rows is not None:
            assert data.count(b"\n") == digest.rows
    assert summary.dossiers == 2
    assert json.loads(archive.read("manifest.json"))["user"]["login"] == "resp.fd12"


def test_a_stream_cut_before_the_end_fails_and_leaves_no_manifest() -> None:
    output = io.BytesIO()
    with pytest.raises(Unavailable):
        stream_export(REQUEST, FakeClient(_client_output(end=False)), output)
    assert b"manifest.json" not in output.getvalue()


def test_a_failing_client_fails_the_export() -> None:
    with pytest.raises(Unavailable) as caught:
        stream_export(REQUEST, FakeClient(_client_output(), status=1), io.BytesIO())
    assert "boom" in str(caught.value)


def test_the_script_reads_one_snapshot_and_escapes_text() -> None:
    script = export_script(REQUEST)
    assert script.index("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") < script.index("SELECT CONCAT_WS")
    assert script.count("CHAR(0)") == len(export_members(REQUEST)) + 1
    tiers = select_tsv(TABLES_BY_NAME["tiers"], "neocuma_g1", "`dossier_id` = 1")
    assert "REPLACE(`nom`, '\\\\', '\\\\\\\\')" in tiers
    assert "'\\\\N'" in tiers
    assert tiers.endswith("ORDER BY `dossier_id`, `id`;")
    assert len(export_members(REQUEST)) == 2 * len(DOSSIER_TABLES) + 8
