"""The index of consultation responses, beside the resources' index and built the same way
(the same analyzers and query language), but kept in its own folder so that neither index's
schema or rebuild touches the other.

Who may see which response is decided by the services; the index only applies the filter they
give: the consultations whose (unhidden) responses the reader may see, and the reader's own.
"""
from __future__ import annotations

import random
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.index import LockError

from kb.search.index import IndexBusy
from kb.search.query import ParsedQuery
from kb.search.schema import RESPONSE_SCHEMA_VERSION, build_response_schema
from kb.search.searcher import weighting

INDEX_NAME = "RESPONSES"
VERSION_FILE = "kb-schema-version"
_open: dict[str, object] = {}
_lock = threading.Lock()


@dataclass
class ResponseDocument:
    id: int
    version: str
    consultation_id: int
    heading: str
    text: str
    hidden: bool
    author_id: int
    created: object  # datetime

    def fields(self) -> dict:
        return {"id": str(self.id), "version": self.version,
                "title": self.heading, "title_km": self.heading, "title_kmng": self.heading,
                "body": self.text, "body_km": self.text, "body_kmng": self.text,
                "consultation": str(self.consultation_id), "hidden": "1" if self.hidden else "0",
                "author": str(self.author_id), "created": self.created}


@dataclass
class ResponseAccess:
    """What the reader may find: everything (editors), or unhidden responses of these
    consultations, and their own responses."""
    everything: bool = False
    consultations: tuple[int, ...] = ()
    author_id: int | None = None


@dataclass
class ResponseHits:
    total: int
    ids: list[int]
    facets: dict[str, int]  # consultation id -> matching responses
    terms: set[tuple[str, str]]


def _current(path: str) -> bool:
    version = Path(path) / VERSION_FILE
    return version.exists() and version.read_text().strip() == str(RESPONSE_SCHEMA_VERSION)


def exists(path: str) -> bool:
    return whoosh_index.exists_in(path, indexname=INDEX_NAME) and _current(path)


def ensure(path: str) -> bool:
    """Create the index when it is missing or of another schema version. True when created."""
    if whoosh_index.exists_in(path, indexname=INDEX_NAME) and _current(path):
        return False
    create(path)
    return True


def create(path: str) -> None:
    folder = Path(path)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    whoosh_index.create_in(str(folder), build_response_schema(), indexname=INDEX_NAME)
    (folder / VERSION_FILE).write_text(str(RESPONSE_SCHEMA_VERSION))
    with _lock:
        _open.pop(str(path), None)


def _index(path: str):
    with _lock:
        ix = _open.get(str(path))
        if ix is None:
            ix = _open[str(path)] = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
        return ix


def write(path: str, read, wait: float = 30.0) -> int:
    """Take the writer lock, then `read()` the (documents, deleted ids) to write: reading under
    the lock keeps an older version from being written over a newer one by another process."""
    ix = _index(path)
    deadline, delay = time.monotonic() + wait, 0.02
    while True:
        try:
            writer = ix.writer(compound=False)
            break
        except LockError:
            if time.monotonic() >= deadline:
                raise IndexBusy(f"the response index at {path} stayed locked for {wait:.0f} s")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
    try:
        documents, deleted = read()
        for response_id in deleted:
            writer.delete_by_term("id", str(response_id))
        for document in documents:
            writer.update_document(**document.fields())
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return len(documents)


def _access(access: ResponseAccess) -> wq.Query | None:
    if access.everything:
        return None
    allowed = [wq.And([wq.Term("hidden", "0"),
                       wq.Or([wq.Term("consultation", str(c)) for c in access.consultations])])
               ] if access.consultations else []
    if access.author_id is not None:
        allowed.append(wq.Term("author", str(access.author_id)))
    return wq.Or(allowed) if allowed else wq.NullQuery


def search(path: str, parsed: ParsedQuery, access: ResponseAccess,
           consultation_id: int | None = None, page: int = 1,
           per_page: int = 20) -> ResponseHits:
    """Matching responses the reader may see, best first (newest first without words), with
    the number per consultation as the facet."""
    ix = _index(path)
    parts = [parsed.query if parsed.query is not None else wq.Every()]
    allowed = _access(access)
    if allowed is not None:
        parts.append(allowed)
    with ix.searcher(weighting=weighting()) as searcher:
        matching = list(searcher.docs_for_query(wq.And(parts)))
        facets = Counter(searcher.stored_fields(n)["consultation"] for n in matching)
        if consultation_id is not None:
            parts.append(wq.Term("consultation", str(consultation_id)))
        full = wq.And(parts)
        if parsed.query is None:
            results = searcher.search(full, limit=page * per_page, sortedby="created",
                                      reverse=True)
        else:
            results = searcher.search(full, limit=page * per_page)
        start = (page - 1) * per_page
        ids = [int(hit["id"]) for hit in results[start:start + per_page]]
        terms = {(f, t.decode("utf-8") if isinstance(t, bytes) else t)
                 for f, t in (parsed.query.iter_all_terms() if parsed.query is not None else [])}
        return ResponseHits(len(results), ids, dict(facets), terms)


def entries(path: str) -> dict[int, str]:
    ix = _index(path)
    with ix.searcher() as searcher:
        return {int(f["id"]): f.get("version", "") for f in searcher.all_stored_fields()}
