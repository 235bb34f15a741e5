"""The console's Flask application: login, the four tabs, background jobs, /healthz and
/metrics. Every page but /healthz and /metrics needs a login; every form carries a CSRF
token; the session cookie is HttpOnly, SameSite=Lax (and Secure behind TLS)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for

from appliance import __version__
from appliance.errors import ApplianceError
from appliance.guardian.console import views
from appliance.guardian.console.auth import check_login
from appliance.guardian.context import Guardian
from appliance.guardian.metrics import registry, render
from appliance.guardian.progress import JobRunner
from appliance.server.throttle import FailedLogins
from appliance.server.web.security import csrf_token, csrf_valid, load_or_create_secret

log = logging.getLogger(__name__)
OPEN = ("healthz", "metrics", "login", "static")


@dataclass
class ConsoleState:
    guardian: Guardian
    runner: JobRunner
    health: Any  # callable returning (healthy, body)


def create_console(guardian: Guardian, runner: JobRunner, health: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=load_or_create_secret(guardian.state_dir / "console-secret"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(guardian.config["console.secure_cookies"]),
        SESSION_COOKIE_NAME="neocuma_guardian_session",
        MAX_CONTENT_LENGTH=64 * 1024,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    app.extensions["guardian"] = ConsoleState(guardian, runner, health)
    metrics_registry = registry(guardian)
    failures = FailedLogins()

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"csrf_token": lambda: csrf_token(session), "user": session.get("login"), "version": __version__}

    @app.before_request
    def _guard() -> Any:
        if request.endpoint in OPEN:
            return None
        if not session.get("login"):
            if request.path.startswith("/api/"):
                return jsonify(error="unauthenticated", message="connexion requise"), 401
            return redirect(url_for("login", next=request.path))
        if request.method == "POST" and not csrf_valid(
            session, request.form.get("csrf") or request.headers.get("X-CSRF-Token")
        ):
            abort(400, "jeton CSRF invalide")
        g.guardian = guardian
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        return response

    @app.errorhandler(ApplianceError)
    def _failed(error: ApplianceError) -> Any:
        return render_template("message.html", title="Opération refusée", message=str(error)), 409

    @app.get("/healthz")
    def healthz() -> Any:
        healthy, body = health()
        return jsonify(body), 200 if healthy else 503

    @app.get("/metrics")
    def metrics() -> Any:
        return Response(render(metrics_registry), mimetype="text/plain; version=0.0.4; charset=utf-8")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        message = None
        if request.method == "POST":
            if not csrf_valid(session, request.form.get("csrf")):
                abort(400, "jeton CSRF invalide")
            name = (request.form.get("login") or "").strip()[:64]
            password = request.form.get("password") or ""
            try:
                user = check_login(guardian, name, password)
            except ApplianceError as error:
                time.sleep(failures.record(f"login:{name}", f"peer:{request.remote_addr}"))
                log.warning("console login refused for %r from %s: %s", name, request.remote_addr, error)
                message = str(error)
            else:
                session.clear()
                session["login"] = user
                session.permanent = True
                target = request.args.get("next", "")
                return redirect(target if local_path(target) else url_for("views.status"))
        return render_template("login.html", message=message), (401 if message else 200)

    @app.post("/logout")
    def logout() -> Any:
        if not csrf_valid(session, request.form.get("csrf")):
            abort(400, "jeton CSRF invalide")
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("views.status"))

    app.register_blueprint(views.blueprint)
    return app


def local_path(target: str) -> bool:
    """Whether ``target`` (a login's ``next``) is a path of this console: no scheme, no host,
    no backslash (browsers read ``/\\host`` as ``//host``), no control characters."""
    if not target.startswith("/") or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parsed = urlsplit(target)
    return not parsed.scheme and not parsed.netloc and not target.startswith("//")
