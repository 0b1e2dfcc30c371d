"""The one place that says who may see and do what."""
from __future__ import annotations

from sqlalchemy import and_, or_, true

from kb.models import (Consultation, ConsultationResponse, ConsultationState, Meeting,
                       Participation, Resource, Role, Status, User, Visibility, Workshop,
                       WorkshopVisibility)


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


# --- consultations ------------------------------------------------------------------------------

def can_manage_consultations(user: User | None) -> bool:
    """Editors open consultations, divide drafts, moderate, compile and record the follow-up."""
    return has_role(user, Role.EDITOR)


def can_view_consultation(user: User | None, consultation: Consultation) -> bool:
    """Public consultations: anyone; members-only ones: signed-in users."""
    if consultation.visibility == Visibility.PUBLIC:
        return True
    return is_signed_in(user)


def visible_consultations_clause(user: User | None):
    if is_signed_in(user):
        return true()
    return Consultation.visibility == Visibility.PUBLIC


def can_read_draft(user: User | None, consultation: Consultation) -> bool:
    """The sections are words of the draft: shown only to those who may open the draft itself
    (a draft unpublished or made members-only after the consultation opened stays protected)."""
    if not can_view_consultation(user, consultation):
        return False
    return consultation.resource is None or can_view_resource(user, consultation.resource)


def may_take_part(user: User | None, consultation: Consultation) -> bool:
    """Who the consultation invites: every member, or the members of the organisations named."""
    if not is_signed_in(user) or not can_view_consultation(user, consultation):
        return False
    if consultation.participation == Participation.MEMBERS:
        return True
    return user.organisation_id is not None and any(
        org.id == user.organisation_id for org in consultation.organisations)


def can_respond(user: User | None, consultation: Consultation, today) -> bool:
    return (may_take_part(user, consultation)
            and consultation.state_on(today) == ConsultationState.OPEN)


def is_response_author(user: User | None, response: ConsultationResponse) -> bool:
    return is_signed_in(user) and response.author_id == user.id


def can_edit_response(user: User | None, response: ConsultationResponse, today) -> bool:
    """Authors change their responses until the deadline, unless an editor hid them."""
    return (is_response_author(user, response) and not response.hidden
            and response.consultation.state_on(today) == ConsultationState.OPEN)


def can_see_response(user: User | None, response: ConsultationResponse, today) -> bool:
    """Editors see every response. A hidden one: also its author (with the reason). Others see
    a response when they may see the consultation and either it is theirs, responses are shared
    during the consultation, or the consultation has closed."""
    consultation = response.consultation
    if has_role(user, Role.EDITOR):
        return True
    if is_response_author(user, response):
        return True
    if response.hidden or not can_view_consultation(user, consultation):
        return False
    if consultation.responses_shared:
        return True
    return consultation.state_on(today) in (ConsultationState.CLOSED,
                                            ConsultationState.SUBMITTED)


def can_endorse(user: User | None, response: ConsultationResponse, today) -> bool:
    """A member endorses for their organisation, while the consultation is open, a visible
    response that their organisation did not make."""
    return (can_respond(user, response.consultation, today) and not response.hidden
            and user.organisation_id is not None
            and response.organisation_id != user.organisation_id
            and can_see_response(user, response, today))


# --- the calendar -------------------------------------------------------------------------------

def can_manage_calendar(user: User | None) -> bool:
    return has_role(user, Role.EDITOR)


def can_view_meeting(user: User | None, meeting: Meeting) -> bool:
    return meeting.visibility == Visibility.PUBLIC or is_signed_in(user)


def visible_meetings_clause(user: User | None):
    if is_signed_in(user):
        return true()
    return Meeting.visibility == Visibility.PUBLIC
