"""Each accepted type, from files built here: the parts whose text must come out (tables,
headers, notes, comments, sheets), properties, character sets, and clear failures."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb.ingest.extract import Extraction, extract_file

from . import builders
from .conftest import CONTENT_TYPES, needs_tesseract

DOCX, PPTX, XLSX = (CONTENT_TYPES[e] for e in (".docx", ".pptx", ".xlsx"))
ODT, ODP, ODS = (CONTENT_TYPES[e] for e in (".odt", ".odp", ".ods"))


def ok(path: Path, content_type: str, **options) -> Extraction:
    result = extract_file(path, content_type, **options)
    assert result.state == "ok", result.error
    assert isinstance(result, Extraction) and result.error == ""
    return result


def test_docx_body_nested_tables_header_footer_and_properties(tmp_path):
    result = ok(builders.docx_file(tmp_path), DOCX)
    for words in ("Decentralisation reform", "The district council approved the plan.",
                  "Outer cell", "Nested cell text", "Province", "Page header words",
                  "Page footer words", "ឃុំ សង្កាត់ ការកែទម្រង់"):
        assert words in result.text
    assert result.properties["title"] == "Commune budget guide"
    assert result.properties["author"] == "DDWG Secretariat"
    assert result.properties["language"] == "en"


def test_docx_footnotes_and_text_boxes_without_duplicates(tmp_path):
    """Parts python-docx does not model: footnotes (parsed by us) and a text box Word stores
    twice (a modern and a fallback copy)."""
    source = builders.docx_file(tmp_path)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    box = (b'<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/'
           b'markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><w:txbxContent>'
           b'<w:p><w:r><w:t>Text box once</w:t></w:r></w:p></w:txbxContent></w:drawing>'
           b'</mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Text box once'
           b'</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent>'
           b'</w:r></w:p><w:p><w:del><w:r><w:delText>Deleted words</w:delText></w:r></w:del>'
           b'</w:p>')
    footnotes = (f'<w:footnotes {w}><w:footnote w:id="1"><w:p><w:r><w:t>Footnote words here'
                 '</w:t></w:r></w:p></w:footnote></w:footnotes>').encode()
    rel = (b'<Relationship Id="rIdFoot" Type="http://schemas.openxmlformats.org/officeDocument/'
           b'2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>')
    override = (b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>')
    target = builders.rewrite_zip(source, tmp_path / "notes.docx", {
        "word/document.xml": lambda data: data.replace(b"<w:sectPr", box + b"<w:sectPr", 1),
        "word/_rels/document.xml.rels": lambda data: data.replace(b"</Relationships>", rel),
        "[Content_Types].xml": lambda data: data.replace(b"</Types>", override),
    })
    with __import__("zipfile").ZipFile(target, "a") as archive:
        archive.writestr("word/footnotes.xml", footnotes)
    result = ok(target, DOCX)
    assert "Footnote words here" in result.text
    assert result.text.count("Text box once") == 1
    assert "Deleted words" not in result.text


def test_pptx_titles_groups_tables_notes(tmp_path):
    result = ok(builders.pptx_file(tmp_path), PPTX)
    for words in ("Sub-national democratic development", "Grouped shape text",
                  "Table cell alpha", "Table cell omega", "Speaker notes here",
                  "Second slide title"):
        assert words in result.text
    assert result.text.index("Speaker notes here") < result.text.index("Second slide title")
    assert result.properties["pages"] == 2
    assert result.properties["title"] == "Expert presentation"


def test_xlsx_sheets_and_values(tmp_path):
    result = ok(builders.xlsx_file(tmp_path), XLSX)
    for words in ("Budget 2024", "Province Allocation Date", "Kampong Cham 1250 2024-05-01",
                  "Takeo 0.5", "Communes", "Sparse cell"):
        assert words in result.text
    assert result.properties["title"] == "Budget workbook"
    assert result.properties["author"] == "Finance unit"


def test_odt_paragraphs_spacing_notes_frames_headers_and_meta(tmp_path):
    result = ok(builders.odt_file(tmp_path), ODT)
    for words in ("Heading of the note", "Body paragraph with spacing.", "Footnote words",
                  "Cell north Cell south", "Text box words", "Frame before and after",
                  "Header words", "Footer words"):
        assert words in result.text
    assert "Deleted words" not in result.text
    assert result.properties == {"title": "ODT title", "author": "Original author",
                                 "date": "2023-04-05", "pages": 2, "language": "en"}


def test_odp_slides_and_notes(tmp_path):
    result = ok(builders.odp_file(tmp_path), ODP)
    for words in ("Slide one words", "Presenter notes words", "Slide two words"):
        assert words in result.text
    assert result.properties["pages"] == 2


def test_ods_sheet_names_and_cells_without_expanding_repeats(tmp_path):
    started = time.monotonic()
    result = ok(builders.ods_file(tmp_path), ODS)
    assert "Sheet of communes" in result.text and "Svay Rieng 42" in result.text
    assert len(result.text) < 100 and time.monotonic() - started < 5


def test_rtf_text_unicode_and_info(tmp_path):
    path = tmp_path / "letter.rtf"
    path.write_bytes(
        b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Arial;}}"
        b"{\\info{\\title Letter to the province}{\\author Ministry of Interior}"
        b"{\\creatim\\yr2021\\mo3\\dy9\\hr10\\min0}}"
        b"\\f0 Caf\\'e9 meeting\\par "
        b"\\u6017?\\u6098?\\u6040?\\u6082?\\u6042? council\\par}")
    result = ok(path, "application/rtf")
    assert "Café meeting" in result.text and "ខ្មែរ council" in result.text
    assert result.properties["title"] == "Letter to the province"
    assert result.properties["author"] == "Ministry of Interior"
    assert result.properties["date"] == "2021-03-09"


def test_html_visible_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(
        "<!DOCTYPE html><html><head><meta charset='windows-1252'><title>Commune page</title>"
        "<meta name='author' content='Web team'><style>p {color: red}</style>"
        "<script>var secret = 'do not index';</script></head><body><h1>Résumé</h1>"
        "<p>Fish &amp; rice</p><table><tr><td>A1</td><td>B1</td></tr></table>"
        "<noscript>enable scripts</noscript></body></html>".encode("cp1252"))
    result = ok(path, "text/html")
    assert "Résumé" in result.text and "Fish & rice" in result.text and "A1 B1" in result.text
    assert "do not index" not in result.text and "color" not in result.text
    assert "enable scripts" not in result.text
    assert result.properties["title"] == "Commune page"
    assert result.properties["author"] == "Web team"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom",
                                      "cp1252"])
def test_plain_text_character_sets(tmp_path, encoding):
    text = "Commune councils – budget for Kampong Cham. Café déjà vu.\n" * 3
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    else:
        data = text.encode(encoding)
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    result = ok(path, "text/plain")
    assert result.text == text.strip()


def test_plain_khmer_text_is_normalised(tmp_path):
    path = tmp_path / "khmer.txt"
    path.write_text("ខែ្មរ\u200bភាសា ធ្វេីការ ស្រ្តី\n" * 10, encoding="utf-8")
    result = ok(path, "text/plain")
    assert "ខ្មែរភាសា ធ្វើការ ស្ត្រី" in result.text
    assert result.properties["language"] == "km"


def test_markdown_without_markup(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("# Budget guide\n\nSome **bold** advice and a [link](https://x.org).\n\n"
                    "<script>alert(1)</script>\n", encoding="utf-8")
    result = ok(path, "text/markdown")
    assert "Some bold advice and a link." in result.text
    assert "**" not in result.text and "alert" not in result.text
    assert result.properties["title"] == "Budget guide"


@needs_tesseract
@pytest.mark.parametrize("kind", ["PNG", "JPEG", "TIFF"])
def test_images_are_read_by_ocr(tmp_path, kind):
    path = builders.text_image(tmp_path / "source.png", ["Commune council letter", "Budget 2024"])
    converted = tmp_path / f"scan.{kind.lower()}"
    from PIL import Image

    with Image.open(path) as image:
        image.save(converted, format=kind)
    result = ok(converted, f"image/{kind.lower()}")
    assert result.ocr_used and "Commune council letter" in result.text


@needs_tesseract
def test_multi_page_tiff(tmp_path):
    from PIL import Image

    first = builders.text_image(tmp_path / "1.png", ["First page words"])
    second = builders.text_image(tmp_path / "2.png", ["Second page words"])
    path = tmp_path / "letter.tiff"
    with Image.open(first) as one, Image.open(second) as two:
        one.save(path, format="TIFF", save_all=True, append_images=[two])
    result = ok(path, "image/tiff")
    assert "First page words" in result.text and "Second page words" in result.text
    assert result.properties["pages"] == 2


def test_image_without_ocr_fails_clearly(tmp_path):
    path = builders.text_image(tmp_path / "scan.png", ["Words"])
    result = extract_file(path, "image/png", ocr=False)
    assert result.state == "failed" and result.error == "OCR is turned off."


@pytest.mark.parametrize("content_type,data,error", [
    ("application/pdf", b"%PDF-1.4\nnothing else", "The file is damaged or not a valid PDF."),
    (DOCX, b"PK\x03\x04" + bytes(300), "The file is damaged or not a valid DOCX."),
    (PPTX, b"not a zip at all", "The file is damaged or not a valid PPTX."),
    (XLSX, b"PK\x05\x06" + bytes(18), "The file is damaged or not a valid XLSX."),
    (ODT, b"PK\x03\x04broken", "The file is damaged or not a valid ODT."),
    ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(40),
     "The file is damaged or not a valid PNG image."),
])
def test_damaged_files_fail_clearly(tmp_path, content_type, data, error):
    path = tmp_path / "damaged"
    path.write_bytes(data)
    result = extract_file(path, content_type)
    assert result.state == "failed" and result.error == error and result.text == ""


def test_docx_that_is_a_valid_zip_but_not_a_document(tmp_path):
    path = tmp_path / "other.docx"
    builders.odt_file(tmp_path, "other.docx")
    result = extract_file(path, DOCX)
    assert result.state == "failed" and result.error == "The file is damaged or not a valid DOCX."


def test_unknown_types_and_missing_files_fail_without_raising(tmp_path):
    assert extract_file(tmp_path / "gone.pdf", "application/pdf").error == "The file is missing."
    assert extract_file(tmp_path, "application/pdf").error == "The file is missing."
    result = extract_file(tmp_path / "x", "application/x-msdownload")
    assert result.state == "failed"
    assert result.error == "Text cannot be extracted from this type of file."
    assert extract_file("not even a path", None).state == "failed"  # type: ignore[arg-type]
