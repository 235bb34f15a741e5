"""Container health probe: ``python -m appliance.healthcheck URL``. Standard library only,
so the probe costs a few milliseconds every interval; exits 0 when URL answers 200 with
``"status": "ok"``, 1 otherwise, printing why. When the container serves HTTPS (a TLS
certificate is configured, docs/security.md), the loopback URL is probed over HTTPS without
checking the certificate: the probe asks the process it runs beside whether it is alive."""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request

TLS_SETTINGS = ("NEOCUMA_TLS_CERTIFICATE_PATH", "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH")


def probed(url: str, environ: dict[str, str]) -> tuple[str, ssl.SSLContext | None]:
    """The URL to probe and its TLS context: HTTPS to this container itself when it serves TLS."""
    if not url.startswith("http://127.0.0.1") or not any(environ.get(name) for name in TLS_SETTINGS):
        return url, None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return "https://" + url.removeprefix("http://"), context


def probe(url: str, timeout: float = 4.0, context: ssl.SSLContext | None = None) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310 - the image's own HEALTHCHECK URL
            body = json.loads(response.read(65536))
    except urllib.error.HTTPError as error:
        return False, f"{url} answered HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, f"{url}: {error}"
    if body.get("status") != "ok":
        return False, f"{url}: status {body.get('status')!r}"
    return True, json.dumps(body, sort_keys=True)


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8080/healthz"
    target, context = probed(url, dict(os.environ))
    ok, detail = probe(target, context=context)
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
