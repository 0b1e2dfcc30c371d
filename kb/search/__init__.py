"""Search: the only package that imports Whoosh. Callers use what is re-exported here."""
from kb.search.highlight import snippet, snippet_at
from kb.search.index import (PARALLEL_FROM, IndexBusy, IndexDocument, applied_beyond,
                             applied_through, check_index, create_index, ensure_index, entries,
                             rebuild, record_applied_through, schema_is_current, write,
                             write_latest)
from kb.search.query import MAX_QUERY_CHARS, ParsedQuery, QueryError, parse
from kb.search.searcher import (Filters, Highlight, Reader, SearchOutcome, count, frequencies,
                                more_like_this, search, suggest_spelling)

__all__ = ["snippet", "snippet_at", "Highlight", "PARALLEL_FROM", "IndexBusy", "IndexDocument",
           "applied_beyond", "applied_through", "check_index", "create_index", "ensure_index",
           "entries", "rebuild", "record_applied_through", "schema_is_current", "write",
           "write_latest",
           "MAX_QUERY_CHARS", "ParsedQuery", "QueryError", "parse", "Filters", "frequencies",
           "Reader", "SearchOutcome", "count", "more_like_this", "search", "suggest_spelling"]
