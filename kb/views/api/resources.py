"""Resources through the API."""
from __future__ import annotations

from flask import g, jsonify, url_for

from kb.models import Resource
from kb.services import resources as resource_service
from kb.views.api import bp
from kb.views.files import send_stored_file


def place_json(resource: Resource) -> dict:
    def named(item):
        return {"code": item.code, "name_en": item.name_en, "name_km": item.name_km} if item else None

    return {"province": named(resource.province), "district": named(resource.district),
            "commune": named(resource.commune)}


def resource_json(resource: Resource) -> dict:
    return {
        "id": resource.id,
        "title": resource.title,
        "alt_title": resource.alt_title or None,
        "kind": resource.kind.code,
        "objectives": [str(o.number) for o in resource.objectives],
        "language": resource.languages,
        "summary": resource.summary_html,
        "authors": [a.name for a in resource.authors],
        "event": resource.event or None,
        "source_url": resource.source_url or None,
        "tags": [t.name for t in resource.tags],
        "org": resource.organisation.short_name if resource.organisation else None,
        "date": resource.date.isoformat() if resource.date else None,
        "visibility": resource.visibility.value,
        "status": resource.status.value,
        "place": place_json(resource),
        "files": [{
            "id": f.id, "filename": f.original_name, "size": f.size, "sha256": f.sha256,
            "content_type": f.content_type, "extraction": f.extraction_state.value,
            "version": f.version,
            "url": url_for("api.get_file", file_id=f.id, _external=True),
        } for f in resource.current_files],
        "url": url_for("main.resource_detail", resource_id=resource.id, _external=True),
        "created_at": resource.created_at.isoformat() + "Z",
        "updated_at": resource.updated_at.isoformat() + "Z",
    }


@bp.get("/resources/<int:resource_id>")
def get_resource(resource_id: int):
    return jsonify(resource_json(resource_service.get_resource(g.api_user, resource_id)))


@bp.get("/files/<int:file_id>")
def get_file(file_id: int):
    return send_stored_file(resource_service.get_file(g.api_user, file_id))
