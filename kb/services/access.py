"""The one place that says who may see and do what."""
from __future__ import annotations

from sqlalchemy import and_, or_, true

from kb.models import Resource, Role, Status, User, Visibility, Workshop, WorkshopVisibility


def is_signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def has_role(user: User | None, role: Role) -> bool:
    return is_signed_in(user) and user.has_role(role)


def can_view_resource(user: User | None, resource: Resource) -> bool:
    """Published resources by visibility; anything else only to its owner and to editors."""
    if resource.status == Status.PUBLISHED:
        return resource.visibility == Visibility.PUBLIC or is_signed_in(user)
    if has_role(user, Role.EDITOR):
        return True
    return is_signed_in(user) and resource.owner_id == user.id


def visible_resources_clause(user: User | None):
    """The same rule as can_view_resource, as an SQL condition for listings."""
    if has_role(user, Role.EDITOR):
        return true()
    published = Resource.status == Status.PUBLISHED
    if not is_signed_in(user):
        return and_(published, Resource.visibility == Visibility.PUBLIC)
    return or_(published, Resource.owner_id == user.id)


def can_contribute(user: User | None) -> bool:
    return has_role(user, Role.CONTRIBUTOR)


def can_edit_resource(user: User | None, resource: Resource) -> bool:
    """Owners edit until publication; editors always."""
    if has_role(user, Role.EDITOR):
        return True
    return (is_signed_in(user) and resource.owner_id == user.id
            and resource.status in (Status.DRAFT, Status.REJECTED, Status.SUBMITTED))


def can_review(user: User | None) -> bool:
    """Editors and admins approve or return submitted resources, publish, unpublish, restore."""
    return has_role(user, Role.EDITOR)


def is_owner(user: User | None, resource: Resource) -> bool:
    return is_signed_in(user) and resource.owner_id == user.id


def can_submit(user: User | None, resource: Resource) -> bool:
    """The owner sends a draft, or a resource returned for changes, for review."""
    return is_owner(user, resource) and resource.status in (Status.DRAFT, Status.REJECTED)


def can_upload_version(user: User | None, resource: Resource) -> bool:
    """A new version of a file: the owner (unless archived) and editors, published or not."""
    if has_role(user, Role.EDITOR):
        return True
    return is_owner(user, resource) and resource.status != Status.ARCHIVED


def can_see_history(user: User | None, resource: Resource) -> bool:
    """The full history, with reviewers' comments: the owner and editors."""
    return is_owner(user, resource) or has_role(user, Role.EDITOR)


def can_administer(user: User | None) -> bool:
    return has_role(user, Role.ADMIN)


# --- workshop packs ----------------------------------------------------------------------------

def can_build_workshops(user: User | None) -> bool:
    """Trainers are contributors and above."""
    return can_contribute(user)


def can_edit_workshop(user: User | None, workshop: Workshop) -> bool:
    """The owner (while still a trainer) and editors."""
    if has_role(user, Role.EDITOR):
        return True
    return can_build_workshops(user) and workshop.owner_id == user.id


def can_view_workshop(user: User | None, workshop: Workshop) -> bool:
    """Public: anyone with the link; members: signed-in users; private: the owner and editors.

    Seeing a workshop never reveals its resources: each item is still checked with
    can_view_resource. A share link (share_token) is checked by the workshop service instead.
    """
    if workshop.visibility == WorkshopVisibility.PUBLIC:
        return True
    if workshop.visibility == WorkshopVisibility.MEMBERS and is_signed_in(user):
        return True
    return has_role(user, Role.EDITOR) or (is_signed_in(user) and workshop.owner_id == user.id)


def visible_workshops_clause(user: User | None):
    """The same rule as can_view_workshop, as an SQL condition for listings."""
    if has_role(user, Role.EDITOR):
        return true()
    if not is_signed_in(user):
        return Workshop.visibility == WorkshopVisibility.PUBLIC
    return or_(Workshop.visibility != WorkshopVisibility.PRIVATE, Workshop.owner_id == user.id)
