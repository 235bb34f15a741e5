"""The WSGI servers of NeoCuma Web and the console (docs/security.md, "TLS"): waitress for
plain HTTP, as always; cheroot when a certificate and its key are configured, since waitress
speaks no TLS. Either way one object with ``run()`` (blocks until closed) and ``close()``
(safe from a signal handler)."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from appliance.errors import ConfigError


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate (its chain after it) and its private key; ``setting`` names the
    variable that gave them, for the error messages."""

    certificate: Path
    key: Path
    setting: str


class WebServer(Protocol):
    def run(self) -> None:
        """Serve until ``close()``."""
        ...

    def close(self) -> None:
        """Stop accepting; requests in flight get a few seconds to finish."""
        ...


def tls_files(certificate: str, key: str, setting: str) -> TlsFiles | None:
    """The TLS files of two path settings (both empty: plain HTTP); raises ConfigError when
    only one is set."""
    if not certificate and not key:
        return None
    if not certificate or not key:
        raise ConfigError([f"{setting} : TLS demande à la fois un certificat et sa clé (l'un des deux est vide)"])
    return TlsFiles(Path(certificate), Path(key), setting)


def check_tls(files: TlsFiles) -> None:
    """Load the pair once, so a wrong file stops the start with its name; raises ConfigError."""
    for path in (files.certificate, files.key):
        try:
            with path.open("rb"):
                pass
        except FileNotFoundError as error:
            raise ConfigError([f"{files.setting} : {path} n'existe pas"]) from error
        except OSError as error:
            raise ConfigError([f"{files.setting} : {path} n'est pas lisible par le compte de ce conteneur"]) from error
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(files.certificate), str(files.key))
    except (ssl.SSLError, OSError, ValueError) as error:
        raise ConfigError(
            [f"{files.setting} : {files.certificate} et {files.key} ne sont pas un certificat PEM et sa clé ({error})"]
        ) from error


class _Cheroot:
    def __init__(self, app: Any, host: str, port: int, threads: int, name: str, files: TlsFiles) -> None:
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        self.server = wsgi.Server((host, port), app, numthreads=threads, server_name=name, shutdown_timeout=5)
        self.server.ssl_adapter = BuiltinSSLAdapter(str(files.certificate), str(files.key))
        # Bound now, so the port is taken (or refused) before run(), as waitress does.
        self.server.prepare()

    def run(self) -> None:
        self.server.serve()

    def close(self) -> None:
        # stop() joins the worker threads: never inside a signal handler's frame.
        threading.Thread(target=self.server.stop, name="web-stop", daemon=True).start()


def web_server(app: Any, host: str, port: int, threads: int, name: str, tls: TlsFiles | None) -> WebServer:
    """A server for ``app`` on ``host:port`` with ``threads`` workers, HTTPS when ``tls``
    (the pair checked first); raises ConfigError for bad TLS files, OSError when the port
    cannot be bound."""
    if tls is None:
        from waitress import create_server

        # X-Forwarded-For reaches the app, which believes it from the LAN gateway only
        # (peers.py); waitress would otherwise drop it, trusting no proxy of its own.
        server: WebServer = create_server(
            app, host=host, port=port, threads=threads, ident=name, clear_untrusted_proxy_headers=False
        )
        return server
    check_tls(tls)
    return _Cheroot(app, host, port, threads, name, tls)
