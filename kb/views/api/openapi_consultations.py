"""The OpenAPI description of the consultation and calendar endpoints (kb/views/api/
consultations.py), merged into the document by openapi.py."""
from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict:
    return {"application/json": {"schema": _ref(name)}}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


CONFLICT = {"description": "Not possible in the consultation's state (not open, or before the "
                           "deadline), or already done", "content": _json("Error")}


def consultation_paths() -> dict:
    cid, rid = _path_id("consultation_id"), _path_id("response_id")
    return {
        "/consultations": {
            "get": {
                "summary": "The consultations the caller may see, the latest deadline first",
                "operationId": "listConsultations",
                "responses": {"200": {"description": "The consultations", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "consultations": {"type": "array",
                                          "items": _ref("ConsultationSummary")}}}}}},
                              **_errors("401")},
            },
            "post": {
                "summary": "Open a consultation on a published draft (editors)",
                "operationId": "createConsultation",
                "requestBody": {"required": True, "content": _json("NewConsultation")},
                "responses": {"201": {"description": "Opened", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "url": {"type": "string"}}}}}},
                              **_errors("400", "401", "403")},
            },
        },
        "/consultations/{consultation_id}": {"get": {
            "summary": "A consultation: its questions, the draft's sections and the responses "
                       "as the caller may see them",
            "operationId": "getConsultation",
            "parameters": [cid],
            "responses": {"200": {"description": "The consultation",
                                  "content": _json("Consultation")},
                          **_errors("401", "404")},
        }},
        "/consultations/{consultation_id}/responses": {"post": {
            "summary": "Respond to the whole draft, a question or a section (members, while "
                       "open)",
            "operationId": "createResponse",
            "parameters": [cid],
            "requestBody": {"required": True, "content": _json("NewResponse")},
            "responses": {"201": {"description": "Saved", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "id": {"type": "integer"}}}}}},
                          "409": CONFLICT, **_errors("400", "401", "403", "404")},
        }},
        "/consultations/{consultation_id}/responses/{response_id}/endorse": {"post": {
            "summary": "“My organisation supports this” (members of an organisation, while "
                       "open); endorsing again changes nothing",
            "operationId": "endorseResponse",
            "parameters": [cid, rid],
            "responses": {"200": {"description": "Endorsed", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "endorsements": {"type": "integer"},
                    "endorsed_by": {"type": "array", "items": {"type": "string"}}}}}}},
                          "409": CONFLICT, **_errors("400", "401", "403", "404")},
        }},
        "/consultations/{consultation_id}/submission": {
            "get": {
                "summary": "The compiled feedback document (editors, after the deadline)",
                "operationId": "getSubmission",
                "parameters": [cid,
                               {"name": "format", "in": "query",
                                "schema": {"type": "string", "enum": ["docx", "pdf"],
                                           "default": "pdf"}},
                               {"name": "lang", "in": "query",
                                "schema": {"type": "string", "enum": ["en", "km"],
                                           "default": "en"}}],
                "responses": {"200": {"description": "The document", "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                        {"schema": {"type": "string", "format": "binary"}}}},
                              "409": CONFLICT, **_errors("400", "401", "403", "404")},
            },
            "post": {
                "summary": "Store the compiled document (DOCX and PDF) as a policy_feedback "
                           "resource linked to the draft, sent for review (editors)",
                "operationId": "storeSubmission",
                "parameters": [cid],
                "requestBody": {"required": False, "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "lang": {"type": "string", "enum": ["en", "km"]}}}}}},
                "responses": {"201": {"description": "Stored", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "resource_id": {"type": "integer"}, "url": {"type": "string"}}}}}},
                              "409": CONFLICT, **_errors("400", "401", "403", "404")},
            },
        },
        "/calendar": {"get": {
            "summary": "Meetings, workshops and consultation deadlines the caller may see "
                       "(also as iCalendar at /calendar.ics)",
            "operationId": "getCalendar",
            "parameters": [{"name": "from", "in": "query",
                            "schema": {"type": "string", "format": "date"}},
                           {"name": "days", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 400,
                                       "default": 31}}],
            "responses": {"200": {"description": "The events", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "from": {"type": "string", "format": "date"}, "days": {"type": "integer"},
                    "events": {"type": "array", "items": _ref("CalendarEvent")}}}}}},
                          **_errors("400", "401")},
        }},
    }


