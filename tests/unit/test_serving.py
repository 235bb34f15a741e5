"""HTTPS for NeoCuma Web and the console (issue 12, finding 10): a configured certificate is
served with TLS and only TLS, the guardian trusts exactly the local server's certificate,
bad TLS files stop the start with their name, and the containers' health probe follows."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, jsonify, request

from appliance.adapters.local_server import LocalWeb, pinned_context
from appliance.errors import ConfigError, Unavailable
from appliance.healthcheck import main, probe, probed
from appliance.web.serving import TlsFiles, check_tls, tls_files, web_server
from tests.support.tls import authority_and_leaves, self_signed


def _app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> object:
        return jsonify(status="ok", data_generation=4)

    @app.get("/forwarded")
    def forwarded() -> object:
        return jsonify(request.headers.getlist("X-Forwarded-For"))

    @app.get("/api/v1/check")
    def check() -> object:
        return jsonify(data_generation=4, dossiers=3)

    return app


def _free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


@contextmanager
def _serving(tls: TlsFiles | None) -> Iterator[int]:
    port = _free_port()
    server = web_server(_app(), "127.0.0.1", port, 2, "test", tls)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(10)
        assert not thread.is_alive(), "close() stops the server"


def test_a_configured_certificate_is_served_with_tls_only(tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path)
    with _serving(TlsFiles(certificate, key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port:
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/healthz", timeout=5, context=pinned_context(certificate)
        ) as response:
            assert response.status == 200
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)


def test_the_guardian_trusts_exactly_the_local_servers_certificate(tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path / "served")
    other, _ = self_signed(tmp_path / "other")
    with _serving(TlsFiles(certificate, key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port:
        # The stack's URL says http://neocuma:8080; with a certificate the guardian goes HTTPS.
        web = LocalWeb(f"http://127.0.0.1:{port}", "t" * 32, certificate)
        assert web.base_url.startswith("https://")
        assert web.healthz()["status"] == "ok" and web.dossier_count("resp.fd12") == (4, 3)
        with pytest.raises(Unavailable, match="CERTIFICATE_VERIFY_FAILED"):
            LocalWeb(f"http://127.0.0.1:{port}", "t" * 32, other).healthz()
        with pytest.raises(Unavailable):
            LocalWeb(f"http://127.0.0.1:{port}", "t" * 32).healthz()


def test_the_guardian_pins_the_first_certificate_of_a_file_holding_its_chain(tmp_path: Path) -> None:
    """A file with the leaf then its authority (docs/security.md): another certificate the
    same authority signed is refused, by its fingerprint, with the pinned one named."""
    (pinned, pinned_key), (sibling, sibling_key) = authority_and_leaves(
        tmp_path, "neocuma.centre.example", "autre.example"
    )
    with _serving(TlsFiles(pinned, pinned_key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port:
        assert LocalWeb(f"http://127.0.0.1:{port}", "t" * 32, pinned).healthz()["status"] == "ok"
    with _serving(TlsFiles(sibling, sibling_key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port:
        web = LocalWeb(f"http://127.0.0.1:{port}", "t" * 32, pinned)
        with pytest.raises(Unavailable, match=f"pas celui épinglé.*{re.escape(str(pinned))}") as refused:
            web.healthz()
        assert "SHA-256" in str(refused.value)
        with pytest.raises(Unavailable, match="pas celui épinglé"):
            web.dossier_count("resp.fd12")
    # The fingerprint comes on top of the verification, which still checks the dates.
    expired, expired_key = self_signed(tmp_path / "expired", expired=True)
    with (
        _serving(TlsFiles(expired, expired_key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port,
        pytest.raises(Unavailable, match="certificate has expired"),
    ):
        LocalWeb(f"http://127.0.0.1:{port}", "t" * 32, expired).healthz()


def test_plain_http_stays_the_default() -> None:
    assert tls_files("", "", "NEOCUMA_TLS_CERTIFICATE_PATH") is None
    with _serving(None) as port:
        assert LocalWeb(f"http://127.0.0.1:{port}", "t" * 32).healthz()["data_generation"] == 4


def test_the_forwarded_client_reaches_the_app_which_alone_decides_to_believe_it(tmp_path: Path) -> None:
    """The LAN gateway's X-Forwarded-For must reach NeoCuma Web (appliance/web/peers.py)
    over plain HTTP (waitress) and HTTPS (cheroot) alike."""
    certificate, key = self_signed(tmp_path, "neocuma.centre.example")
    tls = TlsFiles(certificate, key, "NEOCUMA_TLS_CERTIFICATE_PATH")
    for files, scheme, context in ((None, "http", None), (tls, "https", pinned_context(certificate))):
        with _serving(files) as port:
            asked = urllib.request.Request(
                f"{scheme}://127.0.0.1:{port}/forwarded", headers={"X-Forwarded-For": "192.168.1.20"}
            )
            with urllib.request.urlopen(asked, timeout=10, context=context) as response:
                assert response.read() == b'["192.168.1.20"]\n', scheme


def test_bad_tls_files_stop_the_start_with_their_name(tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path / "one")
    _, other_key = self_signed(tmp_path / "two")
    setting = "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH"
    with pytest.raises(ConfigError, match="à la fois un certificat et sa clé"):
        tls_files(str(certificate), "", setting)
    with pytest.raises(ConfigError, match=f"{setting} : .*missing.crt n'existe pas"):
        check_tls(TlsFiles(tmp_path / "missing.crt", key, setting))
    with pytest.raises(ConfigError, match="ne sont pas un certificat PEM et sa clé"):
        check_tls(TlsFiles(certificate, other_key, setting))
    with pytest.raises(ConfigError, match="ne sont pas un certificat PEM et sa clé"):
        check_tls(TlsFiles(key, key, setting))
    with pytest.raises(ConfigError):
        web_server(_app(), "127.0.0.1", _free_port(), 1, "test", TlsFiles(certificate, other_key, setting))


def test_the_health_probe_follows_the_container_to_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:8080/healthz"
    assert probed(url, {}) == (url, None)
    assert probed("http://neocuma:8080/healthz", {"NEOCUMA_TLS_CERTIFICATE_PATH": "/x"})[1] is None
    certificate, key = self_signed(tmp_path)
    with _serving(TlsFiles(certificate, key, "NEOCUMA_TLS_CERTIFICATE_PATH")) as port:
        target, context = probed(f"http://127.0.0.1:{port}/healthz", {"NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH": "/x"})
        assert target.startswith("https://") and isinstance(context, ssl.SSLContext)
        assert probe(target, context=context)[0] is True
        assert probe(f"http://127.0.0.1:{port}/healthz")[0] is False
        # As the image's HEALTHCHECK runs it: the plain loopback URL, the container's settings.
        monkeypatch.setenv("NEOCUMA_TLS_CERTIFICATE_PATH", "/etc/neocuma/tls/neocuma.crt")
        assert main(["healthcheck", f"http://127.0.0.1:{port}/healthz"]) == 0
        monkeypatch.delenv("NEOCUMA_TLS_CERTIFICATE_PATH")
        assert main(["healthcheck", f"http://127.0.0.1:{port}/healthz"]) == 1
