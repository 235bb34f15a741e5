"""Reading the guardian's revisions on the channel (server/ssh_changes.py): the bound, the
stall timeout and an empty input, with a fake channel."""

import pytest

from appliance.domain.changes import HeldDossier
from appliance.domain.protocol import ProtocolError
from appliance.server.ssh_changes import read_held_document


class FakeChannel:
    """Hands out ``chunks`` one ``recv`` at a time, then raises ``end`` or signals EOF."""

    def __init__(self, chunks: list[bytes], end: BaseException | None = None) -> None:
        self.chunks = list(chunks)
        self.end = end
        self.reads = 0

    def recv(self, size: int) -> bytes:
        self.reads += 1
        if self.chunks:
            return self.chunks.pop(0)
        if self.end is not None:
            raise self.end
        return b""


def _refusal(channel: FakeChannel, limit: int = 1000) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        read_held_document(channel, limit)  # type: ignore[arg-type]
    return caught.value


def test_a_document_in_several_reads_is_parsed() -> None:
    channel = FakeChannel([b'{"dossiers": {"120001": ', b'{"id": 1, "revision": 2}}}'])
    assert read_held_document(channel) == {"120001": HeldDossier(1, 2)}  # type: ignore[arg-type]


def test_reading_stops_past_the_bound() -> None:
    channel = FakeChannel([b" " * 600, b" " * 600, b" " * 600])
    error = _refusal(channel)
    assert error.code == "request_too_large" and "1000 octets" in error.message
    assert channel.reads == 2, "nothing is read past the bound"


def test_a_stalled_client_fails_the_request() -> None:
    error = _refusal(FakeChannel([b'{"dossiers"'], TimeoutError()))
    assert error.code == "transfer_failed" and "plus rien reçu" in error.message


def test_an_empty_input_is_refused_with_what_is_expected() -> None:
    error = _refusal(FakeChannel([]))
    assert error.code == "bad_request" and '{"dossiers": {}}' in error.message
