"""After a file is stored: extracting its text and making its thumbnail, off the request path.

The database says which files still need work (extraction state "pending"), so nothing is lost
if the process stops: `kb reprocess`, or the next start of `kb run`, picks them up again.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from flask import current_app
from sqlalchemy import select

from kb.extensions import db
from kb.ingest import storage
from kb.models import ExtractionState, ResourceFile, ResourceLanguage, utcnow

_executor_lock = threading.Lock()
# process_files writes its results in batches: a commit (a sync to disk) per file cost more than
# reading a small file. A stop in between loses at most these results; their files stay
# "pending" and `kb reprocess` reads them again. At most a second between commits, so that the
# web server's writes never wait long for SQLite's write lock.
COMMIT_EVERY = 100  # results
COMMIT_SECONDS = 1.0


def thumbnail_path(sha256: str) -> Path:
    return Path(current_app.config["THUMBNAIL_PATH"]) / f"{sha256}.png"


def _limits() -> dict:
    config = current_app.config
    return {"timeout": config["EXTRACTION_TIMEOUT"], "memory_mb": config["EXTRACTION_MEMORY_MB"],
            "ocr": config["EXTRACTION_OCR"]}


def _work(blob: Path, content_type: str, thumb: Path, limits: dict):
    """The part that touches no database, so several can run at once in threads, each in its
    own limited child process (small plain text is read in process, see kb.ingest.extract).
    Returns the Extraction."""
    from kb.ingest.extract import extract
    from kb.ingest.thumbnails import can_thumbnail, make_thumbnail

    result = extract(blob, content_type, **limits)
    if can_thumbnail(content_type) and not thumb.exists():
        thumb.parent.mkdir(parents=True, exist_ok=True)
        make_thumbnail(blob, content_type, thumb)
    return result


def process_in_place(stored: ResourceFile) -> bool:
    """Read a small plain-text file right here and record the result in the session, without
    committing (the caller commits it with the file's rows). False, doing nothing, for a file
    that needs a child process or has a thumbnail to make: process_files does those."""
    from kb.ingest.extract import extract_text_in_process, runs_in_process
    from kb.ingest.thumbnails import can_thumbnail

    blob = _blob(stored)
    if can_thumbnail(stored.content_type) or not runs_in_process(blob, stored.content_type):
        return False
    _record(stored, extract_text_in_process(blob, stored.content_type))
    return True


def _record(stored: ResourceFile, result) -> None:
    stored.text = result.text
    stored.properties = dict(result.properties)
    stored.extraction_state = ExtractionState(result.state)
    stored.extraction_error = result.error or ""
    _fill_metadata_from(stored)
    # A new version of the resource as far as search is concerned (the indexer compares it).
    stored.resource.needs_indexing = True
    stored.resource.updated_at = utcnow()


def _blob(stored: ResourceFile) -> Path:
    return storage.blob_path(current_app.config["FILE_STORE_PATH"], stored.sha256)


def _record_missing(stored: ResourceFile) -> None:
    stored.extraction_state = ExtractionState.FAILED
    stored.extraction_error = "The stored file is missing."


def process_file(file_id: int) -> ResourceFile | None:
    """Extract one file's text and properties, make its thumbnail, and fill the resource's
    empty metadata from the file's own properties. Failures are recorded, never raised."""
    stored = db.session.get(ResourceFile, file_id)
    if stored is None:
        return None
    blob = _blob(stored)
    if blob.exists():
        _record(stored, _work(blob, stored.content_type, thumbnail_path(stored.sha256),
                              _limits()))
    else:
        _record_missing(stored)
    db.session.commit()
    return stored


def process_files(file_ids: list[int], workers: int | None = None,
                  on_done: Callable[[ResourceFile], None] | None = None) -> list[ResourceFile]:
    """Process many files with `workers` extractions at a time (default: one per core);
    results are written from this thread, a commit every COMMIT_EVERY results or
    COMMIT_SECONDS seconds, and at the end."""
    workers = workers or os.cpu_count() or 1
    limits, done = _limits(), []
    batch = _Batch()
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kb-extract") as pool:
            futures = {}
            for file_id in file_ids:
                stored = db.session.get(ResourceFile, file_id)
                if stored is None:
                    continue
                blob = _blob(stored)
                if not blob.exists():
                    _record_missing(stored)
                    batch.added()
                    done.append(stored)
                    if on_done:
                        on_done(stored)
                    continue
                futures[pool.submit(_work, blob, stored.content_type,
                                    thumbnail_path(stored.sha256), limits)] = file_id
            for future in as_completed(futures):
                stored = db.session.get(ResourceFile, futures[future])
                _record(stored, future.result())
                batch.added()
                done.append(stored)
                if on_done:
                    on_done(stored)
    except BaseException:
        try:
            batch.commit()  # what was read is kept, even when stopped
        except Exception:
            db.session.rollback()
        raise
    batch.commit()
    return done


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


def _executor(app) -> ThreadPoolExecutor:
    with _executor_lock:
        executor = app.extensions.get("kb_processing")
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-extract")
            app.extensions["kb_processing"] = executor
        return executor


def _run_in_background(app, file_ids: list[int]) -> None:
    with app.app_context():
        for file_id in file_ids:
            try:
                process_file(file_id)
            except Exception:  # keep the worker alive; the file stays pending for a retry
                db.session.rollback()
                app.logger.exception("Processing file %s failed", file_id)
        db.session.remove()


def schedule(file_ids: list[int]):
    """Process files as configured: in the background (the default) or right now.
    Returns a Future in background mode (tests and commands may wait on it)."""
    if not file_ids:
        return None
    mode = current_app.config["EXTRACTION_MODE"]
    if mode == "inline":
        for file_id in file_ids:
            process_file(file_id)
        return None
    if mode == "off":
        return None
    app = current_app._get_current_object()
    return _executor(app).submit(_run_in_background, app, list(file_ids))


def pending_file_ids(include_failed: bool = False) -> list[int]:
    states = [ExtractionState.PENDING] + ([ExtractionState.FAILED] if include_failed else [])
    return list(db.session.scalars(select(ResourceFile.id).where(
        ResourceFile.extraction_state.in_(states)).order_by(ResourceFile.id)))
