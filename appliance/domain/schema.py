"""The NeoCuma data model: one definition that gives the DDL, the export's columns and the
generator's tables.

Three scopes of tables live in a data generation (schema ``neocuma_g<N>``):

- ``reference``: reference data shared by every centre (chart-of-accounts templates, units);
- ``centre``: centres, users, rights and dossiers;
- ``dossier``: rows that belong to one dossier, keyed ``(dossier_id, id)`` with ids allocated
  per dossier, so two servers can add rows to different dossiers without colliding
  (docs/design.md §2). No table relies on a server-wide AUTO_INCREMENT, and there are no triggers
  or foreign keys: tables move between schemas and load in any order.
"""

from __future__ import annotations

# Re-exported: the model's building blocks, for those who read the model from here.
from appliance.domain.tables import Column as Column
from appliance.domain.tables import Scope as Scope
from appliance.domain.tables import Table as Table

SCHEMA_VERSION = 1
"""Version of the data model below; stored in each generation's ``schema_info`` table."""


def _c(name: str, sql_type: str, nullable: bool = False) -> Column:
    return Column(name, sql_type, nullable)


_DOSSIER_KEY = (_c("dossier_id", "INT UNSIGNED"), _c("id", "INT UNSIGNED"))


def _dossier_table(
    name: str,
    *columns: Column,
    unique: tuple[tuple[str, ...], ...] = (),
    indexes: tuple[tuple[str, ...], ...] = (),
    comment: str = "",
) -> Table:
    return Table(
        name=name,
        scope=Scope.DOSSIER,
        columns=_DOSSIER_KEY + columns,
        primary_key=("dossier_id", "id"),
        unique=unique,
        indexes=indexes,
        comment=comment,
    )


PROFILES = (
    "responsable_departemental",
    "responsable_informatique",
    "comptable_departemental",
    "comptable",
    "animateur",
    "responsable_chronofd",
    "utilisateur_cuma",
)
"""Profiles of NeoCuma users (DOMAIN.md); only the first may use the guardian."""

PROFILE_LABELS = {
    "responsable_departemental": "responsable départemental",
    "responsable_informatique": "responsable informatique de FDCUMA",
    "comptable_departemental": "comptable départemental",
    "comptable": "comptable",
    "animateur": "animateur",
    "responsable_chronofd": "responsable ChronoFD",
    "utilisateur_cuma": "utilisateur CUMA",
}

GUARDIAN_PROFILE = "responsable_departemental"

DOSSIER_TYPES = ("CUMA", "FDCUMA", "Societe", "AGC")
TIERS_CATEGORIES = ("adherent", "client", "fournisseur", "divers")


def _enum(values: tuple[str, ...]) -> str:
    return "ENUM(" + ", ".join(f"'{value}'" for value in values) + ")"


REFERENCE_TABLES = (
    Table(
        "ref_base",
        Scope.REFERENCE,
        (_c("id", "INT UNSIGNED"), _c("nom", "VARCHAR(80)"), _c("version", "VARCHAR(20)")),
        ("id",),
        comment="Bases de référence liées aux dossiers (lecture seule).",
    ),
    Table(
        "ref_unite",
        Scope.REFERENCE,
        (_c("code", "VARCHAR(10)"), _c("libelle", "VARCHAR(60)")),
        ("code",),
        comment="Unités de facturation des activités (ha, h, km, balle...).",
    ),
    Table(
        "ref_compte_modele",
        Scope.REFERENCE,
        (_c("base_id", "INT UNSIGNED"), _c("compte", "VARCHAR(10)"), _c("libelle", "VARCHAR(120)")),
        ("base_id", "compte"),
        comment="Modèles de plans comptables.",
    ),
    Table(
        "ref_tva",
        Scope.REFERENCE,
        (_c("code", "VARCHAR(10)"), _c("taux", "DECIMAL(5,2)"), _c("libelle", "VARCHAR(60)")),
        ("code",),
    ),
)

