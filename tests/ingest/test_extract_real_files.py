"""Every real document in the shared data: the words its SOURCE.md describes come out, Khmer
comes out as Khmer (measured against the UDHR text), properties are found, failures are clear."""
from __future__ import annotations

import pytest

from kb.ingest.khmer import contains_khmer, khmer_ratio

from .conftest import HAVE_TESSERACT, needs_data, needs_tesseract, syllable_recall, udhr_khmer_text

pytestmark = needs_data

# Known text per file, from SOURCE.md (and, for pages beyond the first, from the files).
EXPECTED_TEXT = {
    "pdf/002-trivial-libre-office-writer.pdf": ["Lorem ipsum dolor sit amet, consetetur"],
    "pdf/pdflatex-4-pages.pdf": ["Hello, here is some text without a meaning"],
    "pdf/google-doc-document.pdf": ["Example document", "Beautiful is better than ugly."],
    "pdf/multicolumn.pdf": ["Two-Column Document with Lorem Ipsum"],
    "pdf/imagemagick-images.pdf": ["Background"],
    "pdf/habibi.pdf": ["habibi"],
    "khmer/udhr_Latn.ENG_Serif_12.pdf": ["Universal Declaration of Human Rights",
                                         "inherent dignity"],
    "khmer/khpos-paper.pdf": ["POS Tagging", "Khmer"],
    "khmer/Khmer Encoding Structure.pdf": ["Khmer Encoding", "Martin Hosken"],
    "khmer/Khmer Encoding Structure.odt": ["Khmer Encoding", "Martin Hosken"],
    "docx/blk-paras-and-tables.docx": ["Lorem ipsum dolor sit amet", "Text before",
                                       "Text after"],
    "docx/comments-rich-para.docx": ["Some text worthy of note.",
                                     "Text with hyperlink"],  # the second is a comment
    "docx/hdr-header-footer.docx": ["Header for section-1", "Footer for section 1"],
    "docx/par-hyperlinks.docx": ["One awesome hyperlink.", "Three hyperlinks"],
    "docx/par-known-paragraphs.docx": ["Heading Paragraph", "Normal paragraph"],
    "docx/test.docx": ["python-docx was here!", "python-docx was here too!"],
    "pptx/test.pptx": ["Presentation Title Text", "Subtitle Text"],
    "pptx/txt-text-frame.pptx": ["Text frame having no auto-size setting"],
    "pptx/ph-populated-placeholders.pptx": ["Title Text", "Content", "Body text"],
    "pptx/tbl-cell.pptx": ["unladen swallows", "having custom margins", "a b c"],
    "pptx/sld-notes.pptx": ["Notes"],
    "odt/002-trivial-libre-office-writer-source.odt": ["Lorem ipsum dolor sit amet"],
    "odt/api-for-odfpy.odt": ["Application Programmer's Interface"],
    "odt/Electra.odt": ["Project Gutenberg EBook of Electra", "Euripides"],
    "odt/ClimateChange2.odt": ["Climate change"],
    "odt/headerfooter.odt": ["Lorem ipsum", "Header 1 Test", "Footer 1 Bottom"],
    "odt/serious_poem.odt": ["The boy stood on the burning deck"],
    "odt/simpletable.odt": ["Cell 1", "Cell 2", "Cell 3 (bold)", "Cell 4 (italic)"],
    "odt/twolevellist.odt": ["Item A", "Subitem B.1", "Subitem B.2 (bold)"],
    "odt/nasty.odt": ["Test:"],
}

# Lengths SOURCE.md reports for a straightforward extractor: all pages / all parts came out.
MINIMUM_LENGTH = {
    "pdf/pdflatex-4-pages.pdf": 14_000, "pdf/multicolumn.pdf": 6_900,
    "khmer/Khmer Encoding Structure.pdf": 145_000, "khmer/khpos-paper.pdf": 44_000,
    "odt/api-for-odfpy.odt": 230_000, "odt/Electra.odt": 85_000,
    "odt/ClimateChange2.odt": 11_000, "khmer/Khmer Encoding Structure.odt": 140_000,
}

EXPECTED_PROPERTIES = {
    "docx/doc-coreprops.docx": {"title": "Title", "author": "Steve Canny"},
    "pdf/google-doc-document.pdf": {"title": "PDF Example Document", "pages": 1},
    "pdf/pdflatex-4-pages.pdf": {"pages": 4, "date": "2022-04-03", "language": "en"},
    "odt/ClimateChange2.odt": {"title": "Climate change impact in Europe",
                               "author": "Søren Roug", "date": "2006-04-02"},
    "pptx/ph-populated-placeholders.pptx": {"pages": 9, "author": "python-pptx"},
    "khmer/udhr_Khmr.KHM_Sun-ExtA_12.pdf": {"language": "km", "pages": 3},
    "khmer/Khmer Encoding Structure.odt": {"language": "en", "author": "Martin Hosken"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TEXT))
