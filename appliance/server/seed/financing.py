"""Fixed assets and loans of a generated dossier (the generator's financing rows)."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from decimal import Decimal

from appliance.server.seed import vocabulary as voc
from appliance.server.seed.rows import DossierRows, money, random_day


def fixed_assets(
    rows: DossierRows,
    rng: random.Random,
    machines: list[tuple[int, str, Decimal, int]],
    exercices: list[tuple[int, tuple[str, dt.date, dt.date, bool]]],
) -> list[tuple[int, Decimal, int, dt.date]]:
    """Half the machines become fixed assets, acquired the year they were bought."""
    assets = []
    for machine_id, label, value, year in machines:
        if rng.random() < 0.5:
            acquired = dt.date(year, rng.randrange(1, 13), rng.randrange(1, 29))
            duration = rng.randrange(5, 11)
            asset_id = rows.add("immobilisation", machine_id, label, acquired, value, duration)
            assets.append((asset_id, value, duration, acquired))
    return assets


def loans(
    rows: DossierRows, rng: random.Random, exercices: list[tuple[int, tuple[str, dt.date, dt.date, bool]]]
) -> None:
    """One to four loans with their instalments up to the last exercice."""
    first_day = exercices[0][1][1]
    last_day = exercices[-1][1][2]
    for _ in range(rng.randrange(1, 5)):
        capital = money(rng.randrange(20, 300) * 1000)
        rate = Decimal(rng.randrange(50, 450)) / Decimal(100)
        months = rng.choice((36, 48, 60, 84, 120))
        start = random_day(rng, first_day - dt.timedelta(days=365), first_day + dt.timedelta(days=200))
        loan_id = rows.add(
            "emprunt",
            f"Prêt {rng.choice(voc.MACHINES)[0].lower()}",
            rng.choice(voc.BANKS),
            capital,
            rate,
            months,
            start,
        )
        step = rng.choice((1, 3, 12))
        remaining = capital
        principal = money(capital / (months // step))
        for number in range(step, months + 1, step):
            due = _add_months(start, number)
            if due > last_day or remaining <= 0:
                break
            interest = money(remaining * rate / 100 * step / 12)
            paid = min(principal, remaining)
            remaining = remaining - paid
            rows.add("echeance", loan_id, due, paid, interest, remaining)


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
