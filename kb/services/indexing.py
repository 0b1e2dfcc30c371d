"""Keeping each node's search index in step with the database, which is the source of truth.

Every change to what the index holds — a new, edited, deleted, published or hidden resource, a
new file or file text; likewise a consultation response for the responses' index
(kb/services/response_search.py) — appends an entry to the change log (kb/models/changes.py) in the same
transaction as the change: services say so by calling `mark(resource)` as part of the change
(deletions are seen by the session), and the session hook below writes the entries during the
flush. Nothing about *what* to index is implicit.

Each node's index remembers, beside itself, the last entry it applied (`applied through`).
`catch_up()` applies every newer entry: it re-reads those resources as they are now and writes
them (or removes the deleted ones), so applying an entry twice or out of order is harmless. It
runs right after every commit that wrote entries (a node sees its own changes at once), and a
follower thread in `kb run` runs it every INDEX_POLL_SECONDS for other nodes' changes (woken at
once by PostgreSQL's NOTIFY). An index that is missing, lost or behind a pruned log is rebuilt
from the database and then catches up. One machine works exactly the same way.
"""
from __future__ import annotations

import functools
import logging
import socket
import threading
import time as clock
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, event, exists, func, insert, select, text, true
from sqlalchemy.orm import Session, aliased, object_session, selectinload

from kb import search
from kb.extensions import db
from kb.ingest.sanitize import plain_text
from kb.services import response_search
from kb.models import (ConsultationResponse, IndexChange, IndexLogState, IndexNode, Resource,
                       ResourceFile, utcnow)
from kb.models.changes import RESOURCE, RESPONSE

log = logging.getLogger(__name__)

BATCH = 500
NOTIFY_CHANNEL = "kb_index_changes"
_suspended = threading.local()
_MARKS = "kb_index_marks"
_DELETED = "kb_index_deleted"
_WROTE = "kb_index_wrote"


def _index_path() -> str:
    return current_app.config["SEARCH_INDEX_PATH"]


def node_name() -> str:
    """This node: INDEX_NODE_NAME, else its host name and index folder."""
    configured = current_app.config.get("INDEX_NODE_NAME")
    return configured or f"{socket.gethostname()}:{_index_path()}"[:200]


# --- what the index holds of a resource ------------------------------------------------------

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


def _loaded():
    """Resources with everything document_for reads, in few queries."""
    return (select(Resource).options(
        selectinload(Resource.files), selectinload(Resource.tags),
        selectinload(Resource.objectives), selectinload(Resource.language_rows),
        selectinload(Resource.authors), selectinload(Resource.kind),
        selectinload(Resource.organisation), selectinload(Resource.province),
        selectinload(Resource.district), selectinload(Resource.commune)))


# --- writing the change log, in the transaction of the change ---------------------------------

_KINDS = {Resource: RESOURCE, ConsultationResponse: RESPONSE}


def mark(item: Resource | ConsultationResponse) -> None:
    """Part of a change to `item` (a resource, or a consultation response): its entry goes into
    the change log with the change."""
    session = object_session(item) or db.session()
    session.info.setdefault(_MARKS, set()).add(item)


def _before_flush(session, _context, _instances):
    for obj in session.deleted:
        kind = _KINDS.get(type(obj))
        if kind is not None and obj.id is not None:
            session.info.setdefault(_DELETED, set()).add((kind, obj.id))


def _after_flush(session, _context):
    marks = session.info.get(_MARKS, set())
    keys = {(_KINDS[type(obj)], obj.id) for obj in marks if obj.id is not None} \
        | session.info.pop(_DELETED, set())
    session.info[_MARKS] = {obj for obj in marks if obj.id is None}  # not flushed yet
    if keys:
        # Straight through the flush's own connection: the entries are part of the change.
        connection = session.connection()
        connection.execute(insert(IndexChange), [{"kind": kind, "resource_id": i, "at": utcnow()}
                                                 for kind, i in sorted(keys)])
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # delivered at commit
        session.info[_WROTE] = True


