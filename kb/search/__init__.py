"""Search: the only package that imports Whoosh. Callers use the functions re-exported here."""
from kb.search.index import check_index, ensure_index

__all__ = ["check_index", "ensure_index"]
