"""Searching members' responses, with the consultation as a facet.

The responses' index follows the change log exactly as the resources' index does
(kb/services/indexing.py): every change to a response appends an entry (`indexing.mark`) in the
transaction of the change, and each node's catch-up writes the responses of the entries it has
not applied yet — its own at once, other nodes' through the follower — so every node's index
holds every response. A missing index is rebuilt from the database. The reader's access is
computed here from the same rules as the pages (`access.can_see_response`): the consultations
whose responses the reader may see in full, and the reader's own responses; visitors therefore
find only responses of public consultations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
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


def ensure_index() -> bool:
    """Create this node's response index when missing or of another schema (True: created,
    and empty: the caller fills it with rebuild())."""
    return response_index.ensure(index_path())


def write_latest(session: Session, ids: set[int], wait: float | None = None) -> int:
    """Write these responses as the database has them now and drop those it no longer has
    (the change log's entries; kb/services/indexing.py). The rows are read once the writer
    lock is held, so no writer puts back an older version after another wrote a newer one."""
    path = index_path()
    response_index.ensure(path)
    wait = current_app.config.get("INDEX_WRITE_WAIT", 30.0) if wait is None else wait
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = sorted(ids)[start:start + BATCH]

        def read(chunk=chunk):
            session.expire_all()
            rows = list(session.scalars(_loaded().where(ConsultationResponse.id.in_(chunk))))
            present = {r.id for r in rows}
            return [document_for(r) for r in rows], [i for i in chunk if i not in present]

        written += response_index.write(path, read, wait=wait)
    return written


def rebuild() -> int:
    """A fresh response index from the database (with the resources' index, kb/services/
    indexing.py, or alone when only it was missing). Returns how many it holds."""
    path = index_path()
    response_index.create(path)
    written = 0
    with Session(db.engine) as session:
        last = 0
        while True:
            ids = list(session.scalars(select(ConsultationResponse.id).where(
                ConsultationResponse.id > last).order_by(ConsultationResponse.id).limit(BATCH)))
            if not ids:
                return written
            written += write_latest(session, set(ids))
            last = ids[-1]
            session.expunge_all()


def indexed_count() -> int:
    return len(response_index.entries(index_path())) if response_index.exists(index_path()) else 0


def check() -> dict[str, list[int]]:
    """Compare this node's response index with the database: responses missing from it,
    indexed from an older version, or no longer in the database."""
    path = index_path()
    if not response_index.exists(path):
        return {"missing": sorted(db.session.scalars(select(ConsultationResponse.id))),
                "stale": [], "orphaned": []}
    versions = {rid: updated.isoformat() for rid, updated in db.session.execute(
        select(ConsultationResponse.id, ConsultationResponse.updated_at))}
    indexed = response_index.entries(path)
    return {"missing": sorted(set(versions) - set(indexed)),
            "stale": sorted(i for i, v in indexed.items() if i in versions and versions[i] != v),
            "orphaned": sorted(set(indexed) - set(versions))}


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