def test_known_text_is_extracted(extracted, name):
    result, seconds = extracted[name]
    if name == "pdf/imagemagick-images.pdf" and not HAVE_TESSERACT:
        # mostly images: without OCR a clear failure, the little text found still kept
        assert result.state == "failed" and result.error == "No text layer; OCR is not available."
    else:
        assert result.state == "ok", result.error
    for words in EXPECTED_TEXT[name]:
        assert words in result.text, words
    assert len(result.text) >= MINIMUM_LENGTH.get(name, 1)
    assert "\ufeff" not in result.text and "\x00" not in result.text
    assert seconds < 20


@pytest.mark.parametrize("name", sorted(EXPECTED_PROPERTIES))
def test_document_properties(extracted, name):
    result, _ = extracted[name]
    for key, value in EXPECTED_PROPERTIES[name].items():
        assert result.properties.get(key) == value, key


def test_core_properties_of_an_empty_document(extracted):
    result, _ = extracted["docx/doc-coreprops.docx"]
    assert result.state == "ok" and result.text == "" and "language" not in result.properties


def test_encrypted_pdf_fails_clearly(extracted):
    result, _ = extracted["pdf/libreoffice-writer-password.pdf"]
    assert result.state == "failed" and result.error == "The PDF is encrypted."
    assert result.text == ""


def test_external_entity_in_nasty_odt_is_not_resolved(extracted):
    result, _ = extracted["odt/nasty.odt"]
    assert result.state == "ok" and result.text == "Test:"


def test_khmer_pdf_in_visual_order_comes_out_in_logical_order(extracted):
    result, _ = extracted["khmer/udhr_Khmr.KHM_Sun-ExtA_12.pdf"]
    recall = syllable_recall(result.text, udhr_khmer_text())
    print(f"Sun-ExtA UDHR: syllable recall {recall:.3f}")
    assert recall > 0.99
    assert "សេចក្តីប្រកាសជាសកលស្តីពីសិទ្ធិមនុស្ស" in result.text  # the title, word for word
    assert "សិទ្ធិ" in result.text and "មនុស្សគ្រប់រូប" in result.text
    assert not result.ocr_used


def test_khmer_pdf_with_a_broken_font_map(extracted):
    """Subscripts come out as control characters: without OCR we keep the repaired remains;
    with OCR the pages are read again from their images, which is much closer."""
    truth = udhr_khmer_text()
    layer, _ = extracted["khmer/udhr_Khmr.KHM_Serif_12.pdf (no OCR)"]
    assert layer.state == "ok" and not layer.ocr_used and khmer_ratio(layer.text) > 0.9
    layer_recall = syllable_recall(layer.text, truth)
    assert layer_recall > 0.5
    if HAVE_TESSERACT:
        read, _ = extracted["khmer/udhr_Khmr.KHM_Serif_12.pdf"]
        ocr_recall = syllable_recall(read.text, truth)
        print(f"Serif UDHR: syllable recall {layer_recall:.3f} text layer, {ocr_recall:.3f} OCR")
        assert read.ocr_used and read.properties["ocr_pages"] == 3
        assert ocr_recall > 0.8 and ocr_recall > layer_recall + 0.2
        assert "មនុស្ស" in read.text and read.properties["language"] == "km"


def test_english_pdf_with_khmer_examples(extracted):
    result, _ = extracted["khmer/khpos-paper.pdf"]
    assert contains_khmer(result.text) and result.properties["language"] == "en"
    odt, _ = extracted["khmer/Khmer Encoding Structure.odt"]
    assert sum("\u1780" <= ch <= "\u17ff" for ch in odt.text) > 1000


@needs_tesseract
def test_scanned_khmer_pdf_is_read_by_ocr(extracted):
    result, seconds = extracted["khmer/Sample_PDF_Scanned.pdf"]
    assert result.state == "ok" and result.ocr_used
    assert "កម្ពុជា" in result.text and "ប្រជាជន" in result.text
    assert result.properties["language"] == "km"
    print(f"scanned page OCR: {seconds:.1f} s")


def test_scanned_pdf_without_ocr_fails_clearly(extracted):
    result, _ = extracted["khmer/Sample_PDF_Scanned.pdf (no OCR)"]
    assert result.state == "failed" and result.error == "No text layer; OCR is turned off."
    assert not result.ocr_used
