"""Content types from bytes: every allowed type recognised, names that contradict the bytes
and types outside the allow-list refused with a sentence a contributor can act on."""
from __future__ import annotations

import io
import os
import zipfile

import pytest

from kb.ingest.sniff import ALLOWED_TYPES, EXTENSIONS, FileTypeError, sniff_type

from . import builders
from .conftest import CONTENT_TYPES, OFFICE, needs_data, real_files

DOCX, PPTX, XLSX = (CONTENT_TYPES[e] for e in (".docx", ".pptx", ".xlsx"))
ODT, ODP, ODS = (CONTENT_TYPES[e] for e in (".odt", ".odp", ".ods"))
PDF = "application/pdf"
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def image_bytes(kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    """Bytes of one small file of each allowed type, by content type."""
    folder = tmp_path_factory.mktemp("samples")
    built = {
        DOCX: builders.docx_file(folder), PPTX: builders.pptx_file(folder),
        XLSX: builders.xlsx_file(folder), ODT: builders.odt_file(folder),
        ODP: builders.odp_file(folder), ODS: builders.ods_file(folder),
    }
    samples = {ctype: path.read_bytes() for ctype, path in built.items()}
    samples.update({
        PDF: PDF_BYTES,
        "application/rtf": b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Arial;}} Hello RTF}",
        "text/plain": "Commune council minutes\nឃុំ សង្កាត់\n".encode(),
        "text/markdown": b"# Guide\n\nSome *emphasis* and a [link](https://example.org).\n",
        "text/html": b"<!DOCTYPE html>\n<html><head><title>T</title></head><body>Hi</body></html>",
        "image/jpeg": image_bytes("JPEG"),
        "image/png": image_bytes("PNG"),
        "image/tiff": image_bytes("TIFF"),
    })
    return samples


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / f"upload-{len(os.listdir(tmp_path))}"
    path.write_bytes(data)
    return path


def test_allow_list_is_complete():
    assert set(ALLOWED_TYPES) == set(EXTENSIONS)
    assert len(ALLOWED_TYPES) == 14
    assert ALLOWED_TYPES[PDF] == "PDF" and EXTENSIONS[DOCX] == ".docx"


@pytest.mark.parametrize("content_type", sorted(ALLOWED_TYPES))
def test_each_allowed_type_is_recognised_from_its_bytes(tmp_path, samples, content_type):
    data = samples[content_type]
    named = f"file{EXTENSIONS[content_type]}"
    assert sniff_type(write(tmp_path, named, data), named) == content_type
    # the same bytes with no extension, or a name that is not an extension at all
    expected = "text/plain" if content_type == "text/markdown" else content_type
    assert sniff_type(write(tmp_path, "x", data), "x") == expected
    assert sniff_type(write(tmp_path, "x", data), "Report v2.final draft") == expected


@needs_data
@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.name)
def test_real_files(path):
    assert sniff_type(path, path.name) == CONTENT_TYPES[path.suffix]
    assert sniff_type(path, "no-extension") == CONTENT_TYPES[path.suffix]


@pytest.mark.parametrize("name,content_type", [
    ("notes.txt", "text/plain"), ("notes.md", "text/markdown"),
    ("notes.markdown", "text/markdown"), ("NOTES.MD", "text/markdown"),
    ("notes.csv", "text/plain"), ("notes", "text/plain"),
])
def test_the_name_chooses_only_between_text_and_markdown(tmp_path, name, content_type):
    data = b"# Heading\n\nText of the note.\n"
    assert sniff_type(write(tmp_path, name, data), name) == content_type


@pytest.mark.parametrize("data", [
    "Café crème, déjà vu\n".encode("cp1252"),
    "UTF-16 text with Khmer សួស្តី\n".encode("utf-16"),
    "UTF-16 big-endian\n".encode("utf-16-be").join([b"\xfe\xff", b""]),
    "\ufeffUTF-8 with a BOM ខ្មែរ\n".encode("utf-8"),
    "ឃុំ សង្កាត់ ".encode() * 10000,  # sample boundary inside a character
    "Привет, мир\n".encode("koi8-r"),
])
def test_text_in_many_encodings_is_text(tmp_path, data):
    assert sniff_type(write(tmp_path, "a.txt", data), "a.txt") == "text/plain"


@pytest.mark.parametrize("data,content_type", [
    (b"<html><body><p>x</p></body></html>", "text/html"),
    (b"  <!-- saved from Word -->\n<HTML>\n<HEAD><TITLE>x</TITLE>", "text/html"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">',
     "text/html"),
    (b"Use <b>bold</b> sparingly; <html> is a tag.", "text/plain"),  # mentions, is not, HTML
])
def test_html_only_when_it_really_looks_like_html(tmp_path, data, content_type):
    for name in ("page.html", "page.txt", "page"):
        assert sniff_type(write(tmp_path, name, data), name) == content_type


