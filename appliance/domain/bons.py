"""Entering a bon de travaux: validation of what a LAN user typed (pure, no I/O).

A bon names a member (an active, living adhérent of the dossier), an activity of the dossier,
a date inside an open exercice and a positive quantity with at most two decimals. Every
problem is reported at once, in French, keyed by the field it concerns.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from appliance.domain.numbers import whole

MAX_QUANTITY = Decimal("100000")
# What Decimal() and date.fromisoformat() read is wider than what a person writes: "١٢" or
# "1_0" as numbers, "20260304" or "2026-W10-3" as days. Only these forms, in ASCII digits.
_QUANTITY = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Member:
    id: int
    code: str
    name: str
    active: bool
    deceased: bool


@dataclass(frozen=True)
class Activity:
    id: int
    code: str
    label: str
    unit: str
    rate: Decimal


@dataclass(frozen=True)
class Exercice:
    id: int
    label: str
    start: dt.date
    end: dt.date
    closed: bool


@dataclass(frozen=True)
class BonInput:
    member: Member
    activity: Activity
    exercice: Exercice
    day: dt.date
    quantity: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.activity.rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class BonErrors(Exception):
    """The form's problems, field by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field} : {message}" for field, message in errors.items()))
        self.errors = errors


def _whole_number(raw: object) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and len(raw.strip()) <= 10:
        return whole(raw.strip())
    return None


def validate_bon(
    form: Mapping[str, object],
    members: Sequence[Member],
    activities: Sequence[Activity],
    exercices: Sequence[Exercice],
) -> BonInput:
    """Check a bon's fields (``tiers_id``, ``activite_id``, ``date``, ``quantite``) against
    the dossier's members, activities and exercices; raises BonErrors listing every problem."""
    errors: dict[str, str] = {}
    member_id = _whole_number(form.get("tiers_id"))
    member = next((m for m in members if m.id == member_id), None)
    if member is None:
        errors["tiers_id"] = "adhérent inconnu dans ce dossier"
    elif member.deceased:
        errors["tiers_id"] = f"l'adhérent {member.code} est marqué disparu"
    elif not member.active:
        errors["tiers_id"] = f"l'adhérent {member.code} n'est plus actif"
    activity_id = _whole_number(form.get("activite_id"))
    activity = next((a for a in activities if a.id == activity_id), None)
    if activity is None:
        errors["activite_id"] = "activité inconnue dans ce dossier"
    day: dt.date | None = None
    raw_day = form.get("date")
    text_day = raw_day.strip() if isinstance(raw_day, str) else ""
    try:
        day = dt.date.fromisoformat(text_day) if _DAY.fullmatch(text_day) else None
    except ValueError:  # February 30th
        day = None
    exercice = None
    if day is None:
        errors["date"] = "date invalide (format attendu : AAAA-MM-JJ)"
    else:
        containing = [e for e in exercices if e.start <= day <= e.end]
        if not containing:
            errors["date"] = f"le {day:%d/%m/%Y} n'appartient à aucun exercice du dossier"
        elif containing[0].closed:
            errors["date"] = f"l'exercice {containing[0].label} est clôturé"
        else:
            exercice = containing[0]
    quantity: Decimal | None = None
    raw_quantity = str(form.get("quantite", "")).strip().replace(",", ".")
    try:
        quantity = Decimal(raw_quantity) if _QUANTITY.fullmatch(raw_quantity) else None
    except InvalidOperation:  # an exponent past what Decimal holds
        quantity = None
    if quantity is None or not quantity.is_finite():
        errors["quantite"] = "quantité invalide"
    elif quantity <= 0:
        errors["quantite"] = "la quantité doit être positive"
    elif quantity > MAX_QUANTITY:
        errors["quantite"] = f"la quantité dépasse {MAX_QUANTITY}"
    elif quantity != quantity.quantize(Decimal("0.01")):
        errors["quantite"] = "au plus deux décimales"
    if errors:
        raise BonErrors(errors)
    assert member and activity and exercice and day and quantity is not None
    return BonInput(member, activity, exercice, day, quantity.quantize(Decimal("0.01")))


def bon_number(exercice_id: int, bon_id: int) -> str:
    """The number printed on a bon: ``BT<exercice>-<id>``."""
    return f"BT{exercice_id:02d}-{bon_id:05d}"
