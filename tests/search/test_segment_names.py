"""Whoosh names segments with the global `random` module; ours must not repeat a name when it
is reseeded (a test framework reseeds it for every example; a fork inherits its state)."""
import random
from datetime import datetime

from kb import search
from kb.search.index import IndexDocument


def document(number: int) -> IndexDocument:
    moment = datetime(2024, 1, 1)
    return IndexDocument(id=number, version="1", title=f"Report {number}", body="commune budget",
                         tags=[], kind="reform_document", objectives=["1"], languages=["en"],
                         org="", date=moment, published=moment, province="", district="",
                         commune="", status="published", visibility="public", owner=1)


def test_segments_keep_their_own_files_when_random_is_reseeded(tmp_path):
    path = str(tmp_path / "index")
    search.create_index(path)
    for number in range(1, 8):
        random.seed(0)  # what Hypothesis does before every example
        search.write(path, [document(number)])
    assert sorted(search.entries(path)) == list(range(1, 8))
