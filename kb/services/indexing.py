"""Keeping the search index in step with the database, which is the source of truth.

Every change to a resource sets `needs_indexing` in the same transaction as the change. After
the commit, `flush()` writes every flagged resource to the index (one writer, waiting with
back-off while another process writes) and clears the flags of the rows it wrote, unless they
changed again meanwhile. Deleted resources are removed right after their commit. Whatever a
crash or a busy index leaves behind is still flagged and is written by the next flush;
`kb check` finds any other drift and `kb check --repair` fixes it.

The services set `needs_indexing` explicitly, as part of each change; the only thing hooked to
the session is *when* the flush runs (after a commit that touched a resource), so that no code
path can commit a change and forget to index it. Nothing about what to index is implicit.
"""
from __future__ import annotations

import functools
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, selectinload

from kb.extensions import db
from kb.ingest.sanitize import plain_text
from kb.models import Resource, ResourceFile
from kb import search

log = logging.getLogger(__name__)

BATCH = 500
_suspended = threading.local()


def _index_path() -> str:
    return current_app.config["SEARCH_INDEX_PATH"]


def version_of(resource: Resource) -> str:
    return resource.updated_at.isoformat() if resource.updated_at else ""


def shown_text(resource: Resource) -> str:
    """The text a search result's snippet is cut from: the summary and the files' text. The
    indexed body starts with exactly this text, so the character offsets the index keeps
    for the body are offsets in it (kb.search.highlight)."""
    files = "\n".join(f.text for f in resource.current_files if f.text)
    return f"{_plain_summary(resource.summary_html or '')}\n{files}".strip()


# Summaries are shown as plain text in every result they appear in: converted once each.
_plain_summary = functools.lru_cache(maxsize=4096)(plain_text)


def document_for(resource: Resource) -> search.IndexDocument:
    """What the index holds of a resource: its words in every language and its facets."""
    place_names = []
    for place in (resource.commune, resource.district, resource.province):
        if place is not None:
            place_names += [place.name_en, place.name_km]
    body = "\n".join(part for part in [
        shown_text(resource),  # first: see shown_text
        " ".join(a.name for a in resource.authors),
        resource.event,
        " ".join(t.name for t in resource.tags),
        (resource.organisation.short_name + " " + resource.organisation.name_en + " "
         + resource.organisation.name_km) if resource.organisation else "",
        " ".join(n for n in place_names if n),
    ] if part)
    when = resource.date or (resource.created_at.date() if resource.created_at else None)
    moment = datetime.combine(when, time()) if when else datetime(1970, 1, 1)
    return search.IndexDocument(
        id=resource.id, version=version_of(resource),
        title=f"{resource.title}\n{resource.alt_title}".strip(), body=body,
        tags=[t.name for t in resource.tags], kind=resource.kind.code if resource.kind else "",
        objectives=[str(o.number) for o in resource.objectives],
        languages=resource.languages,
        org=resource.organisation.short_name if resource.organisation else "",
        date=moment, published=resource.published_at or resource.created_at or moment,
        province=resource.province_code or "",
        district=resource.district_code or "", commune=resource.commune_code or "",
        status=resource.status.value, visibility=resource.visibility.value,
        owner=resource.owner_id)


def _loaded(session: Session):
    """Resources with everything document_for reads, in few queries."""
    return (select(Resource).options(
        selectinload(Resource.files), selectinload(Resource.tags),
        selectinload(Resource.objectives), selectinload(Resource.language_rows),
        selectinload(Resource.authors), selectinload(Resource.kind),
        selectinload(Resource.organisation), selectinload(Resource.province),
        selectinload(Resource.district), selectinload(Resource.commune)))


@dataclass
class FlushResult:
    written: int = 0
    deleted: int = 0
    left: int = 0   # still flagged (the index stayed busy)
    errors: list[str] = field(default_factory=list)


def _flagged_count(session: Session) -> int:
    return session.scalar(select(db.func.count()).select_from(Resource)
                          .where(Resource.needs_indexing.is_(True)))


def flush(deleted_ids=(), wait: float | None = None, procs: int = 1) -> FlushResult:
    """Write every flagged resource (and remove `deleted_ids`) to the index, then clear the
    flags of what was written. Uses its own database sessions, so it may run right after
    another session's commit. The rows are read while the index's writer lock is held, so
    concurrent flushes in several processes never write an older version over a newer one.
    `procs` > 1 (commands only, never a server process) analyses a large batch in that many
    processes."""
    result = FlushResult()
    wait = current_app.config.get("INDEX_WRITE_WAIT", 30.0) if wait is None else wait
    deleted = list(deleted_ids)
    while True:
        with Session(db.engine) as session:
            flagged = _flagged_count(session)
            if not deleted and not flagged:
                break
            rows: list[Resource] = []

            def read_latest():
                rows.extend(session.scalars(
                    _loaded(session).where(Resource.needs_indexing.is_(True))
                    .order_by(Resource.id).limit(BATCH)))
                return [document_for(r) for r in rows], deleted

            try:
                search.write_latest(_index_path(), read_latest, wait=wait,
                                    procs=procs if flagged >= search.PARALLEL_FROM else 1)
            except search.IndexBusy as busy:
                log.warning("search index busy; flagged resources stay flagged: %s", busy)
                result.left = _flagged_count(session)
                result.errors.append(str(busy))
                break
            result.deleted += len(deleted)
            deleted = []
            for resource in rows:
                # Cleared only if unchanged since it was read: a newer change stays flagged.
                session.execute(update(Resource)
                                .where(Resource.id == resource.id,
                                       Resource.updated_at == resource.updated_at)
                                .values(needs_indexing=False, updated_at=Resource.updated_at)
                                # The loaded rows are not used again: skip matching them.
                                .execution_options(synchronize_session=False))
            session.commit()
            result.written += len(rows)
            if len(rows) < BATCH:
                break
    return result


