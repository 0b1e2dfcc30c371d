"""Resources: describing, reading and listing them, always through the access rules."""
from __future__ import annotations

from datetime import date as date_cls
from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kb.extensions import db
from kb.ingest.sanitize import render_summary
from kb.models import (
    LANGUAGES, MAX_ID, Commune, Objective, Resource, ResourceAuthor, ResourceEvent, ResourceFile,
    ResourceKind, ResourceLanguage, Role, Status, Tag, User, Visibility, valid_id,
)
from kb.services import access, audit, indexing, rows
from kb.services.accounts import find_organisation
from kb.services.errors import NotFound, PermissionDenied, ValidationError

MAX_TAGS = 30


def parse_kind(code: str) -> ResourceKind:
    kind = db.session.scalar(select(ResourceKind).where(ResourceKind.code == (code or "").strip()))
    if kind is None:
        raise ValidationError(_l("Choose a kind of resource."), field="kind")
    return kind


def parse_objectives(numbers) -> list[Objective]:
    try:
        wanted = {int(n) for n in numbers or []}
    except (TypeError, ValueError):
        raise ValidationError(_l("Objectives are 1, 2 or 3."), field="objectives") from None
    # A number no integer column holds names no objective, and SQLite's driver cannot even
    # send it (OverflowError), where PostgreSQL's compares it: refuse it the same way on both.
    if any(not 0 < number <= MAX_ID for number in wanted):
        raise ValidationError(_l("Objectives are 1, 2 or 3."), field="objectives")
    found = list(db.session.scalars(select(Objective).where(Objective.number.in_(wanted))))
    if len(found) != len(wanted):
        raise ValidationError(_l("Objectives are 1, 2 or 3."), field="objectives")
    return found


def parse_languages(codes) -> list[str]:
    codes = [c.strip() for c in codes or [] if c and c.strip()]
    if any(c not in LANGUAGES for c in codes):
        raise ValidationError(_l("Languages are en (English) and km (Khmer)."), field="language")
    return sorted(set(codes))


