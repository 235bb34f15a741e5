"""The login and logout routes both web apps share: CSRF on every form, the failed-login
throttle keyed on the login (as the database compares it) and the client's address (behind
the LAN gateway, the address it forwards: peers.py), an
early attempt refused at once with 429 and Retry-After, a warning per refusal (never the
password), the session renewed on success. Each app supplies how a login is checked and
where a logged-in user goes."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, redirect, render_template, request, session, url_for

from appliance.web.peers import client_address
from appliance.web.security import csrf_valid
from appliance.web.throttle import FailedLogins, login_key

log = logging.getLogger(__name__)
MAX_LOGIN_LENGTH = 64


class LoginRefused(Exception):
    """A login was refused; the message is shown on the login page, in French."""


Authenticate = Callable[[str, str], str]


def register_login(
    app: Flask,
    *,
    authenticate: Authenticate,
    landing: Callable[[], str],
    failures: FailedLogins | None = None,
    template: str = "login.html",
    template_context: Callable[[], dict[str, Any]] = dict,
    what: str = "web",
) -> None:
    """Add ``/login`` (GET, POST) and ``/logout`` (POST) to ``app``. ``authenticate(login,
    password)`` returns the login to keep in the session or raises LoginRefused;
    ``landing()`` is the URL a successful login goes to."""
    throttle = failures or FailedLogins()

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        message = None
        if request.method == "POST":
            if not csrf_valid(session, request.form.get("csrf")):
                abort(400, "jeton CSRF invalide")
            name = (request.form.get("login") or "").strip()[:MAX_LOGIN_LENGTH]
            password = request.form.get("password") or ""
            client = client_address()
            keys = (login_key(name), f"peer:{client}")
            wait = throttle.retry_after(*keys)
            if wait > 0:  # refused at once: no worker thread sleeps, no password is checked
                log.warning("connexion %s de %r depuis %s refusée : trop de tentatives", what, name, client)
                seconds = math.ceil(wait)
                message = f"Trop de tentatives : réessayez dans {seconds} s."
                page = render_template(template, message=message, **template_context())
                return page, 429, {"Retry-After": str(seconds)}
            try:
                user = authenticate(name, password)
            except LoginRefused as refusal:
                throttle.record(*keys)
                log.warning("connexion %s refusée pour %r depuis %s : %s", what, name, client, refusal)
                message = str(refusal)
            else:
                throttle.clear(keys[0])
                session.clear()
                session["login"] = user
                session.permanent = True
                log.info("connexion %s de %s depuis %s", what, user, client)
                return redirect(landing())
        return render_template(template, message=message, **template_context()), (401 if message else 200)

    @app.post("/logout")
    def logout() -> Any:
        if not csrf_valid(session, request.form.get("csrf")):
            abort(400, "jeton CSRF invalide")
        user = session.get("login")
        session.clear()
        if user:
            log.info("déconnexion %s de %s", what, user)
        return redirect(url_for("login"))