def consultation_schemas() -> dict:
    date = {"type": "string", "format": "date"}
    text = {"type": "string"}
    return {
        "NewConsultation": {"type": "object",
                            "required": ["resource_id", "title", "opens", "closes"],
                            "properties": {
            "resource_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "title": {"type": "string", "minLength": 1, "maxLength": 300},
            "title_km": {"type": "string", "maxLength": 300},
            "questions": {"type": "array", "maxItems": 50,
                          "items": {"type": "string", "maxLength": 2000}},
            "opens": date, "closes": date,
            "visibility": {"type": "string", "enum": ["members", "public"]},
            "participation": {"type": "string", "enum": ["members", "organisations"]},
            "organisations": {"type": "array", "maxItems": 50,
                              "items": {"type": "string", "maxLength": 60}},
            "responses_shared": {"type": "boolean"}}},
        "ConsultationSummary": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": text, "title_km": {**text, "nullable": True},
            "state": {"type": "string", "enum": ["upcoming", "open", "closed", "submitted"]},
            "opens": date, "closes": date,
            "visibility": {"type": "string", "enum": ["members", "public"]}, "url": text}},
        "Consultation": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": text, "title_km": {**text, "nullable": True},
            "state": {"type": "string", "enum": ["upcoming", "open", "closed", "submitted"]},
            "resource_id": {"type": "integer", "nullable": True,
                            "description": "the draft; null for those who may not read it"},
            "opens": date, "closes": date,
            "visibility": {"type": "string", "enum": ["members", "public"]},
            "participation": {"type": "string", "enum": ["members", "organisations"]},
            "organisations": {"type": "array", "items": text},
            "responses_shared": {"type": "boolean"},
            "organisations_taking_part": {"type": "integer"},
            "can_respond": {"type": "boolean"},
            "questions": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "text": text}}},
            "sections": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "anchor": text, "heading": text, "text": text}}},
            "responses": {"type": "array", "items": _ref("Response")},
            "url": text}},
        "Response": {"type": "object", "properties": {
            "id": {"type": "integer"},
            "section_id": {"type": "integer", "nullable": True},
            "question_id": {"type": "integer", "nullable": True},
            "text": text, "proposed_wording": text,
            "org": {**text, "nullable": True, "description": "null: made personally"},
            "endorsements": {"type": "integer"},
            "endorsed_by": {"type": "array", "items": text},
            "language": {"type": "string", "enum": ["en", "km"]},
            "hidden": {"type": "boolean", "description": "seen by editors and the author"},
            "hidden_reason": {**text, "nullable": True},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}}},
        "NewResponse": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 20000},
            "section_id": {"type": "integer", "nullable": True, "minimum": 1,
                           "maximum": 2**31 - 1},
            "question_id": {"type": "integer", "nullable": True, "minimum": 1,
                            "maximum": 2**31 - 1},
            "proposed_wording": {"type": "string", "nullable": True, "maxLength": 20000},
            "on_behalf_of_org": {"type": "boolean", "nullable": True}}},
        "CalendarEvent": {"type": "object", "properties": {
            "uid": text, "title": text, "title_km": {**text, "nullable": True},
            "kind": {"type": "string",
                     "enum": ["meeting", "presentation", "workshop", "deadline"]},
            "date": date, "start": {**text, "nullable": True},
            "end": {**text, "nullable": True}, "location": {**text, "nullable": True},
            "url": text}},
    }
