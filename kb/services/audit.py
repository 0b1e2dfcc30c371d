"""The audit trail: one call per change, in the same transaction as the change."""
from __future__ import annotations

from kb.extensions import db
from kb.models import AuditEvent, User


def record(actor: User | None, action: str, target, **details) -> AuditEvent:
    """Add an audit row for `target` (a model instance with an id); the caller commits."""
    db.session.flush()  # give a new target its id
    event = AuditEvent(
        actor_id=actor.id if actor is not None and actor.id else None,
        action=action,
        target_type=type(target).__tablename__,
        target_id=str(getattr(target, "id", None) or getattr(target, "code", "")),
        details={k: v for k, v in details.items() if v is not None},
    )
    db.session.add(event)
    return event