@contextmanager
def deferred():
    """Within this block commits do not write the index (a bulk import flushes once at the
    end, in one writer, instead of once per file)."""
    previous = getattr(_suspended, "on", False)
    _suspended.on = True
    try:
        yield
    finally:
        _suspended.on = previous


def _before_flush(session, _context, _instances):
    info = session.info
    for obj in session.deleted:
        if isinstance(obj, Resource):
            info.setdefault("kb_deleted_resources", set()).add(obj.id)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Resource) and obj.needs_indexing:
            info["kb_index_due"] = True
        elif isinstance(obj, ResourceFile):
            info["kb_index_due"] = True


def _after_commit(session):
    info = session.info
    deleted = info.pop("kb_deleted_resources", set())
    due = info.pop("kb_index_due", False)
    if not (due or deleted) or getattr(_suspended, "on", False):
        return
    if not current_app or current_app.config.get("INDEXING_MODE", "inline") == "off":
        return
    try:
        flush(deleted)
    except Exception:  # the flags stay set: the next flush or `kb check --repair` retries
        log.exception("updating the search index failed; it will be retried")


def _after_rollback(session):
    session.info.pop("kb_deleted_resources", None)
    session.info.pop("kb_index_due", None)


def init_app(app) -> None:
    """Listen to the application's session (once per process: the listeners are global)."""
    from sqlalchemy.orm import Session as SessionClass

    if not event.contains(SessionClass, "before_flush", _before_flush):
        event.listen(SessionClass, "before_flush", _before_flush)
        event.listen(SessionClass, "after_commit", _after_commit)
        event.listen(SessionClass, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def all_documents(batch: int = BATCH):
    """Every resource as an index document, read in batches (for rebuilding)."""
    with Session(db.engine) as session:
        last = 0
        while True:
            rows = list(session.scalars(_loaded(session).where(Resource.id > last)
                                        .order_by(Resource.id).limit(batch)))
            if not rows:
                return
            for resource in rows:
                yield document_for(resource)
            last = rows[-1].id
            session.expunge_all()


def reindex(procs: int = 1) -> int:
    """Rebuild the index from the database and clear every flag. Returns the count."""
    started = datetime.utcnow()
    count = search.rebuild(_index_path(), all_documents(), procs=procs)
    # Flags set by changes made while rebuilding stay set (those rows are newer).
    db.session.execute(update(Resource).where(Resource.updated_at <= started)
                       .values(needs_indexing=False, updated_at=Resource.updated_at))
    db.session.commit()
    flush()
    return count


@dataclass
class CheckReport:
    index: str = "ok"
    missing: list[int] = field(default_factory=list)   # in the database, not in the index
    stale: list[int] = field(default_factory=list)     # indexed from an older version
    orphaned: list[int] = field(default_factory=list)  # in the index, not in the database
    pending: int = 0                                    # flagged, not yet written
    files_missing: list[int] = field(default_factory=list)  # stored file gone (file ids)

    @property
    def ok(self) -> bool:
        return (self.index == "ok" and not self.missing and not self.stale and not self.orphaned
                and not self.pending and not self.files_missing)

    def lines(self) -> list[str]:
        out = [f"Search index: {self.index}"]
        for label, ids in (("Missing from the index", self.missing),
                           ("Stale in the index", self.stale),
                           ("In the index but not in the database", self.orphaned),
                           ("Stored file missing (file ids)", self.files_missing)):
            if ids:
                shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                out.append(f"{label}: {len(ids)} ({shown})")
        if self.pending:
            out.append(f"Waiting to be indexed: {self.pending}")
        return out


def check() -> CheckReport:
    """Compare the database, the stored files and the index."""
    from kb.ingest import storage

    report = CheckReport()
    ok, message = search.check_index(_index_path())
    db_versions = {rid: (updated.isoformat() if updated else "") for rid, updated in
                   db.session.execute(select(Resource.id, Resource.updated_at))}
    report.pending = db.session.scalar(select(db.func.count()).select_from(Resource)
                                       .where(Resource.needs_indexing.is_(True)))
    root = current_app.config["FILE_STORE_PATH"]
    for file_id, sha256 in db.session.execute(select(ResourceFile.id, ResourceFile.sha256)):
        if not storage.exists(root, sha256):
            report.files_missing.append(file_id)
    if not ok:
        report.index = message
        return report
    indexed = search.entries(_index_path())
    report.missing = sorted(set(db_versions) - set(indexed))
    report.orphaned = sorted(set(indexed) - set(db_versions))
    report.stale = sorted(rid for rid, version in indexed.items()
                          if rid in db_versions and db_versions[rid] != version)
    return report


def repair(report: CheckReport) -> CheckReport:
    """Fix what check() found in the index (a rebuild when the index itself is broken); the
    stored files cannot be recreated and stay reported."""
    if report.index != "ok":
        reindex()
        return check()
    ids = set(report.missing) | set(report.stale)
    if ids:
        db.session.execute(update(Resource).where(Resource.id.in_(ids))
                           .values(needs_indexing=True, updated_at=Resource.updated_at))
        db.session.commit()
    flush(report.orphaned)
    return check()
