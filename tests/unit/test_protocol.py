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
        (b"v1 export " + b"x" * MAX_REQUEST_BYTES, "request_too_large"),
        (b"v1 export " + b" ".join(b"%d" % i for i in range(MAX_DOSSIERS_PER_REQUEST + 1)), "request_too_large"),
    ],
)
def test_bad_requests_are_refused_with_a_code(raw: bytes, code: str) -> None:
    error = _refusal(raw)
    assert error.code == code
    assert error.exit_status != 0
    assert error.line().startswith(f"error {code}: ")
