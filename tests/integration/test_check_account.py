"""The local server's check account (issue 12, finding 10): the guardian's application check
reads the live generation's users, rights and dossiers with a token, over real HTTP (the
guardian's own adapter against NeoCuma Web served by waitress), and no person's password
reaches the LAN-facing server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.adapters.local_server import LocalWeb
from appliance.errors import Unavailable
from appliance.server.web.app import create_app
from appliance.web.serving import TlsFiles, web_server
from tests.integration.conftest import Central
from tests.support import oracle
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration
TOKEN = "check-account-token-of-the-integration-tier"


def _serve(central: Central, check_token: str, tls: TlsFiles | None = None) -> Iterator[str]:
    """NeoCuma Web of the local role served as the server serves it; its URL as the stack
    names it (http://, which a certificate turns into https:// for the guardian)."""
    app = create_app(central.store, b"k" * 32, "local", "integration", central.system_files, check_token=check_token)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = web_server(app, "127.0.0.1", port, 2, "integration", tls)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(10)


@pytest.fixture()
def local_url(central: Central) -> Iterator[str]:
    yield from _serve(central, TOKEN)


def test_the_check_account_counts_the_users_dossiers_of_the_live_generation(central: Central, local_url: str) -> None:
    connection = central.root_connection()
    expected = oracle.dossiers_of(connection, central.schema, "resp.fd12")
    live = oracle.query(connection, "SELECT data_generation FROM neocuma_control.live")[0][0]
    connection.close()
    generation, count = LocalWeb(local_url, TOKEN).dossier_count("resp.fd12")
    assert (generation, count) == (live, len(expected)) and count > 1


def test_a_wrong_or_missing_token_is_refused_and_says_so(central: Central, local_url: str) -> None:
    for token in ("", "not-the-" + TOKEN, TOKEN[:-1]):
        with pytest.raises(Unavailable, match=r"HTTP 401 \(compte de vérification refusé\)"):
            LocalWeb(local_url, token).dossier_count("resp.fd12")


def test_an_unknown_login_is_a_failed_check_not_zero_dossiers(central: Central, local_url: str) -> None:
    with pytest.raises(Unavailable, match=r"HTTP 404 .*utilisateur inconnu"):
        LocalWeb(local_url, TOKEN).dossier_count("nobody.fd12")


def test_a_server_without_a_check_account_opens_no_check(central: Central) -> None:
    for url in _serve(central, ""):
        with pytest.raises(Unavailable, match="HTTP 401"):
            LocalWeb(url, "").dossier_count("resp.fd12")


def test_the_check_runs_over_https_when_neocuma_web_has_a_certificate(central: Central, tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path)
    for url in _serve(central, TOKEN, TlsFiles(certificate, key, "NEOCUMA_TLS_CERTIFICATE_PATH")):
        web = LocalWeb(url, TOKEN, certificate)
        assert web.base_url.startswith("https://") and web.healthz()["status"] == "ok"
        assert web.dossier_count("resp.fd12")[1] > 1