@pytest.mark.parametrize("name,maker,found", [
    ("report.docx", lambda s: PDF_BYTES, "PDF"),
    ("report.pdf", lambda s: s[DOCX], "Word"),
    ("slides.pptx", lambda s: s[DOCX], "Word"),
    ("report.odt", lambda s: s[DOCX], "Word"),
    ("report.docx", lambda s: s[ODT], "OpenDocument text"),
    ("sheet.xlsx", lambda s: s[ODS], "OpenDocument spreadsheet"),
    ("photo.txt", lambda s: s["image/png"], "PNG image"),
    ("photo.jpg", lambda s: s["text/plain"], "plain text"),
    ("run.bat", lambda s: b"echo hello", "plain text"),
    ("notes.exe", lambda s: b"just text", "plain text"),
])
def test_an_extension_that_contradicts_the_bytes_is_refused(tmp_path, samples, name, maker,
                                                            found):
    with pytest.raises(FileTypeError) as refused:
        sniff_type(write(tmp_path, name, maker(samples)), name)
    extension = "." + name.rsplit(".", 1)[1]
    assert str(refused.value) == (f"The file's contents ({found}) do not match its extension "
                                  f"({extension}).")


@pytest.mark.parametrize("name,data,found", [
    ("virus.pdf", b"MZ\x90\x00\x03" + bytes(200), "Windows executable"),
    ("archive.pdf", None, "ZIP archive"),
    ("report.pdf", b"PK\x03\x04not really a zip" + bytes(100), "damaged ZIP archive"),
    ("photo.png", b"GIF89a" + bytes(50), "GIF image"),
    ("notes.txt", b"\x7fELF\x02\x01\x01" + bytes(200), "Linux executable"),
])
def test_a_refused_type_is_named_whatever_the_extension(tmp_path, name, data, found):
    data = data if data is not None else zipped({"random.bin": os.urandom(500)})
    with pytest.raises(FileTypeError) as refused:
        sniff_type(write(tmp_path, name, data), name)
    assert str(refused.value) == ("This file is not a type the knowledge base accepts "
                                  f"(found: {found}).")


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
       b'<script>alert(document.cookie)</script></svg>')


@pytest.mark.parametrize("data,found", [
    (b"\x7fELF\x02\x01\x01" + bytes(200), "Linux executable"),
    (b"MZ\x90\x00\x03" + bytes(200), "Windows executable"),
    (b"\xcf\xfa\xed\xfe" + bytes(100), "macOS executable"),
    (zipped({"random.bin": os.urandom(2000)}), "ZIP archive"),
    (zipped({"mimetype": b"application/epub+zip", "x.html": b"<p/>"}), "EPUB e-book"),
    (SVG, "SVG image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "SVG image"),
    (b'<?xml version="1.0"?><data><row>1</row></data>', "XML file"),
    (b"GIF89a" + bytes(50), "GIF image"),
    (b"#!/bin/sh\nrm -rf ~\n", "script"),
    (b"\x1f\x8b\x08\x00" + bytes(50), "gzip archive"),
    (b"SQLite format 3\x00" + bytes(100), "SQLite database"),
    (os.urandom(4096) + b"\x00", "unrecognised binary data"),
])
def test_types_outside_the_allow_list_are_refused(tmp_path, data, found):
    for name in ("upload", "upload.bin"):
        with pytest.raises(FileTypeError) as refused:
            sniff_type(write(tmp_path, name, data), name)
        assert str(refused.value) == ("This file is not a type the knowledge base accepts "
                                      f"(found: {found}).")


def test_office_files_are_told_apart_by_their_insides_not_their_names(tmp_path, samples):
    macro = builders.rewrite_zip(
        write(tmp_path, "d.docx", samples[DOCX]), tmp_path / "macro.docx",
        {"[Content_Types].xml": lambda data: data.replace(
            b"wordprocessingml.document.main+xml", b"wordprocessingml.template.main+xml")})
    with pytest.raises(FileTypeError, match=r"found: Word template\)"):
        sniff_type(macro, "macro.docx")
    old_word = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    with pytest.raises(FileTypeError, match="old-style Microsoft Office file"):
        sniff_type(write(tmp_path, "old.doc", old_word), "old.doc")
    assert sniff_type(write(tmp_path, "word.doc", samples["application/rtf"]),
                      "word.doc") == "application/rtf"


def test_pdf_header_after_junk_but_not_in_prose(tmp_path):
    junk = b"\x00\x01binary preamble\xff\xfe\x00" + PDF_BYTES
    assert sniff_type(write(tmp_path, "a.pdf", junk), "a.pdf") == PDF
    prose = b"A PDF file starts with %PDF-1.7 and ends with %%EOF.\n"
    assert sniff_type(write(tmp_path, "a.txt", prose), "a.txt") == "text/plain"


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(FileTypeError, match="^The file is empty.$"):
        sniff_type(write(tmp_path, "a.txt", b""), "a.txt")


def test_file_type_error_is_a_value_error():
    assert issubclass(FileTypeError, ValueError)


@needs_data
def test_the_zip_directory_is_read_not_the_parts(tmp_path):
    """Sniffing a 1 GB zip bomb reads its directory only: quick, and the type is right."""
    import time

    bomb = builders.zip_bomb_docx(tmp_path, OFFICE / "docx" / "test.docx", gigabytes=0.6)
    started = time.monotonic()
    assert sniff_type(bomb, "bomb.docx") == DOCX
    assert time.monotonic() - started < 1
