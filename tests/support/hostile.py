"""Hostile values for the seeded request campaigns (issue 12): numbers a person or a client
may send that are not numbers, values of the wrong type, odd Unicode. Shared by
tests/fuzz/test_hostile_requests.py (the parsers, in-process) and
tests/integration/test_hostile_requests.py (the SSH endpoint and NeoCuma Web)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

# Never whole numbers of the ids a test fixture uses (they are compared as such), nor
# quantities of 0 to 100000 with at most two decimals.
BAD_NUMBERS = [
    "-1",
    "-0.5",
    "0",
    "-0",
    "0.001",
    "1.234",
    "1e9",
    "1E+6",
    "-1e3",
    "1e999999999",
    "1e-999999999",
    "1e9999999999999999999",
    "0x10",
    "1_0",
    "1__0",
    "²",
    "١",
    "٣٫٥",
    "١٢",
    "１",
    "３,５",
    "𝟙",
    "໒",
    "߁",
    "Ⅻ",
    "½",
    "∞",
    "inf",
    "-Infinity",
    "NaN",
    "sNaN",
    "9" * 19,
    "9" * 400,
    "9" * 5000,
    "18446744073709551616",
    "-9223372036854775809",
    ".",
    ",",
    "",
    " ",
    "1.2.3",
    "1,2,3",
    "--1",
    "1-",
    "1/2",
    "1 000",
    "1\u00a0000",
    "1\x00",
    "\x001",
    "1\u200b",
    "\u202e1",
    "1\u0301",
    "100000.01",
    "100001",
]

ODD_TEXTS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "\ud83d",
    "\u202e\u202d",
    "\u200f\u200e",
    "\u200b",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
    "\ue000",
    "🚜🌾",
    "e" + "\u0301" * 200,
    "ﬃ",
    "\u2028\u2029",
    "\r\n",
    "\x1b[31m",
    "\x7f",
    "'",
    '"',
    "\\",
    "%s%n",
    "{0}{}",
    "' OR 1=1 -- ",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "null",
    "true",
    "[]",
    "{}",
]


def long_text(rng: random.Random) -> str:
    """A long text: ASCII, accents, emoji or combining marks, 300 to 50,000 characters."""
    unit = rng.choice(["x", "é", "🚜", "a\u0301", "\u202e", "\x00"])
    return unit * rng.choice([300, 4_000, 50_000 // len(unit)])


def odd_text(rng: random.Random) -> str:
    """Random characters from the planes that trouble parsers, 1 to 40 of them."""
    pools = [
        (0x00, 0x20),
        (0x7F, 0xA0),
        (0x0660, 0x066A),  # Arabic-Indic digits
        (0x06F0, 0x06FA),
        (0xFF10, 0xFF1A),  # fullwidth digits
        (0x2070, 0x209F),  # super- and subscripts
        (0x0300, 0x036F),  # combining marks
        (0x200B, 0x2030),  # zero widths, bidi marks, separators
        (0xD800, 0xE000),  # lone surrogates
        (0x1F300, 0x1F6FF),  # emoji
        (0x30, 0x3A),
        (0x41, 0x7B),
    ]
    chars = []
    for _ in range(rng.randint(1, 40)):
        low, high = rng.choice(pools)
        chars.append(chr(rng.randrange(low, high)))
    return "".join(chars)


def nested(rng: random.Random, depth: int | None = None) -> Any:
    """A list or dict nested ``depth`` times (a few to tens of thousands)."""
    value: Any = rng.choice([1, "1", None])
    for _ in range(depth if depth is not None else rng.choice([3, 50, 500, 3_000])):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def wrong_type(rng: random.Random) -> Any:
    """A JSON value of a type no field of a request expects (never a string or number)."""
    return rng.choice([None, True, False, [], {}, [1], ["1"], {"a": 1}, {"": ""}, nested(rng, rng.choice([2, 30]))])


def bad_whole(rng: random.Random) -> Any:
    """A value that is not a whole number at all, as a text or a JSON value."""
    choice = rng.randrange(6)
    if choice == 0:
        return rng.choice(BAD_NUMBERS[4:])  # not "-1", "-0.5", "0", "-0": those are whole-ish
    if choice == 1:
        return rng.choice([-1, -(2**63) - 1, 1.0, 1.5, -0.0, 2.5e300, float("nan"), float("inf")])
    if choice == 2:
        return rng.choice(ODD_TEXTS)
    if choice == 3:
        return odd_text(rng) + "x"  # never digits only
    if choice == 4:
        return wrong_type(rng)
    return long_text(rng)


def hostile_value(rng: random.Random) -> Any:
    """Any hostile value: a bad number, odd or long text, a wrong type."""
    choice = rng.randrange(5)
    if choice == 0:
        return rng.choice(BAD_NUMBERS)
    if choice == 1:
        return rng.choice(ODD_TEXTS)
    if choice == 2:
        return odd_text(rng)
    if choice == 3:
        return long_text(rng)
    return wrong_type(rng)


def bad_dates(day: dt.date) -> list[Any]:
    """Ways of writing ``day`` (a day a bon may have) or dates near it that a bon must refuse:
    other ISO 8601 forms, other digits and dashes, impossible days, other types."""
    year, week, weekday = day.isocalendar()
    compact = day.strftime("%Y%m%d")
    iso = day.isoformat()
    return [
        compact,
        int(compact),
        float(compact),
        f"{year}-W{week:02d}-{weekday}",
        f"{year}W{week:02d}{weekday}",
        iso + "T00:00",
        iso + " 00:00",
        iso + "Z",
        iso + "\x00",
        "\u202e" + iso,
        "+" + iso,
        iso.replace("-", "\u2010"),
        iso.replace("-", "/"),
        day.strftime("%d/%m/%Y"),
        iso.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        iso.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        f"{day.year}-{day.month}-{day.day}-",
        f"{day.year}-02-30",
        f"{day.year}-13-01",
        f"{day.year}-00-10",
        f"{day.year}-{day.month:02d}-32",
        "0000-01-01",
        "9999-12-31",
        "0001-01-01",
        "",
        [iso],
        {"date": iso},
    ]


def bad_quantity(rng: random.Random) -> Any:
    """A value no bon may have as its quantity (0 to 100000, two decimals at most)."""
    choice = rng.randrange(4)
    if choice == 0:
        return rng.choice(BAD_NUMBERS)
    if choice == 1:
        return rng.choice([-1, 0, -0.0, 0.001, 1e9, 1e-7, 2**64, float("nan"), float("inf"), True])
    if choice == 2:
        return rng.choice([*ODD_TEXTS, odd_text(rng) + "x", long_text(rng)])
    return wrong_type(rng)


# --- SSH exec command lines ---------------------------------------------------------

VALID_REQUESTS = [
    b"protocol",
    b"v1 whoami",
    b"v1 dossiers",
    b"v1 time",
    b"v1 export",
    b"v1 export 120001 120002 120001",
    b"v1 import 120001",
    b"v1 prerestores",
    b"v1 prerestores AGC-01.b",
]


def _word(rng: random.Random) -> str:
    value = hostile_value(rng)
    return value if isinstance(value, str) else str(value)


def _quoted(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def hostile_command(rng: random.Random) -> bytes:
    """An SSH exec command line: a valid request (one time in ten) or one mutated."""
    base = rng.choice(VALID_REQUESTS).decode()
    words = base.split()
    choice = rng.randrange(10)
    if choice == 0:
        return base.encode()  # valid as it is
    if choice == 1:
        words[rng.randrange(len(words))] = _quoted(_word(rng))
    elif choice == 2:
        words.insert(rng.randrange(len(words) + 1), _quoted(_word(rng)))
    elif choice == 3:
        versions = ["v" + "1" * 5000, "v" + "9" * 19, "v01", "v0", "v2", "v7", "V1", "v", "version1", "v1\x00"]
        words[0] = rng.choice([*versions, "v" + rng.choice(BAD_NUMBERS), _quoted("v1\n")])
    elif choice == 4:
        codes = ["120001\n", "\n120001", "120001\x00", "-x", "a" * 33, "../x", "x/y", "１２０００１", "12 0001", ""]
        code = rng.choice([*codes, odd_text(rng), long_text(rng)[:200]])
        words = ["v1", rng.choice(["export", "import", "prerestores"]), _quoted(code)]
    elif choice == 5:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
    elif choice == 6:
        raw = base.encode()
        spot = rng.randrange(len(raw) + 1)
        return raw[:spot] + rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00", b"\xe2\x80"]) + raw[spot:]
    elif choice == 7:
        words.append(rng.choice(["'", '"', "\\", "'x", '"x\\"', "$(id)", "`id`", ";", "|", "&&", "*", "~"]))
    elif choice == 8:
        count = rng.choice([2001, 3000])
        return b"v1 export " + b" ".join(b"%d" % (100000 + n) for n in range(count))
    else:
        return (base + " " + "x" * rng.choice([8192, 9000, 20000])).encode()
    return " ".join(words).encode("utf-8", "surrogatepass")
