"""The compiled submission as a Word document (python-docx), with the Khmer font embedded, so
Word and LibreOffice show Khmer correctly on computers that have no Khmer font."""
from __future__ import annotations

import io
import uuid

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from lxml import etree

from kb.services import fonts
from kb.services.submission import Compiled, Entry

OBFUSCATED_FONT = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _obfuscate(data: bytes, key: str) -> bytes:
    """ECMA-376 font obfuscation: the first 32 bytes XORed with the key GUID's bytes, reversed."""
    guid = bytes.fromhex(key.strip("{}").replace("-", ""))[::-1]
    head = bytes(b ^ guid[i % 16] for i, b in enumerate(data[:32]))
    return head + data[32:]


def _embed_font(document) -> None:
    """Put the Khmer font into the document (word/fonts/*.odttf) and name it in the font table."""
    table_part = document.part.part_related_by(RT.FONT_TABLE)
    table = etree.fromstring(table_part.blob)
    font = etree.SubElement(table, f"{{{W}}}font", {f"{{{W}}}name": fonts.FAMILY})
    etree.SubElement(font, f"{{{W}}}charset", {f"{{{W}}}val": "00"})
    etree.SubElement(font, f"{{{W}}}family", {f"{{{W}}}val": "swiss"})
    etree.SubElement(font, f"{{{W}}}pitch", {f"{{{W}}}val": "variable"})
    for number, (weight, element) in enumerate((("regular", "embedRegular"),
                                                ("bold", "embedBold")), start=1):
        key = "{" + str(uuid.uuid4()).upper() + "}"
        data = _obfuscate(fonts.khmer_ttf(weight).read_bytes(), key)
        part = Part(PackURI(f"/word/fonts/font{number}.odttf"), OBFUSCATED_FONT, data,
                    document.part.package)
        rid = table_part.relate_to(part, RT.FONT)
        etree.SubElement(font, f"{{{W}}}{element}", {f"{{{R}}}id": rid,
                                                       f"{{{W}}}fontKey": key})
    table_part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8",
                                      standalone=True)
    settings = document.settings.element
    if settings.find(qn("w:embedTrueTypeFonts")) is None:
        zoom = settings.find(qn("w:zoom"))
        flag = parse_xml(f'<w:embedTrueTypeFonts xmlns:w="{W}"/>')
        if zoom is not None:
            zoom.addnext(flag)
        else:
            settings.insert(0, flag)


def _use_khmer_font(document, lang: str) -> None:
    """Every style writes Latin and Khmer (complex script) text in the bundled font."""
    for style in document.styles:
        if not hasattr(style, "font") or style.font is None:
            continue
        rpr = style.element.get_or_add_rPr()
        fonts_el = rpr.find(qn("w:rFonts"))
        if fonts_el is None:
            fonts_el = parse_xml(f'<w:rFonts xmlns:w="{W}"/>')
            rpr.insert(0, fonts_el)
        for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts_el.set(qn(attribute), fonts.FAMILY)
        for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts_el.attrib.pop(qn(attribute), None)
        language = rpr.find(qn("w:lang"))
        if language is None:
            language = parse_xml(f'<w:lang xmlns:w="{W}"/>')
            rpr.append(language)
        language.set(qn("w:val"), "km-KH" if lang == "km" else "en-GB")
        language.set(qn("w:bidi"), "km-KH")


def _paragraphs(document, text: str, style: str | None = None) -> None:
    for block in [b for b in text.split("\n\n") if b.strip()] or []:
        document.add_paragraph(block.strip(), style=style)


def _entry(document, entry: Entry, labels: dict) -> None:
    _paragraphs(document, entry.text)
    if entry.proposed_wording:
        paragraph = document.add_paragraph(style="Intense Quote")
        paragraph.add_run(labels["proposed"] + " ").bold = True
        paragraph.add_run(entry.proposed_wording)
    by = document.add_paragraph()
    run = by.add_run(f"{labels['by']} {entry.by}" +
                     (f" {labels['personal']}" if entry.personal else ""))
    run.font.size, run.font.color.rgb = Pt(9), RGBColor(0x55, 0x55, 0x55)
    if entry.endorsed_by:
        run = by.add_run(f" · {labels['endorsed']} {', '.join(entry.endorsed_by)}")
        run.font.size, run.font.color.rgb = Pt(9), RGBColor(0x55, 0x55, 0x55)


def render_docx(compiled: Compiled) -> bytes:
    labels = compiled.labels
    document = docx.Document()
    _use_khmer_font(document, compiled.lang)
    _embed_font(document)
    properties = document.core_properties
    properties.title, properties.language = compiled.title[:250], compiled.lang
    properties.author = properties.last_modified_by = "DDWG"

    document.add_paragraph(labels["kicker"], style="Subtitle")
    document.add_heading(compiled.title, level=0)
    if compiled.draft_title:
        document.add_paragraph(f"{labels['draft']} {compiled.draft_title}")
    document.add_paragraph(f"{labels['period']} {compiled.subtitle}")
    if compiled.cover_note:
        document.add_heading(labels["cover_note"], level=1)
        _paragraphs(document, compiled.cover_note)
    if compiled.organisations:
        document.add_heading(labels["organisations"], level=1)
        for name in compiled.organisations:
            document.add_paragraph(name, style="List Bullet")
    if compiled.questions:
        document.add_heading(labels["questions"], level=1)
        for number, part in enumerate(compiled.questions, start=1):
            document.add_heading(f"{number}. {part.heading}", level=2)
            for entry in part.entries:
                _entry(document, entry, labels)
            if not part.entries:
                document.add_paragraph(labels["no_answers"])
    if compiled.general:
        document.add_heading(labels["general"], level=1)
        for entry in compiled.general:
            _entry(document, entry, labels)
    if compiled.sections:
        document.add_heading(labels["sections"], level=1)
        for part in compiled.sections:
            document.add_heading(part.heading, level=2)
            if part.excerpt:
                document.add_paragraph(part.excerpt, style="Quote")
            for entry in part.entries:
                _entry(document, entry, labels)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
