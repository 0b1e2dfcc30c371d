"""Members' responses to a consultation, their endorsements, and moderation.

A response answers the whole draft, one question or one section. Its author may change it
until the deadline; editors may hide it with a reason (and show it again), never delete it, so
the record of what members said stays complete. Every listing goes through `visible_responses`
(the access rules), so a hidden response or an unshared one never reaches another reader.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import (Consultation, ConsultationResponse, ConsultationState,
                       ResponseEndorsement, User, utcnow)
from kb.services import access, audit, clock
from kb.services.consultations import (MAX_DB_INT, clean_text, language_of, parse_flag,
                                       parse_id)
from kb.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

MAX_RESPONSE = 20_000
MAX_REASON = 2_000


def _today():
    return clock.local_today()


def visible_responses(user: User | None, consultation: Consultation) -> list[ConsultationResponse]:
    today = _today()
    return [r for r in consultation.responses if access.can_see_response(user, r, today)]


def get_response(user: User | None, consultation: Consultation, response_id) -> ConsultationResponse:
    """A response of this consultation that `user` may see; NotFound otherwise."""
    valid = isinstance(response_id, int) and 1 <= response_id <= MAX_DB_INT
    response = db.session.get(ConsultationResponse, response_id) if valid else None
    if response is None or response.consultation_id != consultation.id \
            or not access.can_see_response(user, response, _today()):
        raise NotFound(_l("No such response."))
    return response


def _require_open(user: User, consultation: Consultation) -> None:
    if not access.may_take_part(user, consultation):
        raise PermissionDenied(_l("This consultation is open to the organisations invited "
                                  "only."))
    if consultation.state_on(_today()) != ConsultationState.OPEN:
        raise Conflict(_l("This consultation is not open for responses."), field="state")


def _content(response: ConsultationResponse, author: User, data: dict) -> None:
    if "text" in data:
        text = clean_text(data["text"], MAX_RESPONSE)
        if not text:
            raise ValidationError(_l("Write your comment."), field="text")
        response.text = text
    if "proposed_wording" in data:
        response.proposed_wording = clean_text(data["proposed_wording"], MAX_RESPONSE)
    if "on_behalf_of_org" in data:
        for_org = parse_flag(data["on_behalf_of_org"])
        if for_org and author.organisation_id is None:
            raise ValidationError(_l("Your account belongs to no organisation, so you can "
                                     "respond personally only."), field="on_behalf_of_org")
        response.organisation_id = author.organisation_id if for_org else None
    response.language = language_of(response.text + "\n" + response.proposed_wording)
    response.needs_indexing = True


def respond(actor: User, consultation: Consultation, data: dict) -> ConsultationResponse:
    """A new response while the consultation is open, to the whole draft, a question, a section,
    or a question about one section. Raises PermissionDenied, Conflict (not open), NotFound (no
    such section or question), ValidationError."""
    _require_open(actor, consultation)
    section_id = parse_id(data.get("section_id"), "section_id")
    question_id = parse_id(data.get("question_id"), "question_id")
    response = ConsultationResponse(author=actor)  # joined to the consultation once valid
    if section_id:
        sections = {s.id: s for s in consultation.sections}
        if section_id not in sections or not access.can_read_draft(actor, consultation):
            raise NotFound(_l("No such section in this draft."), field="section_id")
        response.section = sections[section_id]
    if question_id:
        questions = {q.id: q for q in consultation.questions}
        if question_id not in questions:
            raise NotFound(_l("No such question in this consultation."), field="question_id")
        response.question = questions[question_id]
    _content(response, actor, {"text": None, "proposed_wording": "", "on_behalf_of_org": False,
                               **{k: v for k, v in data.items()
                                  if k in ("text", "proposed_wording", "on_behalf_of_org")}})
    response.consultation = consultation
    db.session.add(response)
    audit.record(actor, "response.create", response, consultation=consultation.id)
    db.session.commit()
    return response


def update_response(actor: User, response: ConsultationResponse, data: dict) -> ConsultationResponse:
    """The author changes the text, the proposed wording or on whose behalf, until the deadline."""
    if not access.is_response_author(actor, response):
        raise PermissionDenied(_l("Only the author can change a response."))
    if response.hidden:
        raise Conflict(_l("An editor hid this response; it cannot be changed."), field="state")
    _require_open(actor, response.consultation)
    _content(response, actor, {k: v for k, v in data.items()
                               if k in ("text", "proposed_wording", "on_behalf_of_org")})
    response.updated_at = utcnow()
    audit.record(actor, "response.update", response)
    db.session.commit()
    return response


def hide_response(actor: User, response: ConsultationResponse, reason) -> ConsultationResponse:
    """Editors hide a response, saying why; the author still sees it, with the reason."""
    if not access.can_manage_consultations(actor):
        raise PermissionDenied(_l("Only editors can moderate responses."))
    reason = clean_text(reason, MAX_REASON)
    if not reason:
        raise ValidationError(_l("Say why the response is hidden."), field="reason")
    response.hidden_at, response.hidden_by, response.hidden_reason = utcnow(), actor, reason
    response.needs_indexing = True
    audit.record(actor, "response.hide", response, reason=reason)
    db.session.commit()
    return response


def unhide_response(actor: User, response: ConsultationResponse) -> ConsultationResponse:
    if not access.can_manage_consultations(actor):
        raise PermissionDenied(_l("Only editors can moderate responses."))
    response.hidden_at, response.hidden_by_id = None, None
    response.needs_indexing = True
    audit.record(actor, "response.show", response, reason=response.hidden_reason)
    db.session.commit()
    return response


def endorse(actor: User, response: ConsultationResponse) -> ResponseEndorsement:
    """"My organisation supports this". Endorsing twice (by two members of one organisation, or
    at the same moment) is one endorsement: the database's unique constraint decides."""
    if not access.can_endorse(actor, response, _today()):
        _require_open(actor, response.consultation)
        if actor.organisation_id is None:
            raise PermissionDenied(_l("Endorsements are made for an organisation, and your "
                                      "account belongs to none."), field="organisation")
        if response.hidden:
            raise Conflict(_l("This response is hidden."), field="state")
        raise Conflict(_l("Your organisation made this response."), field="response_id")
    existing = _endorsement(response, actor.organisation_id)
    if existing is not None:
        return existing
    row = ResponseEndorsement(response=response, organisation_id=actor.organisation_id,
                              user=actor)
    try:
        db.session.add(row)
        audit.record(actor, "response.endorse", response)  # flushes: the insert happens here
        db.session.commit()
    except IntegrityError:  # another member of the organisation endorsed it just now
        db.session.rollback()
        existing = _endorsement(response, actor.organisation_id)
        if existing is None:
            raise
        return existing
    return row


