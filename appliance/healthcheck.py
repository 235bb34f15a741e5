"""Container health probe: ``python -m appliance.healthcheck URL``. Standard library only,
so the probe costs a few milliseconds every interval; exits 0 when URL answers 200 with
``"status": "ok"``, 1 otherwise, printing why."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request


def probe(url: str, timeout: float = 4.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the image's own HEALTHCHECK URL
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
    ok, detail = probe(url)
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
