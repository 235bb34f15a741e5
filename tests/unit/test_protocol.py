import pytest

from appliance.domain.protocol import MAX_DOSSIERS_PER_REQUEST, MAX_REQUEST_BYTES, ProtocolError, parse_request


def _refusal(raw: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_request(raw)
    return caught.value


def test_valid_requests() -> None:
    assert parse_request(b"protocol").command == "protocol"
    assert parse_request(b"v1 whoami").version == 1
    request = parse_request(b"v1 export 120001 120003 120001")
    assert request.command == "export"
    assert request.dossiers == ("120001", "120003")
    assert parse_request(b"v1 export").dossiers == ()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "bad_request"),
        (b"ls -la", "bad_request"),
        (b"v1", "bad_request"),
        (b"v1 rm -rf /", "bad_request"),
        (b"v1 whoami extra", "bad_request"),
        (b"v1 export ../etc", "bad_request"),
        (b"v1 export 'unterminated", "bad_request"),
        (b"v1 export \xff\xfe", "bad_request"),
        (b"v2 whoami", "unsupported_version"),
        ("v² whoami".encode(), "bad_request"),  # isdigit() is True for "²", int() refuses it
        ("v١ whoami".encode(), "bad_request"),  # an Arabic-Indic one, which int() reads as 1
        (b"v" + b"1" * 5000 + b" whoami", "unsupported_version"),  # int() raised ValueError past 4,300 digits
        (b"v1 export '120001\n'", "bad_request"),  # the code's pattern ended in $, which matches before a \n
        (b"v1 import '120001\n'", "bad_request"),
        (b"v1 export " + b"x" * MAX_REQUEST_BYTES, "request_too_large"),
        (b"v1 export " + b" ".join(b"%d" % i for i in range(MAX_DOSSIERS_PER_REQUEST + 1)), "request_too_large"),
    ],
)
def test_bad_requests_are_refused_with_a_code(raw: bytes, code: str) -> None:
    error = _refusal(raw)
    assert error.code == code
    assert error.exit_status != 0
    assert error.line().startswith(f"error {code}: ")


@pytest.mark.parametrize(
    "raw", [b"'v1\nerror ok: forged' whoami", "v1 '\x1b[2J\x9b\u202e'".encode(), "v1 \u2028x".encode()]
)
def test_a_refusal_quoting_what_was_sent_stays_one_printable_line(raw: bytes) -> None:
    """The seeded hostile requests found refusals quoting line breaks and terminal escapes:
    the protocol's error reply is one line."""
    line = _refusal(raw).line()
    assert line.count("\n") == 1 and line.endswith("\n")
    assert line[:-1].isprintable(), line
