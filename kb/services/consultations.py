"""Consultations on draft policies: opening one on a draft, its questions, the draft divided
into sections, and the record of what happened after the submission.

A consultation's state follows from its dates (upcoming before `opens`, open until the end of
`closes`, in Cambodia's time, then closed) until an editor records that the feedback was sent
(submitted). Editors change the dates to open or close early.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.ingest import sections as sectioning
from kb.ingest.khmer import khmer_ratio
from kb.models import (Consultation, ConsultationQuestion, ConsultationResponse,
                       ConsultationSection, ConsultationState, Organisation, Participation,
                       Resource, Status, User, Visibility)
from kb.services import access, audit, clock, indexing
from kb.services.accounts import find_organisation
from kb.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

FIELDS = ("title", "title_km", "opens", "closes", "visibility", "participation",
          "organisations", "responses_shared")
MAX_QUESTIONS = 50
MAX_QUESTION = 2000
MAX_TEXT = 20_000
MAX_DB_INT = 2**31 - 1


# --- reading input ------------------------------------------------------------------------------

def clean_text(value, limit: int = MAX_TEXT) -> str:
    """Text as a person typed it (Khmer too: search normalises its own copy), without NUL bytes
    and lone surrogates, which no database or document format can hold."""
    text = "" if value is None else str(value)
    text = text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    return text.replace("\r\n", "\n").strip()[:limit]


def one_line(value, limit: int) -> str:
    return " ".join(clean_text(value, limit * 2).split())[:limit]


def language_of(text: str) -> str:
    """km when most letters are Khmer, else en (the two languages of the group)."""
    return "km" if khmer_ratio(text) >= 0.5 else "en"


def parse_day(value, field: str) -> date:
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value or "").strip())
        except ValueError:
            raise ValidationError(_l("Dates are written YYYY-MM-DD."), field=field) from None
    return day


def parse_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def parse_id(value, field: str) -> int | None:
    """An id from a form or JSON body; None when empty. ValidationError for anything else."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationError(_l("Not a valid id."), field=field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(_l("Not a valid id."), field=field) from None
    if not 1 <= number <= MAX_DB_INT:
        raise ValidationError(_l("Not a valid id."), field=field)
    return number


def parse_visibility(value) -> Visibility:
    """"public" or "members" (the default when left empty). Raises ValidationError."""
    try:
        return Visibility(str(value or "members"))
    except ValueError:
        raise ValidationError(_l("Visibility is public or members."),
                              field="visibility") from None


def parse_organisations(names) -> list[Organisation]:
    if isinstance(names, str):
        names = names.split(",")
    found = []
    for name in names or []:
        org = find_organisation(str(name).strip()) if str(name).strip() else None
        if org is not None and org not in found:
            found.append(org)
    return found


def describe(consultation: Consultation, data: dict) -> None:
    """Apply validated details (only the keys present). Raises ValidationError."""
    if "title" in data:
        title = one_line(data["title"], 300)
        if not title:
            raise ValidationError(_l("Enter a title."), field="title")
        consultation.title = title
    if "title_km" in data:
        consultation.title_km = one_line(data["title_km"], 300)
    if "opens" in data:
        consultation.opens = parse_day(data["opens"], "opens")
    if "closes" in data:
        consultation.closes = parse_day(data["closes"], "closes")
    if consultation.opens and consultation.closes and consultation.closes < consultation.opens:
        raise ValidationError(_l("The deadline cannot come before the opening date."),
                              field="closes")
    if "visibility" in data:
        consultation.visibility = parse_visibility(data["visibility"])
    if "participation" in data:
        try:
            consultation.participation = Participation(str(data["participation"] or "members"))
        except ValueError:
            raise ValidationError(_l("Who may take part: members or organisations."),
                                  field="participation") from None
    if "organisations" in data:
        consultation.organisations = parse_organisations(data["organisations"])
    if consultation.participation == Participation.ORGANISATIONS \
            and not consultation.organisations:
        raise ValidationError(_l("Name the organisations that may take part."),
                              field="organisations")
    if "responses_shared" in data:
        consultation.responses_shared = parse_flag(data["responses_shared"])
    draft = consultation.resource
    if draft is not None and draft.visibility == Visibility.MEMBERS \
            and consultation.visibility == Visibility.PUBLIC:
        raise Conflict(_l("The draft is for members only, so its consultation must be too."),
                       field="visibility")


def parse_questions(value) -> list[str]:
    """Questions from a list, or from text with one question per line."""
    if isinstance(value, str):
        value = value.split("\n")
    if not isinstance(value, (list, tuple)):
        raise ValidationError(_l("The questions are a list of texts."), field="questions")
    questions = [one_line(q, MAX_QUESTION) for q in value if q is not None]
    questions = [q for q in questions if q]
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError(_l("At most %(n)d questions.", n=MAX_QUESTIONS), field="questions")
    return questions


# --- finding consultations ----------------------------------------------------------------------

def state(consultation: Consultation) -> ConsultationState:
    return consultation.state_on(clock.local_today())