CENTRE_TABLES = (
    Table(
        "centre",
        Scope.CENTRE,
        (
            _c("code", "VARCHAR(20)"),
            _c("nom", "VARCHAR(120)"),
            _c("departement", "VARCHAR(3)", nullable=True),
            _c("adresse", "VARCHAR(200)", nullable=True),
        ),
        ("code",),
        comment="Centres de comptabilité.",
    ),
    Table(
        "utilisateur",
        Scope.CENTRE,
        (
            _c("id", "INT UNSIGNED"),
            _c("login", "VARCHAR(64)"),
            _c("nom", "VARCHAR(80)"),
            _c("prenom", "VARCHAR(80)"),
            _c("email", "VARCHAR(120)", nullable=True),
            _c("profil", _enum(PROFILES)),
            _c("centre_code", "VARCHAR(20)"),
            _c("password_hash", "VARCHAR(255)"),
            _c("actif", "TINYINT(1)"),
        ),
        ("id",),
        unique=(("login",),),
        comment="Utilisateurs; password_hash is scrypt, never a password.",
    ),
    Table(
        "droit_dossier",
        Scope.CENTRE,
        (
            _c("utilisateur_id", "INT UNSIGNED"),
            _c("dossier_id", "INT UNSIGNED"),
            _c("acces", "ENUM('lecture', 'ecriture')"),
        ),
        ("utilisateur_id", "dossier_id"),
        indexes=(("dossier_id",),),
        comment="Droits d'un utilisateur sur un dossier.",
    ),
    Table(
        "dossier",
        Scope.CENTRE,
        (
            _c("id", "INT UNSIGNED"),
            _c("centre_code", "VARCHAR(20)"),
            _c("code", "VARCHAR(32)"),
            _c("code_hcca", "VARCHAR(16)", nullable=True),
            _c("nom", "VARCHAR(120)"),
            _c("type", _enum(DOSSIER_TYPES)),
            _c("principal", "TINYINT(1)"),
            _c("exporte", "TINYINT(1)"),
            _c("infocentre", "TINYINT(1)"),
            _c("base_reference_id", "INT UNSIGNED"),
            _c("revision", "BIGINT UNSIGNED"),
            _c("modifie_le", "DATETIME"),
        ),
        ("id",),
        unique=(("code",),),
        indexes=(("centre_code",),),
        comment="Dossiers; id is the read-only ID système, revision moves with every change.",
    ),
)