def _after_commit(session):
    if not session.info.pop(_WROTE, False) or getattr(_suspended, "on", False):
        return
    if not current_app or current_app.config.get("INDEXING_MODE", "inline") == "off":
        return
    try:
        catch_up()
    except Exception:  # the entries stay in the log: the next catch-up applies them
        log.exception("updating the search index failed; it will be retried")


def _after_rollback(session):
    for key in (_MARKS, _DELETED, _WROTE):
        session.info.pop(key, None)


@contextmanager
def deferred():
    """Within this block commits do not update the index (a bulk import catches up once at
    the end, in one writer, instead of once per file). The entries are written as usual."""
    previous = getattr(_suspended, "on", False)
    _suspended.on = True
    try:
        yield
    finally:
        _suspended.on = previous


def init_app(app) -> None:
    """Listen to the application's sessions (once per process: the listeners are global)."""
    from sqlalchemy.orm import Session as SessionClass

    if not event.contains(SessionClass, "before_flush", _before_flush):
        event.listen(SessionClass, "before_flush", _before_flush)
        event.listen(SessionClass, "after_flush", _after_flush)
        event.listen(SessionClass, "after_commit", _after_commit)
        event.listen(SessionClass, "after_soft_rollback", lambda s, _t: _after_rollback(s))


# --- applying the log to this node's index ----------------------------------------------------

@dataclass
class _Progress:
    """What this process knows of its index's place in the log, beyond the file beside it."""

    through: int
    beyond: set = field(default_factory=set)     # applied, above a gap
    gaps: dict = field(default_factory=dict)     # missing seq -> when first seen missing


_progress: dict[str, _Progress] = {}
_progress_lock = threading.Lock()
_apply_locks: dict[str, threading.Lock] = {}


@dataclass
class FlushResult:
    written: int = 0
    deleted: int = 0
    entries: int = 0
    rebuilt: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def left(self) -> int:  # kept for the callers of the flag-based indexer
        return 1 if self.errors else 0


def _apply_lock(path: str) -> threading.Lock:
    with _progress_lock:
        return _apply_locks.setdefault(path, threading.Lock())


def catch_up(wait: float | None = None, procs: int = 1) -> FlushResult:
    """Apply every change-log entry this node's index has not applied yet (rebuilding the
    index first when it is missing or too far behind). Uses its own database sessions.
    `procs` > 1 (commands only, never a server process) analyses a large batch in that many
    processes."""
    path = _index_path()
    wait = current_app.config.get("INDEX_WRITE_WAIT", 30.0) if wait is None else wait
    result = FlushResult()
    with _apply_lock(path):
        with Session(db.engine) as session:
            progress = _progress_for(session, path, result, procs)
            while True:
                rows = list(session.execute(
                    select(IndexChange.seq, IndexChange.kind, IndexChange.resource_id)
                    .where(IndexChange.seq > progress.through)
                    .order_by(IndexChange.seq).limit(BATCH)))
                todo = [(seq, kind, rid) for seq, kind, rid in rows
                        if seq not in progress.beyond]
                if todo:
                    resources = {rid for _s, kind, rid in todo if kind == RESOURCE}
                    responses = {rid for _s, kind, rid in todo if kind == RESPONSE}
                    try:
                        written, removed = _apply(session, path, resources, wait, procs) \
                            if resources else (0, 0)
                        if responses:
                            response_search.write_latest(session, responses, wait)
                    except search.IndexBusy as busy:
                        log.warning("search index busy; the log waits: %s", busy)
                        result.errors.append(str(busy))
                        break
                    result.written += written
                    result.deleted += removed
                    result.entries += len(todo)
                progress.beyond.update(seq for seq, _kind, _rid in todo)
                _advance(progress, max((seq for seq, _kind, _rid in rows),
                                       default=progress.through))
                search.record_applied_through(path, progress.through, progress.beyond)
                if len(rows) < BATCH:
                    break
            _report_node(session, progress.through)
    return result


def flush(deleted_ids=(), wait: float | None = None, procs: int = 1) -> FlushResult:
    """The name the callers of the former flag-based indexer know: catch up."""
    return catch_up(wait=wait, procs=procs)


