"""The OpenAPI 3 description of /api/v1, kept beside the routes it describes."""
from __future__ import annotations

from flask import request

from kb.views.api.openapi_consultations import consultation_paths, consultation_schemas

ERROR_CODES = {"400": "Bad input", "401": "Missing or invalid token", "403": "Not allowed",
               "404": "Not found, or not visible to the caller", "405": "Method not allowed",
               "409": "Already in the knowledge base", "413": "Body too large"}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema_ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def openapi_document() -> dict:
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "DDWG knowledge base API",
            "version": "1.0.0",
            "description": "Reform documents, expert presentations, commune best practices and "
                           "training materials of Cambodia's D&D Reform Working Group. Without "
                           "a token a request acts as an anonymous visitor.",
        },
        "servers": [{"url": request.host_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}, {}],
        "paths": {
            "/me": {"get": {
                "summary": "The user the token belongs to",
                "operationId": "getMe",
                "responses": {"200": {"description": "The caller", "content": _json("User")},
                              **_errors("401")},
            }},
            "/users": {"get": {
                "summary": "User accounts (administrators only)",
                "operationId": "listUsers",
                "parameters": [
                    {"name": "role", "in": "query", "schema": {
                        "type": "string", "enum": ["member", "contributor", "editor", "admin"]}},
                    {"name": "status", "in": "query", "schema": {
                        "type": "string",
                        "enum": ["pending", "active", "deactivated", "declined"]}}],
                "responses": {"200": {"description": "The accounts", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "users": {"type": "array",
                                  "items": {"$ref": "#/components/schemas/User"}}}}}}},
                              **_errors("400", "401", "403")},
            }},
            "/vocabularies": {"get": {
                "summary": "Objectives, kinds, organisations and provinces",
                "operationId": "getVocabularies",
                "responses": {"200": {"description": "The vocabularies",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}},
            }},
            "/resources": {"post": {
                "summary": "Add a resource with its files (contributors and above)",
                "operationId": "createResource",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"$ref": "#/components/schemas/ResourceUpload"}}}},
                "responses": {"201": {"description": "Created", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "status": {"type": "string"},
                        "url": {"type": "string"}}}}}},
                              "409": {"$ref": "#/components/responses/E409"},
                              **_errors("400", "401", "403", "413")},
            }},
            "/resources/{id}": {
                "get": {
                    "summary": "One resource",
                    "operationId": "getResource",
                    "parameters": [id_param],
                    "responses": {"200": {"description": "The resource",
                                          "content": _json("Resource")},
                                  **_errors("401", "404")},
                },
                "patch": {
                    "summary": "Change metadata (owner while not published; editors always)",
                    "operationId": "updateResource",
                    "parameters": [id_param],
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": {
                            "$ref": "#/components/schemas/ResourceMetadata"}},
                        "multipart/form-data": {"schema": {
                            "$ref": "#/components/schemas/ResourceMetadata"}}}},
                    "responses": {"200": {"description": "The changed resource",
                                          "content": _json("Resource")},
                                  **_errors("400", "401", "403", "404")},
                },
                "delete": {
                    "summary": "Delete (owner of a draft, editors, admins)",
                    "operationId": "deleteResource",
                    "parameters": [id_param],
                    "responses": {"204": {"description": "Deleted"},
                                  **_errors("401", "403", "404")},
                },
            },
            "/resources/{id}/submit": {"post": {
                "summary": "Send a draft for review (owner)",
                "operationId": "submitResource",
                "parameters": [id_param],
                "responses": {"200": {"description": "The submitted resource",
                                      "content": _json("Resource")},
                              **_errors("400", "401", "403", "404")},
            }},
            "/resources/{id}/review": {"post": {
                "summary": "Approve (publish) or reject (return to the owner) a submitted "
                           "resource (editors and admins)",
                "operationId": "reviewResource",
                "parameters": [id_param],
                "requestBody": {"required": True, "content": _json("ReviewDecision")},
                "responses": {"200": {"description": "The reviewed resource, now published or "
                                                     "rejected", "content": _json("Resource")},
                              **_errors("400", "401", "403", "404")},
            }},
            "/search": {"get": {
                "summary": "Search what the caller may see, with facets and snippets",
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 1000},
                     "description": 'words, "phrases", -exclusions, OR, title:, tag:, org:'},
                    *[{"name": name, "in": "query", "style": "form", "explode": True,
                       "schema": {"type": "array", "items": {"type": "string"}}}
                      for name in ("kind", "objective", "tag", "org", "language", "province",
                                   "district", "commune")],
                    {"name": "year_from", "in": "query", "schema": {"type": "integer"}},
                    {"name": "year_to", "in": "query", "schema": {"type": "integer"}},
                    {"name": "sort", "in": "query", "schema": {
                        "type": "string",
                        "enum": ["relevance", "newest", "oldest", "title", "published"]},
                     "description": "newest/oldest: by the resource's date; published: most "
                                    "recently published first"},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {
                        "type": "integer", "minimum": 1, "maximum": 100}}],
                "responses": {"200": {"description": "One page of results",
                                      "content": _json("SearchResults")},
                              **_errors("400", "401")},
            }},
            "/suggest": {"get": {
                "summary": "Completions as you type: titles, tags, glossary terms",
                "operationId": "suggest",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Suggestions", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "suggestions": {"type": "array", "items": {
                            "type": "object", "properties": {
                                "text": {"type": "string"}, "type": {
                                    "type": "string", "enum": ["title", "tag", "glossary"]},
                                "id": {"type": "integer"}}}}}}}}},
                              **_errors("401")},
            }},
            "/files/{id}": {"get": {
                "summary": "Download a stored file as an attachment",
                "operationId": "getFile",
                "parameters": [id_param],
                "responses": {"200": {"description": "The file's bytes",
                                      "content": {"application/octet-stream": {
                                          "schema": {"type": "string", "format": "binary"}}}},
                              **_errors("401", "404")},
            }},
            **_workshop_paths(),
            **consultation_paths(),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {f"E{code}": {"description": text, "content": _json("Error")}
                          for code, text in ERROR_CODES.items()},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "field": {"type": "string"}}}}},
                "User": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "email": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {"type": "string",
                             "enum": ["member", "contributor", "editor", "admin"]},
                    "status": {"type": "string",
                               "enum": ["pending", "active", "deactivated", "declined"]},
                    "org": {"type": "string", "nullable": True}}},
                "ResourceMetadata": {"type": "object", "properties": {
                    "title": {"type": "string"}, "alt_title": {"type": "string"},
                    "kind": {"type": "string"},
                    "objectives": {"type": "array", "items": {"type": "string"}},
                    "language": {"type": "array", "items": {"type": "string"}},
                    "summary": {"type": "string", "description": "HTML or Markdown; sanitised"},
                    "tags": {"type": "string", "description": "comma-separated"},
                    "org": {"type": "string"}, "date": {"type": "string", "format": "date"},
                    "visibility": {"type": "string", "enum": ["public", "members"]},
                    "commune_code": {"type": "string"}, "event": {"type": "string"},
                    "source_url": {"type": "string"},
                    "authors": {"type": "string", "description": "separated by ;"}}},
                "ResourceUpload": {"allOf": [
                    {"$ref": "#/components/schemas/ResourceMetadata"},
                    {"type": "object", "properties": {
                        "file": {"type": "array",
                                 "items": {"type": "string", "format": "binary"}},
                        "submit": {"type": "string", "enum": ["true", "false"]},
                        "publish": {"type": "string", "enum": ["true", "false"]}}}]},
                "ReviewDecision": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["approve", "reject"]},
                    "comment": {"type": "string", "maxLength": 5000,
                                "description": "shown to the owner with the decision"}}},
                "SearchResults": {"type": "object", "properties": {
                    "query": {"type": "string"}, "total": {"type": "integer"},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "title": {"type": "string"},
                        "kind": {"type": "string"},
                        "objectives": {"type": "array", "items": {"type": "string"}},
                        "language": {"type": "array", "items": {"type": "string"}},
                        "date": {"type": "string", "format": "date", "nullable": True},
                        "snippet": {"type": "string",
                                    "description": "HTML: matches in <mark>, the rest escaped"},
                        "url": {"type": "string"}, "score": {"type": "number"}}}},
                    "facets": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": {"type": "integer"}}},
                    "suggestion": {"type": "string", "nullable": True},
                    "matched_all_words": {"type": "boolean"}}},
                "Place": {"type": "object", "nullable": True, "properties": {
                    "code": {"type": "string"}, "name_en": {"type": "string"},
                    "name_km": {"type": "string"}}},
                "File": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "filename": {"type": "string"},
                    "size": {"type": "integer"}, "sha256": {"type": "string"},
                    "content_type": {"type": "string"}, "version": {"type": "integer"},
                    "extraction": {"type": "string", "enum": ["ok", "failed", "pending"]},
                    "extraction_error": {"type": "string", "nullable": True},
                    "url": {"type": "string"}}},
                "Resource": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "title": {"type": "string"},
                    "alt_title": {"type": "string", "nullable": True},
                    "kind": {"type": "string", "enum": [
                        "reform_document", "expert_presentation", "best_practice",
                        "training_material", "meeting_record", "policy_feedback"]},
                    "objectives": {"type": "array",
                                   "items": {"type": "string", "enum": ["1", "2", "3"]}},
                    "language": {"type": "array",
                                 "items": {"type": "string", "enum": ["en", "km"]}},
                    "summary": {"type": "string", "description": "sanitised HTML"},
                    "authors": {"type": "array", "items": {"type": "string"}},
                    "event": {"type": "string", "nullable": True},
                    "source_url": {"type": "string", "nullable": True},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "org": {"type": "string", "nullable": True},
                    "date": {"type": "string", "format": "date", "nullable": True},
                    "visibility": {"type": "string", "enum": ["public", "members"]},
                    "status": {"type": "string", "enum": [
                        "draft", "submitted", "published", "rejected", "archived"]},
                    "place": {"type": "object", "properties": {
                        "province": {"$ref": "#/components/schemas/Place"},
                        "district": {"$ref": "#/components/schemas/Place"},
                        "commune": {"$ref": "#/components/schemas/Place"}}},
                    "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                    "url": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"}}},
                **_workshop_schemas(),
                **consultation_schemas(),
            },
        },
    }


