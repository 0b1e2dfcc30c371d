"""Keeping OAI-PMH tombstones: a resource that leaves what harvesters may have (archived,
deleted, made members-only, taken back for changes) gets one, in the same flush as the change;
one that comes back loses it. kb/services/oai.py answers them as deleted records.

It listens to the session rather than to each service, so no path that changes a resource can
forget it (the same reason the search index is kept from the session's flush).
"""
from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from kb.models import OaiTombstone, Resource, Status, Visibility, utcnow


def _changed(resource: Resource) -> bool:
    state = inspect(resource)
    return any(state.attrs[name].history.has_changes() for name in ("status", "visibility"))


def _stored(session: Session, resource: Resource) -> tuple:
    """(status, visibility) as the database has them before this flush. Read from the database:
    an attribute set after a commit expired it has no old value in its history."""
    row = session.execute(select(Resource.status, Resource.visibility)
                          .where(Resource.id == resource.id)).one_or_none()
    return tuple(row) if row is not None else (None, None)


def harvestable(status, visibility) -> bool:
    """What an anonymous reader, and so a harvester, may have (the access rule for nobody)."""
    return status == Status.PUBLISHED and visibility == Visibility.PUBLIC


def _bury(session: Session, resource: Resource) -> None:
    from kb.services.oai import set_specs

    stone = session.get(OaiTombstone, resource.id)
    if stone is None:
        session.add(OaiTombstone(resource_id=resource.id, deleted_at=utcnow(),
                                 set_specs=set_specs(resource)))
    else:
        stone.deleted_at, stone.set_specs = utcnow(), set_specs(resource)


def _unbury(session: Session, resource: Resource) -> None:
    stone = session.get(OaiTombstone, resource.id)
    if stone is not None:
        session.delete(stone)


def _before_flush(session: Session, _context, _instances) -> None:
    with session.no_autoflush:
        for obj in list(session.deleted):
            if isinstance(obj, Resource) and harvestable(*_stored(session, obj)):
                _bury(session, obj)
        for obj in list(session.dirty):
            if not isinstance(obj, Resource) or obj in session.deleted or not _changed(obj):
                continue
            was = harvestable(*_stored(session, obj))
            now = harvestable(obj.status, obj.visibility)
            if was and not now:
                _bury(session, obj)
            elif now and not was:
                _unbury(session, obj)


def init_app(app) -> None:
    """Listen to every session (once per process: the listener is global)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