def _apply(session: Session, path: str, ids: set[int], wait: float,
           procs: int = 1) -> tuple[int, int]:
    """Write these resources as the database has them now; remove those it no longer has.
    The rows are read once the index's writer lock is held, so no writer can put back an older
    version after another wrote a newer one."""
    found: list[Resource] = []

    def read_latest():
        session.expire_all()
        found.extend(session.scalars(_loaded().where(Resource.id.in_(ids))))
        present = {r.id for r in found}
        return [document_for(r) for r in found], sorted(ids - present)

    search.write_latest(path, read_latest, wait=wait,
                        procs=procs if len(ids) >= search.PARALLEL_FROM else 1)
    return len(found), len(ids) - len(found)


def _advance(progress: _Progress, highest_seen: int) -> None:
    """Move `through` over every applied entry, and over a missing one once it has been
    missing longer than INDEX_GAP_SECONDS (a transaction that never committed its entry)."""
    patience = float(current_app.config.get("INDEX_GAP_SECONDS", 120))
    now = clock.monotonic()
    while progress.through < highest_seen:
        following = progress.through + 1
        if following in progress.beyond:
            progress.beyond.discard(following)
        elif now - progress.gaps.setdefault(following, now) < patience:
            return
        progress.gaps.pop(following, None)
        progress.through = following


def _progress_for(session: Session, path: str, result: FlushResult,
                  procs: int = 1) -> _Progress:
    """This node's place in the log, rebuilding the index first when it cannot catch up: no
    index, no record of its place, a place the log does not have (a restored database), or a
    place behind what was pruned."""
    search.ensure_index(path)
    through = search.applied_through(path)
    pruned = session.scalar(select(IndexLogState.pruned_through)) or 0
    highest = max(session.scalar(select(func.max(IndexChange.seq))) or 0, pruned)
    known = _progress.get(path)
    if (through is None or through > highest or through < pruned
            or not search.schema_is_current(path)):
        _rebuild(session, path, procs)
        result.rebuilt = True
        through = search.applied_through(path) or 0
        known = None
    elif response_search.ensure_index():
        # The responses' index alone was missing (or of an older schema): filled from the
        # database as it is now, it holds every entry up to now; later ones follow as usual.
        response_search.rebuild()
    if known is None or known.through < through:
        # What an earlier process applied beyond a gap is not applied again, and counts as done.
        known = _progress[path] = _Progress(through, search.applied_beyond(path))
    return known


def _rebuild(session: Session, path: str, procs: int = 1) -> int:
    """Build the index anew from the database; it holds the log up to the entry that was last
    when the rows were read (later entries are applied after)."""
    through = session.scalar(select(func.max(IndexChange.seq))) or 0
    count = search.rebuild(path, all_documents(), procs=procs)
    # The responses' index shares this place in the log, so it is rebuilt with it.
    response_search.rebuild()
    search.record_applied_through(path, through)
    _progress.pop(path, None)
    log.info("search index rebuilt from the database: %d resources, log entry %d",
             count, through)
    return count


def _report_node(session: Session, through: int) -> None:
    """Tell the others (and `kb check`) how far this node has come."""
    name = node_name()
    row = session.get(IndexNode, name)
    if row is None:
        session.add(IndexNode(node=name, applied_through=through, seen_at=utcnow()))
    else:
        row.applied_through, row.seen_at = through, utcnow()
    try:
        session.commit()
    except Exception:  # two processes of one node reporting at once: one report is enough
        session.rollback()


def all_documents(batch: int = BATCH):
    """Every resource as an index document, read in batches (for rebuilding)."""
    with Session(db.engine) as session:
        last = 0
        while True:
            rows = list(session.scalars(_loaded().where(Resource.id > last)
                                        .order_by(Resource.id).limit(batch)))
            if not rows:
                return
            for resource in rows:
                yield document_for(resource)
            last = rows[-1].id
            session.expunge_all()


def reindex(procs: int = 1) -> int:
    """Rebuild this node's index from the database, then apply what changed meanwhile."""
    path = _index_path()
    with _apply_lock(path), Session(db.engine) as session:
        count = _rebuild(session, path, procs)
    catch_up(procs=procs)
    return count


# --- lag, pruning, following other nodes -------------------------------------------------------

@dataclass
class Lag:
    entries: int = 0
    seconds: float = 0.0


