"""An SMTP sink for the tests: every message received is written to /srv/mail/<n>.eml."""

import asyncio
import itertools
from pathlib import Path

from aiosmtpd.controller import Controller

COUNTER = itertools.count(1)


class Sink:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        path = Path("/srv/mail") / f"{next(COUNTER):04d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Sink(), hostname="0.0.0.0", port=1025)
    controller.start()
    asyncio.get_event_loop().run_forever()