def parse_tags(raw) -> list[Tag]:
    """Tags from a comma-separated string or a list, matched without regard to case; created
    on first use (by whoever comes first when several people use a new tag at once)."""
    names = raw.split(",") if isinstance(raw, str) else list(raw or [])
    cleaned: dict[str, str] = {}  # folded name -> the name as first written
    for name in names:
        name = " ".join(str(name).split())[:100]
        if name:
            cleaned.setdefault(rows.folded(name), name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(_l("At most %(n)d tags.", n=MAX_TAGS), field="tags")
    # In one order for everyone, so that two transactions creating the same new tags never
    # wait for each other in a circle (PostgreSQL would end one of them).
    return [rows.get_or_create(Tag, {"name_key": key}, name=cleaned[key])
            for key in sorted(cleaned)]


def parse_date(value) -> date_cls | None:
    if value in (None, ""):
        return None
    if isinstance(value, date_cls):
        return value
    try:
        return date_cls.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(_l("Dates are written YYYY-MM-DD."), field="date") from None


def parse_visibility(value) -> Visibility:
    try:
        return Visibility(value or Visibility.PUBLIC.value)
    except ValueError:
        raise ValidationError(_l("Visibility is public or members."), field="visibility") from None


def parse_source_url(value: str) -> str:
    value = (value or "").strip()
    if value and urlparse(value).scheme not in ("http", "https"):
        raise ValidationError(_l("The source link must start with http:// or https://."),
                              field="source_url")
    return value[:1000]


def apply_place(resource: Resource, commune_code: str | None) -> None:
    """Set commune, district and province together from a commune code."""
    if not commune_code:
        resource.commune_code = resource.district_code = resource.province_code = None
        return
    commune = db.session.get(Commune, str(commune_code).strip())
    if commune is None:
        raise ValidationError(_l("Unknown commune code."), field="commune_code")
    resource.commune_code = commune.code
    resource.district_code = commune.district_code
    resource.province_code = commune.district.province_code


def describe(resource: Resource, data: dict) -> None:
    """Apply validated metadata from `data` (only the keys present) to a resource."""
    if "title" in data:
        title = " ".join((data["title"] or "").split())
        if not title:
            raise ValidationError(_l("Enter a title."), field="title")
        resource.title = title[:500]
    if "alt_title" in data:
        resource.alt_title = " ".join((data["alt_title"] or "").split())[:500]
    if "summary" in data:
        resource.summary_source = data["summary"] or ""
        resource.summary_html = render_summary(resource.summary_source)
    if "kind" in data:
        resource.kind = parse_kind(data["kind"])
    if "objectives" in data:
        resource.objectives = parse_objectives(data["objectives"])
    if "language" in data:
        resource.language_rows = [ResourceLanguage(code=c) for c in parse_languages(data["language"])]
    if "tags" in data:
        resource.tags = parse_tags(data["tags"])
    if "org" in data:
        resource.organisation = find_organisation(data["org"])
    if "date" in data:
        resource.date = parse_date(data["date"])
    if "visibility" in data:
        resource.visibility = parse_visibility(data["visibility"])
    if "event" in data:
        resource.event = (data["event"] or "").strip()[:300]
    if "source_url" in data:
        resource.source_url = parse_source_url(data["source_url"])
    if "authors" in data:
        names = data["authors"]
        names = names.split(";") if isinstance(names, str) else names
        resource.authors = [ResourceAuthor(position=i, name=n.strip()[:200])
                            for i, n in enumerate(n for n in names or [] if n and n.strip())]
    if "commune_code" in data:
        apply_place(resource, data["commune_code"])
    indexing.mark(resource)


def new_resource(actor: User, data: dict) -> Resource:
    """A draft resource described by `data`, added to the session but not committed.

    Raises PermissionDenied or ValidationError.
    """
    if not access.can_contribute(actor):
        raise PermissionDenied(_l("Only contributors can add resources."))
    resource = Resource(owner=actor, status=Status.DRAFT)
    describe(resource, {"kind": None, "title": None, **data})
    db.session.add(resource)
    db.session.flush()
    db.session.add(ResourceEvent(resource=resource, actor_id=actor.id, action="created",
                                 to_status=Status.DRAFT.value))
    audit.record(actor, "resource.create", resource)
    return resource


def create_resource(actor: User, data: dict) -> Resource:
    """Create and commit a draft resource without files."""
    resource = new_resource(actor, data)
    db.session.commit()
    return resource


def update_resource(actor: User, resource: Resource, data: dict) -> Resource:
    """Change metadata: owners until publication, editors always. Raises PermissionDenied."""
    if not access.can_edit_resource(actor, resource):
        raise PermissionDenied(_l("You may not edit this resource."))
    describe(resource, data)
    resource.title_from_file = resource.title_from_file and "title" not in data
    db.session.add(ResourceEvent(resource=resource, actor_id=actor.id, action="edited",
                                 comment=", ".join(sorted(data))))
    audit.record(actor, "resource.update", resource, fields=sorted(data))
    db.session.commit()
    return resource


def delete_resource(actor: User, resource: Resource) -> None:
    """Owners delete their drafts; editors and admins delete anything. Raises PermissionDenied.

    Stored bytes stay in the file store (another resource or a backup may share them);
    `kb check` reports blobs no file refers to.
    """
    own_draft = access.is_signed_in(actor) and resource.owner_id == actor.id and \
        resource.status in (Status.DRAFT, Status.REJECTED)
    if not (own_draft or access.has_role(actor, Role.EDITOR)):
        raise PermissionDenied(_l("You may not delete this resource."))
    audit.record(actor, "resource.delete", resource, title=resource.title)
    db.session.delete(resource)
    db.session.commit()


def get_resource(user: User | None, resource_id: int) -> Resource:
    """The resource if `user` may see it; NotFound otherwise, exactly as if it did not exist."""
    resource = db.session.get(Resource, valid_id(resource_id) or 0)
    if resource is None or not access.can_view_resource(user, resource):
        raise NotFound(_l("No such resource."))
    return resource


def recent_resources(user: User | None, limit: int = 8) -> list[Resource]:
    """The newest published resources the user may see."""
    query = (select(Resource)
             .where(Resource.status == Status.PUBLISHED, access.visible_resources_clause(user))
             .order_by(Resource.published_at.desc(), Resource.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def count_visible(user: User | None) -> int:
    return db.session.scalar(select(func.count(Resource.id)).where(
        Resource.status == Status.PUBLISHED, access.visible_resources_clause(user)))


def get_file(user: User | None, file_id: int) -> ResourceFile:
    """A stored file, visible exactly when its resource is; NotFound otherwise."""
    stored = db.session.get(ResourceFile, valid_id(file_id) or 0)
    if stored is None or not access.can_view_resource(user, stored.resource):
        raise NotFound(_l("No such file."))
    return stored
