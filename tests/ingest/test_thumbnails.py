"""First-page thumbnails: PDFs rendered, images scaled, previews inside Office files; False,
never an exception, for everything else."""
from __future__ import annotations

import time

import pytest
from PIL import Image

from kb.ingest.thumbnails import make_thumbnail

from . import builders
from .conftest import CONTENT_TYPES, OFFICE, needs_data

PDF = "application/pdf"


@needs_data
def test_pdf_first_page(tmp_path):
    out = tmp_path / "thumbs" / "a.png"
    assert make_thumbnail(OFFICE / "pdf" / "pdflatex-4-pages.pdf", PDF, out)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width == 320
        assert 1.2 < image.height / image.width < 1.6  # a portrait page
        grey = image.convert("L")
        assert sum(grey.histogram()[:200]) > 0.01 * grey.width * grey.height  # text on it
    assert not list(out.parent.glob(".*.tmp"))


@needs_data
def test_khmer_pdf_and_custom_width(tmp_path):
    out = tmp_path / "k.png"
    assert make_thumbnail(OFFICE / "khmer" / "udhr_Khmr.KHM_Sun-ExtA_12.pdf", PDF, out,
                          width=160)
    with Image.open(out) as image:
        assert image.width == 160


def test_images_are_scaled_down(tmp_path):
    source = builders.text_image(tmp_path / "scan.png", ["Letter"], size=(2000, 1000))
    out = tmp_path / "t.png"
    assert make_thumbnail(source, "image/png", out)
    with Image.open(out) as image:
        assert image.size == (320, 160)
    jpeg = tmp_path / "photo.jpg"
    with Image.open(source) as image:
        image.convert("RGB").save(jpeg, format="JPEG")
    assert make_thumbnail(jpeg, "image/jpeg", tmp_path / "j.png")


@needs_data
@pytest.mark.parametrize("name", ["odt/simpletable.odt", "pptx/test.pptx",
                                  "pptx/ph-populated-placeholders.pptx"])
def test_preview_inside_office_files(tmp_path, name):
    path = OFFICE / name
    out = tmp_path / "o.png"
    assert make_thumbnail(path, CONTENT_TYPES[path.suffix], out)
    with Image.open(out) as image:
        assert image.format == "PNG" and 0 < image.width <= 320


@needs_data
@pytest.mark.parametrize("name,content_type", [
    ("docx/hdr-header-footer.docx", CONTENT_TYPES[".docx"]),  # has no preview inside
    ("pdf/libreoffice-writer-password.pdf", PDF),               # encrypted
    ("docx/test.docx", "text/plain"),                            # not a type with thumbnails
    ("missing.pdf", PDF),
])
def test_no_thumbnail_is_false_not_an_error(tmp_path, name, content_type):
    out = tmp_path / "none.png"
    assert make_thumbnail(OFFICE / name, content_type, out) is False
    assert not out.exists()


@needs_data
@pytest.mark.parametrize("name", ["docx/test.docx", "docx/doc-coreprops.docx",
                                  "docx/par-known-paragraphs.docx"])
def test_an_all_but_white_preview_is_no_thumbnail(tmp_path, name):
    """Word keeps a preview of a page with a line or two on it: all white at card size. The
    pages show a file-type card for such a file instead of an empty box."""
    out = tmp_path / "w.png"
    assert make_thumbnail(OFFICE / name, CONTENT_TYPES[".docx"], out) is False
    assert not out.exists()


def test_nearly_blank_is_judged_by_the_ink_on_the_page(tmp_path):
    from kb.ingest.thumbnails import is_nearly_blank

    assert is_nearly_blank(Image.new("RGB", (300, 400), "white"))
    assert is_nearly_blank(Image.new("RGB", (300, 400), (250, 250, 250)))
    with Image.open(builders.text_image(tmp_path / "t.png", ["A page of text"] * 12,
                                        size=(300, 400))) as page:
        assert not is_nearly_blank(page)
    assert not is_nearly_blank(Image.new("L", (300, 400), 40))  # a dark photograph


def test_hostile_images_give_no_thumbnail_quickly(tmp_path):
    huge = builders.png_header_only(tmp_path / "huge.png", 100_000, 100_000)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    started = time.monotonic()
    assert make_thumbnail(huge, "image/png", tmp_path / "h.png") is False
    assert make_thumbnail(damaged, "image/png", tmp_path / "d.png") is False
    assert time.monotonic() - started < 5


@needs_data
def test_zip_bomb_gives_no_thumbnail(tmp_path):
    bomb = builders.zip_bomb_docx(tmp_path, OFFICE / "docx" / "test.docx", gigabytes=0.6)
    assert make_thumbnail(bomb, CONTENT_TYPES[".docx"], tmp_path / "b.png") is False
