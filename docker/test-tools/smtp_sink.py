"""Sinks for the tests: every email received on port 1025 is written to /srv/mail/<n>.eml,
every webhook POSTed to port 8025 to /srv/hooks/<n>.json."""

import asyncio
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

COUNTER = itertools.count(1)
HOOKS = itertools.count(1)


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Path("/srv/hooks").mkdir(exist_ok=True)
        (Path("/srv/hooks") / f"{next(HOOKS):04d}.json").write_bytes(body)
        self.send_response(204)
        self.end_headers()


class Sink:
    async def handle_DATA(self, server, session, envelope):
        path = Path("/srv/mail") / f"{next(COUNTER):04d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Sink(), hostname="0.0.0.0", port=1025)
    controller.start()
    threading.Thread(target=ThreadingHTTPServer(("0.0.0.0", 8025), Hook).serve_forever, daemon=True).start()
    asyncio.get_event_loop().run_forever()
