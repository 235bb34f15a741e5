"""Read queries on one dossier's rows, for NeoCuma Web's pages and JSON API.

Every function takes a ``RequestView`` (one snapshot of one generation) and a dossier id the
caller has already checked against the user's rights.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from appliance.adapters.mysql import query_all
from appliance.domain.bons import Activity, Exercice, Member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import TIERS_CATEGORIES
from appliance.errors import Unavailable
from appliance.server.store import RequestView

PAGE_SIZE = 500


def _schema(view: RequestView) -> str:
    if view.live.schema is None:
        raise Unavailable("ce serveur n'a encore aucune donnée synchronisée")
    return quote_identifier(view.live.schema)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _records(view: RequestView, sql: str, params: tuple[Any, ...], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {name: _json_value(value) for name, value in zip(names, row, strict=True)}
        for row in query_all(view.connection, sql, params)
    ]


def exercices(view: RequestView, dossier_id: int) -> list[Exercice]:
    rows = query_all(
        view.connection,
        f"SELECT id, libelle, date_debut, date_fin, cloture FROM {_schema(view)}.exercice"
        " WHERE dossier_id = %s ORDER BY date_debut",
        (dossier_id,),
    )
    return [Exercice(int(r[0]), str(r[1]), r[2], r[3], bool(r[4])) for r in rows]


def members(view: RequestView, dossier_id: int) -> list[Member]:
    rows = query_all(
        view.connection,
        f"SELECT id, code, CONCAT_WS(' ', nom, prenom), actif, disparu FROM {_schema(view)}.tiers"
        " WHERE dossier_id = %s AND categorie = 'adherent' ORDER BY code",
        (dossier_id,),
    )
    return [Member(int(r[0]), str(r[1]), str(r[2]), bool(r[3]), bool(r[4])) for r in rows]


def activities(view: RequestView, dossier_id: int) -> list[Activity]:
    rows = query_all(
        view.connection,
        f"SELECT id, code, libelle, unite_code, tarif FROM {_schema(view)}.activite WHERE dossier_id = %s ORDER BY code",
        (dossier_id,),
    )
    return [Activity(int(r[0]), str(r[1]), str(r[2]), str(r[3]), Decimal(r[4])) for r in rows]


def tiers(view: RequestView, dossier_id: int, category: str) -> list[dict[str, Any]]:
    """The tiers of one category (adherent, client, fournisseur, divers), by code."""
    if category not in TIERS_CATEGORIES:
        raise ValueError(f"unknown tiers category {category!r}")
    names = ("id", "code", "nom", "prenom", "adresse", "code_postal", "ville", "telephone", "email", "actif", "disparu")
    return _records(
        view,
        f"SELECT {', '.join(names)} FROM {_schema(view)}.tiers WHERE dossier_id = %s AND categorie = %s ORDER BY code",
        (dossier_id, category),
        names,
    )


def materiels(view: RequestView, dossier_id: int) -> list[dict[str, Any]]:
    names = ("id", "code", "libelle", "marque", "annee_achat", "valeur_achat", "actif")
    return _records(
        view,
        f"SELECT {', '.join(names)} FROM {_schema(view)}.materiel WHERE dossier_id = %s ORDER BY code",
        (dossier_id,),
        names,
    )


def bons(view: RequestView, dossier_id: int, exercice_id: int, page: int = 0) -> list[dict[str, Any]]:
    names = ("id", "numero", "date", "tiers", "activite", "unite", "quantite", "montant", "facture_id", "saisi_par")
    schema = _schema(view)
    return _records(
        view,
        f"SELECT b.id, b.numero, b.date, CONCAT(t.code, ' ', t.nom), a.libelle, a.unite_code, b.quantite, b.montant,"
        f" b.facture_id, b.saisi_par FROM {schema}.bon_travaux b"
        f" JOIN {schema}.tiers t ON t.dossier_id = b.dossier_id AND t.id = b.tiers_id"
        f" JOIN {schema}.activite a ON a.dossier_id = b.dossier_id AND a.id = b.activite_id"
        " WHERE b.dossier_id = %s AND b.exercice_id = %s ORDER BY b.date, b.id LIMIT %s OFFSET %s",
        (dossier_id, exercice_id, PAGE_SIZE, page * PAGE_SIZE),
        names,
    )


def factures(view: RequestView, dossier_id: int, exercice_id: int, page: int = 0) -> list[dict[str, Any]]:
    names = ("id", "numero", "date", "tiers", "total_ht", "total_tva", "total_ttc")
    schema = _schema(view)
    return _records(
        view,
        f"SELECT f.id, f.numero, f.date, CONCAT(t.code, ' ', t.nom), f.total_ht, f.total_tva, f.total_ttc"
        f" FROM {schema}.facture f JOIN {schema}.tiers t ON t.dossier_id = f.dossier_id AND t.id = f.tiers_id"
        " WHERE f.dossier_id = %s AND f.exercice_id = %s ORDER BY f.date, f.id LIMIT %s OFFSET %s",
        (dossier_id, exercice_id, PAGE_SIZE, page * PAGE_SIZE),
        names,
    )


def ecritures(view: RequestView, dossier_id: int, exercice_id: int, page: int = 0) -> list[dict[str, Any]]:
    """Entries of an exercice with their lines (``lignes``), by date."""
    schema = _schema(view)
    entries = _records(
        view,
        f"SELECT e.id, j.code, e.date, e.piece, e.libelle FROM {schema}.ecriture e"
        f" JOIN {schema}.journal j ON j.dossier_id = e.dossier_id AND j.id = e.journal_id"
        " WHERE e.dossier_id = %s AND e.exercice_id = %s ORDER BY e.date, e.id LIMIT %s OFFSET %s",
        (dossier_id, exercice_id, PAGE_SIZE, page * PAGE_SIZE),
        ("id", "journal", "date", "piece", "libelle"),
    )
    if not entries:
        return entries
    by_id = {entry["id"]: entry for entry in entries}
    for entry in entries:
        entry["lignes"] = []
    placeholders = ", ".join(["%s"] * len(by_id))
    lines = _records(
        view,
        f"SELECT ecriture_id, compte, libelle, debit, credit, lettrage FROM {schema}.ecriture_ligne"
        f" WHERE dossier_id = %s AND ecriture_id IN ({placeholders}) ORDER BY ecriture_id, id",
        (dossier_id, *by_id),
        ("ecriture_id", "compte", "libelle", "debit", "credit", "lettrage"),
    )
    for line in lines:
        by_id[line.pop("ecriture_id")]["lignes"].append(line)
    return entries
