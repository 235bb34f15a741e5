"""The console's Flask application: login, the four tabs and the return page, background
jobs, /healthz and /metrics. Every page but /healthz and /metrics needs a login; every form carries a CSRF
token; the session cookie is HttpOnly, SameSite=Lax (and Secure behind TLS)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, session, url_for

from appliance import __version__
from appliance.domain.moments import for_people
from appliance.domain.outage import automatic_after
from appliance.errors import ApplianceError
from appliance.guardian.console import return_page, views
from appliance.guardian.jobs.progress import JobRunner
from appliance.guardian.watch.metrics import registry, render
from appliance.guardian.watch.outage import banners
from appliance.guardian.wiring import Parts
from appliance.web.base import configure
from appliance.web.login import LoginRefused, register_login
from appliance.web.security import csrf_token, csrf_valid, local_path

log = logging.getLogger(__name__)
OPEN = ("healthz", "metrics", "login", "static")
Health = Callable[[], tuple[bool, dict[str, Any]]]


@dataclass(frozen=True)
class ConsoleState:
    parts: Parts
    runner: JobRunner
    health: Health


def create_console(parts: Parts, runner: JobRunner, health: Health) -> Flask:
    app = Flask(__name__)
    configure(
        app,
        secret=parts.ports.state_store.secret("console-secret"),
        cookie_name="neocuma_guardian_session",
        secure_cookies=parts.config.console.secure_cookies or bool(parts.config.console.tls_certificate),
    )
    app.extensions["guardian"] = ConsoleState(parts, runner, health)
    app.jinja_env.filters["moment"] = for_people  # one date format, Paris time beside UTC
    metrics_registry = registry(parts.state, parts.ports.backups)

    automatic = automatic_after(parts.config.fallback.automatic_after_seconds)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        user = session.get("login")
        # The banner offering the switch to fallback mode, on every page, while the central
        # server is declared down (docs/guardian.md, "Detection and the switch to fallback mode").
        outage, fallback = banners(parts.state, parts.ports.database) if user else (None, None)
        switch_at = None
        if outage is not None and outage.declared_at is not None and automatic is not None:
            switch_at = outage.declared_at + automatic
        return {
            "csrf_token": lambda: csrf_token(session),
            "user": user,
            "version": __version__,
            "outage": outage,
            "automatic_switch_at": switch_at,
            # In fallback mode, the way back: "Retour au serveur central" (docs/fallback.md).
            "fallback": fallback,
        }

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
        return None

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

    def authenticate(name: str, password: str) -> str:
        try:
            return parts.identification.console_login(name, password)
        except ApplianceError as error:
            raise LoginRefused(str(error)) from error

    def landing() -> str:
        target = request.args.get("next", "")
        return target if local_path(target) else url_for("views.status")

    register_login(app, authenticate=authenticate, landing=landing, what="console")

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("views.status"))

    app.register_blueprint(views.blueprint)
    app.register_blueprint(return_page.blueprint)
    return app
