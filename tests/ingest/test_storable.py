"""Text from files is storable in any database: no NUL characters (PostgreSQL refuses them),
no lone surrogates (nothing encodes them as UTF-8), surrogate pairs joined into their character."""
from __future__ import annotations

import io

import pytest

from kb.extensions import db
from kb.ingest.extract import extract_file
from kb.ingest.extract.base import Result, finish
from kb.ingest.storable import storable, storable_text
from kb.models import ExtractionState, ResourceFile
from kb.services import ingestion

# Word writes characters beyond U+FFFF as two signed UTF-16 units; striprtf reads them one by one.
# A NUL written the same way (\\u0?) comes out as one.
RTF_WITH_EMOJI = (b"{\\rtf1\\ansi\\deff0 Commune budget \\u-10179?\\u-8704? approved,"
                  b" half a pair \\u-10240? dropped\\u0?.}")


@pytest.mark.parametrize("raw, stored", [
    ("plain Khmer ឃុំ text", "plain Khmer ឃុំ text"),
    ("a\x00b\x00", "ab"),
    ("smile \ud83d\ude00!", "smile 😀!"),  # a pair becomes its character
    ("lone \ud800 high, lone \udcff low", "lone  high, lone  low"),
    ("reversed \ude00\ud83d pair", "reversed  pair"),
    ("", ""),
])
def test_storable_text(raw, stored):
    assert storable_text(raw) == stored
    storable_text(raw).encode("utf-8")  # what every database driver does with it


def test_storable_reaches_into_lists_and_dicts_and_leaves_other_values():
    assert storable({"keywords": ["a\x00", "b\ud800"], "pages": 3, "ratio": 0.5, "none": None,
                     "nested": {"k\x00": ("x\x00",)}}) == \
        {"keywords": ["a", "b"], "pages": 3, "ratio": 0.5, "none": None, "nested": {"k": ["x"]}}


def test_finish_cleans_text_and_every_property():
    text, properties, _ = finish(Result(
        text="Budget\x00 report \ud83d\ude00 \ud800end",
        properties={"title": "Plan\x00 \udcff2024", "keywords": ["a\x00b"], "pages": 2}))
    assert text == "Budget report 😀 end"
    assert properties == {"title": "Plan 2024", "keywords": ["ab"], "pages": 2}


def test_an_rtf_with_an_emoji_is_read(tmp_path):
    """The child's answer could not be encoded: the whole extraction failed."""
    path = tmp_path / "note.rtf"
    path.write_bytes(RTF_WITH_EMOJI)
    result = extract_file(path, "application/rtf")
    assert result.state == "ok", result.error
    assert result.text == "Commune budget 😀 approved, half a pair dropped."


def test_a_file_with_an_emoji_and_a_nul_is_stored_and_read_back(app, make_user):
    """Through the service into the database (PostgreSQL refuses NUL in text)."""
    app.config.update(EXTRACTION_MODE="inline", EXTRACTION_OCR=False)
    editor = make_user("editor")
    resource = ingestion.contribute(editor, {"kind": "reform_document"}, [
        ingestion.Upload("note.rtf", io.BytesIO(RTF_WITH_EMOJI))])
    db.session.expire_all()
    stored = db.session.scalars(db.select(ResourceFile).where(
        ResourceFile.resource_id == resource.id)).one()
    assert stored.extraction_state == ExtractionState.OK, stored.extraction_error
    assert stored.text == "Commune budget 😀 approved, half a pair dropped."