def lag() -> Lag:
    """How far this node's index is behind the log: entries, and the age of the oldest."""
    path = _index_path()
    through = search.applied_through(path) or 0
    # Applied beyond a gap: as this process knows it, else as the node recorded it.
    beyond = _progress[path].beyond if path in _progress else search.applied_beyond(path)
    waiting = db.session.scalar(select(func.count(IndexChange.seq))
                                .where(IndexChange.seq > through)) or 0
    oldest = db.session.scalar(select(func.min(IndexChange.at)).where(
        IndexChange.seq > through, IndexChange.seq.notin_(beyond) if beyond else true()))
    entries = max(0, waiting - len(beyond))
    seconds = max(0.0, (utcnow() - oldest).total_seconds()) if oldest and entries else 0.0
    return Lag(entries, round(seconds, 3))


def prune(keep_days: float | None = None) -> int:
    """Drop entries every node has applied and that are older than `keep_days`; a node that
    comes back behind them rebuilds its index. Returns how many were dropped."""
    keep_days = current_app.config.get("INDEX_LOG_KEEP_DAYS", 7) if keep_days is None \
        else keep_days
    cutoff = utcnow() - timedelta(days=keep_days)
    recent = select(func.min(IndexNode.applied_through)).where(IndexNode.seen_at >= cutoff)
    safe = db.session.scalar(recent) or 0
    last = db.session.scalar(select(func.max(IndexChange.seq)).where(
        IndexChange.seq <= safe, IndexChange.at < cutoff))
    if not last:
        return 0
    dropped = db.session.execute(delete(IndexChange).where(IndexChange.seq <= last)).rowcount
    state = db.session.get(IndexLogState, 1)
    if state is None:
        db.session.add(IndexLogState(id=1, pruned_through=last))
    else:
        state.pruned_through = max(state.pruned_through, last)
    db.session.commit()
    return dropped


class Follower:
    """A thread that applies other nodes' changes: every INDEX_POLL_SECONDS, and at once when
    PostgreSQL says something was written (LISTEN/NOTIFY)."""

    def __init__(self, app):
        self.app = app
        self.poll = float(app.config.get("INDEX_POLL_SECONDS", 1.0))
        self.stopping = threading.Event()
        # Set once the first catch-up is done: until then a new node's index is still being
        # built from the database, and the node says so to load balancers (/healthz: 503).
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kb-index-follower", daemon=True)

    def start(self) -> Follower:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        with self.app.app_context():
            listener = _Listener(self.app)
            pruned_at = 0.0
            while not self.stopping.is_set():
                try:
                    catch_up()
                    self.ready.set()
                    if clock.monotonic() - pruned_at > 3600:
                        pruned_at = clock.monotonic()
                        prune()
                except Exception:
                    db.session.rollback()
                    log.exception("following the change log failed; trying again")
                db.session.remove()
                listener.wait(self.poll, self.stopping)
            listener.close()


class _Listener:
    """PostgreSQL's LISTEN on its own connection; on SQLite, a plain wait."""

    def __init__(self, app):
        self.connection = None
        if db.engine.dialect.name == "postgresql":
            try:
                import psycopg

                url = db.engine.url.set(drivername="postgresql")
                self.connection = psycopg.connect(url.render_as_string(hide_password=False),
                                                  autocommit=True)
                self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except Exception:  # polling alone still works
                log.warning("LISTEN unavailable; polling only", exc_info=True)
                self.connection = None

    def wait(self, seconds: float, stopping: threading.Event) -> None:
        if self.connection is None:
            stopping.wait(seconds)
            return
        try:
            for _notice in self.connection.notifies(timeout=seconds, stop_after=1):
                break
        except Exception:
            log.warning("LISTEN connection lost; polling only", exc_info=True)
            self.close()
            stopping.wait(seconds)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                pass
            self.connection = None


def start_follower(app) -> Follower:
    follower = app.extensions.get("kb_index_follower")
    if follower is None:
        follower = app.extensions["kb_index_follower"] = Follower(app).start()
    return follower


