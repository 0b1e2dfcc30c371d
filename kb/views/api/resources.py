"""Resources through the API."""
from __future__ import annotations

from flask import g, jsonify, url_for

from kb.models import Resource
from kb.services import resources as resource_service
from kb.services import access, ingestion, workflow
from kb.services.errors import PermissionDenied
from kb.views.api import bp, require_caller
from kb.views.api import schemas
from kb.views.api.contract import MULTIPART, operation
from kb.views.files import FILE_CONTENT_TYPES, send_stored_file
from kb.views.forms import uploads_from


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


def _one(description: str) -> dict:
    return {200: {"description": description, "schema": "Resource"}}


@operation(bp, "POST", "/resources", summary="Add a resource with its files (contributors and "
           "above)", operation_id="createResource", token="required",
           body=schemas.ResourceUpload, body_type=MULTIPART,
           body_encoding={"file": {"contentType": ", ".join(FILE_CONTENT_TYPES)}},
           description="Each file's type is decided from its bytes: PDF, Word, PowerPoint, "
                       "Excel, OpenDocument, RTF, text, Markdown, HTML, JPEG, PNG or TIFF; any "
                       "other contents, or contents that do not match the file's extension, "
                       "are refused (400). Bytes already stored are refused (409).",
           responses={201: {"description": "Created", "schema": "ResourceCreated"}},
           errors=(403, 409, 503))
def create_resource(body: dict):
    user = require_caller()
    files = body.pop("file")
    submit, publish = body.pop("submit", False), body.pop("publish", False)
    resource = ingestion.contribute(user, body, uploads_from(files), submit=submit,
                                    publish=publish)
    return jsonify({"id": resource.id, "status": resource.status.value,
                    "url": url_for("main.resource_detail", resource_id=resource.id,
                                   _external=True)}), 201


@operation(bp, "GET", "/resources/<int:resource_id>", summary="One resource",
           operation_id="getResource", responses=_one("The resource"), errors=(404,))
def get_resource(resource_id: int):
    return jsonify(resource_json(resource_service.get_resource(g.api_user, resource_id)))


@operation(bp, "PATCH", "/resources/<int:resource_id>", summary="Change metadata (owner while "
           "not published; editors always)", operation_id="updateResource", token="required",
           body=schemas.ResourceChanges, responses=_one("The changed resource"),
           errors=(403, 404))
def update_resource(resource_id: int, body: dict):
    user = require_caller()
    resource = resource_service.get_resource(user, resource_id)
    return jsonify(resource_json(resource_service.update_resource(user, resource, body)))


@operation(bp, "DELETE", "/resources/<int:resource_id>", summary="Delete (owner of a draft, "
           "editors, admins)", operation_id="deleteResource", token="required",
           responses={204: {"description": "Deleted"}}, errors=(403, 404))
def delete_resource(resource_id: int):
    user = require_caller()
    resource_service.delete_resource(user, resource_service.get_resource(user, resource_id))
    return "", 204


@operation(bp, "POST", "/resources/<int:resource_id>/submit", summary="Send a draft for "
           "review (owner)", operation_id="submitResource", token="required",
           responses=_one("The submitted resource"), errors=(403, 404, 409))
def submit_resource(resource_id: int):
    user = require_caller()
    resource = workflow.submit(user, resource_service.get_resource(user, resource_id))
    return jsonify(resource_json(resource))


@operation(bp, "POST", "/resources/<int:resource_id>/review", summary="Approve (publish) or "
           "reject (return to the owner) a submitted resource (editors and admins)",
           operation_id="reviewResource", token="required", body=schemas.ReviewDecision,
           responses=_one("The reviewed resource, now published or rejected"),
           errors=(403, 404, 409))
def review_resource(resource_id: int, body: dict):
    user = require_caller()
    resource = resource_service.get_resource(user, resource_id)  # 404 when not visible
    if not access.can_review(user):
        raise PermissionDenied("Only editors can review resources.")
    return jsonify(resource_json(workflow.review(user, resource, body["decision"],
                                                 body.get("comment") or "")))


@operation(bp, "GET", "/files/<int:file_id>", summary="Download a stored file as an "
           "attachment", operation_id="getFile",
           description="Streamed from the file store, with the file's sha256 as ETag "
                       "(If-None-Match answers 304) and byte ranges (Range answers 206).",
           responses={200: {"description": "The file's bytes, with the type found at upload",
                            "content_types": FILE_CONTENT_TYPES},
                      206: {"description": "The part of the file the Range header asked for",
                            "content_types": FILE_CONTENT_TYPES},
                      304: {"description": "The caller's copy (If-None-Match) is current"}},
           errors=(404, 416, 503))
def get_file(file_id: int):
    return send_stored_file(resource_service.get_file(g.api_user, file_id))
