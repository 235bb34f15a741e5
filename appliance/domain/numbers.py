"""Whole numbers typed by people or sent by clients (pure). ``str.isdigit`` accepts "²" or
"٣", which ``int`` then refuses or reads as another number: only ASCII digits are numbers."""

from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of the digits 0-9 and nothing else."""
    return text.isascii() and text.isdigit()


def whole(text: str, maximum: int | None = None) -> int | None:
    """``text`` as a whole number from 0 to ``maximum``, or None (never an exception)."""
    if not ascii_digits(text) or len(text) > 18:
        return None
    value = int(text)
    return value if maximum is None or value <= maximum else None
