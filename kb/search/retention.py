"""When the files of a replaced index generation may be deleted.

After every commit Whoosh deletes the files of each segment the new generation no longer holds
(merged away, or emptied by deletions). A searcher opened on the previous generation opens
some of those files only when it first needs them (stored fields, document lengths, sort
columns: each a file of its own, as this index writes separate segment files), so a search
that was running while another thread or process committed found its segment's stored-fields
file gone, and answered 500 (Whoosh's per-document reader returns None for a missing column).

So a generation's files are kept for a while after it is replaced, as Lucene's
ExpirationTimeDeletionPolicy keeps a commit point for readers on shared file systems: a
replaced generation's table of contents, and every segment file it names, are deleted once
the generation has been stale (replaced by a newer one) for longer than KEEP_REPLACED_SECONDS.
A searcher lives for one request, bounded by the search time limit; the margin is wide.

Only the writer calls this (it holds the index's write lock), so two clean-ups never race.
"""
from __future__ import annotations

import logging
import time

from whoosh import index as whoosh_index
from whoosh.index import TOC

log = logging.getLogger(__name__)

KEEP_REPLACED_SECONDS = 120.0


def clean_files(storage, indexname: str, generation: int, segments) -> None:
    """Whoosh's clean-up after a commit of `generation` (holding `segments`), keeping what the
    generations replaced in the last KEEP_REPLACED_SECONDS still need."""
    toc_pattern = TOC._pattern(indexname)
    segment_pattern = TOC._segment_pattern(indexname)
    tocs: dict[int, str] = {}
    segment_files: list[tuple[str, str]] = []
    for filename in storage:
        if filename.startswith("."):
            continue
        found = toc_pattern.match(filename)
        if found:
            tocs[int(found.group(1))] = filename
            continue
        found = segment_pattern.match(filename)
        if found:
            segment_files.append((found.group(1), filename))

    needed = {segment.segment_id() for segment in segments}
    doomed = [name for gen, name in tocs.items() if gen > generation]  # a cancelled writer's
    now = time.time()
    # Newest first: a generation became stale when the next newer one was written.
    replaced_at = _modified(storage, tocs.get(generation), now)
    for gen in sorted((g for g in tocs if g < generation), reverse=True):
        name = tocs[gen]
        held = None
        if now - replaced_at < KEEP_REPLACED_SECONDS:
            held = _segments_of(storage, indexname, gen, name)
        if held is None:  # stale for long enough (and so is every older one), or unreadable
            doomed.append(name)
            continue
        needed.update(held)
        replaced_at = _modified(storage, name, replaced_at)
    doomed.extend(filename for segment, filename in segment_files if segment not in needed)
    for filename in doomed:
        try:
            storage.delete_file(filename)
        except OSError:
            pass  # already gone, or still open (Windows): a later clean-up deletes it
    _remember_only(storage, set(tocs.values()) - set(doomed))


def _modified(storage, filename: str | None, default: float) -> float:
    if filename is None:
        return default
    try:
        return storage.file_modified(filename)
    except OSError:
        return default


# Segments named by each table of contents read (a written one never changes), by folder and
# file name; kept while the file is there.
_read_tocs: dict[tuple, frozenset[str]] = {}


def _folder(storage):
    return getattr(storage, "folder", id(storage))


def _segments_of(storage, indexname: str, gen: int, filename: str) -> frozenset[str] | None:
    """The segments generation `gen` holds, or None when its table of contents cannot be read
    (then no searcher can open that generation either)."""
    key = (_folder(storage), filename)
    found = _read_tocs.get(key)
    if found is None:
        try:
            toc = TOC.read(storage, indexname, gen=gen)
        except Exception as error:  # a damaged or half-deleted table of contents
            log.warning("index generation %s unreadable while cleaning up: %s", gen, error)
            return None
        found = _read_tocs[key] = frozenset(s.segment_id() for s in toc.segments)
    return found


def _remember_only(storage, remaining: set[str]) -> None:
    """Forget the tables of contents of this folder deleted now, or by another process since."""
    folder = _folder(storage)
    for key in [key for key in _read_tocs if key[0] == folder and key[1] not in remaining]:
        del _read_tocs[key]


def install() -> None:
    """Make every Whoosh writer of this process clean up this way (whoosh.writing imports
    clean_files from whoosh.index at each commit)."""
    whoosh_index.clean_files = clean_files
