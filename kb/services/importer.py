"""Bulk import: moving a folder of documents (a shared drive, a USB stick) into the knowledge base.

Each file becomes one resource. Metadata comes, in increasing priority, from the file's own
properties (after extraction), the command's options, and a `manifest.csv` in the file's folder.
Files whose bytes are already stored are skipped, so an import can be run again safely.

Files are received (copied into the store, checked) a few at a time in threads, ahead of the
one being recorded; a file whose bytes were stored before is only hashed, not copied. Then they
are recorded in batches: each file's bytes go to their final place first, then its rows are added
to an open transaction, committed every BATCH_FILES files or BATCH_SECONDS seconds (a commit per
file, each a sync to disk, cost more than storing a small file). Small plain-text files are read
in this process while their batch is open, so their text is committed with their rows; the
other files are read afterwards, several limited child processes at a time. A file refused on
its own (unreadable, wrong type, empty, too large, a duplicate) costs the batch nothing; a file
that fails once its rows are in the transaction (its metadata, or the database) makes the batch
roll back, and that batch's files are then stored one by one, each in its own transaction, as
an upload would be. A file counts as imported only once its batch is committed. The search
index is written once, at the end.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from flask import current_app
from sqlalchemy import select

from kb.extensions import db
from kb.ingest import storage
from kb.ingest.storable import storable
from kb.models import ResourceFile, User
from kb.services import indexing, ingestion, processing
from kb.services.errors import Conflict, DomainError

log = logging.getLogger(__name__)

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("filename", "title", "kind", "objectives", "tags", "language", "date", "org",
                    "commune_code")
SKIPPED_NAMES = {MANIFEST, ".DS_Store", "Thumbs.db", "desktop.ini"}
# A batch is committed at this many files, or when it has been open this long: while it is open
# it holds SQLite's write lock, which other writers (the web server) wait for (10 s at most).
BATCH_FILES = 200
BATCH_SECONDS = 1.0
# A batch is committed before waiting for a file larger than this (copying it takes a while).
LARGE_FILE = 8 * 1024 * 1024
# Files are received (copied into the store's temporary area, hashed, synced to disk, their type
# sniffed) a few at a time in threads, ahead of the one being recorded: the sync to disk is most
# of a small file's storing time, and it neither needs the database nor holds the GIL.
RECEIVING_THREADS = 4
RECEIVING_AHEAD = 16


@dataclass
class ImportSummary:
    imported: list[tuple[str, int]] = field(default_factory=list)  # (path, resource id)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, where)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    extraction_failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # storing, reading, indexing


def _split(value: str | None) -> list[str]:
    """Manifest lists are separated by ';' or '|' (commas stay for tags)."""
    if not value:
        return []
    for sep in (";", "|"):
        if sep in value:
            return [v.strip() for v in value.split(sep) if v.strip()]
    return [value.strip()]


def read_manifest(folder: Path) -> dict[str, dict]:
    """filename -> metadata from folder/manifest.csv (UTF-8, with or without BOM)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            # A file's text: no NUL characters or lone surrogates, which no database stores.
            row = {key: storable(value) for key, value in row.items()}
            name = (row.get("filename") or "").strip()
            if not name:
                continue
            data = {}
            for column in ("title", "kind", "date", "org", "commune_code"):
                if (row.get(column) or "").strip():
                    data[column] = row[column].strip()
            if (row.get("tags") or "").strip():
                data["tags"] = row["tags"]
            if (row.get("objectives") or "").strip():
                data["objectives"] = _split(row["objectives"].replace(",", ";"))
            if (row.get("language") or "").strip():
                data["language"] = _split(row["language"].replace(",", ";"))
            rows[name] = data
    return rows


