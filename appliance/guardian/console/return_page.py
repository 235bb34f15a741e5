"""The console's page "Retour au serveur central" (docs/fallback.md, "The return"): the
guided return's plan (``Actions.return_plan``), and the return itself (``Actions.go_back``)
started as a background job as the console's user, with the password they type again."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.generations import FALLBACK
from appliance.domain.outbox import NOT_TAKEN, OutboxEntry
from appliance.domain.return_plan import REPLAY, WHOLE, ReturnPlan
from appliance.errors import ApplianceError, Refused
from appliance.guardian.console.views import _parts, _state, _user
from appliance.guardian.jobs.central_return import ReturnResult

log = logging.getLogger(__name__)
blueprint = Blueprint("retour", __name__)
NAME = "Retour au serveur central"
SHOWN_RENUMBERED = 10  # the job's summary names this many renumbered bons, then counts the rest


@blueprint.get("/retour")
def page() -> Any:
    return _render()


@blueprint.post("/retour")
def start() -> Any:
    """Check the choice against the plan as it stands (a refusal changes nothing, 422), then
    start the return in the background; its progress shows on this page and the status page."""
    parts = _parts()
    selected = request.form.getlist("dossier")
    whole = [code for code in selected if request.form.get(f"methode-{code}") == WHOLE]
    password = request.form.get("password") or ""
    try:
        plan = _checked_plan(selected, whole, password)
    except ApplianceError as refusal:
        log.info("retour au serveur central refusé à %s : %s", _user(), refusal)
        return _render(refusal=str(refusal), chosen=(selected, whole))
    user, actions = _user(), parts.actions

    def work() -> str:
        # As the console's user, with the password they typed: the central server checks it
        # and names them in its log (as the restore of the "Etat des sauvegardes" tab).
        return summary(actions.go_back(password, selected, whole, as_user=user))

    _state().runner.start(f"{NAME} ({len(plan.chosen)} dossier(s))", work, user=user)
    return redirect(url_for("retour.page"))


def _checked_plan(selected: list[str], whole: list[str], password: str) -> ReturnPlan:
    """The plan for this choice; raises Refused when the return cannot run as chosen."""
    if not all(valid_dossier_code(code) for code in selected):
        raise Refused("code de dossier invalide dans la sélection")  # never echoed: it is the request's
    if _parts().ports.database.live().mode != FALLBACK:
        raise Refused("le serveur local n'est pas en mode secours : il n'y a pas de retour à faire")
    plan = _parts().actions.return_plan(selected, whole)
    if not plan.lines:
        raise Refused(
            "aucun dossier n'a de travail local à renvoyer : rien à faire; « Revenir en mode veille » "
            "(page Statut des serveurs) suffit"
        )
    if not plan.chosen:
        raise Refused("aucun dossier coché : rien ne serait renvoyé au serveur central. Cochez les dossiers à renvoyer")
    refusal = plan.refusal()
    if refusal is not None:
        raise Refused(refusal)
    if not password:
        raise Refused("ressaisissez votre mot de passe pour confirmer le retour")
    return plan


def _render(refusal: str | None = None, chosen: tuple[list[str], list[str]] | None = None) -> Any:
    parts = _parts()
    mode = error = None
    plan: ReturnPlan | None = None
    refused: list[OutboxEntry] = []
    try:
        mode = parts.ports.database.live().mode
        refused = parts.ports.database.outbox((NOT_TAKEN,))
        if mode == FALLBACK:
            plan = parts.actions.return_plan()
            if chosen is not None:  # the user's choice again, with its blocked lines, when it is a plan
                with contextlib.suppress(ApplianceError):
                    plan = parts.actions.return_plan(*chosen)
    except ApplianceError as failure:
        error = str(failure)
    return render_template(
        "return.html",
        tab="retour",
        mode=mode,
        plan=plan,
        refused=refused,
        error=error,
        refusal=refusal,
        job=parts.progress.snapshot(),
        replay=REPLAY,
        whole=WHOLE,
    ), (422 if refusal else 200)


def summary(result: ReturnResult) -> str:
    """The return's outcome in one French line (the job's message)."""
    sent = result.sent
    renumbered = [(local, central) for local, central in sent.replay.renumbered if local != central]
    said = [
        f"{result.dossiers} dossier(s) renvoyé(s) au serveur central "
        f"({result.whole} entier(s), {result.dossiers - result.whole} par rejeu)"
    ]
    numbers = ", ".join(f"{local} → {central}" for local, central in renumbered[:SHOWN_RENUMBERED])
    more = f", et {len(renumbered) - SHOWN_RENUMBERED} autre(s)" if len(renumbered) > SHOWN_RENUMBERED else ""
    said.append(
        f"{result.applied} bon(s) appliqué(s), {len(renumbered)} renuméroté(s)"
        + (f" ({numbers}{more})" if renumbered else "")
    )
    if result.refused:
        said.append(f"{result.refused} opération(s) refusée(s) par le serveur central, à ressaisir")
    if sent.mode.saved:
        said.append(f"{len(sent.mode.saved)} copie(s) locale(s) gardée(s)")
    said.append("serveur local en mode veille")
    return " ; ".join(said + result.after_switch())
