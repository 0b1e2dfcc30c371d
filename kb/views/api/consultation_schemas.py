"""The schemas of the consultation and calendar endpoints (see schemas.py for the pattern):
each request schema validates one endpoint's input and documents it; the response schemas
document what comes back. Limits are the services' and the columns'."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kb.views.api.fields import Id, StrictBoolean, Text, VocabularyCode
from kb.views.api.schemas import Strict, _one_of, body_schema, component

STATES = ("upcoming", "open", "closed", "submitted")
VISIBILITIES = ("members", "public")
PARTICIPATION = ("members", "organisations")
LANGUAGES = ("en", "km")
EVENT_KINDS = ("meeting", "presentation", "workshop", "deadline")

# --- requests ------------------------------------------------------------------------------------

NewConsultation = body_schema(Strict, "NewConsultation", {
    "resource_id": Id(required=True, metadata={"description": "the draft, a published resource"}),
    "title": Text(300, required=True, not_blank=True),
    "title_km": Text(300),
    "questions": fields.List(Text(2000), validate=validate.Length(max=50)),
    "opens": fields.Date(required=True),
    "closes": fields.Date(required=True, metadata={
        "description": "the deadline: responses until the end of this day (Cambodia)"}),
    "visibility": fields.String(validate=_one_of(VISIBILITIES)),
    "participation": fields.String(validate=_one_of(PARTICIPATION), metadata={
        "description": "every member, or the members of `organisations`"}),
    "organisations": fields.List(VocabularyCode("organisation"),
                                 validate=validate.Length(max=50)),
    "responses_shared": StrictBoolean(metadata={
        "description": "members see each other's responses before the deadline"}),
}, document_rules={
    # Taking part by organisation needs the organisations named (the service's rule).
    "anyOf": [{"properties": {"participation": {"enum": ["members"]}}},
              {"required": ["organisations"],
               "properties": {"organisations": {"minItems": 1}}}],
    "description": "`closes` is on or after `opens`.",
})

NewResponse = body_schema(Strict, "NewResponse", {
    "text": Text(20_000, required=True, not_blank=True),
    "section_id": Id(allow_none=True, metadata={"description": "a section of this draft"}),
    "question_id": Id(allow_none=True, metadata={"description": "a question of this "
                                                                "consultation"}),
    "proposed_wording": Text(20_000, allow_none=True),
    "on_behalf_of_org": StrictBoolean(allow_none=True, metadata={
        "description": "for the caller's organisation (else personally)"}),
})


class SubmissionQuery(Schema):
    format = fields.String(load_default="pdf", validate=_one_of(("docx", "pdf")))
    lang = fields.String(load_default="en", validate=_one_of(LANGUAGES))


class StoreSubmissionQuery(Schema):
    lang = fields.String(load_default="en", validate=_one_of(LANGUAGES),
                         metadata={"description": "the language of the stored document"})


class CalendarQuery(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "the first day (today when "
                                                                  "left out)"})
    days = fields.Integer(load_default=31, validate=validate.Range(1, 400))


# --- responses -----------------------------------------------------------------------------------

ConsultationCreated = component("ConsultationCreated", id=fields.Integer(), url=fields.String())
ConsultationSummary = component(
    "ConsultationSummary", id=fields.Integer(), title=fields.String(),
    title_km=fields.String(allow_none=True), state=fields.String(validate=_one_of(STATES)),
    opens=fields.Date(), closes=fields.Date(),
    visibility=fields.String(validate=_one_of(VISIBILITIES)), url=fields.String())
ConsultationList = component("ConsultationList",
                             consultations=fields.List(fields.Nested(ConsultationSummary)))
Question = component("Question", id=fields.Integer(), text=fields.String())
Section = component("Section", id=fields.Integer(), anchor=fields.String(),
                    heading=fields.String(), text=fields.String())
ConsultationResponse = component(
    "ConsultationResponse", id=fields.Integer(), section_id=fields.Integer(allow_none=True),
    question_id=fields.Integer(allow_none=True), text=fields.String(),
    proposed_wording=fields.String(),
    org=fields.String(allow_none=True, metadata={"description": "null: made personally"}),
    endorsements=fields.Integer(), endorsed_by=fields.List(fields.String()),
    language=fields.String(validate=_one_of(LANGUAGES)),
    hidden=fields.Boolean(metadata={"description": "seen by editors and the author only"}),
    hidden_reason=fields.String(allow_none=True), created_at=fields.DateTime(),
    updated_at=fields.DateTime())
Consultation = component(
    "Consultation", id=fields.Integer(), title=fields.String(),
    title_km=fields.String(allow_none=True), state=fields.String(validate=_one_of(STATES)),
    resource_id=fields.Integer(allow_none=True, metadata={
        "description": "the draft; null for those who may not read it"}),
    opens=fields.Date(), closes=fields.Date(),
    visibility=fields.String(validate=_one_of(VISIBILITIES)),
    participation=fields.String(validate=_one_of(PARTICIPATION)),
    organisations=fields.List(fields.String()), responses_shared=fields.Boolean(),
    organisations_taking_part=fields.Integer(), can_respond=fields.Boolean(),
    questions=fields.List(fields.Nested(Question)),
    sections=fields.List(fields.Nested(Section)),
    responses=fields.List(fields.Nested(ConsultationResponse)), url=fields.String())
ResponseCreated = component("ResponseCreated", id=fields.Integer())
Endorsed = component("Endorsed", id=fields.Integer(), endorsements=fields.Integer(),
                     endorsed_by=fields.List(fields.String()))
SubmissionStored = component("SubmissionStored", resource_id=fields.Integer(),
                             url=fields.String())
CalendarEvent = component(
    "CalendarEvent", uid=fields.String(), kind=fields.String(validate=_one_of(EVENT_KINDS)),
    title=fields.String(), title_km=fields.String(allow_none=True), date=fields.Date(),
    start=fields.String(allow_none=True), end=fields.String(allow_none=True),
    location=fields.String(allow_none=True), url=fields.String())
CalendarEvents = component("CalendarEvents", days=fields.Integer(),
                           events=fields.List(fields.Nested(CalendarEvent)),
                           optional={"from": fields.Date()})

COMPONENTS = {schema.Meta.component: schema for schema in (
    ConsultationCreated, ConsultationSummary, ConsultationList, Question, Section,
    ConsultationResponse, Consultation, ResponseCreated, Endorsed, SubmissionStored,
    CalendarEvent, CalendarEvents)}