def collect_files(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Every regular file under the given files and folders, in a stable order. Folders in
    `exclude` (the application's own instance folder: its secret key, database and stored
    files must never become resources) are not entered, nor are hidden ones."""
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if excluded.intersection(path.resolve().parents) or path.resolve() in excluded:
            continue
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and (Path(root) / d).resolve() not in excluded)
                found.extend(Path(root) / f for f in sorted(files)
                             if f not in SKIPPED_NAMES and not f.startswith("."))
    return found


def import_files(actor: User, files: list[Path], defaults: dict, publish: bool = False,
                 on_progress: Callable[[Path, str], None] | None = None,
                 workers: int | None = None, progress_factory=None) -> ImportSummary:
    """Import each file as a resource, then read their text (small plain text while storing,
    the rest in several limited child processes at a time). `on_progress(path, outcome)`
    follows the storing; `progress_factory(n)` may return a progress bar (with update() and
    close()) for the reading in child processes."""
    with indexing.deferred():  # one index writer at the end, not one per file
        summary = _Import(actor, defaults, publish, on_progress).run(files, workers,
                                                                     progress_factory)
    started = time.perf_counter()
    # A command, not a server: the index is written by a process per core.
    flushed = indexing.flush(procs=os.cpu_count() or 1)
    summary.seconds["indexing"] = time.perf_counter() - started
    log.info("indexed %d resources in %.1f s", flushed.written, summary.seconds["indexing"])
    if flushed.left:
        log.warning("%d resources are still to be indexed (the index was busy): the next "
                    "change or `kb check --repair` writes them", flushed.left)
    return summary


@dataclass
class _Staged:
    """A file whose rows are in the open transaction."""

    path: Path
    data: dict
    resource_id: int
    file_id: int
    extraction: tuple[str, str] | None  # (state, error) when read in process, else None


@dataclass
class _Duplicate:
    """A file found to be a copy while a batch was open (perhaps of a file in that batch): it is
    reported when the batch is committed, and tried again if the batch is rolled back."""

    path: Path
    data: dict
    message: str


class _Import:
    def __init__(self, actor: User, defaults: dict, publish: bool, on_progress):
        self.actor, self.defaults, self.publish = actor, defaults, publish
        self.on_progress = on_progress
        self.summary = ImportSummary()
        self.manifests: dict[Path, dict] = {}
        self.batch: list[_Staged | _Duplicate] = []  # in the open transaction, in order
        self.batch_started = 0.0
        self.to_read: dict[int, str] = {}  # file id -> path, read in child processes

    def run(self, files: list[Path], workers, progress_factory) -> ImportSummary:
        started = time.perf_counter()
        try:
            ingestion.check_may_contribute(self.actor, self.publish)
        except DomainError as error:
            for path in files:
                self._failed(path, str(error.message))
            return self.summary
        self._store(files)
        summary = self.summary
        summary.seconds["storing"] = time.perf_counter() - started
        log.info("stored %d files in %.1f s", len(summary.imported), summary.seconds["storing"])
        started = time.perf_counter()
        self._read_in_children(workers, progress_factory)
        summary.seconds["reading"] = time.perf_counter() - started
        log.info("read %d files in child processes in %.1f s", len(self.to_read),
                 summary.seconds["reading"])
        db.session.remove()
        return summary

    def _store(self, files: list[Path]) -> None:
        """Receive files ahead in threads; record them here, in order."""
        app = current_app._get_current_object()
        known = _stored_sizes()
        upcoming = iter(files)
        ahead: deque = deque()
        with ThreadPoolExecutor(RECEIVING_THREADS, thread_name_prefix="kb-receive") as pool:
            try:
                while True:
                    while len(ahead) < RECEIVING_AHEAD:
                        path = next(upcoming, None)
                        if path is None:
                            break
                        ahead.append((path, pool.submit(_receive, app, path, known)))
                    if not ahead:
                        break
                    path, received = ahead.popleft()
                    self._one(path, received)
                self._commit()
            except BaseException:
                db.session.rollback()  # an interrupted batch is not imported (bytes may stay)
                for _path, received in ahead:
                    if not received.cancel():
                        _discard(received)
                raise

    def _metadata(self, path: Path) -> dict:
        folder = path.parent
        if folder not in self.manifests:
            self.manifests[folder] = read_manifest(folder)
        return {**self.defaults, **self.manifests[folder].get(path.name, {})}

    def _report(self, path: Path, outcome: str) -> None:
        if self.on_progress:
            self.on_progress(path, outcome)

    def _one(self, path: Path, received) -> None:
        """Record one file, whose receiving (a Future of a Checked) was started earlier."""
        data = self._metadata(path)
        if self.batch and not received.done() and _size(path) > LARGE_FILE:
            self._commit()  # not waiting for its copy with the batch's write lock held
        try:
            result = received.result()
        except DomainError as error:
            self._failed(path, str(error.message))
            return
        except OSError as error:
            self._failed(path, error.strerror or str(error))
            return
        checked = [result] if isinstance(result, ingestion.Checked) else []
        try:
            if checked:
                ingestion.refuse_duplicates(self.actor, checked)
            else:  # bytes that were stored before this import (not copied again)
                conflict = ingestion.stored_already(self.actor, path.name, result.sha256)
                if conflict is None:  # gone since: receive it after all
                    checked = [_receive(current_app._get_current_object(), path, {})]
                    ingestion.refuse_duplicates(self.actor, checked)
                else:
                    raise conflict
        except Conflict as error:
            if self.batch:
                self._add(_Duplicate(path, data, str(error.message)))
            else:
                self._duplicate(path, str(error.message))
            return
        except DomainError as error:  # receiving it after all
            self._failed(path, str(error.message))
            return
        except OSError as error:
            self._failed(path, error.strerror or str(error))
            return
        except Exception:  # the database (e.g. saving the batch's rows before the query)
            self._batch_failed(path)
            return
        try:
            staged = self._stage(path, data, checked)
        except BaseException as error:
            for item in checked:
                item.received.discard()
            if not isinstance(error, Exception):
                raise
            self._batch_failed(path)
            return
        self._add(staged)

    def _add(self, item) -> None:
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append(item)
        if (len(self.batch) >= BATCH_FILES
                or time.monotonic() - self.batch_started >= BATCH_SECONDS):
            self._commit()

    def _stage(self, path: Path, data: dict, checked) -> _Staged:
        """Store the file and add its rows (with its text, when read here) to the open
        transaction."""
        read_here = []
        resource = ingestion.create_with_files(
            self.actor, data, checked, publish=self.publish,
            read=lambda stored: read_here.append(processing.process_in_place(stored)))
        (stored,) = resource.current_files
        if stored.id is None:
            db.session.flush()  # for the ids (publishing flushed already)
        extraction = None
        if read_here[0]:
            extraction = (stored.extraction_state.value, stored.extraction_error)
        return _Staged(path, data, resource.id, stored.id, extraction)

    def _commit(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        try:
            db.session.commit()
        except Exception:
            log.exception("a batch of %d files could not be committed", len(batch))
            db.session.rollback()
            self._one_by_one([(item.path, item.data) for item in batch])
            return
        for item in batch:
            if isinstance(item, _Duplicate):
                self._duplicate(item.path, item.message)
            else:
                self._imported(item.path, item.resource_id, item.file_id, item.extraction)

    def _duplicate(self, path: Path, message: str) -> None:
        self.summary.duplicates.append((str(path), message))
        self._report(path, "duplicate")

    def _failed(self, path: Path, reason: str) -> None:
        self.summary.failed.append((str(path), reason))
        self._report(path, "failed")

    def _imported(self, path: Path, resource_id: int, file_id: int, extraction) -> None:
        self.summary.imported.append((str(path), resource_id))
        if extraction is None:
            self.to_read[file_id] = str(path)
        elif extraction[0] == "failed":
            self.summary.extraction_failed.append((str(path), extraction[1]))
        self._report(path, "imported")

    def _batch_failed(self, path: Path) -> None:
        """`path` failed with the batch's rows in the transaction: roll back, then store the
        batch's files and this one one by one (each file's own error is then reported)."""
        log.warning("importing %s failed within a batch of %d files; storing them one by one",
                    path, len(self.batch) + 1)
        db.session.rollback()
        redo = [(item.path, item.data) for item in self.batch] + [(path, self._metadata(path))]
        self.batch = []
        self._one_by_one(redo)

    def _one_by_one(self, files: list[tuple[Path, dict]]) -> None:
        """As before batches: each file in its own transaction, read afterwards."""
        for path, data in files:
            try:
                with path.open("rb") as handle:
                    resource = ingestion.contribute(self.actor, data,
                                                    [ingestion.Upload(path.name, handle)],
                                                    publish=self.publish, process=False)
            except Conflict as error:
                self._duplicate(path, str(error.message))
            except DomainError as error:
                self._failed(path, str(error.message))
            except OSError as error:
                self._failed(path, error.strerror or str(error))
            else:
                (stored,) = resource.current_files
                self._imported(path, resource.id, stored.id, None)

    def _read_in_children(self, workers, progress_factory) -> None:
        if not self.to_read:
            return
        bar = progress_factory(len(self.to_read)) if progress_factory else None
        try:
            done = processing.process_files(
                list(self.to_read), workers=workers,
                on_done=(lambda _stored: bar.update(1)) if bar else None)
        finally:
            if bar:
                bar.close()
        for stored in done:
            if stored.extraction_state.value == "failed":
                self.summary.extraction_failed.append((self.to_read[stored.id],
                                                       stored.extraction_error))


@dataclass
class _StoredBefore:
    """A file whose bytes were in the store when the import began (a file imported before)."""

    sha256: str


def _stored_sizes() -> dict[int, set[str]]:
    """size -> digests of the files stored now: a file of another size is not stored yet,
    and one of a known size is hashed before it is copied (an import run again copies
    nothing)."""
    known: dict[int, set[str]] = {}
    for size, sha256 in db.session.execute(select(ResourceFile.size, ResourceFile.sha256)):
        known.setdefault(size, set()).add(sha256)
    return known


def _receive(app, path: Path, known: dict[int, set[str]]):
    """In a receiving thread: the file copied into the store's temporary area and checked
    (a Checked), or _StoredBefore when its bytes were stored before this import."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size in known:
            digest = hashlib.sha256()
            while chunk := handle.read(storage.CHUNK):
                digest.update(chunk)
            if digest.hexdigest() in known[size]:
                return _StoredBefore(digest.hexdigest())
            handle.seek(0)
        with app.app_context():
            return ingestion.receive_file(ingestion.Upload(path.name, handle))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # receiving it says why


def _discard(received) -> None:
    """Drop what a receiving thread kept for a file that will not be recorded."""
    try:
        checked = received.result()
    except BaseException:  # it was refused, or failed: nothing was kept
        return
    if isinstance(checked, ingestion.Checked):
        checked.received.discard()
