"""The OpenAPI 3 description of /api/v1, generated from the operations' own declarations."""
from __future__ import annotations

from kb.views.api import consultation_schemas, schemas
from kb.views.api.contract import OPERATIONS, build_spec, current_server_url

DESCRIPTION = (
    "Reform documents, expert presentations, commune best practices and training materials of "
    "Cambodia's D&D Reform Working Group. Without a token a request acts as an anonymous "
    "visitor. Every error is JSON: {\"error\": {\"code\", \"message\", \"field\"?}}. Text never "
    "holds NUL characters or unpaired surrogates: a request carrying one is refused (400, the "
    "field named). JSON bodies nest at most 32 levels deep. Ids are at most 2147483647.")


def openapi_document() -> dict:
    document = build_spec("DDWG knowledge base API", "1.0.0", DESCRIPTION, current_server_url(),
                          {**schemas.COMPONENTS, **consultation_schemas.COMPONENTS})
    _add_schema_level_rules(document)
    return document


def _add_schema_level_rules(document: dict) -> None:
    """Rules on a body as a whole — bodies that change something carry at least one field, a
    rule across fields — which apispec has no keyword for, are added here."""
    for op in OPERATIONS:
        if op.body is None:
            continue
        component = document["components"]["schemas"][op.body.Meta.component]
        if getattr(op.body, "min_properties", 0):
            component["minProperties"] = op.body.min_properties
        component.update(getattr(op.body, "document_rules", {}))