def withdraw_endorsement(actor: User, response: ConsultationResponse) -> None:
    """A member withdraws their organisation's endorsement while the consultation is open."""
    _require_open(actor, response.consultation)
    existing = _endorsement(response, actor.organisation_id) if actor.organisation_id else None
    if existing is not None:
        db.session.delete(existing)
        audit.record(actor, "response.withdraw_endorsement", response)
        db.session.commit()


def _endorsement(response: ConsultationResponse, organisation_id) -> ResponseEndorsement | None:
    return db.session.scalar(select(ResponseEndorsement).where(
        ResponseEndorsement.response_id == response.id,
        ResponseEndorsement.organisation_id == organisation_id))


def endorsed_by_me(user: User | None, response: ConsultationResponse) -> bool:
    if not access.is_signed_in(user) or user.organisation_id is None:
        return False
    return any(e.organisation_id == user.organisation_id for e in response.endorsements)


def by_line(response: ConsultationResponse, locale: str | None = None,
            reader: User | None = None) -> str:
    """Who made a response: the organisation, or the person when personal — named to members
    only: a public consultation shows visitors an organisation's name, never a person's."""
    if response.organisation is not None:
        return response.organisation.name(locale)
    if not access.is_signed_in(reader):
        return str(_l("A member of the group"))
    return response.author.name


@dataclass
class Threads:
    """The responses a reader may see, by what they answer."""

    general: list[ConsultationResponse] = field(default_factory=list)
    by_question: dict[int, list[ConsultationResponse]] = field(default_factory=dict)
    by_section: dict[int, list[ConsultationResponse]] = field(default_factory=dict)
    total: int = 0


def threads(user: User | None, consultation: Consultation) -> Threads:
    found = Threads()
    for response in visible_responses(user, consultation):
        found.total += 1
        if response.question_id:  # an answer, even when it is about one section
            found.by_question.setdefault(response.question_id, []).append(response)
        elif response.section_id:
            found.by_section.setdefault(response.section_id, []).append(response)
        else:
            found.general.append(response)
    return found
