"""NeoCuma Web's JSON API (``/api/v1``), session-cookie authenticated. Every answer names
the data generation it was read from; writes need the session's CSRF token in the
``X-CSRF-Token`` header (GET /api/v1/session gives it)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, abort, jsonify, request, session

from appliance.domain.bons import BonErrors
from appliance.domain.numbers import whole
from appliance.domain.schema import TIERS_CATEGORIES
from appliance.errors import NotFound, Refused
from appliance.server import dossier_data
from appliance.server.store import DossierInfo, User
from appliance.server.web.context import current_user, dossier_in_rights, view, web_context
from appliance.server.writes import enter_bon
from appliance.web.security import csrf_token, csrf_valid

log = logging.getLogger(__name__)
blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def _user() -> User:
    user = current_user()
    if user is None:
        abort(_error(401, "unauthenticated", "connexion requise"))
    return user


def _error(status: int, code: str, message: str, **extra: Any) -> Any:
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def _answer(**data: Any) -> Any:
    return jsonify(data_generation=view().live.data_generation, **data)


def _exercice_id(dossier: DossierInfo, exercice_id: int) -> int:
    if not any(e.id == exercice_id for e in dossier_data.exercices(view(), dossier.id)):
        abort(404)
    return exercice_id


def _page() -> int:
    page = whole(request.args.get("page", "0"), 100_000)
    if page is None:
        abort(_error(400, "bad_request", "numéro de page invalide"))
    return page


@blueprint.get("/session")
def session_info() -> Any:
    user = _user()
    return jsonify(user=user.login, profil=user.profile, csrf=csrf_token(session))


@blueprint.get("/check")
def application_check() -> Any:
    """The guardian's application check through the local server's check account
    (docs/guardian.md): the dossiers in ``login``'s rights in the live generation, read
    through its users, rights and dossiers, with a token instead of a person's password."""
    token = web_context().check_token
    offered = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        log.warning("web: application check refused (check account token missing or wrong)")
        return _error(401, "unauthenticated", "compte de vérification refusé")
    login = request.args.get("login", "")
    snapshot = view()
    user = snapshot.find_user(login) if snapshot.live.schema and login else None
    if user is None or not user.active:
        return _error(404, "not_found", "utilisateur inconnu ou inactif dans la génération servie")
    return _answer(user=user.login, dossiers=len(snapshot.dossiers_for(user.id)))


@blueprint.get("/dossiers")
def dossiers() -> Any:
    user = _user()
    return _answer(user=user.login, dossiers=[d.as_json() for d in view().dossiers_for(user.id)])


@blueprint.get("/dossiers/<code>")
def dossier(code: str) -> Any:
    found = dossier_in_rights(_user(), code)
    exercices = [
        {
            "id": e.id,
            "libelle": e.label,
            "date_debut": e.start.isoformat(),
            "date_fin": e.end.isoformat(),
            "cloture": e.closed,
        }
        for e in dossier_data.exercices(view(), found.id)
    ]
    return _answer(dossier=found.as_json(), exercices=exercices)


@blueprint.get("/dossiers/<code>/tiers")
def tiers(code: str) -> Any:
    found = dossier_in_rights(_user(), code)
    category = request.args.get("categorie", "adherent")
    if category not in TIERS_CATEGORIES:
        return _error(400, "bad_request", f"catégorie inconnue (catégories : {', '.join(TIERS_CATEGORIES)})")
    return _answer(dossier=code, categorie=category, tiers=dossier_data.tiers(view(), found.id, category))


@blueprint.get("/dossiers/<code>/materiels")
def materiels(code: str) -> Any:
    found = dossier_in_rights(_user(), code)
    return _answer(dossier=code, materiels=dossier_data.materiels(view(), found.id))


@blueprint.get("/dossiers/<code>/exercices/<int:exercice_id>/<subject>")
def exercice_subject(code: str, exercice_id: int, subject: str) -> Any:
    found = dossier_in_rights(_user(), code)
    _exercice_id(found, exercice_id)
    readers = {"bons": dossier_data.bons, "factures": dossier_data.factures, "ecritures": dossier_data.ecritures}
    if subject not in readers:
        abort(404)
    page = _page()
    return _answer(
        dossier=code,
        exercice=exercice_id,
        page=page,
        **{subject: readers[subject](view(), found.id, exercice_id, page)},
    )


@blueprint.post("/dossiers/<code>/bons")
def new_bon(code: str) -> Any:
    user = _user()
    if not csrf_valid(session, request.headers.get("X-CSRF-Token")):
        return _error(403, "csrf", "jeton CSRF absent ou invalide (en-tête X-CSRF-Token)")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not a bon
        body = None
    if not isinstance(body, dict):
        return _error(400, "bad_request", "corps JSON attendu : {tiers_id, activite_id, date, quantite}")
    dossier_in_rights(user, code)
    try:
        result = enter_bon(web_context().pool, web_context().role, user, code, body)
    except BonErrors as error:
        return _error(422, "invalid", "bon de travaux invalide", errors=error.errors)
    except Refused as error:
        log.warning("bon refused for %s in %s: %s", user.login, code, error)
        return _error(403, "refused", str(error))
    except NotFound as error:
        return _error(404, "not_found", str(error))
    return jsonify(
        dossier=result.dossier_code,
        id=result.bon_id,
        numero=result.numero,
        exercice=result.exercice_id,
        revision=result.revision,
    ), 201
