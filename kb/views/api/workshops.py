"""Workshop packs through the API: the same service as the pages, JSON in and out."""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from kb.models import User, Workshop, WorkshopItem
from kb.services import access
from kb.services import workshops as workshop_service
from kb.services.errors import ValidationError
from kb.views.api import bp, require_caller
from kb.views.workshops import send_pack


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("The body must be a JSON object."))
    return body


def item_json(item: WorkshopItem, position: int) -> dict:
    """`position` counts only the items the caller sees, from 1."""
    return {
        "id": item.id, "resource_id": item.resource_id, "title": item.resource.title,
        "note": item.note, "position": position, "session": item.session,
        "start_time": item.start_time or None, "duration_minutes": item.duration_minutes,
        "url": url_for("main.resource_detail", resource_id=item.resource_id, _external=True),
    }


def workshop_json(user: User | None, workshop: Workshop) -> dict:
    editable = access.can_edit_workshop(user, workshop)
    return {
        "id": workshop.id, "title": workshop.title,
        "date": workshop.date.isoformat() if workshop.date else None,
        "location": workshop.location, "commune_code": workshop.commune_code,
        "audience": workshop.audience, "description": workshop.description,
        "language": workshop.language, "visibility": workshop.visibility.value,
        "owner": workshop.owner.name, "copied_from_id": workshop.copied_from_id,
        # The secret link only for those who may hand it out or revoke it.
        "share_url": url_for("workshops.shared", token=workshop.share_token, _external=True)
        if editable and workshop.share_token else None,
        "url": url_for("workshops.detail", workshop_id=workshop.id, _external=True),
        "export_url": url_for("api.export_workshop", workshop_id=workshop.id, _external=True),
        "created_at": workshop.created_at.isoformat() + "Z",
        "updated_at": workshop.updated_at.isoformat() + "Z",
        "items": [item_json(item, number) for number, item in
                  enumerate(workshop_service.visible_items(user, workshop), start=1)],
    }


@bp.post("/workshops")
def create_workshop():
    workshop = workshop_service.create_workshop(require_caller(), _json_body())
    return jsonify({"id": workshop.id,
                    "url": url_for("workshops.detail", workshop_id=workshop.id,
                                   _external=True)}), 201


@bp.get("/workshops/<int:workshop_id>")
def get_workshop(workshop_id: int):
    return jsonify(workshop_json(g.api_user, workshop_service.get_workshop(g.api_user,
                                                                           workshop_id)))


@bp.patch("/workshops/<int:workshop_id>")
def update_workshop(workshop_id: int):
    user = require_caller()
    workshop = workshop_service.get_workshop(user, workshop_id)
    data = {k: v for k, v in _json_body().items() if k in workshop_service.WORKSHOP_FIELDS}
    if not data:
        raise ValidationError(_l("Nothing to change."))
    return jsonify(workshop_json(user, workshop_service.update_workshop(user, workshop, data)))


@bp.delete("/workshops/<int:workshop_id>")
def delete_workshop(workshop_id: int):
    user = require_caller()
    workshop_service.delete_workshop(user, workshop_service.get_workshop(user, workshop_id))
    return "", 204


@bp.post("/workshops/<int:workshop_id>/items")
def add_workshop_item(workshop_id: int):
    user = require_caller()
    workshop = workshop_service.get_workshop(user, workshop_id)
    body = _json_body()
    if body.get("resource_id") in (None, ""):
        raise ValidationError(_l("Name the resource to add (resource_id)."), field="resource_id")
    item = workshop_service.add_item(user, workshop, body["resource_id"], data=body,
                                     position=body.get("position"))
    seen = workshop_service.visible_items(user, workshop)
    return jsonify(item_json(item, seen.index(item) + 1)), 201


@bp.get("/workshops/<int:workshop_id>/export")
def export_workshop(workshop_id: int):
    return send_pack(workshop_service.get_workshop(g.api_user, workshop_id))
