"""Slow password hashes (scrypt) for NeoCuma users.

Format: ``scrypt$<log2 n>$<r>$<p>$<salt base64>$<hash base64>``. scrypt comes with the
standard library, is memory-hard, and a verification costs about 50 ms with the defaults.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

DEFAULT_LOG2_N = 14
DEFAULT_R = 8
DEFAULT_P = 1
_KEY_LENGTH = 32
MAX_COST = (1 << 16) * 8  # n * r * p: 64 MiB and about 0.2 s at most; the default is a quarter


def hash_password(password: str, salt: bytes | None = None, log2_n: int = DEFAULT_LOG2_N) -> str:
    """Return the scrypt hash of ``password``; a random salt unless ``salt`` is given."""
    salt = os.urandom(16) if salt is None else salt
    digest = _scrypt(password, salt, log2_n, DEFAULT_R, DEFAULT_P)
    return "$".join(
        (
            "scrypt",
            str(log2_n),
            str(DEFAULT_R),
            str(DEFAULT_P),
            base64.b64encode(salt).decode("ascii"),
            base64.b64encode(digest).decode("ascii"),
        )
    )


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; False for a malformed or unknown hash."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        log2_n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return False
    # A stored hash may not ask for more work than MAX_COST (a row written by a bad import
    # must not make each login take seconds and hundreds of MB).
    if not (10 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4) or (1 << log2_n) * r * p > MAX_COST:
        return False
    return hmac.compare_digest(_scrypt(password, salt, log2_n, r, p), expected)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + 1024 * 1024,
        dklen=_KEY_LENGTH,
    )


@functools.cache
def dummy_hash() -> str:
    """A hash to verify when a login is unknown, so that it costs the same time as a known one."""
    return hash_password("not a password", salt=b"0" * 16)
