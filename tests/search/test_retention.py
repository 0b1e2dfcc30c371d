"""A search running while another writer commits reads the generation it opened, whole.

Whoosh deletes the files of merged-away segments at every commit; a searcher opens some of them
(stored fields, lengths, sort columns) only when first needed. Seen as a 500 from a search on a
node of the cluster test while uploads were being indexed."""
import os
import threading
from datetime import datetime

import pytest

from kb import search
from kb.search import retention
from kb.search.index import INDEX_NAME, open_index
from tests.factories import index_document


def document(number: int) -> search.IndexDocument:
    moment = datetime(2024, 1, 1 + number % 28)
    return index_document(number, body=f"commune budget planning {number}", date=moment)


def merge_everything(path: str) -> None:
    """A commit that merges every segment into one (the old segments' files are let go)."""
    w = open_index(path).writer(compound=False)
    w.update_document(**document(999).fields())
    w.commit(optimize=True)


def segment_files(path: str, segment_ids) -> set[str]:
    return {name for name in os.listdir(path)
            if any(name.startswith(segment + ".") for segment in segment_ids)}


@pytest.fixture
def index_path(tmp_path):
    path = str(tmp_path / "index")
    search.create_index(path)
    for number in range(1, 5):
        search.write(path, [document(number)])  # a segment each
    return path


def test_a_searcher_opened_before_a_merge_reads_its_documents_after_it(index_path):
    with open_index(index_path).searcher() as searcher:
        leaves = list(searcher.reader().leaf_readers())
        assert len(leaves) >= 2
        merge_everything(index_path)
        with open_index(index_path).searcher() as newer:
            assert len(list(newer.reader().leaf_readers())) == 1  # the merge happened
        # Each file opened only now: stored fields, a length column, a sort column.
        assert sorted(int(searcher.stored_fields(d)["id"]) for d in range(4)) == [1, 2, 3, 4]
        assert all(searcher.reader().doc_field_length(d, "body") > 0 for d in range(4))
        assert len(list(searcher.reader().column_reader("date"))) == 4


def test_a_replaced_generation_is_deleted_once_stale_for_long_enough(index_path, monkeypatch):
    with open_index(index_path).searcher() as searcher:
        old_segments = {r.segment().segment_id() for r, _ in searcher.reader().leaf_readers()}
    merge_everything(index_path)
    assert segment_files(index_path, old_segments), "kept while a searcher may read them"

    monkeypatch.setattr(retention, "KEEP_REPLACED_SECONDS", 0.0)
    search.write(index_path, [document(5)])  # the next commit lets them go
    assert not segment_files(index_path, old_segments)
    tocs = [name for name in os.listdir(index_path) if name.startswith(f"_{INDEX_NAME}_")]
    assert len(tocs) == 1, tocs
    assert sorted(search.entries(index_path)) == [1, 2, 3, 4, 5, 999]


def test_searches_while_another_thread_commits_and_merges_never_fail(index_path):
    """Many small commits (each may merge segments) beside searches that read stored fields,
    lengths, facets and a sort column of whatever generation they opened."""
    failures: list[BaseException] = []
    done = threading.Event()

    def write():
        try:
            for number in range(10, 70):
                search.write(index_path, [document(number)], deleted_ids=[number - 5])
                if number % 15 == 0:
                    merge_everything(index_path)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            done.set()

    def read():
        parsed = search.parse("commune budget")
        try:
            while not done.is_set():
                for sort in ("relevance", "newest"):
                    outcome = search.search(index_path, parsed, search.Reader(),
                                            search.Filters(), sort=sort, per_page=50)
                    assert outcome.total == len(outcome.hits) > 0
                    assert all(rid > 0 for rid, _score in outcome.hits)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read)
                                                  for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert sorted(search.entries(index_path)) == [1, 2, 3, 4] + list(range(65, 70)) + [999]
