"""Demo system files of a central server: configuration, report templates, reference data and
archived documents, deterministic for a given seed."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from appliance.server.seed import vocabulary as voc

_TEMPLATES = {
    "modeles/facture.html": "<h1>Facture {{ facture.numero }}</h1>\n<p>{{ tiers.nom }}</p>\n"
    "<table>{% for ligne in lignes %}<tr><td>{{ ligne.libelle }}</td><td>{{ ligne.montant_ht }}</td></tr>{% endfor %}</table>\n",
    "modeles/bon_travaux.html": "<h1>Bon de travaux {{ bon.numero }}</h1>\n<p>{{ bon.date }} : {{ bon.quantite }} {{ activite.unite_code }}</p>\n",
    "modeles/releve_compte.html": "<h1>Relevé de compte adhérent</h1>\n<p>{{ tiers.code }} {{ tiers.nom }}</p>\n",
    # NeoCuma Web's pages render the header with server_name only (base.html).
    "modeles/entete.html": "<header>NeoCuma — {{ server_name }}</header>\n",
}


def write_demo_files(target: Path, server_name: str, seed: int, dossier_codes: list[str]) -> None:
    """Fill ``target`` (which must not exist) with the demo system files, atomically: the
    files are written beside it and the directory renamed into place at the end."""
    staging = target.with_name(target.name + ".tmp")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    files: dict[str, bytes] = {
        "config/neocuma.ini": (
            f"[serveur]\nnom = {server_name}\nversion = 2026.11\n[sauvegardes]\nhistorique = 14\n"
        ).encode(),
        "references/unites.csv": ("code;libelle\n" + "".join(f"{c};{label}\n" for c, label in voc.UNITS)).encode(),
        "references/plan_comptable_modele.csv": (
            "compte;libelle\n" + "".join(f"{c};{label}\n" for c, label in voc.ACCOUNTS)
        ).encode(),
    }
    files.update({name: text.encode() for name, text in _TEMPLATES.items()})
    for code in dossier_codes[:8]:
        files[f"archives/{code}/statuts.pdf"] = _fake_pdf(f"{seed}:{code}:statuts", 24_000)
        files[f"archives/{code}/pv-assemblee-generale.pdf"] = _fake_pdf(f"{seed}:{code}:ag", 12_000)
    for name, content in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    os.rename(staging, target)


def _fake_pdf(label: str, size: int) -> bytes:
    """Deterministic bytes shaped like a small PDF."""
    body = bytearray(b"%PDF-1.4\n% NeoCuma demo document\n")
    block = hashlib.sha256(label.encode()).digest()
    while len(body) < size:
        block = hashlib.sha256(block).digest()
        body += block
    return bytes(body[:size]) + b"\n%%EOF\n"
