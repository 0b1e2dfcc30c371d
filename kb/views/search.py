"""The search page and its suggestions (the signed-in reader's session decides what shows)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from kb.services import search as search_service
from kb.services import vocabularies
from kb.services.errors import ValidationError
from kb.views.helpers import viewer

bp = Blueprint("search", __name__)


@bp.get("/search")
def search_page():
    from kb.i18n import current_language

    error, page = None, None
    try:
        params = search_service.params_from(request.args)
    except ValidationError as invalid:
        error, params = invalid, search_service.SearchParams(q=request.args.get("q", "")[:1000])
    if error is None:
        try:
            page = search_service.run(viewer(), params)
        except ValidationError as invalid:
            error = invalid
    status = 400 if error is not None else 200
    return render_template("search.html", params=params, page=page, error=error,
                           labels=search_service.facet_labels(current_language()),
                           objectives=vocabularies.objectives(),
                           kinds=vocabularies.kinds()), status


@bp.get("/search/suggest")
def suggest():
    return jsonify({"suggestions": search_service.suggestions(viewer(), request.args.get("q", ""))})
