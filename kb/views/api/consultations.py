"""Consultations, responses and the calendar through the API: the same services as the pages.
Each operation's input is declared (and documented) in consultation_schemas.py."""
from __future__ import annotations

from datetime import date, timedelta

from flask import g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from kb.models import Consultation, ConsultationResponse, User
from kb.services import access, clock
from kb.services import calendar as calendar_service
from kb.services import consultations as consultation_service
from kb.services import responses as response_service
from kb.services import submission as submission_service
from kb.services.errors import ValidationError
from kb.views.api import bp, require_caller
from kb.views.api import consultation_schemas as schemas
from kb.views.api.contract import operation
from kb.views.consultation_submission import send_submission

def _only_known_parameters(schema) -> None:
    """These operations take only the query parameters they document: any other is refused,
    so that a misspelt one (`?formt=docx`) never passes silently."""
    known = {f.data_key or name for name, f in schema().load_fields.items()}
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise ValidationError(_l("Unknown parameter: %(name)s", name=unknown[0][:40]),
                              field=unknown[0][:40])


def _consultation(user: User | None, consultation_id: int) -> Consultation:
    return consultation_service.get_consultation(user, consultation_id)


def response_json(response: ConsultationResponse) -> dict:
    return {
        "id": response.id, "section_id": response.section_id,
        "question_id": response.question_id, "text": response.text,
        "proposed_wording": response.proposed_wording,
        "org": response.organisation.short_name if response.organisation else None,
        "endorsements": len(response.endorsements),
        "endorsed_by": [e.organisation.short_name for e in response.endorsements],
        "language": response.language, "hidden": response.hidden,
        "hidden_reason": response.hidden_reason if response.hidden else None,
        "created_at": response.created_at.isoformat() + "Z",
        "updated_at": response.updated_at.isoformat() + "Z",
    }


def consultation_json(user: User | None, consultation: Consultation) -> dict:
    state = consultation_service.state(consultation)
    return {
        "id": consultation.id, "title": consultation.title,
        "title_km": consultation.title_km or None, "state": state.value,
        "resource_id": consultation.resource_id
        if access.can_read_draft(user, consultation) else None,
        "opens": consultation.opens.isoformat(), "closes": consultation.closes.isoformat(),
        "visibility": consultation.visibility.value,
        "participation": consultation.participation.value,
        "organisations": [o.short_name for o in consultation.organisations],
        "responses_shared": consultation.responses_shared,
        "organisations_taking_part": consultation_service.organisations_taking_part(
            consultation),
        "can_respond": access.can_respond(user, consultation, clock.local_today()),
        "questions": [{"id": q.id, "text": q.text} for q in consultation.questions],
        "sections": [{"id": s.id, "anchor": s.anchor, "heading": s.heading, "text": s.text}
                     for s in consultation_service.visible_sections(user, consultation)],
        "responses": [response_json(r) for r in
                      response_service.visible_responses(user, consultation)],
        "url": url_for("consultations.detail", consultation_id=consultation.id,
                       _external=True),
    }


@operation(bp, "GET", "/consultations", summary="The consultations the caller may see, the "
           "latest deadline first", operation_id="listConsultations",
           responses={200: {"description": "The consultations", "schema": "ConsultationList"}})
def list_consultations():
    user = g.api_user
    return jsonify({"consultations": [{
        "id": c.id, "title": c.title, "title_km": c.title_km or None,
        "state": consultation_service.state(c).value, "opens": c.opens.isoformat(),
        "closes": c.closes.isoformat(), "visibility": c.visibility.value,
        "url": url_for("consultations.detail", consultation_id=c.id, _external=True),
    } for c in consultation_service.list_consultations(user)]})


@operation(bp, "POST", "/consultations", summary="Open a consultation on a published draft "
           "(editors)", operation_id="createConsultation", token="required",
           body=schemas.NewConsultation,
           responses={201: {"description": "Opened", "schema": "ConsultationCreated"}},
           errors=(403, 404, 409))
def create_consultation(body: dict):
    user = require_caller()
    resource_id = body.pop("resource_id")
    consultation = consultation_service.create_consultation(user, resource_id, body)
    return jsonify({"id": consultation.id,
                    "url": url_for("consultations.detail", consultation_id=consultation.id,
                                   _external=True)}), 201


