"""The Whoosh index folder: creating, opening, writing with retry, rebuilding, checking.

The database is the source of truth; this index is a copy that can always be rebuilt from it.
Writers are serialised by Whoosh's lock file, which works across processes: a writer that finds
the lock taken waits with back-off instead of failing, so several server processes and a
`kb import` can write at the same time without a lock error reaching anyone.
"""
from __future__ import annotations

import itertools
import logging
import os
import random
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh import index as whoosh_index
from whoosh import multiproc as whoosh_multiproc
from whoosh import writing as whoosh_writing
from whoosh.codec import base as whoosh_codec_base
from whoosh.filedb import compound as whoosh_compound
from whoosh.filedb import filestore as whoosh_filestore
from whoosh.index import LockError

from kb.search import columns, retention
from kb.search.analysis import spelling_words
from kb.search.schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)


def _unpredictable_name(size: int = 28) -> str:
    return "".join(secrets.choice(_NAME_CHARS) for _ in range(size))


# Whoosh names new segments and temporary files with the global `random` module. Anything that
# reseeds it (a test framework does, for every example) or a forked process that inherits its
# state makes two segments get the same name: the second overwrites the first's files and the
# index breaks ("Unknown file header"). Names from the operating system's entropy cannot repeat.
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
for _module in (whoosh_codec_base, whoosh_filestore, whoosh_compound, whoosh_writing,
                whoosh_multiproc):
    _module.random_name = _unpredictable_name

# A replaced generation's files stay while searchers opened on it may still read them.
retention.install()
# A column a segment does not have is looked for on disk once, not at every posting written.
columns.install()

VERSION_FILE = "kb-schema-version"
APPLIED_FILE = "kb-applied-through"  # the last change-log entry this index holds, see below
INDEX_NAME = "MAIN"


class IndexBusy(RuntimeError):
    """The index stayed locked by another writer for longer than we were willing to wait."""


@dataclass
class IndexDocument:
    """One resource as the index holds it (built by kb.services.indexing from the database)."""
    id: int
    version: str
    title: str
    body: str
    tags: list[str]
    kind: str
    objectives: list[str]
    languages: list[str]
    org: str
    date: object  # datetime
    published: object  # datetime: publication, or creation for unpublished resources
    province: str
    district: str
    commune: str
    status: str
    visibility: str
    owner: int

    def fields(self) -> dict:
        return {
            "id": str(self.id), "version": self.version,
            "title": self.title, "title_km": self.title, "title_kmng": self.title,
            "body": self.body, "body_km": self.body, "body_kmng": self.body,
            # Already words: the field's analyzer is not run (see spelling_words).
            "spell": spelling_words(f"{self.title}\n{self.body}"),
            "tag": ",".join(t.replace(",", " ") for t in self.tags),
            "kind": self.kind, "objective": " ".join(self.objectives),
            "language": " ".join(self.languages), "org": self.org.lower(),
            "year": f"{self.date.year:04d}", "date": self.date, "published": self.published,
            "title_sort": self.title.casefold()[:200],
            "province": self.province, "district": self.district, "commune": self.commune,
            "status": self.status, "visibility": self.visibility, "owner": str(self.owner),
        }


# Opened indexes are cached per folder: opening reads the table of contents, which is cheap but
# not free, and a Whoosh Index object may be shared between threads.
_open: dict[str, object] = {}
_open_lock = threading.Lock()


def _version_path(path: str) -> Path:
    return Path(path) / VERSION_FILE


