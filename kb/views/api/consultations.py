"""Consultations, responses and the calendar through the API: the same services as the pages.

Each endpoint reads its JSON body in one small function (`_..._input`) that checks every field's
type and size before the service sees it, so a wrong type is a 400 naming the field, never a 500.
"""
from __future__ import annotations

from datetime import timedelta

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
from kb.views.consultation_submission import send_submission

MAX_ID = 2**31 - 1
MAX_CALENDAR_DAYS = 400


def _object() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise ValidationError(_l("The body must be a JSON object."))
    return body


def _take(body: dict, name: str, kind, required: bool = False, limit: int | None = None,
          nullable: bool = False):
    """body[name] checked: present if required, of the JSON type `kind`, at most `limit`
    characters (or items)."""
    if name not in body or (body[name] is None and nullable):
        if required:
            raise ValidationError(_l("%(name)s is required.", name=name), field=name)
        return None
    value = body[name]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is int and ok and not 1 <= value <= MAX_ID:
        ok = False
    if not ok:
        raise ValidationError(_l("%(name)s has the wrong type or range.", name=name),
                              field=name)
    if limit is not None and len(value) > limit:
        raise ValidationError(_l("%(name)s is too long.", name=name), field=name)
    return value


def _strings(value: list, name: str, limit: int) -> list[str]:
    if any(not isinstance(item, str) or len(item) > limit for item in value):
        raise ValidationError(_l("%(name)s must be a list of texts.", name=name), field=name)
    return value


def _consultation_input(body: dict) -> tuple[int, dict]:
    resource_id = _take(body, "resource_id", int, required=True)
    data = {"title": _take(body, "title", str, required=True, limit=300),
            "opens": _take(body, "opens", str, required=True, limit=10),
            "closes": _take(body, "closes", str, required=True, limit=10)}
    for name, kind, limit in (("title_km", str, 300), ("visibility", str, 20),
                              ("participation", str, 20), ("responses_shared", bool, None)):
        value = _take(body, name, kind, limit=limit)
        if value is not None:
            data[name] = value
    questions = _take(body, "questions", list, limit=consultation_service.MAX_QUESTIONS)
    if questions is not None:
        data["questions"] = _strings(questions, "questions", consultation_service.MAX_QUESTION)
    organisations = _take(body, "organisations", list, limit=50)
    if organisations is not None:
        data["organisations"] = _strings(organisations, "organisations", 60)
    return resource_id, data


def _response_input(body: dict) -> dict:
    data = {"text": _take(body, "text", str, required=True, limit=response_service.MAX_RESPONSE)}
    for name, kind, limit in (("section_id", int, None), ("question_id", int, None),
                              ("proposed_wording", str, response_service.MAX_RESPONSE),
                              ("on_behalf_of_org", bool, None)):
        value = _take(body, name, kind, limit=limit, nullable=True)
        if value is not None:
            data[name] = value
    return data


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


@bp.get("/consultations")
def list_consultations():
    user = g.api_user
    return jsonify({"consultations": [{
        "id": c.id, "title": c.title, "title_km": c.title_km or None,
        "state": consultation_service.state(c).value, "opens": c.opens.isoformat(),
        "closes": c.closes.isoformat(), "visibility": c.visibility.value,
        "url": url_for("consultations.detail", consultation_id=c.id, _external=True),
    } for c in consultation_service.list_consultations(user)]})


@bp.post("/consultations")
def create_consultation():
    user = require_caller()
    resource_id, data = _consultation_input(_object())
    consultation = consultation_service.create_consultation(user, resource_id, data)
    return jsonify({"id": consultation.id,
                    "url": url_for("consultations.detail", consultation_id=consultation.id,
                                   _external=True)}), 201


@bp.get("/consultations/<int:consultation_id>")
def get_consultation(consultation_id: int):
    return jsonify(consultation_json(g.api_user, _consultation(g.api_user, consultation_id)))


@bp.post("/consultations/<int:consultation_id>/responses")
def create_response(consultation_id: int):
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    response = response_service.respond(user, consultation, _response_input(_object()))
    return jsonify({"id": response.id}), 201


@bp.post("/consultations/<int:consultation_id>/responses/<int:response_id>/endorse")
def endorse_response(consultation_id: int, response_id: int):
    user = require_caller()
    response = response_service.get_response(user, _consultation(user, consultation_id),
                                             response_id)
    response_service.endorse(user, response)
    return jsonify({"id": response.id, "endorsements": len(response.endorsements),
                    "endorsed_by": [e.organisation.short_name for e in response.endorsements]})


@bp.get("/consultations/<int:consultation_id>/submission")
def get_submission(consultation_id: int):
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    fmt = request.args.get("format") or "pdf"
    return send_submission(user, consultation, fmt, request.args.get("lang") or "en")


@bp.post("/consultations/<int:consultation_id>/submission")
def store_submission(consultation_id: int):
    user = require_caller()
    consultation = _consultation(user, consultation_id)
    body = request.get_json(silent=True) if request.is_json and request.data else {}
    if not isinstance(body, dict):
        raise ValidationError(_l("The body must be a JSON object."))
    lang = _take(body, "lang", str, limit=2) or "en"
    resource = submission_service.store_submission(user, consultation, lang)
    return jsonify({"resource_id": resource.id,
                    "url": url_for("main.resource_detail", resource_id=resource.id,
                                   _external=True)}), 201


@bp.get("/calendar")
def calendar_events():
    """Events from `from` (default: today) for `days` days (default 31, at most 400)."""
    start = consultation_service.parse_day(request.args.get("from") or
                                           clock.local_today().isoformat(), "from")
    try:
        days = int(request.args.get("days") or 31)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_CALENDAR_DAYS:
        raise ValidationError(_l("days must be between %(low)d and %(high)d.", low=1,
                                 high=MAX_CALENDAR_DAYS), field="days")
    events = calendar_service.events_between(g.api_user, start, start + timedelta(days=days))
    return jsonify({"from": start.isoformat(), "days": days, "events": [{
        "uid": e.uid, "kind": e.kind, "title": e.title, "title_km": e.title_km or None,
        "date": e.day.isoformat(), "start": e.start.strftime("%H:%M") if e.start else None,
        "end": e.end.strftime("%H:%M") if e.end else None, "location": e.location or None,
        "url": url_for(e.endpoint, _external=True, **e.params)} for e in events]})