@operation(bp, "GET", "/consultations/<int:consultation_id>", summary="A consultation: its "
           "questions, the draft's sections and the responses as the caller may see them",
           operation_id="getConsultation",
           responses={200: {"description": "The consultation", "schema": "Consultation"}},
           errors=(404,))
def get_consultation(consultation_id: int):
    return jsonify(consultation_json(g.api_user, _consultation(g.api_user, consultation_id)))


@operation(bp, "POST", "/consultations/<int:consultation_id>/responses", summary="Respond to "
           "the whole draft, a question or a section (members, while open)",
           operation_id="createResponse", token="required", body=schemas.NewResponse,
           responses={201: {"description": "Saved", "schema": "ResponseCreated"}},
           errors=(403, 404, 409))
def create_response(consultation_id: int, body: dict):
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    response = response_service.respond(user, consultation, body)
    return jsonify({"id": response.id}), 201


@operation(bp, "POST", "/consultations/<int:consultation_id>/responses/<int:response_id>"
           "/endorse", summary="“My organisation supports this” (members of an organisation, "
           "while open); endorsing again changes nothing", operation_id="endorseResponse",
           token="required",
           responses={200: {"description": "Endorsed", "schema": "Endorsed"}},
           errors=(403, 404, 409))
def endorse_response(consultation_id: int, response_id: int):
    user = require_caller()
    response = response_service.get_response(user, _consultation(user, consultation_id),
                                             response_id)
    response_service.endorse(user, response)
    return jsonify({"id": response.id, "endorsements": len(response.endorsements),
                    "endorsed_by": [e.organisation.short_name for e in response.endorsements]})


@operation(bp, "GET", "/consultations/<int:consultation_id>/submission", summary="The "
           "compiled feedback document (editors, after the deadline)",
           operation_id="getSubmission", token="required", query=schemas.SubmissionQuery,
           responses={200: {"description": "The document", "content_types": (
               "application/pdf", "application/vnd.openxmlformats-officedocument."
               "wordprocessingml.document")}},
           errors=(403, 404, 409))
def get_submission(consultation_id: int, args: dict):
    _only_known_parameters(schemas.SubmissionQuery)
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    return send_submission(user, consultation, args["format"], args["lang"])


@operation(bp, "POST", "/consultations/<int:consultation_id>/submission", summary="Store the "
           "compiled document (DOCX and PDF) as a policy_feedback resource linked to the "
           "draft, sent for review (editors)", operation_id="storeSubmission",
           token="required", query=schemas.StoreSubmissionQuery,
           responses={201: {"description": "Stored", "schema": "SubmissionStored"}},
           errors=(403, 404, 409))
def store_submission(consultation_id: int, args: dict):
    _only_known_parameters(schemas.StoreSubmissionQuery)
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    resource = submission_service.store_submission(user, consultation, args["lang"])
    return jsonify({"resource_id": resource.id,
                    "url": url_for("main.resource_detail", resource_id=resource.id,
                                   _external=True)}), 201


@operation(bp, "GET", "/calendar", summary="Meetings, workshops and consultation deadlines "
           "the caller may see (also as iCalendar at /calendar.ics)",
           operation_id="getCalendar", query=schemas.CalendarQuery,
           responses={200: {"description": "The events", "schema": "CalendarEvents"}})
def calendar_events(args: dict):
    _only_known_parameters(schemas.CalendarQuery)
    start = args.get("from_") or clock.local_today()
    days = args["days"]
    try:
        end = start + timedelta(days=days)
    except OverflowError:  # a period running past the year 9999
        end = date.max
    events = calendar_service.events_between(g.api_user, start, end)
    return jsonify({"from": start.isoformat(), "days": days, "events": [{
        "uid": e.uid, "kind": e.kind, "title": e.title, "title_km": e.title_km or None,
        "date": e.day.isoformat(), "start": e.start.strftime("%H:%M") if e.start else None,
        "end": e.end.strftime("%H:%M") if e.end else None, "location": e.location or None,
        "url": url_for(e.endpoint, _external=True, **e.params)} for e in events]})
