"""Whoosh names segments with the global `random` module; ours must not repeat a name when it
is reseeded (a test framework reseeds it for every example; a fork inherits its state)."""
import random
from datetime import datetime

from kb import search
from tests.factories import index_document


def document(number: int) -> search.IndexDocument:
    return index_document(number, body="commune budget", date=datetime(2024, 1, 1))


def test_segments_keep_their_own_files_when_random_is_reseeded(tmp_path):
    path = str(tmp_path / "index")
    search.create_index(path)
    for number in range(1, 8):
        random.seed(0)  # what Hypothesis does before every example
        search.write(path, [document(number)])
    assert sorted(search.entries(path)) == list(range(1, 8))
