"""Opening, creating and checking the Whoosh index folder."""
from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

from kb.search.schema import build_schema


def ensure_index(path: str) -> bool:
    """Create the index at `path` when there is none. Returns True when it was created."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if whoosh_index.exists_in(str(folder)):
        return False
    whoosh_index.create_in(str(folder), build_schema())
    return True


def check_index(path: str) -> tuple[bool, str]:
    """(ok, message): whether the index opens and can be read."""
    try:
        if not whoosh_index.exists_in(path):
            return False, "missing"
        ix = whoosh_index.open_dir(path)
        with ix.searcher() as searcher:
            searcher.doc_count()
        return True, "ok"
    except Exception as exc:  # any failure to read is reported, never raised, by a health check
        return False, f"unreadable: {exc.__class__.__name__}"
