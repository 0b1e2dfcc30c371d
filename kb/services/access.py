"""The one place that says who may see and do what."""
from __future__ import annotations

from sqlalchemy import and_, or_, true

from kb.models import Resource, Role, Status, User, Visibility


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


def can_administer(user: User | None) -> bool:
    return has_role(user, Role.ADMIN)

