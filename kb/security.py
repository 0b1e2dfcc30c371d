"""Sign-in sessions and the HTTP security headers every response carries."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from kb.extensions import login_manager

# Everything is served from our own origin: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app) -> None:
    from kb.services.accounts import load_session_user

    login_manager.login_view = "auth.signin"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # Without a remember cookie, a session that moves to another IP address or browser is dropped.
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_session_user)

    @app.before_request
    def refuse_oversized_body():
        """Refuse a declared oversized body before anything reads it (413, JSON for the API)."""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            raise RequestEntityTooLarge()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
