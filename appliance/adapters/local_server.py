"""The local NeoCuma server as the guardian sees it (the LocalServer port): its /healthz and
an application check over HTTP, its container through the Docker proxy (SIGHUP), and the
system-files generations of the volume it shares with the guardian (``g<N>/``)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import re
import shutil
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from appliance.adapters.backup_reader import Source
from appliance.adapters.system_zip import install_system_generation
from appliance.domain.generations import system_directory, system_generation_of
from appliance.errors import Unavailable

log = logging.getLogger(__name__)


class CertificateNotPinned(ssl.SSLCertVerificationError):
    """The local server presented a certificate that verifies but is not the pinned one."""

    def __str__(self) -> str:
        return str(self.args[0])  # ssl.SSLError would show the arguments' tuple


def pinned_context(certificate: Path) -> ssl.SSLContext:
    """TLS that trusts exactly the first certificate of ``certificate`` (the one NeoCuma Web
    serves, read from the same file; the chain after it only lets the certificate verify):
    the peer's certificate must verify against the file (signature, dates) and have the
    first certificate's SHA-256 fingerprint, so another certificate of the same authority is
    refused. No host name check, since the stack reaches the server by its service name,
    which a LAN certificate does not carry. Raises Unavailable for an unreadable file."""
    try:
        pinned = pinned_fingerprint(certificate)
        context = ssl.create_default_context(cafile=str(certificate))
    except (OSError, ssl.SSLError, ValueError) as error:
        raise Unavailable(f"certificat du serveur local illisible ({certificate}) : {error}") from error
    context.check_hostname = False
    # The certificate itself is the anchor, even when an authority signed it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.sslsocket_class = _pinning_socket(pinned, certificate)
    return context


def pinned_fingerprint(certificate: Path) -> str:
    """The SHA-256 fingerprint (hex, colon-separated) of the first PEM certificate in the
    file; raises OSError (unreadable) or ValueError (no certificate in it)."""
    found = _PEM_CERTIFICATE.search(certificate.read_text(encoding="ascii", errors="replace"))
    if found is None:
        raise ValueError("aucun certificat PEM dans ce fichier")
    return _fingerprint(ssl.PEM_cert_to_DER_cert(found.group(0)))


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


def _fingerprint(der: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def _pinning_socket(pinned: str, source: Path) -> type[ssl.SSLSocket]:
    """A socket class whose handshake fails unless the peer's certificate is the pinned one
    (the check runs after OpenSSL's verification, so expired or unsigned ones still fail there)."""

    class PinningSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            presented = self.getpeercert(binary_form=True)
            fingerprint = _fingerprint(presented) if presented else "aucun"
            if not hmac.compare_digest(fingerprint, pinned):
                raise CertificateNotPinned(
                    f"certificat présenté d'empreinte SHA-256 {fingerprint}, pas celui épinglé"
                    f" (le premier de {source}, empreinte {pinned}) : connexion refusée"
                )

    return PinningSocket


def _failure(error: urllib.error.URLError | OSError | ValueError) -> str:
    """The reason to name: the pinning's own sentence when the certificate is not the pinned one."""
    reason = getattr(error, "reason", error)
    return str(reason) if isinstance(reason, CertificateNotPinned) else str(error)


class LocalWeb:
    def __init__(self, base_url: str, check_token: str, certificate: Path | None = None, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        if certificate is not None and self.base_url.startswith("http://"):
            self.base_url = "https://" + self.base_url.removeprefix("http://")
        self.context = pinned_context(certificate) if certificate is not None else None
        self.check_token = check_token
        self.timeout = timeout

    def healthz(self) -> dict[str, Any]:
        """The local server's /healthz; raises Unavailable when it does not answer."""
        try:
            url = f"{self.base_url}/healthz"
            with urllib.request.urlopen(url, timeout=self.timeout, context=self.context) as response:  # noqa: S310 - http(s) URL checked by the configuration
                return dict(json.loads(response.read(65536)))
        except (urllib.error.URLError, OSError, ValueError) as error:
            if isinstance(getattr(error, "reason", None), CertificateNotPinned):
                raise Unavailable(f"serveur local {self.base_url} : {_failure(error)}") from error
            raise Unavailable(f"le serveur local ne répond pas à {self.base_url} : {error}") from error

    def dossier_count(self, login: str) -> tuple[int | None, int]:
        """The application check, through the local server's check account: (data generation,
        dossiers in ``login``'s rights) as the live generation's users, rights and dossiers
        give them. No person's password travels to the LAN-facing server (docs/guardian.md)."""
        query = urllib.parse.urlencode({"login": login})
        request = urllib.request.Request(  # noqa: S310 - http(s) URL checked by the configuration
            f"{self.base_url}/api/v1/check?{query}", headers={"Authorization": f"Bearer {self.check_token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:  # noqa: S310
                body = json.loads(response.read(65536))
        except urllib.error.HTTPError as error:
            raise Unavailable(
                f"la vérification applicative du serveur local a échoué : HTTP {error.code} ({_reason(error)})"
            ) from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise Unavailable(f"la vérification applicative du serveur local a échoué : {_failure(error)}") from error
        generation, count = body.get("data_generation"), body.get("dossiers")
        if not isinstance(count, int) or not (generation is None or isinstance(generation, int)):
            raise Unavailable("la vérification applicative du serveur local a reçu une réponse illisible")
        return generation, count


def _reason(error: urllib.error.HTTPError) -> str:
    """The message of the server's JSON error, else the HTTP reason."""
    try:
        message = json.loads(error.read(4096)).get("message")
    except (OSError, ValueError, AttributeError):
        message = None
    return str(message) if isinstance(message, str) else str(error.reason)


class LocalContainer:
    """The local server's container, reached through the Docker proxy (which lets through
    only ping, version, a filtered list and SIGHUP to the local server of its own compose
    project); the guardian only signals it."""

    def __init__(self, docker_url: str, service: str, timeout: float = 15) -> None:
        self.docker_url = docker_url
        self.service = service
        self.timeout = timeout

    def _client(self) -> Any:
        # Imported by name: for mypy, the project's docker/ folder of Dockerfiles would
        # shadow the SDK.
        docker: Any = importlib.import_module("docker")
        return docker.DockerClient(base_url=self.docker_url, timeout=int(self.timeout))

    def _find(self, client: Any) -> Any:
        from docker.errors import DockerException

        try:
            # Sparse lists only: the proxy refuses inspect (docker/docker-proxy/haproxy.cfg).
            me = client.containers.list(sparse=True, filters={"id": socket.gethostname()})
            project = (me[0].attrs.get("Labels") or {}).get("com.docker.compose.project") if me else None
            filters = [f"com.docker.compose.service={self.service}"]
            if project:
                filters.append(f"com.docker.compose.project={project}")
            found = client.containers.list(sparse=True, filters={"label": filters})
        except DockerException as error:
            raise Unavailable(f"le proxy Docker à {self.docker_url} ne répond pas : {error}") from error
        if len(found) != 1:
            raise Unavailable(f"{len(found)} conteneurs du service {self.service!r} trouvés, un seul attendu")
        return found[0]

    def signal_reload(self) -> None:
        """SIGHUP: the local server drops its cached system files."""
        from docker.errors import DockerException

        client = self._client()
        try:
            # By name: the proxy lets SIGHUP reach only the local server of its compose
            # project, which it knows by the names compose gives it (docker/docker-proxy).
            found = self._find(client)
            names = found.attrs.get("Names") or [found.id]
            client.api.kill(str(names[0]).lstrip("/"), signal="SIGHUP")
        except DockerException as error:
            raise Unavailable(f"impossible d'envoyer le signal au serveur local : {error}") from error
        finally:
            client.close()


class HttpLocalServer:
    """The LocalServer port: NeoCuma Web over HTTP, the container through the Docker proxy,
    the system volume on disk."""

    def __init__(self, web: LocalWeb, container: LocalContainer, system_dir: Path) -> None:
        self.web = web
        self.container = container
        self.system_dir = system_dir

    def healthz(self) -> dict[str, Any]:
        return self.web.healthz()

    def dossier_count(self, login: str) -> tuple[int | None, int]:
        return self.web.dossier_count(login)

    def reload(self) -> None:
        self.container.signal_reload()

    def system_generations(self) -> list[int]:
        if not self.system_dir.is_dir():
            return []
        found = (system_generation_of(path.name) for path in self.system_dir.iterdir() if path.is_dir())
        return sorted(number for number in found if number is not None)

    def install_system(self, generation: int, system_zip: Source) -> int:
        return install_system_generation(system_zip, self.system_dir / system_directory(generation))

    def remove_system(self, generation: int) -> None:
        shutil.rmtree(self.system_dir / system_directory(generation), ignore_errors=True)

    def clean_system_staging(self) -> list[str]:
        if not self.system_dir.is_dir():
            return []
        removed = []
        for path in sorted(self.system_dir.glob("g*.tmp")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        return removed
