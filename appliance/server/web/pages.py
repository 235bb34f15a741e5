"""NeoCuma Web's pages for LAN users: dossiers, tiers, matériels, bons de travaux (with the
entry form), factures and écritures by exercice. French, one page per subject."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from appliance.domain.bons import BonErrors
from appliance.domain.numbers import whole
from appliance.domain.schema import TIERS_CATEGORIES
from appliance.errors import NotFound, Refused
from appliance.server import dossier_data
from appliance.server.store import DossierInfo, User
from appliance.server.web.context import current_user, dossier_in_rights, view, web_context
from appliance.server.writes import STANDBY_MESSAGE, enter_bon, writes_allowed
from appliance.web.security import csrf_valid

log = logging.getLogger(__name__)
blueprint = Blueprint("pages", __name__)

CATEGORY_LABELS = {"adherent": "Adhérents", "client": "Clients", "fournisseur": "Fournisseurs", "divers": "Divers"}


def _user_or_login() -> User:
    user = current_user()
    if user is None:
        abort(redirect(url_for("login")))
    return user


def _exercice(dossier: DossierInfo, exercice_id: int) -> Any:
    for exercice in dossier_data.exercices(view(), dossier.id):
        if exercice.id == exercice_id:
            return exercice
    abort(404)


def _page_number() -> int:
    page = whole(request.args.get("page", "0"), 100_000)
    if page is None:
        abort(400, "numéro de page invalide")
    return page


def _can_write(dossier: DossierInfo) -> tuple[bool, str | None]:
    if not writes_allowed(web_context().role, view().live.mode):
        return False, STANDBY_MESSAGE
    if dossier.access != "ecriture":
        return False, "Vous n'avez qu'un accès en lecture à ce dossier."
    if dossier.exporte:
        return False, "Ce dossier est exporté : il est verrouillé en écriture sur ce serveur."
    return True, None


@blueprint.get("/dossiers")
def dossiers() -> Any:
    user = _user_or_login()
    return render_template("dossiers.html", user=user, dossiers=view().dossiers_for(user.id))


@blueprint.get("/dossiers/<code>")
def dossier(code: str) -> Any:
    user = _user_or_login()
    found = dossier_in_rights(user, code)
    return render_template("dossier.html", user=user, dossier=found, exercices=dossier_data.exercices(view(), found.id))


@blueprint.get("/dossiers/<code>/tiers")
def tiers(code: str) -> Any:
    user = _user_or_login()
    found = dossier_in_rights(user, code)
    category = request.args.get("categorie", "adherent")
    if category not in TIERS_CATEGORIES:
        abort(400, "catégorie inconnue")
    rows = dossier_data.tiers(view(), found.id, category)
    return render_template("tiers.html", user=user, dossier=found, category=category, labels=CATEGORY_LABELS, rows=rows)


@blueprint.get("/dossiers/<code>/materiels")
def materiels(code: str) -> Any:
    user = _user_or_login()
    found = dossier_in_rights(user, code)
    return render_template("materiels.html", user=user, dossier=found, rows=dossier_data.materiels(view(), found.id))


@blueprint.get("/dossiers/<code>/exercices/<int:exercice_id>/<subject>")
def exercice_subject(code: str, exercice_id: int, subject: str) -> Any:
    user = _user_or_login()
    found = dossier_in_rights(user, code)
    exercice = _exercice(found, exercice_id)
    page = _page_number()
    if subject == "bons":
        can_write, reason = _can_write(found)
        return render_template(
            "bons.html",
            user=user,
            dossier=found,
            exercice=exercice,
            page=page,
            rows=dossier_data.bons(view(), found.id, exercice_id, page),
            can_write=can_write and not exercice.closed,
            reason=reason,
            members=[m for m in dossier_data.members(view(), found.id) if m.active and not m.deceased],
            activities=dossier_data.activities(view(), found.id),
            errors={},
            form={},
        )
    if subject == "factures":
        rows = dossier_data.factures(view(), found.id, exercice_id, page)
        return render_template("factures.html", user=user, dossier=found, exercice=exercice, page=page, rows=rows)
    if subject == "ecritures":
        rows = dossier_data.ecritures(view(), found.id, exercice_id, page)
        return render_template("ecritures.html", user=user, dossier=found, exercice=exercice, page=page, rows=rows)
    abort(404)


@blueprint.post("/dossiers/<code>/bons")
def new_bon(code: str) -> Any:
    user = _user_or_login()
    if not csrf_valid(session, request.form.get("csrf")):
        abort(400, "jeton CSRF invalide")
    found = dossier_in_rights(user, code)
    form = {key: request.form.get(key, "") for key in ("tiers_id", "activite_id", "date", "quantite")}
    try:
        result = enter_bon(web_context().pool, web_context().role, user, code, form)
    except BonErrors as error:
        exercices = dossier_data.exercices(view(), found.id)
        if not exercices:  # nothing to show the form in: say why instead of failing
            message = "ce dossier n'a aucun exercice : aucun bon de travaux ne peut y être saisi"
            return render_template("error.html", user=user, message=message), 422
        open_exercices = [e for e in exercices if not e.closed]
        exercice = open_exercices[-1] if open_exercices else exercices[-1]
        return render_template(
            "bons.html",
            user=user,
            dossier=found,
            exercice=exercice,
            page=0,
            rows=dossier_data.bons(view(), found.id, exercice.id, 0),
            can_write=True,
            reason=None,
            members=[m for m in dossier_data.members(view(), found.id) if m.active and not m.deceased],
            activities=dossier_data.activities(view(), found.id),
            errors=error.errors,
            form=form,
        ), 422
    except (Refused, NotFound) as error:
        log.warning("bon refused for %s in %s: %s", user.login, code, error)
        return render_template("error.html", user=user, message=str(error)), 403
    flash(f"Bon {result.numero} enregistré (révision {result.revision} du dossier).")
    return redirect(url_for("pages.exercice_subject", code=code, exercice_id=result.exercice_id, subject="bons"))
