"""Hostile files: external entities never resolved, zip bombs refused before unpacking, memory
and time limited in the child process, and extract_file never raising."""
from __future__ import annotations

import time
import uuid
import zipfile

import pytest

from kb.ingest.extract import extract_file
from kb.ingest.sniff import sniff_type

from . import builders
from .conftest import CONTENT_TYPES, OFFICE, needs_data, needs_tesseract

DOCX, PPTX, XLSX, ODT = (CONTENT_TYPES[e] for e in (".docx", ".pptx", ".xlsx", ".odt"))


@pytest.fixture
def secret(tmp_path):
    """A file no extraction may ever read, and the hostile DTD pointing at it."""
    token = f"TOP-SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(token)
    dtd = builders.HOSTILE_DTD.replace(b"file:///etc/hostname", path.as_uri().encode())
    return token, dtd


def hostile(xml: bytes, marker: bytes, dtd: bytes) -> bytes:
    return builders.with_entities(xml, marker).replace(builders.HOSTILE_DTD, dtd)


def leaked(result, token: str) -> bool:
    return token in result.text or token in repr(result.properties) or "laugh" in result.text


@needs_data
def test_nasty_odt_extracts_nothing_from_the_external_file():
    result = extract_file(OFFICE / "odt" / "nasty.odt", ODT)
    assert result.state == "ok" and result.text == "Test:"


def test_own_odt_with_external_entities(tmp_path, secret):
    token, dtd = secret
    source = builders.odt_file(tmp_path, "plain.odt", marker="Visible marker")
    path = builders.rewrite_zip(source, tmp_path / "xxe.odt", {
        "content.xml": lambda data: hostile(data, b"Visible marker", dtd),
        "meta.xml": lambda data: hostile(data, b"ODT title", dtd),
    })
    result = extract_file(path, ODT)
    assert result.state == "ok" and "Visible marker" in result.text
    assert result.properties["title"].startswith("ODT title")
    assert not leaked(result, token)


@pytest.mark.parametrize("part,marker", [
    ("word/document.xml", b"The district council approved the plan."),
    ("docProps/core.xml", b"Commune budget guide"),
])
def test_docx_with_external_entities(tmp_path, secret, part, marker):
    token, dtd = secret
    path = builders.rewrite_zip(builders.docx_file(tmp_path), tmp_path / "xxe.docx",
                                {part: lambda data: hostile(data, marker, dtd)})
    result = extract_file(path, DOCX)
    assert result.state == "ok" and "The district council approved the plan." in result.text
    assert not leaked(result, token)


def test_pptx_with_external_entities(tmp_path, secret):
    token, dtd = secret
    path = builders.rewrite_zip(builders.pptx_file(tmp_path), tmp_path / "xxe.pptx", {
        "ppt/slides/slide1.xml": lambda data: hostile(data, b"Grouped shape text", dtd)})
    result = extract_file(path, PPTX)
    assert result.state == "ok" and "Grouped shape text" in result.text
    assert not leaked(result, token)


def test_xlsx_with_external_entities(tmp_path, secret):
    """openpyxl (with defusedxml) refuses entity declarations outright: failed, not leaked."""
    token, dtd = secret
    path = builders.rewrite_zip(builders.xlsx_file(tmp_path), tmp_path / "xxe.xlsx", {
        "xl/worksheets/sheet1.xml": lambda data: hostile(data, b"<v>", dtd)})
    result = extract_file(path, XLSX)
    assert not leaked(result, token)
    assert result.state == "failed" or "Kampong Cham" in result.text


@needs_data
def test_zip_bomb_fails_clearly_and_quickly(tmp_path):
    bomb = builders.zip_bomb_docx(tmp_path, OFFICE / "docx" / "test.docx", gigabytes=1)
    assert bomb.stat().st_size < 10 * 1024 * 1024
    assert sniff_type(bomb, "bomb.docx") == DOCX
    started = time.monotonic()
    result = extract_file(bomb, DOCX)
    assert time.monotonic() - started < 5
    assert result.state == "failed"
    assert result.error == "The file unpacks to more than 500 MB (a possible zip bomb)."


def test_zip_with_too_many_parts(tmp_path):
    path = builders.odt_file(tmp_path, "many.odt", marker="x")
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(10_001):
            archive.writestr(f"Pictures/{number}.txt", b"")
    result = extract_file(path, ODT)
    assert result.state == "failed"
    assert result.error == "The file has too many parts (more than 10,000)."


def test_image_declaring_huge_dimensions_is_refused_before_decoding(tmp_path):
    path = builders.png_header_only(tmp_path / "huge.png", 100_000, 100_000)
    started = time.monotonic()
    result = extract_file(path, "image/png")
    assert result.state == "failed"
    assert result.error == "The image is too large (more than 80 million pixels)."
    assert time.monotonic() - started < 5


def test_memory_limit_stops_a_hungry_extraction(tmp_path):
    path = tmp_path / "big.txt"
    with open(path, "wb") as handle:
        for _ in range(160):
            handle.write(b"commune budget " * 70_000)  # about 170 MB of text
    result = extract_file(path, "text/plain", memory_mb=120)
    assert result.state == "failed"
    assert result.error == "Extraction needed more than 120 MB of memory."


@needs_tesseract
def test_memory_limit_covers_image_decoding(tmp_path):
    path = builders.png_file(tmp_path / "wide.png", 8000, 8000)  # 192 MB once decoded
    result = extract_file(path, "image/png", memory_mb=150)
    assert result.state == "failed"
    assert result.error == "Extraction needed more than 150 MB of memory."


def test_timeout_kills_the_child(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("ខែ្មរ ស្រ្តី ធ្វេីការ ឃុំ សង្កាត់ \n" * 150_000, encoding="utf-8")
    started = time.monotonic()
    result = extract_file(path, "text/plain", timeout=0.5)
    elapsed = time.monotonic() - started
    assert result.state == "failed" and result.error == "Extraction took longer than 0.5 s."
    assert elapsed < 3


def test_the_same_file_extracts_with_time_enough(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("ខែ្មរ ស្រ្តី ធ្វេីការ ឃុំ សង្កាត់ \n" * 100, encoding="utf-8")
    result = extract_file(path, "text/plain", timeout=30)
    assert result.state == "ok" and "ខ្មែរ ស្ត្រី ធ្វើការ" in result.text


def test_deeply_nested_xml_is_refused_not_crashing(tmp_path):
    path = builders.odt_file(tmp_path, "deep.odt", marker="x")
    deep = b"<text:span>" * 100_000 + b"deep" + b"</text:span>" * 100_000
    path = builders.rewrite_zip(path, tmp_path / "deeper.odt", {
        "content.xml": lambda data: data.replace(b"Heading of the note", deep)})
    result = extract_file(path, ODT)
    assert result.state == "failed"
    assert result.error == "The file is damaged or not a valid ODT."


@needs_data
@needs_tesseract
def test_ocr_out_of_time_keeps_what_the_text_layer_has():
    from kb.ingest.khmer import khmer_ratio

    garbled = extract_file(OFFICE / "khmer" / "udhr_Khmr.KHM_Serif_12.pdf", "application/pdf",
                           timeout=2)
    assert garbled.state == "ok" and garbled.properties["truncated"] is True
    assert not garbled.ocr_used and khmer_ratio(garbled.text) > 0.9
    scanned = extract_file(OFFICE / "khmer" / "Sample_PDF_Scanned.pdf", "application/pdf",
                           timeout=1.5)
    assert scanned.state == "failed" and scanned.error == "Extraction took longer than 1.5 s."