def get_consultation(user: User | None, consultation_id) -> Consultation:
    """The consultation if `user` may see it; NotFound otherwise, as if it did not exist."""
    number = None
    if isinstance(consultation_id, int) and 1 <= consultation_id <= MAX_DB_INT:
        number = consultation_id
    consultation = db.session.get(Consultation, number) if number else None
    if consultation is None or not access.can_view_consultation(user, consultation):
        raise NotFound(_l("No such consultation."))
    return consultation


def get_managed_consultation(user: User | None, consultation_id) -> Consultation:
    consultation = get_consultation(user, consultation_id)
    _require_manager(user)
    return consultation


def list_consultations(user: User | None) -> list[Consultation]:
    """The consultations `user` may see, the latest deadline first."""
    query = (select(Consultation).where(access.visible_consultations_clause(user))
             .order_by(Consultation.closes.desc(), Consultation.id.desc()))
    return list(db.session.scalars(query))


def consultations_about(user: User | None, resource: Resource) -> list[Consultation]:
    """Consultations whose draft, compiled feedback or government response `resource` is."""
    query = (select(Consultation)
             .where(or_(Consultation.resource_id == resource.id,
                        Consultation.feedback_resource_id == resource.id,
                        Consultation.government_response_id == resource.id),
                    access.visible_consultations_clause(user))
             .order_by(Consultation.closes.desc()))
    return list(db.session.scalars(query))


def draft_text(resource: Resource | None) -> str:
    if resource is None:
        return ""
    return "\n\n".join(f.text for f in resource.current_files if f.text)


def visible_sections(user: User | None, consultation: Consultation) -> list[ConsultationSection]:
    """The draft's sections, for those who may read the draft."""
    return list(consultation.sections) if access.can_read_draft(user, consultation) else []


# --- changing consultations ---------------------------------------------------------------------

def _require_manager(user: User | None) -> None:
    if not access.can_manage_consultations(user):
        raise PermissionDenied(_l("Only editors can manage consultations."))


def _draft(actor: User, resource_id) -> Resource:
    number = parse_id(resource_id, "resource_id")
    resource = db.session.get(Resource, number) if number else None
    if resource is None or not access.can_view_resource(actor, resource):
        raise NotFound(_l("No such resource."), field="resource_id")
    if resource.status != Status.PUBLISHED:  # the draft's state forbids it: 409
        raise Conflict(_l("Publish the draft before opening a consultation on it."),
                       field="resource_id")
    return resource


def create_consultation(actor: User, resource_id, data: dict) -> Consultation:
    """Open a consultation on a published draft. Raises PermissionDenied, ValidationError."""
    from kb.services import reminders

    _require_manager(actor)
    draft = _draft(actor, resource_id)
    consultation = Consultation(resource=draft, created_by=actor,
                                visibility=Visibility.MEMBERS,
                                participation=Participation.MEMBERS, responses_shared=True)
    describe(consultation, {"title": None, "opens": None, "closes": None,
                            **{k: v for k, v in data.items() if k in FIELDS}})
    text = draft_text(draft)
    languages = draft.languages
    consultation.language = languages[0] if len(languages) == 1 else language_of(text)
    consultation.questions = [ConsultationQuestion(position=n, text=q) for n, q in
                              enumerate(parse_questions(data.get("questions") or []), start=1)]
    consultation.sections = _rows(sectioning.divide(text))
    db.session.add(consultation)
    audit.record(actor, "consultation.create", consultation, resource=draft.id)
    reminders.announce_if_open(consultation)
    db.session.commit()
    return consultation


def update_consultation(actor: User, consultation: Consultation, data: dict) -> Consultation:
    """Change the details and the questions. Raises PermissionDenied, ValidationError,
    Conflict (a question that has answers cannot be removed)."""
    from kb.services import reminders

    _require_manager(actor)
    changed = sorted(k for k in data if k in FIELDS)
    describe(consultation, {k: data[k] for k in changed})
    if "questions" in data:
        set_questions(consultation, parse_questions(data["questions"]))
        changed.append("questions")
    _mark_responses(consultation)
    audit.record(actor, "consultation.update", consultation, fields=changed)
    reminders.announce_if_open(consultation)
    db.session.commit()
    return consultation


def _answered(consultation: Consultation, column) -> set[int]:
    return set(db.session.scalars(select(column).where(
        ConsultationResponse.consultation_id == consultation.id, column.is_not(None))))


def set_questions(consultation: Consultation, texts: list[str]) -> None:
    """The questions in order; the n-th keeps its id (and answers), so rewording a question
    keeps its answers. A question with answers cannot be dropped."""
    answered = _answered(consultation, ConsultationResponse.question_id)
    existing = list(consultation.questions)
    for dropped in existing[len(texts):]:
        if dropped.id in answered:
            raise Conflict(_l("Question %(n)d has answers, so it cannot be removed; reword it "
                              "instead.", n=dropped.position), field="questions")
    for number, text in enumerate(texts, start=1):
        if number <= len(existing):
            existing[number - 1].text = text
            existing[number - 1].position = number
        else:
            consultation.questions.append(ConsultationQuestion(position=number, text=text))
    for dropped in existing[len(texts):]:
        consultation.questions.remove(dropped)


