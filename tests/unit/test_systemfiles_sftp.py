"""System-file manifests and the read-only SFTP interface, on a temporary directory."""

import hashlib
import os
from pathlib import Path

import paramiko
import pytest

from appliance.domain.system_manifest import safe_path as safe_relative_name
from appliance.server.sftp import ReadOnlySftpServer
from appliance.server.store import Live
from appliance.server.systemfiles import SystemFiles


class FakeStore:
    def __init__(self, generation: int | None) -> None:
        self.generation = generation

    def live(self) -> Live:
        return Live(self.generation, self.generation, "standby")


@pytest.fixture()
def system(tmp_path: Path) -> SystemFiles:
    root = tmp_path / "system"
    generation = root / "g3"
    (generation / "modeles").mkdir(parents=True)
    (generation / "modeles" / "facture.html").write_text("<h1>Facture</h1>")
    (generation / "config.ini").write_bytes(b"x" * 1000)
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", generation / "lien")
    return SystemFiles(root)


def _sftp(system: SystemFiles, generation: int | None = 3) -> ReadOnlySftpServer:
    server = ReadOnlySftpServer(object(), FakeStore(generation), system)  # type: ignore[arg-type]
    server.session_started()
    return server


def test_manifest_lists_regular_files_with_digests_and_skips_links(system: SystemFiles) -> None:
    text = system.manifest(3).decode()
    lines = text.splitlines()
    assert lines[0] == "# neocuma-system-manifest 1"
    assert lines[1] == "# generation 3"
    expected = hashlib.sha256(b"x" * 1000).hexdigest()
    assert f"{expected} 1000 config.ini" in lines
    assert not any("lien" in line for line in lines)
    assert len(lines) == 4


def test_listing_shows_the_virtual_manifest_and_no_link(system: SystemFiles) -> None:
    names = sorted(a.filename for a in _sftp(system).list_folder("/"))  # type: ignore[union-attr]
    assert names == ["MANIFEST", "config.ini", "modeles"]


def test_reads_work_and_escapes_fail(system: SystemFiles) -> None:
    sftp = _sftp(system)
    handle = sftp.open("/modeles/facture.html", os.O_RDONLY, paramiko.SFTPAttributes())
    assert isinstance(handle, paramiko.SFTPHandle)
    assert handle.read(0, 100) == b"<h1>Facture</h1>"
    handle.close()
    manifest = sftp.open("MANIFEST", os.O_RDONLY, paramiko.SFTPAttributes())
    assert manifest.read(0, 50).startswith(b"# neocuma-system-manifest")  # type: ignore[union-attr]
    manifest.close()  # type: ignore[union-attr]
    assert sftp.open("/lien", os.O_RDONLY, paramiko.SFTPAttributes()) == paramiko.SFTP_PERMISSION_DENIED
    assert sftp.open("/../secret", os.O_RDONLY, paramiko.SFTPAttributes()) == paramiko.SFTP_NO_SUCH_FILE
    assert sftp.stat("//../../etc/passwd") == paramiko.SFTP_NO_SUCH_FILE


def test_every_write_is_refused(system: SystemFiles) -> None:
    sftp = _sftp(system)
    for flags in (os.O_WRONLY | os.O_CREAT, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
        assert sftp.open("/config.ini", flags, paramiko.SFTPAttributes()) == paramiko.SFTP_PERMISSION_DENIED
    assert sftp.remove("/config.ini") == paramiko.SFTP_PERMISSION_DENIED
    assert sftp.rename("/config.ini", "/x") == paramiko.SFTP_PERMISSION_DENIED
    assert sftp.mkdir("/d", paramiko.SFTPAttributes()) == paramiko.SFTP_PERMISSION_DENIED
    assert (system.directory(3) / "config.ini").read_bytes() == b"x" * 1000


def test_no_live_system_generation_serves_nothing(system: SystemFiles) -> None:
    assert _sftp(system, None).list_folder("/") == paramiko.SFTP_NO_SUCH_FILE


def test_safe_names() -> None:
    assert safe_relative_name("a/b.txt")
    for bad in ("", "/a", "a/../b", "a//b", "a\nb", "a\\b", "./a"):
        assert not safe_relative_name(bad)


def test_pre_restore_copies_are_listed_resolved_and_pruned(tmp_path: Path) -> None:
    import datetime as dt

    from appliance.server.prerestore import PreRestoreStore

    store = PreRestoreStore(tmp_path, keep_days=30)
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    old = store.new_path("120003", 4, now - dt.timedelta(days=31))
    recent = store.new_path("120003", 9, now - dt.timedelta(days=1))
    other = store.new_path("120005", 2, now)
    for path in (old, recent, other):
        path.write_bytes(b"zip")
    (tmp_path / "120003" / "notes.txt").write_text("ignored")
    assert [c.revision for c in store.copies("120003")] == [9, 4]
    assert store.resolve(f"120003/{recent.name}") == recent
    for bad in ("../x", "120003/notes.txt", "120003/../../etc/passwd", f"120004/{recent.name}"):
        with pytest.raises(ValueError):
            store.resolve(bad)
    assert store.prune(now) == [old]
    assert [c.path for c in store.copies()] == [other, recent]


def test_the_central_servers_templates_render_only_allowed_html(tmp_path: Path) -> None:
    """Issue 12, finding 11: a template from the central server rendered raw on local pages."""
    from appliance.server.web.system_templates import SystemTemplates

    modeles = tmp_path / "g1" / "modeles"
    modeles.mkdir(parents=True)
    (modeles / "entete.html").write_text(
        '<div class="entete" onclick="steal()">{{ server_name }}<script>steal()</script>'
        '<a href="javascript:steal()">x</a><a href="https://fdcuma.example/">site</a>'
        '<img src="logo.png" onerror="steal()"><style>body{display:none}</style>'
        "<iframe src=https://evil.example></iframe></div>"
    )
    html = str(SystemTemplates(SystemFiles(tmp_path)).render(1, "entete.html", server_name="<local>"))
    assert '<div class="entete">&lt;local&gt;' in html and '<a href="https://fdcuma.example/"' in html
    assert '<img src="logo.png">' in html
    for banned in ("script", "onclick", "onerror", "javascript:", "<style", "iframe", "steal"):
        assert banned not in html, (banned, html)


def test_the_demo_header_renders_with_what_the_pages_give_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The demo entete.html used {{ centre.nom }}, which no page passes: every page of a
    demo-seeded server logged an ERROR and showed no header (found by bench/load.py)."""
    from appliance.server.seed.demo_files import write_demo_files
    from appliance.server.web.system_templates import SystemTemplates

    write_demo_files(tmp_path / "g1", "central", 1, ["120001"])
    html = str(SystemTemplates(SystemFiles(tmp_path)).render(1, "entete.html", server_name="central"))  # as base.html
    assert "NeoCuma — central" in html
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
