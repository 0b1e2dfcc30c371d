"""A resource's way to publication, and back.

    draft ──submit──> submitted ──approve──> published ──unpublish──> archived
      ^                   │                     ^                        │
      │                reject                   └────────restore─────────┘
      │                   v
      └──(edit)─── rejected ──submit──> submitted

Contributors submit their own drafts (and resources returned to them); editors and admins review
what was submitted, publish directly, unpublish (archive) and restore. Every move is recorded as a
ResourceEvent (who, when, from which status to which, with what comment), tells the people
concerned (notifications, e-mail), and marks the resource for the search index, so search shows
the change as soon as it is committed.

New versions of a file are uploaded here too: the old file stays stored and downloadable, with
`replaced_by_id` pointing at its successor; search reads only the newest (`current_files`).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import (
    ExtractionState, Resource, ResourceEvent, ResourceFile, Role, Status, User, utcnow,
)
from kb.services import access, audit, indexing, notifications, rows
from kb.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

DECISIONS = ("approve", "reject")
MAX_COMMENT = 5000


def _clean(comment: str | None) -> str:
    return (comment or "").strip()[:MAX_COMMENT]


def _move(actor: User, resource: Resource, to: Status, action: str, comment: str = "") -> None:
    """Change status and record who did it, when, and why; the caller commits."""
    before = resource.status
    resource.status = to
    if to == Status.PUBLISHED:
        resource.published_at = resource.published_at or utcnow()
    indexing.mark(resource)
    resource.updated_at = utcnow()  # the indexer's version of the resource
    db.session.add(ResourceEvent(resource=resource, actor_id=actor.id, action=action,
                                 from_status=before.value, to_status=to.value,
                                 comment=_clean(comment)))
    audit.record(actor, f"resource.{action}", resource, before=before.value, after=to.value)


def _finish(commit: bool) -> None:
    if commit:
        db.session.commit()


def _require_editor(actor: User, message) -> None:
    if not access.can_review(actor):
        raise PermissionDenied(message)


def submit(actor: User, resource: Resource, commit: bool = True) -> Resource:
    """The owner sends a draft (or a returned resource) for review; editors are told."""
    if not access.is_owner(actor, resource):
        raise PermissionDenied(_l("Only the owner can submit this resource."))
    if not access.can_submit(actor, resource):
        raise Conflict(_l("Only drafts and returned resources can be submitted."),
                              field="status")
    _move(actor, resource, Status.SUBMITTED, "submitted")
    notifications.notify_editors("submitted", resource, actor)
    _finish(commit)
    return resource


def review(actor: User, resource: Resource, decision: str, comment: str = "",
           commit: bool = True) -> Resource:
    """An editor approves (-> published) or rejects (-> rejected, back to the owner) a
    submitted resource, with an optional comment that the owner sees."""
    _require_editor(actor, _l("Only editors can review resources."))
    if decision not in DECISIONS:
        raise ValidationError(_l('The decision is "approve" or "reject".'), field="decision")
    if resource.status != Status.SUBMITTED:
        raise Conflict(_l("Only submitted resources can be reviewed; this one is "
                                 "%(status)s.", status=resource.status.value), field="status")
    if decision == "approve":
        _move(actor, resource, Status.PUBLISHED, "approved", comment)
        notifications.notify_owner("approved", resource, actor, _clean(comment))
    else:
        _move(actor, resource, Status.REJECTED, "rejected", comment)
        notifications.notify_owner("rejected", resource, actor, _clean(comment))
    _finish(commit)
    return resource


def approve(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    return review(actor, resource, "approve", comment, commit)


def reject(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    return review(actor, resource, "reject", comment, commit)


def publish(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    """Editors and admins publish directly, whatever the status (an archived resource is
    restored)."""
    _require_editor(actor, _l("Only editors can publish."))
    if resource.status == Status.PUBLISHED:
        return resource
    if resource.status == Status.ARCHIVED:
        return restore(actor, resource, comment, commit)
    _move(actor, resource, Status.PUBLISHED, "published", comment)
    if resource.id is not None:
        notifications.notify_owner("published", resource, actor, _clean(comment))
    _finish(commit)
    return resource


def unpublish(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    """Editors take a published resource out of view (archived); it can be restored."""
    _require_editor(actor, _l("Only editors can unpublish."))
    if resource.status != Status.PUBLISHED:
        raise Conflict(_l("Only published resources can be unpublished."), field="status")
    _move(actor, resource, Status.ARCHIVED, "archived", comment)
    notifications.notify_owner("archived", resource, actor, _clean(comment))
    _finish(commit)
    return resource


def restore(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    """Editors publish an archived resource again."""
    _require_editor(actor, _l("Only editors can restore."))
    if resource.status != Status.ARCHIVED:
        raise Conflict(_l("Only archived resources can be restored."), field="status")
    _move(actor, resource, Status.PUBLISHED, "restored", comment)
    notifications.notify_owner("restored", resource, actor, _clean(comment))
    _finish(commit)
    return resource


# --- reading the workflow ---------------------------------------------------------------------

def review_queue() -> list[Resource]:
    """Submitted resources, the longest waiting first (by their latest submission)."""
    submitted_at = (select(ResourceEvent.resource_id, func.max(ResourceEvent.at).label("at"))
                    .where(ResourceEvent.action == "submitted")
                    .group_by(ResourceEvent.resource_id).subquery())
    query = (select(Resource).outerjoin(submitted_at, submitted_at.c.resource_id == Resource.id)
             .where(Resource.status == Status.SUBMITTED)
             .order_by(func.coalesce(submitted_at.c.at, Resource.updated_at), Resource.id))
    return list(db.session.scalars(query))


def queue_size() -> int:
    return db.session.scalar(select(func.count(Resource.id))
                             .where(Resource.status == Status.SUBMITTED)) or 0


def submitted_at(resource: Resource):
    times = [e.at for e in resource.history if e.action == "submitted"]
    return max(times) if times else None


def latest_decision(resource: Resource) -> ResourceEvent | None:
    """The last review, publication or unpublication (what the owner should read)."""
    for event in reversed(resource.history):
        if event.action in ("approved", "rejected", "published", "archived", "restored"):
            return event
    return None


def history(viewer: User | None, resource: Resource) -> list[ResourceEvent]:
    """The steps the viewer may see: all of them for the owner and editors, none for other
    readers (the resource page shows them only the publication date)."""
    if access.can_see_history(viewer, resource):
        return list(resource.history)
    return []


def file_versions(resource: Resource, stored: ResourceFile) -> list[ResourceFile]:
    """Every earlier version of a current file, newest first."""
    by_successor = {f.replaced_by_id: f for f in resource.files if f.replaced_by_id is not None}
    chain, current = [], stored
    while current.id in by_successor:
        current = by_successor[current.id]
        chain.append(current)
    return chain


# --- new versions of a file -------------------------------------------------------------------

def new_version(actor: User, stored: ResourceFile, upload, note: str = "") -> ResourceFile:
    """Replace a file with a new version. The old one stays stored and downloadable; search
    reads the new one once its text is extracted. Raises PermissionDenied, ValidationError,
    Conflict (the same bytes are already kept), UploadTooLarge."""
    from kb.services import filestore, ingestion, jobs, processing

    resource = stored.resource
    if not access.can_upload_version(actor, resource):
        raise PermissionDenied(_l("Only the owner or an editor can upload a new version."))
    if stored.replaced_by_id is not None:
        raise ValidationError(_l("Only the newest version of a file can be replaced."),
                              field="file")
    (item,) = ingestion.receive_uploads(actor, [upload])
    try:
        # With the resource locked, the file is checked again as it is now: of two new versions
        # sent at once, the second finds the first in place and is refused.
        if not rows.lock(Resource, resource.id):
            raise NotFound(_l("No such resource."))
        if stored.replaced_by_id is not None:
            raise ValidationError(_l("Only the newest version of a file can be replaced."),
                                  field="file")
        filestore.keep(item.received)
        newer = ResourceFile(resource=resource, position=stored.position,
                             version=stored.version + 1, original_name=item.name,
                             size=item.received.size, sha256=item.received.sha256,
                             content_type=item.content_type,
                             extraction_state=ExtractionState.PENDING, uploaded_by_id=actor.id)
        db.session.add(newer)
        jobs.queue_new([newer])
        db.session.flush()
        stored.replaced_by_id = newer.id
        indexing.mark(resource)
        resource.updated_at = utcnow()
        label = f"{newer.original_name} (v{newer.version})"
        note = _clean(note)
        db.session.add(ResourceEvent(resource=resource, actor_id=actor.id, action="new_version",
                                     from_status=resource.status.value,
                                     to_status=resource.status.value,
                                     comment=label + (f"\n{note}" if note else "")))
        audit.record(actor, "resource.new_version", resource, file=newer.original_name,
                     version=newer.version, replaces=stored.id)
        if resource.status == Status.PUBLISHED and not access.has_role(actor, Role.EDITOR):
            # Published content changed without a review: editors should know.
            notifications.notify_editors("new_version", resource, actor, note,
                                         file=newer.original_name)
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        item.received.discard()
        conflict = ingestion.refused_by_database(actor, [item], error)
        if conflict is not None:
            raise conflict from None
        raise
    processing.schedule([newer.id])
    return newer
