"""After a file is stored: extracting its text and making its thumbnail, off the request path.

The work is a job in the database (kb/services/jobs.py), queued in the transaction that stored
the file, so nothing is lost if a process stops: a process claims a job with a lease, renews
the lease with a heartbeat while it reads the file, and records the result and "done" in one
transaction. A job whose process died is taken over when its lease runs out; a job held by a
live process is never taken twice. `kb run` (unless --no-worker) and `kb worker` run the
queue; `kb import` and `kb reprocess` claim their own files' jobs and read them at once.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from flask import current_app
from sqlalchemy import select

from kb.extensions import db
from kb.ingest.storage import BlobMissing, Store, StoreUnavailable, blob_key, thumbnail_key
from kb.models import ExtractionState, ResourceFile, ResourceLanguage, utcnow
from kb.services import filestore, indexing, jobs

log = logging.getLogger(__name__)
# process_files writes its results in batches: a commit (a sync to disk) per file cost more than
# reading a small file. A stop in between loses at most these results; their files stay
# "pending" and `kb reprocess` reads them again. At most a second between commits, so that the
# web server's writes never wait long for SQLite's write lock.
COMMIT_EVERY = 100  # results
COMMIT_SECONDS = 1.0


def _limits() -> dict:
    config = current_app.config
    return {"timeout": config["EXTRACTION_TIMEOUT"], "memory_mb": config["EXTRACTION_MEMORY_MB"],
            "ocr": config["EXTRACTION_OCR"]}


def _work(store: Store, sha256: str, content_type: str, limits: dict):
    """The part that touches no database, so several can run at once in threads, each in its
    own limited child process (small plain text is read in process, see kb.ingest.extract),
    on a local copy of the file (the file itself in a folder store). Returns the Extraction
    and whether the file has a thumbnail in the store now. Raises BlobMissing and
    StoreUnavailable."""
    from kb.ingest.extract import extract
    from kb.ingest.thumbnails import can_thumbnail

    with store.local_copy(blob_key(sha256)) as blob:
        result = extract(blob, content_type, **limits)
        thumbnail = can_thumbnail(content_type) and (
            store.exists(thumbnail_key(sha256))
            or _make_thumbnail(store, blob, content_type, thumbnail_key(sha256)))
    return result, thumbnail


def _make_thumbnail(store: Store, blob: Path, content_type: str, key: str) -> bool:
    """Render into a local temporary file, then put it in the store under its own key."""
    from kb.ingest.thumbnails import make_thumbnail

    fd, out = store.temporary("thumbnail-")
    os.close(fd)
    try:
        if not make_thumbnail(blob, content_type, out):
            return False
        store.put_file(key, out, "image/png")
        return True
    finally:
        out.unlink(missing_ok=True)


def process_in_place(stored: ResourceFile) -> bool:
    """Read a small plain-text file right here and record the result in the session, without
    committing (the caller commits it with the file's rows). False, doing nothing, for a file
    that needs a child process or has a thumbnail to make (process_files does those), or
    whose bytes cannot be read from the store now (its job stays queued)."""
    from kb.ingest.extract import (IN_PROCESS_MAX_BYTES, IN_PROCESS_TYPES,
                                   extract_text_in_process)
    from kb.ingest.thumbnails import can_thumbnail

    if (can_thumbnail(stored.content_type) or stored.content_type not in IN_PROCESS_TYPES
            or stored.size > IN_PROCESS_MAX_BYTES):
        return False
    try:
        with filestore.store().local_copy(blob_key(stored.sha256)) as blob:
            result = extract_text_in_process(blob, stored.content_type)
    except (BlobMissing, StoreUnavailable) as error:
        log.warning("file %s not read in process: %s", stored.id, error.message)
        return False
    _record(stored, result, thumbnail=False)
    return True


def _record(stored: ResourceFile, result, thumbnail: bool | None = None) -> None:
    if thumbnail is not None:
        stored.has_thumbnail = bool(thumbnail)
    stored.text = result.text
    stored.properties = dict(result.properties)
    stored.extraction_state = ExtractionState(result.state)
    stored.extraction_error = result.error or ""
    _fill_metadata_from(stored)
    # A new version of the resource as far as search is concerned (the indexer compares it).
    indexing.mark(stored.resource)
    stored.resource.updated_at = utcnow()


def _record_missing(stored: ResourceFile) -> None:
    stored.extraction_state = ExtractionState.FAILED
    stored.extraction_error = "The stored file is missing."


def process_file(file_id: int) -> ResourceFile | None:
    """Extract one file's text and properties, make its thumbnail, and fill the resource's
    empty metadata from the file's own properties, now, in this process (its job claimed
    first: a file another live process is reading is left to it). Failures are recorded,
    never raised."""
    done = process_files([file_id], workers=1)
    return done[0] if done else db.session.get(ResourceFile, file_id)


def process_files(file_ids: list[int], workers: int | None = None,
                  on_done: Callable[[ResourceFile], None] | None = None,
                  again: bool = False) -> list[ResourceFile]:
    """Read many files now, `workers` at a time (default: one per core): their jobs are queued
    (again, with `again`: reprocessing) and claimed for this process, kept alive by a heartbeat,
    and finished with their results, a commit every COMMIT_EVERY results or COMMIT_SECONDS
    seconds, and at the end. Files whose job another live process holds are left to it."""
    workers = workers or os.cpu_count() or 1
    owner = jobs.new_owner("batch")
    jobs.enqueue(list(file_ids), again=again)
    db.session.commit()
    held = _claim_all(owner, list(file_ids))
    limits, done, store = _limits(), [], filestore.store()
    batch = _Batch()
    app = current_app._get_current_object()
    with _Heartbeat(app, owner, held.ids):
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kb-extract") as pool:
                futures = {}
                for job in list(held.values()):
                    stored = db.session.get(ResourceFile, job.file_id)
                    if stored is None:
                        _finished(owner, held, job.id, batch, stored, on_done)
                        continue
                    futures[pool.submit(_work, store, stored.sha256, stored.content_type,
                                        limits)] = job.id
                for future in as_completed(futures):
                    job_id = futures[future]
                    stored = db.session.get(ResourceFile, held[job_id].file_id)
                    try:
                        result, thumbnail = future.result()
                    except BlobMissing:
                        result = None
                    except StoreUnavailable as error:
                        # Not the file's fault: its job goes back to the queue, for a worker
                        # (or the next run) to read once the store answers again.
                        log.warning("file %s left queued: %s", held[job_id].file_id,
                                    error.message)
                        jobs.release(owner, [job_id])
                        held.pop(job_id, None)
                        continue
                    if stored is not None:
                        if result is None:
                            _record_missing(stored)
                        else:
                            _record(stored, result, thumbnail)
                        done.append(stored)
                    _finished(owner, held, job_id, batch, stored, on_done)
        except BaseException:
            try:
                batch.commit()  # what was read is kept, even when stopped
            except Exception:
                db.session.rollback()
            jobs.release(owner, list(held))
            raise
        batch.commit()
    return done


class Held(dict):
    """The jobs a process holds, job id -> job; read by its heartbeat thread as it changes."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def __setitem__(self, key, value):
        with self.lock:
            super().__setitem__(key, value)

    def pop(self, key, default=None):
        with self.lock:
            return super().pop(key, default)

    def ids(self) -> list[int]:
        with self.lock:
            return list(self.keys())


