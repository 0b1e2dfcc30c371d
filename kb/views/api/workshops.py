"""Workshop packs through the API: the same service as the pages, JSON in and out."""
from __future__ import annotations

from flask import g, jsonify, url_for

from kb.models import User, Workshop, WorkshopItem
from kb.services import access
from kb.services import workshops as workshop_service
from kb.views.api import bp, require_caller
from kb.views.api import schemas
from kb.views.api.contract import operation
from kb.views.workshops import send_pack


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


@operation(bp, "POST", "/workshops", summary="Start a workshop pack (contributors and above)",
           operation_id="createWorkshop", token="required", body=schemas.NewWorkshop,
           responses={201: {"description": "Created", "schema": "WorkshopCreated"}},
           errors=(403,))
def create_workshop(body: dict):
    workshop = workshop_service.create_workshop(require_caller(), body)
    return jsonify({"id": workshop.id,
                    "url": url_for("workshops.detail", workshop_id=workshop.id,
                                   _external=True)}), 201


@operation(bp, "GET", "/workshops/<int:workshop_id>", summary="A workshop with the items the "
           "caller may see", operation_id="getWorkshop",
           responses={200: {"description": "The workshop", "schema": "Workshop"}},
           errors=(404,))
def get_workshop(workshop_id: int):
    return jsonify(workshop_json(g.api_user, workshop_service.get_workshop(g.api_user,
                                                                           workshop_id)))


@operation(bp, "PATCH", "/workshops/<int:workshop_id>", summary="Change a workshop's details "
           "(its trainer, editors)", operation_id="updateWorkshop", token="required",
           body=schemas.WorkshopChanges,
           responses={200: {"description": "The changed workshop", "schema": "Workshop"}},
           errors=(403, 404))
def update_workshop(workshop_id: int, body: dict):
    user = require_caller()
    workshop = workshop_service.get_workshop(user, workshop_id)
    return jsonify(workshop_json(user, workshop_service.update_workshop(user, workshop, body)))


@operation(bp, "DELETE", "/workshops/<int:workshop_id>", summary="Delete a workshop (its "
           "trainer, editors)", operation_id="deleteWorkshop", token="required",
           responses={204: {"description": "Deleted"}}, errors=(403, 404))
def delete_workshop(workshop_id: int):
    user = require_caller()
    workshop_service.delete_workshop(user, workshop_service.get_workshop(user, workshop_id))
    return "", 204


@operation(bp, "POST", "/workshops/<int:workshop_id>/items", summary="Put a resource the "
           "caller may see into the agenda", operation_id="addWorkshopItem", token="required",
           body=schemas.NewWorkshopItem,
           responses={201: {"description": "Added", "schema": "WorkshopItem"}},
           errors=(403, 404, 409))
def add_workshop_item(workshop_id: int, body: dict):
    user = require_caller()
    workshop = workshop_service.get_workshop(user, workshop_id)
    item = workshop_service.add_item(user, workshop, body.pop("resource_id"), data=body,
                                     position=body.pop("position", None))
    seen = workshop_service.visible_items(user, workshop)
    return jsonify(item_json(item, seen.index(item) + 1)), 201


@operation(bp, "GET", "/workshops/<int:workshop_id>/export", summary="The pack as a ZIP for "
           "offline use: index.html, files/, manifest.json", operation_id="exportWorkshop",
           responses={200: {"description": "Only resources the caller may see go in",
                            "content_types": ("application/zip",)}},
           errors=(404, 503))
def export_workshop(workshop_id: int):
    """As the token's user, never as a browser session's: the owner's export keeps their own
    drafts and members-only items, an anonymous one only what the public may see."""
    return send_pack(g.api_user, workshop_service.get_workshop(g.api_user, workshop_id))
