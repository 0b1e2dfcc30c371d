"""Small documents of every accepted type, built in tmp_path (never copies of the shared data):
python-docx / python-pptx / openpyxl where they can write them, zip and XML by hand otherwise,
plus hostile ones (external entities, a zip bomb, an oversized image)."""
from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

HOSTILE_DTD = (b'<!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/hostname">'
               b'<!ENTITY lol "laugh"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')


def rewrite_zip(source: Path, target: Path, replace: dict[str, callable]) -> Path:
    """Copy a zip entry by entry, passing the named entries' bytes through a function."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in replace:
                data = replace[info.filename](data)
            out.writestr(info, data)
    return target


def with_entities(xml: bytes, marker: bytes) -> bytes:
    """The XML with a DTD declaring an external and nested internal entities, referenced right
    after `marker`."""
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        xml = xml[:end] + HOSTILE_DTD + xml[end:]
    else:
        xml = HOSTILE_DTD + xml
    return xml.replace(marker, marker + b" [&xxe;] [&lol2;]", 1)


def docx_file(folder: Path, name: str = "sample.docx") -> Path:
    """A DOCX with body text, a nested table, header, footer, a comment-free body, core props."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Commune budget guide"
    document.core_properties.author = "DDWG Secretariat"
    document.add_heading("Decentralisation reform", level=1)
    document.add_paragraph("The district council approved the plan.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Outer cell"
    table.cell(1, 1).text = "Province"
    inner = table.cell(0, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Nested cell text"
    section = document.sections[0]
    section.header.paragraphs[0].text = "Page header words"
    section.footer.paragraphs[0].text = "Page footer words"
    document.add_paragraph("ឃុំ សង្កាត់ ការកែទម្រង់")
    path = folder / name
    document.save(path)
    return path


def pptx_file(folder: Path, name: str = "sample.pptx") -> Path:
    """A PPTX with a title, a grouped text box, a table and speaker notes."""
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    presentation.core_properties.title = "Expert presentation"
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Sub-national democratic development"
    group = slide.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(2), Inches(3), Inches(1))
    box.text_frame.text = "Grouped shape text"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    table.cell(0, 0).text = "Table cell alpha"
    table.cell(1, 1).text = "Table cell omega"
    slide.notes_slide.notes_text_frame.text = "Speaker notes here"
    second = presentation.slides.add_slide(presentation.slide_layouts[1])
    second.shapes.title.text = "Second slide title"
    path = folder / name
    presentation.save(path)
    return path


def xlsx_file(folder: Path, name: str = "sample.xlsx") -> Path:
    from datetime import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Budget 2024"
    sheet.append(["Province", "Allocation", "Date"])
    sheet.append(["Kampong Cham", 1250.0, datetime(2024, 5, 1)])
    sheet.append(["Takeo", 0.5, None])
    other = workbook.create_sheet("Communes")
    other["C7"] = "Sparse cell"
    workbook.properties.title = "Budget workbook"
    workbook.properties.creator = "Finance unit"
    path = folder / name
    workbook.save(path)
    return path


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.2"')


def odf_file(path: Path, mimetype: str, body: str, *, styles: str = "", meta: str = "",
             content_prefix: bytes = b"") -> Path:
    """An OpenDocument zip: mimetype first and stored, then content, styles and meta."""
    content = (content_prefix + f'<office:document-content {ODF_NS}><office:body>{body}'
               f'</office:body></office:document-content>'.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        archive.writestr("styles.xml", f'<office:document-styles {ODF_NS}><office:master-styles>'
                                       f'{styles}</office:master-styles></office:document-styles>')
        archive.writestr("meta.xml", f'<office:document-meta {ODF_NS}><office:meta>{meta}'
                                     f'</office:meta></office:document-meta>')
        archive.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest='
                         '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return path


def odt_file(folder: Path, name: str = "sample.odt", content_prefix: bytes = b"",
             marker: str = "Body paragraph") -> Path:
    body = (f'<office:text><text:h>Heading of the note</text:h>'
            f'<text:p>{marker}<text:s text:c="3"/>with<text:tab/>spacing'
            '<text:note><text:note-citation>1</text:note-citation><text:note-body>'
            '<text:p>Footnote words</text:p></text:note-body></text:note>.</text:p>'
            '<table:table><table:table-row><table:table-cell><text:p>Cell north</text:p>'
            '</table:table-cell><table:table-cell><text:p>Cell south</text:p></table:table-cell>'
            '</table:table-row></table:table>'
            '<text:p>Frame before<draw:frame><draw:text-box><text:p>Text box words</text:p>'
            '</draw:text-box></draw:frame> and after</text:p>'
            '<text:tracked-changes><text:changed-region><text:deletion><text:p>Deleted words'
            '</text:p></text:deletion></text:changed-region></text:tracked-changes>'
            '</office:text>')
    styles = ('<style:master-page><style:header><text:p>Header words</text:p></style:header>'
              '<style:footer><text:p>Footer words</text:p></style:footer></style:master-page>')
    meta = ('<dc:title>ODT title</dc:title><meta:initial-creator>Original author'
            '</meta:initial-creator><dc:creator>Last editor</dc:creator>'
            '<meta:creation-date>2023-04-05T10:00:00</meta:creation-date>'
            '<meta:document-statistic meta:page-count="2"/>')
    return odf_file(folder / name, "application/vnd.oasis.opendocument.text", body,
                    styles=styles, meta=meta, content_prefix=content_prefix)


def odp_file(folder: Path, name: str = "sample.odp") -> Path:
    body = ('<office:presentation><draw:page draw:name="one"><draw:frame><draw:text-box>'
            '<text:p>Slide one words</text:p></draw:text-box></draw:frame>'
            '<presentation:notes><draw:frame><draw:text-box><text:p>Presenter notes words'
            '</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>'
            '<draw:page draw:name="two"><draw:frame><draw:text-box><text:p>Slide two words'
            '</text:p></draw:text-box></draw:frame></draw:page></office:presentation>')
    return odf_file(folder / name, "application/vnd.oasis.opendocument.presentation", body)


def ods_file(folder: Path, name: str = "sample.ods") -> Path:
    body = ('<office:spreadsheet><table:table table:name="Sheet of communes">'
            '<table:table-row><table:table-cell><text:p>Svay Rieng</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="16000"/>'
            '<table:table-cell office:value-type="float" office:value="42"><text:p>42</text:p>'
            '</table:table-cell></table:table-row>'
            '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/>'
            '</table:table-row></table:table></office:spreadsheet>')
    return odf_file(folder / name, "application/vnd.oasis.opendocument.spreadsheet", body)


def zip_bomb_docx(folder: Path, source_docx: Path, gigabytes: float = 1.0) -> Path:
    """A real DOCX whose document.xml is `gigabytes` of zeros, streamed (never in memory); about
    4-5 MB on disk."""
    target = folder / "bomb.docx"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(source_docx) as zin, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in zin.infolist():
            if info.filename == "word/document.xml":
                with out.open("word/document.xml", "w", force_zip64=True) as entry:
                    for _ in range(int(gigabytes * 1024)):
                        entry.write(chunk)
            else:
                out.writestr(info, zin.read(info))
    return target


def png_file(path: Path, width: int, height: int, mode: str = "RGB") -> Path:
    """A valid, all-black PNG of any size, written row by row (a huge one stays small on disk)."""
    channels = {"L": 1, "RGB": 3}[mode]
    color_type = {"L": 0, "RGB": 2}[mode]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    compressor = zlib.compressobj(1)
    row = b"\x00" + bytes(width * channels)
    idat = bytearray()
    for _ in range(height):
        idat += compressor.compress(row)
    idat += compressor.flush()
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)))
        handle.write(chunk(b"IDAT", bytes(idat)))
        handle.write(chunk(b"IEND", b""))
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares huge dimensions but carries almost no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    return path


def text_image(path: Path, lines: list[str], size: tuple[int, int] = (1400, 400)) -> Path:
    """Black text on white, large enough for Tesseract (DejaVu if installed, else PIL's font)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 48)
    except OSError:
        font = ImageFont.load_default(size=48)
    for number, line in enumerate(lines):
        draw.text((40, 40 + number * 90), line, fill=0, font=font)
    image.save(path)
    return path