def ensure_index(path: str) -> bool:
    """Create the index at `path` when there is none. Returns True when it was created."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if whoosh_index.exists_in(str(folder), indexname=INDEX_NAME):
        return False
    create_index(path)
    return True


def create_index(path: str) -> None:
    """A new, empty index at `path`, replacing whatever is there."""
    _create_unlocked(path)
    forget(path)


def _create_unlocked(path: str) -> None:
    folder = Path(path)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)
    _version_path(path).write_text(str(SCHEMA_VERSION))


def forget(path: str) -> None:
    """Drop the cached handle (after the folder was replaced)."""
    with _open_lock:
        _open.pop(str(path), None)


def open_index(path: str):
    """The index at `path`; an empty one when the node has none yet (a new node, or a lost
    disk), so searches answer "nothing found" while the index is rebuilt instead of failing."""
    with _open_lock:
        ix = _open.get(str(path))
        if ix is None:
            if not whoosh_index.exists_in(str(path), indexname=INDEX_NAME):
                _create_unlocked(path)
            ix = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
            _open[str(path)] = ix
        return ix


def _writer_options(procs: int, limitmb: int | None = None) -> dict:
    """Separate segment files: a compound file is copied into memory by every searcher. With
    several processes, Whoosh's MpWriter analyses the documents in `procs` child processes,
    each writing a segment of its own, which are added as they are (multisegment: merging them
    would cost about what was saved). A parallel (bulk) write keeps BULK_LIMIT_MB of postings
    in memory; `limitmb` sets that for any write."""
    options = {"compound": False}
    if procs > 1:
        options.update(procs=procs, multisegment=True, batchsize=PARALLEL_BATCH,
                       limitmb=BULK_LIMIT_MB)
    if limitmb is not None:
        options["limitmb"] = limitmb
    return options


# Documents handed to a child process at a time by a parallel writer; a write of fewer
# documents than PARALLEL_FROM is not shared out (starting processes costs more than it saves).
PARALLEL_BATCH = 32
PARALLEL_FROM = 64
# Postings a bulk writer (a command's, per process) keeps in memory before spilling sorted runs
# to disk and merging them back (Whoosh's default is 128 MB: 285 long reports, with the
# character offsets snippets need, spilled, and pickling the runs cost a fifth of the write).
BULK_LIMIT_MB = 256


@contextmanager
def writer(path: str, wait: float = 30.0, procs: int = 1, **options) -> Iterator:
    """A writer on the index, waiting (with jittered exponential back-off) up to `wait` seconds
    for another writer to finish. Commits on success, cancels on error. `procs` > 1 analyses
    the documents added in that many child processes (for bulk writes from the command line:
    a server process should not fork)."""
    ix = open_index(path)
    deadline, delay = time.monotonic() + wait, 0.02
    while True:
        try:
            w = ix.writer(**_writer_options(procs), **options)
            break
        except LockError:
            if time.monotonic() >= deadline:
                raise IndexBusy(f"the search index at {path} stayed locked for {wait:.0f} s")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
    try:
        yield w
    except BaseException:
        w.cancel()
        raise
    w.commit()


def write_latest(path: str, read: Callable[[], tuple[list[IndexDocument], list[int]]],
                 wait: float = 30.0, procs: int = 1) -> list[IndexDocument]:
    """Take the writer lock, then call `read()` for the documents to add or replace and the ids
    to remove, and write them in one commit. Reading only once the lock is held means a writer
    can never put back an older version of a document after another wrote a newer one.
    `procs`: see writer()."""
    with writer(path, wait=wait, procs=procs) as w:
        documents, deleted_ids = read()
        for resource_id in deleted_ids:
            w.delete_by_term("id", str(resource_id))
        for document in documents:
            w.update_document(**document.fields())
    if procs > 1:
        _rewrite_missing(path, documents, wait)
    return documents


def _rewrite_missing(path: str, documents: list[IndexDocument], wait: float) -> None:
    """Whoosh's parallel writer does not say when a child process failed: its documents are
    simply not there. Look, and write any that are missing with a single writer."""
    with open_index(path).searcher() as searcher:
        # Only those absent: another writer may have written a newer version meanwhile.
        missing = [d for d in documents if searcher.document(id=str(d.id)) is None]
    if missing:
        log.warning("the parallel index writer lost %d of %d documents; writing them again",
                    len(missing), len(documents))
        write(path, missing, wait=wait)


def write(path: str, documents: Iterable[IndexDocument], deleted_ids: Iterable[int] = (),
          wait: float = 30.0) -> None:
    """Add or replace `documents` and remove `deleted_ids`, in one commit."""
    with writer(path, wait=wait) as w:
        for resource_id in deleted_ids:
            w.delete_by_term("id", str(resource_id))
        for document in documents:
            w.update_document(**document.fields())


def rebuild(path: str, documents: Iterable[IndexDocument], procs: int = 1,
            limitmb: int = BULK_LIMIT_MB) -> int:
    """Build a fresh index from `documents` beside the old one, then swap it in, so searches go
    on while it is built and a crash leaves the old index in place. Returns the count."""
    folder = Path(path)
    building = folder.with_name(folder.name + ".building")
    if building.exists():
        shutil.rmtree(building)
    create_index(str(building))
    ix = whoosh_index.open_dir(str(building), indexname=INDEX_NAME)
    count = 0
    documents = iter(documents)
    first = list(itertools.islice(documents, PARALLEL_FROM))
    w = ix.writer(**_writer_options(procs if len(first) >= PARALLEL_FROM else 1, limitmb))
    try:
        for document in itertools.chain(first, documents):
            w.add_document(**document.fields())
            count += 1
    except BaseException:
        w.cancel()
        raise
    w.commit()
    ix.close()
    old = folder.with_name(folder.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if folder.exists():
        folder.rename(old)
    building.rename(folder)
    if old.exists():
        shutil.rmtree(old)
    forget(path)
    return count


def applied_through(path: str) -> int | None:
    """The change-log position this index was last brought to (None: unknown, so the index
    must be rebuilt from the database). Kept beside the index, node by node."""
    return _applied(path)[0]


def applied_beyond(path: str) -> set[int]:
    """Entries after applied_through() that the index holds too (applied while an earlier one
    was missing: a transaction still open, or one that will never commit)."""
    return _applied(path)[1]


def _applied(path: str) -> tuple[int | None, set[int]]:
    try:
        # First line: applied through; second (may be absent): applied beyond, space-separated.
        through, *rest = Path(path, APPLIED_FILE).read_text().splitlines()
        return int(through), {int(n) for n in (rest[0].split() if rest else ())}
    except (FileNotFoundError, ValueError):
        return None, set()


def record_applied_through(path: str, seq: int, beyond=()) -> None:
    """Say that the index holds every change up to `seq`, and those in `beyond` (never moving
    backwards: processes of one node may finish in any order, so what another recorded beyond
    is kept). Written aside and renamed into place."""
    target = Path(path, APPLIED_FILE)
    with _open_lock:
        current, known = _applied(path)
        if current is not None and current > seq:
            return
        above = sorted(n for n in known | set(beyond) if n > seq)
        if current == seq and set(above) == known:
            return
        aside = target.with_name(f"{APPLIED_FILE}.{os.getpid()}.{threading.get_ident()}")
        aside.write_text(f"{seq}\n{' '.join(map(str, above))}\n")
        os.replace(aside, target)


def entries(path: str) -> dict[int, str]:
    """resource id -> indexed version, for every document in the index."""
    ix = open_index(path)
    with ix.searcher() as searcher:
        return {int(fields["id"]): fields.get("version", "")
                for fields in searcher.all_stored_fields()}


def schema_is_current(path: str) -> bool:
    """Whether the index was built with this version of the schema (a cheap look, no open)."""
    try:
        return _version_path(path).read_text().strip() == str(SCHEMA_VERSION)
    except FileNotFoundError:
        return False


def check_index(path: str) -> tuple[bool, str]:
    """(ok, message): whether the index opens, can be read and has the current schema."""
    try:
        if not whoosh_index.exists_in(path, indexname=INDEX_NAME):
            return False, "missing"
        version_file = _version_path(path)
        found = version_file.read_text().strip() if version_file.exists() else "?"
        if found != str(SCHEMA_VERSION):
            return False, f"outdated (schema {found}, expected {SCHEMA_VERSION})"
        forget(path)
        ix = open_index(path)
        with ix.searcher() as searcher:
            searcher.doc_count()
        return True, "ok"
    except Exception as exc:  # any failure to read is reported, never raised, by a health check
        forget(path)
        return False, f"unreadable: {exc.__class__.__name__}"
