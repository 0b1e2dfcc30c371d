"""A column a segment does not have is looked for on disk once per reader, not at every
posting written (writing a segment asks for each posting's field length; the spelling field
keeps none)."""
from whoosh.codec.whoosh3 import W3PerDocReader

from kb import search
from kb.search.index import open_index
from tests.factories import index_document


def test_a_missing_column_is_looked_for_once(tmp_path, monkeypatch):
    path = str(tmp_path / "index")
    search.create_index(path)
    search.write(path, [index_document(n, body="commune budget planning") for n in (1, 2)])
    with open_index(path).searcher() as searcher:
        (leaf, _offset), = searcher.reader().leaf_readers()
        perdoc = leaf._perdoc
        assert isinstance(perdoc, W3PerDocReader)
        looked = []
        original = perdoc.has_column
        monkeypatch.setattr(perdoc, "has_column",
                            lambda name: looked.append(name) or original(name))
        for docnum in (0, 1, 0, 1):
            assert perdoc.doc_field_length(docnum, "spell", default=-1) == -1  # no lengths
            assert perdoc.doc_field_length(docnum, "body") > 0
        assert looked.count("_spell_len") == 1 and looked.count("_body_len") == 1
        assert [int(searcher.stored_fields(d)["id"]) for d in (0, 1)] == [1, 2]
