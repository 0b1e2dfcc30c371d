"""A resource's way to publication: draft -> submitted -> published (or rejected, archived)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from kb.extensions import db
from kb.models import Resource, ResourceEvent, Role, Status, User, utcnow
from kb.services import access, audit
from kb.services.errors import PermissionDenied, ValidationError


def _move(actor: User, resource: Resource, to: Status, action: str, comment: str = "") -> None:
    """Change status and record who did it, when, and why; the caller commits."""
    before = resource.status
    resource.status = to
    if to == Status.PUBLISHED:
        resource.published_at = resource.published_at or utcnow()
    resource.needs_indexing = True
    db.session.add(ResourceEvent(resource=resource, actor_id=actor.id, action=action,
                                 from_status=before.value, to_status=to.value,
                                 comment=(comment or "").strip()[:5000]))
    audit.record(actor, f"resource.{action}", resource, before=before.value, after=to.value)


def submit(actor: User, resource: Resource, commit: bool = True) -> Resource:
    """The owner sends a draft (or a returned resource) for review."""
    if not (access.is_signed_in(actor) and resource.owner_id == actor.id):
        raise PermissionDenied(_l("Only the owner can submit this resource."))
    if resource.status not in (Status.DRAFT, Status.REJECTED):
        raise ValidationError(_l("Only drafts and returned resources can be submitted."),
                              field="status")
    _move(actor, resource, Status.SUBMITTED, "submitted")
    if commit:
        db.session.commit()
    return resource


def publish(actor: User, resource: Resource, comment: str = "", commit: bool = True) -> Resource:
    """Editors and admins publish directly."""
    if not access.has_role(actor, Role.EDITOR):
        raise PermissionDenied(_l("Only editors can publish."))
    if resource.status == Status.PUBLISHED:
        return resource
    _move(actor, resource, Status.PUBLISHED, "published", comment)
    if commit:
        db.session.commit()
    return resource
