"""One Flask set-up for both web apps: session cookie settings, request size limit and the
security headers every response carries."""

from __future__ import annotations

from flask import Flask, Response

SESSION_LIFETIME_SECONDS = 8 * 3600
MAX_FORM_BYTES = 64 * 1024
CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'"


def configure(app: Flask, *, secret: bytes, cookie_name: str, secure_cookies: bool) -> None:
    """Session cookies signed with ``secret``: HttpOnly, SameSite=Lax, Secure behind TLS,
    eight hours; forms bounded to 64 KiB; security headers on every response."""
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME=cookie_name,
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME_SECONDS,
    )

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
