"""Whoosh's per-document reader remembers a column it opened, but not a column a segment does
not have: asking again checks the file system again. Writing a segment asks for the length of
a field at every posting (whoosh.codec.base.FieldWriter.add_postings), and fields that keep no
lengths (the spelling field, every distinct word of every document) have no length column: a
`stat` per posting, 0.5 million of them and a sixth of the indexing time for 285 long reports.

A segment's files never change once written, so "no such column" is remembered as well.
"""
from __future__ import annotations

from whoosh.codec.whoosh3 import W3PerDocReader

_MISSING = object()


def _cached_reader(self, fieldname, column):
    reader = self._readers.get(fieldname, _MISSING)
    if reader is _MISSING:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


def install() -> None:
    W3PerDocReader._cached_reader = _cached_reader
