"""The API's self-description: OpenAPI document, caller identity, vocabularies."""
from __future__ import annotations

from flask import g, jsonify

from kb.models import User
from kb.services import accounts, vocabularies
from kb.views.api import bp, require_caller, schemas
from kb.views.api.contract import operation
from kb.views.api.openapi import openapi_document


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@operation(bp, "GET", "/me", summary="The user the token belongs to", operation_id="getMe",
           token="required", responses={200: {"description": "The caller", "schema": "User"}})
def me():
    return jsonify(user_json(require_caller()))


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "status": user.status.value,
            "org": user.organisation.short_name if user.organisation else None}


@operation(bp, "GET", "/vocabularies", summary="Objectives, kinds, organisations and provinces",
           operation_id="getVocabularies",
           responses={200: {"description": "The vocabularies", "schema": "Vocabularies"}})
def vocabulary_lists():
    return jsonify({
        "objectives": [{"id": str(o.number), "name_en": o.name_en, "name_km": o.name_km}
                       for o in vocabularies.objectives()],
        "kinds": [{"id": k.code, "name_en": k.name_en, "name_km": k.name_km}
                  for k in vocabularies.kinds()],
        "organisations": [{"id": o.short_name, "name_en": o.name("en"), "name_km": o.name("km")}
                          for o in vocabularies.organisations()],
        "provinces": [{"code": p.code, "name_en": p.name_en, "name_km": p.name_km}
                      for p in vocabularies.provinces()],
    })


@operation(bp, "GET", "/users", summary="User accounts (administrators only)",
           operation_id="listUsers", token="required", query=schemas.UsersQuery,
           responses={200: {"description": "The accounts", "schema": "UserList"}},
           errors=(403,))
def list_users(args: dict):
    """Administrators list accounts, optionally by role (?role=editor) or state (?status=...)."""
    return jsonify({"users": [user_json(u) for u in accounts.list_users(
        g.api_user, role=args.get("role"), status=args.get("status"))]})
