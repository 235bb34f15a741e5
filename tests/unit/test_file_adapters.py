"""The guardian's adapters that need no Docker, on real files and loopback sockets: the
backups volume (staged files that appear only on commit, a full disk), the state volume,
the alert notifier (a tiny SMTP server and an HTTP sink), and the real wiring."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import errno
import http.server
import json
import os
import re
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from appliance.adapters.backups_store import FilesystemBackups
from appliance.adapters.notifier import MailAndWebhookNotifier, MailSettings, alert_message
from appliance.adapters.state_store import FileStateStore
from appliance.errors import BadRequest, Refused
from appliance.guardian.wiring import adapters, build
from tests.fakes.guardian import config
from tests.support.backups import Dossier, backup_zip, system_zip


def test_a_staged_backup_appears_only_when_committed_and_is_synced(tmp_path: Path) -> None:
    store = FilesystemBackups(tmp_path)
    staged = store.new_data("2026-11-28T12-00-00Z.zip")
    with staged.writer() as sink:
        sink.write(backup_zip([Dossier(100001, "120001", 1)]))
    assert store.data_backups() == [], "the hidden .part file is not listed"
    assert store.verify_data(staged.reader, staged.name).manifest.dossiers[0].code == "120001"
    staged.commit()
    assert [f.name for f in store.data_backups()] == ["2026-11-28T12-00-00Z.zip"]
    assert store.manifest("2026-11-28T12-00-00Z.zip") is not None
    staged.discard()
    assert (tmp_path / "data" / "2026-11-28T12-00-00Z.zip").exists(), "a committed file is never discarded"


def test_a_discarded_file_leaves_nothing_and_bad_names_are_refused(tmp_path: Path) -> None:
    store = FilesystemBackups(tmp_path)
    staged = store.new_data("2026-11-28T12-00-00Z.zip")
    with staged.writer() as sink:
        sink.write(b"half a zip")
    staged.discard()
    assert list((tmp_path / "data").iterdir()) == []
    for bad in ("../x.zip", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            store.new_data(bad)
    (tmp_path / "data" / "junk.zip").write_bytes(b"junk")
    assert store.manifest("junk.zip") is None
    with pytest.raises(BadRequest, match="not a readable zip"):
        store.verify_data(store.data_opener("junk.zip"), "junk.zip")


def test_a_full_disk_reaches_the_writer_of_a_staged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FilesystemBackups(tmp_path)
    staged = store.new_system()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught, staged.writer() as sink:
        sink.write(system_zip({"a.txt": b"a"}))
    assert caught.value.errno == errno.ENOSPC, "the flush and sync at close report it"
    staged.discard()
    assert store.system_zip() is None


def test_system_zip_and_scratch(tmp_path: Path) -> None:
    store = FilesystemBackups(tmp_path)
    staged = store.new_system()
    with staged.writer() as sink:
        sink.write(system_zip({"modeles/f.html": b"<p>f</p>"}))
    staged.commit()
    assert store.verify_system(store.system_opener()) == 1 and store.system_zip() is not None
    scratch = store.new_scratch("pull.zip")
    with scratch.writer() as sink:
        sink.write(b"x")
    store.clean_scratch()
    assert not (tmp_path / ".work").exists()
    copy = store.new_local_copy("2026-11-28T12-00-00Z-120001-remontee.zip")
    assert copy.location == str(tmp_path / "local" / "2026-11-28T12-00-00Z-120001-remontee.zip")


def test_the_state_store_keeps_private_documents_one_lock_and_signals(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path / "state")
    store.write("credentials", {"login": "resp.fd12"})
    assert store.read("credentials") == {"login": "resp.fd12"} and store.read("missing") == {}
    assert os.stat(tmp_path / "state" / "credentials.json").st_mode & 0o777 == 0o600
    with pytest.raises(ValueError):
        store.read("../etc/passwd")
    assert store.touched_at("refresh-requested") == 0.0
    store.touch("refresh-requested")
    assert store.touched_at("refresh-requested") > 0
    assert store.secret("console-secret") == store.secret("console-secret") and len(store.secret("s")) >= 32
    with store.lock("sauvegarde"), pytest.raises(Refused, match="sauvegarde"), store.lock("synchronisation"):
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to take one message."""

    received: ClassVar[list[str]] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        data = False
        lines: list[str] = []
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    _Smtp.received.append("\n".join(lines))
                    self.wfile.write(b"250 ok\r\n")
                else:
                    lines.append(line)
                continue
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250 test\r\n")
            elif verb == "DATA":
                data = True
                self.wfile.write(b"354 go\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class _Sink(http.server.BaseHTTPRequestHandler):
    posted: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        _Sink.posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture()
def servers() -> Iterator[tuple[int, int]]:
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    for server in (smtp, web):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield smtp.server_address[1], web.server_address[1]
    for server in (smtp, web):
        server.shutdown()
        server.server_close()


def test_the_notifier_emails_and_posts_and_a_dead_channel_is_only_logged(
    servers: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    smtp_port, web_port = servers
    mail = MailSettings("127.0.0.1", smtp_port, False, "", "", "guardian@centre.fr", "it@centre.fr")
    notifier = MailAndWebhookNotifier(mail, f"http://127.0.0.1:{web_port}/hook")
    notifier.send("[NeoCuma Guardian] FD12 : rouge", "Cause : test\n", {"indicator": "serveur_local", "green": False})
    assert "Subject: [NeoCuma Guardian] FD12 : rouge" in _Smtp.received[-1] and "Cause : test" in _Smtp.received[-1]
    assert _Sink.posted[-1] == {"indicator": "serveur_local", "green": False}
    dead = MailAndWebhookNotifier(MailSettings("127.0.0.1", 1, False, "", "", "a@b", "c@d"), "http://127.0.0.1:1/")
    dead.send("s", "b", {"indicator": "x"})
    assert "n'a pas pu être envoyé" in caplog.text and "le webhook sur x a échoué" in caplog.text
    MailAndWebhookNotifier(MailSettings("", 25, False, "", "", "a@b", ""), "").send("s", "b", {})


def test_an_alert_email_has_a_date_and_a_unique_message_id(servers: tuple[int, int]) -> None:
    smtp_port, _ = servers
    mail = MailSettings("127.0.0.1", smtp_port, False, "", "", "Guardian FD12 <guardian@centre.fr>", "it@centre.fr")
    before = time.time()
    for _ in range(2):
        MailAndWebhookNotifier(mail, "").send("[NeoCuma Guardian] FD12 : rouge", "Cause : test\n", {"indicator": "x"})
    received = [email.message_from_string(text, policy=email.policy.default) for text in _Smtp.received[-2:]]
    for message in received:
        sent_at = email.utils.parsedate_to_datetime(message["Date"])
        assert sent_at.tzinfo is not None and before - 2 <= sent_at.timestamp() <= time.time() + 2, message["Date"]
        assert re.fullmatch(r"<[^<>@\s]+@centre\.fr>", message["Message-ID"]), message["Message-ID"]
    assert received[0]["Message-ID"] != received[1]["Message-ID"]
    no_domain = MailSettings("127.0.0.1", smtp_port, False, "", "", "guardian", "it@centre.fr")
    assert alert_message(no_domain, "s", "b")["Message-ID"].endswith("@neocuma-guardian.invalid>")


def test_an_smtp_password_is_never_sent_without_starttls(
    servers: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    smtp_port, _ = servers
    before = len(_Smtp.received)
    clear = MailSettings("127.0.0.1", smtp_port, False, "guardian", "s3cret", "guardian@centre.fr", "it@centre.fr")
    MailAndWebhookNotifier(clear, "").send("s", "b", {"indicator": "x"})
    assert len(_Smtp.received) == before and "NEOCUMA_SMTP_STARTTLS est désactivé" in caplog.text
    assert "s3cret" not in caplog.text


def test_the_real_wiring_builds_without_connecting_anywhere(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    real = config(
        NEOCUMA_GUARDIAN_STATE_DIR=str(tmp_path / "state"),
        NEOCUMA_BACKUPS_DIR=str(tmp_path / "b"),
        NEOCUMA_CENTRES_FILE=str(root / "config" / "centres.toml"),
    )
    ports = adapters(real)
    parts = build(real, ports)
    assert parts.ports.central.address == "remote-neocuma:2222"
    assert parts.ports.backups.data_backups() == [] and parts.state.logged_in() is False
    assert ports.published_key() is None and "FD12" in {c.code for c in ports.centres()}
    assert "db_password" not in repr(ports.database.settings)  # type: ignore[attr-defined]


def test_unfinished_temporaries_are_removed_and_nothing_else(tmp_path: Path) -> None:
    store = FilesystemBackups(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".2026-11-28T12-00-00Z.zip.part").write_bytes(b"half")
    (tmp_path / ".system.zip.part").write_bytes(b"half")
    (tmp_path / "data" / "2026-11-27T12-00-00Z.zip").write_bytes(b"kept")
    (tmp_path / ".work").mkdir()
    (tmp_path / ".work" / ".2026-11-28T13-00-00Z.zip.changes.part").write_bytes(b"a delta's start")
    (tmp_path / ".work" / ".pull-120001.zip.part").write_bytes(b"a pull's start")
    assert store.clean_partials() == [".system.zip.part"]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["2026-11-27T12-00-00Z.zip"]
    kept = sorted(p.name for p in (tmp_path / ".resume").iterdir())
    assert kept == ["2026-11-28T12-00-00Z.zip.part", "2026-11-28T13-00-00Z.zip.changes.part"], "kept to resume"
    assert [s.dossiers for s in store.salvages(dt.timedelta(hours=24), dt.datetime.now(dt.UTC))] == [{}, {}]
    store.drop_partials()
    assert not (tmp_path / ".resume").exists()


def test_the_room_a_push_needs_is_read_from_the_zip_and_covers_its_members_unpacked(tmp_path: Path) -> None:
    """A backup of tab-separated rows unpacks to several times its zip (docs/offsite.md):
    the room checked before a push is what unpacking takes, block by block."""
    from appliance.adapters.offsite_tree import unpack, unpacked_size

    zipped = tmp_path / "2026-12-01T02-00-00Z.zip"
    zipped.write_bytes(backup_zip([Dossier(100 + n, f"12{n:04d}", 3, rows=400) for n in range(20)]))
    needed = unpacked_size(lambda: zipped.open("rb"), zipped.name)
    tree = tmp_path / "tree"
    written = unpack(lambda: zipped.open("rb"), zipped.name, tree)
    taken = sum(path.stat().st_blocks * 512 for path in tree.rglob("*") if path.is_file())
    assert written > 2 * zipped.stat().st_size, "unpacked, a backup is several times its zip"
    assert needed >= taken and needed >= written
    assert needed < written * 1.5 + 200 * 4096, "not wildly more than it takes"
