"""Hostile requests, seeded, in-process (issue 12, the campaign's second part): what the SSH
endpoint and NeoCuma Web parse before any database is read, fed bad numbers ("²", "١",
exponents, huge ones), wrong types, missing and extra fields, odd Unicode (NUL, lone
surrogates, bidi marks, combining marks, emoji) and long texts.

- ``parse_request`` (an SSH exec command line): refused with a ProtocolError whose reply is
  one ``error <code>: <message>`` line, or a request every part of which is valid;
- ``read_password_line`` (the first line of an import's stdin): a password or a refusal;
- ``validate_bon`` (a bon de travaux from a form or the JSON API): checked against an
  independent statement of the rules, field by field — refused naming exactly the fields
  that break them, or accepted with exactly the values sent;
- ``csrf_valid`` and ``whole``: a boolean or a number, never an exception.

The figures are printed for docs/reliability.md. ``NEOCUMA_FUZZ_CASES`` and
``NEOCUMA_FUZZ_SEED`` change the run (``make fuzz`` runs more)."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from appliance.domain.bons import Activity, BonErrors, Exercice, Member, validate_bon
from appliance.domain.numbers import whole
from appliance.domain.protocol import COMMANDS, EXIT_STATUS, MAX_DOSSIERS_PER_REQUEST, ProtocolError, parse_request
from appliance.server.ssh_import import MAX_PASSWORD_LINE, read_password_line
from appliance.web.security import csrf_valid
from tests.support.hostile import (
    BAD_NUMBERS,
    ODD_TEXTS,
    bad_dates,
    hostile_command,
    hostile_value,
    long_text,
    odd_text,
    wrong_type,
)

pytestmark = pytest.mark.fuzz
CASES = int(os.environ.get("NEOCUMA_FUZZ_CASES", "2000"))
SEED = int(os.environ.get("NEOCUMA_FUZZ_SEED", "20261202"))
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


# --- SSH: the exec command line -------------------------------------------------------


def _check_request(raw: bytes) -> str:
    try:
        request = parse_request(raw)
    except ProtocolError as error:
        if error.code not in EXIT_STATUS or error.code in ("ok", "internal") or not error.message.strip():
            raise AssertionError(
                f"refusal without a proper code or message: {error.code!r} {error.message!r}"
            ) from error
        line = error.line()
        if not line.startswith(f"error {error.code}: ") or line.count("\n") != 1 or not line.endswith("\n"):
            raise AssertionError(f"the refusal is not one line: {line[:200]!r}") from error
        if not line[:-1].isprintable():  # no line breaks, terminal escapes or bidi marks from the client
            raise AssertionError(f"characters not printable in the refusal: {line[:200]!r}") from error
        return f"refused {error.code}"
    if request.command == "protocol":
        assert request.version is None and not request.dossiers, request
    else:
        assert request.version == 1 and request.command in COMMANDS, request
    assert len(raw) <= 8192 and len(request.dossiers) == len(set(request.dossiers)) <= MAX_DOSSIERS_PER_REQUEST
    assert all(CODE.fullmatch(code) for code in request.dossiers), f"invalid dossier codes accepted: {request}"
    wanted = {"import": (1, 1), "prerestores": (0, 1), "export": (0, MAX_DOSSIERS_PER_REQUEST)}
    low, high = wanted.get(request.command, (0, 0))
    assert low <= len(request.dossiers) <= high, request
    return "accepted"


def _ssh_case(rng: random.Random) -> str:
    return "ssh " + _check_request(hostile_command(rng))


# --- SSH: an import's password line ---------------------------------------------------


class _Channel:
    def __init__(self, chunks: list[bytes | None]) -> None:
        self.chunks = chunks

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if chunk is None:
            raise TimeoutError
        return chunk[:size]


def _password_case(rng: random.Random) -> str:
    password = rng.choice(["Integration-2026", "", " ", "é" * 10, "a\x00b", "x" * 2000, odd_text(rng)])
    line = password.encode("utf-8", "surrogatepass")
    line = rng.choice([line, line + b"\r", line + b"\xff", b"\xc0" + line])
    stdin = line + rng.choice([b"\n", b"", b"\r\n"]) + rng.choice([b"", b"PK\x03\x04", b"\n\n"])
    cuts = sorted(rng.sample(range(len(stdin) + 1), min(len(stdin) + 1, rng.randint(0, 4))))
    chunks: list[bytes | None] = [stdin[a:b] for a, b in zip([0, *cuts], [*cuts, len(stdin)], strict=True)]
    chunks = [c for c in chunks if c]  # an empty chunk is the end of stdin
    if rng.random() < 0.2:
        chunks.insert(rng.randrange(len(chunks) + 1), None)  # the client stalls
    try:
        got, rest = read_password_line(_Channel(list(chunks)))
    except ProtocolError as error:
        assert error.code in ("bad_request", "transfer_failed") and error.message, error
        return f"password refused {error.code}"
    sent = b"".join(c for c in chunks if c is not None)
    expected, _, tail = sent.partition(b"\n")
    assert len(expected) <= MAX_PASSWORD_LINE, len(expected)
    assert got == expected.decode("utf-8").rstrip("\r") and tail.startswith(rest), (got, rest)
    return "password read"


# --- NeoCuma Web: a bon de travaux ----------------------------------------------------

MEMBERS = [
    Member(1, "001", "Martin Jean", True, False),
    Member(2, "002", "Durand Marie", False, False),
    Member(3, "003", "Petit Paul", True, True),
]
ACTIVITIES = [Activity(7, "A007", "Moissonneuse (ha)", "ha", Decimal("95.50"))]
EXERCICES = [
    Exercice(1, "2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), True),
    Exercice(2, "2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31), False),
]
VALID_BON: dict[str, object] = {"tiers_id": "1", "activite_id": "7", "date": "2026-03-04", "quantite": "12,5"}
_QUANTITY = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MISSING = object()


def _rule_id(value: object, wanted: int) -> bool:
    """An id is a JSON whole number, or up to 10 ASCII digits with spaces around."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == wanted
    return isinstance(value, str) and bool(re.fullmatch(r"[0-9]{1,10}", value.strip())) and int(value.strip()) == wanted