def _claim_all(owner: str, file_ids: list[int]) -> Held:
    """Claim the jobs of these files (in chunks: an IN list stays short)."""
    held = Held()
    for start in range(0, len(file_ids), 500):
        chunk = file_ids[start:start + 500]
        for job in jobs.claim(owner, limit=len(chunk), file_ids=chunk):
            if job.attempts > jobs.MAX_ATTEMPTS:
                jobs.give_up(job)
                db.session.commit()
                continue
            held[job.id] = job
    return held


def _finished(owner, held: Held, job_id: int, batch: "_Batch", stored, on_done) -> None:
    jobs.finish(owner, job_id)
    held.pop(job_id, None)
    batch.added()
    if on_done and stored is not None:
        on_done(stored)


class _Heartbeat:
    """Renews the leases of the jobs `held()` returns every third of a lease, from its own
    thread and database session, while the block runs."""

    def __init__(self, app, owner: str, held: Callable[[], list[int]]):
        self.app, self.owner, self.held = app, owner, held
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kb-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        with self.app.app_context():
            interval = jobs.lease_seconds() / 3
            while not self.stopped.wait(interval):
                try:
                    jobs.renew(self.owner, self.held())
                except Exception:  # a database hiccup: the next beat tries again
                    db.session.rollback()
                    log.warning("renewing job leases failed", exc_info=True)
            db.session.remove()


class _Batch:
    """Counts results recorded in the session and commits them now and then."""

    def __init__(self):
        self.count, self.since = 0, time.monotonic()

    def added(self) -> None:
        self.count += 1
        if self.count >= COMMIT_EVERY or time.monotonic() - self.since >= COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.count:
            db.session.commit()
        self.count, self.since = 0, time.monotonic()


def _fill_metadata_from(stored: ResourceFile) -> None:
    """The file's own title and language become defaults, never overrides. Its author and date
    are only offered to the contributor (kb/services/suggestions.py): files name programs and
    template dates there too often to take them unseen."""
    resource, props = stored.resource, stored.properties or {}
    if resource.title_from_file and (props.get("title") or "").strip():
        resource.title = props["title"].strip()[:500]
        resource.title_from_file = False
    if not resource.language_rows and props.get("language") in ("en", "km"):
        resource.language_rows = [ResourceLanguage(code=props["language"])]


def schedule(file_ids: list[int]) -> None:
    """After a commit that queued these files' jobs: read them now ("inline"), or wake this
    process's worker ("background", the default; it starts on first use), or leave them to
    another process's worker ("off")."""
    if not file_ids:
        return
    mode = current_app.config["EXTRACTION_MODE"]
    if mode == "inline":
        process_files(list(file_ids), workers=1)
    elif mode == "background":
        from kb.services.worker import worker_for

        worker_for(current_app._get_current_object()).wake()


def pending_file_ids(include_failed: bool = False) -> list[int]:
    states = [ExtractionState.PENDING] + ([ExtractionState.FAILED] if include_failed else [])
    return list(db.session.scalars(select(ResourceFile.id).where(
        ResourceFile.extraction_state.in_(states)).order_by(ResourceFile.id)))
