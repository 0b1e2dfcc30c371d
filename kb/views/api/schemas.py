"""The API's schemas: each request schema validates one endpoint's input and documents it; the
response schemas document what comes back (schemathesis checks every response against them).

Limits are those of the database columns and of the services (a longer value is refused here
rather than cut there), so that what the document promises is exactly what is accepted.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from kb.services import search as search_service
from kb.models import MAX_ID
from kb.views.api.fields import SPACE, FormBoolean, Id, Text, Upload, VocabularyCode

OBJECTIVES = ("1", "2", "3")
LANGUAGES = ("en", "km")
ROLES = ("member", "contributor", "editor", "admin")
ACCOUNT_STATES = ("pending", "active", "deactivated", "declined")
STATUSES = ("draft", "submitted", "published", "rejected", "archived")
WORKSHOP_VISIBILITIES = ("private", "members", "public")
# Patterns mean the same to the server (Python) and in the document (JSON Schema, ECMA-262):
# `$(?!\n)` is the very end (Python's `$` also matches before a final newline), and spaces are
# the ones the services strip (Python's `\s` knows more than ECMA's).
START_TIME = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$(?!\n)"
URL = rf"^[{SPACE}]*https?://"
MAX_TAGS_TEXT = 3100  # 30 tags of 100 characters, with their commas


def _one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices))


class Strict(Schema):
    """A body whose every property is known: an unknown one is refused (a typo never passes
    silently)."""

    class Meta:
        unknown = RAISE


def body_schema(base: type[Schema], name: str, declared: dict,
                document_rules: dict | None = None) -> type[Schema]:
    """A request body schema, named in the document's components. `document_rules` are JSON
    Schema keywords for rules across fields (apispec documents fields one by one), merged into
    the component as written; the service enforces the same rule."""
    meta = type("Meta", (base.Meta,), {"component": name})
    return type(name, (base,), {**declared, "Meta": meta,
                                "document_rules": dict(document_rules or {})})


class NotEmpty(Strict):
    """A body that changes something: at least one property."""

    min_properties = 1

    @validates_schema(pass_original=True)
    def _something(self, data, original, **kwargs):
        if isinstance(original, dict) and not original:
            raise ValidationError("Nothing to change: send at least one field.")


# --- requests ------------------------------------------------------------------------------------

class UsersQuery(Schema):
    role = fields.String(validate=_one_of(ROLES))
    status = fields.String(validate=_one_of(ACCOUNT_STATES))


def _metadata_fields(json: bool) -> dict:
    """The fields that describe a resource, as JSON (PATCH) or as multipart text (POST)."""
    nullable = {"allow_none": True} if json else {}
    return {
        "title": Text(500, not_blank=True),
        "alt_title": Text(500, metadata={"description": "the title in the other language"}),
        "kind": VocabularyCode("kind"),
        "objectives": fields.List(fields.String(validate=_one_of(OBJECTIVES)), validate=
                                  validate.Length(max=3)),
        "language": fields.List(fields.String(validate=_one_of(LANGUAGES)),
                                validate=validate.Length(max=2)),
        "summary": Text(100_000, metadata={"description": "HTML or Markdown; sanitised"}),
        "tags": Text(MAX_TAGS_TEXT, metadata={"description": "comma-separated, at most 30"}),
        "org": VocabularyCode("organisation", allow_blank=True, **nullable,
                              metadata={"description": "an organisation's short name"}),
        "date": fields.Date(**nullable),
        "visibility": fields.String(validate=_one_of(("public", "members"))),
        "commune_code": VocabularyCode("commune", allow_blank=True, **nullable),
        "event": Text(300, metadata={"description": "where it was presented"}),
        "source_url": fields.String(validate=[validate.Length(max=1000), validate.Regexp(URL)]),
        "authors": Text(5000, metadata={"description": "names separated by ;"}),
    }


ResourceChanges = body_schema(NotEmpty, "ResourceChanges", _metadata_fields(json=True))

ResourceUpload = body_schema(Strict, "ResourceUpload", {
    **_metadata_fields(json=False),
    "kind": VocabularyCode("kind", required=True),
    "file": fields.List(Upload(), required=True, validate=validate.Length(1, 20),
                        metadata={"description": "one or more files (at most 20)"}),
    "submit": FormBoolean(metadata={"description": "send for review at once"}),
    "publish": FormBoolean(metadata={"description": "editors and admins: publish at once"}),
})

ReviewDecision = body_schema(Strict, "ReviewDecision", {
    "decision": fields.String(required=True, validate=_one_of(("approve", "reject"))),
    "comment": Text(5000, allow_none=True, metadata={"description": "shown to the owner"}),
})


def _filter_list(item: fields.Field) -> fields.List:
    return fields.List(item, validate=validate.Length(max=search_service.MAX_FILTER_VALUES))


class SearchQuery(Schema):
    q = Text(search_service.MAX_QUERY_CHARS,
             metadata={"description": 'words, "phrases", -exclusions, OR, title:, tag:, org:'})
    kind = _filter_list(fields.String(validate=validate.Length(max=40)))
    objective = _filter_list(fields.String(validate=_one_of(OBJECTIVES)))
    tag = _filter_list(fields.String(validate=validate.Length(max=100)))
    org = _filter_list(fields.String(validate=validate.Length(max=60)))
    language = _filter_list(fields.String(validate=_one_of(LANGUAGES)))
    province = _filter_list(fields.String(validate=validate.Length(max=2)))
    district = _filter_list(fields.String(validate=validate.Length(max=4)))
    commune = _filter_list(fields.String(validate=validate.Length(max=6)))
    year_from = fields.Integer(validate=validate.Range(*search_service.YEARS))
    year_to = fields.Integer(validate=validate.Range(*search_service.YEARS))
    sort = fields.String(validate=_one_of(search_service.SORTS), metadata={
        "description": "newest/oldest: by the resource's date; published: most recently "
                       "published first"})
    page = fields.Integer(validate=validate.Range(1, search_service.MAX_PAGE))
    per_page = fields.Integer(validate=validate.Range(1, search_service.MAX_PER_PAGE))


class SuggestQuery(Schema):
    q = Text(search_service.MAX_QUERY_CHARS,
             metadata={"description": "what has been typed so far"})


def _workshop_fields(json_patch: bool) -> dict:
    return {
        "title": Text(300, not_blank=True, required=not json_patch),
        "date": fields.Date(allow_none=True),
        "location": Text(300),
        "commune_code": VocabularyCode("commune", allow_blank=True, allow_none=True),
        "audience": Text(300),
        "description": Text(20_000, metadata={"description": "Markdown or plain text"}),
        "language": fields.String(validate=_one_of(LANGUAGES)),
        "visibility": fields.String(validate=_one_of(WORKSHOP_VISIBILITIES)),
    }


NewWorkshop = body_schema(Strict, "NewWorkshop", _workshop_fields(json_patch=False))
WorkshopChanges = body_schema(NotEmpty, "WorkshopChanges", _workshop_fields(json_patch=True))

NewWorkshopItem = body_schema(Strict, "NewWorkshopItem", {
    "resource_id": Id(required=True),
    "note": Text(20_000, allow_none=True),
    "position": fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), metadata={
        "description": "1 is first; the end when left out or beyond the end"}),
    "session": Text(200, allow_none=True, metadata={"description": "agenda session heading"}),
    "start_time": fields.String(allow_none=True, validate=validate.Regexp(START_TIME)),
    "duration_minutes": fields.Integer(strict=True, allow_none=True,
                                       validate=validate.Range(1, 24 * 60)),
})


# --- responses -----------------------------------------------------------------------------------

def component(name: str, /, optional: dict[str, fields.Field] | None = None,
              **named: fields.Field) -> type[Schema]:
    """A response schema, named in the document's components. Its fields are always present
    (null where nothing is known), except those in `optional`."""
    for declared in named.values():
        declared.required = True
    # A response may carry more than it documents today (the contract lets fields be added).
    meta = type("Meta", (), {"component": name, "unknown": EXCLUDE})
    return type(name, (Schema,), {**named, **(optional or {}), "Meta": meta})


ErrorBody = component("ErrorBody", code=fields.String(), message=fields.String(), optional={
    "field": fields.String(metadata={"description": "the parameter or body field to blame"})})
Error = component("Error", error=fields.Nested(ErrorBody))

User = component(
    "User", id=fields.Integer(), email=fields.String(), name=fields.String(),
    role=fields.String(validate=_one_of(ROLES)),
    status=fields.String(validate=_one_of(ACCOUNT_STATES)), org=fields.String(allow_none=True))
UserList = component("UserList", users=fields.List(fields.Nested(User)))

Named = component("Named", id=fields.String(), name_en=fields.String(),
                  name_km=fields.String())
NamedPlace = component("NamedPlace", code=fields.String(), name_en=fields.String(),
                       name_km=fields.String())
Vocabularies = component(
    "Vocabularies", objectives=fields.List(fields.Nested(Named)),
    kinds=fields.List(fields.Nested(Named)), organisations=fields.List(fields.Nested(Named)),
    provinces=fields.List(fields.Nested(NamedPlace)))

Place = component("Place", province=fields.Nested(NamedPlace, allow_none=True),
                  district=fields.Nested(NamedPlace, allow_none=True),
                  commune=fields.Nested(NamedPlace, allow_none=True))
StoredFile = component(
    "StoredFile", id=fields.Integer(), filename=fields.String(), size=fields.Integer(),
    sha256=fields.String(), content_type=fields.String(),
    extraction=fields.String(validate=_one_of(("ok", "failed", "pending"))),
    extraction_error=fields.String(allow_none=True), version=fields.Integer(),
    url=fields.String())
Resource = component(
    "Resource", id=fields.Integer(), title=fields.String(),
    alt_title=fields.String(allow_none=True), kind=fields.String(),
    objectives=fields.List(fields.String(validate=_one_of(OBJECTIVES))),
    language=fields.List(fields.String(validate=_one_of(LANGUAGES))),
    summary=fields.String(metadata={"description": "sanitised HTML"}),
    authors=fields.List(fields.String()), event=fields.String(allow_none=True),
    source_url=fields.String(allow_none=True), tags=fields.List(fields.String()),
    org=fields.String(allow_none=True), date=fields.Date(allow_none=True),
    visibility=fields.String(validate=_one_of(("public", "members"))),
    status=fields.String(validate=_one_of(STATUSES)), place=fields.Nested(Place),
    files=fields.List(fields.Nested(StoredFile)), url=fields.String(),
    created_at=fields.DateTime(), updated_at=fields.DateTime())
ResourceCreated = component("ResourceCreated", id=fields.Integer(),
                            status=fields.String(validate=_one_of(STATUSES)),
                            url=fields.String())

SearchHit = component(
    "SearchHit", id=fields.Integer(), title=fields.String(), kind=fields.String(),
    objectives=fields.List(fields.String()), language=fields.List(fields.String()),
    date=fields.Date(allow_none=True),
    snippet=fields.String(metadata={"description": "HTML: matches in <mark>, the rest escaped"}),
    url=fields.String(), score=fields.Float())
SearchResults = component(
    "SearchResults", query=fields.String(), total=fields.Integer(), page=fields.Integer(),
    per_page=fields.Integer(), results=fields.List(fields.Nested(SearchHit)),
    facets=fields.Dict(keys=fields.String(),
                       values=fields.Dict(keys=fields.String(), values=fields.Integer())),
    suggestion=fields.String(allow_none=True,
                             metadata={"description": "did-you-mean, or null"}),
    matched_all_words=fields.Boolean())
Suggestion = component("Suggestion", text=fields.String(),
                       type=fields.String(validate=_one_of(("title", "tag", "glossary"))),
                       optional={"id": fields.Integer(metadata={"description": "for titles"})})
Suggestions = component("Suggestions", suggestions=fields.List(fields.Nested(Suggestion)))

WorkshopItem = component(
    "WorkshopItem", id=fields.Integer(), resource_id=fields.Integer(), title=fields.String(),
    note=fields.String(),
    position=fields.Integer(metadata={"description": "among the items the caller sees"}),
    session=fields.String(), start_time=fields.String(allow_none=True),
    duration_minutes=fields.Integer(allow_none=True), url=fields.String())
Workshop = component(
    "Workshop", id=fields.Integer(), title=fields.String(), date=fields.Date(allow_none=True),
    location=fields.String(), commune_code=fields.String(allow_none=True),
    audience=fields.String(), description=fields.String(),
    language=fields.String(validate=_one_of(LANGUAGES)),
    visibility=fields.String(validate=_one_of(WORKSHOP_VISIBILITIES)), owner=fields.String(),
    copied_from_id=fields.Integer(allow_none=True),
    share_url=fields.String(allow_none=True, metadata={
        "description": "the secret link, shown to those who may change it"}),
    url=fields.String(), export_url=fields.String(), created_at=fields.DateTime(),
    updated_at=fields.DateTime(), items=fields.List(fields.Nested(WorkshopItem)))
WorkshopCreated = component("WorkshopCreated", id=fields.Integer(), url=fields.String())

COMPONENTS = {schema.Meta.component: schema for schema in (
    Error, ErrorBody, User, UserList, Named, NamedPlace, Vocabularies, Place, StoredFile,
    Resource, ResourceCreated, SearchHit, SearchResults, Suggestion, Suggestions, WorkshopItem,
    Workshop, WorkshopCreated)}