def _rule_day(value: object) -> dt.date | None:
    """A day is a text AAAA-MM-JJ (spaces around allowed) inside the open exercice, 2026."""
    if not isinstance(value, str) or not _DAY.fullmatch(value.strip()):
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if day.year == 2026 else None


def _rule_quantity(value: object) -> Decimal | None:
    """A quantity is a JSON number or a text of ASCII digits (a comma or a point, an exponent),
    over 0, at most 100000, with at most two decimals."""
    if value is _MISSING or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip().replace(",", ".")
    if not _QUANTITY.fullmatch(text):
        return None
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        return None
    if not 0 < quantity <= 100000 or quantity != quantity.quantize(Decimal("0.01")):
        return None
    return quantity


def _field_value(rng: random.Random, field: str) -> object:
    if rng.random() < 0.2:  # valid ways of writing a valid value
        valid: dict[str, list[object]] = {
            "tiers_id": [1, " 1 ", "0000000001", "\t1\n"],
            "activite_id": [7, "007", " 7"],
            "date": ["2026-12-31", " 2026-01-01 ", "2026-03-04"],
            "quantite": [3.5, 100000, "0,01", " 1e2 ", "+4", "100000.00", ".5", "2."],
        }
        return rng.choice(valid[field])
    if field == "date" and rng.random() < 0.6:
        return rng.choice([*bad_dates(dt.date(2026, rng.randint(1, 12), rng.randint(1, 28))), "2025-06-01"])
    if field == "quantite" and rng.random() < 0.5:
        return rng.choice(BAD_NUMBERS)
    if field != "quantite" and rng.random() < 0.2:
        return rng.choice([2, 3, "2", "3", 0, -1, 2**64, "99"])  # other members, none
    return hostile_value(rng)


