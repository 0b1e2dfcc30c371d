"""Figures for the administrators' dashboard: what the collection holds and what waits.

The collection is counted as published resources, whatever their visibility: the dashboard is
for administrators, who see everything.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, select

from kb.extensions import db
from kb.i18n import LANGUAGE_NAMES
from kb.models import (Objective, Resource, ResourceKind, ResourceLanguage, Status,
                       resource_objectives, utcnow)
from kb.services import access, workflow
from kb.services.errors import PermissionDenied


@dataclass
class Bar:
    label: str
    count: int


@dataclass
class ReviewQueue:
    length: int
    oldest_waiting: timedelta | None  # how long the longest-waiting submission has waited


@dataclass
class CollectionStats:
    total: int
    by_objective: list[Bar]
    by_kind: list[Bar]
    by_language: list[Bar]
    by_year: list[Bar]
    by_status: dict[Status, int]
    review_queue: ReviewQueue


def _published():
    return Resource.status == Status.PUBLISHED


def _by_objective(locale: str) -> list[Bar]:
    counts = dict(db.session.execute(
        select(resource_objectives.c.objective_id, func.count())
        .join(Resource, Resource.id == resource_objectives.c.resource_id)
        .where(_published()).group_by(resource_objectives.c.objective_id)).all())
    objectives = db.session.scalars(select(Objective).order_by(Objective.number))
    return [Bar(f"{o.number}. {o.short(locale)}", counts.get(o.id, 0)) for o in objectives]


def _by_kind(locale: str) -> list[Bar]:
    counts = dict(db.session.execute(
        select(Resource.kind_id, func.count()).where(_published())
        .group_by(Resource.kind_id)).all())
    kinds = db.session.scalars(select(ResourceKind).order_by(ResourceKind.position))
    return [Bar(k.name(locale), counts.get(k.id, 0)) for k in kinds]


def _by_language() -> list[Bar]:
    counts = dict(db.session.execute(
        select(ResourceLanguage.code, func.count())
        .join(Resource, Resource.id == ResourceLanguage.resource_id)
        .where(_published()).group_by(ResourceLanguage.code)).all())
    return [Bar(name, counts.get(code, 0)) for code, name in LANGUAGE_NAMES.items()]


def _by_year() -> list[Bar]:
    """Years of the resources' own dates, oldest first; undated ones last."""
    year = extract("year", Resource.date)
    rows = db.session.execute(select(year, func.count()).where(_published())
                              .group_by(year).order_by(year)).all()
    bars = [Bar(str(int(y)), n) for y, n in rows if y is not None]
    undated = sum(n for y, n in rows if y is None)
    if undated:
        bars.append(Bar(str(_l("No date")), undated))
    return bars


def _review_queue(now: datetime) -> ReviewQueue:
    """The review workflow's own queue, longest waiting first, and how long that one has
    waited since its latest submission."""
    queue = workflow.review_queue()
    if not queue:
        return ReviewQueue(0, None)
    oldest = workflow.submitted_at(queue[0]) or queue[0].updated_at
    return ReviewQueue(len(queue), now - oldest)


def collection_stats(actor, locale: str = "en") -> CollectionStats:
    """Raises PermissionDenied unless `actor` is an administrator."""
    if not access.can_administer(actor):
        raise PermissionDenied(_l("Only administrators see these figures."))
    by_status = dict(db.session.execute(
        select(Resource.status, func.count()).group_by(Resource.status)).all())
    return CollectionStats(
        total=by_status.get(Status.PUBLISHED, 0),
        by_objective=_by_objective(locale), by_kind=_by_kind(locale),
        by_language=_by_language(), by_year=_by_year(),
        by_status={status: by_status.get(status, 0) for status in Status},
        review_queue=_review_queue(utcnow()))
