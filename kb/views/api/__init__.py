"""The JSON API, /api/v1: bearer-token identity, JSON in and out, errors in the contract's shape."""
from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import lazy_gettext as _l

from kb.services import accounts
from kb.services.errors import NotAuthenticated

bp = Blueprint("api", __name__)


@bp.before_request
def identify_caller():
    """`Authorization: Bearer TOKEN`, or no header at all for an anonymous visitor."""
    g.api_user = None
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(_l("Use 'Authorization: Bearer TOKEN'."))
    g.api_user = accounts.user_for_token(token.strip())
    if g.api_user is None:
        raise NotAuthenticated(_l("The API token is not valid."))


def require_caller():
    """The token's user, for endpoints that an anonymous visitor may not use."""
    if g.api_user is None:
        raise NotAuthenticated(_l("This endpoint needs an API token."))
    return g.api_user


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# The modules' routes register on bp as they are imported.
from kb.views.api import consultations, meta, resources, search, workshops  # noqa: E402,F401
