"""The audit trail told as what happened: "Sok sent “Commune budgets” for review", in the reader's
language, each naming the resource, person or workshop it happened to (for administrators).

The audit rows keep codes (resource.submitted, users #10); this module turns them into sentences
whose only placeholders are %(target)s (the thing, which the page links) and %(role)s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from kb.extensions import db
from kb.models import (AuditEvent, GlossaryEntry, Objective, Organisation, Resource, ResourceKind,
                       Role, User, Workshop)
from kb.services import access
from kb.services.errors import PermissionDenied

# What each action did, to its target. Keys are AuditEvent.action.
SENTENCES = {
    "resource.create": _l("added %(target)s"),
    "resource.update": _l("edited %(target)s"),
    "resource.delete": _l("deleted %(target)s"),
    "resource.files": _l("added files to %(target)s"),
    "resource.new_version": _l("uploaded a new version of a file of %(target)s"),
    "resource.submitted": _l("sent %(target)s for review"),
    "resource.approved": _l("approved and published %(target)s"),
    "resource.rejected": _l("returned %(target)s for changes"),
    "resource.published": _l("published %(target)s"),
    "resource.archived": _l("unpublished %(target)s"),
    "resource.restored": _l("published %(target)s again"),
    "user.create": _l("created the account of %(target)s"),
    "user.join": _l("asked to join"),
    "user.approve": _l("let %(target)s in as %(role)s"),
    "user.decline": _l("declined the request to join of %(target)s"),
    "user.role": _l("made %(target)s %(role)s"),
    "user.deactivate": _l("deactivated the account of %(target)s"),
    "user.password": _l("changed the password of %(target)s"),
    "user.own_password": _l("changed their password"),
    "user.profile": _l("updated their details"),
    "user.signout": _l("signed out everywhere"),
    "token.create": _l("made an API token for %(target)s"),
    "token.revoke": _l("revoked an API token of %(target)s"),
    "organisation.save": _l("saved the organisation %(target)s"),
    "glossary.save": _l("saved the glossary term %(target)s"),
    "glossary.delete": _l("deleted the glossary term %(target)s"),
    "vocabulary.rename": _l("renamed the term %(target)s"),
    "workshop.create": _l("started the workshop %(target)s"),
    "workshop.update": _l("changed the workshop %(target)s"),
    "workshop.delete": _l("deleted the workshop %(target)s"),
    "workshop.duplicate": _l("copied a workshop as %(target)s"),
    "workshop.share": _l("made a secret link to the workshop %(target)s"),
    "workshop.unshare": _l("stopped the secret link to the workshop %(target)s"),
}
UNKNOWN = _l("did something (%(code)s) to %(target)s")

_MODELS = {"resources": Resource, "users": User, "workshops": Workshop,
           "organisations": Organisation, "glossary_entries": GlossaryEntry,
           "objectives": Objective, "resource_kinds": ResourceKind}


COMMAND = _l("A command on the server")


@dataclass
class Activity:
    at: datetime
    actor: User | None  # who did it: None for the `kb` command (imports, accounts)
    actor_name: str
    sentence: str  # translated; %(target)s and %(role)s still to fill
    target: object | None  # the row it happened to, if it still exists
    target_type: str
    target_name: str  # what to call the target (also when it is gone)
    role: str = ""


def _name(target, target_type: str, details: dict, locale: str) -> str:
    if target is None:  # deleted since: the audit row kept what it was called
        return details.get("title") or details.get("name_en") or details.get("short_name") or \
            f"#{details.get('id', '')}".rstrip("#")
    if isinstance(target, (Resource, Workshop)):
        return target.title
    if isinstance(target, User):
        return target.name
    if isinstance(target, Organisation):
        return target.short_name
    if isinstance(target, (GlossaryEntry, Objective, ResourceKind)):
        return target.name(locale)
    return ""


def _targets(events: list[AuditEvent]) -> dict[tuple[str, str], object]:
    """The rows the events name, loaded with one query per kind of row."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.target_type in _MODELS and event.target_id.isdigit():
            wanted.setdefault(event.target_type, set()).add(int(event.target_id))
    found = {}
    for table, ids in wanted.items():
        model = _MODELS[table]
        for row in db.session.scalars(select(model).where(model.id.in_(ids))):
            found[(table, str(row.id))] = row
    return found


def _action(event: AuditEvent) -> str:
    """Some codes read differently by who did them to whom."""
    if event.action == "user.create" and event.actor_id is None and \
            event.details.get("status") == "pending":
        return "user.join"
    if event.action == "user.password" and event.actor_id is not None and \
            event.target_id == str(event.actor_id):
        return "user.own_password"
    return event.action


def recent_activity(actor: User | None, locale: str = "en", limit: int = 30) -> list[Activity]:
    """The newest audit events as sentences. Raises PermissionDenied unless `actor` is an
    administrator."""
    from kb.i18n import label

    if not access.can_administer(actor):
        raise PermissionDenied(_l("Only administrators see the activity."))
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                                     .limit(limit)))
    targets = _targets(events)
    out = []
    for event in events:
        target = targets.get((event.target_type, event.target_id))
        action = _action(event)
        sentence = SENTENCES.get(action)
        role = event.details.get("after") or event.details.get("role") or ""
        try:
            role = label(Role(role)) if role else ""
        except ValueError:
            pass
        text = str(sentence) if sentence is not None else str(UNKNOWN).replace(
            "%(code)s", event.action)
        # Who asked to join is the person the account is for; the command acts as nobody.
        who = target if action == "user.join" and isinstance(target, User) else event.actor
        out.append(Activity(
            at=event.at, actor=who, actor_name=who.name if who is not None else str(COMMAND),
            sentence=text,
            target=target, target_type=event.target_type,
            target_name=_name(target, event.target_type, event.details, locale), role=role))
    return out