def _workshop_paths() -> dict:
    workshop_id = {"name": "workshop_id", "in": "path", "required": True,
                   "schema": {"type": "integer"}}
    return {
        "/workshops": {"post": {
            "summary": "Make a workshop pack (contributors and above); private by default",
            "operationId": "createWorkshop",
            "requestBody": {"required": True, "content": _json("WorkshopDetails")},
            "responses": {"201": {"description": "Created", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "url": {"type": "string"}}}}}},
                          **_errors("400", "401", "403")},
        }},
        "/workshops/{workshop_id}": {
            "get": {
                "summary": "A workshop with its agenda; items the caller may not see are left out",
                "operationId": "getWorkshop",
                "parameters": [workshop_id],
                "responses": {"200": {"description": "The workshop",
                                      "content": _json("Workshop")},
                              **_errors("401", "404")},
            },
            "patch": {
                "summary": "Change a workshop's details (its trainer, editors)",
                "operationId": "updateWorkshop",
                "parameters": [workshop_id],
                "requestBody": {"required": True, "content": _json("WorkshopDetails")},
                "responses": {"200": {"description": "The changed workshop",
                                      "content": _json("Workshop")},
                              **_errors("400", "401", "403", "404")},
            },
            "delete": {
                "summary": "Delete a workshop (its trainer, editors)",
                "operationId": "deleteWorkshop",
                "parameters": [workshop_id],
                "responses": {"204": {"description": "Deleted"},
                              **_errors("401", "403", "404")},
            },
        },
        "/workshops/{workshop_id}/items": {"post": {
            "summary": "Put a resource the caller may see into the agenda",
            "operationId": "addWorkshopItem",
            "parameters": [workshop_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["resource_id"], "properties": {
                    "resource_id": {"type": "integer"}, "note": {"type": "string"},
                    "position": {"type": "integer", "minimum": 1,
                                 "description": "1 is first; the end when left out"},
                    "session": {"type": "string"},
                    "start_time": {"type": "string", "pattern": "^[0-2]?[0-9]:[0-5][0-9]$"},
                    "duration_minutes": {"type": "integer", "minimum": 1}}}}}},
            "responses": {"201": {"description": "Added",
                                  "content": _json("WorkshopItem")},
                          "409": {"description": "The resource is already in the workshop",
                                  "content": _json("Error")},
                          **_errors("400", "401", "403", "404")},
        }},
        "/workshops/{workshop_id}/export": {"get": {
            "summary": "The pack as a ZIP for offline use: index.html, files/, manifest.json",
            "operationId": "exportWorkshop",
            "parameters": [workshop_id],
            "responses": {"200": {"description": "Only resources the caller may see go in",
                                  "content": {"application/zip": {
                                      "schema": {"type": "string", "format": "binary"}}}},
                          **_errors("401", "404")},
        }},
    }


