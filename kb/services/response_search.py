"""Searching members' responses, with the consultation as a facet.

Like resources, every change to a response sets `needs_indexing` in its own transaction, and
right after the commit the flagged responses are written to their index (`kb reindex` rebuilds
it). The reader's access is computed here from the same rules as the pages
(`access.can_see_response`): the consultations whose responses the reader may see in full, and
the reader's own responses; visitors therefore find only responses of public consultations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, selectinload

from kb import search
from kb.extensions import db
from kb.models import (Consultation, ConsultationResponse, ConsultationState, Role, User)
from kb.search import responses as response_index
from kb.services import access, clock
from kb.services.errors import ValidationError

log = logging.getLogger(__name__)
BATCH = 500
PER_PAGE = 20
MAX_PAGE = 200


def index_path() -> str:
    return current_app.config.get("RESPONSE_INDEX_PATH") or \
        current_app.config["SEARCH_INDEX_PATH"].rstrip("/") + "-responses"


def document_for(response: ConsultationResponse) -> response_index.ResponseDocument:
    target = response.section.heading if response.section else \
        response.question.text if response.question else ""
    return response_index.ResponseDocument(
        id=response.id, version=response.updated_at.isoformat(),
        consultation_id=response.consultation_id, heading=target,
        text=f"{response.text}\n{response.proposed_wording}".strip(),
        hidden=response.hidden, author_id=response.author_id, created=response.created_at)


def _loaded():
    return select(ConsultationResponse).options(selectinload(ConsultationResponse.section),
                                                selectinload(ConsultationResponse.question))


def flush(deleted_ids=()) -> int:
    """Write every flagged response (and drop `deleted_ids`); clear the flags written."""
    written = 0
    deleted = list(deleted_ids)
    path = index_path()
    response_index.ensure(path)
    while True:
        with Session(db.engine) as session:
            rows: list[ConsultationResponse] = []

            def read():
                rows.extend(session.scalars(_loaded().where(
                    ConsultationResponse.needs_indexing.is_(True))
                    .order_by(ConsultationResponse.id).limit(BATCH)))
                return [document_for(r) for r in rows], deleted

            if not deleted and not session.scalar(select(ConsultationResponse.id).where(
                    ConsultationResponse.needs_indexing.is_(True)).limit(1)):
                return written
            response_index.write(path, read, wait=current_app.config.get("INDEX_WRITE_WAIT",
                                                                         30.0))
            deleted = []
            for row in rows:  # cleared only if unchanged since it was read
                session.execute(update(ConsultationResponse).where(
                    ConsultationResponse.id == row.id,
                    ConsultationResponse.updated_at == row.updated_at)
                    .values(needs_indexing=False, updated_at=ConsultationResponse.updated_at)
                    .execution_options(synchronize_session=False))
            session.commit()
            written += len(rows)
            if len(rows) < BATCH:
                return written


def rebuild() -> int:
    """A fresh response index from the database (for `kb reindex`)."""
    response_index.create(index_path())
    db.session.execute(update(ConsultationResponse).values(
        needs_indexing=True, updated_at=ConsultationResponse.updated_at))
    db.session.commit()
    return flush()


def _before_flush(session, _context, _instances):
    for obj in session.deleted:
        if isinstance(obj, ConsultationResponse):
            session.info.setdefault("kb_deleted_responses", set()).add(obj.id)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, ConsultationResponse) and obj.needs_indexing:
            session.info["kb_responses_due"] = True


def _after_commit(session):
    deleted = session.info.pop("kb_deleted_responses", set())
    due = session.info.pop("kb_responses_due", False)
    if not (due or deleted) or not current_app \
            or current_app.config.get("INDEXING_MODE", "inline") == "off":
        return
    try:
        flush(deleted)
    except Exception:  # the flags stay set: the next commit's flush or `kb reindex` retries
        log.exception("updating the response index failed; it will be retried")


def _after_rollback(session, _transaction):
    session.info.pop("kb_deleted_responses", None)
    session.info.pop("kb_responses_due", None)


def init_app(app) -> None:
    from sqlalchemy.orm import Session as SessionClass

    if not event.contains(SessionClass, "before_flush", _before_flush):
        event.listen(SessionClass, "before_flush", _before_flush)
        event.listen(SessionClass, "after_commit", _after_commit)
        event.listen(SessionClass, "after_soft_rollback", _after_rollback)


# --- searching ----------------------------------------------------------------------------------

def reader_access(user: User | None) -> response_index.ResponseAccess:
    """The index filter for `user`, from the rules of access.can_see_response."""
    if access.has_role(user, Role.EDITOR):
        return response_index.ResponseAccess(everything=True)
    today = clock.local_today()
    shared = [c.id for c in db.session.scalars(select(Consultation).where(
        access.visible_consultations_clause(user)))
        if c.responses_shared or c.state_on(today) in (ConsultationState.CLOSED,
                                                        ConsultationState.SUBMITTED)]
    return response_index.ResponseAccess(
        consultations=tuple(shared), author_id=user.id if access.is_signed_in(user) else None)


@dataclass
class ResponseResults:
    q: str
    consultation_id: int | None
    total: int
    page: int
    responses: list[ConsultationResponse]
    snippets: dict[int, object]
    facets: list[tuple[Consultation, int]] = field(default_factory=list)


def search_responses(user: User | None, q: str = "", consultation_id: int | None = None,
                     page: int = 1) -> ResponseResults:
    """Raises ValidationError for a query that cannot be run."""
    if not 1 <= page <= MAX_PAGE:
        raise ValidationError(_l("page must be between %(low)d and %(high)d.", low=1,
                                 high=MAX_PAGE), field="page")
    try:
        parsed = search.parse(q or "")
    except search.QueryError as error:
        raise ValidationError(str(error), field="q") from None
    path = index_path()
    response_index.ensure(path)
    hits = response_index.search(path, parsed, reader_access(user), consultation_id, page,
                                 PER_PAGE)
    today = clock.local_today()
    found = {r.id: r for r in db.session.scalars(select(ConsultationResponse).where(
        ConsultationResponse.id.in_(hits.ids)))}
    # The database has the last word: a change the index has not caught up with never shows.
    shown = [found[i] for i in hits.ids if i in found
             and access.can_see_response(user, found[i], today)]
    snippets = {r.id: search.snippet(f"{r.text}\n{r.proposed_wording}", hits.terms)
                for r in shown}
    consultations = {c.id: c for c in db.session.scalars(select(Consultation).where(
        Consultation.id.in_([int(k) for k in hits.facets])))}
    facets = sorted(((consultations[int(k)], n) for k, n in hits.facets.items()
                     if int(k) in consultations
                     and access.can_view_consultation(user, consultations[int(k)])),
                    key=lambda pair: (-pair[1], pair[0].id))
    return ResponseResults(q, consultation_id, hits.total, page, shown, snippets, facets)
