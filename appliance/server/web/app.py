"""The Flask application of NeoCuma Web (port 8080)."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for

from appliance import __version__
from appliance.domain.passwords import verify_password
from appliance.domain.schema import PROFILE_LABELS
from appliance.errors import ApplianceError, Unavailable
from appliance.server.store import RequestView, Store, User
from appliance.server.throttle import FailedLogins
from appliance.server.web.security import csrf_token, csrf_valid

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 64 * 1024


def create_app(store: Store, secret: bytes, role: str, server_name: str, secure_cookies: bool = False) -> Flask:
    """Build the web app over ``store``; ``secret`` signs the session cookies."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="neocuma_session",
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    failures = FailedLogins()

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "csrf_token": lambda: csrf_token(session),
            "server_name": server_name,
            "role": role,
            "profile_labels": PROFILE_LABELS,
            "version": __version__,
        }

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        return response

    @app.errorhandler(Unavailable)
    def _unavailable(error: Unavailable) -> tuple[Any, int]:
        log.error("web: %s", error)
        if request.path.startswith("/api/"):
            return jsonify(error="unavailable", message=str(error)), 503
        return render_template("error.html", message="Le serveur NeoCuma est momentanément indisponible."), 503

    @app.errorhandler(413)
    def _too_large(error: Any) -> tuple[Any, int]:
        return render_template("error.html", message="Requête trop volumineuse."), 413

    @app.get("/healthz")
    def healthz() -> tuple[Any, int]:
        try:
            with store.request() as view:
                live = view.live
                version = view.schema_version
        except ApplianceError as error:
            return jsonify(status="unavailable", error=str(error)), 503
        return jsonify(
            status="ok",
            role=role,
            schema_version=version,
            data_generation=live.data_generation,
            system_generation=live.system_generation,
            mode=live.mode,
        ), 200

    def current_user() -> User | None:
        login = session.get("login")
        if not isinstance(login, str):
            return None
        view: RequestView = g.view
        user = view.find_user(login) if view.live.schema else None
        if user is None or not user.active:
            session.clear()
            return None
        return user

    @app.before_request
    def _open_view() -> None:
        g.started = time.monotonic()
        if request.endpoint in ("healthz", "static"):
            return
        g.view_context = store.request()
        g.view = g.view_context.__enter__()

    @app.teardown_request
    def _close_view(error: BaseException | None) -> None:
        context = g.pop("view_context", None)
        if context is not None:
            context.__exit__(None, None, None)

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("dossiers"))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        message = None
        if request.method == "POST":
            if not csrf_valid(session, request.form.get("csrf")):
                abort(400, "jeton CSRF invalide")
            login_name = (request.form.get("login") or "").strip()[:64]
            password = request.form.get("password") or ""
            view = g.view
            user = view.find_user(login_name) if view.live.schema and login_name else None
            if user is not None and user.active and verify_password(password, user.password_hash):
                session.clear()
                session["login"] = user.login
                session.permanent = True
                log.info("web login of %s from %s", user.login, request.remote_addr)
                return redirect(url_for("dossiers"))
            delay = failures.record(f"login:{login_name}", f"peer:{request.remote_addr}")
            log.warning("web login failed for %r from %s", login_name, request.remote_addr)
            time.sleep(delay)
            message = "Identifiant ou mot de passe incorrect."
            if not view.live.schema:
                message = "Ce serveur n'a encore aucune donnée synchronisée."
        return render_template("login.html", message=message), (401 if message else 200)

    @app.post("/logout")
    def logout() -> Any:
        if not csrf_valid(session, request.form.get("csrf")):
            abort(400, "jeton CSRF invalide")
        session.clear()
        return redirect(url_for("login"))

    @app.get("/dossiers")
    def dossiers() -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("login"))
        return render_template("dossiers.html", user=user, dossiers=g.view.dossiers_for(user.id), live=g.view.live)

    @app.get("/api/v1/dossiers")
    def api_dossiers() -> Any:
        user = current_user()
        if user is None:
            return jsonify(error="unauthenticated", message="connexion requise"), 401
        return jsonify(
            user=user.login,
            data_generation=g.view.live.data_generation,
            dossiers=[d.as_json() for d in g.view.dossiers_for(user.id)],
        )

    return app
