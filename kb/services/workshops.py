"""Trainers' workshop packs: describing a workshop, building its agenda, copying and sharing it.

A workshop only ever shows the resources its reader may see: every listing of items goes through
`visible_items`, so a pack shared with members or with a link never leaks a draft or a
members-only resource to someone who could not open it directly.
"""
from __future__ import annotations

import re
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from kb.extensions import db
from kb.ingest.sanitize import render_summary
from kb.models import (LANGUAGES, Commune, Resource, User, Workshop, WorkshopItem,
                       WorkshopVisibility, utcnow, valid_id)
from kb.services import access, audit
from kb.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from kb.services.resources import parse_date

WORKSHOP_FIELDS = ("title", "date", "location", "commune_code", "audience", "description",
                   "language", "visibility")
ITEM_FIELDS = ("session", "start_time", "duration_minutes", "note")
START_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_DURATION = 24 * 60


# --- reading input ------------------------------------------------------------------------------

def _text(value) -> str:
    """Whatever a form or a JSON body sent, as text (JSON may send numbers or null)."""
    return "" if value is None else str(value)


def _one_line(value, limit: int) -> str:
    return " ".join(_text(value).split())[:limit]


def parse_workshop_visibility(value) -> WorkshopVisibility:
    try:
        return WorkshopVisibility(_text(value) or WorkshopVisibility.PRIVATE.value)
    except ValueError:
        raise ValidationError(_l("Visibility is private, members or public."),
                              field="visibility") from None


def parse_language(value) -> str:
    value = _text(value).strip() or "en"
    if value not in LANGUAGES:
        raise ValidationError(_l("Languages are en (English) and km (Khmer)."), field="language")
    return value


