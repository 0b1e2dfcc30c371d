"""Search through the API."""
from __future__ import annotations

from flask import g, jsonify, url_for

from kb.services import search as search_service
from kb.views.api import bp, schemas
from kb.views.api.contract import operation


@operation(bp, "GET", "/search", summary="Search what the caller may see, with facets and "
           "snippets", operation_id="search", query=schemas.SearchQuery,
           responses={200: {"description": "One page of results", "schema": "SearchResults"}})
def search(args: dict):
    params = search_service.params(**args)
    page = search_service.run(g.api_user, params)
    return jsonify({
        "query": params.q,
        "total": page.total,
        "page": params.page,
        "per_page": params.per_page,
        "results": [{
            "id": item.resource.id,
            "title": item.resource.title,
            "kind": item.resource.kind.code,
            "objectives": [str(o.number) for o in item.resource.objectives],
            "language": item.resource.languages,
            "date": item.resource.date.isoformat() if item.resource.date else None,
            "snippet": str(item.snippet),
            "url": url_for("main.resource_detail", resource_id=item.resource.id,
                           _external=True),
            "score": round(item.score, 4),
        } for item in page.items],
        "facets": page.facets,
        "suggestion": page.suggestion,
        "matched_all_words": page.matched_all_words,
    })


@operation(bp, "GET", "/suggest", summary="Completions as you type: titles, tags, glossary "
           "terms", operation_id="suggest", query=schemas.SuggestQuery,
           responses={200: {"description": "Suggestions", "schema": "Suggestions"}})
def suggest(args: dict):
    return jsonify({"suggestions": search_service.suggestions(g.api_user, args.get("q", ""))})
