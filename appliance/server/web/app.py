"""The Flask application of NeoCuma Web (port 8080): factory, login, /healthz, /metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for

from appliance import __version__
from appliance.domain.passwords import verify_password
from appliance.domain.schema import PROFILE_LABELS
from appliance.errors import ApplianceError, Unavailable
from appliance.server.metrics import ServerMetrics
from appliance.server.store import Store
from appliance.server.systemfiles import SystemFiles
from appliance.server.throttle import FailedLogins
from appliance.server.web import api, pages
from appliance.server.web.context import WebContext, current_user, view, web_context
from appliance.server.web.security import csrf_token, csrf_valid
from appliance.server.web.system_templates import SystemTemplates

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 64 * 1024
_NO_SNAPSHOT = ("healthz", "metrics", "static")


def create_app(
    store: Store,
    secret: bytes,
    role: str,
    server_name: str,
    system_files: SystemFiles,
    metrics: ServerMetrics | None = None,
    secure_cookies: bool = False,
) -> Flask:
    """Build NeoCuma Web over ``store``; ``secret`` signs the session cookies."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="neocuma_session",
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        JSON_SORT_KEYS=False,
    )
    app.extensions["neocuma"] = WebContext(
        store=store,
        pool=store.pool,
        role=role,
        server_name=server_name,
        templates=SystemTemplates(system_files),
        metrics=metrics or ServerMetrics(store.live, role),
    )
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    _register_hooks(app)
    _register_auth(app, FailedLogins())
    return app


def _register_hooks(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        context = web_context()
        snapshot = g.get("view")
        generation = snapshot.live.system_generation if snapshot is not None else None
        return {
            "csrf_token": lambda: csrf_token(session),
            "server_name": context.server_name,
            "role": context.role,
            "profile_labels": PROFILE_LABELS,
            "version": __version__,
            "live": snapshot.live if snapshot is not None else None,
            "entete": lambda **values: context.templates.render(generation, "entete.html", **values),
        }

    @app.before_request
    def _open_view() -> None:
        g.started = time.monotonic()
        if request.endpoint in _NO_SNAPSHOT:
            return
        g.view_context = web_context().store.request()
        g.view = g.view_context.__enter__()

    @app.teardown_request
    def _close_view(error: BaseException | None) -> None:
        context = g.pop("view_context", None)
        if context is not None:
            context.__exit__(None, None, None)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        metrics = web_context().metrics
        endpoint = request.endpoint or "unknown"
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        if response.status_code >= 500:
            metrics.errors.labels(endpoint).inc()
        return response

    @app.errorhandler(Unavailable)
    def _unavailable(error: Unavailable) -> Any:
        log.error("web: %s", error)
        if request.path.startswith("/api/"):
            return jsonify(error="unavailable", message=str(error)), 503
        return render_template("error.html", message="Le serveur NeoCuma est momentanément indisponible."), 503

    @app.errorhandler(413)
    def _too_large(error: Any) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error="request_too_large", message="requête trop volumineuse"), 413
        return render_template("error.html", message="Requête trop volumineuse."), 413

    @app.errorhandler(404)
    def _not_found(error: Any) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error="not_found", message="introuvable ou hors de vos droits"), 404
        return render_template("error.html", message="Page introuvable ou hors de vos droits."), 404

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            with web_context().store.request() as snapshot:
                live = snapshot.live
                version = snapshot.schema_version
        except ApplianceError as error:
            return jsonify(status="unavailable", error=str(error)), 503
        return jsonify(
            status="ok",
            role=web_context().role,
            schema_version=version,
            data_generation=live.data_generation,
            system_generation=live.system_generation,
            mode=live.mode,
        )

    @app.get("/metrics")
    def metrics() -> Any:
        return Response(web_context().metrics.render(), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _register_auth(app: Flask, failures: FailedLogins) -> None:
    @app.get("/")
    def index() -> Any:
        return redirect(url_for("pages.dossiers"))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        message = None
        if request.method == "POST":
            if not csrf_valid(session, request.form.get("csrf")):
                abort(400, "jeton CSRF invalide")
            login_name = (request.form.get("login") or "").strip()[:64]
            password = request.form.get("password") or ""
            snapshot = view()
            user = snapshot.find_user(login_name) if snapshot.live.schema and login_name else None
            if user is not None and user.active and verify_password(password, user.password_hash):
                session.clear()
                session["login"] = user.login
                session.permanent = True
                log.info("web login of %s from %s", user.login, request.remote_addr)
                return redirect(url_for("pages.dossiers"))
            delay = failures.record(f"login:{login_name}", f"peer:{request.remote_addr}")
            log.warning("web login failed for %r from %s", login_name, request.remote_addr)
            time.sleep(delay)
            message = "Identifiant ou mot de passe incorrect."
            if not snapshot.live.schema:
                message = "Ce serveur n'a encore aucune donnée synchronisée."
        return render_template("login.html", message=message, user=None), (401 if message else 200)

    @app.post("/logout")
    def logout() -> Any:
        if not csrf_valid(session, request.form.get("csrf")):
            abort(400, "jeton CSRF invalide")
        user = current_user()
        session.clear()
        if user is not None:
            log.info("web logout of %s", user.login)
        return redirect(url_for("login"))