def _bon_case(rng: random.Random) -> str:
    form: dict[str, object] = dict(VALID_BON)
    for _ in range(rng.randint(1, 3)):
        action = rng.randrange(6)
        field = rng.choice(sorted(VALID_BON))
        if action == 0:
            form.pop(field, None)
        elif action == 1:
            form[rng.choice(["", "extra", "tiers_id ", "__proto__", odd_text(rng)])] = hostile_value(rng)
        else:
            form[field] = _field_value(rng, field)
    expected = set()
    if not _rule_id(form.get("tiers_id"), 1):
        expected.add("tiers_id")
    if not _rule_id(form.get("activite_id"), 7):
        expected.add("activite_id")
    day = _rule_day(form.get("date"))
    if day is None:
        expected.add("date")
    quantity = _rule_quantity(form.get("quantite", _MISSING))
    if quantity is None:
        expected.add("quantite")
    try:
        bon = validate_bon(form, MEMBERS, ACTIVITIES, EXERCICES)
    except BonErrors as error:
        assert set(error.errors) == expected, f"refused {sorted(error.errors)}, the rules refuse {sorted(expected)}"
        assert all(isinstance(m, str) and m for m in error.errors.values())
        return "bon refused"
    assert not expected, f"accepted, the rules refuse {sorted(expected)}: {bon}"
    assert (bon.member.id, bon.activity.id, bon.day, bon.quantity) == (1, 7, day, quantity), bon
    return "bon accepted"


# --- CSRF tokens and whole numbers ----------------------------------------------------


def _token_case(rng: random.Random) -> str:
    token = "Zm9vYmFyLWJhei1xdXV4LWNzcmYtdG9rZW4tMzI"
    near = [token + "x", token[:-1], token.upper(), "", None, token + "\x00", "é" + token[1:], "\ud800"]
    submitted: Any = rng.choice([token, *near, odd_text(rng), wrong_type(rng), rng.choice(ODD_TEXTS), long_text(rng)])
    session: dict[str, Any] = rng.choice([{"csrf": token}, {}, {"csrf": None}, {"csrf": "é"}])
    valid = csrf_valid(session, submitted)
    assert valid is (session.get("csrf") == token and submitted == token), (session, submitted)
    text = rng.choice([odd_text(rng), rng.choice(BAD_NUMBERS), str(rng.randrange(10**20)), long_text(rng)])
    number = whole(text, rng.choice([None, 100_000]))
    if number is not None:
        assert re.fullmatch(r"[0-9]{1,18}", text) and int(text) == number, (text, number)
    return "csrf and numbers checked"


KINDS: list[Callable[[random.Random], str]] = [_ssh_case, _ssh_case, _password_case, _bon_case, _bon_case, _token_case]


def test_hostile_requests_are_refused_cleanly_or_valid_in_every_part() -> None:
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    for case in range(CASES):
        kind = rng.choice(KINDS)
        try:
            outcomes[kind(rng)] += 1
        except Exception as error:  # noqa: BLE001 - what the test is about
            crashes.append(f"case {case} ({kind.__name__}): {type(error).__name__}: {error}"[:400])
    refused = sum(n for what, n in outcomes.items() if "refused" in what)
    checked = outcomes["csrf and numbers checked"]
    print(
        f"\nhostile requests, seed {SEED}: {CASES} cases, {refused} refused, {CASES - refused - checked - len(crashes)}"
        f" accepted (valid by the rules), {checked} CSRF tokens and numbers checked, {len(crashes)} crashes;"
        f" {dict(sorted(outcomes.items()))}"
    )
    assert not crashes, "\n".join(crashes[:20])