def _rows(found: list[sectioning.Section]) -> list[ConsultationSection]:
    return [ConsultationSection(position=n, anchor=s.anchor, heading=s.heading, text=s.text)
            for n, s in enumerate(found, start=1)]


def division_of(consultation: Consultation) -> str:
    """The current division as the editor corrects it."""
    return sectioning.division_text([sectioning.Section(s.heading, s.text, s.anchor)
                                     for s in consultation.sections])


def redivide(actor: User, consultation: Consultation, division: str | None = None) -> None:
    """Replace the sections: with the editor's corrected division, or (None) with a fresh
    division of the draft's current text.

    A section keeps its id, and so its responses, when a new section has the same heading (or,
    failing that, the same place); a section with responses that would disappear is refused
    with Conflict."""
    _require_manager(actor)
    found = (sectioning.divide(draft_text(consultation.resource)) if division is None
             else sectioning.parse_division(clean_text(division, 2_000_000)))
    old = list(consultation.sections)
    answered = _answered(consultation, ConsultationResponse.section_id)
    by_heading: dict[str, ConsultationSection] = {}
    for section in old:
        if section.heading:
            by_heading.setdefault(section.heading, section)
    kept: list[ConsultationSection | None] = []
    used: set[int] = set()
    for item in found:
        match = by_heading.get(item.heading) if item.heading else None
        kept.append(match if match is not None and match.id not in used else None)
        if kept[-1] is not None:
            used.add(kept[-1].id)
    for index, item in enumerate(found):  # then by place, for what the headings did not match
        if kept[index] is None and index < len(old) and old[index].id not in used:
            kept[index] = old[index]
            used.add(old[index].id)
    lost = [s for s in old if s.id not in used and s.id in answered]
    if lost:
        raise Conflict(_l("“%(heading)s” has responses, so it must stay a section.",
                          heading=lost[0].heading or lost[0].anchor), field="division")
    for section in old:
        if section.id not in used:
            consultation.sections.remove(section)
    # Anchors are unique per consultation: park the kept rows on temporary ones first.
    db.session.flush()
    for section in consultation.sections:
        section.anchor = f"tmp-{section.id}"
    db.session.flush()
    rows = []
    for number, (item, row) in enumerate(zip(found, kept), start=1):
        row = row or ConsultationSection()
        row.position, row.anchor, row.heading, row.text = number, item.anchor, item.heading, \
            item.text
        rows.append(row)
    consultation.sections = rows
    _mark_responses(consultation)
    audit.record(actor, "consultation.divide", consultation, sections=len(rows))
    try:
        db.session.commit()
    except IntegrityError:  # a response arrived on a removed section meanwhile
        db.session.rollback()
        raise Conflict(_l("Someone responded meanwhile. Reload the page and try again."),
                       field="division") from None


def _mark_responses(consultation: Consultation) -> None:
    """What the response index holds of each response (title, section) may have changed."""
    for response in consultation.responses:
        indexing.mark(response)


def record_follow_up(actor: User, consultation: Consultation, data: dict) -> Consultation:
    """What happened after the submission: sent to whom, on which date, and the government's
    response as another resource. Recording the date makes the consultation submitted."""
    _require_manager(actor)
    if "sent_to" in data:
        consultation.sent_to = one_line(data["sent_to"], 500)
    if "sent_on" in data:
        consultation.sent_on = parse_day(data["sent_on"], "sent_on") if data["sent_on"] else None
    if consultation.sent_on is not None and clock.local_today() <= consultation.closes:
        raise ValidationError(_l("The feedback can only be sent after the deadline."),
                              field="sent_on")
    if "follow_up" in data:
        consultation.follow_up = clean_text(data["follow_up"])
    if "government_response_id" in data:
        number = parse_id(data["government_response_id"], "government_response_id")
        response = db.session.get(Resource, number) if number else None
        if number and (response is None or not access.can_view_resource(actor, response)):
            raise ValidationError(_l("No such resource."), field="government_response_id")
        consultation.government_response = response
    audit.record(actor, "consultation.follow_up", consultation)
    db.session.commit()
    return consultation


def set_cover_note(actor: User, consultation: Consultation, text) -> None:
    _require_manager(actor)
    consultation.cover_note = clean_text(text)
    audit.record(actor, "consultation.cover_note", consultation)
    db.session.commit()


def organisations_taking_part(consultation: Consultation) -> int:
    """How many organisations responded (for themselves) or endorsed a visible response."""
    from kb.models import ResponseEndorsement

    responded = select(ConsultationResponse.organisation_id).where(
        ConsultationResponse.consultation_id == consultation.id,
        ConsultationResponse.hidden_at.is_(None),
        ConsultationResponse.organisation_id.is_not(None))
    endorsed = (select(ResponseEndorsement.organisation_id)
                .join(ConsultationResponse,
                      ConsultationResponse.id == ResponseEndorsement.response_id)
                .where(ConsultationResponse.consultation_id == consultation.id,
                       ConsultationResponse.hidden_at.is_(None)))
    union = responded.union(endorsed).subquery()
    return db.session.scalar(select(func.count()).select_from(union)) or 0
