"""The compiled submission: after the deadline, one feedback document from all the responses.

The document has a cover note, the questions with their answers, the comments on the draft as a
whole, then section by section the comments and proposed wordings, each with the organisation
that made it and those that endorsed it. Hidden responses are never in it. It is written in
English or Khmer (the labels; what members wrote stays as they wrote it) as DOCX or PDF, and can
be stored as a `policy_feedback` resource linked to the draft, which then goes through review.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kb.extensions import db
from kb.models import Consultation, ConsultationResponse, ConsultationState, Resource, User
from kb.services import access, clock
from kb.services.errors import Conflict, PermissionDenied, ValidationError

FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "pdf": "application/pdf"}
LANGUAGES = ("en", "km")
EXCERPT = 400  # characters of each section's text shown above its comments


@dataclass
class Entry:
    text: str
    proposed_wording: str
    by: str
    personal: bool
    endorsed_by: list[str]
    language: str


@dataclass
class Part:
    heading: str
    excerpt: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Compiled:
    lang: str
    title: str
    draft_title: str
    subtitle: str
    cover_note: str
    organisations: list[str]
    questions: list[Part]
    general: list[Entry]
    sections: list[Part]
    labels: dict[str, str]
    compiled_on: date


def _require(actor: User, consultation: Consultation) -> None:
    if not access.can_manage_consultations(actor):
        raise PermissionDenied(_l("Only editors can compile the submission."))
    if consultation.state_on(clock.local_today()) not in (ConsultationState.CLOSED,
                                                          ConsultationState.SUBMITTED):
        raise Conflict(_l("The submission is compiled after the deadline."), field="state")


def parse_language(value) -> str:
    value = str(value or "en")
    if value not in LANGUAGES:
        raise ValidationError(_l("Languages are en (English) and km (Khmer)."), field="lang")
    return value


def parse_format(value) -> str:
    value = str(value or "")
    if value not in FORMATS:
        raise ValidationError(_l("The format is docx or pdf."), field="format")
    return value


def _entry(response: ConsultationResponse, lang: str) -> Entry:
    by = response.organisation.name(lang) if response.organisation else response.author.name
    return Entry(text=response.text, proposed_wording=response.proposed_wording, by=by,
                 personal=response.organisation is None,
                 endorsed_by=[e.organisation.name(lang) for e in response.endorsements],
                 language=response.language)


def _labels() -> dict[str, str]:
    return {
        "kicker": _("Feedback of the D&D Reform Working Group"),
        "cover_note": _("Cover note"), "questions": _("Questions"),
        "general": _("Comments on the draft as a whole"),
        "sections": _("Comments section by section"),
        "proposed": _("Proposed wording:"), "by": _("From:"), "personal": _("(personally)"),
        "endorsed": _("Supported by:"), "organisations": _("Organisations that took part"),
        "no_answers": _("No answers."), "draft": _("Draft:"),
        "period": _("Consultation period:"), "compiled": _("Compiled on:"),
    }


def compile_submission(actor: User, consultation: Consultation, lang: str = "en") -> Compiled:
    """Everything the document says, in `lang`. Raises PermissionDenied, Conflict (before the
    deadline), ValidationError."""
    _require(actor, consultation)
    lang = parse_language(lang)
    visible = [r for r in consultation.responses if not r.hidden]
    with force_locale(lang):
        labels = _labels()
        title = _("Feedback on: %(title)s", title=consultation.title_in(lang))
        subtitle = f"{format_date(consultation.opens, 'long')} – " \
                   f"{format_date(consultation.closes, 'long')}"
        entries = {r.id: _entry(r, lang) for r in visible}
    organisations = sorted({e.by for e in entries.values() if not e.personal}
                           | {name for e in entries.values() for name in e.endorsed_by})
    questions = [Part(q.text, "", [entries[r.id] for r in visible if r.question_id == q.id])
                 for q in consultation.questions]
    sections = []
    for section in consultation.sections:
        # Answers to a question stay with the question, even when about this section.
        answered = [entries[r.id] for r in visible
                    if r.section_id == section.id and not r.question_id]
        if answered:
            excerpt = section.text if len(section.text) <= EXCERPT else \
                section.text[:EXCERPT].rsplit(" ", 1)[0] + " …"
            sections.append(Part(section.heading or section.anchor, excerpt, answered))
    general = [entries[r.id] for r in visible if not r.section_id and not r.question_id]
    draft = consultation.resource
    return Compiled(lang=lang, title=title, draft_title=draft.title if draft else "",
                    subtitle=subtitle, cover_note=consultation.cover_note,
                    organisations=organisations, questions=questions, general=general,
                    sections=sections, labels=labels, compiled_on=clock.local_today())


def render(compiled: Compiled, fmt: str) -> bytes:
    if fmt == "docx":
        from kb.services.submission_docx import render_docx

        return render_docx(compiled)
    from kb.services.submission_pdf import render_pdf

    return render_pdf(compiled)


def export(actor: User, consultation: Consultation, fmt: str, lang: str) -> tuple[bytes, str, str]:
    """(bytes, file name, content type) of the compiled document."""
    fmt = parse_format(fmt)
    compiled = compile_submission(actor, consultation, lang)
    return render(compiled, fmt), file_name(consultation, compiled.lang, fmt), FORMATS[fmt]


def file_name(consultation: Consultation, lang: str, fmt: str) -> str:
    return f"feedback-consultation-{consultation.id}-{lang}.{fmt}"


def store_submission(actor: User, consultation: Consultation, lang: str) -> Resource:
    """The DOCX and the PDF as a new `policy_feedback` resource linked to the draft and to the
    consultation, sent for review like any other resource. Raises Conflict when the
    consultation already has one (delete it first to store a new one)."""
    from kb.services import audit, ingestion
    from kb.services.ingestion import Upload

    compiled = compile_submission(actor, consultation, lang)
    existing = consultation.feedback_resource
    if existing is not None:
        raise Conflict(_l("The submission is stored already, as resource %(id)d.",
                          id=existing.id), field="resource_id")
    files = [Upload(file_name(consultation, compiled.lang, fmt),
                    io.BytesIO(render(compiled, fmt))) for fmt in FORMATS]
    data = {"title": compiled.title, "kind": "policy_feedback", "objectives": ["2"],
            "language": [compiled.lang], "visibility": consultation.visibility.value,
            "date": compiled.compiled_on.isoformat(), "summary": consultation.cover_note,
            "alt_title": consultation.title_in("km" if compiled.lang == "en" else "en")}
    resource = ingestion.contribute(actor, data, files, submit=True)
    consultation.feedback_resource = resource
    audit.record(actor, "consultation.store_submission", consultation, resource=resource.id)
    db.session.commit()
    return resource