def parse_start_time(value) -> str:
    """"HH:MM" on a 24-hour clock ("9:30" becomes "09:30"); empty for no time."""
    value = _text(value).strip()
    if not value:
        return ""
    match = START_TIME_RE.match(value)
    if match is None:
        raise ValidationError(_l("Write the start time as HH:MM, for example 09:30."),
                              field="start_time")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_duration(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        minutes = int(str(value).strip())
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= MAX_DURATION:
        raise ValidationError(_l("The duration is a number of minutes from 1 to %(max)d.",
                                 max=MAX_DURATION), field="duration_minutes")
    return minutes


def describe(workshop: Workshop, data: dict) -> None:
    """Apply validated details from `data` (only the keys present) to a workshop."""
    if "title" in data:
        title = _one_line(data["title"], 300)
        if not title:
            raise ValidationError(_l("Enter a title."), field="title")
        workshop.title = title
    if "date" in data:
        workshop.date = parse_date(data["date"])
    if "location" in data:
        workshop.location = _one_line(data["location"], 300)
    if "commune_code" in data:
        code = _text(data["commune_code"]).strip()
        if code and db.session.get(Commune, code) is None:
            raise ValidationError(_l("Unknown commune code."), field="commune_code")
        workshop.commune_code = code or None
    if "audience" in data:
        workshop.audience = _one_line(data["audience"], 300)
    if "description" in data:
        workshop.description = _text(data["description"]).strip()[:20_000]
    if "language" in data:
        workshop.language = parse_language(data["language"])
    if "visibility" in data:
        workshop.visibility = parse_workshop_visibility(data["visibility"])


def describe_item(item: WorkshopItem, data: dict) -> None:
    if "session" in data:
        item.session = _one_line(data["session"], 200)
    if "start_time" in data:
        item.start_time = parse_start_time(data["start_time"])
    if "duration_minutes" in data:
        item.duration_minutes = parse_duration(data["duration_minutes"])
    if "note" in data:
        item.note = _text(data["note"]).strip()[:20_000]


def rendered(markdown_source: str) -> str:
    """A description or trainer's note (Markdown or plain text), sanitised for display."""
    return render_summary(markdown_source)


# --- finding workshops ---------------------------------------------------------------------------

def get_workshop(user: User | None, workshop_id: int) -> Workshop:
    """The workshop if `user` may see it; NotFound otherwise, exactly as if it did not exist."""
    workshop = db.session.get(Workshop, valid_id(workshop_id) or 0)
    if workshop is None or not access.can_view_workshop(user, workshop):
        raise NotFound(_l("No such workshop."))
    return workshop


def get_editable_workshop(user: User | None, workshop_id: int) -> Workshop:
    """The workshop if `user` may change it. Raises NotFound or PermissionDenied."""
    workshop = get_workshop(user, workshop_id)
    _require_edit(user, workshop)
    return workshop


def get_shared_workshop(token: str) -> Workshop:
    """The workshop behind a share link, for anyone who has the link. Raises NotFound."""
    workshop = None
    if token:
        workshop = db.session.scalar(select(Workshop).where(Workshop.share_token == token))
    if workshop is None:
        raise NotFound(_l("This link does not work any more. Ask the trainer for a new one."))
    return workshop


def own_workshops(user: User | None) -> list[Workshop]:
    """The user's own workshops, most recently changed first (for "add to workshop")."""
    if not access.can_build_workshops(user):
        return []
    return list(db.session.scalars(select(Workshop).where(Workshop.owner_id == user.id)
                                   .order_by(Workshop.updated_at.desc(), Workshop.id.desc())))


def other_workshops(user: User | None) -> list[Workshop]:
    """Workshops of other trainers that `user` may see, newest date first."""
    if not access.is_signed_in(user):
        return []
    query = (select(Workshop)
             .where(Workshop.owner_id != user.id, access.visible_workshops_clause(user))
             .order_by(Workshop.date.desc().nulls_last(), Workshop.id.desc()))
    return list(db.session.scalars(query))


def visible_items(user: User | None, workshop: Workshop) -> list[WorkshopItem]:
    """The agenda as `user` may see it: items whose resource they could open themselves."""
    return [item for item in workshop.items if access.can_view_resource(user, item.resource)]


# --- changing workshops --------------------------------------------------------------------------

def _require_edit(user: User | None, workshop: Workshop) -> None:
    if not access.can_edit_workshop(user, workshop):
        raise PermissionDenied(_l("Only the trainer who made this workshop and editors may "
                                  "change it."))


def create_workshop(actor: User, data: dict) -> Workshop:
    """A new workshop owned by `actor`. Raises PermissionDenied or ValidationError."""
    if not access.can_build_workshops(actor):
        raise PermissionDenied(_l("Only contributors can make workshops. Ask an administrator "
                                  "for the contributor role."))
    workshop = Workshop(owner=actor, visibility=WorkshopVisibility.PRIVATE, language="en")
    describe(workshop, {"title": None, **{k: v for k, v in data.items() if k in WORKSHOP_FIELDS}})
    db.session.add(workshop)
    audit.record(actor, "workshop.create", workshop)
    db.session.commit()
    return workshop


def update_workshop(actor: User, workshop: Workshop, data: dict) -> Workshop:
    """Change the details. Raises PermissionDenied or ValidationError."""
    _require_edit(actor, workshop)
    changed = sorted(k for k in data if k in WORKSHOP_FIELDS)
    describe(workshop, {k: data[k] for k in changed})
    audit.record(actor, "workshop.update", workshop, fields=changed)
    db.session.commit()
    return workshop


def delete_workshop(actor: User, workshop: Workshop) -> None:
    """Delete a workshop and its agenda; copies made from it stay, unlinked from it."""
    _require_edit(actor, workshop)
    for copy in db.session.scalars(select(Workshop).where(Workshop.copied_from_id == workshop.id)):
        copy.copied_from_id = None
    audit.record(actor, "workshop.delete", workshop, title=workshop.title)
    db.session.delete(workshop)
    db.session.commit()


def duplicate_workshop(actor: User, source: Workshop) -> Workshop:
    """A private copy owned by `actor`, as a start for the next workshop.

    Only the items `actor` may see are copied (with their sessions, times and notes); the share
    link is not, so the copy is seen by no one else until its trainer shares it.
    """
    if not access.can_build_workshops(actor):
        raise PermissionDenied(_l("Only contributors can make workshops."))
    if not access.can_view_workshop(actor, source):
        raise NotFound(_l("No such workshop."))
    copy = Workshop(
        title=_one_line(_l("Copy of %(title)s", title=source.title), 300),
        date=source.date, location=source.location, commune_code=source.commune_code,
        audience=source.audience, description=source.description, language=source.language,
        visibility=WorkshopVisibility.PRIVATE, share_token=None, owner=actor,
        copied_from_id=source.id)
    for number, item in enumerate(visible_items(actor, source), start=1):
        copy.items.append(WorkshopItem(
            resource_id=item.resource_id, position=number, session=item.session,
            start_time=item.start_time, duration_minutes=item.duration_minutes, note=item.note))
    db.session.add(copy)
    audit.record(actor, "workshop.duplicate", copy, source=source.id)
    db.session.commit()
    return copy


def create_share_link(actor: User, workshop: Workshop) -> str:
    """A new secret link that shows the workshop to anyone who has it (replacing any old one)."""
    _require_edit(actor, workshop)
    workshop.share_token = secrets.token_urlsafe(24)
    audit.record(actor, "workshop.share", workshop)
    db.session.commit()
    return workshop.share_token


def revoke_share_link(actor: User, workshop: Workshop) -> None:
    """The old link stops working at once."""
    _require_edit(actor, workshop)
    workshop.share_token = None
    audit.record(actor, "workshop.unshare", workshop)
    db.session.commit()


# --- the agenda ---------------------------------------------------------------------------------

def _renumber(workshop: Workshop, ordered: list[WorkshopItem]) -> None:
    for number, item in enumerate(ordered, start=1):
        item.position = number
    workshop.items.sort(key=lambda item: item.position)
    workshop.updated_at = utcnow()


def _find_item(user: User | None, workshop: Workshop, item_id) -> WorkshopItem:
    for item in visible_items(user, workshop):
        if item.id == item_id:
            return item
    raise NotFound(_l("This item is not in the workshop."))


def add_item(actor: User, workshop: Workshop, resource_id, data: dict | None = None,
             position: int | None = None) -> WorkshopItem:
    """Put a resource the actor may see into the agenda, at the end or at `position` (1 is the
    first item the actor sees). Raises PermissionDenied, ValidationError or Conflict."""
    _require_edit(actor, workshop)
    if position is not None and (isinstance(position, bool) or not isinstance(position, int)
                                 or position < 1):
        raise ValidationError(_l("The position is a whole number from 1."), field="position")
    resource = db.session.get(Resource, valid_id(resource_id) or 0)
    if resource is None or not access.can_view_resource(actor, resource):
        raise NotFound(_l("No such resource."), field="resource_id")
    if any(item.resource_id == resource.id for item in workshop.items):
        raise Conflict(_l("This resource is already in the workshop."), field="resource_id")
    item = WorkshopItem(resource=resource)
    describe_item(item, {k: v for k, v in (data or {}).items() if k in ITEM_FIELDS})
    ordered = list(workshop.items)
    seen = visible_items(actor, workshop)
    at = ordered.index(seen[position - 1]) if position and position <= len(seen) else len(ordered)
    ordered.insert(at, item)
    workshop.items.append(item)
    _renumber(workshop, ordered)
    db.session.commit()
    return item


def update_item(actor: User, workshop: Workshop, item_id: int, data: dict) -> WorkshopItem:
    """Change an item's session heading, start time, duration or note."""
    _require_edit(actor, workshop)
    item = _find_item(actor, workshop, item_id)
    describe_item(item, {k: v for k, v in data.items() if k in ITEM_FIELDS})
    workshop.updated_at = utcnow()
    db.session.commit()
    return item


def remove_item(actor: User, workshop: Workshop, item_id: int) -> None:
    _require_edit(actor, workshop)
    item = _find_item(actor, workshop, item_id)
    workshop.items.remove(item)
    _renumber(workshop, list(workshop.items))
    db.session.commit()


def move_item(actor: User, workshop: Workshop, item_id: int, steps: int) -> None:
    """Move an item up (negative steps) or down among the items the actor sees."""
    _require_edit(actor, workshop)
    seen = visible_items(actor, workshop)
    ids = [item.id for item in seen]
    item = _find_item(actor, workshop, item_id)
    index = ids.index(item.id)
    target = max(0, min(len(ids) - 1, index + steps))
    ids.insert(target, ids.pop(index))
    reorder(actor, workshop, ids)


def reorder(actor: User, workshop: Workshop, item_ids: list) -> None:
    """Put the items the actor sees in the order of `item_ids` (all of them, each once).

    Items the actor cannot see keep their places; the visible ones are dealt into the places
    the visible ones had. Raises PermissionDenied or ValidationError.
    """
    _require_edit(actor, workshop)
    seen = visible_items(actor, workshop)
    try:
        wanted = [int(i) for i in item_ids]
    except (TypeError, ValueError):
        wanted = None
    by_id = {item.id: item for item in seen}
    if wanted is None or sorted(wanted) != sorted(by_id):
        raise ValidationError(_l("The new order must list every item of the workshop once. "
                                 "Reload the page and try again."), field="item_ids")
    new_order = iter(by_id[i] for i in wanted)
    ordered = [next(new_order) if item.id in by_id else item for item in workshop.items]
    _renumber(workshop, ordered)
    db.session.commit()
