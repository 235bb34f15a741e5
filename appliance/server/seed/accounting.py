"""Accounting rows of a generated dossier: bons de travaux turned into invoices, balanced
entries (sales, bank, purchases, depreciation) with lettering."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from appliance.server.seed import vocabulary as voc
from appliance.server.seed.rows import TVA_RATE, DossierRows, money, random_day


def _entry(
    rows: DossierRows,
    exercice_id: int,
    journal_id: int,
    day: dt.date,
    piece: str,
    label: str,
    lines: list[tuple[str, str, Decimal, Decimal, str | None]],
) -> int:
    debit = sum((line[2] for line in lines), Decimal(0))
    credit = sum((line[3] for line in lines), Decimal(0))
    if debit != credit:
        raise AssertionError(f"unbalanced entry {piece}: {debit} != {credit}")
    entry_id = rows.add("ecriture", exercice_id, journal_id, day, piece, label)
    for account, line_label, line_debit, line_credit, lettering in lines:
        rows.add("ecriture_ligne", entry_id, account, line_label, line_debit, line_credit, lettering)
    return entry_id


def _lettering(number: int) -> str:
    letters = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def exercice_activity(
    rows: DossierRows,
    rng: random.Random,
    exercice_id: int,
    start: dt.date,
    end: dt.date,
    closed: bool,
    members: list[tuple[int, str]],
    activities: list[tuple[int, str, Decimal, str]],
    journals: dict[str, int],
    piece: int,
) -> int:
    zero = Decimal("0.00")
    for member_id, _ in members:
        for _ in range(rng.randrange(8, 20)):
            activity_id = rng.choice(activities)[0]
            morning = Decimal(rng.choice((0, 2, 3, 4)))
            afternoon = Decimal(rng.choice((0, 2, 3, 4, 5)))
            evening = Decimal(rng.choice((0, 0, 0, 1, 2)))
            rows.add(
                "intervention",
                exercice_id,
                random_day(rng, start, end),
                rng.choice(("travail", "travail", "entretien", "transport")),
                activity_id,
                member_id,
                morning,
                afternoon,
                evening,
                morning + afternoon + evening,
                f"{rng.choice(voc.FIRST_NAMES)} {rng.choice(voc.LAST_NAMES)}" if rng.random() < 0.4 else None,
            )
    middle = start + (end - start) / 2
    for member_id, member_name in members:
        halves: tuple[list[_Bon], list[_Bon]] = ([], [])
        for _ in range(rng.randrange(5, 15)):
            activity_id, label, rate, _unit = rng.choice(activities)
            quantity = money(rng.uniform(1, 60))
            day = random_day(rng, start, end)
            number = f"BT{exercice_id:02d}-{rows.counters.get('bon_travaux', 0) + 1:05d}"
            bon_id = rows.add(
                "bon_travaux",
                exercice_id,
                number,
                day,
                member_id,
                activity_id,
                quantity,
                money(quantity * rate),
                None,
                None,
            )
            halves[0 if day < middle else 1].append((bon_id, day, activity_id, label, rate, quantity))
        for bons in halves:
            if bons and (closed or rng.random() < 0.7):  # some bons of the open exercice wait for their invoice
                piece = _invoice(rows, rng, exercice_id, end, closed, member_id, member_name, bons, journals, piece)
    for _ in range(rng.randrange(25, 70)):
        account, label = rng.choice(voc.PURCHASES)
        amount = money(rng.uniform(40, 4000))
        tva = money(amount * TVA_RATE)
        piece += 1
        _entry(
            rows,
            exercice_id,
            journals["AC"],
            random_day(rng, start, end),
            f"A{exercice_id:02d}-{piece:05d}",
            label,
            [
                (account, label, amount, zero, None),
                ("445660", "TVA déductible", tva, zero, None),
                ("401000", rng.choice(voc.COMPANIES), zero, amount + tva, None),
            ],
        )
    return piece


_Bon = tuple[int, dt.date, int, str, Decimal, Decimal]


def _invoice(
    rows: DossierRows,
    rng: random.Random,
    exercice_id: int,
    end: dt.date,
    closed: bool,
    member_id: int,
    member_name: str,
    bons: list[_Bon],
    journals: dict[str, int],
    piece: int,
) -> int:
    """Invoice ``bons``: the invoice, its lines, its sales entry and, when paid, the bank
    entry lettered with it. Returns the last piece number used."""
    zero = Decimal("0.00")
    invoice_day = max(bon[1] for bon in bons)
    total_ht = sum((money(bon[5] * bon[4]) for bon in bons), zero)
    tva = money(total_ht * TVA_RATE)
    piece += 1
    number = f"F{exercice_id:02d}-{piece:05d}"
    lettering = _lettering(piece) if closed or rng.random() < 0.6 else None
    entry_id = _entry(
        rows,
        exercice_id,
        journals["VT"],
        invoice_day,
        number,
        f"Facture {member_name}",
        [
            ("411000", member_name, total_ht + tva, zero, lettering),
            ("706000", "Prestations de services", zero, total_ht, None),
            ("445710", "TVA collectée", zero, tva, None),
        ],
    )
    invoice_id = rows.add(
        "facture", exercice_id, number, invoice_day, member_id, total_ht, tva, total_ht + tva, entry_id
    )
    for bon_id, _, _, label, rate, quantity in bons:
        rows.add("facture_ligne", invoice_id, bon_id, label, quantity, rate, money(quantity * rate))
        _link_bon(rows, bon_id, invoice_id)
    if lettering:
        paid_day = min(end, invoice_day + dt.timedelta(days=rng.randrange(5, 60)))
        piece += 1
        _entry(
            rows,
            exercice_id,
            journals["BQ"],
            paid_day,
            f"R{exercice_id:02d}-{piece:05d}",
            f"Règlement {member_name}",
            [
                ("512000", "Banque", total_ht + tva, zero, None),
                ("411000", member_name, zero, total_ht + tva, lettering),
            ],
        )
    return piece


def _link_bon(rows: DossierRows, bon_id: int, invoice_id: int) -> None:
    bons = rows.tables["bon_travaux"]
    index = bon_id - 1  # ids are allocated in order, so row i holds id i + 1
    row = list(bons[index])
    row[9] = invoice_id
    bons[index] = tuple(row)


def exercice_depreciation(
    rows: DossierRows,
    assets: list[tuple[int, Decimal, int, dt.date]],
    exercice_id: int,
    end: dt.date,
    journals: dict[str, int],
    piece: int,
) -> int:
    zero = Decimal("0.00")
    lines: list[tuple[str, str, Decimal, Decimal, str | None]] = []
    for asset_id, value, duration, acquired in assets:
        if acquired > end or acquired.year + duration < end.year:
            continue
        amount = money(value / duration)
        rows.add("dotation", asset_id, exercice_id, amount)
        lines.append(("681120", "Dotation aux amortissements", amount, zero, None))
        lines.append(("281540", "Amortissement matériel", zero, amount, None))
    if lines:
        piece += 1
        _entry(
            rows,
            exercice_id,
            journals["OD"],
            end,
            f"D{exercice_id:02d}-{piece:05d}",
            "Dotations aux amortissements",
            lines,
        )
    return piece
