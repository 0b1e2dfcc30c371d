"""Resources through the API."""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from kb.models import Resource
from kb.services import resources as resource_service
from kb.services import access, ingestion, workflow
from kb.services.errors import PermissionDenied, ValidationError
from kb.views.api import bp, require_caller
from kb.views.files import send_stored_file
from kb.views.forms import metadata_from_form, metadata_from_json, truthy, uploads_from


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
            "extraction_error": f.extraction_error or None,
            "version": f.version,
            "url": url_for("api.get_file", file_id=f.id, _external=True),
        } for f in resource.current_files],
        "url": url_for("main.resource_detail", resource_id=resource.id, _external=True),
        "created_at": resource.created_at.isoformat() + "Z",
        "updated_at": resource.updated_at.isoformat() + "Z",
    }


@bp.post("/resources")
def create_resource():
    user = require_caller()
    if not request.mimetype.startswith("multipart/form-data"):
        raise ValidationError(_l("Send the resource as multipart/form-data."))
    resource = ingestion.contribute(user, metadata_from_form(request.form),
                                    uploads_from(request.files),
                                    submit=truthy(request.form.get("submit")),
                                    publish=truthy(request.form.get("publish")))
    return jsonify({"id": resource.id, "status": resource.status.value,
                    "url": url_for("main.resource_detail", resource_id=resource.id,
                                   _external=True)}), 201


@bp.get("/resources/<int:resource_id>")
def get_resource(resource_id: int):
    return jsonify(resource_json(resource_service.get_resource(g.api_user, resource_id)))


@bp.patch("/resources/<int:resource_id>")
def update_resource(resource_id: int):
    user = require_caller()
    resource = resource_service.get_resource(user, resource_id)
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError(_l("The body must be a JSON object."))
        data = metadata_from_json(body)
    else:
        data = metadata_from_form(request.form, partial=True)
    if not data:
        raise ValidationError(_l("Nothing to change."))
    return jsonify(resource_json(resource_service.update_resource(user, resource, data)))


@bp.delete("/resources/<int:resource_id>")
def delete_resource(resource_id: int):
    user = require_caller()
    resource_service.delete_resource(user, resource_service.get_resource(user, resource_id))
    return "", 204


@bp.post("/resources/<int:resource_id>/submit")
def submit_resource(resource_id: int):
    user = require_caller()
    resource = workflow.submit(user, resource_service.get_resource(user, resource_id))
    return jsonify(resource_json(resource))


@bp.post("/resources/<int:resource_id>/review")
def review_resource(resource_id: int):
    """Editors: `{"decision": "approve"|"reject", "comment": "..."}` on a submitted resource."""
    user = require_caller()
    resource = resource_service.get_resource(user, resource_id)  # 404 when not visible
    if not access.can_review(user):
        raise PermissionDenied(_l("Only editors can review resources."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("The body must be a JSON object."))
    decision, comment = body.get("decision"), body.get("comment", "")
    if not isinstance(decision, str):
        raise ValidationError(_l('The decision is "approve" or "reject".'), field="decision")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise ValidationError(_l("The comment must be text."), field="comment")
    return jsonify(resource_json(workflow.review(user, resource, decision, comment)))


@bp.get("/files/<int:file_id>")
def get_file(file_id: int):
    return send_stored_file(resource_service.get_file(g.api_user, file_id))
