"""What the web views share: the server's parts, the logged-in user, rights checks."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, g, session

from appliance.adapters.mysql import ConnectionPool
from appliance.server.metrics import ServerMetrics
from appliance.server.store import DossierInfo, RequestView, Store, User
from appliance.server.web.system_templates import SystemTemplates


@dataclass
class WebContext:
    store: Store
    pool: ConnectionPool
    role: str
    server_name: str
    templates: SystemTemplates
    metrics: ServerMetrics
    # The local server's check account (NEOCUMA_CHECK_TOKEN); empty: none.
    check_token: str = ""


def web_context() -> WebContext:
    context = current_app.extensions["neocuma"]
    assert isinstance(context, WebContext)
    return context


def view() -> RequestView:
    """The request's snapshot, opened before the view runs."""
    current: RequestView = g.view
    return current


def current_user() -> User | None:
    """The logged-in user, re-read from the live generation (a user removed by a
    synchronisation is logged out)."""
    login = session.get("login")
    if not isinstance(login, str):
        return None
    snapshot = view()
    user = snapshot.find_user(login) if snapshot.live.schema else None
    if user is None or not user.active:
        session.clear()
        return None
    return user


def dossier_in_rights(user: User, code: str) -> DossierInfo:
    """The dossier ``code`` if the user has rights on it; 404 otherwise (a dossier outside
    one's rights is not even said to exist)."""
    for dossier in view().dossiers_for(user.id):
        if dossier.code == code:
            return dossier
    abort(404)
