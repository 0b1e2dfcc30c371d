"""Pages for every reader: home, organisations, resources, language, health."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template
from sqlalchemy import text

from kb.extensions import db
from kb.search import check_index
from kb.services import search as search_service
from kb.services import resources as resource_service
from kb.services import filestore, indexing, suggestions, vocabularies
from kb.views.helpers import safe_next, viewer

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template(
        "index.html",
        objectives=vocabularies.objectives(),
        recent=resource_service.recent_resources(viewer(), limit=8),
        organisations=vocabularies.organisations(),
    )


@bp.get("/organisations")
def organisations():
    return render_template("organisations.html", organisations=vocabularies.organisations())


@bp.get("/resources/<int:resource_id>")
def resource_detail(resource_id: int):
    resource = resource_service.get_resource(viewer(), resource_id)
    with_thumbnail = {f.id for f in resource.current_files
                      if filestore.has_thumbnail(f)}
    similar = search_service.more_like_this(viewer(), resource)
    return render_template("resource.html", resource=resource, with_thumbnail=with_thumbnail,
                           similar=similar, offered=suggestions.for_resource(viewer(), resource))


@bp.get("/language/<code>")
def set_language(code: str):
    """Remember the reader's language in a cookie for a year, then go back where they were."""
    response = make_response(redirect(safe_next()))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(current_app.config["LANGUAGE_COOKIE"], code, max_age=365 * 86400,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/healthz")
def healthz():
    body = {"status": "ok", "database": "ok", "index": "ok", "files": "ok", "resources": 0}
    try:
        db.session.execute(text("SELECT 1"))
        body["resources"] = resource_service.count_visible(None)
    except Exception:  # health checks report failures rather than raising them
        db.session.rollback()
        body["database"] = "unavailable"
    ok, message = check_index(current_app.config["SEARCH_INDEX_PATH"])
    if not ok:
        body["index"] = message
    elif indexing.still_building(current_app):  # keep the load balancer away until it is
        body["index"] = "building"
    try:  # how far this node's index is behind the change log
        behind = indexing.lag()
        body["index_lag"], body["index_lag_seconds"] = behind.entries, behind.seconds
    except Exception:
        db.session.rollback()
        body["index_lag"] = None
    body["files"] = filestore.health()  # the store this node reads and writes files in
    if body["database"] != "ok" or body["index"] != "ok" or body["files"] != "ok":
        body["status"] = "unavailable"
        return jsonify(body), 503
    return jsonify(body)