def still_building(app) -> bool:
    """True while this node's follower has not finished its first catch-up (a new or lost
    index being built from the database): its searches would miss documents."""
    follower = app.extensions.get("kb_index_follower")
    return follower is not None and not follower.ready.is_set()


def stop_follower(app) -> None:
    follower = app.extensions.pop("kb_index_follower", None)
    if follower is not None:
        follower.stop()


# --- checking ----------------------------------------------------------------------------------

@dataclass
class CheckReport:
    index: str = "ok"
    missing: list[int] = field(default_factory=list)   # in the database, not in the index
    stale: list[int] = field(default_factory=list)     # indexed from an older version
    orphaned: list[int] = field(default_factory=list)  # in the index, not in the database
    pending: int = 0                                    # log entries not yet applied
    # The same for the consultation responses' index: {"missing"|"stale"|"orphaned": ids}
    responses: dict = field(default_factory=dict)
    lag_seconds: float = 0.0
    # Copies of bytes another file holds, stored before checksums were unique: kept, and only
    # reported (they are someone's data; an editor may delete the redundant resource).
    duplicate_files: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.index == "ok" and not self.missing and not self.stale and not self.orphaned
                and not self.pending and not any(self.responses.values()))

    def lines(self) -> list[str]:
        out = [f"Search index: {self.index}"]
        for label, ids in (("Missing from the index", self.missing),
                           ("Stale in the index", self.stale),
                           ("In the index but not in the database", self.orphaned)):
            if ids:
                shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                out.append(f"{label}: {len(ids)} ({shown})")
        for label, key in (("Responses missing from their index", "missing"),
                           ("Responses stale in their index", "stale"),
                           ("Responses in their index but not in the database", "orphaned")):
            ids = self.responses.get(key) or []
            if ids:
                shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                out.append(f"{label}: {len(ids)} ({shown})")
        if self.pending:
            out.append(f"Waiting to be indexed: {self.pending} change-log entries "
                       f"(the oldest {self.lag_seconds:.1f} s old)")
        if self.duplicate_files:
            shown = ", ".join(str(i) for i in self.duplicate_files[:20])
            out.append(f"Note: files stored twice before checksums were unique, kept (file ids): "
                       f"{len(self.duplicate_files)} ({shown}"
                       f"{' …' if len(self.duplicate_files) > 20 else ''})")
        return out


def check() -> CheckReport:
    """Compare the database and this node's index (the stored files: filestore.check_files)."""
    report = CheckReport()
    ok, message = search.check_index(_index_path())
    db_versions = {rid: (updated.isoformat() if updated else "") for rid, updated in
                   db.session.execute(select(Resource.id, Resource.updated_at))}
    behind = lag()
    report.pending, report.lag_seconds = behind.entries, behind.seconds
    report.duplicate_files = _duplicate_files()
    report.responses = response_search.check()
    if not ok:
        report.index = message
        return report
    indexed = search.entries(_index_path())
    report.missing = sorted(set(db_versions) - set(indexed))
    report.orphaned = sorted(set(indexed) - set(db_versions))
    report.stale = sorted(rid for rid, version in indexed.items()
                          if rid in db_versions and db_versions[rid] != version)
    return report


def _duplicate_files() -> list[int]:
    """Marked copies whose bytes another file still holds."""
    original = aliased(ResourceFile)
    return list(db.session.scalars(
        select(ResourceFile.id).where(ResourceFile.legacy_duplicate.is_(True), exists().where(
            original.sha256 == ResourceFile.sha256, original.id != ResourceFile.id))
        .order_by(ResourceFile.id)))


def repair(report: CheckReport) -> CheckReport:
    """Fix what check() found in the index (a rebuild when the index itself is broken)."""
    if report.index != "ok":
        reindex()
        return check()
    ids = set(report.missing) | set(report.stale) | set(report.orphaned)
    responses = set().union(*report.responses.values()) if report.responses else set()
    entries = [{"kind": RESOURCE, "resource_id": i, "at": utcnow()} for i in sorted(ids)] + \
        [{"kind": RESPONSE, "resource_id": i, "at": utcnow()} for i in sorted(responses)]
    if entries:
        db.session.execute(insert(IndexChange), entries)
        db.session.commit()
    catch_up()
    return check()

