"""Deterministic generator of realistic NeoCuma centres (pure: rows out, no I/O).

The same options give the same rows, byte for byte: every dossier draws from its own
``random.Random`` seeded with ``(seed, dossier id)``, password salts derive from the seed, and
dates derive from ``end_year``, never from today's date.

Per dossier it makes a CUMA as DOMAIN.md describes it: zero-padded member codes, inactive and
deceased members, machines and activities billed in different units, interventions, bons de
travaux turned into invoices, balanced accounting entries (sales, purchases, bank, depreciation)
over several exercices of which all but the last are closed, loans and their instalments, and
capital subscriptions. One dossier of the main centre is flagged *exporté*, and one is outside
the rights of the centre's responsable départemental.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from appliance.domain.centres import Centre
from appliance.domain.passwords import hash_password
from appliance.domain.schema import TABLES_BY_NAME, Table
from appliance.server.seed import vocabulary as voc
from appliance.server.seed.accounting import exercice_activity, exercice_depreciation
from appliance.server.seed.financing import fixed_assets, loans
from appliance.server.seed.rows import DossierRows, Row, money, random_day


@dataclass(frozen=True)
class GeneratorOptions:
    """What to generate. ``centres[0]`` is the main centre, holding ``dossiers`` dossiers."""

    centres: tuple[Centre, ...]
    dossiers: int = 20
    years: int = 3
    seed: int = 1
    end_year: int = 2026
    password: str = "neocuma-demo"
    other_centre_dossiers: int | None = None

    def __post_init__(self) -> None:
        if not self.centres:
            raise ValueError("il faut au moins un centre")
        if not 1 <= self.dossiers <= 5000:
            raise ValueError(f"--dossiers doit être entre 1 et 5000, pas {self.dossiers}")
        if not 1 <= self.years <= 30:
            raise ValueError(f"--years doit être entre 1 et 30, pas {self.years}")
        if not 2000 <= self.end_year <= 2100:
            raise ValueError(f"--end-year doit être entre 2000 et 2100, pas {self.end_year}")

    def dossiers_of(self, centre_index: int) -> int:
        if centre_index == 0:
            return self.dossiers
        if self.other_centre_dossiers is not None:
            return self.other_centre_dossiers
        return max(2, self.dossiers // 5)


@dataclass(frozen=True)
class Batch:
    """Rows of one table, in column order."""

    table: Table
    rows: list[Row]


@dataclass
class _DossierPlan:
    id: int
    code: str
    centre: Centre
    kind: str
    name: str
    principal: bool
    exporte: bool
    index: int
    prefix: str  # of the dossier's code and code HCCA


def generate(options: GeneratorOptions) -> Iterator[Batch]:
    """Yield every row of the centres ``options`` describe, reference tables first."""
    yield from _reference_batches()
    plans = _plan_dossiers(options)
    yield Batch(TABLES_BY_NAME["centre"], [_centre_row(c) for c in options.centres])
    yield Batch(
        TABLES_BY_NAME["dossier"],
        [_dossier_row(plan, options) for plan in plans],
    )
    users, rights = _users_and_rights(options, plans)
    yield Batch(TABLES_BY_NAME["utilisateur"], users)
    yield Batch(TABLES_BY_NAME["droit_dossier"], rights)
    for plan in plans:
        rows = _generate_dossier(plan, options)
        for name, table_rows in rows.tables.items():
            yield Batch(TABLES_BY_NAME[name], table_rows)


def demo_logins(centre: Centre) -> dict[str, str]:
    """Logins the generator gives each profile of ``centre`` (documented in the README)."""
    slug = centre.code.lower().replace(" ", "-")
    return {
        "responsable_departemental": f"resp.{slug}",
        "responsable_informatique": f"info.{slug}",
        "comptable_departemental": f"compta.{slug}",
        "comptable": f"compta1.{slug}",
        "animateur": f"anim.{slug}",
        "responsable_chronofd": f"chrono.{slug}",
    }


def _reference_batches() -> Iterator[Batch]:
    yield Batch(TABLES_BY_NAME["ref_base"], [(1, "Base NeoCuma nationale", "2026.1"), (2, "Base Aquitaine", "2026.1")])
    yield Batch(TABLES_BY_NAME["ref_unite"], [(code, label) for code, label in voc.UNITS])
    yield Batch(
        TABLES_BY_NAME["ref_compte_modele"],
        [(base, account, label) for base in (1, 2) for account, label in voc.ACCOUNTS],
    )
    yield Batch(
        TABLES_BY_NAME["ref_tva"],
        [
            ("N", Decimal("20.00"), "Taux normal"),
            ("I", Decimal("10.00"), "Taux intermédiaire"),
            ("R", Decimal("5.50"), "Taux réduit"),
        ],
    )


def _centre_row(centre: Centre) -> Row:
    address = f"Maison de l'agriculture, {centre.departement or '00'}000"
    return (centre.code, centre.name, centre.departement, address)


def _code_prefixes(centres: tuple[Centre, ...]) -> list[str]:
    """Each centre's dossier-code prefix: its département; centres without one (AGC
    AQUITAINE, NEOLOGIK) take 99, 98, … in turn, skipping a département's number, so
    dossier codes (unique on the server) never collide when several are generated."""
    taken = {centre.departement for centre in centres if centre.departement}
    spare = (f"{number:02d}" for number in range(99, 9, -1) if f"{number:02d}" not in taken)
    return [centre.departement or next(spare) for centre in centres]


def _plan_dossiers(options: GeneratorOptions) -> list[_DossierPlan]:
    plans: list[_DossierPlan] = []
    next_id = 100001
    prefixes = _code_prefixes(options.centres)
    for centre_index, centre in enumerate(options.centres):
        rng = random.Random(f"{options.seed}:centre:{centre.code}")
        prefix = prefixes[centre_index]
        count = options.dossiers_of(centre_index)
        communes = rng.sample(voc.COMMUNES, k=min(len(voc.COMMUNES), count))
        for index in range(count):
            commune = communes[index % len(communes)]
            if index == 0:
                kind, name = "FDCUMA", centre.name
            elif index == 1 and count >= 4:
                kind, name = "Societe", f"SARL Agri Services {commune}"
            elif index == 2 and count >= 6:
                kind, name = "AGC", f"AGC {centre.code} Conseil"
            else:
                suffix = "" if index < len(communes) else f" {index // len(communes) + 1}"
                kind, name = "CUMA", f"CUMA {rng.choice(voc.CUMA_PREFIXES)}{commune}{suffix}"
            plans.append(
                _DossierPlan(
                    id=next_id,
                    code=f"{prefix}{index + 1:04d}",
                    centre=centre,
                    kind=kind,
                    name=name,
                    principal=index == 0,
                    exporte=centre_index == 0 and index == 3 and count >= 5,
                    index=index,
                    prefix=prefix,
                )
            )
            next_id += 1
    return plans


def _dossier_row(plan: _DossierPlan, options: GeneratorOptions) -> Row:
    modified = dt.datetime(options.end_year, 6, 1, 8, 0, 0) + dt.timedelta(minutes=plan.id % 5000)
    return (
        plan.id,
        plan.centre.code,
        plan.code,
        f"H{plan.prefix}{plan.index + 1:05d}",
        plan.name,
        plan.kind,
        1 if plan.principal else 0,
        1 if plan.exporte else 0,
        1 if plan.kind == "CUMA" and plan.index % 3 == 0 else 0,
        2 if plan.centre.code.startswith("AGC") else 1,
        1,
        modified,
    )


def _users_and_rights(options: GeneratorOptions, plans: list[_DossierPlan]) -> tuple[list[Row], list[Row]]:
    users: list[Row] = []
    rights: list[Row] = []
    user_id = 1
    for centre in options.centres:
        rng = random.Random(f"{options.seed}:users:{centre.code}")
        own = [plan for plan in plans if plan.centre.code == centre.code]
        societe = [plan.id for plan in own if plan.kind == "Societe"]
        cumas = [plan.id for plan in own if plan.kind == "CUMA"]
        grants: dict[str, list[tuple[int, str]]] = {
            # The Société dossier is kept by its own comptable: outside the responsable's rights.
            "responsable_departemental": [(p.id, "ecriture") for p in own if p.id not in societe],
            "responsable_informatique": [(p.id, "lecture") for p in own],
            "comptable_departemental": [(d, "ecriture") for d in [p.id for p in own][: max(1, len(own) // 2)]]
            + [(d, "ecriture") for d in societe if d not in [p.id for p in own][: max(1, len(own) // 2)]],
            "comptable": [(cumas[-1] if cumas else own[0].id, "ecriture")],
            "animateur": [(d, "lecture") for d in cumas[:3]],
            "responsable_chronofd": [],
        }
        for profile, login in demo_logins(centre).items():
            first, last = rng.choice(voc.FIRST_NAMES), rng.choice(voc.LAST_NAMES)
            salt = hashlib.sha256(f"{options.seed}:{login}".encode()).digest()[:16]
            users.append(
                (
                    user_id,
                    login,
                    last,
                    first,
                    f"{login}@{centre.code.lower().replace(' ', '')}.example.fr",
                    profile,
                    centre.code,
                    hash_password(options.password, salt=salt),
                    1,
                )
            )
            for dossier_id, access in sorted(set(grants[profile])):
                rights.append((user_id, dossier_id, access))
            user_id += 1
    return users, rights


def _exercices(rng: random.Random, options: GeneratorOptions) -> list[tuple[str, dt.date, dt.date, bool]]:
    closing_month = rng.choice((12, 12, 12, 12, 9, 8, 6))
    result = []
    for offset in range(options.years):
        year = options.end_year - options.years + 1 + offset
        end = dt.date(year, closing_month, calendar.monthrange(year, closing_month)[1])
        start = dt.date(year - 1, closing_month, calendar.monthrange(year - 1, closing_month)[1]) + dt.timedelta(days=1)
        label = str(year) if closing_month == 12 else f"{year - 1}/{year}"
        result.append((label, start, end, offset < options.years - 1))
    return result


def _generate_dossier(plan: _DossierPlan, options: GeneratorOptions) -> DossierRows:
    rng = random.Random(f"{options.seed}:dossier:{plan.id}")
    rows = DossierRows(plan.id)
    exercices = [(rows.add("exercice", *e[:3], 1 if e[3] else 0), e) for e in _exercices(rng, options)]
    commune = plan.name.split()[-1]
    rows.add(
        "fiche_cuma",
        plan.code,
        f"{rng.randrange(10**13, 10**14)}",
        f"{rng.randrange(1, 40)} route de {rng.choice(voc.COMMUNES)}",
        f"{plan.centre.departement or '99'}{rng.randrange(0, 999):03d}",
        commune,
        f"{rng.choice(voc.FIRST_NAMES)} {rng.choice(voc.LAST_NAMES)}",
        dt.date(rng.randrange(1950, 2010), rng.randrange(1, 13), rng.randrange(1, 29)),
    )
    accounts = {account: rows.add("plan_comptable", account, label) for account, label in voc.ACCOUNTS}
    journals = {code: rows.add("journal", code, label) for code, label in voc.JOURNALS}
    members = _tiers(rows, rng, plan)
    machines, activities = _machines_and_activities(rows, rng, options)
    assets = fixed_assets(rows, rng, machines, exercices)
    loans(rows, rng, exercices)
    for member_id, _ in members:
        rows.add(
            "souscription_capital",
            member_id,
            random_day(rng, exercices[0][1][1], exercices[0][1][2]),
            rng.randrange(5, 200),
            Decimal("15.24"),
            money(rng.randrange(5, 200) * 15.24),
            Decimal("0.00"),
        )
    piece = 0
    for exercice_id, (_, start, end, closed) in exercices:
        piece = exercice_activity(rows, rng, exercice_id, start, end, closed, members, activities, journals, piece)
        piece = exercice_depreciation(rows, assets, exercice_id, end, journals, piece)
    del accounts
    return rows


def _tiers(rows: DossierRows, rng: random.Random, plan: _DossierPlan) -> list[tuple[int, str]]:
    members: list[tuple[int, str]] = []
    member_count = max(5, min(110, int(rng.lognormvariate(3.2, 0.45))))
    dept = plan.centre.departement or "99"
    for category, count in (
        ("adherent", member_count),
        ("client", rng.randrange(2, 8)),
        ("fournisseur", rng.randrange(5, 15)),
        ("divers", rng.randrange(0, 3)),
    ):
        for number in range(1, count + 1):
            last = rng.choice(voc.LAST_NAMES)
            first: str | None = rng.choice(voc.FIRST_NAMES)
            if category == "adherent" and rng.random() < 0.25:
                name, first = f"GAEC {rng.choice(voc.GAEC_NAMES)}", None
            elif category in ("fournisseur", "client"):
                name, first = rng.choice(voc.COMPANIES), None
            else:
                name = last
            deceased = category == "adherent" and rng.random() < 0.03
            active = not deceased and rng.random() > 0.08
            address = f"{rng.randrange(1, 60)} {rng.choice(voc.STREETS)}"
            if rng.random() < 0.05:
                address += "\nBâtiment B"  # multi-line addresses exist and must survive export
            tiers_id = rows.add(
                "tiers",
                category,
                f"{number:03d}",
                name,
                first,
                address,
                f"{dept}{rng.randrange(0, 999):03d}",
                rng.choice(voc.COMMUNES),
                f"05 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
                if rng.random() < 0.8
                else None,
                f"{last.lower().replace(' ', '').replace(chr(39), '')}{number}@exemple.fr"
                if rng.random() < 0.5
                else None,
                1 if active else 0,
                1 if deceased else 0,
            )
            if category == "adherent":
                members.append((tiers_id, name))
                if name.startswith("GAEC"):
                    for _ in range(rng.randrange(1, 4)):
                        rows.add(
                            "associe",
                            tiers_id,
                            rng.choice(voc.LAST_NAMES),
                            rng.choice(voc.FIRST_NAMES),
                            rng.choice(voc.PARTNER_ROLES),
                        )
    return members


def _machines_and_activities(
    rows: DossierRows, rng: random.Random, options: GeneratorOptions
) -> tuple[list[tuple[int, str, Decimal, int]], list[tuple[int, str, Decimal, str]]]:
    machines: list[tuple[int, str, Decimal, int]] = []
    activities: list[tuple[int, str, Decimal, str]] = []
    for number in range(1, rng.randrange(20, 41) + 1):
        kind, unit, low, high = rng.choice(voc.MACHINES)
        brand = rng.choice(voc.BRANDS)
        year = rng.randrange(options.end_year - 20, options.end_year + 1)
        value = money(rng.randrange(8, 250) * 1000)
        label = f"{kind} {brand}"
        machine_id = rows.add("materiel", f"M{number:03d}", label, brand, year, value, 1 if rng.random() > 0.1 else 0)
        machines.append((machine_id, label, value, year))
        rate = money(rng.uniform(low, high))
        activity_label = f"{kind} ({unit})"
        if number == 7:
            activity_label += " 🚜"  # emoji survive the whole chain
        activity_id = rows.add("activite", f"A{number:03d}", activity_label, unit, rate, machine_id)
        activities.append((activity_id, activity_label, rate, unit))
        rows.add("element_facturation", activity_id, f"Utilisation {kind.lower()}", "unitaire", rate)
        if rng.random() < 0.2:
            rows.add(
                "element_facturation",
                activity_id,
                f"Forfait entretien {kind.lower()}",
                "forfait",
                money(rng.randrange(50, 400)),
            )
    return machines, activities
