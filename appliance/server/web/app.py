"""The Flask application of NeoCuma Web (port 8080): factory, login, /healthz, /metrics,
the gateway's check."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.routing import IntegerConverter

from appliance import __version__
from appliance.domain.moments import for_people
from appliance.domain.passwords import dummy_hash, verify_password
from appliance.domain.schema import PROFILE_LABELS
from appliance.errors import ApplianceError, Unavailable
from appliance.server.metrics import ServerMetrics
from appliance.server.store import Store
from appliance.server.systemfiles import SystemFiles
from appliance.server.web import api, pages
from appliance.server.web.context import WebContext, view, web_context
from appliance.server.web.gateway import ENDPOINT as GATEWAY_ENDPOINT
from appliance.server.web.gateway import ModeCache, register_gateway
from appliance.server.web.system_templates import SystemTemplates
from appliance.web.base import configure
from appliance.web.login import LoginRefused, register_login
from appliance.web.peers import EXTENSION as TRUSTED_PROXY
from appliance.web.peers import TrustedProxy
from appliance.web.security import csrf_token

log = logging.getLogger(__name__)
# The gateway's check reads the mode through its own cache (gateway.py), not a snapshot.
_NO_SNAPSHOT = ("healthz", "metrics", "static", GATEWAY_ENDPOINT)


class AsciiInteger(IntegerConverter):
    """``<int:…>`` of ASCII digits only: werkzeug's matches any digit, "١" read as 1."""

    regex = r"[0-9]+"


def create_app(
    store: Store,
    secret: bytes,
    role: str,
    server_name: str,
    system_files: SystemFiles,
    metrics: ServerMetrics | None = None,
    secure_cookies: bool = False,
    check_token: str = "",
    trusted_proxy: TrustedProxy | None = None,
) -> Flask:
    """Build NeoCuma Web over ``store``; ``secret`` signs the session cookies; ``check_token``
    opens GET /api/v1/check to the guardian (the local server's check account);
    ``trusted_proxy`` is the LAN gateway, whose X-Forwarded-For names the client."""
    app = Flask(__name__)
    app.url_map.converters["int"] = AsciiInteger  # before the blueprints' rules use it
    configure(app, secret=secret, cookie_name="neocuma_session", secure_cookies=secure_cookies)
    app.config.update(JSON_SORT_KEYS=False)
    app.extensions["neocuma"] = WebContext(
        store=store,
        pool=store.pool,
        role=role,
        server_name=server_name,
        templates=SystemTemplates(system_files),
        metrics=metrics or ServerMetrics(store.live, role),
        check_token=check_token,
    )
    if trusted_proxy is not None:
        app.extensions[TRUSTED_PROXY] = trusted_proxy
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    register_gateway(app, ModeCache(lambda: store.live().mode))
    _register_hooks(app)
    _register_auth(app)
    return app


def _register_hooks(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        context = web_context()
        snapshot = g.get("view")
        generation = snapshot.live.system_generation if snapshot is not None else None
        fallback_since = None
        if snapshot is not None and snapshot.live.mode == "fallback" and snapshot.live.changed_at is not None:
            fallback_since = for_people(snapshot.live.changed_at)
        return {
            "csrf_token": lambda: csrf_token(session),
            "server_name": context.server_name,
            "role": context.role,
            "profile_labels": PROFILE_LABELS,
            "version": __version__,
            "live": snapshot.live if snapshot is not None else None,
            "fallback_since": fallback_since,
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
    def _count(response: Response) -> Response:
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


def _authenticate(login_name: str, password: str) -> str:
    snapshot = view()
    user = snapshot.find_user(login_name) if snapshot.live.schema and login_name else None
    # An unknown login costs one hash too, so the time taken does not tell which logins exist.
    matches = verify_password(password, user.password_hash if user is not None else dummy_hash())
    if user is not None and user.active and matches:
        return user.login
    if not snapshot.live.schema:
        raise LoginRefused("Ce serveur n'a encore aucune donnée synchronisée.")
    raise LoginRefused("Identifiant ou mot de passe incorrect.")


def _register_auth(app: Flask) -> None:
    @app.get("/")
    def index() -> Any:
        return redirect(url_for("pages.dossiers"))

    register_login(
        app,
        authenticate=_authenticate,
        landing=lambda: url_for("pages.dossiers"),
        template_context=lambda: {"user": None},
        what="web",
    )