DOSSIER_TABLES = (
    _dossier_table(
        "exercice",
        _c("libelle", "VARCHAR(40)"),
        _c("date_debut", "DATE"),
        _c("date_fin", "DATE"),
        _c("cloture", "TINYINT(1)"),
        comment="Exercices comptables; closed ones stay readable.",
    ),
    _dossier_table(
        "fiche_cuma",
        _c("agrement", "VARCHAR(20)"),
        _c("siret", "VARCHAR(14)", nullable=True),
        _c("adresse", "VARCHAR(200)"),
        _c("code_postal", "VARCHAR(5)"),
        _c("ville", "VARCHAR(80)"),
        _c("president", "VARCHAR(120)", nullable=True),
        _c("date_creation", "DATE", nullable=True),
    ),
    _dossier_table(
        "tiers",
        _c("categorie", _enum(TIERS_CATEGORIES)),
        _c("code", "VARCHAR(10)"),
        _c("nom", "VARCHAR(120)"),
        _c("prenom", "VARCHAR(80)", nullable=True),
        _c("adresse", "VARCHAR(200)", nullable=True),
        _c("code_postal", "VARCHAR(5)", nullable=True),
        _c("ville", "VARCHAR(80)", nullable=True),
        _c("telephone", "VARCHAR(20)", nullable=True),
        _c("email", "VARCHAR(120)", nullable=True),
        _c("actif", "TINYINT(1)"),
        _c("disparu", "TINYINT(1)"),
        unique=(("dossier_id", "categorie", "code"),),
        comment="Tiers in four categories, one of them the members (adhérents).",
    ),
    _dossier_table(
        "associe",
        _c("tiers_id", "INT UNSIGNED"),
        _c("nom", "VARCHAR(120)"),
        _c("prenom", "VARCHAR(80)", nullable=True),
        _c("fonction", "VARCHAR(60)", nullable=True),
    ),
    _dossier_table(
        "materiel",
        _c("code", "VARCHAR(10)"),
        _c("libelle", "VARCHAR(120)"),
        _c("marque", "VARCHAR(60)", nullable=True),
        _c("annee_achat", "SMALLINT UNSIGNED"),
        _c("valeur_achat", "DECIMAL(12,2)"),
        _c("actif", "TINYINT(1)"),
    ),
    _dossier_table(
        "activite",
        _c("code", "VARCHAR(10)"),
        _c("libelle", "VARCHAR(120)"),
        _c("unite_code", "VARCHAR(10)"),
        _c("tarif", "DECIMAL(10,2)"),
        _c("materiel_id", "INT UNSIGNED", nullable=True),
    ),
    _dossier_table(
        "element_facturation",
        _c("activite_id", "INT UNSIGNED"),
        _c("libelle", "VARCHAR(120)"),
        _c("mode", "ENUM('forfait', 'unitaire')"),
        _c("montant", "DECIMAL(12,2)"),
    ),
    _dossier_table(
        "intervention",
        _c("exercice_id", "INT UNSIGNED"),
        _c("date", "DATE"),
        _c("type", "ENUM('travail', 'entretien', 'transport')"),
        _c("activite_id", "INT UNSIGNED"),
        _c("tiers_id", "INT UNSIGNED", nullable=True),
        _c("heures_matin", "DECIMAL(4,2)"),
        _c("heures_apres_midi", "DECIMAL(4,2)"),
        _c("heures_soir", "DECIMAL(4,2)"),
        _c("duree_heures", "DECIMAL(5,2)"),
        _c("salarie", "VARCHAR(80)", nullable=True),
        indexes=(("dossier_id", "exercice_id"),),
    ),
    _dossier_table(
        "bon_travaux",
        _c("exercice_id", "INT UNSIGNED"),
        _c("numero", "VARCHAR(20)"),
        _c("date", "DATE"),
        _c("tiers_id", "INT UNSIGNED"),
        _c("activite_id", "INT UNSIGNED"),
        _c("quantite", "DECIMAL(10,2)"),
        _c("montant", "DECIMAL(12,2)"),
        _c("facture_id", "INT UNSIGNED", nullable=True),
        _c("saisi_par", "VARCHAR(64)", nullable=True),
        indexes=(("dossier_id", "exercice_id"),),
    ),
    _dossier_table(
        "facture",
        _c("exercice_id", "INT UNSIGNED"),
        _c("numero", "VARCHAR(20)"),
        _c("date", "DATE"),
        _c("tiers_id", "INT UNSIGNED"),
        _c("total_ht", "DECIMAL(12,2)"),
        _c("total_tva", "DECIMAL(12,2)"),
        _c("total_ttc", "DECIMAL(12,2)"),
        _c("ecriture_id", "INT UNSIGNED", nullable=True),
        indexes=(("dossier_id", "exercice_id"),),
    ),
    _dossier_table(
        "facture_ligne",
        _c("facture_id", "INT UNSIGNED"),
        _c("bon_travaux_id", "INT UNSIGNED", nullable=True),
        _c("libelle", "VARCHAR(160)"),
        _c("quantite", "DECIMAL(10,2)"),
        _c("prix_unitaire", "DECIMAL(10,2)"),
        _c("montant_ht", "DECIMAL(12,2)"),
    ),
    _dossier_table(
        "plan_comptable",
        _c("compte", "VARCHAR(10)"),
        _c("libelle", "VARCHAR(120)"),
        unique=(("dossier_id", "compte"),),
    ),
    _dossier_table(
        "journal",
        _c("code", "VARCHAR(4)"),
        _c("libelle", "VARCHAR(60)"),
    ),
    _dossier_table(
        "ecriture",
        _c("exercice_id", "INT UNSIGNED"),
        _c("journal_id", "INT UNSIGNED"),
        _c("date", "DATE"),
        _c("piece", "VARCHAR(20)"),
        _c("libelle", "VARCHAR(160)"),
        indexes=(("dossier_id", "exercice_id"),),
    ),
    _dossier_table(
        "ecriture_ligne",
        _c("ecriture_id", "INT UNSIGNED"),
        _c("compte", "VARCHAR(10)"),
        _c("libelle", "VARCHAR(160)"),
        _c("debit", "DECIMAL(12,2)"),
        _c("credit", "DECIMAL(12,2)"),
        _c("lettrage", "VARCHAR(4)", nullable=True),
        indexes=(("dossier_id", "ecriture_id"),),
    ),
    _dossier_table(
        "immobilisation",
        _c("materiel_id", "INT UNSIGNED", nullable=True),
        _c("libelle", "VARCHAR(120)"),
        _c("date_acquisition", "DATE"),
        _c("valeur_origine", "DECIMAL(12,2)"),
        _c("duree_annees", "SMALLINT UNSIGNED"),
    ),
    _dossier_table(
        "dotation",
        _c("immobilisation_id", "INT UNSIGNED"),
        _c("exercice_id", "INT UNSIGNED"),
        _c("montant", "DECIMAL(12,2)"),
    ),
    _dossier_table(
        "emprunt",
        _c("libelle", "VARCHAR(120)"),
        _c("organisme", "VARCHAR(80)"),
        _c("capital", "DECIMAL(12,2)"),
        _c("taux", "DECIMAL(6,3)"),
        _c("duree_mois", "SMALLINT UNSIGNED"),
        _c("date_debut", "DATE"),
    ),
    _dossier_table(
        "echeance",
        _c("emprunt_id", "INT UNSIGNED"),
        _c("date", "DATE"),
        _c("capital", "DECIMAL(12,2)"),
        _c("interets", "DECIMAL(12,2)"),
        _c("restant_du", "DECIMAL(12,2)"),
    ),
    _dossier_table(
        "souscription_capital",
        _c("tiers_id", "INT UNSIGNED"),
        _c("date", "DATE"),
        _c("parts", "INT UNSIGNED"),
        _c("valeur_part", "DECIMAL(10,2)"),
        _c("montant_libere", "DECIMAL(12,2)"),
        _c("montant_rembourse", "DECIMAL(12,2)"),
    ),
)

ALL_TABLES: tuple[Table, ...] = REFERENCE_TABLES + CENTRE_TABLES + DOSSIER_TABLES
TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in ALL_TABLES}