def _workshop_schemas() -> dict:
    details = {
        "title": {"type": "string"}, "date": {"type": "string", "format": "date"},
        "location": {"type": "string"}, "commune_code": {"type": "string"},
        "audience": {"type": "string"},
        "description": {"type": "string", "description": "Markdown or plain text"},
        "language": {"type": "string", "enum": ["en", "km"]},
        "visibility": {"type": "string", "enum": ["private", "members", "public"]}}
    return {
        "WorkshopDetails": {"type": "object", "properties": details},
        "WorkshopItem": {"type": "object", "properties": {
            "id": {"type": "integer"}, "resource_id": {"type": "integer"},
            "title": {"type": "string"}, "note": {"type": "string"},
            "position": {"type": "integer", "description": "among the items the caller sees"},
            "session": {"type": "string"},
            "start_time": {"type": "string", "nullable": True},
            "duration_minutes": {"type": "integer", "nullable": True},
            "url": {"type": "string"}}},
        "Workshop": {"type": "object", "properties": {
            **details, "id": {"type": "integer"},
            "date": {"type": "string", "format": "date", "nullable": True},
            "commune_code": {"type": "string", "nullable": True},
            "owner": {"type": "string"},
            "copied_from_id": {"type": "integer", "nullable": True},
            "share_url": {"type": "string", "nullable": True,
                          "description": "the secret link, shown to those who may change it"},
            "url": {"type": "string"}, "export_url": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "items": {"type": "array",
                      "items": {"$ref": "#/components/schemas/WorkshopItem"}}}},
    }
